"""The flat-array layouts of the word LM store and of prefix tries (private, no Numba).

Kept apart from the Numba kernels that read them, so that importing
:mod:`ctckit.lm` does not import Numba.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = ["Trie", "WordTables"]


class WordTables(NamedTuple):
    """The word n-gram store as one bundle of flat arrays (read-only), for Numba.

    Attributes:
        order: ``n``.
        bos, eos, unk: Word ids of ``<s>``, ``</s>``, ``<unk>``.
        uni_prob: ``(V,)`` float32 log10 ``P(w)``, sign-flagged (see the module).
        uni_backoff: ``(V,)`` float32 log10 backoff of ``w`` (``-0.0``: no extension).
        keys: ``(B,)`` uint64, the buckets of orders 2..n (0 = empty).
        prob: ``(B,)`` float32 log10 probabilities, sign-flagged.
        backoff: ``(start[n],)`` float32 backoffs of orders 2..n-1.
        start: ``(n + 2,)`` int64; order ``k``'s buckets are ``[start[k], start[k+1])``.
        vocab_keys, vocab_ids: The word hash table (``(Bv,)`` uint64 and int32).
        vocab_bytes, vocab_offsets: UTF-8 bytes of the words; word ``w`` is
            ``vocab_bytes[vocab_offsets[w]:vocab_offsets[w + 1]]``.
    """

    order: int
    bos: int
    eos: int
    unk: int
    uni_prob: npt.NDArray[np.float32]
    uni_backoff: npt.NDArray[np.float32]
    keys: npt.NDArray[np.uint64]
    prob: npt.NDArray[np.float32]
    backoff: npt.NDArray[np.float32]
    start: npt.NDArray[np.int64]
    vocab_keys: npt.NDArray[np.uint64]
    vocab_ids: npt.NDArray[np.int32]
    vocab_bytes: npt.NDArray[np.uint8]
    vocab_offsets: npt.NDArray[np.int64]


class Trie(NamedTuple):
    """A prefix trie in flat arrays (see the module docstring).

    Attributes:
        child_start: ``(N + 1,)`` int64 offsets into the edge arrays.
        child_symbol: ``(N - 1,)`` int32 edge symbols, ascending per node.
        child_node: ``(N - 1,)`` int32 edge targets.
        value_start: ``(N + 1,)`` int64 offsets into ``values``.
        values: ``(W,)`` int32 values (word ids) at the nodes.
        depth: ``(N,)`` int32 length of each node's prefix.
    """

    child_start: npt.NDArray[np.int64]
    child_symbol: npt.NDArray[np.int32]
    child_node: npt.NDArray[np.int32]
    value_start: npt.NDArray[np.int64]
    values: npt.NDArray[np.int32]
    depth: npt.NDArray[np.int32]

    @property
    def num_nodes(self) -> int:
        """Number of nodes, the root included."""
        return int(self.child_start.shape[0] - 1)

    def walk(self, symbols: npt.ArrayLike, node: int = 0) -> int:
        """The node reached from ``node`` by ``symbols``, or -1 if it leaves the trie."""
        from ctckit.lm._trie import walk

        seq = np.asarray(symbols, dtype=np.int64).reshape(-1)
        return int(walk(self, node, seq))

    def values_of(self, node: int) -> tuple[int, ...]:
        """The values ending at ``node``."""
        a, b = int(self.value_start[node]), int(self.value_start[node + 1])
        return tuple(self.values[a:b].tolist())
