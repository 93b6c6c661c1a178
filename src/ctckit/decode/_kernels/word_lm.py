"""The word searches' view of a word LM, and the three calls they make on it (private).

A prefix node carries the state of :mod:`ctckit.lm._word_kernels` in its model rows: the
context words (newest first, ``slots = max(order - 1, 1)`` of them) and the state's
length in int rows ``r0 .. r0 + slots``, the context's log10 backoffs in float rows
``1 .. slots`` (float32 values, exact in float64). Without an LM the view holds a
one-word store that is never read (``use = False``): one type for every search, so the
kernels compile once per input dtype. The two last trie columns are scratch (a search
never fills them): a score that must not touch a node writes its next state there.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from numba import njit

from ctckit.lm._layout import WordTables
from ctckit.lm._word_kernels import begin_state, score_log10


class LMView(NamedTuple):
    """A word LM's store, whether there is one, its state width, whether sentences start at
    ``<s>`` and end with ``</s>``, the int and float rows a state takes, and an upper bound
    of any word's log10-probability."""

    t: WordTables
    use: bool
    slots: int
    boundary: bool
    rows: int
    float_rows: int
    bound: float


def _frozen(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """A read-only C-contiguous view (read-only arrays are their own Numba type: every view
    uses them, whatever the LM's arrays are)."""
    out: npt.NDArray[Any] = np.ascontiguousarray(a).view()
    out.flags.writeable = False
    return out


def _tables(t: WordTables) -> WordTables:
    return WordTables(
        int(t.order), int(t.bos), int(t.eos), int(t.unk),
        *(_frozen(np.asarray(a)) for a in t[4:]),
    )  # fmt: skip


def lm_view(lm: Any, boundary: bool) -> LMView:
    """The :class:`LMView` of a :class:`ctckit.lm.WordNGramLM`."""
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
    return LMView(_tables(t), True, slots, bool(boundary), slots + 1, slots, bound)


def no_lm() -> LMView:
    """The view without an LM: every word scores log10 0."""
    f32 = np.zeros(1, np.float32)
    t = WordTables(
        2, 0, 0, 0, f32, f32, np.zeros(1, np.uint64), f32, f32, np.zeros(4, np.int64),
        np.zeros(1, np.uint64), np.zeros(1, np.int32), np.zeros(1, np.uint8),
        np.zeros(2, np.int64),
    )  # fmt: skip
    return LMView(_tables(t), False, 1, False, 1, 0, 0.0)


@njit(cache=True, nogil=True, inline="always")
def lm_start(lm, trie, r0, node):  # type: ignore[no-untyped-def]
    """Write the start state into ``node``'s rows."""
    s = lm.slots
    length = 0
    if lm.use and lm.boundary:
        length = begin_state(lm.t, trie.model_int[r0 : r0 + s, node],
                             trie.model_float[1 : 1 + s, node])  # fmt: skip
    trie.model_int[r0 + s, node] = length


@njit(cache=True, nogil=True, inline="always")
def lm_word(lm, trie, r0, src, dst, word):  # type: ignore[no-untyped-def]
    """log10 P(word | state of ``src``); the next state goes to node ``dst`` (-1: the last
    trie column, scratch). ``word = -1``: a word the LM does not know (``<unk>``)."""
    if not lm.use:
        return 0.0
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


@njit(cache=True, nogil=True, inline="always")
def lm_end(lm, trie, r0, node):  # type: ignore[no-untyped-def]
    """log10 P(</s> | state of ``node``), 0 without a sentence boundary (writes the
    next-to-last trie column, scratch)."""
    if not (lm.use and lm.boundary):
        return 0.0
    s = lm.slots
    out = trie.model_int.shape[1] - 2
    p, _, _ = score_log10(
        lm.t, trie.model_int[r0 : r0 + s, node], trie.model_float[1 : 1 + s, node],
        trie.model_int[r0 + s, node], lm.t.eos, trie.model_int[r0 : r0 + s, out],
        trie.model_float[1 : 1 + s, out],
    )  # fmt: skip
    return p


@njit(cache=True, nogil=True, inline="always")
def copy_lm(trie, r0, src, dst):  # type: ignore[no-untyped-def]
    """Give node ``dst`` the LM state of ``src``."""
    for r in range(r0, trie.model_int.shape[0]):
        trie.model_int[r, dst] = trie.model_int[r, src]
    for r in range(1, trie.model_float.shape[0]):
        trie.model_float[r, dst] = trie.model_float[r, src]
