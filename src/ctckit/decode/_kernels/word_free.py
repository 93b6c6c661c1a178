"""The lexicon-free word scorer: words from the labels (private).

A token continues the word being spelled, is the delimiter, or starts a word (BPE).
The tokens fix the words, so there is one variant per extension (event 0).

Model rows per node: int ``wnode`` (the partial word's node in the word trie; -1 once it
left it), ``wlen`` (its length in characters), ``words`` and ``hot`` (completed words and
hotword words), then the LM state; float row 0 the log10 LM score of the completed words,
unknown-word offsets included. Rank term: ``a * lm10 + per_word * words + hot_w * hot +
partial``, the partial term being the trie node's (hotword prefix bonus, or the unknown
prefix's offset) or, off the trie, ``unk * max(1, wlen / 6)`` when words are checked.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from numba import njit
from numba.extending import overload

from ctckit.decode._kernels.word_hooks import (
    Weights,
    copy_lm,
    is_lexicon,
    is_type,
    lm_end,
    lm_start,
    lm_word,
    trie_child,
    w_context,
    w_event,
    w_extra,
    w_final,
    w_init,
    w_root,
    w_variants,
)

LN10 = math.log(10.0)
KIND_CONT, KIND_DELIM, KIND_START = 0, 1, 2
AVG_WORD_LEN = 6.0
FLAG_UNIGRAM, FLAG_HOT = 1, 2
R_WNODE, R_WLEN, R_WORDS, R_HOT, R_LM = 0, 1, 2, 3, 4


class FreeScorer(NamedTuple):
    """Words from the labels. ``kinds[c]``: token ``c`` continues a word, is the delimiter,
    or starts a word; its text is ``tok_chars[tok_start[c]:tok_start[c + 1]]`` (code
    points). The word trie (over code points: the LM's words, the unigrams, the hotword
    words) gives per node ``node_word`` (LM id, -1: none), ``node_flags`` (a unigram / a
    hotword ends here) and ``node_partial`` (the rank term of a partial word there).
    ``constrain``: unknown words pay the offset. ``p_max``/``w_max`` bound the partial term
    and what completing a word adds."""

    w: Weights
    lm: Any
    kinds: Any
    tok_start: Any
    tok_chars: Any
    child_start: Any
    child_label: Any
    child_node: Any
    node_word: Any
    node_flags: Any
    node_partial: Any
    constrain: bool
    p_max: float
    w_max: float


def free_rows(lm: Any) -> tuple[int, int]:
    """``(model_int, model_float)`` rows of :class:`FreeScorer` with ``lm``."""
    return R_LM + lm.rows, 1 + lm.float_rows


def free_scorer(w: Weights, lm: Any, *arrays: Any, constrain: bool) -> FreeScorer:
    """A :class:`FreeScorer` of the arrays in field order (``kinds`` ... ``node_partial``),
    with its bounds (``unk <= 0``: an unknown word or a dead partial one adds at most 0)."""
    node_partial = arrays[-1]
    p_max = max(0.0, float(node_partial.max(initial=0.0)))
    w_max = max(0.0, w.per_word + w.a * lm.bound + max(0.0, w.hot))
    return FreeScorer._make((w, lm, *arrays, bool(constrain), p_max, w_max))


@njit(cache=True, nogil=True, inline="always")
def _partial(scorer, wnode, wlen):  # type: ignore[no-untyped-def]
    if wnode >= 0:
        return scorer.node_partial[wnode]
    if scorer.constrain:
        return scorer.w.unk * max(1.0, wlen / AVG_WORD_LEN)
    return 0.0


@njit(cache=True, nogil=True, inline="always")
def _walk(scorer, wnode, wlen, token):  # type: ignore[no-untyped-def]
    """The partial word after appending ``token``'s text."""
    for k in range(scorer.tok_start[token], scorer.tok_start[token + 1]):
        wlen += 1
        if wnode >= 0:
            wnode = trie_child(scorer.child_start, scorer.child_label, scorer.child_node,
                               wnode, scorer.tok_chars[k])  # fmt: skip
    return wnode, wlen


@njit(cache=True, nogil=True, inline="always")
def _complete(scorer, trie, src, dst, wnode, lm10, words, hot):  # type: ignore[no-untyped-def]
    """Score the partial word at trie node ``wnode`` as completed, from node ``src``'s LM
    state (the next state to node ``dst``, -1: scratch). Returns ``(lm10, words, hot)``."""
    wid = -1
    known = False
    if wnode >= 0:
        wid = scorer.node_word[wnode]
        flags = scorer.node_flags[wnode]
        known = (flags & FLAG_UNIGRAM) != 0
        hot += (flags & FLAG_HOT) != 0
    x = lm_word(scorer.lm, trie, R_LM, src, dst, wid)
    if scorer.constrain and not known:
        x += scorer.w.unk
    return lm10 + x, words + 1, hot


@njit(cache=True, nogil=True, inline="always")
def _base(scorer, lm10, words, hot):  # type: ignore[no-untyped-def]
    w = scorer.w
    return w.a * lm10 + w.per_word * words + w.hot * hot


@overload(is_lexicon)
def _is_lexicon(scorer):  # type: ignore[no-untyped-def]
    if not is_type(scorer, FreeScorer):
        return None
    return lambda scorer: False


@overload(w_root)
def _root(scorer, trie):  # type: ignore[no-untyped-def]
    if not is_type(scorer, FreeScorer):
        return None

    def impl(scorer, trie):  # type: ignore[no-untyped-def]
        rows = trie.model_int
        rows[R_WNODE, 0] = 0
        rows[R_WLEN, 0] = 0
        rows[R_WORDS, 0] = 0
        rows[R_HOT, 0] = 0
        lm_start(scorer.lm, trie, R_LM, 0)
        trie.model_float[0, 0] = 0.0
        trie.extra[0] = 0.0

    return impl


@overload(w_context)
def _context(scorer, trie, node):  # type: ignore[no-untyped-def]
    if not is_type(scorer, FreeScorer):
        return None

    def impl(scorer, trie, node):  # type: ignore[no-untyped-def]
        rows = trie.model_int
        wnode = rows[R_WNODE, node]
        wlen = rows[R_WLEN, node]
        words = rows[R_WORDS, node]
        hot = rows[R_HOT, node]
        lm10 = trie.model_float[0, node]
        base = _base(scorer, lm10, words, hot)
        bound = base + scorer.p_max
        if wlen > 0:
            bound += scorer.w_max
        return bound, (node, wnode, wlen, words, hot, lm10, base)

    return impl


@overload(w_variants)
def _variants(scorer, context, token):  # type: ignore[no-untyped-def]
    if not is_type(scorer, FreeScorer):
        return None
    return lambda scorer, context, token: (1, 0)


@overload(w_extra)
def _extra(scorer, trie, context, token, v, variants):  # type: ignore[no-untyped-def]
    if not is_type(scorer, FreeScorer):
        return None

    def impl(scorer, trie, context, token, v, variants):  # type: ignore[no-untyped-def]
        node, wnode, wlen, words, hot, lm10, base = context
        kind = scorer.kinds[token]
        if kind == KIND_CONT:
            wnode, wlen = _walk(scorer, wnode, wlen, token)
            return base + _partial(scorer, wnode, wlen), 0
        if wlen > 0:
            lm10, words, hot = _complete(scorer, trie, node, -1, wnode, lm10, words, hot)
            base = _base(scorer, lm10, words, hot)
        if kind == KIND_DELIM:
            return base + 0.0, 0
        wnode, wlen = _walk(scorer, 0, 0, token)
        return base + _partial(scorer, wnode, wlen), 0

    return impl


@overload(w_event)
def _event(scorer, trie, node):  # type: ignore[no-untyped-def]
    if not is_type(scorer, FreeScorer):
        return None
    return lambda scorer, trie, node: 0


@overload(w_init)
def _init(scorer, trie, parent, token, event, node):  # type: ignore[no-untyped-def]
    if not is_type(scorer, FreeScorer):
        return None

    def impl(scorer, trie, parent, token, event, node):  # type: ignore[no-untyped-def]
        rows = trie.model_int
        wnode = rows[R_WNODE, parent]
        wlen = rows[R_WLEN, parent]
        words = rows[R_WORDS, parent]
        hot = rows[R_HOT, parent]
        lm10 = trie.model_float[0, parent]
        kind = scorer.kinds[token]
        if kind == KIND_CONT:
            copy_lm(trie, R_LM, parent, node)
            wnode, wlen = _walk(scorer, wnode, wlen, token)
        else:
            if wlen > 0:
                lm10, words, hot = _complete(scorer, trie, parent, node, wnode, lm10, words,
                                             hot)  # fmt: skip
            else:
                copy_lm(trie, R_LM, parent, node)
            if kind == KIND_DELIM:
                wnode, wlen = 0, 0
            else:
                wnode, wlen = _walk(scorer, 0, 0, token)
        rows[R_WNODE, node] = wnode
        rows[R_WLEN, node] = wlen
        rows[R_WORDS, node] = words
        rows[R_HOT, node] = hot
        trie.model_float[0, node] = lm10
        trie.extra[node] = _base(scorer, lm10, words, hot) + _partial(scorer, wnode, wlen)

    return impl


@overload(w_final)
def _final(scorer, trie, node):  # type: ignore[no-untyped-def]
    if not is_type(scorer, FreeScorer):
        return None

    def impl(scorer, trie, node):  # type: ignore[no-untyped-def]
        rows = trie.model_int
        lm10 = trie.model_float[0, node]
        words = rows[R_WORDS, node]
        hot = rows[R_HOT, node]
        if rows[R_WLEN, node] > 0:  # the last word (its LM state to scratch), then </s>
            lm10, words, hot = _complete(scorer, trie, node, -1, rows[R_WNODE, node], lm10,
                                         words, hot)  # fmt: skip
            lm10 += lm_end(scorer.lm, trie, R_LM, trie.model_int.shape[1] - 1)
        else:
            lm10 += lm_end(scorer.lm, trie, R_LM, node)
        return _base(scorer, lm10, words, hot), lm10 * LN10

    return impl
