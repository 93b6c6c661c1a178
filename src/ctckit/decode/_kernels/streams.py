"""Streams: search states fed chunk by chunk, read without ending the search (private).

The states of a stream (one per stream of a batch) live in a Numba typed list, which
crosses into a kernel as one pointer: a :class:`~.state.SearchState` passed from Python
costs its ~30 arrays' unboxing on every call, more than searching a few frames.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.typed import List

from ctckit.decode._kernels.backtrace import append_empty, append_n_best, n_best
from ctckit.decode._kernels.frames import first_invalid, thresholds
from ctckit.decode._kernels.layout import C_FRAMES, C_NODES, C_RECS
from ctckit.decode._kernels.search import advance, reset
from ctckit.decode._kernels.state import grown_state, new_state


@njit(cache=True, nogil=True)
def new_streams(count, opts, scorer, vocab, nodes, model_rows):  # type: ignore[no-untyped-def]
    """``count`` fresh search states with room for ``nodes`` trie nodes each."""
    states = List()
    for _ in range(count):
        state = new_state(opts.beam_width, vocab, nodes, model_rows[0], model_rows[1])
        reset(state, scorer)
        states.append(state)
    return states


@njit(cache=True, nogil=True)
def reset_streams(states, scorer):  # type: ignore[no-untyped-def]
    """Start every state again (a finished stream's states, reused: no allocation)."""
    for state in states:
        reset(state, scorer)


@njit(cache=True, nogil=True)
def feed_streams(states, opts, scorer, lp, lens, row):  # type: ignore[no-untyped-def]
    """Search frames ``lp[b, :lens[b]]`` of each stream ``b`` (``lp``: ``(B, T, V)``).

    Every chunk is checked before any state changes: returns ``(b, index)`` of the first
    invalid entry (``index = t * V + v`` in ``lp[b]``) with every state unchanged, or
    ``(-1, -1)``. A state whose trie or records might not hold the chunk (a frame adds at
    most ``W`` nodes and ``2 W`` records) first doubles (or more): its size follows the
    nodes the search makes, not ``T * W`` as a one-shot search's. ``row``: scratch of
    ``max(V, 2)`` entries of ``lp``'s dtype.
    """
    high = thresholds(row, opts.token_min_logp)[1]
    for b in range(lp.shape[0]):
        bad = first_invalid(lp[b], 0, lens[b], high)
        if bad >= 0:
            return b, bad
    width = opts.beam_width
    for b in range(lp.shape[0]):
        frames = lens[b]
        if frames == 0:
            continue
        state = states[b]
        nodes = state.counts[C_NODES] + frames * width + 1
        recs = state.counts[C_RECS] + 2 * frames * width
        size = state.trie.parent.shape[0]
        if nodes > size or recs > state.recs.frame.shape[0]:
            state = grown_state(state, max(nodes, (recs + 1) // 2, 2 * size))
            states[b] = state
        advance(state, opts, scorer, lp[b], frames, row)
    return -1, -1


@njit(cache=True, nogil=True)
def read_streams(states, scorer, top_n, final):  # type: ignore[no-untyped-def]
    """The ``top_n`` best hypotheses of each stream, the states unchanged (``final``: with
    the scorer's end terms, as at the end of the input).

    Returns ``(ints, floats)``: the N best of the streams in order, packed (see
    :mod:`.backtrace`); a stream that has had no frame gives one empty hypothesis of score
    0, as an utterance of length 0.
    """
    ints = np.empty(64, np.int64)
    floats = np.empty(64, np.float64)
    ni = 0
    nf = 0
    for state in states:
        if state.counts[C_FRAMES] == 0:
            ints, floats, ni, nf = append_empty(ints, floats, ni, nf)
        else:
            found = n_best(state, scorer, top_n, final)
            ints, floats, ni, nf = append_n_best(ints, floats, ni, nf, found)
    return ints[:ni], floats[:nf]
