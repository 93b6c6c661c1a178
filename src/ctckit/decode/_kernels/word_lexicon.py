"""Words through a pronunciation lexicon: the lexicon half of :mod:`.word_scorer` (private).

The variants of extending a prefix at trie node ``tnode`` (0: a word boundary) by a
token, in this order: the silence (the silence token at a word boundary), going on
spelling at the child node (if it has children), each word ending at the child
(homophones apart), the unknown word (if none ends there and it is allowed). A prefix
outside the trie is no candidate. A node's event says which variant made it; a word is
scored by the LM as its event. Inside a word the rank holds the node's look-ahead and
hotword term.
"""

from __future__ import annotations

from numba import njit

from ctckit.decode._kernels.numeric import NEG_INF
from ctckit.decode._kernels.word_common import (
    EVENT_CONT,
    EVENT_SIL,
    EVENT_UNK,
    LN10,
    R_EVENT,
    R_LM,
    R_NODE,
    base,
    node_words,
    put_word,
    set_node,
    token_child,
)
from ctckit.decode._kernels.word_lm import copy_lm, lm_end, lm_word


@njit(cache=True, nogil=True, inline="always")
def _has_children(scorer, node):  # type: ignore[no-untyped-def]
    return node >= 0 and scorer.child_start[node + 1] > scorer.child_start[node]


@njit(cache=True, nogil=True, inline="always")
def variant_event(scorer, v, variants):  # type: ignore[no-untyped-def]
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
        return int(scorer.word_ids[w0 + v])
    return EVENT_UNK


@njit(cache=True, nogil=True, inline="always")
def context(scorer, trie, node):  # type: ignore[no-untyped-def]
    lm10, words, hot, sil = node_words(trie, node)
    b = base(scorer, lm10, words, hot, sil)
    ctx = (int(node), int(trie.model_int[R_NODE, node]), 0, int(words), int(hot), int(sil), lm10, b)
    return b + scorer.w_max, ctx


@njit(cache=True, nogil=True, inline="always")
def variants(scorer, ctx, token):  # type: ignore[no-untyped-def]
    tnode = ctx[1]
    silence = token == scorer.sil and tnode == 0
    child = int(token_child(scorer, tnode, token))
    count = 1 if silence else 0
    w0 = 0
    nw = 0
    if child >= 0:
        count += 1 if _has_children(scorer, child) else 0
        w0 = int(scorer.word_start[child])
        nw = int(scorer.word_start[child + 1]) - w0
        count += nw
        if nw == 0 and scorer.unk:
            count += 1
    return count, (child, w0, nw, silence)


@njit(cache=True, nogil=True, inline="always")
def word_ends(scorer, variants):  # type: ignore[no-untyped-def]
    """How many of the variants complete a word: the words ending at the child, or the
    unknown word (the last variants, see the module docstring)."""
    child, _, nw, _ = variants
    if child < 0:
        return 0
    if nw == 0:
        return 1 if scorer.unk else 0
    return nw


@njit(cache=True, nogil=True, inline="always")
def extra(scorer, trie, ctx, token, v, variants):  # type: ignore[no-untyped-def]
    node, _, _, words, hot, sil, lm10, b = ctx
    event = variant_event(scorer, v, variants)
    if event == EVENT_SIL:
        return base(scorer, lm10, words, hot, sil + 1), event
    if event == EVENT_CONT:
        return b + scorer.node_partial[variants[0]], event
    if event == EVENT_UNK:
        x = lm_word(scorer.lm, trie, R_LM, node, -1, scorer.unk_lm) + scorer.w.unk
    else:
        x = lm_word(scorer.lm, trie, R_LM, node, -1, scorer.word_lm[event])
        hot += scorer.word_hot[event]
    return base(scorer, lm10 + x, words + 1, hot, sil), event


@njit(cache=True, nogil=True, inline="always")
def init(scorer, trie, parent, token, event, node):  # type: ignore[no-untyped-def]
    lm10, words, hot, sil = node_words(trie, parent)
    tnode = 0
    if event == EVENT_SIL:
        copy_lm(trie, R_LM, parent, node)
        sil += 1
    elif event == EVENT_CONT:
        copy_lm(trie, R_LM, parent, node)
        tnode = token_child(scorer, trie.model_int[R_NODE, parent], token)
    elif event == EVENT_UNK:
        lm10 += lm_word(scorer.lm, trie, R_LM, parent, node, scorer.unk_lm) + scorer.w.unk
        words += 1
    else:
        lm10 += lm_word(scorer.lm, trie, R_LM, parent, node, scorer.word_lm[event])
        hot += scorer.word_hot[event]
        words += 1
    partial = scorer.node_partial[tnode] if tnode != 0 else 0.0
    set_node(scorer, trie, node, tnode, 0, event, lm10, words, hot, sil, partial)


@njit(cache=True, nogil=True, inline="always")
def final(scorer, trie, node):  # type: ignore[no-untyped-def]
    lm10, words, hot, sil = node_words(trie, node)
    if trie.model_int[R_NODE, node] != 0:  # inside a word: no hypothesis
        return NEG_INF, lm10 * LN10
    lm10 += lm_end(scorer.lm, trie, R_LM, node)
    return base(scorer, lm10, words, hot, sil), lm10 * LN10


@njit(cache=True, nogil=True, inline="always")
def words(scorer, trie, tokens, nodes, starts, ends, p0, length, out, nw):  # type: ignore[no-untyped-def]
    """The words of a hypothesis (see :func:`.word_scorer.w_words`): a word runs from its
    first token that is no silence to the token whose event ends it; its key is that
    event (a word id, or ``EVENT_UNK``)."""
    first = -1
    for k in range(length):
        event = trie.model_int[R_EVENT, nodes[p0 + k]]
        if event == EVENT_SIL:
            continue
        if first < 0:
            first = k
        if event != EVENT_CONT:
            nw = put_word(out, nw, starts, ends, p0, first, k, event)
            first = -1
    return nw
