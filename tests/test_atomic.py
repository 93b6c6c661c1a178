"""ctckit._atomic: an atomic counter shared by threads in Numba kernels."""

from __future__ import annotations

import threading

import numpy as np
from numba import njit

from ctckit._atomic import fetch_add, spin_until_set


@njit(nogil=True)
def _take_many(counter, times, seen):  # type: ignore[no-untyped-def]
    for _ in range(times):
        seen[fetch_add(counter, 1)] += 1


def test_two_threads_taking_from_one_counter_take_every_value_once() -> None:
    """Two threads, each taking 500,000 values at once with the GIL released: a
    read-add-write that is not atomic loses updates (tried: the counter ends short and
    values are taken twice)."""
    times = 500_000
    counter = np.zeros(1, np.int64)
    seen = np.zeros(2 * times + 1, np.int64)
    _take_many(counter, 1, seen)  # compiled before the threads start
    counter[0] = 0
    seen[:] = 0
    threads = [threading.Thread(target=_take_many, args=(counter, times, seen)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counter[0] == 2 * times
    assert (seen[: 2 * times] == 1).all()


@njit
def _add(counter, value):  # type: ignore[no-untyped-def]
    return fetch_add(counter, value)


def test_fetch_add_returns_the_value_before_and_takes_any_integer_type() -> None:
    counter = np.array([5], np.int64)
    assert _add(counter, 3) == 5
    assert _add(counter, np.int32(-2)) == 8
    assert counter[0] == 6


def test_spin_until_set_sees_a_flag_another_thread_sets_while_it_polls() -> None:
    """The poll returns once another thread sets the flag (well before its 10**9 rounds,
    seconds): a poll that reads the flag once, as a compiler may make of a plain read
    in the loop, fails it (tried). With the flag unset it returns False after its
    rounds."""
    flag = np.zeros(1, np.int64)
    assert not spin_until_set(flag, 1000)
    setter = threading.Timer(0.02, flag.__setitem__, (0, 1))
    setter.start()
    assert spin_until_set(flag, 10**9)
    setter.join()
