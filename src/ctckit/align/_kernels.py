"""Numba kernels of the CTC forced aligner (private).

The trellis of an utterance with ``L`` target tokens has ``S = 2L + 1``
states: even states are blanks, state ``2k + 1`` is token ``k``. A path may,
from one frame to the next, stay in its state, move one state up, or skip a
blank (two states up) between two different tokens. States are addressed
``s + 2`` in the score rows, so that ``s - 1`` and ``s - 2`` always exist
(two ``-inf`` guard cells).

Ties keep the first of: stay, one up, skip (torchaudio's order). The final
state is the last blank unless the last token scores strictly more.

* :func:`viterbi_many` (from ``ctckit.align._viterbi``) aligns a list of
  utterances (one call per thread, no GIL) over an exactly pruned trellis, or
  the whole trellis where pruning would keep most of it.
* :func:`viterbi_banded` aligns one long utterance inside a band of ``W``
  states that follows the best state of the previous frame, with back-pointers
  packed four to a byte, and records where paths can leave the band;
  :func:`exit_bound` bounds the score of every such path (see
  ``ctckit.align.long``).
* :func:`posterior_many` runs forward-backward on the same trellis (scaled
  probabilities, exact log space where a frame underflows) and returns, per
  token, its posterior occupancy inside its best-path span and in all.

Options cross as one :class:`Options` tuple. The wildcard (a token that
matches any frame) is column ``V`` of each frame's emission row, holding the
frame's best log-probability plus a penalty.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ctckit._atomic import fetch_add
from ctckit.align._common import NEG_INF as _NEG_INF
from ctckit.align._common import NO_PATH, NON_FINITE, OK, Options
from ctckit.align._common import emission_row as _emission_row
from ctckit.align._common import label as _label
from ctckit.align._viterbi import viterbi_many

__all__ = [
    "NON_FINITE",
    "NO_PATH",
    "OK",
    "Options",
    "exit_bound",
    "posterior_many",
    "viterbi_banded",
    "viterbi_many",
]


@njit(cache=True, nogil=True, inline="always")
def _extended_states(targets, b, length, vocab, opts, ext, skip):  # type: ignore[no-untyped-def]
    """Emission column of each state (``ext``) and what a skip into it adds: 0 where allowed
    (between different tokens), ``-inf`` elsewhere (``skip``, float64: no branch)."""
    n_states = 2 * length + 1
    for s in range(n_states):
        ext[s] = opts.blank
        skip[s] = _NEG_INF
    for k in range(length):
        col = targets[b, k]
        ext[2 * k + 1] = col
        if k > 0 and col != ext[2 * k - 1]:
            skip[2 * k + 1] = 0.0
    return n_states


@njit(cache=True, nogil=True, inline="always")
def _best_of_three(stay, up, jump):  # type: ignore[no-untyped-def]
    """The largest of the three predecessors and its move (0 stay, 1 up, 2 skip); ties keep
    the first."""
    best = stay
    move = 0
    if up > best:
        best = up
        move = 1
    if jump > best:
        best = jump
        move = 2
    return best, move


@njit(cache=True, nogil=True)
def viterbi_banded(lp, n_frames, targets, length, width, opts, out_align, out_scores, exits, info):  # type: ignore[no-untyped-def]
    """Best path of one utterance within a band of ``width`` states that moves with the
    previous frame's best state.

    Args:
        lp: ``(T, V)`` log-probabilities.
        n_frames: Frames to align (``<= T``).
        targets: ``(L,)`` int64 emission columns (``V``: the wildcard).
        length: ``L``.
        width: Band width in states, a multiple of 4, ``>= 4``.
        opts: :class:`Options`.
        out_align, out_scores: ``(T,)`` outputs.
        exits: ``(T, 6)`` float64 out: for each frame ``t >= 1``, the best in-band
            score at ``t - 1`` of a state a path can leave the band from, below and
            above it, and the ranges of states such a path lands on at ``t``
            (``[lo_a, lo_b)``, ``[hi_a, hi_b)``); ``-inf`` where there are none.
        info: float64 ``(4,)`` out: status, best score, non-finite frame and column.
    """
    vocab = lp.shape[1]
    n_states = 2 * length + 1
    width = min(width, ((n_states + 3) // 4) * 4)
    packed = width // 4
    lp3 = lp.reshape((1, lp.shape[0], vocab))
    tg2 = targets.reshape((1, targets.shape[0]))
    ext = np.empty(n_states, np.int64)
    skip = np.empty(n_states, np.float64)
    _extended_states(tg2, 0, length, vocab, opts, ext, skip)
    back = np.zeros(n_frames * packed, np.uint8)
    low = np.zeros(n_frames, np.int64)
    rows = np.full((2, n_states + 2), _NEG_INF)
    row = np.empty(vocab + 1, np.float64)
    for t in range(n_frames):
        exits[t, 0] = _NEG_INF
        exits[t, 1] = _NEG_INF
    prev = rows[0]
    cur = rows[1]
    bad = _emission_row(lp3, 0, 0, vocab, opts, row)
    if bad >= 0:
        info[0] = NON_FINITE
        info[2] = 0
        info[3] = bad
        return
    prev[2] = row[ext[0]]
    if n_states > 1:
        prev[3] = row[ext[1]]
    lo_prev = 0
    hi_prev = min(n_states, width)
    lo_old = 0  # the band of the frame before the previous one (held in cur)
    hi_old = 0
    centre = 0 if n_states == 1 else (1 if prev[3] > prev[2] else 0)
    for t in range(1, n_frames):
        bad = _emission_row(lp3, 0, t, vocab, opts, row)
        if bad >= 0:
            info[0] = NON_FINITE
            info[2] = t
            info[3] = bad
            return
        # states below `reach` cannot finish in the frames left
        reach = max(0, n_states - 2 * (n_frames - t))
        lo = max(centre - width // 2, reach)
        lo = max(0, min(lo, n_states - width))
        hi = min(n_states, lo + width)
        low[t] = lo
        _record_exits(prev, exits, t, lo_prev, hi_prev, lo, hi, reach, n_states)
        # cur holds frame t - 2 inside [lo_old, hi_old): clear what the new band leaves out
        for s in range(lo_old, min(lo, hi_old)):
            cur[s + 2] = _NEG_INF
        for s in range(max(hi, lo_old), hi_old):
            cur[s + 2] = _NEG_INF
        base = t * packed
        best_here = _NEG_INF
        centre = lo
        for s in range(lo, hi):
            best, move = _best_of_three(prev[s + 2], prev[s + 1], prev[s] + skip[s])
            score = best + row[ext[s]]
            cur[s + 2] = score
            i = s - lo
            back[base + (i >> 2)] |= np.uint8(move << (2 * (i & 3)))
            if score > best_here:
                best_here = score
                centre = s
        lo_old, hi_old = lo_prev, hi_prev
        lo_prev, hi_prev = lo, hi
        prev, cur = cur, prev
    state = n_states - 1
    if n_states > 1 and prev[n_states] > prev[n_states + 1]:
        state = n_states - 2
    total = prev[state + 2]
    info[1] = total
    if not (lo_prev <= state < hi_prev) or total == _NEG_INF:
        info[0] = NO_PATH
        return
    for t in range(n_frames - 1, -1, -1):
        col = ext[state]
        _emission_row(lp3, 0, t, vocab, opts, row)
        out_align[t] = _label(col, vocab, opts)
        out_scores[t] = row[col]
        if t > 0:
            i = state - low[t]
            state -= (back[t * packed + (i >> 2)] >> (2 * (i & 3))) & 3
    info[0] = OK


@njit(cache=True, nogil=True, inline="always")
def _record_exits(prev, exits, t, lo_prev, hi_prev, lo, hi, reach, n_states):  # type: ignore[no-untyped-def]
    """Where a path can leave the band ``[lo, hi)`` of frame ``t``: from a state of
    ``[lo_prev, hi_prev)`` that stays below ``lo`` (and can still finish), or that moves
    to ``hi`` or above. Over-counting some moves keeps the bound sound."""
    leave = _NEG_INF
    first = max(lo_prev, reach - 2)
    for s in range(first, min(lo, hi_prev)):
        leave = max(leave, prev[s + 2])
    exits[t, 0] = leave
    exits[t, 2] = first
    exits[t, 3] = lo
    leave = _NEG_INF
    if hi < n_states:
        for s in range(max(hi - 2, lo_prev), hi_prev):
            leave = max(leave, prev[s + 2])
    exits[t, 1] = leave
    exits[t, 4] = hi
    exits[t, 5] = min(n_states, hi_prev + 2)


@njit(cache=True, nogil=True)
def exit_bound(lp, n_frames, targets, length, block, opts, exits):  # type: ignore[no-untyped-def]
    """The highest score any path that leaves the band can reach, and the frame where.

    A path that first leaves the band at frame ``t``, landing on state ``s``, scored at
    most the recorded in-band score of the state it left from, plus the best completion
    from ``(t, s)``. That completion is bounded by a coarse trellis: tokens in blocks of
    ``block``, each block a single state whose emission at a frame is the best of the
    blank and the block's labels, moving one block at most per frame (a path moves at most
    one token per frame). Computed backwards, one row of blocks at a time.
    """
    vocab = lp.shape[1]
    2 * length + 1
    n_blocks = max(1, (length + block - 1) // block)
    has = np.zeros((n_blocks, vocab + 1), np.bool_)
    for k in range(length):
        has[k // block, targets[k]] = True
    lp3 = lp.reshape((1, lp.shape[0], vocab))
    row = np.empty(vocab + 1, np.float64)
    nxt = np.full(n_blocks + 1, _NEG_INF)
    here = np.full(n_blocks + 1, _NEG_INF)
    best_bound = _NEG_INF
    best_frame = -1
    for t in range(n_frames - 1, 0, -1):
        _emission_row(lp3, 0, t, vocab, opts, row)
        # the three best non-blank columns: a block's best label is the first of them it
        # holds, else at most the third's score
        c1 = -1
        c2 = -1
        c3 = -1
        for v in range(vocab + 1):
            if v == opts.blank:
                continue
            x = row[v]
            if c1 < 0 or x > row[c1]:
                c3 = c2
                c2 = c1
                c1 = v
            elif c2 < 0 or x > row[c2]:
                c3 = c2
                c2 = v
            elif c3 < 0 or x > row[c3]:
                c3 = v
        e_blank = row[opts.blank]
        rest = row[c3] if c3 >= 0 else _NEG_INF
        for j in range(n_blocks):
            if c1 >= 0 and has[j, c1]:
                e = row[c1]
            elif c2 >= 0 and has[j, c2]:
                e = row[c2]
            else:
                e = rest
            e = max(e, e_blank)
            if t == n_frames - 1:
                here[j] = e if j == n_blocks - 1 else _NEG_INF
            else:
                here[j] = e + max(nxt[j], nxt[j + 1])
        bound = _NEG_INF
        for side in range(2):
            leave = exits[t, side]
            if leave == _NEG_INF:
                continue
            a = int(exits[t, 2 + 2 * side])
            b = int(exits[t, 3 + 2 * side])
            best = _NEG_INF
            for j in range(_block_of(a, block, n_blocks), _block_of(b - 1, block, n_blocks) + 1):
                best = max(best, here[j])
            bound = max(bound, leave + best)
        if bound > best_bound:
            best_bound = bound
            best_frame = t
        nxt, here = here, nxt
    return best_bound, best_frame


@njit(cache=True, nogil=True, inline="always")
def _block_of(state, block, n_blocks):  # type: ignore[no-untyped-def]
    """The block of a state: blank ``2k`` and token ``2k + 1`` are token ``k``'s; the final
    blank is the last block's."""
    return min(max(state, 0) // 2 // block, n_blocks - 1)


@njit(cache=True, nogil=True, inline="always")
def _lse3(a, b, c):  # type: ignore[no-untyped-def]
    m = max(a, max(b, c))
    if m == _NEG_INF:
        return _NEG_INF
    return m + math.log(math.exp(a - m) + math.exp(b - m) + math.exp(c - m))


@njit(cache=True, nogil=True)
def posterior_many(  # type: ignore[no-untyped-def]
    lp, lengths, targets, target_lengths, utts, opts, starts, ends, inside, total, taken
):
    """Forward-backward posterior occupancy of each token state.

    Args:
        lp, lengths, targets, target_lengths, utts, opts, taken: As :func:`viterbi_many`
            (``taken`` not optional).
        starts, ends: ``(B, L)`` int64: each token's span on the best path.
        inside: ``(B, L)`` float64 out: posterior mass of token ``k``'s state
            within ``[starts, ends)``.
        total: ``(B, L)`` float64 out: its posterior mass over all frames (the
            expected number of frames the token occupies).
    """
    vocab = lp.shape[2]
    max_t = 1
    max_s = 1
    for b in utts:
        max_t = max(max_t, lengths[b])
        max_s = max(max_s, 2 * target_lengths[b] + 1)
    alpha = np.empty(max_t * (max_s + 2), np.float64)
    beta = np.empty((2, max_s + 2), np.float64)
    row = np.empty(vocab + 1, np.float64)
    emit = np.empty(max_s, np.float64)
    ext = np.empty(max_s, np.int64)
    skip = np.empty(max_s, np.float64)
    while True:
        i = fetch_add(taken, 1)
        if i >= utts.shape[0]:
            break
        b = utts[i]
        n_frames = lengths[b]
        length = target_lengths[b]
        for k in range(length):
            inside[b, k] = 0.0
            total[b, k] = 0.0
        if n_frames == 0 or length == 0:
            continue
        n_states = _extended_states(targets, b, length, vocab, opts, ext, skip)
        _forward_backward(
            lp, b, n_frames, n_states, opts, alpha, beta, row, emit, ext, skip,
            starts, ends, inside, total,
        )  # fmt: skip


@njit(cache=True, nogil=True, inline="always")
def _frame_emissions(lp, b, t, n_states, vocab, opts, row, emit, ext):  # type: ignore[no-untyped-def]
    _emission_row(lp, b, t, vocab, opts, row)
    for s in range(n_states):
        emit[s] = row[ext[s]]


@njit(cache=True, nogil=True)
def _forward_backward(  # type: ignore[no-untyped-def]
    lp, b, n_frames, n_states, opts, alpha, beta, row, emit, ext, skip, starts, ends, inside,
    total,
):  # fmt: skip
    """Log-space forward-backward (float64) for one utterance; accumulates ``inside`` and
    ``total`` for each token."""
    vocab = lp.shape[2]
    stride = n_states + 2
    for i in range(n_frames * stride):
        alpha[i] = _NEG_INF
    _frame_emissions(lp, b, 0, n_states, vocab, opts, row, emit, ext)
    alpha[2] = emit[0]
    if n_states > 1:
        alpha[3] = emit[1]
    for t in range(1, n_frames):
        _frame_emissions(lp, b, t, n_states, vocab, opts, row, emit, ext)
        p = (t - 1) * stride
        c = t * stride
        for s in range(n_states):
            jump = alpha[p + s] + skip[s]
            alpha[c + s + 2] = _lse3(alpha[p + s + 2], alpha[p + s + 1], jump) + emit[s]
    last = (n_frames - 1) * stride
    log_z = _lse3(alpha[last + n_states + 1], alpha[last + n_states] if n_states > 1 else _NEG_INF,
                  _NEG_INF)  # fmt: skip
    if log_z == _NEG_INF:
        return
    nxt = beta[0]
    here = beta[1]
    for s in range(n_states + 2):
        nxt[s] = _NEG_INF
    # beta at the last frame: log 1 at the two final states
    nxt[n_states + 1] = 0.0
    if n_states > 1:
        nxt[n_states] = 0.0
    for t in range(n_frames - 1, -1, -1):
        if t < n_frames - 1:
            # here(s) = lse over successors s, s+1, s+2 (skip) of nxt * emit(t+1)
            _frame_emissions(lp, b, t + 1, n_states, vocab, opts, row, emit, ext)
            for s in range(n_states):
                stay = nxt[s + 2] + emit[s]
                up = nxt[s + 3] + emit[s + 1] if s + 1 < n_states else _NEG_INF
                jump = nxt[s + 4] + emit[s + 2] + skip[s + 2] if s + 2 < n_states else _NEG_INF
                here[s + 2] = _lse3(stay, up, jump)
            nxt, here = here, nxt
        c = t * stride
        for k in range((n_states - 1) // 2):
            s = 2 * k + 1
            g = math.exp(alpha[c + s + 2] + nxt[s + 2] - log_z)
            total[b, k] += g
            if starts[b, k] <= t < ends[b, k]:
                inside[b, k] += g
