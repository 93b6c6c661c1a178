"""ctckit._threads: strided shares over one process-wide pool."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from ctckit._threads import pool, run_strided


@pytest.mark.parametrize(("count", "threads"), [(0, 3), (1, 4), (7, 1), (7, 3), (10, 10)])
def test_shares_cover_every_item_once_in_strided_order(count, threads) -> None:
    shares = run_strided(lambda idx: idx.tolist(), count, threads)
    used = max(1, min(threads, count))
    assert len(shares) == used
    assert shares == [list(range(s, count, used)) for s in range(used)]


def test_the_calling_thread_runs_the_first_share_and_the_pool_is_kept() -> None:
    names = run_strided(lambda idx: threading.current_thread().name, 4, 2)
    assert names[0] == threading.current_thread().name
    assert names[1].startswith("ctckit")
    assert pool(1) is pool(1)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_gets_its_own_pool() -> None:
    parent = pool(1)
    parent.submit(lambda: None).result()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: the parent's pool has no threads here
        ok = pool(1) is not parent and pool(1).submit(lambda: 41 + 1).result(timeout=10) == 42
        os.write(write, b"1" if ok else b"0")
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1"
    assert np.array_equal(run_strided(lambda idx: idx, 3, 2)[1], [1])
