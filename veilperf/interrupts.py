"""SIGTERM and SIGHUP handled like Ctrl-C, and the signal dispositions of worker processes.

The command's main process turns SIGTERM and SIGHUP into a :class:`Terminated` exception (a
``KeyboardInterrupt``), so every path that already stops its workers and says what is saved on
Ctrl-C does the same for them; the CLI then exits ``128 + signal`` (130, 143, 129). Only the first
such signal raises: another one within :data:`GRACE_SECONDS` is ignored while the command cleans up
(stopping workers is quick and bounded), so a second ``kill`` cannot cut the cleanup short and
orphan a worker; one after that (cleanup stuck) ends the process with the signal's default action.

Worker processes (local sweep workers, drawing processes) leave these signals to the main process:
:func:`worker_signals` (their initialiser) ignores SIGINT, which a terminal sends to the whole
process group, and restores the default action of SIGTERM and SIGHUP, so a worker the main
process terminates dies at once instead of raising inside its task.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Iterator

__all__ = ["Terminated", "signal_exit_code", "signal_word", "stop_pool", "termination_as_interrupt", "worker_signals"]

HANDLED = (signal.SIGTERM, signal.SIGHUP)
GRACE_SECONDS = 10.0
"""After the first signal, further ones are ignored this long (the cleanup's time)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP received by the main process; ``signum`` says which."""

    def __init__(self, signum: int, message: str = "") -> None:
        super().__init__(message)
        self.signum = signum


def signal_exit_code(exc: BaseException) -> int:
    """``128 + n`` for the signal that stopped the command (SIGINT for a plain Ctrl-C)."""
    return 128 + int(getattr(exc, "signum", signal.SIGINT))


def signal_word(exc: BaseException) -> str:
    """``"interrupted"`` for Ctrl-C, ``"terminated (SIGTERM)"`` / ``"hung up (SIGHUP)"`` otherwise."""
    signum = getattr(exc, "signum", signal.SIGINT)
    if signum == signal.SIGTERM:
        return "terminated (SIGTERM)"
    if signum == signal.SIGHUP:
        return "hung up (SIGHUP)"
    return "interrupted"


@contextlib.contextmanager
def termination_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise :class:`Terminated` in the main thread (once);
    the previous handlers are restored after. Outside the main thread this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    first: float | None = None

    def handler(signum: int, _frame) -> None:
        nonlocal first
        if first is None:
            first = time.monotonic()
            raise Terminated(signum)
        if time.monotonic() - first > GRACE_SECONDS:  # the cleanup is stuck: die as the signal would
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    previous = {signum: signal.signal(signum, handler) for signum in HANDLED}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def worker_signals() -> None:
    """Initialiser of worker processes: Ctrl-C, SIGTERM and SIGHUP are the main process's to handle;
    a worker terminated by it dies at once."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for signum in HANDLED:
        signal.signal(signum, signal.SIG_DFL)


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Stop a process pool now: queued tasks are cancelled, running ones killed (SIGTERM, which
    :func:`worker_signals` leaves at its default action), and every worker reaped."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(OSError, AttributeError):
            process.terminate()
    pool.shutdown(wait=True, cancel_futures=True)
