"""What the forced-alignment kernels share (private): options, status codes, frame rows."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

NEG_INF = -np.inf

# status codes per utterance
OK = 0
NO_PATH = 1  # every path spelling the targets has probability 0
NON_FINITE = 2  # NaN or +inf in a valid frame (position in bad_pos)


class Options(NamedTuple):
    """What the kernels need besides the arrays."""

    blank: int
    wildcard: int  # the label written for wildcard frames (the wildcard is column V)
    wildcard_penalty: float  # added to the frame's best log-probability


@njit(cache=True, nogil=True, inline="always")
def emission_row(lp, b, t, vocab, opts, row):  # type: ignore[no-untyped-def]
    """Copy frame ``t`` of utterance ``b`` into ``row`` (float64), the wildcard's score in
    ``row[vocab]``. Returns the first non-finite column, or -1."""
    best = NEG_INF
    for v in range(vocab):
        x = float(lp[b, t, v])
        if not x < np.inf:  # NaN or +inf
            return v
        row[v] = x
        if x > best:
            best = x
    row[vocab] = best + opts.wildcard_penalty
    return -1


@njit(cache=True, nogil=True, inline="always")
def label(col, vocab, opts):  # type: ignore[no-untyped-def]
    """The label written for emission column ``col`` (``vocab``: the wildcard)."""
    return opts.wildcard if col == vocab else col
