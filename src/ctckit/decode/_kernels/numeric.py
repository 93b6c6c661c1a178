"""Constants, the log-sum-exp and the selection primitives of the searches (private)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

NEG_INF = -np.inf
SLACK = 1e-7  # early-exit bounds are loosened by this much against rounding
EXT = 1 << 32  # selection ids from here on are extensions: (beam + 1) << 32 | token
TOKEN_MASK = EXT - 1
SORTED_MAX_WIDTH = 96  # wider beams select with a buffer and quickselect (faster there)


@njit(cache=True, nogil=True, inline="always")
def extension_id(beam: int, token: int) -> int:
    """The selection id of beam ``beam`` extended by ``token`` (``>= EXT``)."""
    return ((beam + 1) << 32) | int(token)


@njit(cache=True, nogil=True, inline="always")
def lse(a: float, b: float) -> float:
    """log(exp(a) + exp(b)); the smaller term is dropped when below exp(-50) of the larger
    (it could not change a float64 sum by more than 2e-22 relative)."""
    if a < b:
        a, b = b, a
    d = b - a
    if not d >= -50.0:  # also both -inf (d is NaN)
        return a
    return a + math.log1p(math.exp(d))


@njit(cache=True, nogil=True, inline="always")
def insert_sorted(bs, bid, nb, cap, score, ident):  # type: ignore[no-untyped-def]
    """Insert into ``bs[:nb]`` (descending, with ``bid``), bounded to ``cap`` entries: when
    full the last is dropped (the caller checked ``score`` beats it). Equal scores keep
    their arrival order. Returns the new count."""
    if nb == cap:
        nb -= 1
    g = nb
    while g > 0 and bs[g - 1] < score:
        bs[g] = bs[g - 1]
        bid[g] = bid[g - 1]
        g -= 1
    bs[g] = score
    bid[g] = ident
    return nb + 1


@njit(cache=True, nogil=True)
def keep_best(bs, bid, nb, keep, tmp):  # type: ignore[no-untyped-def]
    """Keep the ``keep`` highest of ``bs[:nb]`` (with ``bid``), in their order; of equal
    scores at the cut, the earlier. Returns the new count and the lowest kept score."""
    for i in range(nb):
        tmp[i] = bs[i]
    # quickselect (Hoare partition, descending) for the keep-th highest score
    k = keep - 1
    lo = 0
    hi = nb - 1
    while lo < hi:
        a = tmp[lo]
        b = tmp[(lo + hi) >> 1]
        c = tmp[hi]
        if a < b:
            a, b = b, a
        if b < c:
            b = c
            if a < b:
                b = a
        pivot = b  # median of three
        i = lo
        j = hi
        while i <= j:
            while tmp[i] > pivot:
                i += 1
            while tmp[j] < pivot:
                j -= 1
            if i <= j:
                tmp[i], tmp[j] = tmp[j], tmp[i]
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            break
    kth = tmp[k]
    ties = keep
    for i in range(nb):
        if bs[i] > kth:
            ties -= 1
    m = 0
    for i in range(nb):
        x = bs[i]
        if x > kth or (x == kth and ties > 0):
            if x == kth:
                ties -= 1
            bs[m] = x
            bid[m] = bid[i]
            m += 1
    return m, kth
