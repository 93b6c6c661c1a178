"""One process-wide thread pool for the Numba kernels that release the GIL (private).

Starting a pool costs about 1 ms, more than decoding or aligning a small batch,
so pools are made once per size and kept. A forked child (whose copy of the
parent's pool has no threads) gets its own.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np
import numpy.typing as npt

__all__ = ["default_threads", "pool", "run_strided"]

_R = TypeVar("_R")

_pools: dict[int, tuple[int, ThreadPoolExecutor]] = {}
_pools_lock = threading.Lock()


def default_threads() -> int:
    """The thread count used when a caller passes ``num_threads=None``."""
    return os.cpu_count() or 1


def pool(workers: int) -> ThreadPoolExecutor:
    """The process-wide pool of ``workers`` threads, made on first use."""
    with _pools_lock:
        entry = _pools.get(workers)
        if entry is None or entry[0] != os.getpid():
            executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ctckit")
            entry = _pools[workers] = (os.getpid(), executor)
        return entry[1]


def run_strided(work: Callable[[npt.NDArray[np.int64]], _R], count: int, threads: int) -> list[_R]:
    """Run ``work`` on ``threads`` shares of ``range(count)``, every ``threads``-th item each.

    Lengths in a batch are often sorted, so striding balances the shares. The
    calling thread runs the first share and the pool the others.

    Returns:
        The results of the shares, in share order (share ``k`` holds items
        ``k, k + threads, ...``).
    """
    threads = max(1, min(threads, count))
    if threads == 1:
        return [work(np.arange(count, dtype=np.int64))]
    executor = pool(threads - 1)
    futures = [
        executor.submit(work, np.arange(s, count, threads, dtype=np.int64))
        for s in range(1, threads)
    ]
    first = work(np.arange(0, count, threads, dtype=np.int64))
    return [first] + [f.result() for f in futures]
