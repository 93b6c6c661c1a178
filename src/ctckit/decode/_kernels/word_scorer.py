"""The word scorer: what a prefix's words add to its rank, in both modes (private).

One type, :class:`WordScorer`, for words from the labels (``lexicon = False``:
:mod:`.word_free`) and through a lexicon (:mod:`.word_lexicon`); the hooks below branch
on ``lexicon`` (the same way for a whole search, so the branch is predicted) and are
plain inlined functions. One scorer type and one LM view type (:mod:`.word_lm`) mean one
compiled search per input dtype.

The search (:mod:`.words`) calls:

* :func:`w_root` -- the root's model rows and rank term;
* :func:`w_context` -- ``(bound, context)`` of a beam's node: an upper bound of the rank
  term of any of its extensions, and what scoring them needs;
* :func:`w_variants` -- ``(count, variants)`` of the extension by a token: with a lexicon
  the token may continue a word, end one of the words ending there, end the unknown word,
  or be a silence; without one there is one variant;
* :func:`w_extra` -- ``(extra, event)`` of variant ``v``; :func:`w_variant_event` its
  event alone;
* :func:`w_init` -- the rows and rank term of a new node (what :func:`w_extra` promised);
* :func:`w_event` -- a node's event (always 0 without a lexicon);
* :func:`w_final` -- ``(extra, lm)`` at the end of the input (``extra = -inf``: no
  hypothesis), ``lm`` the natural-log LM score;
* :func:`w_words` -- the words of a hypothesis, read off its nodes.

Model rows per node (int): ``R_NODE`` the node in the trie (the partial word's place in
the word trie, -1 once it left it; or the pronunciation trie node, 0 at a word boundary),
``R_WLEN`` the partial word's length in characters, ``R_EVENT``, the counts ``R_WORDS``,
``R_HOT``, ``R_SIL``, then the LM state from ``R_LM``; float row 0 the log10 LM score of
the completed words, unknown-word offsets included, then the LM state's backoffs.

Rank term: ``a * lm10 + per_word * words + hot * hotwords + sil * silences + partial``
with ``a = alpha * ln 10``; each product is exactly ``0.0`` when its weight or count is.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numba import njit

from ctckit.decode._kernels import word_free as free
from ctckit.decode._kernels import word_lexicon as lex
from ctckit.decode._kernels.word_common import FLAG_HOT, R_EVENT, R_LM
from ctckit.decode._kernels.word_lm import LMView


class Weights(NamedTuple):
    """``a = alpha * ln 10`` (the LM's log10 scores to weighted natural logs), the bonus per
    word, per completed hotword word, the unknown-word offset (log10) and per silence."""

    a: float
    per_word: float
    hot: float
    unk: float
    sil: float


class WordScorer(NamedTuple):
    """A word search's tables and weights.

    Both modes: the trie (``child_start``/``child_label``/``child_node``: the word trie
    over code points, or the pronunciation trie over tokens) and ``node_partial``, the rank
    term of a partial word at each node. Lexicon-free: token ``c`` continues a word, is the
    delimiter or starts one (``kinds``), its text is ``tok_chars[tok_start[c]:tok_start[c +
    1]]``; per trie node the LM id of the word ending there (``node_word``, -1: none) and
    whether a unigram / a hotword ends there (``node_flags``); ``constrain``: unknown words
    pay the offset. Lexicon: the words ending at each node (``word_ids[word_start[n]:
    word_start[n + 1]]``), their LM ids and hotword flags, the silence token (-1: none),
    whether the unknown word may end a partial pronunciation, and its LM id. ``p_max`` and
    ``w_max`` bound the partial term and what one token adds to a rank. ``max_merge``: a
    prefix's alignments merge by their maximum (Viterbi) instead of log-sum-exp.
    ``keep_blank``: token pruning leaves the blank's log-prob whole (flashlight's: only
    extensions are pruned); else the blank is pruned like any token (pyctcdecode's).
    ``child_mask``: lexicon, labels below 64: per trie node the bits of the labels of its
    children (:func:`.word_common.token_child`); else empty. ``end_max``: lexicon, an
    upper bound of what completing a word (or the unknown word) adds to the rank term
    (less the completed words' term: ``w_max``'s word part).
    """

    w: Weights
    lm: LMView
    lexicon: bool
    child_start: Any
    child_label: Any
    child_node: Any
    node_partial: Any
    kinds: Any
    tok_start: Any
    tok_chars: Any
    node_word: Any
    node_flags: Any
    constrain: bool
    word_start: Any
    word_ids: Any
    word_lm: Any
    word_hot: Any
    sil: int
    unk: bool
    unk_lm: int
    p_max: float
    w_max: float
    max_merge: bool
    keep_blank: bool
    child_mask: Any
    end_max: float


def model_rows(lm: LMView) -> tuple[int, int]:
    """``(model_int, model_float)`` rows of a word search with ``lm``."""
    return R_LM + lm.rows, 1 + lm.float_rows


_I32 = np.zeros(1, np.int32)
_I8 = np.zeros(1, np.int8)
# the tables of the other mode: placeholders of the right types
_UNUSED: dict[str, Any] = {
    "kinds": _I8, "tok_start": np.zeros(2, np.int32), "tok_chars": _I32, "node_word": _I32,
    "node_flags": _I8, "constrain": False, "word_start": np.zeros(2, np.int32),
    "word_ids": _I32, "word_lm": _I32, "word_hot": _I8, "sil": -1, "unk": False, "unk_lm": -1,
    "child_mask": np.zeros(0, np.uint64),
}  # fmt: skip


def child_masks(child_start: Any, child_label: Any) -> Any:
    """Per trie node the bits of its children's labels, or an empty array when a label is
    64 or more."""
    if child_label.size and int(child_label.max()) >= 64:
        return np.zeros(0, np.uint64)
    n = child_start.shape[0] - 1
    owner = np.repeat(np.arange(n), np.diff(child_start))
    masks = np.zeros(n, np.uint64)
    np.bitwise_or.at(masks, owner, np.left_shift(np.uint64(1), child_label.astype(np.uint64)))
    return masks


def _scorer(
    w: Weights, lm: LMView, lexicon: bool, trie: tuple[Any, Any, Any], node_partial: Any,
    any_hot: bool, max_merge: bool, keep_blank: bool, **tables: Any,
) -> WordScorer:  # fmt: skip
    """The scorer of either mode, with its bounds: ``p_max`` of the partial term, ``w_max``
    of what one token adds (a completed word, a partial term, or with a lexicon a
    silence; ``unk <= 0``: an unknown or a dead partial word adds at most 0)."""
    p_max = max(0.0, float(node_partial.max(initial=0.0)))
    word = w.per_word + w.a * lm.bound + (max(0.0, w.hot) if any_hot else 0.0)
    sil = w.sil if lexicon and tables["sil"] >= 0 else 0.0
    w_max = max(p_max, word, sil) if lexicon else max(0.0, word)
    child_start, child_label, child_node = trie
    return WordScorer(
        w=w, lm=lm, lexicon=lexicon, child_start=child_start, child_label=child_label,
        child_node=child_node, node_partial=node_partial, p_max=p_max, w_max=w_max, end_max=word,
        max_merge=bool(max_merge), keep_blank=bool(keep_blank), **{**_UNUSED, **tables},
    )  # fmt: skip


def free_scorer(
    w: Weights, lm: LMView, trie: tuple[Any, Any, Any], node_partial: Any, *, kinds: Any,
    tok_start: Any, tok_chars: Any, node_word: Any, node_flags: Any, constrain: bool,
    max_merge: bool = False, keep_blank: bool = False,
) -> WordScorer:  # fmt: skip
    """The scorer of words from the labels."""
    return _scorer(
        w, lm, False, trie, node_partial, bool((node_flags & FLAG_HOT).any()), max_merge,
        keep_blank, kinds=kinds, tok_start=tok_start, tok_chars=tok_chars, node_word=node_word,
        node_flags=node_flags, constrain=bool(constrain),
    )  # fmt: skip


def lexicon_scorer(
    w: Weights, lm: LMView, trie: tuple[Any, Any, Any], node_partial: Any, *,
    word_start: Any, word_ids: Any, word_lm: Any, word_hot: Any, sil: int, unk: bool,
    unk_lm: int, max_merge: bool = False, keep_blank: bool = True, child_mask: Any = None,
) -> WordScorer:  # fmt: skip
    """The scorer of words through a lexicon; ``child_mask``: ``None`` makes it when the
    labels allow (see :class:`WordScorer`)."""
    if child_mask is None:
        child_mask = child_masks(trie[0], trie[1])
    return _scorer(
        w, lm, True, trie, node_partial, bool(word_hot.any()), max_merge, keep_blank,
        child_mask=child_mask, word_start=word_start,
        word_ids=word_ids, word_lm=word_lm, word_hot=word_hot, sil=int(sil), unk=bool(unk),
        unk_lm=int(unk_lm),
    )  # fmt: skip


@njit(cache=True, nogil=True, inline="always")
def w_root(scorer, trie):  # type: ignore[no-untyped-def]
    """Set the root's model rows and rank term."""
    free.root(scorer, trie)


@njit(cache=True, nogil=True, inline="always")
def w_context(scorer, trie, node):  # type: ignore[no-untyped-def]
    """``(bound, context)`` of scoring ``node``'s extensions in one frame."""
    if scorer.lexicon:
        return lex.context(scorer, trie, node)
    return free.context(scorer, trie, node)


@njit(cache=True, nogil=True, inline="always")
def w_variants(scorer, context, token):  # type: ignore[no-untyped-def]
    """``(count, variants)`` of extending the context's node by ``token``."""
    if scorer.lexicon:
        return lex.variants(scorer, context, token)
    return 1, (0, 0, 0, False)


@njit(cache=True, nogil=True, inline="always")
def w_word_ends(scorer, variants):  # type: ignore[no-untyped-def]
    """How many of the variants (the last ones) complete a word (0 without a lexicon)."""
    if scorer.lexicon:
        return lex.word_ends(scorer, variants)
    return 0


@njit(cache=True, nogil=True, inline="always")
def w_extra(scorer, trie, context, token, v, variants):  # type: ignore[no-untyped-def]
    """``(extra, event)``: the rank term and event of variant ``v``."""
    if scorer.lexicon:
        return lex.extra(scorer, trie, context, token, v, variants)
    return free.extra(scorer, trie, context, token), 0


@njit(cache=True, nogil=True, inline="always")
def w_variant_event(scorer, variants, v):  # type: ignore[no-untyped-def]
    """The event of variant ``v``: :func:`w_extra`'s without scoring it (no LM lookup)."""
    if scorer.lexicon:
        return lex.variant_event(scorer, v, variants)
    return 0


@njit(cache=True, nogil=True, inline="always")
def w_event(scorer, trie, node):  # type: ignore[no-untyped-def]
    """The event of ``node``'s last token."""
    return trie.model_int[R_EVENT, node]


@njit(cache=True, nogil=True, inline="always")
def w_init(scorer, trie, parent, token, event, node):  # type: ignore[no-untyped-def]
    """Set the rows and rank term of the new node ``parent`` + (``token``, ``event``)."""
    if scorer.lexicon:
        lex.init(scorer, trie, parent, token, event, node)
    else:
        free.init(scorer, trie, parent, token, node)


@njit(cache=True, nogil=True, inline="always")
def w_final(scorer, trie, node):  # type: ignore[no-untyped-def]
    """``(extra, lm)`` of ``node`` as a hypothesis at the end of the input."""
    if scorer.lexicon:
        return lex.final(scorer, trie, node)
    return free.final(scorer, trie, node)


@njit(cache=True, nogil=True, inline="always")
def w_words(scorer, trie, tokens, nodes, starts, ends, p0, length, out, nw):  # type: ignore[no-untyped-def]
    """Write the words of the hypothesis ``tokens[p0:p0 + length]`` (its nodes ``nodes``,
    its tokens' ``[start, end)`` frames ``starts``/``ends``) into ``out``'s columns from
    ``nw`` on: the word's first frame, its end frame (exclusive), its key (lexicon-free:
    the word-trie node of its text, -1 outside the trie; with a lexicon: its word id, or
    ``EVENT_UNK``), its first and last token (counted from ``p0``). Returns the word
    count."""
    if scorer.lexicon:
        return lex.words(scorer, trie, tokens, nodes, starts, ends, p0, length, out, nw)
    return free.words(scorer, trie, tokens, nodes, starts, ends, p0, length, out, nw)
