"""Streams: search states fed chunk by chunk, read without ending the search (private).

The states of a stream (one per stream of a batch) live in three flat buffers, one row
per stream (:func:`.state.new_flat`), which cross into a kernel as three plain arrays;
each kernel cuts a stream's :class:`~.state.SearchState` views from its rows again
(:func:`.state.state_views`). A :class:`~.state.SearchState` passed from Python would
cost its ~30 arrays' unboxing on every call, more than searching a few frames.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ctckit.decode._kernels.backtrace import append_empty, append_n_best, n_best
from ctckit.decode._kernels.frames import first_invalid_in, thresholds
from ctckit.decode._kernels.layout import (
    C_FRAMES,
    C_NODES,
    C_RECS,
    H_FRAME_LIMIT,
    H_NODES,
    H_VOCAB,
    N_HEADER,
)
from ctckit.decode._kernels.search import _NO_REFCOUNTS, advance, reset
from ctckit.decode._kernels.state import new_flat, state_views

# what feed_stream(s) return first besides -1 (fed) and a stream's index (an invalid
# entry): nothing changed, and the second result says what the caller does about it
NEEDS_ROOM = -2  # grow every state to the second result's nodes (grown_flat), feed again
TOO_LONG = -3  # a stream would have the second result's frames, over its frame limit
WRONG_SHAPE = -4  # the chunk's V or batch size is not the states'


@njit(cache=True, nogil=True)
def new_streams(count, opts, scorer, vocab, nodes, model_rows, frame_limit):  # type: ignore[no-untyped-def]
    """The flat buffers of ``count`` fresh search states with room for ``nodes`` trie
    nodes each, that may search ``frame_limit`` frames each."""
    bufs = new_flat(count, opts.beam_width, vocab, nodes, model_rows[0], model_rows[1])
    bufs[2][:, H_FRAME_LIMIT] = frame_limit
    reset_streams(bufs[0], bufs[1], bufs[2], scorer)
    return bufs


@njit(cache=True, nogil=True, inline="always")
def reset_streams(i32, f64, i64, scorer):  # type: ignore[no-untyped-def]
    """Start every state again (no allocation)."""
    for b in range(i64.shape[0]):
        reset(state_views(i32[b], f64[b], i64[b]), scorer)


@njit(cache=True, nogil=True, inline="always")
def _feed(i32, f64, i64, opts, scorer, lp, lens, row):  # type: ignore[no-untyped-def]
    """:func:`feed_streams`' body (``lp`` ``(B, T, V)``; ``lens`` empty: ``T`` each)."""
    batch, time, vocab = lp.shape
    if batch != i64.shape[0] or vocab != i64[0, H_VOCAB]:
        return WRONG_SHAPE, 0
    all_frames = lens.shape[0] == 0
    high = thresholds(row, opts.token_min_logp)[1]
    for b in range(batch):
        bad = first_invalid_in(lp[b], time if all_frames else lens[b], high)
        if bad >= 0:
            return b, bad
    width = opts.beam_width
    size = i64[0, H_NODES]
    need = 0
    longest = 0
    for b in range(batch):
        frames = time if all_frames else lens[b]
        longest = max(longest, i64[b, N_HEADER + C_FRAMES] + frames)
        nodes = i64[b, N_HEADER + C_NODES] + frames * width + 1
        recs = i64[b, N_HEADER + C_RECS] + 2 * frames * width
        if frames > 0 and (nodes > size or recs > 2 * size):
            need = max(need, nodes, (recs + 1) // 2, 2 * size)
    if longest > i64[0, H_FRAME_LIMIT]:
        return TOO_LONG, longest
    if need > 0:
        return NEEDS_ROOM, need
    for b in range(batch):
        frames = time if all_frames else lens[b]
        if frames > 0:
            advance(i32[b], f64[b], i64[b], opts, scorer, lp[b], frames, row)
    return -1, -1


@njit(cache=True, nogil=True, **_NO_REFCOUNTS)
def feed_streams(i32, f64, i64, opts, scorer, lp, lens, row):  # type: ignore[no-untyped-def]
    """Search frames ``lp[b, :lens[b]]`` of each stream ``b`` (``lp``: ``(B, T, V)``;
    ``lens`` empty: all ``T`` frames of each).

    Returns ``(-1, -1)`` when the frames are searched; else, with every state unchanged,
    ``(WRONG_SHAPE, 0)`` (the states' ``B`` or ``V`` differ), ``(b, index)`` for the
    first invalid entry (``index = t * V + v`` in ``lp[b]``; every chunk is checked
    before any state changes), ``(TOO_LONG, frames)`` when a stream would exceed the
    frame limit of the header, or ``(NEEDS_ROOM, nodes)`` when a state's trie or
    records might not hold its frames (a frame adds at most ``W`` nodes and ``2 W``
    records): the caller grows the buffers to ``nodes`` (:func:`.state.grown_flat`; at
    least double, so a stream's size follows the nodes its search makes, not ``T * W``
    as a one-shot search's) and feeds again. ``row``: scratch of ``max(V, 2)`` entries
    of ``lp``'s dtype.

    It allocates nothing and runs without Numba's reference counting (as
    :func:`.search.advance`; every array is the caller's): with them, the views of the
    states and the arguments' counts would cost more than searching a few frames.
    """
    return _feed(i32, f64, i64, opts, scorer, lp, lens, row)


@njit(cache=True, nogil=True, **_NO_REFCOUNTS)
def feed_stream(i32, f64, i64, opts, scorer, lp, row):  # type: ignore[no-untyped-def]
    """:func:`feed_streams` of a single stream's ``(T, V)`` chunk, all its frames; returns
    only the first result (-1: fed; else nothing changed, and :func:`feed_streams` says
    why: one number costs less to return than a tuple)."""
    lp3 = lp.reshape((1, lp.shape[0], lp.shape[1]))
    return _feed(i32, f64, i64, opts, scorer, lp3, i64[0, :0], row)[0]  # no lengths: all


@njit(cache=True, nogil=True, **_NO_REFCOUNTS)
def feed_all_streams(i32, f64, i64, opts, scorer, lp, row):  # type: ignore[no-untyped-def]
    """:func:`feed_stream` of every frame of a ``(B, T, V)`` chunk."""
    return _feed(i32, f64, i64, opts, scorer, lp, i64[0, :0], row)[0]  # no lengths: all


@njit(cache=True, nogil=True)
def read_streams(i32, f64, i64, scorer, top_n, final, reset):  # type: ignore[no-untyped-def]
    """The ``top_n`` best hypotheses of each stream (``final``: with the scorer's end
    terms, as at the end of the input); then, with ``reset``, every state starts again (a
    finished stream's states, left to the next stream), else they are unchanged.

    Returns ``(ints, floats)``: the N best of the streams in order, packed (see
    :mod:`.backtrace`); a stream that has had no frame gives one empty hypothesis of score
    0, as an utterance of length 0.
    """
    ints = np.empty(64, np.int64)
    floats = np.empty(64, np.float64)
    ni = 0
    nf = 0
    for b in range(i64.shape[0]):
        state = state_views(i32[b], f64[b], i64[b])
        if state.counts[C_FRAMES] == 0:
            ints, floats, ni, nf = append_empty(ints, floats, ni, nf)
        else:
            found = n_best(state, scorer, top_n, final)
            ints, floats, ni, nf = append_n_best(ints, floats, ni, nf, found)
    if reset:
        reset_streams(i32, f64, i64, scorer)
    return ints[:ni], floats[:nf]
