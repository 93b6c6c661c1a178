"""The lexicon word scorer: words through a pronunciation trie (private).

The variants of extending a prefix at trie node ``tnode`` by a token, in this order:
the silence (the silence token at a word boundary), going on spelling at the child node
(if it has children), each word ending at the child (homophones apart), the unknown word
(if none ends there and unknown words are allowed). A prefix outside the trie is no
candidate.

Model rows per node: int ``tnode`` (0: at a word boundary), ``event`` (what its last
token did: a word id, or ``EVENT_CONT``/``EVENT_SIL``/``EVENT_UNK``), ``words``, ``hot``
and ``sil`` counts, then the LM state; float row 0 the log10 LM score. Rank term: ``a *
lm10 + per_word * words + hot_w * hot + sil_w * sil``, plus inside a word the node's
look-ahead and hotword term.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from numba import njit
from numba.extending import overload

from ctckit.decode._kernels.numeric import NEG_INF
from ctckit.decode._kernels.word_hooks import (
    EVENT_CONT,
    EVENT_SIL,
    EVENT_UNK,
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
R_TNODE, R_EVENT, R_WORDS, R_HOT, R_SIL, R_LM = 0, 1, 2, 3, 4, 5


class LexiconScorer(NamedTuple):
    """Words through a lexicon: the token trie (``child_*``), the words ending at each node
    (``word_ids[word_start[n]:word_start[n + 1]]``), each word's LM id and hotword flag,
    ``node_partial`` (the rank term of a prefix that goes on spelling at a node), the
    silence token (-1: none), whether the unknown word may end a partial pronunciation and
    its LM id. ``w_max`` bounds what one token adds to a rank."""

    w: Weights
    lm: Any
    child_start: Any
    child_label: Any
    child_node: Any
    word_start: Any
    word_ids: Any
    word_lm: Any
    word_hot: Any
    node_partial: Any
    sil: int
    unk: bool
    unk_lm: int
    w_max: float


def lexicon_rows(lm: Any) -> tuple[int, int]:
    """``(model_int, model_float)`` rows of :class:`LexiconScorer` with ``lm``."""
    return R_LM + lm.rows, 1 + lm.float_rows


def lexicon_scorer(
    w: Weights, lm: Any, *arrays: Any, sil: int, unk: bool, unk_lm: int
) -> LexiconScorer:
    """A :class:`LexiconScorer` of the arrays in field order (``child_start`` ...
    ``node_partial``), with its bound."""
    node_partial = arrays[-1]
    word = w.per_word + w.a * lm.bound
    w_max = max(
        0.0,
        float(node_partial.max(initial=0.0)),
        word + max(0.0, w.hot),
        w.sil if sil >= 0 else 0.0,
    )
    return LexiconScorer._make((w, lm, *arrays, int(sil), bool(unk), int(unk_lm), w_max))


@njit(cache=True, nogil=True, inline="always")
def _base(scorer, lm10, words, hot, sil):  # type: ignore[no-untyped-def]
    w = scorer.w
    return w.a * lm10 + w.per_word * words + w.hot * hot + w.sil * sil


@njit(cache=True, nogil=True, inline="always")
def _has_children(scorer, node):  # type: ignore[no-untyped-def]
    return node >= 0 and scorer.child_start[node + 1] > scorer.child_start[node]


@njit(cache=True, nogil=True, inline="always")
def _event(scorer, v, variants):  # type: ignore[no-untyped-def]
    """The event of variant ``v`` (see the module docstring)."""
    child, w0, nw, silence = variants
    if silence:
        if v == 0:
            return EVENT_SIL
        v -= 1
    if _has_children(scorer, child):
        if v == 0:
            return EVENT_CONT
        v -= 1
    if v < nw:
        return scorer.word_ids[w0 + v]
    return EVENT_UNK


@overload(is_lexicon)
def _is_lexicon(scorer):  # type: ignore[no-untyped-def]
    if not is_type(scorer, LexiconScorer):
        return None
    return lambda scorer: True


@overload(w_root)
def _root(scorer, trie):  # type: ignore[no-untyped-def]
    if not is_type(scorer, LexiconScorer):
        return None

    def impl(scorer, trie):  # type: ignore[no-untyped-def]
        rows = trie.model_int
        for r in range(R_LM):
            rows[r, 0] = 0
        rows[R_EVENT, 0] = EVENT_CONT
        lm_start(scorer.lm, trie, R_LM, 0)
        trie.model_float[0, 0] = 0.0
        trie.extra[0] = 0.0

    return impl


@overload(w_context)
def _context(scorer, trie, node):  # type: ignore[no-untyped-def]
    if not is_type(scorer, LexiconScorer):
        return None

    def impl(scorer, trie, node):  # type: ignore[no-untyped-def]
        rows = trie.model_int
        base = _base(scorer, trie.model_float[0, node], rows[R_WORDS, node], rows[R_HOT, node],
                     rows[R_SIL, node])  # fmt: skip
        return base + scorer.w_max, (node, rows[R_TNODE, node], base)

    return impl


@overload(w_variants)
def _variants(scorer, context, token):  # type: ignore[no-untyped-def]
    if not is_type(scorer, LexiconScorer):
        return None

    def impl(scorer, context, token):  # type: ignore[no-untyped-def]
        tnode = context[1]
        silence = token == scorer.sil and tnode == 0
        child = trie_child(scorer.child_start, scorer.child_label, scorer.child_node, tnode,
                           token)  # fmt: skip
        count = 1 if silence else 0
        w0 = 0
        nw = 0
        if child >= 0:
            count += 1 if _has_children(scorer, child) else 0
            w0 = scorer.word_start[child]
            nw = scorer.word_start[child + 1] - w0
            count += nw
            if nw == 0 and scorer.unk:
                count += 1
        return count, (child, w0, nw, silence)

    return impl


@overload(w_extra)
def _extra(scorer, trie, context, token, v, variants):  # type: ignore[no-untyped-def]
    if not is_type(scorer, LexiconScorer):
        return None

    def impl(scorer, trie, context, token, v, variants):  # type: ignore[no-untyped-def]
        node = context[0]
        event = _event(scorer, v, variants)
        rows = trie.model_int
        lm10 = trie.model_float[0, node]
        words = rows[R_WORDS, node]
        hot = rows[R_HOT, node]
        sil = rows[R_SIL, node]
        if event == EVENT_SIL:
            return _base(scorer, lm10, words, hot, sil + 1), event
        if event == EVENT_CONT:
            return context[2] + scorer.node_partial[variants[0]], event
        if event == EVENT_UNK:
            x = lm_word(scorer.lm, trie, R_LM, node, -1, scorer.unk_lm) + scorer.w.unk
        else:
            x = lm_word(scorer.lm, trie, R_LM, node, -1, scorer.word_lm[event])
            hot += scorer.word_hot[event]
        return _base(scorer, lm10 + x, words + 1, hot, sil), event

    return impl


@overload(w_event)
def _node_event(scorer, trie, node):  # type: ignore[no-untyped-def]
    if not is_type(scorer, LexiconScorer):
        return None
    return lambda scorer, trie, node: trie.model_int[R_EVENT, node]


@overload(w_init)
def _init(scorer, trie, parent, token, event, node):  # type: ignore[no-untyped-def]
    if not is_type(scorer, LexiconScorer):
        return None

    def impl(scorer, trie, parent, token, event, node):  # type: ignore[no-untyped-def]
        rows = trie.model_int
        lm10 = trie.model_float[0, parent]
        words = rows[R_WORDS, parent]
        hot = rows[R_HOT, parent]
        sil = rows[R_SIL, parent]
        tnode = 0
        if event == EVENT_SIL:
            copy_lm(trie, R_LM, parent, node)
            sil += 1
        elif event == EVENT_CONT:
            copy_lm(trie, R_LM, parent, node)
            tnode = trie_child(scorer.child_start, scorer.child_label, scorer.child_node,
                               rows[R_TNODE, parent], token)  # fmt: skip
        elif event == EVENT_UNK:
            lm10 += lm_word(scorer.lm, trie, R_LM, parent, node, scorer.unk_lm) + scorer.w.unk
            words += 1
        else:
            lm10 += lm_word(scorer.lm, trie, R_LM, parent, node, scorer.word_lm[event])
            hot += scorer.word_hot[event]
            words += 1
        rows[R_TNODE, node] = tnode
        rows[R_EVENT, node] = event
        rows[R_WORDS, node] = words
        rows[R_HOT, node] = hot
        rows[R_SIL, node] = sil
        trie.model_float[0, node] = lm10
        extra = _base(scorer, lm10, words, hot, sil)
        if tnode != 0:
            extra += scorer.node_partial[tnode]
        trie.extra[node] = extra

    return impl


@overload(w_final)
def _final(scorer, trie, node):  # type: ignore[no-untyped-def]
    if not is_type(scorer, LexiconScorer):
        return None

    def impl(scorer, trie, node):  # type: ignore[no-untyped-def]
        rows = trie.model_int
        lm10 = trie.model_float[0, node]
        if rows[R_TNODE, node] != 0:  # inside a word: no hypothesis
            return NEG_INF, lm10 * LN10
        lm10 += lm_end(scorer.lm, trie, R_LM, node)
        base = _base(scorer, lm10, rows[R_WORDS, node], rows[R_HOT, node], rows[R_SIL, node])
        return base, lm10 * LN10

    return impl
