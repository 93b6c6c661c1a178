"""The typed bundles that cross into the kernels, and the search state (private).

* :class:`SearchOptions`: what every search is told (blank, widths, pruning).
* :class:`SearchState`: everything a search carries from frame to frame, so that it can
  stop after any frame and go on later (a stream) with the same float operations:

  - :class:`Trie`, the prefixes, one node each, with the scorer's per-prefix model state
    in ``model_int`` / ``model_float`` rows;
  - :class:`Records`, the emission records of the best single alignments;
  - :class:`Beams`, the beam's acoustic state in three rows (slots) per field: the current
    beam, the stays of the frame and the next beam; a frame writes the stays and the next
    beam from the current one, and the roles rotate by swapping slot numbers;
  - :class:`Work`, scratch buffers of a frame;
  - ``counts``/``shift``: the scalars (see the ``C_*`` indices of :mod:`.layout`).

Buffers are views of a few allocations (an allocation costs far more than a view).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from numba import njit

from ctckit.decode._kernels.layout import C_NODES, C_RECS, N_COUNTS

IntArray = npt.NDArray[np.int32]
FloatArray = npt.NDArray[np.float64]


class SearchOptions(NamedTuple):
    """What every search is told.

    Attributes:
        blank: Id of the blank.
        beam_width: ``W``.
        top_n: Hypotheses returned.
        token_min_logp: Tokens below it in a frame are ignored in that frame, except the
            frame's most probable token; ``-inf`` for none.
        beam_prune_logp: Candidates below ``best + beam_prune_logp`` are dropped;
            ``-inf`` for none.
    """

    blank: int
    beam_width: int
    top_n: int
    token_min_logp: float
    beam_prune_logp: float


class Trie(NamedTuple):
    """The prefixes, one node each (the root, id 0, is the empty prefix).

    Only candidates that survive a frame's selection get a node; nodes are never freed
    during a search, and a prefix that leaves the beam and comes back gets its old node
    again, so a merge is found by comparing node ids. ``beam[nd]`` is the index of the
    beam holding ``nd`` in the current frame (stale entries are caught by checking that
    beam's node). ``extra[nd]`` is the node's rank term beside the acoustic score;
    ``model_int``/``model_float`` rows belong to the search's scorer.
    """

    parent: IntArray
    token: IntArray
    length: IntArray
    first_child: IntArray
    next_sibling: IntArray
    beam: IntArray
    extra: FloatArray
    model_int: IntArray
    model_float: FloatArray


class Records(NamedTuple):
    """Emission records: the best single alignment of each beam, as a chain of the frames
    where its tokens start. ``prev_end`` is where the previous token's run ended
    (exclusive) on that alignment; ``logp`` the token's largest log-prob over its run so far
    (a run that goes on past a record other chains share gets a copy)."""

    frame: IntArray
    prev: IntArray
    prev_end: IntArray
    logp: FloatArray


class Beams(NamedTuple):
    """The beam, by slot (row) and beam index (column).

    ``pb``/``pnb``: log-probability of the prefix's paths ending in a blank / in its last
    label, ``tot`` their log-sum-exp; ``vb``/``vnb``: the best single such path, with its
    last emission record ``rb``/``rnb``; ``eb``: where the last label's run ended on the
    ``vb`` path. ``rank`` holds the stays' ranks of the frame.
    """

    node: IntArray
    pb: FloatArray
    pnb: FloatArray
    tot: FloatArray
    vb: FloatArray
    vnb: FloatArray
    rb: IntArray
    rnb: IntArray
    eb: IntArray
    rank: FloatArray


class Work(NamedTuple):
    """Scratch of a frame: ``stamp[i * V + c] == mark`` when beam ``i``'s extension by ``c``
    is already a stay (merged); the selection's scores ``bs`` and ids ``bid`` (with ``tmp``
    for quickselect); the frame's candidate tokens ``toks`` and kept tokens ``kept``."""

    stamp: IntArray
    bs: FloatArray
    tmp: FloatArray
    bid: npt.NDArray[np.int64]
    toks: IntArray
    kept: IntArray


class SearchState(NamedTuple):
    """See the module docstring."""

    trie: Trie
    recs: Records
    beams: Beams
    work: Work
    counts: npt.NDArray[np.int64]
    shift: FloatArray


@njit(cache=True, nogil=True)
def new_state(width, vocab, nodes, model_int, model_float):  # type: ignore[no-untyped-def]
    """A search state for ``nodes`` trie nodes (``2 * nodes`` records); at most ``W`` nodes
    and ``2 W`` records are made per frame."""
    ti = np.empty((6 + model_int, nodes), np.int32)
    tf = np.empty((1 + model_float, nodes), np.float64)
    trie = Trie(ti[0], ti[1], ti[2], ti[3], ti[4], ti[5], tf[0], ti[6:], tf[1:])
    ri = np.empty((3, 2 * nodes), np.int32)
    recs = Records(ri[0], ri[1], ri[2], np.empty(2 * nodes, np.float64))
    bi = np.empty((4, 3, width), np.int32)
    bf = np.empty((5, 3, width), np.float64)
    beams = Beams(bi[0], bf[0], bf[1], bf[2], bf[3], bf[4], bi[1], bi[2], bi[3],
                  np.empty(width, np.float64))  # fmt: skip
    sel = np.empty((2, 4 * width), np.float64)
    toks = np.empty((2, vocab), np.int32)
    work = Work(np.zeros(width * vocab, np.int32), sel[0], sel[1],
                np.empty(4 * width, np.int64), toks[0], toks[1])  # fmt: skip
    return SearchState(trie, recs, beams, work, np.zeros(N_COUNTS, np.int64), np.zeros(1))


@njit(cache=True, nogil=True)
def grown_state(state, nodes):  # type: ignore[no-untyped-def]
    """A copy of ``state`` with room for ``nodes`` trie nodes (``2 * nodes`` records)."""
    width = state.beams.rank.shape[0]
    vocab = state.work.toks.shape[0]
    trie = state.trie
    out = new_state(width, vocab, nodes, trie.model_int.shape[0], trie.model_float.shape[0])
    used = state.counts[C_NODES]
    for a, b in zip(
        (trie.parent, trie.token, trie.length, trie.first_child, trie.next_sibling, trie.beam),
        (out.trie.parent, out.trie.token, out.trie.length, out.trie.first_child,
         out.trie.next_sibling, out.trie.beam),
    ):  # fmt: skip
        b[:used] = a[:used]
    out.trie.extra[:used] = trie.extra[:used]
    out.trie.model_int[:, :used] = trie.model_int[:, :used]
    out.trie.model_float[:, :used] = trie.model_float[:, :used]
    rec = state.counts[C_RECS]
    out.recs.frame[:rec] = state.recs.frame[:rec]
    out.recs.prev[:rec] = state.recs.prev[:rec]
    out.recs.prev_end[:rec] = state.recs.prev_end[:rec]
    out.recs.logp[:rec] = state.recs.logp[:rec]
    for a, b in zip(
        (state.beams.node, state.beams.rb, state.beams.rnb, state.beams.eb),
        (out.beams.node, out.beams.rb, out.beams.rnb, out.beams.eb),
    ):
        b[:, :] = a
    for a, b in zip(
        (state.beams.pb, state.beams.pnb, state.beams.tot, state.beams.vb, state.beams.vnb),
        (out.beams.pb, out.beams.pnb, out.beams.tot, out.beams.vb, out.beams.vnb),
    ):
        b[:, :] = a
    out.work.stamp[:] = state.work.stamp
    out.counts[:] = state.counts
    out.shift[:] = state.shift
    return out
