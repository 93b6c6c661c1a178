"""Flat-array tries for the word decoder (private): built in numpy, walked by the kernel.

A trie over integer sequences (characters' code points for the lexicon-free mode's
word list, token ids for a lexicon) is stored as

* ``child_start`` ``(N + 1,)``: node ``n``'s children are entries
  ``child_start[n]:child_start[n + 1]`` of
* ``child_label`` / ``child_node`` ``(N - 1,)``, sorted by label within a node,

with node 0 the root (the empty sequence). ``ends[k]`` is the node where sequence
``k`` ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int32]


class FlatTrie(NamedTuple):
    """A trie in flat arrays (see the module docstring); ``depth[n]`` is the length of the
    sequence node ``n`` stands for, ``parent[n]`` its parent (-1 for the root)."""

    child_start: IntArray
    child_label: IntArray
    child_node: IntArray
    depth: IntArray
    parent: IntArray
    ends: IntArray


def build_trie(sequences: Sequence[Sequence[int]]) -> FlatTrie:
    """The trie of ``sequences`` (non-negative labels; duplicates allowed, each gets its
    end node), in numpy.

    Nodes are numbered in lexicographic order of the sequences they stand for (a sorted
    depth-first walk), so a node's children come in increasing label order and after it.
    """
    count = len(sequences)
    lengths = np.fromiter((len(q) for q in sequences), np.int64, count)
    flat = np.fromiter((x for q in sequences for x in q), np.int64, int(lengths.sum()))
    return _build(flat, lengths)


def build_word_trie(words: Sequence[str]) -> FlatTrie:
    """The trie of ``words`` over their Unicode code points."""
    lengths = np.fromiter((len(w) for w in words), np.int64, len(words))
    flat = np.frombuffer("".join(words).encode("utf-32-le"), np.uint32).astype(np.int64)
    return _build(flat, lengths)


def _build(flat: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64]) -> FlatTrie:
    count = len(lengths)
    width = int(lengths.max(initial=0))
    grid = np.full((count, width), -1, np.int32)  # -1 pads: sorts before every label
    starts = np.cumsum(lengths) - lengths
    row_of = np.repeat(np.arange(count), lengths)
    grid[row_of, np.arange(len(flat)) - starts[row_of]] = flat
    order = np.lexsort(grid.T[::-1]) if width else np.arange(count)
    rows = grid[order]
    lens = lengths[order]
    # the prefix of row i up to depth d is new unless row i - 1 shares it
    same = np.zeros((count, width), bool)
    if count > 1:
        same[1:] = np.cumprod(rows[1:] == rows[:-1], axis=1).astype(bool)
    depth_index = np.arange(1, width + 1)
    new = ~same & (depth_index[None, :] <= lens[:, None])
    ids = np.zeros((count, width), np.int64)
    ids[new] = np.arange(1, int(new.sum()) + 1)
    ids = np.maximum.accumulate(ids, axis=0)  # a shared prefix is the row above's node
    n = int(new.sum()) + 1
    parent = np.full(n, -1, np.int32)
    label = np.full(n, -1, np.int32)
    depth = np.zeros(n, np.int32)
    r, d = np.nonzero(new)
    node = ids[r, d]
    parent[node] = np.where(d > 0, ids[r, np.maximum(d - 1, 0)], 0)
    label[node] = rows[r, d]
    depth[node] = d + 1
    ends = np.zeros(count, np.int32)
    has = lens > 0
    ends[order[has]] = ids[np.nonzero(has)[0], lens[has] - 1]
    # children grouped by parent; within a parent they were created in label order
    kids = np.argsort(parent[1:], kind="stable").astype(np.int32) + 1
    counts = np.bincount(parent[1:], minlength=n) if n > 1 else np.zeros(n, np.int64)
    child_start = np.zeros(n + 1, np.int32)
    np.cumsum(counts, out=child_start[1:])
    return FlatTrie(
        child_start=child_start,
        child_label=np.ascontiguousarray(label[kids]),
        child_node=np.ascontiguousarray(kids),
        depth=depth,
        parent=parent,
        ends=ends,
    )


def csr(groups: Sequence[Sequence[int]]) -> tuple[IntArray, IntArray]:
    """``(start, items)``: group ``g`` is ``items[start[g]:start[g + 1]]``."""
    start = np.zeros(len(groups) + 1, np.int32)
    np.cumsum([len(g) for g in groups], out=start[1:])
    items = np.fromiter((x for g in groups for x in g), np.int32, int(start[-1]))
    return start, items


def _levels(trie: FlatTrie) -> list[npt.NDArray[np.intp]]:
    """Node ids by depth, deepest first (the root's level left out)."""
    order = np.argsort(trie.depth, kind="stable")
    bounds = np.searchsorted(trie.depth[order], np.arange(1, int(trie.depth.max(initial=0)) + 2))
    return [order[bounds[d - 1] : bounds[d]] for d in range(len(bounds) - 1, 0, -1)]


def subtree_max(trie: FlatTrie, value: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``out[n]``: the largest ``value`` over the proper descendants of ``n`` (``-inf`` for a
    leaf), one depth level at a time from the deepest."""
    below = value.astype(np.float64, copy=True)  # the subtree's largest, the node included
    out = np.full(len(value), -np.inf)
    for nodes in _levels(trie):
        np.maximum.at(out, trie.parent[nodes], below[nodes])
        np.maximum.at(below, trie.parent[nodes], below[nodes])
    return out


def subtree_min(
    trie: FlatTrie, value: npt.NDArray[np.float64], proper: bool = False
) -> npt.NDArray[np.float64]:
    """``out[n]``: the smallest ``value`` over the subtree of ``n`` (``n`` included, unless
    ``proper``: then ``inf`` for a leaf)."""
    below = value.astype(np.float64, copy=True)
    out = np.full(len(value), np.inf) if proper else below
    for nodes in _levels(trie):
        if proper:
            np.minimum.at(out, trie.parent[nodes], below[nodes])
        np.minimum.at(below, trie.parent[nodes], below[nodes])
    return out
