"""Killing a command mid-way, for the resume and atomic-write tests."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from typing import Callable


def kill_when(command: list[str], ready: Callable[[], bool], *, delay: float = 0.0,
              timeout: float = 60.0) -> subprocess.Popen:
    """Start ``command``, SIGKILL it ``delay`` seconds after ``ready()`` first holds (or when it
    ended by itself, or after ``timeout``); returns the reaped process."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while not ready() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    time.sleep(delay)
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait()
    return process
