"""The CTC prefix beam search: the frame loop over the stages, batches and streams (private).

:func:`advance` searches frames from wherever a :class:`~.state.SearchState` stopped, so
one-shot decoding (:func:`decode_many`) and streams (:func:`.streams.feed_streams`) run
the same code and the same float operations for any chunking.

Blank runs (with token pruning): a frame whose only kept token is the blank ends every
beam in a blank; while that holds, each further such frame adds its blank log-prob to
every beam alike, which changes no ranking. The run is summed in ``shift`` in a tight
inner loop and added once at its end (or when hypotheses are read).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from ctckit._atomic import fetch_add
from ctckit.decode._kernels.backtrace import append_empty, append_n_best, n_best
from ctckit.decode._kernels.candidates import candidate_tokens, entry_threshold
from ctckit.decode._kernels.commit import commit_survivors
from ctckit.decode._kernels.frames import (
    classify_pruned,
    first_invalid,
    load_pruned_row,
    load_row,
    thresholds,
)
from ctckit.decode._kernels.fusion import init_root
from ctckit.decode._kernels.layout import (
    C_BEAMS,
    C_CUR,
    C_FRAMES,
    C_MARK,
    C_NEXT,
    C_NODES,
    C_RECS,
    C_SETTLED,
    C_STAY,
    MAX_MARK,
)
from ctckit.decode._kernels.numeric import NEG_INF
from ctckit.decode._kernels.select import keep_stays, select
from ctckit.decode._kernels.state import new_flat, state_views
from ctckit.decode._kernels.stays import (
    add_shift,
    no_stay_possible,
    rank_stays,
    start_blank_run,
)


@njit(cache=True, nogil=True, inline="always")
def reset(state, scorer):  # type: ignore[no-untyped-def]
    """Start a search: the beam is the empty prefix (the root node) with probability 1."""
    trie, beams, counts = state.trie, state.beams, state.counts
    trie.parent[0] = -1
    trie.token[0] = -1
    trie.length[0] = 0
    trie.first_child[0] = -1
    trie.next_sibling[0] = -1
    init_root(scorer, trie)
    beams.node[0, 0] = 0
    beams.pb[0, 0] = 0.0
    beams.pnb[0, 0] = NEG_INF
    beams.tot[0, 0] = 0.0
    beams.vb[0, 0] = 0.0
    beams.vnb[0, 0] = NEG_INF
    beams.rb[0, 0] = -1
    beams.rnb[0, 0] = -1
    beams.eb[0, 0] = -1
    counts[C_BEAMS] = 1
    counts[C_NODES] = 1
    counts[C_RECS] = 0
    counts[C_CUR] = 0
    counts[C_STAY] = 1
    counts[C_NEXT] = 2
    counts[C_SETTLED] = 0
    counts[C_FRAMES] = 0
    state.shift[0] = 0.0


# Without Numba's reference counting: every array here is the caller's, and the counts it
# would add for each array a stage binds cost as much as the search (see the package doc).
_NO_REFCOUNTS: dict[str, Any] = {"_nrt": False}


@njit(cache=True, nogil=True, **_NO_REFCOUNTS)
def advance(i32, f64, i64, opts, scorer, lp, frames, row):  # type: ignore[no-untyped-def]
    """Search frames ``lp[:frames]`` (``(T, V)`` log-probabilities), going on from the
    state in the flat buffers ``i32``, ``f64``, ``i64`` (one state's rows, see
    :func:`.state.new_flat`; the views are cut here, where the compiler sees which are
    used, rather than passed in: a :class:`~.state.SearchState` argument is some 200
    machine words).

    ``row`` is a scratch array of ``V`` entries of ``lp``'s dtype. Returns the flat index
    ``t * V + v`` in ``lp`` of the first entry that is not a log-probability (the search
    stops there; see :mod:`.frames`), or -1. Once every labelling has probability 0 the
    frames are only checked.
    """
    state = state_views(i32, f64, i64)
    trie, recs, beams, work, counts = state.trie, state.recs, state.beams, state.work, state.counts
    vocab = lp.shape[1]
    width = opts.beam_width
    blank = opts.blank
    prune = opts.beam_prune_logp
    n = counts[C_BEAMS]
    n_nodes = counts[C_NODES]
    n_rec = counts[C_RECS]
    cur, stay, nxt = counts[C_CUR], counts[C_STAY], counts[C_NEXT]
    settled = counts[C_SETTLED] != 0
    mark = counts[C_MARK]
    t0 = counts[C_FRAMES]
    shift = state.shift[0]
    tmin, high = thresholds(row, opts.token_min_logp)
    prune_tokens = opts.token_min_logp != NEG_INF
    bad = -1
    t = -1
    while n > 0:
        t += 1
        if t >= frames:
            break
        if prune_tokens:
            only_blank, top, bad = classify_pruned(lp, t, blank, tmin, high)
            if bad >= 0:
                break
            if settled:
                # a tight inner loop: an iteration of the outer one costs far more
                while only_blank:
                    shift += lp[t, blank]
                    t += 1
                    if t == frames:
                        break
                    only_blank, top, bad = classify_pruned(lp, t, blank, tmin, high)
                if t == frames or bad >= 0:
                    break
                add_shift(beams, cur, n, shift)
                shift = 0.0
                settled = False
            elif only_blank:
                start_blank_run(beams, cur, n, t0 + t)
                shift = lp[t, blank]
                settled = True
                continue
            nk = load_pruned_row(lp, t, blank, tmin, top, row, work.kept)
        else:
            nk, bad = load_row(lp, t, blank, high, row, work.kept)
            if bad >= 0:
                break
        lb = row[blank]
        if mark == MAX_MARK:
            work.stamp[:] = 0
            mark = 0
        mark += 1

        if no_stay_possible(beams, cur, n, trie, row, lb):
            for j in range(n):
                beams.rank[j] = NEG_INF
            best = NEG_INF
            worst = NEG_INF  # as ranking would find
            gmax = np.inf  # every kept token is a candidate, as ranking would give
        else:
            best, worst, gmax, n_rec = rank_stays(
                beams, cur, stay, n, trie, recs, n_rec, scorer, row, lb, t0 + t,
                work.stamp, mark, vocab,
            )  # fmt: skip
        thr = entry_threshold(best, worst, n, width, prune)
        nt = candidate_tokens(row, work.kept, nk, thr, gmax, work.toks)
        if nt == 0:
            n = keep_stays(beams, cur, stay, n, best, prune)
            cur, stay = stay, cur
        else:
            nb, best = select(
                beams, cur, n, trie, scorer, row, work.toks, nt, work.stamp, mark, vocab,
                width, best, thr, prune, work.bs, work.bid, work.tmp,
            )  # fmt: skip
            n, n_nodes, n_rec = commit_survivors(
                beams, cur, stay, nxt, trie, recs, scorer, row, work.bs, work.bid, nb,
                best + prune, t0 + t, n_nodes, n_rec,
            )  # fmt: skip
            cur, nxt = nxt, cur

    if bad >= 0:
        bad += t * vocab
    elif n == 0:  # every beam died at frame t; the frames after it are still checked
        bad = first_invalid(lp, max(t + 1, 0), frames, high)
    counts[C_BEAMS] = n
    counts[C_NODES] = n_nodes
    counts[C_RECS] = n_rec
    counts[C_CUR] = cur
    counts[C_STAY] = stay
    counts[C_NEXT] = nxt
    counts[C_SETTLED] = 1 if settled else 0
    counts[C_MARK] = mark
    counts[C_FRAMES] = t0 + frames
    state.shift[0] = shift
    return bad


@njit(cache=True, nogil=True)
def decode_many(arr, lens, order, taken, opts, scorer, model_rows):  # type: ignore[no-untyped-def]
    """Decode utterances ``order[i]`` of ``arr`` (``(B, T, V)``), frames ``arr[b, :lens[b]]``,
    one after another, ``i = fetch_add(taken, 1)`` each: the threads running this call on
    the same ``taken`` (one call from Python per thread) each take the next utterance
    when done with one, so that they end together.

    ``lens``: ``(B,)``, or empty for ``T`` frames each. ``model_rows``: the scorer's
    ``(model_int, model_float)`` row counts.

    Returns:
        ``(utts, ints, floats, bad, where)``: the utterances this thread decoded, in
        turn, and their N best, packed (see :mod:`.backtrace`; ``k`` is 0 when every
        labelling has probability 0); ``bad``: the flat index ``t * V + v`` of the first
        invalid entry in a valid frame of utterance ``where``, or -1 (and ``where`` -1)
        if none (this thread stops there).
    """
    time = arr.shape[1]
    all_frames = lens.shape[0] == 0
    longest = 0
    cap = 0  # room for all of them (pages this thread does not fill are never touched)
    for i in range(order.shape[0]):
        length = time if all_frames else lens[order[i]]
        longest = max(longest, length)
        cap += 1 + opts.top_n * (1 + 3 * length)
    utts = np.empty(order.shape[0], np.int64)
    ints = np.empty(cap, np.int64)
    floats = np.empty(cap, np.float64)
    nu = 0
    ni = 0
    nf = 0
    # the search's buffers, once for all utterances (allocating them per utterance costs
    # page faults, which serialise threads); only the part a search writes is touched
    i32, f64, i64 = new_flat(1, opts.beam_width, arr.shape[2], longest * opts.beam_width + 1,
                             model_rows[0], model_rows[1])  # fmt: skip
    i32, f64, i64 = i32[0], f64[0], i64[0]
    state = state_views(i32, f64, i64)
    row = np.empty(max(arr.shape[2], 2), arr.dtype)  # the frame, copied (see advance)
    while True:
        i = fetch_add(taken, 1)
        if i >= order.shape[0]:
            break
        b = order[i]
        utts[nu] = b
        nu += 1
        length = time if all_frames else lens[b]
        if length == 0:  # the empty labelling, score 0, whatever the LM
            ints, floats, ni, nf = append_empty(ints, floats, ni, nf)
            continue
        reset(state, scorer)
        bad = advance(i32, f64, i64, opts, scorer, arr[b], length, row)
        if bad >= 0:
            return utts[: nu - 1], ints[:ni], floats[:nf], bad, b
        found = n_best(state, scorer, opts.top_n, True)
        ints, floats, ni, nf = append_n_best(ints, floats, ni, nf, found)
    return utts[:nu], ints[:ni], floats[:nf], -1, -1
