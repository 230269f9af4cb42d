"""Where batches run, behind one ``concurrent.futures.Executor`` interface.

- ``InProcessExecutor`` (``--jobs 1``): runs each task when it is submitted, in this process.
- local processes (default): ``ProcessPoolExecutor`` with ``jobs`` workers.
- Dask distributed (``--executor dask``): an existing cluster (``--scheduler tcp://HOST:PORT``) or
  a ``LocalCluster`` on 127.0.0.1 with ``jobs`` single-threaded worker processes. Dask is the
  optional extra ``veilperf[dask]`` and is imported only here, only when asked for.

Ctrl-C belongs to the main process: local workers and the processes of a LocalCluster ignore
SIGINT, and when the block of :func:`open_executor` ends by an exception (Ctrl-C included) the
local workers are terminated at once instead of finishing their batches.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import signal
import sys
import threading
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any, Callable, Iterator

from veilperf.sweep.options import SweepError

__all__ = ["InProcessExecutor", "open_executor"]


class InProcessExecutor(Executor):
    """Runs every task at submission, in the calling process; exceptions land in the future."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:
            future.set_exception(exc)
        return future


@contextlib.contextmanager
def open_executor(kind: str, jobs: int, scheduler: str | None = None) -> Iterator[tuple[Executor, int]]:
    """Yield ``(executor, workers)`` for ``kind`` (``local`` or ``dask``) and shut it down after."""
    if kind == "dask":
        with _dask_executor(jobs, scheduler) as opened:
            yield opened
        return
    if jobs == 1:
        yield InProcessExecutor(), 1
        return
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=_process_context(), initializer=ignore_interrupts)
    try:
        yield pool, jobs
    except BaseException:
        _terminate(pool)
        raise
    pool.shutdown(wait=True)


def ignore_interrupts() -> None:
    """Initialiser of worker processes: Ctrl-C is the main process's to handle."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Stop a process pool now: queued batches are cancelled, running ones killed (their points
    were not stored, so a rerun computes them)."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(OSError, AttributeError):
            process.terminate()
    pool.shutdown(wait=True, cancel_futures=True)


def _process_context() -> multiprocessing.context.BaseContext:
    # fork starts workers with veilperf already imported; elsewhere use the platform default.
    if sys.platform == "linux":
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


@contextlib.contextmanager
def _dask_executor(jobs: int, scheduler: str | None) -> Iterator[tuple[Executor, int]]:
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise SweepError("--executor dask needs Dask: pip install 'veilperf[dask]'") from None
    with contextlib.ExitStack() as stack:
        if scheduler is None:
            with _sigint_ignored():  # the cluster's processes inherit it
                cluster = stack.enter_context(LocalCluster(
                    n_workers=jobs, threads_per_worker=1, processes=True, host="127.0.0.1",
                    dashboard_address=None, silence_logs=logging.ERROR,
                ))
            address = cluster.scheduler_address
        else:
            address = scheduler
        try:
            client = stack.enter_context(Client(address, timeout="10s"))
        except (OSError, ValueError, TypeError) as exc:  # unreachable, or not an address at all
            raise SweepError(f"--scheduler {address}: cannot connect to a Dask scheduler: {exc}") from None
        workers = max(1, sum(client.nthreads().values()))
        yield client.get_executor(pure=False), workers  # every batch is a new task, never a cached one


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
