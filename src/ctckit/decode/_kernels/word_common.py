"""What the word scorers share (private): the model rows, events, token kinds, the rank
term's base and a trie step."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

LN10 = math.log(10.0)
# int model rows of a prefix node (float row 0: the log10 LM score; then the LM's)
R_NODE, R_WLEN, R_EVENT, R_WORDS, R_HOT, R_SIL, R_LM = 0, 1, 2, 3, 4, 5, 6
EVENT_CONT, EVENT_SIL, EVENT_UNK = -1, -2, -3  # lexicon events besides a word id
KIND_CONT, KIND_DELIM, KIND_START = 0, 1, 2  # a token continues, delimits or starts a word
FLAG_UNIGRAM, FLAG_HOT = 1, 2  # a unigram / a hotword word ends at a word-trie node
AVG_WORD_LEN = 6.0  # a partial unknown word longer than this pays proportionally more


@njit(cache=True, nogil=True, inline="always")
def base(scorer, lm10, words, hot, sil):  # type: ignore[no-untyped-def]
    """The rank term of the completed words."""
    w = scorer.w
    return w.a * lm10 + w.per_word * words + w.hot * hot + w.sil * sil


@njit(cache=True, nogil=True, inline="always")
def node_words(trie, node):  # type: ignore[no-untyped-def]
    """``(lm10, words, hot, sil)`` of prefix ``node``: its completed words' log10 LM score
    and its counts of words, hotword words and silences."""
    rows = trie.model_int
    return trie.model_float[0, node], rows[R_WORDS, node], rows[R_HOT, node], rows[R_SIL, node]


@njit(cache=True, nogil=True, inline="always")
def set_node(scorer, trie, node, place, wlen, event, lm10, words, hot, sil, partial):  # type: ignore[no-untyped-def]
    """Write a new prefix node's rows (``place``: its ``R_NODE``) and its rank term, the
    completed words' plus ``partial``."""
    rows = trie.model_int
    rows[R_NODE, node] = place
    rows[R_WLEN, node] = wlen
    rows[R_EVENT, node] = event
    rows[R_WORDS, node] = words
    rows[R_HOT, node] = hot
    rows[R_SIL, node] = sil
    trie.model_float[0, node] = lm10
    trie.extra[node] = base(scorer, lm10, words, hot, sil) + partial


@njit(cache=True, nogil=True, inline="always")
def trie_child(scorer, node, label):  # type: ignore[no-untyped-def]
    """The child of trie ``node`` by ``label`` (labels sorted within a node), or -1."""
    lo = scorer.child_start[node]
    hi = scorer.child_start[node + 1]
    while lo < hi:
        mid = (lo + hi) >> 1
        x = scorer.child_label[mid]
        if x < label:
            lo = mid + 1
        elif x > label:
            hi = mid
        else:
            return scorer.child_node[mid]
    return -1


@njit(cache=True, nogil=True, inline="always")
def put_word(out, nw, starts, ends, p0, first, last, key):  # type: ignore[no-untyped-def]
    """Write word ``nw`` of a hypothesis whose tokens start at ``p0``: its tokens
    ``first..last`` (counted from ``p0``) and ``key``, into ``out``'s columns (see
    :func:`.word_scorer.w_words`). Returns the word count."""
    out[0, nw] = starts[p0 + first]
    out[1, nw] = ends[p0 + last]
    out[2, nw] = key
    out[3, nw] = first
    out[4, nw] = last
    return nw + 1


_M1 = np.uint64(0x5555555555555555)
_M2 = np.uint64(0x3333333333333333)
_M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)


@njit(cache=True, nogil=True, inline="always")
def _popcount(x):  # type: ignore[no-untyped-def]
    """The set bits of the uint64 ``x`` (the SWAR count, which LLVM makes one ``popcnt``)."""
    x = x - ((x >> np.uint64(1)) & _M1)
    x = (x & _M2) + ((x >> np.uint64(2)) & _M2)
    x = (x + (x >> np.uint64(4))) & _M4
    return (x * _H01) >> np.uint64(56)


@njit(cache=True, nogil=True, inline="always")
def token_child(scorer, node, token):  # type: ignore[no-untyped-def]
    """:func:`trie_child` for a token id: with ``scorer.child_mask`` (labels below 64: bit
    ``c`` of a node's mask says it has a child by label ``c``) the child is found without a
    search, as the node's children sorted by label are counted by the bits below."""
    masks = scorer.child_mask
    if masks.shape[0] == 0:
        return trie_child(scorer, node, token)
    m = masks[node]
    bit = np.uint64(1) << np.uint64(token)
    if (m & bit) == np.uint64(0):
        return -1
    rank = np.int64(_popcount(m & (bit - np.uint64(1))))
    return scorer.child_node[scorer.child_start[node] + rank]
