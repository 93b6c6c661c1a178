"""Persistent worker threads for the Numba kernels that release the GIL (private).

Starting a thread costs about 0.1 ms and a ``ThreadPoolExecutor`` hand-off (a
future, its condition, the pool's queue) tens of microseconds, a sizeable share of
aligning or decoding a small batch. So workers are made once and kept idle, each
woken by its own lock: the caller hands a worker its job and releases the
worker's ``go`` lock; the worker releases its ``done`` lock when the job is run.
A worker that has just finished a job first polls a flag for about 0.1 ms (without
the GIL) before it sleeps on its lock: a job handed over in that time starts
without a wake-up (a sleeping thread takes 20-60 us to wake here, a polling one
about 7 us), as when a loop calls a kernel back to back. OpenMP runtimes do the
same (``OMP_WAIT_POLICY``); a poll this short costs an idle core next to nothing.
A call takes as many idle workers as it needs (making more when another call holds
them), so calls from several threads at once never wait on each other. A forked
child, whose copy of the parent's workers has no threads, makes its own.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from ctckit._atomic import spin_until_set

__all__ = ["default_threads", "run_together"]

_R = TypeVar("_R")
SPIN_ROUNDS = 20_000  # a worker's polls of its flag after a job, about 0.1 ms


def default_threads() -> int:
    """The thread count used when a caller passes ``num_threads=None``."""
    return os.cpu_count() or 1


def _own_cache_line() -> Any:
    """A one-element int64 array alone on its 64-byte cache line: a worker polls its flag
    with atomic read-modify-writes, each of which takes the line from the other cores,
    so no array that a kernel uses may share it (small arrays lie side by side)."""
    block = np.zeros(24, np.int64)  # 192 bytes hold one aligned 64-byte line
    start = (-block.ctypes.data % 64) // 8
    return block[start : start + 1]


def _no_work() -> None:
    """The job of a worker that holds none."""


class _Worker:
    """A daemon thread that runs one job at a time, handed over by two locks (and a flag
    it polls for a while after each job)."""

    def __init__(self, name: str) -> None:
        self._posted = _own_cache_line()  # set with the job, cleared when taken
        self._go = threading.Lock()
        self._go.acquire()
        self._done = threading.Lock()
        self._done.acquire()
        self._job: Callable[[], Any] = _no_work
        self._result: Any = None
        self._error: BaseException | None = None
        self.thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while True:
            spin_until_set(self._posted, SPIN_ROUNDS)  # then the lock is free or soon is
            self._go.acquire()
            self._posted[0] = 0
            work = self._job
            self._job = _no_work  # (holds no reference to the job's arrays)
            try:
                self._result, self._error = work(), None
            except BaseException as error:  # re-raised in the caller
                self._result, self._error = None, error
            del work
            self._done.release()

    def start(self, work: Callable[[], Any]) -> None:
        """Run ``work()`` on this worker's thread."""
        self._job = work
        self._posted[0] = 1
        self._go.release()

    def join(self) -> tuple[Any, BaseException | None]:
        """Wait for the job started last: its result and the exception it raised."""
        self._done.acquire()
        out = self._result, self._error
        self._result = self._error = None
        return out


_idle: list[_Worker] = []
_idle_lock = threading.Lock()
_names = itertools.count()
_pid = os.getpid()


def _forget_workers() -> None:
    """In a forked child: the parent's workers have no threads here."""
    global _idle_lock, _pid
    _idle.clear()
    _idle_lock = threading.Lock()
    _pid = os.getpid()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_workers)


def _take(count: int) -> list[_Worker]:
    """``count`` idle workers, made when too few are idle."""
    with _idle_lock:
        if _pid != os.getpid():  # forked without the hook
            _idle.clear()
        taken = [_idle.pop() for _ in range(min(count, len(_idle)))]
    while len(taken) < count:
        taken.append(_Worker(f"ctckit-{next(_names)}"))
    return taken


def run_together(work: Callable[[], _R], threads: int) -> list[_R]:
    """Run ``work()`` on ``threads`` threads at once: the calling thread and idle workers.

    For kernels whose threads take their items from one shared counter
    (``ctckit._atomic.fetch_add``), each the next when done with one, so that a thread
    slowed by its item or its core leaves the rest to the others. An exception raised
    by a run is raised here, once every run has finished (the calling thread's first,
    then the workers' in turn).

    Returns:
        The runs' results, the calling thread's first.
    """
    if threads <= 1:
        return [work()]
    helpers = _take(threads - 1)
    for helper in helpers:
        helper.start(work)
    try:
        first = work()
    finally:
        outcomes = [helper.join() for helper in helpers]
        with _idle_lock:
            _idle.extend(helpers)
    results: list[_R] = [first]
    for result, error in outcomes:
        if error is not None:
            raise error
        results.append(result)
    return results
