"""Stage 2: the frame's candidate tokens (private).

The tokens, best first, that are kept in the frame and could extend at least one beam
into the selection: above ``thr - gmax`` (the selection's threshold less an upper bound
of every beam's rank without the token). Visiting them best first lets each beam's scan
stop at the first token that cannot enter.
"""

from __future__ import annotations

from numba import njit

from ctckit.decode._kernels.numeric import NEG_INF, SLACK


@njit(cache=True, nogil=True, inline="always")
def entry_threshold(best, worst, n, width, beam_prune_logp):  # type: ignore[no-untyped-def]
    """What a candidate must beat to enter: the beam-pruning cut, or the worst stay when
    the stays alone fill the beam."""
    thr = best + beam_prune_logp
    if n == width and worst > thr:
        thr = worst
    return thr


@njit(cache=True, nogil=True, inline="always")
def candidate_tokens(row, kept, nk, thr, gmax, toks):  # type: ignore[no-untyped-def]
    """Fill ``toks`` with the kept tokens above ``thr - gmax``, by decreasing log-prob.
    Returns their count."""
    lim = thr - gmax - SLACK
    # none if the best kept token cannot (the common case: a confident blank)
    vbest = NEG_INF
    for k in range(nk):
        v = row[kept[k]]
        if v > vbest:  # (not max(): of mixed dtypes it is a call Numba need not inline)
            vbest = v
    nt = 0
    for k in range(nk if vbest > lim else 0):
        c = kept[k]
        v = row[c]
        if v > lim:
            q = nt  # insertion sort, descending by log-prob
            while q > 0 and row[toks[q - 1]] < v:
                toks[q] = toks[q - 1]
                q -= 1
            toks[q] = c
            nt += 1
    return nt
