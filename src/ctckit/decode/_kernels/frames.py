"""Reading a frame: the input check, token pruning and the frame's candidate list (private).

An entry is accepted when ``x <= high`` (``high``: the largest value of ``lp``'s dtype not
above ``MAX_LOG_PROB``); one comparison refuses NaN, ``+inf`` and probabilities passed as
log-probabilities alike. The counts run branch-free over the row (vectorised);
:func:`invalid_column` finds the entry only when a count says there is one.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ctckit.decode._input import MAX_LOG_PROB
from ctckit.decode._kernels.numeric import NEG_INF


@njit(cache=True, nogil=True, inline="always")
def thresholds(buf, token_min_logp):  # type: ignore[no-untyped-def]
    """``(tmin, high)`` in the dtype of ``buf`` (a scratch array of at least 2 entries, of
    ``lp``'s dtype; its contents are overwritten): for ``x`` of that dtype, ``x >= tmin``
    exactly when ``x >= token_min_logp`` (float32 compares twice as many per instruction),
    and ``x <= high`` exactly when ``x <= MAX_LOG_PROB``."""
    buf[0] = token_min_logp
    buf[1] = MAX_LOG_PROB
    tmin = buf[0]
    high = buf[1]
    buf[0] = np.inf
    buf[1] = -np.inf
    if tmin < token_min_logp:
        tmin = np.nextafter(tmin, buf[0])
    if high > MAX_LOG_PROB:
        high = np.nextafter(high, buf[1])
    return tmin, high


@njit(cache=True, nogil=True, inline="always")
def dtype_thresholds(lp, token_min_logp):  # type: ignore[no-untyped-def]
    """:func:`thresholds` for ``lp``'s dtype, with a buffer of its own."""
    return thresholds(np.empty(2, lp.dtype), token_min_logp)


@njit(cache=True, nogil=True, inline="always")
def invalid_column(lp, t, high):  # type: ignore[no-untyped-def]
    """The first column of frame ``t`` that is not a log-probability (NaN, ``+inf``, or
    above ``high``), or -1. The one place the search looks for bad entries."""
    for c in range(lp.shape[1]):
        if not lp[t, c] <= high:
            return c
    return -1


@njit(cache=True, nogil=True)
def first_invalid(lp, start, stop, high):  # type: ignore[no-untyped-def]
    """Flat index ``t * V + v`` of the first invalid entry of ``lp[start:stop]``, or -1."""
    for t in range(start, stop):
        bad = 0
        for v in range(lp.shape[1]):
            bad += not lp[t, v] <= high
        if bad:
            return t * lp.shape[1] + invalid_column(lp, t, high)
    return -1


@njit(cache=True, nogil=True)
def first_invalid_in(lp, stop, high):  # type: ignore[no-untyped-def]
    """:func:`first_invalid` of ``lp[:stop]`` for a C-contiguous ``lp``, in one loop over
    the entries (a 16-frame chunk: 60 instead of 150 ns; a loop per frame, and counting
    instead of or-ing, cost more), searched frame by frame only when there is one."""
    flat = lp.reshape(lp.shape[0] * lp.shape[1])
    bad = False
    for i in range(stop * lp.shape[1]):
        bad |= not flat[i] <= high
    return first_invalid(lp, 0, stop, high) if bad else -1


@njit(cache=True, nogil=True, inline="always")
def classify_pruned(lp, t, blank, tmin, high):  # type: ignore[no-untyped-def]
    """Token pruning in frame ``t``: whether the blank is its only kept token; the token
    kept although below ``tmin`` (the frame's most probable one, the first on ties as
    ``np.argmax``, when no token reaches ``tmin``; else -1); and the first invalid
    entry's column (-1 if none)."""
    kept = 0  # branch-free counts first: the common frame is a confident blank
    bad = 0
    for c in range(lp.shape[1]):
        kept += lp[t, c] >= tmin
        bad += not lp[t, c] <= high
    if bad:
        return False, -1, invalid_column(lp, t, high)
    if kept > 0:
        return kept == 1 and lp[t, blank] >= tmin, -1, -1
    top = 0
    for c in range(1, lp.shape[1]):
        if lp[t, c] > lp[t, top]:
            top = c
    return top == blank and lp[t, top] != NEG_INF, top, -1


@njit(cache=True, nogil=True, inline="always")
def load_pruned_row(lp, t, blank, tmin, top, row, kept_toks):  # type: ignore[no-untyped-def]
    """Copy frame ``t`` into ``row`` with the tokens below ``tmin`` set to ``-inf`` (except
    ``top``, see :func:`classify_pruned`), and list its kept non-blank tokens of finite
    log-prob in ``kept_toks``. Returns their count. Branch-free: which tokens are kept is
    unpredictable."""
    nk = 0
    for c in range(lp.shape[1]):
        x = lp[t, c]
        keep = x >= tmin
        row[c] = x if keep else NEG_INF
        kept_toks[nk] = c
        nk += keep & (x != NEG_INF) & (c != blank)
    if top >= 0:
        row[top] = lp[t, top]
        kept_toks[nk] = top
        nk += top != blank and row[top] != NEG_INF
    return nk


@njit(cache=True, nogil=True, inline="always")
def load_row(lp, t, blank, high, row, kept_toks):  # type: ignore[no-untyped-def]
    """Copy frame ``t`` into ``row`` (no pruning) and list its non-blank tokens of finite
    log-prob. Returns their count and the first invalid entry's column (-1 if none)."""
    nk = 0
    bad = 0
    for c in range(lp.shape[1]):
        x = lp[t, c]
        row[c] = x
        bad += not x <= high
        kept_toks[nk] = c
        nk += (x != NEG_INF) & (c != blank)
    if bad:
        return nk, invalid_column(lp, t, high)
    return nk, -1
