"""ctckit._threads: one job run on several persistent worker threads at once."""

from __future__ import annotations

import os
import select
import signal
import threading

import numpy as np
import pytest

from ctckit import _threads
from ctckit._threads import run_together


def test_the_calling_thread_runs_first_and_the_workers_are_kept() -> None:
    names = run_together(lambda: threading.current_thread().name, 2)
    assert names[0] == threading.current_thread().name
    assert names[1].startswith("ctckit")
    again = run_together(lambda: threading.current_thread().name, 2)
    assert again[1] == names[1]  # the same worker, idle between calls


def test_run_together_runs_the_work_on_that_many_threads_at_once() -> None:
    """Each run waits for the others to start: fewer threads would wait forever."""
    barrier = threading.Barrier(3, timeout=10)

    def work() -> str:
        barrier.wait()
        return threading.current_thread().name

    names = run_together(work, 3)
    assert len(set(names)) == 3
    assert run_together(lambda: 7, 0) == [7]  # at least the calling thread


class Boom(Exception):
    pass


def _counted(counter: list[int], lock: threading.Lock) -> int:
    """The next of a shared count (as the kernels take their items)."""
    with lock:
        counter[0] += 1
        return counter[0] - 1


def test_a_workers_exception_is_raised_in_the_caller_after_every_run() -> None:
    counter, lock, finished = [0], threading.Lock(), []

    def work() -> int:
        k = _counted(counter, lock)
        if k == 2:
            raise Boom(f"run {k}")
        threading.Event().wait(0.05)
        finished.append(k)
        return k

    with pytest.raises(Boom, match="run 2"):
        run_together(work, 4)
    assert sorted(finished) == [0, 1, 3]
    assert sorted(run_together(lambda: 5, 4)) == [5] * 4  # still works


def test_the_callers_exception_waits_for_the_workers_runs() -> None:
    done = []

    def work() -> None:
        if threading.current_thread() is threading.main_thread():
            raise Boom("caller")
        threading.Event().wait(0.05)
        done.append(1)

    with pytest.raises(Boom, match="caller"):
        run_together(work, 3)
    assert done == [1, 1]  # finished before the exception left run_together


def test_calls_from_two_threads_at_once_each_get_their_own_runs() -> None:
    """Two callers, each with runs that wait for each other: neither waits on the other's
    workers, and every result goes back to its caller."""
    got: dict[int, list] = {}
    errors = []

    def caller(tag: int) -> None:
        try:
            barrier = threading.Barrier(2, timeout=10)
            for _ in range(50):
                out = run_together(lambda: (barrier.wait(), tag)[1], 2)
                assert out == [tag, tag]
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
    assert run_together(lambda: 1, 2) == [1, 1]
    parent = list(_threads._idle)
    assert parent
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: the parent's workers have no threads here
        try:
            barrier = threading.Barrier(2, timeout=10)
            out = run_together(lambda: barrier.wait() >= 0, 2)
            ok = out == [True, True] and not any(w in parent for w in _threads._idle)
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    ready, _, _ = select.select([read], [], [], 30)
    if not ready:  # the child hangs on a worker that has no thread
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    assert ready
    assert os.read(read, 1) == b"1"
    assert run_together(lambda: 2, 2) == [2, 2]


@pytest.mark.parametrize("rounds", [0, 10**7])
def test_jobs_reach_a_worker_that_polls_or_that_sleeps(monkeypatch, rounds) -> None:
    """The flag a worker polls after a job is a hint beside its lock: with no polling
    (every job wakes a sleeping worker) and with polls for about 50 ms (every
    back-to-back job is seen by a polling worker), each of many back-to-back calls runs
    once on both threads, as do calls after a pause. A worker that skips the lock when
    its poll sees the job fails it (tried)."""
    monkeypatch.setattr(_threads, "SPIN_ROUNDS", rounds)
    counter, lock = [0], threading.Lock()
    for i in range(200):
        before = counter[0]
        results = run_together(lambda: _counted(counter, lock), 2)
        assert sorted(results) == [before, before + 1]
        if i % 50 == 49:
            threading.Event().wait(0.01)
    assert counter[0] == 400


def test_a_workers_flag_lies_alone_on_its_cache_line() -> None:
    """The flag a worker polls starts a 64-byte line that the rest of its block fills."""
    for _ in range(20):
        flag = _threads._own_cache_line()
        assert flag.shape == (1,)
        assert flag.dtype == np.int64
        assert flag[0] == 0
        assert flag.ctypes.data % 64 == 0
        block = flag.base
        assert flag.ctypes.data + 64 <= block.ctypes.data + block.nbytes
