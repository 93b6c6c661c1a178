"""What the word scorers share (private): the model rows, events, token kinds, the rank
term's base and a trie step."""

from __future__ import annotations

import math

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
