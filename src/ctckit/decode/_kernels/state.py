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

Every array of a state is a view of three flat buffers (int32, float64, int64; laid out
by :func:`.layout.flat_sizes`, sized by a header at the start of the int64 one), so a
state is made with three allocations, and a stream keeps only the buffers between calls:
its kernel cuts the views again (:func:`state_views`, no allocation), which costs far
less than a :class:`SearchState`'s ~30 arrays crossing from Python.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from numba import njit

from ctckit.decode._kernels.layout import (
    C_NODES,
    C_RECS,
    H_FRAME_LIMIT,
    H_MODEL_FLOAT,
    H_MODEL_INT,
    H_NODES,
    H_VOCAB,
    H_WIDTH,
    N_COUNTS,
    N_HEADER,
    fixed_parts,
    node_parts,
)

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


_fixed_parts = njit(cache=True, nogil=True, inline="always")(fixed_parts)
_node_parts = njit(cache=True, nogil=True, inline="always")(node_parts)


@njit(cache=True, nogil=True)
def new_flat(count, width, vocab, nodes, model_int, model_float):  # type: ignore[no-untyped-def]
    """``(ints, floats, longs)``: the flat buffers of ``count`` search states with room for
    ``nodes`` trie nodes and ``2 * nodes`` records each (a frame makes at most ``W`` nodes
    and ``2 W`` records), one row each (see :func:`.layout.flat_sizes`; cut a state's
    views with :func:`state_views`), with their headers written (no frame limit) and
    ``stamp`` and the counts cleared; the rest is written by
    :func:`ctckit.decode._kernels.search.reset` and the search. Only what a search touches
    of a large buffer is paged in."""
    n32, n64 = _node_parts(nodes, model_int, model_float)
    t32, t64, nlong = _fixed_parts(width, vocab)
    i32 = np.empty((count, n32 + t32), np.int32)
    f64 = np.empty((count, n64 + t64), np.float64)
    i64 = np.zeros((count, nlong), np.int64)
    stamp = n32 + 4 * 3 * width
    for b in range(count):
        i64[b, H_NODES] = nodes
        i64[b, H_WIDTH] = width
        i64[b, H_VOCAB] = vocab
        i64[b, H_MODEL_INT] = model_int
        i64[b, H_MODEL_FLOAT] = model_float
        i64[b, H_FRAME_LIMIT] = 2**62
        i32[b, stamp : stamp + width * vocab] = 0
    return i32, f64, i64


@njit(cache=True, nogil=True, inline="always")
def state_views(i32, f64, i64):  # type: ignore[no-untyped-def]
    """The :class:`SearchState` whose arrays are views of one state's flat buffers (1-D
    rows of :func:`new_flat`'s, cut by the sizes in the header). Makes no allocation, so
    that a stream's state crosses into a kernel as three arrays."""
    n = i64[H_NODES]
    width = i64[H_WIDTH]
    vocab = i64[H_VOCAB]
    mi = i64[H_MODEL_INT]
    mf = i64[H_MODEL_FLOAT]
    # rows of one array are plain slices: a reshape is a call into Numba's helpers
    o = (6 + mi) * n
    model_int = i32[6 * n : o].reshape((mi, n))
    trie_rows = (i32[:n], i32[n : 2 * n], i32[2 * n : 3 * n], i32[3 * n : 4 * n],
                 i32[4 * n : 5 * n], i32[5 * n : 6 * n])  # fmt: skip
    rec_rows = (i32[o : o + 2 * n], i32[o + 2 * n : o + 4 * n], i32[o + 4 * n : o + 6 * n])
    o += 6 * n
    bi = i32[o : o + 12 * width].reshape((4, 3, width))
    o += 12 * width
    stamp = i32[o : o + width * vocab]
    o += width * vocab
    toks = (i32[o : o + vocab], i32[o + vocab : o + 2 * vocab])
    o = (1 + mf) * n
    extra = f64[:n]
    model_float = f64[n:o].reshape((mf, n))
    logp = f64[o : o + 2 * n]
    o += 2 * n
    bf = f64[o : o + 15 * width].reshape((5, 3, width))
    o += 15 * width
    rank = f64[o : o + width]
    o += width
    sel = (f64[o : o + 4 * width], f64[o + 4 * width : o + 8 * width])
    o += 8 * width
    shift = f64[o : o + 1]
    o = N_HEADER + N_COUNTS
    trie = Trie(*trie_rows, extra, model_int, model_float)
    recs = Records(*rec_rows, logp)
    beams = Beams(bi[0], bf[0], bf[1], bf[2], bf[3], bf[4], bi[1], bi[2], bi[3], rank)
    work = Work(stamp, sel[0], sel[1], i64[o : o + 4 * width], toks[0], toks[1])
    return SearchState(trie, recs, beams, work, i64[N_HEADER:o], shift)


@njit(cache=True, nogil=True)
def grown_flat(i32, f64, i64, nodes):  # type: ignore[no-untyped-def]
    """Copies of the states in the flat buffers (rows of :func:`new_flat`'s) with room for
    ``nodes`` trie nodes (``2 * nodes`` records) each."""
    head = i64[0]
    mi, mf = head[H_MODEL_INT], head[H_MODEL_FLOAT]
    out = new_flat(i64.shape[0], head[H_WIDTH], head[H_VOCAB], nodes, mi, mf)
    old32, old64 = _node_parts(head[H_NODES], mi, mf)
    new32, new64 = _node_parts(nodes, mi, mf)
    for b in range(i64.shape[0]):
        src = state_views(i32[b], f64[b], i64[b])
        dst = state_views(out[0][b], out[1][b], out[2][b])
        used = src.counts[C_NODES]
        rec = src.counts[C_RECS]
        trie, to = src.trie, dst.trie
        for a, c in zip(
            (trie.parent, trie.token, trie.length, trie.first_child, trie.next_sibling,
             trie.beam),
            (to.parent, to.token, to.length, to.first_child, to.next_sibling, to.beam),
        ):  # fmt: skip
            c[:used] = a[:used]
        to.extra[:used] = trie.extra[:used]
        to.model_int[:, :used] = trie.model_int[:, :used]
        to.model_float[:, :used] = trie.model_float[:, :used]
        for a, c in zip(
            (src.recs.frame, src.recs.prev, src.recs.prev_end),
            (dst.recs.frame, dst.recs.prev, dst.recs.prev_end),
        ):
            c[:rec] = a[:rec]
        dst.recs.logp[:rec] = src.recs.logp[:rec]
        # the fixed-size parts (beams, scratch, counts) follow the node-sized ones
        out[0][b, new32:] = i32[b, old32:]
        out[1][b, new64:] = f64[b, old64:]
        out[2][b, H_FRAME_LIMIT] = i64[b, H_FRAME_LIMIT]
        out[2][b, N_HEADER:] = i64[b, N_HEADER:]
    return out
