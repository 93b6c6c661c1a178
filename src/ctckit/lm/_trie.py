"""A prefix trie over integer symbols in flat arrays, walked by Numba kernels (private).

Used for the lexicon's pronunciations (symbols are token ids; several words
may end at one node: homophones) and for a word LM's spellings (symbols are
Unicode code points; one word per node).

Layout (:class:`Trie`), with nodes numbered in depth-first order from the
root 0: node ``i``'s children are ``child_node[child_start[i]:child_start[i+1]]``
with the symbols ``child_symbol[...]``, sorted ascending (:func:`child` finds
one by binary search); the values (word ids) ending at node ``i`` are
``values[value_start[i]:value_start[i+1]]``, in the order they were given.
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

from ctckit.lm._layout import Trie

__all__ = ["Trie", "build_trie", "child", "values_at"]


@numba.njit(cache=True)
def child(trie: Trie, node: int, symbol: int) -> int:
    """The child of ``node`` along ``symbol``, or -1."""
    lo = trie.child_start[node]
    hi = trie.child_start[node + 1]
    while lo < hi:
        mid = (lo + hi) >> 1
        s = trie.child_symbol[mid]
        if s == symbol:
            return int(trie.child_node[mid])
        if s < symbol:
            lo = mid + 1
        else:
            hi = mid
    return -1


@numba.njit(cache=True, inline="always")
def values_at(trie: Trie, node: int) -> tuple[int, int]:
    """``[begin, end)`` of the values ending at ``node`` in ``trie.values``."""
    return trie.value_start[node], trie.value_start[node + 1]


@numba.njit(cache=True)
def walk(trie: Trie, node: int, symbols: npt.NDArray[np.int64]) -> int:
    for s in symbols:
        if node < 0:
            return node
        node = child(trie, node, s)
    return node


@numba.njit(cache=True)
def _build_sorted(
    symbols: npt.NDArray[np.int32], offsets: npt.NDArray[np.int64], order: npt.NDArray[np.int64]
) -> tuple[
    npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.int32]
]:
    """Nodes of the sequences taken in ``order`` (sorted): parent, symbol and depth of each
    node in creation (depth-first) order, and the node each sequence ends at."""
    total = offsets[-1]
    parent = np.empty(total + 1, dtype=np.int32)
    symbol = np.empty(total + 1, dtype=np.int32)
    depth = np.empty(total + 1, dtype=np.int32)
    parent[0], symbol[0], depth[0] = -1, -1, 0
    ends = np.empty(order.shape[0], dtype=np.int32)
    max_len = 0
    for i in range(order.shape[0]):
        max_len = max(max_len, offsets[order[i] + 1] - offsets[order[i]])
    path = np.zeros(max_len + 1, dtype=np.int32)  # node ids along the previous sequence
    n_nodes = 1
    prev_begin, prev_len = np.int64(0), np.int64(0)
    for i in range(order.shape[0]):
        s = order[i]
        begin, length = offsets[s], offsets[s + 1] - offsets[s]
        common = 0
        while (
            common < length
            and common < prev_len
            and symbols[begin + common] == symbols[prev_begin + common]
        ):
            common += 1
        for d in range(common, length):
            parent[n_nodes] = path[d]
            symbol[n_nodes] = symbols[begin + d]
            depth[n_nodes] = d + 1
            path[d + 1] = n_nodes
            n_nodes += 1
        ends[i] = path[length]
        prev_begin, prev_len = begin, length
    return parent[:n_nodes], symbol[:n_nodes], depth[:n_nodes], ends


def build_trie(
    symbols: npt.NDArray[np.int32],
    offsets: npt.NDArray[np.int64],
    values: npt.NDArray[np.int32],
    order: npt.NDArray[np.int64],
) -> Trie:
    """The trie of the sequences ``symbols[offsets[i]:offsets[i+1]]`` with ``values[i]`` at
    their ends; ``order`` lists the sequences sorted lexicographically (ties keep the
    values' order at a node)."""
    parent, symbol, depth, ends = _build_sorted(symbols, offsets, order)
    n_nodes = parent.shape[0]
    # depth-first creation gives each parent's children in ascending symbol order,
    # so a stable sort by parent makes the edge arrays
    by_parent = np.argsort(parent[1:], kind="stable")
    child_start = np.zeros(n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(parent[1:], minlength=n_nodes), out=child_start[1:])
    by_node = np.argsort(ends, kind="stable")
    value_start = np.zeros(n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(ends, minlength=n_nodes), out=value_start[1:])
    trie = Trie(
        child_start=child_start,
        child_symbol=np.ascontiguousarray(symbol[1:][by_parent]),
        child_node=(by_parent + 1).astype(np.int32),
        value_start=value_start,
        values=np.ascontiguousarray(values[order][by_node].astype(np.int32)),
        depth=depth,
    )
    for arr in trie:
        arr.flags.writeable = False
    return trie
