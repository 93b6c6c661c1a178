"""The word searches' view of a :class:`ctckit.lm.WordNGramLM` (private).

A prefix node carries the LM state of :mod:`ctckit.lm._word_kernels` in its model rows:
the context words (newest first, ``slots = max(order - 1, 1)`` of them) and the state's
length in int rows ``r0 .. r0 + slots``, the context's log10 backoffs in float rows
``1 .. slots`` (float32 values, exact in float64). The two last trie columns are scratch
(a search never fills them): a score that must not touch a node writes its next state
there.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numba.extending import overload

from ctckit.decode._kernels.word_hooks import is_type, lm_end, lm_start, lm_word
from ctckit.lm._layout import WordTables
from ctckit.lm._word_kernels import begin_state, score_log10


class KenLMView(NamedTuple):
    """A word LM's store, its state width, whether sentences start at ``<s>`` and end with
    ``</s>``, the rows a state takes and an upper bound of any word's log10-probability."""

    t: WordTables
    slots: int
    boundary: bool
    rows: int
    float_rows: int
    bound: float


def kernel_view(lm: Any, boundary: bool) -> KenLMView:
    """The :class:`KenLMView` of a :class:`ctckit.lm.WordNGramLM`."""
    t: WordTables = lm.kernel_tables
    slots = max(int(t.order) - 1, 1)
    # a word scores the longest match's probability plus at most order - 1 backoffs
    probs = [np.abs(np.asarray(t.uni_prob, np.float64))]
    if t.prob.shape[0]:
        probs.append(np.abs(np.asarray(t.prob, np.float64))[np.asarray(t.keys) != 0])
    best = -min(float(p.min()) for p in probs if p.size)
    backoffs = np.concatenate([np.asarray(t.uni_backoff, np.float64),
                               np.asarray(t.backoff, np.float64)])  # fmt: skip
    bound = best + (int(t.order) - 1) * max(0.0, float(backoffs.max(initial=0.0)))
    return KenLMView(t, slots, bool(boundary), slots + 1, slots, bound)


@overload(lm_start)
def _start(lm, trie, r0, node):  # type: ignore[no-untyped-def]
    if not is_type(lm, KenLMView):
        return None

    def impl(lm, trie, r0, node):  # type: ignore[no-untyped-def]
        s = lm.slots
        words = trie.model_int[r0 : r0 + s, node]
        backoffs = trie.model_float[1 : 1 + s, node]
        length = 0
        if lm.boundary:
            length = begin_state(lm.t, words, backoffs)
        trie.model_int[r0 + s, node] = length

    return impl


@overload(lm_word)
def _word(lm, trie, r0, src, dst, word):  # type: ignore[no-untyped-def]
    if not is_type(lm, KenLMView):
        return None

    def impl(lm, trie, r0, src, dst, word):  # type: ignore[no-untyped-def]
        s = lm.slots
        out = dst if dst >= 0 else trie.model_int.shape[1] - 1
        wid = word if word >= 0 else lm.t.unk
        p, length, _ = score_log10(
            lm.t, trie.model_int[r0 : r0 + s, src], trie.model_float[1 : 1 + s, src],
            trie.model_int[r0 + s, src], wid, trie.model_int[r0 : r0 + s, out],
            trie.model_float[1 : 1 + s, out],
        )  # fmt: skip
        trie.model_int[r0 + s, out] = length
        return p

    return impl


@overload(lm_end)
def _end(lm, trie, r0, node):  # type: ignore[no-untyped-def]
    if not is_type(lm, KenLMView):
        return None

    def impl(lm, trie, r0, node):  # type: ignore[no-untyped-def]
        if not lm.boundary:
            return 0.0
        s = lm.slots
        out = trie.model_int.shape[1] - 2
        p, _, _ = score_log10(
            lm.t, trie.model_int[r0 : r0 + s, node], trie.model_float[1 : 1 + s, node],
            trie.model_int[r0 + s, node], lm.t.eos, trie.model_int[r0 : r0 + s, out],
            trie.model_float[1 : 1 + s, out],
        )  # fmt: skip
        return p

    return impl
