"""The word search's hooks: what a word scorer tells the search, and the LM it reaches
(private).

The word search (:mod:`.words`) runs the token search's frame stages with its own
selection and commit, over *variants*: one (beam, token) extension may become several
prefixes (with a lexicon: the token continues a word, ends one of the words ending at
that trie node, ends the unknown word, or is a silence). A prefix node is keyed on
(parent, token, event), its event in the scorer's model rows; without a lexicon there is
one variant and the event is always 0.

A scorer (a ``NamedTuple``: :class:`~.word_free.FreeScorer`,
:class:`~.word_lexicon.LexiconScorer`) implements, with ``numba.extending.overload``:

* :func:`w_root` -- the root's model rows and rank term;
* :func:`w_context` -- ``(bound, context)`` of a beam's node for one frame: an upper bound
  of the rank term of any of its extensions, and what scoring them needs;
* :func:`w_variants` -- ``(count, variants)`` of the extension by a token;
* :func:`w_extra` -- ``(extra, event)`` of variant ``v``;
* :func:`w_init` -- the rows and rank term of a new node (equal to what :func:`w_extra`
  promised); :func:`w_event` -- a node's event;
* :func:`w_final` -- ``(extra, lm)`` of a prefix at the end of the input (``extra =
  -inf``: no hypothesis), ``lm`` its natural-log LM score;
* :func:`is_lexicon` -- whether extensions have variants (a compile-time constant).

The word LM is reached through :func:`lm_start`, :func:`lm_word` and :func:`lm_end`,
overloaded on its type (:class:`NoLM` here, :class:`~.word_lm.KenLMView`). An LM state
lives in a node's model rows: int rows from the scorer's ``r0``, float rows from 1 (row 0
is the prefix's log10 LM score). The two last trie columns are scratch: a search never
fills them.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from numba import njit
from numba.extending import overload

EVENT_CONT, EVENT_SIL, EVENT_UNK = -1, -2, -3  # lexicon events besides a word id


def is_type(numba_type: Any, cls: type) -> bool:
    """Whether ``numba_type`` (an overload's argument type) is the NamedTuple ``cls``."""
    return getattr(numba_type, "instance_class", None) is cls


class Weights(NamedTuple):
    """``a = alpha * ln 10`` (the LM's log10 scores to weighted natural logs), the bonus per
    word, per completed hotword word, the unknown-word offset (log10) and, with a lexicon,
    per silence."""

    a: float
    per_word: float
    hot: float
    unk: float
    sil: float


class NoLM(NamedTuple):
    """No word LM: every word scores log10 0 and there is one state (one int row)."""

    rows: int
    float_rows: int
    bound: float


def _hook(name: str) -> Any:
    def hook(*args: Any) -> Any:
        raise NotImplementedError(f"{name}: compiled by Numba from its overload")

    hook.__name__ = hook.__qualname__ = name
    return hook


w_root = _hook("w_root")
w_context = _hook("w_context")
w_variants = _hook("w_variants")
w_extra = _hook("w_extra")
w_event = _hook("w_event")
w_init = _hook("w_init")
w_final = _hook("w_final")
is_lexicon = _hook("is_lexicon")
lm_start = _hook("lm_start")  # (lm, trie, r0, node): write the start state
lm_word = _hook("lm_word")  # (lm, trie, r0, src, dst, word) -> log10; state to dst (-1: scratch)
lm_end = _hook("lm_end")  # (lm, trie, r0, node) -> log10 P(</s>); 0 without a boundary


@overload(lm_start)
def _nolm_start(lm, trie, r0, node):  # type: ignore[no-untyped-def]
    if not is_type(lm, NoLM):
        return None

    def impl(lm, trie, r0, node):  # type: ignore[no-untyped-def]
        trie.model_int[r0, node] = 0

    return impl


@overload(lm_word)
def _nolm_word(lm, trie, r0, src, dst, word):  # type: ignore[no-untyped-def]
    if not is_type(lm, NoLM):
        return None

    def impl(lm, trie, r0, src, dst, word):  # type: ignore[no-untyped-def]
        return 0.0

    return impl


@overload(lm_end)
def _nolm_end(lm, trie, r0, node):  # type: ignore[no-untyped-def]
    if not is_type(lm, NoLM):
        return None

    def impl(lm, trie, r0, node):  # type: ignore[no-untyped-def]
        return 0.0

    return impl


@njit(cache=True, nogil=True, inline="always")
def copy_lm(trie, r0, src, dst):  # type: ignore[no-untyped-def]
    """Give node ``dst`` the LM state of ``src``."""
    for r in range(r0, trie.model_int.shape[0]):
        trie.model_int[r, dst] = trie.model_int[r, src]
    for r in range(1, trie.model_float.shape[0]):
        trie.model_float[r, dst] = trie.model_float[r, src]


@njit(cache=True, nogil=True, inline="always")
def trie_child(child_start, child_label, child_node, node, label):  # type: ignore[no-untyped-def]
    """The child of ``node`` by ``label`` in a flat trie (labels sorted within a node), or
    -1."""
    lo = child_start[node]
    hi = child_start[node + 1]
    while lo < hi:
        mid = (lo + hi) >> 1
        x = child_label[mid]
        if x < label:
            lo = mid + 1
        elif x > label:
            hi = mid
        else:
            return child_node[mid]
    return -1
