"""Where batches run, behind one ``concurrent.futures.Executor`` interface.

- ``InProcessExecutor`` (``--jobs 1``): runs each task when it is submitted, in this process.
- local processes (default): ``ProcessPoolExecutor`` with ``jobs`` workers.
- Dask distributed (``--executor dask``): an existing cluster (``--scheduler tcp://HOST:PORT``) or
  a ``LocalCluster`` on 127.0.0.1 with ``jobs`` single-threaded worker processes. Dask is the
  optional extra ``veilperf[dask]`` and is imported only here, only when asked for. Every wait on
  a cluster is bounded (:class:`~veilperf.sweep.options.ClusterOptions`): the scheduler must answer
  as a Dask scheduler within ``scheduler_timeout`` (:func:`probe_scheduler`), and a cluster without
  live workers for ``no_workers_timeout`` is said so, then given up or waited on
  (:class:`WorkerWatch`).

Ctrl-C, SIGTERM and SIGHUP belong to the main process (:mod:`veilperf.interrupts`): local workers
and the processes of a LocalCluster ignore SIGINT, local workers die at once on SIGTERM, and when the
block of :func:`open_executor` ends by an exception (any of these signals included) the local
workers are terminated at once instead of finishing their batches, and a LocalCluster is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import signal
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from typing import Any, Callable, Iterator

from veilperf.interrupts import stop_pool, worker_signals
from veilperf.sweep.options import ClusterOptions, SweepError

__all__ = ["InProcessExecutor", "WorkerWatch", "open_executor", "probe_scheduler", "result_of", "wait_first"]


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
def open_executor(kind: str, jobs: int, scheduler: str | None = None,
                  cluster: ClusterOptions | None = None) -> Iterator[tuple[Executor, int]]:
    """Yield ``(executor, workers)`` for ``kind`` (``local`` or ``dask``) and shut it down after;
    ``cluster`` bounds the waits on a Dask cluster. Wait on the executor's futures with
    :func:`wait_first` / :func:`result_of`, which watch a cluster's workers meanwhile."""
    if kind == "dask":
        with _dask_executor(jobs, scheduler, cluster or ClusterOptions()) as opened:
            yield opened
        return
    if jobs == 1:
        yield InProcessExecutor(), 1
        return
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=_process_context(), initializer=worker_signals)
    try:
        yield pool, jobs
    except BaseException:
        stop_pool(pool)  # running batches are killed: their points were not stored, a rerun computes them
        raise
    pool.shutdown(wait=True)


def _process_context() -> multiprocessing.context.BaseContext:
    # fork starts workers with veilperf already imported; elsewhere use the platform default.
    if sys.platform == "linux":
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


def wait_first(pool: Executor, futures) -> set[Future]:
    """Wait until one of ``futures`` is done and return the done ones; on a Dask cluster, check for
    live workers every few seconds meanwhile (SweepError after too long without any)."""
    watch = getattr(pool, "watch", None)
    while True:
        done, _ = wait(futures, timeout=watch.period if watch else None, return_when=FIRST_COMPLETED)
        if done:
            return done
        watch.check()


def result_of(pool: Executor, future: Future) -> Any:
    """``future.result()``, waiting as :func:`wait_first` does."""
    wait_first(pool, [future])
    return future.result()


class WorkerWatch:
    """Notices a Dask cluster without live workers: after ``no_workers_timeout`` seconds without
    any, it says so on stderr and keeps waiting, or raises SweepError (``no_workers: exit``); a
    scheduler that stops answering is a SweepError at once. Finished batches are stored by then."""

    period = 2.0  # seconds between checks while no batch finishes

    def __init__(self, client: Any, address: str, options: ClusterOptions,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._client, self._address, self._options, self._clock = client, address, options, clock
        self._since: float | None = None  # when the cluster was first seen without workers
        self._said = False

    def live_threads(self) -> int:
        """Threads of the live workers, asked of the scheduler (bounded by the scheduler timeout)."""
        try:
            return sum(self._client.nthreads(callback_timeout=self._options.scheduler_timeout).values())
        except Exception as exc:  # the scheduler died or stopped answering
            raise SweepError(f"lost the Dask scheduler at {self._address} ({type(exc).__name__}: {exc}); "
                             "finished points are saved: run the sweep again to resume") from None

    def check(self, threads: int | None = None) -> None:
        """Look at the cluster now (``threads``: already asked)."""
        threads = self.live_threads() if threads is None else threads
        now = self._clock()
        if threads > 0:
            self._since, self._said = None, False
            return
        if self._since is None:
            self._since = now
        waited = now - self._since
        limit = self._options.no_workers_timeout
        if waited < limit:
            return
        if self._options.no_workers == "exit":
            raise SweepError(f"no live Dask worker at {self._address} for {waited:.0f} s (--no-workers-timeout "
                             f"{limit:g}); finished points are saved: run the sweep again to resume "
                             "(--no-workers wait keeps waiting)")
        if not self._said:
            self._said = True
            print(f"veilperf: no live Dask worker at {self._address} for {waited:.0f} s; still waiting "
                  "(--no-workers exit gives up instead)", file=sys.stderr, flush=True)


class _WatchedExecutor(Executor):
    """A Dask client's executor with the :class:`WorkerWatch` of its cluster."""

    def __init__(self, inner: Executor, watch: WorkerWatch) -> None:
        self._inner = inner
        self.watch = watch

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        return self._inner.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, **_kwargs: Any) -> None:
        self._inner.shutdown(wait=wait)


def probe_scheduler(address: str, timeout: float) -> None:
    """SweepError unless a Dask scheduler at ``address`` answers as one within ``timeout`` seconds
    (Dask's own connect waits forever for the handshake of a server that accepts TCP but is silent
    or speaks another protocol)."""
    from distributed.comm import connect

    async def identity() -> Any:
        comm = await connect(address, timeout=timeout)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    async def bounded() -> Any:
        return await asyncio.wait_for(identity(), timeout)

    with ThreadPoolExecutor(1) as thread:  # a loop of its own, whether or not the caller runs one
        try:
            reply = thread.submit(asyncio.run, bounded()).result()
        except asyncio.TimeoutError:
            raise SweepError(f"--scheduler {address}: no Dask scheduler answered within {timeout:g} s (not a Dask "
                             "scheduler, or unreachable?); --scheduler-timeout sets the wait") from None
        except (OSError, ValueError, TypeError) as exc:  # refused, unreachable, or not an address at all
            raise SweepError(f"--scheduler {address}: cannot connect to a Dask scheduler: {exc}") from None
        except Exception as exc:  # an answer in another protocol that Dask's reader chokes on
            raise SweepError(f"--scheduler {address}: not a Dask scheduler (its answer is not Dask's protocol: "
                             f"{type(exc).__name__})") from None
    kind = reply.get("type") if isinstance(reply, dict) else None
    if kind != "Scheduler":
        raise SweepError(f"--scheduler {address}: not a Dask scheduler (it answers as {kind or 'something else'})")


@contextlib.contextmanager
def _dask_executor(jobs: int, scheduler: str | None, options: ClusterOptions) -> Iterator[tuple[Executor, int]]:
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
            probe_scheduler(address, options.scheduler_timeout)
        try:
            client = stack.enter_context(Client(address, timeout=f"{options.scheduler_timeout}s"))
        except (OSError, ValueError, TypeError) as exc:  # gone since the probe
            raise SweepError(f"--scheduler {address}: cannot connect to a Dask scheduler: {exc}") from None
        watch = WorkerWatch(client, address, options)
        threads = watch.live_threads()
        watch.check(threads)
        # every batch is a new task, never a cached one
        yield _WatchedExecutor(client.get_executor(pure=False), watch), max(1, threads)


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
