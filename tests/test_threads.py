"""ctckit._threads: strided shares over persistent worker threads."""

from __future__ import annotations

import os
import select
import signal
import threading

import numpy as np
import pytest

from ctckit import _threads
from ctckit._threads import run_strided


@pytest.mark.parametrize(("count", "threads"), [(0, 3), (1, 4), (7, 1), (7, 3), (10, 10)])
def test_shares_cover_every_item_once_in_strided_order(count, threads) -> None:
    shares = run_strided(lambda idx: idx.tolist(), count, threads)
    used = max(1, min(threads, count))
    assert len(shares) == used
    assert shares == [list(range(s, count, used)) for s in range(used)]


def test_the_calling_thread_runs_the_first_share_and_the_workers_are_kept() -> None:
    names = run_strided(lambda idx: threading.current_thread().name, 4, 2)
    assert names[0] == threading.current_thread().name
    assert names[1].startswith("ctckit")
    again = run_strided(lambda idx: threading.current_thread().name, 4, 2)
    assert again[1] == names[1]  # the same worker, idle between calls


def test_a_share_runs_on_another_thread_at_the_same_time() -> None:
    """Each share waits for the other to start: one thread alone would wait forever."""
    barrier = threading.Barrier(3, timeout=10)
    assert run_strided(lambda idx: barrier.wait() >= 0, 3, 3) == [True] * 3


class Boom(Exception):
    pass


def test_an_exception_in_a_worker_share_is_raised_in_the_caller_after_every_share() -> None:
    finished = []

    def work(idx):
        if idx[0] == 2:
            raise Boom(f"share {idx[0]}")
        finished.append(int(idx[0]))
        return int(idx[0])

    with pytest.raises(Boom, match="share 2"):
        run_strided(work, 4, 4)
    assert sorted(finished) == [0, 1, 3]
    assert run_strided(lambda idx: idx.tolist(), 4, 4) == [[0], [1], [2], [3]]  # still works


def test_the_callers_exception_waits_for_the_workers_shares() -> None:
    done = []

    def work(idx):
        if idx[0] == 0:
            raise Boom("caller")
        threading.Event().wait(0.05)
        done.append(int(idx[0]))

    with pytest.raises(Boom, match="caller"):
        run_strided(work, 3, 3)
    assert sorted(done) == [1, 2]  # finished before the exception left run_strided


def test_calls_from_two_threads_at_once_each_get_their_own_shares() -> None:
    """Two callers, each with shares that wait for each other: neither waits on the other's
    workers, and every result goes back to its caller."""
    got: dict[int, list] = {}
    errors = []

    def caller(tag: int) -> None:
        try:
            barrier = threading.Barrier(2, timeout=10)
            for _ in range(50):
                out = run_strided(lambda idx: (barrier.wait(), tag, idx.tolist())[1:], 4, 2)
                assert out == [(tag, [0, 2]), (tag, [1, 3])]
            got[tag] = out
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=caller, args=(tag,)) for tag in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert set(got) == {1, 2}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_makes_its_own_workers() -> None:
    assert run_strided(lambda idx: idx.tolist(), 3, 2) == [[0, 2], [1]]
    parent = list(_threads._idle)
    assert parent
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: the parent's workers have no threads here
        try:
            barrier = threading.Barrier(2, timeout=10)
            out = run_strided(lambda idx: (barrier.wait(), idx.tolist())[1], 3, 2)
            ok = out == [[0, 2], [1]] and not any(w in parent for w in _threads._idle)
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    ready, _, _ = select.select([read], [], [], 30)
    if not ready:  # the child hangs on a worker that has no thread
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    assert ready
    assert os.read(read, 1) == b"1"
    assert np.array_equal(run_strided(lambda idx: idx, 3, 2)[1], [1])


def test_run_together_runs_the_work_on_that_many_threads_at_once() -> None:
    """Each run waits for the others to start: fewer threads would wait forever. The
    calling thread's result comes first."""
    from ctckit._threads import run_together

    barrier = threading.Barrier(3, timeout=10)

    def work() -> str:
        barrier.wait()
        return threading.current_thread().name

    names = run_together(work, 3)
    assert names[0] == threading.current_thread().name
    assert len(set(names)) == 3
    assert run_together(lambda: 7, 0) == [7]  # at least the calling thread


def test_run_together_raises_a_workers_exception_after_every_run() -> None:
    from ctckit._threads import run_together

    finished = []

    def work() -> None:
        if threading.current_thread().name.startswith("ctckit"):
            raise Boom("worker")
        threading.Event().wait(0.05)
        finished.append(1)

    with pytest.raises(Boom, match="worker"):
        run_together(work, 2)
    assert finished == [1]
