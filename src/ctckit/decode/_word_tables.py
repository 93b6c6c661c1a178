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
    """The trie of ``sequences`` (duplicates allowed; each gets its end node).

    Nodes are numbered in lexicographic order of the sequences they stand for (a
    depth-first, sorted walk), so every node's children come in increasing label order.
    """
    order = sorted(range(len(sequences)), key=lambda k: tuple(sequences[k]))
    parent = [-1]
    label = [-1]
    depth = [0]
    ends = np.zeros(len(sequences), np.int32)
    path = [0]  # node ids along the previous sequence, root first
    prev: Sequence[int] = ()
    for k in order:
        seq = sequences[k]
        common = 0
        limit = min(len(prev), len(seq))
        while common < limit and prev[common] == seq[common]:
            common += 1
        del path[common + 1 :]
        for d in range(common, len(seq)):
            node = len(parent)
            parent.append(path[-1])
            label.append(int(seq[d]))
            depth.append(d + 1)
            path.append(node)
        ends[k] = path[len(seq)]
        prev = seq
    n = len(parent)
    par = np.asarray(parent, np.int32)
    lab = np.asarray(label, np.int32)
    # children grouped by parent; within a parent they were created in label order
    kids = np.argsort(par[1:], kind="stable").astype(np.int32) + 1
    counts = np.bincount(par[1:], minlength=n) if n > 1 else np.zeros(n, np.int64)
    child_start = np.zeros(n + 1, np.int32)
    np.cumsum(counts, out=child_start[1:])
    return FlatTrie(
        child_start=child_start,
        child_label=np.ascontiguousarray(lab[kids]),
        child_node=np.ascontiguousarray(kids),
        depth=np.asarray(depth, np.int32),
        parent=par,
        ends=ends,
    )


def csr(groups: Sequence[Sequence[int]]) -> tuple[IntArray, IntArray]:
    """``(start, items)``: group ``g`` is ``items[start[g]:start[g + 1]]``."""
    start = np.zeros(len(groups) + 1, np.int32)
    np.cumsum([len(g) for g in groups], out=start[1:])
    items = np.fromiter((x for g in groups for x in g), np.int32, int(start[-1]))
    return start, items


def subtree_max(trie: FlatTrie, value: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``out[n]``: the largest ``value`` over the proper descendants of ``n`` (``-inf`` for a
    leaf). Children are numbered after their parents, so one backward pass suffices."""
    below = value.copy()  # the largest value in the subtree, the node included
    out = np.full(len(value), -np.inf)
    for node in range(len(value) - 1, 0, -1):
        p = trie.parent[node]
        if below[node] > out[p]:
            out[p] = below[node]
        if below[node] > below[p]:
            below[p] = below[node]
    return out


def subtree_min(trie: FlatTrie, value: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``out[n]``: the smallest ``value`` over the subtree of ``n``, ``n`` included."""
    out: npt.NDArray[np.float64] = value.copy()
    for node in range(len(value) - 1, 0, -1):
        p = trie.parent[node]
        if out[node] < out[p]:
            out[p] = out[node]
    return out
