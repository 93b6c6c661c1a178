"""The batch Viterbi of the forced aligner, over an exactly pruned trellis (private).

The trellis of ``ctckit.align._kernels``: state ``2k`` is the blank before token
``k``, ``2k + 1`` token ``k``; a path stays, moves one state up, or skips a blank
between two different tokens; ties keep the first of stay, up, skip.

* Bound: ``upper[t]``, the sum over the frames after ``t`` of the best emission
  among the labels the utterance uses, bounds what any path can still gain. A
  state whose score plus ``upper[t]`` is below the score ``G`` of some complete
  path lies on no best path, and is pruned.
* Frames: the passes read the input's own frames (float32 or float64; no copy),
  checked in one loop over the utterance; an utterance with the wildcard reads a
  float64 copy whose column ``V`` holds the wildcard's score.
* Forward: two score rows per frame, blanks and tokens apart (``blank[k]``;
  ``token[k + 1]`` is token ``k``, ``token[0]`` a ``-inf`` guard), over a range
  of blank/token pairs: those reachable from the previous frame's range that can
  still finish, less the pruned pairs at either end (at most one off each end
  per frame). Each computed pair's moves go to one byte (blank up; token up;
  token skip), per frame after the last.
* Passes: first a beam (pairs more than ``BEAM`` below the frame's best are
  pruned; it does not read the bound, which is made after it, and only when it has
  not gone dense), which is exact when everything it pruned is below the path it found;
  otherwise again with ``G`` = that path's score (exact by the bound); a pass that
  finds no path is followed by one without pruning. A row after one the pruned passes
  solved first tries one pass with a floor guessed from the gap between bound and
  best score of the rows before: their running ratio of gap to the share of unsure
  frames, times this row's share (:func:`_guessed_pass`; exact when its path is above
  the floor), and takes the two passes only when the guess was too high. Ties: a
  pruned state never ties a best path's, so the moves, and the path, are those of the
  full trellis.
* Dense: a pruned pass that has computed more than ``DENSE_SHARE`` of the pairs
  so far (where pruning removes little, e.g. untrained output) stops, and the
  utterance is searched by :func:`_dense_forward`: every pair of each frame's range,
  in one loop that LLVM vectorises (the pruned passes' loop is scalar: a few pairs
  a frame). It stores no moves, only the rows of every ``CHECKPOINT``-th frame.
  It skips the pairs no path can reach, and computes those no path can finish
  from, which are no predecessors of those it can, so the best path, ties included,
  is the pruned passes'.
* Backtrace: from the final state (the last blank unless the last token scores
  strictly more), each frame's stored move; after the dense pass, each block of
  frames between two kept rows is recomputed over the pairs the path can be on
  (a triangle below its pair at the block's end), and each move is taken from
  the predecessors' scores by the forward pass's comparisons.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ctckit._atomic import fetch_add
from ctckit.align._common import NEG_INF, NO_PATH, NON_FINITE, OK, label

BEAM = 15.0  # nats below the frame's best bound that the first pass keeps
# a pruned pass gives way to the dense one past this share of the frames' pairs (a
# pruned pair costs about twice a dense one), plus DENSE_SLACK frames' worth
DENSE_SHARE = 0.25
DENSE_SLACK = 8
# a row after one that went dense gives way at frame EARLY_FRAME of its first pass if
# the beam has kept more than half of the pairs a path can reach so far (a flat row's
# keeps them all; a peaky row's a few a frame), instead of at about frame 80
EARLY_FRAME = 24
WENT_DENSE = -2.0  # gap[0] after a row that went dense
CHECKPOINT = 16  # the dense pass keeps the rows of every this many frames
# a row after one whose best path the pruned passes found first tries a single floor
# pass, the floor below the row's bound by GUESS_FACTOR times that row's per-frame gap
# between bound and best score, per frame, plus GUESS_NATS
GUESS_FACTOR = 1.2
GUESS_NATS = 2.0
# the gap is guessed from the row's share of frames whose best emission is below
# UNSURE_LOGP (log 0.9), times the ratio of gap to that share over the rows solved so
# far, each new row weighing 1 - RATIO_KEEP: on the example model's dev rows the guess
# then failed on 20% of the rows, with 31 nats of slack on the others, against 33% and
# 49 nats for the last row's gap alone
UNSURE_LOGP = -0.10536051565782628
RATIO_KEEP = 0.7
# viterbi_many's modes
AUTO = 0
PRUNED = 1  # never dense (tests)
DENSE = 2  # only dense (tests)
# rounding of sums of up to ~4e6 float64 terms, relative to their magnitude
_ROUNDING = 1e-9


@njit(cache=True, nogil=True)
def viterbi_many(  # type: ignore[no-untyped-def]
    lp, lengths, targets, target_lengths, utts, opts, out_align, out_scores, status, bad_pos,
    searched, mode=AUTO, taken=None,
):  # fmt: skip
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
        searched: ``(B,)`` bool out: whether the dense pass found the path.
        mode: ``AUTO`` (pruned, dense where pruning keeps too much), ``PRUNED`` or
            ``DENSE`` (one path only, for tests).
        taken: ``(1,)`` int64, how many of ``utts`` the threads running this call on
            the same arrays have taken: each takes the next (``fetch_add``) when it
            finishes one, so the threads end together. ``None``: all of ``utts`` here.

    Returns:
        How many of the utterances it aligned got a status other than ``OK``.
    """
    vocab = lp.shape[2]
    max_t = 1
    max_l = 0
    for b in utts:
        max_t = max(max_t, lengths[b])
        max_l = max(max_l, target_lengths[b])
    # this thread's buffers, once per call (per-utterance buffers cost page faults that
    # serialise threads)
    width = max_l + 3
    rows = np.empty((2, 2, width), np.float64)
    regions = np.empty((max_t, 3), np.int64)
    moves = np.empty(max_t * (max_l + 1), np.int8)
    frames = np.empty((0, vocab + 1), np.float64)  # the wildcard's copy, made when needed
    upper = np.empty(max_t, np.float64)
    cut = np.empty(max_t, np.float64)  # the first pass's best pruned score per frame
    used = np.empty(vocab + 1, np.float64)
    cols = np.empty(width, np.uint32)  # unsigned: indexing it needs no wraparound
    jump = np.empty(width, np.float64)
    emit = np.empty(width, np.float64)
    used_cols = np.empty(vocab + 1, np.uint32)
    checkpoints = np.empty((0, 2, width), np.float64)  # the dense pass's, made below
    block = np.empty((CHECKPOINT, 2, width), np.float64)
    block[:, 1, 0] = NEG_INF  # token 0's guard
    # the last row's (bound - best score) per frame (-1: none; WENT_DENSE), and the running
    # ratio of that gap to the rows' unsure share (-1: none)
    gap = np.full(2, -1.0)
    counter = np.zeros(1, np.int64)
    if taken is not None:
        counter = taken
    failed = 0
    while True:
        i = fetch_add(counter, 1)
        if i >= utts.shape[0]:
            break
        b = utts[i]
        n_frames = lengths[b]
        length = target_lengths[b]
        for t in range(n_frames, out_align.shape[1]):
            out_align[b, t] = opts.blank
            out_scores[b, t] = 0.0
        if n_frames == 0:
            status[b] = OK
            continue
        has_wild = _columns(targets, b, length, vocab, opts, cols, jump, emit, used)
        emitted = used_cols[: _used_columns(used, vocab + 1, used_cols)]  # the wildcard's too
        if has_wild:  # a float64 copy with the wildcard's column
            if frames.shape[0] < max_t:
                frames = np.empty((max_t, vocab + 1), np.float64)
            bad, scale, unsure = _frames(lp, b, n_frames, opts, emitted, frames, upper)
        else:  # the input's own frames; the bound once the first pass needs it
            bad = _first_non_finite(lp[b], n_frames)
            scale = unsure = -1.0
        if bad >= 0:
            bad_pos[b, 0] = bad // vocab
            bad_pos[b, 1] = bad % vocab
            status[b] = NON_FINITE
            failed += 1
            continue
        if mode != PRUNED and checkpoints.shape[0] < max_t // CHECKPOINT + 1:
            checkpoints = np.empty((max_t // CHECKPOINT + 1, 2, width), np.float64)
        if has_wild:
            found, dense = _align_one(frames, vocab, b, n_frames, length, opts, mode, scale, unsure,
                                      rows, regions, moves, cols, jump, emit, upper, cut, emitted,
                                      checkpoints, block, out_align, out_scores, gap)  # fmt: skip
        else:
            found, dense = _align_one(lp[b], vocab, b, n_frames, length, opts, mode, scale, unsure,
                                      rows, regions, moves, cols, jump, emit, upper, cut, emitted,
                                      checkpoints, block, out_align, out_scores, gap)  # fmt: skip
        searched[b] = dense
        status[b] = OK if found else NO_PATH
        failed += not found
    return failed


@njit(cache=True)
def run_arrays(lp, lengths, target_lengths):  # type: ignore[no-untyped-def]
    """What :func:`viterbi_many` writes and reads besides its inputs, for a batch ``lp``
    ``(B, T, V)``, in one call (a dozen numpy calls in Python cost tens of microseconds
    after a kernel has left the caches cold): ``out_align`` ``(B, T)`` int64,
    ``out_scores`` ``(B, T)`` of ``lp``'s dtype, ``status`` ``(B,)`` and ``bad_pos``
    ``(B, 2)`` int64 zeros, ``searched`` ``(B,)`` False, the utterances in the order the
    threads take them (largest trellis first, stable, so that the threads end within a
    small one of each other), the ``taken`` counter at 0, and the trellis cells in all."""
    batch, n_frames, _ = lp.shape
    cells = lengths * (2 * target_lengths + 1)
    order = np.argsort(-cells, kind="mergesort")  # stable
    return (
        np.empty((batch, n_frames), np.int64),
        np.empty((batch, n_frames), lp.dtype),
        np.zeros(batch, np.int64),
        np.zeros((batch, 2), np.int64),
        np.zeros(batch, np.bool_),
        order,
        np.zeros(1, np.int64),
        cells.sum(),
    )


@njit(cache=True, nogil=True)
def _align_one(  # type: ignore[no-untyped-def]
    src, vocab, b, n_frames, length, opts, mode, scale, unsure, rows, regions, moves, cols, jump,
    emit, upper, cut, emitted, checkpoints, block, out_align, out_scores, gap,
):  # fmt: skip
    """One utterance's search and backtrace over its frames ``src`` (``(T, V)`` of the
    input's dtype, or the ``(T, V + 1)`` float64 copy with the wildcard's column). ``scale``
    < 0: the bound ``upper`` is still to be made (by :func:`_bound_terms`, over the columns
    ``emitted``), once the first pass has not gone dense. ``gap[0]``: the per-frame gap
    between bound and best score of the last row the pruned passes solved (-1: none yet;
    ``WENT_DENSE``: the last row went dense, so the first pass checks at ``EARLY_FRAME``
    whether to as well); with a gap, a single floor pass goes first (:func:`_guessed_pass`),
    its gap ``gap[1]`` times ``unsure`` (the row's share of frames whose bound term is below
    ``UNSURE_LOGP``, made with the bound) when ``gap[1]`` holds a ratio, and this row's gap
    (or ``WENT_DENSE``) replaces ``gap[0]`` and enters the ratio.
    Returns whether a path exists and whether the dense pass found it."""
    args = (src, n_frames, length, opts, rows, regions, moves, cols, jump, upper, cut)
    share = np.inf if mode == PRUNED else DENSE_SHARE
    dense = mode == DENSE
    score = NEG_INF
    last = 0
    guessed = False
    if not dense and gap[0] >= 0.0:
        if scale < 0.0:
            scale, unsure = _bound_terms(src, n_frames, emitted, upper)
        guess = gap[0] if gap[1] < 0.0 else gap[1] * unsure
        score, last, dense, guessed = _guessed_pass(args, scale, share, guess)
    if not dense and not guessed:
        early = EARLY_FRAME if gap[0] == WENT_DENSE and share < np.inf else 0
        score, pruned, last, dense = _forward(args, NEG_INF, BEAM, share, early)
    if not dense and not guessed:
        if scale < 0.0:
            scale, unsure = _bound_terms(src, n_frames, emitted, upper)
        pruned = _pruned_bound(cut, upper, n_frames) if score > NEG_INF else NEG_INF
        margin = _ROUNDING * 4.0 * (scale + abs(score))
        if not pruned < score - margin:
            floor = score - margin if score > NEG_INF else NEG_INF
            score, pruned, last, dense = _forward(args, floor, np.inf, share, 0)
            if not dense and score == NEG_INF and floor > NEG_INF:  # rounding beyond the margin
                dense = True
    if not dense and score > NEG_INF:  # the bound is made: this row's gap for the next
        gap[0] = (_total_bound(src, length, opts, cols, upper) - score) / n_frames
        if unsure > 0.0:
            ratio = gap[0] / unsure
            gap[1] = ratio if gap[1] < 0.0 else RATIO_KEEP * gap[1] + (1.0 - RATIO_KEEP) * ratio
    if dense:
        gap[0] = WENT_DENSE
        found = _dense_path(src, vocab, b, n_frames, length, opts, rows, checkpoints, block, cols,
                            jump, emit, out_align, out_scores)  # fmt: skip
        return found, dense
    if score == NEG_INF:
        return False, dense
    _backtrace(src, vocab, b, n_frames, length, opts, rows, last, regions, moves, cols, out_align,
               out_scores)  # fmt: skip
    return True, dense


@njit(cache=True, nogil=True, inline="always")
def _total_bound(src, length, opts, cols, upper):  # type: ignore[no-untyped-def]
    """An upper bound on any path's score: frame 0's best first state plus ``upper[0]``."""
    first = src[0, opts.blank]
    if length > 0:
        first = max(first, src[0, cols[0]])
    return first + upper[0]


@njit(cache=True, nogil=True, inline="always")
def _guessed_pass(args, scale, share, gap):  # type: ignore[no-untyped-def]
    """One floor pass (:func:`_forward` without a beam) with the floor guessed from the
    bound: ``GUESS_FACTOR * gap`` per frame plus ``GUESS_NATS`` below the row's total bound. A
    path it finds at least the rounding margin above the floor is the best path (every
    pruned pair's bound is below it); else the guess was too high and the row takes
    the two passes. Returns the score, the last row slot, whether it went dense and
    whether its path is the best."""
    src, n_frames, length, opts = args[0], args[1], args[2], args[3]
    total = _total_bound(src, length, opts, args[7], args[9])
    floor = total - GUESS_FACTOR * gap * n_frames - GUESS_NATS
    score, _, last, dense = _forward(args, floor, np.inf, share, 0)
    found = score > NEG_INF and score - _ROUNDING * 4.0 * (scale + abs(score)) >= floor
    return score, last, dense, found or dense


@njit(cache=True, nogil=True, inline="always")
def _columns(targets, b, length, vocab, opts, cols, jump, emit, used):  # type: ignore[no-untyped-def]
    """Each token's emission column, what a skip into it adds (0 between different tokens,
    else ``-inf``), ``emit[L] = -inf`` (the row loop's one state past the last token), and
    ``used``: 0 for the columns a path can emit (blank, the tokens), else ``-inf``.
    Returns whether the wildcard occurs."""
    has_wild = False
    for v in range(vocab + 1):
        used[v] = NEG_INF
    used[opts.blank] = 0.0
    for k in range(length):
        col = targets[b, k]
        cols[k] = col
        used[col] = 0.0
        has_wild |= col == vocab
        jump[k] = 0.0 if k > 0 and col != targets[b, k - 1] else NEG_INF
    jump[length] = NEG_INF
    emit[length] = NEG_INF
    return has_wild


@njit(cache=True, nogil=True, inline="always")
def _frames(lp, b, n_frames, opts, emitted, frames, upper):  # type: ignore[no-untyped-def]
    """The utterance's frames as float64 with the wildcard's score in column ``V``, and the
    bound ``upper`` over the columns ``emitted`` (the wildcard's among them). Returns
    ``t * V + v`` of the first non-finite entry (or -1), the sum of the bound's terms'
    magnitudes (what its rounding margin scales with), and the share of its terms below
    ``UNSURE_LOGP``."""
    vocab = lp.shape[2]
    scale = 0.0
    unsure = 0
    for t in range(n_frames):
        finite = True
        for v in range(vocab):
            x = float(lp[b, t, v])
            frames[t, v] = x
            finite &= x < np.inf  # NaN compares false
        if not finite:
            for v in range(vocab):
                if not frames[t, v] < np.inf:
                    return t * vocab + v, 0.0, 0.0
        row = frames[t]
        row[vocab] = _max_all(row, vocab) + opts.wildcard_penalty
        best = _max_at(row, emitted, emitted.shape[0])
        upper[t] = best  # for now the frame's own term
        scale += abs(best)
        unsure += best < UNSURE_LOGP
    _suffix_sums(upper, n_frames)
    return -1, scale, unsure / n_frames


@njit(cache=True, nogil=True, inline="always")
def _suffix_sums(upper, n_frames):  # type: ignore[no-untyped-def]
    """``upper[t]``: the sum of the frames' terms after ``t`` (in place)."""
    total = 0.0
    for t in range(n_frames - 1, -1, -1):
        best = upper[t]
        upper[t] = total
        total += best


@njit(cache=True, nogil=True, inline="always")
def _first_non_finite(src, n_frames):  # type: ignore[no-untyped-def]
    """:func:`_frames`'s check on the input's own frames ``src`` (``(T, V)``), one loop
    over the utterance: ``t * V + v`` of the first NaN or ``+inf``, or -1."""
    flat = src[:n_frames].reshape(n_frames * src.shape[1])
    finite = True
    for i in range(flat.size):
        finite &= flat[i] < np.inf  # NaN compares false
    if not finite:
        for i in range(flat.size):
            if not flat[i] < np.inf:
                return i
    return -1


@njit(cache=True, nogil=True, inline="always")
def _bound_terms(src, n_frames, used_cols, upper):  # type: ignore[no-untyped-def]
    """The bound ``upper`` on finite frames ``src``: each frame's best among the columns
    ``used_cols`` (uint32: those a path can emit, :func:`_used_columns`; all of ``src``'s
    when there are as many). Returns the sum of
    its terms' magnitudes and the share of them below ``UNSURE_LOGP``."""
    vocab = src.shape[1]
    n_used = used_cols.shape[0]
    scale = 0.0
    unsure = 0
    if n_used == vocab:
        for t in range(n_frames):
            best = _max_all(src[t], vocab)
            upper[t] = best
            scale += abs(float(best))
            unsure += best < UNSURE_LOGP
    else:
        for t in range(n_frames):
            best = _max_at(src[t], used_cols, n_used)
            upper[t] = best
            scale += abs(float(best))
            unsure += best < UNSURE_LOGP
    _suffix_sums(upper, n_frames)
    return scale, unsure / n_frames


# A frame's maximum over its ~40 columns, as independent running maxima: LLVM's vector
# loop for a reduction takes 64 floats at a time, so on ~40 it runs the scalar remainder,
# one dependent chain (33 us a 1,000-frame row, masked; these take 6-8 us).
@njit(cache=True, nogil=True, inline="always")
def _max_all(row, n):  # type: ignore[no-untyped-def]
    """The best of ``row[:n]`` (``n >= 1``), eight running maxima apart."""
    m0 = m1 = m2 = m3 = m4 = m5 = m6 = m7 = row[0]
    v = 0
    while v + 8 <= n:
        m0 = max(m0, row[v])
        m1 = max(m1, row[v + 1])
        m2 = max(m2, row[v + 2])
        m3 = max(m3, row[v + 3])
        m4 = max(m4, row[v + 4])
        m5 = max(m5, row[v + 5])
        m6 = max(m6, row[v + 6])
        m7 = max(m7, row[v + 7])
        v += 8
    while v < n:
        m0 = max(m0, row[v])
        v += 1
    return max(max(max(m0, m1), max(m2, m3)), max(max(m4, m5), max(m6, m7)))


@njit(cache=True, nogil=True, inline="always")
def _max_at(row, idx, n):  # type: ignore[no-untyped-def]
    """The best of ``row[idx[:n]]`` (``n >= 1``), four running maxima apart."""
    m0 = m1 = m2 = m3 = row[idx[0]]
    v = 0
    while v + 4 <= n:
        m0 = max(m0, row[idx[v]])
        m1 = max(m1, row[idx[v + 1]])
        m2 = max(m2, row[idx[v + 2]])
        m3 = max(m3, row[idx[v + 3]])
        v += 4
    while v < n:
        m0 = max(m0, row[idx[v]])
        v += 1
    return max(max(m0, m1), max(m2, m3))


@njit(cache=True, nogil=True, inline="always")
def _used_columns(used, vocab, out):  # type: ignore[no-untyped-def]
    """The columns below ``vocab`` that ``used`` (:func:`_columns`) marks, in order, into
    ``out``; how many. (Column ``V``, the wildcard's, is marked only where it occurs.)"""
    n = 0
    for v in range(vocab):
        if used[v] == 0.0:
            out[n] = v
            n += 1
    return n


@njit(cache=True, nogil=True, inline="always")
def _pruned_bound(cut, upper, n_frames):  # type: ignore[no-untyped-def]
    """The highest score plus bound of a pair the first pass pruned: ``cut[t]`` is the best
    score it pruned at frame ``t`` (``-inf``: none)."""
    pruned = NEG_INF
    for t in range(1, n_frames - 1):
        pruned = max(pruned, cut[t] + upper[t])
    return pruned


@njit(cache=True, nogil=True, inline="always")
def _pair(stay_blank, token_below, stay_token, e_blank, jump, e_token):  # type: ignore[no-untyped-def]
    """Blank ``k``'s and token ``k``'s new scores from blank ``k`` (``stay_blank``) and
    tokens ``k - 1`` and ``k``, and their moves as :func:`_step` stores them: bit 0 the
    blank's up, bit 1 the token's up, bit 2 its skip (over the up)."""
    blank_up = token_below > stay_blank
    blank = (token_below if blank_up else stay_blank) + e_blank
    token_up = stay_blank > stay_token
    best = stay_blank if token_up else stay_token
    skip = token_below + jump
    token_skip = skip > best
    token = (skip if token_skip else best) + e_token
    return blank, token, np.int8(blank_up) | np.int8(token_up) << 1 | np.int8(token_skip) << 2


@njit(cache=True, nogil=True, inline="always")
def _step(prev, cur, lo, n, frame, blank_col, cols, length, jump, moves, base):  # type: ignore[no-untyped-def]
    """One frame for the ``n`` blank/token pairs from pair ``lo``, rows ``prev[0]``/``prev[1]``
    (blanks, tokens) to ``cur``, emissions from the frame's row: blank ``k`` stays or comes
    from token ``k - 1``; token ``k`` stays, comes from blank ``k``, or skips from token
    ``k - 1``. Pair ``lo + i``'s moves go to ``moves[base + i]`` (:func:`_pair`). Returns
    the best score it computed. A scalar loop: for the pruned passes' few pairs a frame
    (about 2-15) it costs less than a vector loop's scalar remainder and separate gather
    of the emissions (4% of a trained-model row's time)."""
    top = NEG_INF
    e_blank = frame[blank_col]
    for k in range(lo, lo + n):
        e_token = frame[cols[k]] if k < length else NEG_INF
        blank, token, move = _pair(prev[0, k], prev[1, k], prev[1, k + 1], e_blank, jump[k],
                                   e_token)  # fmt: skip
        cur[0, k] = blank
        cur[1, k + 1] = token
        moves[base + k - lo] = move
        top = max(top, max(blank, token))
    return top


@njit(cache=True, nogil=True, inline="always")
def _forward(args, floor, beam, share, early):  # type: ignore[no-untyped-def]
    """The forward pass over two rows, the moves of each frame's region (the pairs it
    computes: ``regions[t]`` = first pair, count, offset in ``moves``), pruning the pairs
    at the ends of the range whose best score plus ``upper[t]`` is below ``floor`` and
    below the frame's best plus ``upper[t]`` less ``beam``; with a beam (the first pass,
    ``floor`` is ``-inf`` then) that is the pairs more than ``beam`` below the frame's
    best, so the bound is not read: ``cut[t]`` gets the best score pruned at frame ``t``.
    Returns the best final score (``-inf``: none), the highest score plus bound of a
    pruned pair (without a beam), the last frame's row slot, and whether it stopped
    because it computed more than ``share`` of the pairs (the dense pass is cheaper
    then), or at frame ``early`` (0: never) more than half of those a path can reach.
    ``args``: the utterance's frames, its frame and token counts, the options and the
    buffers."""
    frames, n_frames, length, opts, rows, regions, moves, cols, jump, upper, cut = args
    for k in range(rows.shape[2]):
        rows[0, 0, k] = NEG_INF
        rows[0, 1, k] = NEG_INF
    rows[0, 0, 0] = frames[0, opts.blank]
    if length > 0:
        rows[0, 1, 1] = frames[0, cols[0]]
    lo = 0
    hi = 0
    pruned = NEG_INF
    offset = 0
    regions[0, 0] = 0
    regions[0, 1] = 1
    for t in range(1, n_frames):
        old = (t - 1) & 1
        new = t & 1
        # reachable from the previous range, and able to finish
        lo = max(lo, length - n_frames + t)
        hi = min(hi + 1, length)
        if lo > hi:
            return NEG_INF, pruned, new, False
        if offset > share * (t + DENSE_SLACK) * (length + 1):
            return NEG_INF, pruned, new, True
        # frames 1 to t - 1 reach at most t' + 1 pairs each
        if t == early and early <= length and 4 * offset > (t - 1) * (t + 2):
            return NEG_INF, pruned, new, True
        n = hi - lo + 1
        top = _step(rows[old], rows[new], lo, n, frames[t], opts.blank, cols, length, jump, moves,
                    offset)  # fmt: skip
        regions[t, 0] = lo
        regions[t, 1] = n
        regions[t, 2] = offset
        offset += n
        if t < n_frames - 1:
            # at most one pair off each end per frame, without branches (the range moves
            # by one pair a frame at most; one left in costs less than a mispredicted exit)
            low = max(rows[new, 0, lo], rows[new, 1, lo + 1])
            high = max(rows[new, 0, hi], rows[new, 1, hi + 1])
            if beam < np.inf:
                keep = top - beam
            else:
                bound = upper[t]
                low += bound
                high += bound
                keep = floor
            drop_low = low < keep
            drop_high = high < keep
            dropped = max(low if drop_low else NEG_INF, high if drop_high else NEG_INF)
            if beam < np.inf:
                cut[t] = dropped
            else:
                pruned = max(pruned, dropped)
            lo += drop_low
            hi -= drop_high
            if lo > hi:
                return NEG_INF, pruned, new, False
            # what the next frame reads next to this one's range, and the guard
            rows[new, 1, lo] = NEG_INF
            rows[new, 0, hi + 1] = NEG_INF
            rows[new, 1, hi + 2] = NEG_INF
    last = (n_frames - 1) & 1
    final = max(_final(rows, last, regions, n_frames - 1, 2 * length),
                _final(rows, last, regions, n_frames - 1, 2 * length - 1))  # fmt: skip
    return final, pruned, last, False


@njit(cache=True, nogil=True, inline="always")
def _scores(blank_prev, token_prev, blank_cur, token_cur, lo, n, e_blank, emit, jump):  # type: ignore[no-untyped-def]
    """:func:`_pair`'s scores without its moves (the same maxima, so the same values), over
    the ``n`` pairs from pair ``lo``: a loop that LLVM vectorises (the dense pass's)."""
    for i in range(n):
        k = np.uint64(lo + i)
        stay_blank = blank_prev[k]
        token_below = token_prev[k]
        blank_cur[k] = max(token_below, stay_blank) + e_blank
        best = max(stay_blank, token_prev[k + 1])
        token_cur[k + 1] = max(best, token_below + jump[k]) + emit[k]


@njit(cache=True, nogil=True)
def _dense_forward(frames, n_frames, length, blank, rows, checkpoints, cols, jump, emit):  # type: ignore[no-untyped-def]
    """The forward pass over the pairs of each frame that a path can reach (pairs 0 to
    ``min(t, L)``: the trellis less its upper corner triangle, 7% of it at T = 1,000,
    L = 150), without moves: the rows of every ``CHECKPOINT``-th frame go to
    ``checkpoints`` (:func:`_dense_backtrace` recomputes the frames between). Returns the
    best final score (``-inf``: none) and the last frame's row slot. The states above
    the range read ``-inf`` (never written; ``emit[L]`` and ``jump[L]`` are ``-inf``, so
    the pair past the last token never scores). The lower corner, which no path can
    finish from, is computed: with a low end that moves, the whole pass ran 1.2-1.4x
    slower (measured; the vector loop's cause not found), far more than the corner costs."""
    rows[:, :, :] = NEG_INF
    rows[0, 0, 0] = frames[0, blank]
    if length > 0:
        rows[0, 1, 1] = frames[0, cols[0]]
    checkpoints[0] = rows[0]
    for t in range(1, n_frames):
        old = (t - 1) & 1
        new = t & 1
        hi = min(t, length)
        for k in range(min(t + 1, length)):  # pair hi = L reads emit[L] = -inf
            emit[k] = frames[t, cols[k]]
        _scores(rows[old, 0], rows[old, 1], rows[new, 0], rows[new, 1], 0, hi + 1,
                frames[t, blank], emit, jump)  # fmt: skip
        if t % CHECKPOINT == 0:
            checkpoints[t // CHECKPOINT] = rows[new]
    last = (n_frames - 1) & 1
    final = rows[last, 0, length]
    if length > 0:
        final = max(final, rows[last, 1, length])
    return final, last


@njit(cache=True, nogil=True)
def _dense_path(  # type: ignore[no-untyped-def]
    src, vocab, b, n_frames, length, opts, rows, checkpoints, block, cols, jump, emit, out_align,
    out_scores,
):  # fmt: skip
    """The dense search and its backtrace; whether a path exists. Compiled apart from the
    pruned passes: an edit here then leaves their code where it is (inlined, a faster
    backtrace walk slowed rows that never come here by 1-7%, a layout effect)."""
    score, last = _dense_forward(src, n_frames, length, opts.blank, rows, checkpoints, cols,
                                 jump, emit)  # fmt: skip
    if score == NEG_INF:
        return False
    _dense_backtrace(src, vocab, b, n_frames, length, opts, rows, last, checkpoints, block, cols,
                     jump, emit, out_align, out_scores)  # fmt: skip
    return True


@njit(cache=True, nogil=True, inline="always")
def _dense_backtrace(  # type: ignore[no-untyped-def]
    frames, vocab, b, n_frames, length, opts, rows, last, checkpoints, block, cols, jump, emit,
    out_align, out_scores,
):  # fmt: skip
    """The best path of :func:`_dense_forward`: back from each checkpoint to the one
    below, the rows between recomputed (``block``: ``(CHECKPOINT, 2, L + 3)``, the
    checkpoint's frame first) over the pairs the path can still be on (at most one pair
    per frame below its pair at the block's end), then each frame's move taken from its
    predecessors' scores by :func:`_pair`'s comparisons (so ties go alike)."""
    t = n_frames - 1
    # the last blank unless the last token scores strictly more
    state = 2 * length
    if length > 0 and rows[last, 1, length] > rows[last, 0, length]:
        state -= 1
    _write(frames, b, t, state, cols, vocab, opts, out_align, out_scores)
    while t > 0:
        t0 = (t - 1) // CHECKPOINT * CHECKPOINT
        top = state >> 1
        c = t0 // CHECKPOINT
        first = max(0, top - (t - t0))
        for k in range(first, top + 1):
            block[0, 0, k] = checkpoints[c, 0, k]
            block[0, 1, k + 1] = checkpoints[c, 1, k + 1]
        for j in range(1, t - t0):
            lo = max(0, top - (t - t0 - j))
            e_blank = frames[t0 + j, opts.blank]
            for k in range(lo, top + 1):
                stay_blank = block[j - 1, 0, k]
                token_below = block[j - 1, 1, k]
                block[j, 0, k] = max(token_below, stay_blank) + e_blank
                best = max(stay_blank, block[j - 1, 1, k + 1])
                e = frames[t0 + j, cols[k]] if k < length else NEG_INF
                block[j, 1, k + 1] = max(best, token_below + jump[k]) + e
        while t > t0:
            # both parities' moves, then one chosen by arithmetic: a branch on the
            # comparisons is mispredicted about every other frame on flat rows
            k = state >> 1
            stay_blank = block[t - 1 - t0, 0, k]
            token_below = block[t - 1 - t0, 1, k]
            stay_token = block[t - 1 - t0, 1, k + 1]
            token_up = stay_blank > stay_token
            best = stay_blank if token_up else stay_token
            skip = token_below + jump[k] > best
            from_token = 2 * np.int64(skip) + np.int64(token_up and not skip)
            from_blank = np.int64(token_below > stay_blank)
            state -= from_blank + (state & 1) * (from_token - from_blank)
            t -= 1
            blank = np.int64(opts.blank)  # the column, also without a branch
            col = blank + (state & 1) * (np.int64(cols[state >> 1]) - blank)
            out_align[b, t] = label(col, vocab, opts)
            out_scores[b, t] = frames[t, col]


@njit(cache=True, nogil=True, inline="always")
def _write(frames, b, t, state, cols, vocab, opts, out_align, out_scores):  # type: ignore[no-untyped-def]
    """Frame ``t``'s label and score for ``state``."""
    col = cols[state >> 1] if state & 1 else opts.blank
    out_align[b, t] = label(col, vocab, opts)
    out_scores[b, t] = frames[t, col]


@njit(cache=True, nogil=True, inline="always")
def _final(rows, slot, regions, t, s):  # type: ignore[no-untyped-def]
    """State ``s``'s score at the last frame ``t`` (``-inf`` outside its region)."""
    k = s >> 1
    if s < 0 or k < regions[t, 0] or k >= regions[t, 0] + regions[t, 1]:
        return NEG_INF
    return rows[slot, 0, k] if s % 2 == 0 else rows[slot, 1, k + 1]


@njit(cache=True, nogil=True, inline="always")
def _backtrace(  # type: ignore[no-untyped-def]
    frames, vocab, b, n_frames, length, opts, rows, last, regions, moves, cols, out_align,
    out_scores,
):  # fmt: skip
    n_states = 2 * length + 1
    t = n_frames - 1
    # the last blank unless the last token scores strictly more
    state = n_states - 1
    if length > 0 and _final(rows, last, regions, t, n_states - 2) > _final(
        rows, last, regions, t, n_states - 1
    ):
        state = n_states - 2
    while True:
        k = state >> 1
        token = state & 1
        col = cols[k] if token else opts.blank
        out_align[b, t] = label(col, vocab, opts)
        out_scores[b, t] = frames[t, col]
        if t == 0:
            return
        move = moves[regions[t, 2] + k - regions[t, 0]]
        if token:
            state -= 2 if move & 4 else (move >> 1) & 1
        else:
            state -= move & 1
        t -= 1
