"""The batch Viterbi of the forced aligner, without back-pointers (private).

The trellis of ``ctckit.align._kernels``: state ``2k`` is the blank before token
``k``, ``2k + 1`` token ``k``; a path stays, moves one state up, or skips a blank
between two different tokens; ties keep the first of stay, up, skip.

* Forward: two score rows per frame, blanks and tokens apart (``blank[k]``;
  ``token[k + 1]`` is token ``k``, ``token[0]`` a ``-inf`` guard), one contiguous
  branch-free loop a frame (the compiler vectorises it) over the states that are
  reachable and can still finish. The rows of every ``SEGMENT``-th frame are kept.
* Backtrace, one segment at a time from the end: from the kept rows, recompute
  the triangle of states from which the path's known state at the segment's end
  can be reached, and re-derive each move from those scores. They are the same
  float operations as the forward's, so the same ties; no back-pointer is stored.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ctckit.align._common import NEG_INF, NO_PATH, NON_FINITE, OK, label

SEGMENT = 4  # frames between kept rows


@njit(cache=True, nogil=True)
def viterbi_many(  # type: ignore[no-untyped-def]
    lp, lengths, targets, target_lengths, utts, opts, out_align, out_scores, status, bad_pos
):
    """Best path of each utterance in ``utts``.

    Args:
        lp: ``(B, T, V)`` float32/float64 log-probabilities.
        lengths, target_lengths: ``(B,)`` int64.
        targets: ``(B, L)`` int64 emission columns: ``V`` where the wildcard is.
        utts: The utterances to align (int64).
        opts: ``ctckit.align._common.Options``.
        out_align: ``(B, T)`` int64, written for ``utts`` (blank beyond lengths).
        out_scores: ``(B, T)`` log-probability of each frame's label (0 beyond).
        status: ``(B,)`` int64, written for ``utts`` (``OK``, ``NO_PATH``,
            ``NON_FINITE``).
        bad_pos: ``(B, 2)`` int64: frame and column of a non-finite entry.
    """
    vocab = lp.shape[2]
    max_t = 1
    max_l = 0
    for b in utts:
        max_t = max(max_t, lengths[b])
        max_l = max(max_l, target_lengths[b])
    # this thread's buffers, once per call: kept rows, then two rows that take turns
    width = max_l + 3
    rows = np.empty(((max_t - 1) // SEGMENT + 3, 2, width), np.float64)
    row = np.empty(vocab + 1, np.float64)
    cols = np.empty(width, np.uint32)  # unsigned: indexing it needs no wraparound
    jump = np.empty(width, np.float64)
    emit = np.empty(width, np.float64)
    wild = np.empty(max_t, np.float64)
    tri = np.empty((SEGMENT, 2 * SEGMENT + 3), np.float64)
    for b in utts:
        n_frames = lengths[b]
        length = target_lengths[b]
        for t in range(n_frames, out_align.shape[1]):
            out_align[b, t] = opts.blank
            out_scores[b, t] = 0.0
        if n_frames == 0:
            status[b] = OK
            continue
        has_wild = _columns(targets, b, length, vocab, cols, jump, emit)
        bad = _forward(lp, b, n_frames, length, opts, has_wild, rows, row, cols, jump, emit, wild)
        if bad >= 0:
            bad_pos[b, 0] = bad // vocab
            bad_pos[b, 1] = bad % vocab
            status[b] = NON_FINITE
            continue
        status[b] = _backtrace(
            lp, b, n_frames, length, opts, rows, cols, jump, wild, tri, out_align, out_scores
        )


@njit(cache=True, nogil=True, inline="always")
def _columns(targets, b, length, vocab, cols, jump, emit):  # type: ignore[no-untyped-def]
    """Each token's emission column, what a skip into it adds (0 between different tokens,
    else ``-inf``), and ``emit[L] = -inf`` (the row loop's one state past the last token).
    Returns whether the wildcard occurs."""
    has_wild = False
    for k in range(length):
        col = targets[b, k]
        cols[k] = col
        has_wild |= col == vocab
        jump[k] = 0.0 if k > 0 and col != targets[b, k - 1] else NEG_INF
    jump[length] = NEG_INF
    emit[length] = NEG_INF
    return has_wild


@njit(cache=True, nogil=True, inline="always")
def _slot(t, ring):  # type: ignore[no-untyped-def]
    """Where frame ``t``'s rows live: kept every ``SEGMENT`` frames, else one of two."""
    return t // SEGMENT if t % SEGMENT == 0 else ring + (t & 1)


@njit(cache=True, nogil=True, inline="always")
def _lowest(n_states, n_frames, t):  # type: ignore[no-untyped-def]
    """The lowest state at frame ``t`` from which the final states can still be reached."""
    return max(0, n_states - 2 * (n_frames - t))


@njit(cache=True, nogil=True, inline="always")
def _frame_row(lp, b, t, vocab, opts, has_wild, row, wild):  # type: ignore[no-untyped-def]
    """Frame ``t`` as float64 into ``row`` (the wildcard's score in ``row[vocab]`` and
    ``wild[t]``). Returns the first non-finite column, or -1."""
    finite = True
    for v in range(vocab):
        x = float(lp[b, t, v])
        row[v] = x
        finite &= x < np.inf  # NaN compares false
    if not finite:
        for v in range(vocab):
            if not row[v] < np.inf:
                return v
    if has_wild:
        best = NEG_INF
        for v in range(vocab):
            best = max(best, row[v])
        row[vocab] = wild[t] = best + opts.wildcard_penalty
    return -1


@njit(cache=True, nogil=True, inline="always")
def _step(blank_prev, token_prev, blank_cur, token_cur, e_blank, emit, jump, n):  # type: ignore[no-untyped-def]
    """One frame for ``n`` blank/token pairs (views from the first pair): blank ``i`` stays
    or comes from token ``i - 1``; token ``i`` stays, comes from blank ``i``, or skips
    from token ``i - 1``."""
    for i in range(n):
        stay_blank = blank_prev[i]
        token_below = token_prev[i]
        blank_cur[i] = max(stay_blank, token_below) + e_blank
        best = max(max(token_prev[i + 1], stay_blank), token_below + jump[i])
        token_cur[i + 1] = best + emit[i]


@njit(cache=True, nogil=True, inline="always")
def _forward(lp, b, n_frames, length, opts, has_wild, rows, row, cols, jump, emit, wild):  # type: ignore[no-untyped-def]
    """Fill the kept rows. Returns ``t * V + v`` of the first non-finite entry, or -1."""
    vocab = lp.shape[2]
    ring = rows.shape[0] - 2
    bad = _frame_row(lp, b, 0, vocab, opts, has_wild, row, wild)
    if bad >= 0:
        return bad
    first = rows[0]
    for k in range(first.shape[1]):
        first[0, k] = NEG_INF
        first[1, k] = NEG_INF
    first[0, 0] = row[opts.blank]
    if length > 0:
        first[1, 1] = row[cols[0]]
    for t in range(1, n_frames):
        bad = _frame_row(lp, b, t, vocab, opts, has_wild, row, wild)
        if bad >= 0:
            return t * vocab + bad
        prev = rows[_slot(t - 1, ring)]
        cur = rows[_slot(t, ring)]
        # pairs (blank k, token k) holding a state in [lowest, 2t + 1]
        lo = max(0, length - n_frames + t)
        hi = min(length, t)
        em = emit[lo:]
        cl = cols[lo:]
        for i in range(min(hi, length - 1) - lo + 1):
            em[i] = row[cl[i]]
        _step(prev[0, lo:], prev[1, lo:], cur[0, lo:], cur[1, lo:], row[opts.blank], em,
              jump[lo:], hi - lo + 1)  # fmt: skip
        # what the next frame reads above this one's states, and the guard
        cur[0, hi + 1] = NEG_INF
        cur[1, hi + 2] = NEG_INF
        cur[1, 0] = NEG_INF
    return -1


@njit(cache=True, nogil=True, inline="always")
def _score(rows, slot, s):  # type: ignore[no-untyped-def]
    """State ``s``'s score in a frame's rows."""
    return rows[slot, 0, s >> 1] if s % 2 == 0 else rows[slot, 1, (s >> 1) + 1]


@njit(cache=True, nogil=True, inline="always")
def _emission(lp, b, t, s, opts, cols, wild):  # type: ignore[no-untyped-def]
    """State ``s``'s log-probability at frame ``t`` (float64) and its emission column."""
    col = opts.blank if s % 2 == 0 else cols[s >> 1]
    if col == lp.shape[2]:
        return wild[t], col
    return float(lp[b, t, col]), col


@njit(cache=True, nogil=True, inline="always")
def _move(tri, j, i, s, jump):  # type: ignore[no-untyped-def]
    """The move into state ``s`` (0 stay, 1 up, 2 skip) from the previous frame's scores
    ``tri[j]``, ``tri[j, i]`` being state ``s``'s; ties keep the first."""
    best = tri[j, i]
    move = 0
    if tri[j, i - 1] > best:
        best = tri[j, i - 1]
        move = 1
    if s % 2 == 1 and tri[j, i - 2] + jump[s >> 1] > best:
        move = 2
    return move


@njit(cache=True, nogil=True, inline="always")
def _segment(lp, b, n_frames, n_states, t0, t1, state, opts, rows, cols, jump, wild, tri):  # type: ignore[no-untyped-def]
    """Scores of frames ``[t0, t1)`` of the states from which ``state`` at ``t1`` can be
    reached, into ``tri[t - t0, s - base + 2]`` (two ``-inf`` guards); returns ``base``,
    the lowest such state at ``t0``. Exact: such a state's predecessors are such states."""
    base = max(0, state - 2 * (t1 - t0))
    kept = t0 // SEGMENT
    for j in range(t1 - t0):
        t = t0 + j
        for i in range(state - base + 3):
            tri[j, i] = NEG_INF
        first = max(base, state - 2 * (t1 - t), _lowest(n_states, n_frames, t))
        last = min(state, 2 * t + 1)
        for s in range(first, last + 1):
            i = s - base + 2
            if j == 0:
                tri[j, i] = _score(rows, kept, s)
                continue
            best = max(tri[j - 1, i], tri[j - 1, i - 1])
            if s % 2 == 1:
                best = max(best, tri[j - 1, i - 2] + jump[s >> 1])
            tri[j, i] = best + _emission(lp, b, t, s, opts, cols, wild)[0]
    return base


@njit(cache=True, nogil=True, inline="always")
def _backtrace(lp, b, n_frames, length, opts, rows, cols, jump, wild, tri, out_align, out_scores):  # type: ignore[no-untyped-def]
    n_states = 2 * length + 1
    last = _slot(n_frames - 1, rows.shape[0] - 2)
    # the last blank unless the last token scores strictly more
    state = n_states - 1
    if length > 0 and rows[last, 1, length] > rows[last, 0, length]:
        state = n_states - 2
    if _score(rows, last, state) == NEG_INF:
        return NO_PATH
    _write(lp, b, n_frames - 1, state, opts, cols, wild, out_align, out_scores)
    t1 = n_frames - 1
    while t1 > 0:
        t0 = (t1 - 1) // SEGMENT * SEGMENT
        base = _segment(lp, b, n_frames, n_states, t0, t1, state, opts, rows, cols, jump, wild, tri)
        for t in range(t1, t0, -1):
            state -= _move(tri, t - 1 - t0, state - base + 2, state, jump)
            _write(lp, b, t - 1, state, opts, cols, wild, out_align, out_scores)
        t1 = t0
    return OK


@njit(cache=True, nogil=True, inline="always")
def _write(lp, b, t, state, opts, cols, wild, out_align, out_scores):  # type: ignore[no-untyped-def]
    score, col = _emission(lp, b, t, state, opts, cols, wild)
    out_align[b, t] = label(col, lp.shape[2], opts)
    out_scores[b, t] = score
