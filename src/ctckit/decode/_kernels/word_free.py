"""Words from the labels: the lexicon-free half of :mod:`.word_scorer` (private).

A token continues the word being spelled, is the delimiter, or starts a word (BPE). The
tokens fix the words, so an extension has one variant and every event is 0. A word is
scored by the LM when it completes (at the delimiter, at the next word start, or at the
end); while it is spelled the rank holds the partial term of its word-trie node
(hotword prefix bonus, or the offset of a prefix no unigram has) or, once the spelling
left the trie, ``unk * max(1, wlen / 6)`` when words are checked.
"""

from __future__ import annotations

from numba import njit

from ctckit.decode._kernels.word_common import (
    AVG_WORD_LEN,
    FLAG_HOT,
    FLAG_UNIGRAM,
    KIND_CONT,
    KIND_DELIM,
    LN10,
    R_LM,
    R_NODE,
    R_WLEN,
    base,
    node_words,
    put_word,
    set_node,
    trie_child,
)
from ctckit.decode._kernels.word_lm import copy_lm, lm_end, lm_start, lm_word


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
            wnode = trie_child(scorer, wnode, scorer.tok_chars[k])
    return wnode, wlen


@njit(cache=True, nogil=True, inline="always")
def _complete(scorer, trie, src, dst, wnode, lm10, words, hot):  # type: ignore[no-untyped-def]
    """Score the partial word at ``wnode`` as completed, from node ``src``'s LM state (the
    next state to node ``dst``, -1: scratch). Returns ``(lm10, words, hot)``."""
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
def root(scorer, trie):  # type: ignore[no-untyped-def]
    rows = trie.model_int
    for r in range(R_LM):
        rows[r, 0] = 0
    lm_start(scorer.lm, trie, R_LM, 0)
    trie.model_float[0, 0] = 0.0
    trie.extra[0] = 0.0


@njit(cache=True, nogil=True, inline="always")
def context(scorer, trie, node):  # type: ignore[no-untyped-def]
    rows = trie.model_int
    wlen = rows[R_WLEN, node]
    lm10, words, hot, _ = node_words(trie, node)
    b = base(scorer, lm10, words, hot, 0)
    bound = b + scorer.p_max
    if wlen > 0:
        bound += scorer.w_max
    return bound, (int(node), int(rows[R_NODE, node]), int(wlen), int(words), int(hot), 0, lm10, b)


@njit(cache=True, nogil=True, inline="always")
def extra(scorer, trie, ctx, token):  # type: ignore[no-untyped-def]
    """The rank term of the context's node extended by ``token``."""
    node, wnode, wlen, words, hot, _, lm10, b = ctx
    kind = scorer.kinds[token]
    if kind == KIND_CONT:
        wnode, wlen = _walk(scorer, wnode, wlen, token)
        return b + _partial(scorer, wnode, wlen)
    if wlen > 0:
        lm10, words, hot = _complete(scorer, trie, node, -1, wnode, lm10, words, hot)
        b = base(scorer, lm10, words, hot, 0)
    if kind == KIND_DELIM:
        return b + 0.0
    wnode, wlen = _walk(scorer, 0, 0, token)
    return b + _partial(scorer, wnode, wlen)


@njit(cache=True, nogil=True, inline="always")
def init(scorer, trie, parent, token, node):  # type: ignore[no-untyped-def]
    rows = trie.model_int
    wnode = rows[R_NODE, parent]
    wlen = rows[R_WLEN, parent]
    lm10, words, hot, _ = node_words(trie, parent)
    kind = scorer.kinds[token]
    if kind == KIND_CONT:
        copy_lm(trie, R_LM, parent, node)
        wnode, wlen = _walk(scorer, wnode, wlen, token)
    else:
        if wlen > 0:
            lm10, words, hot = _complete(scorer, trie, parent, node, wnode, lm10, words, hot)
        else:
            copy_lm(trie, R_LM, parent, node)
        if kind == KIND_DELIM:
            wnode, wlen = 0, 0
        else:
            wnode, wlen = _walk(scorer, 0, 0, token)
    set_node(scorer, trie, node, wnode, wlen, 0, lm10, words, hot, 0, _partial(scorer, wnode, wlen))


@njit(cache=True, nogil=True, inline="always")
def final(scorer, trie, node):  # type: ignore[no-untyped-def]
    rows = trie.model_int
    lm10, words, hot, _ = node_words(trie, node)
    if rows[R_WLEN, node] > 0:  # the last word (its LM state to scratch), then </s>
        lm10, words, hot = _complete(scorer, trie, node, -1, rows[R_NODE, node], lm10, words,
                                     hot)  # fmt: skip
        lm10 += lm_end(scorer.lm, trie, R_LM, trie.model_int.shape[1] - 1)
    else:
        lm10 += lm_end(scorer.lm, trie, R_LM, node)
    return base(scorer, lm10, words, hot, 0), lm10 * LN10


@njit(cache=True, nogil=True, inline="always")
def words(scorer, trie, tokens, nodes, starts, ends, p0, length, out, nw):  # type: ignore[no-untyped-def]
    """The words of a hypothesis (see :func:`.word_scorer.w_words`): a word runs from its
    first token after a boundary (a delimiter or a word start) to the token before the
    next one, if it spells a character; its key is its word-trie node (-1: outside)."""
    first = -1
    chars = 0
    for k in range(length):
        tok = tokens[p0 + k]
        kind = scorer.kinds[tok]
        if kind != KIND_CONT:
            if chars > 0:
                key = trie.model_int[R_NODE, nodes[p0 + k - 1]]
                nw = put_word(out, nw, starts, ends, p0, first, k - 1, key)
            first = -1
            chars = 0
            if kind == KIND_DELIM:
                continue
        if first < 0:
            first = k
        chars += scorer.tok_start[tok + 1] - scorer.tok_start[tok]
    if chars > 0:
        key = trie.model_int[R_NODE, nodes[p0 + length - 1]]
        nw = put_word(out, nw, starts, ends, p0, first, length - 1, key)
    return nw
