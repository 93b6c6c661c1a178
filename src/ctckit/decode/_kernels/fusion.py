"""The token search's scorer: shallow fusion with a token LM automaton (private).

``rank = acoustic + weight * lm + bonus * length``, where ``lm`` is the prefix's LM
log-probability (node row ``model_float[0]``) and its LM state is ``model_int[0]``. Each
term is exactly ``0.0`` when its weight is zero, so that the no-LM search does the same
float operations as before fusion existed.

The stages of the token search call these functions; a search that ranks by something
else (a word LM, a lexicon) brings its own scorer and its own versions of the stages
that call it (see the package docstring).
"""

from __future__ import annotations

from typing import NamedTuple

from numba import njit

from ctckit.decode._kernels.state import FloatArray, IntArray

MODEL_ROWS = (1, 1)  # model_int: the LM state; model_float: the LM log-probability


class TokenFusion(NamedTuple):
    """The LM tables (:class:`~ctckit.lm.LMTables`' arrays as they are; a one-state zero
    table without an LM) and the fusion weights. ``bound`` is ``weight * logp.max()``."""

    logp: FloatArray
    next_state: IntArray
    end_logp: FloatArray
    start: int
    weight: float
    bonus: float
    bound: float


@njit(cache=True, nogil=True, inline="always")
def init_root(scorer, trie):  # type: ignore[no-untyped-def]
    """The root's (the empty prefix's) LM state, LM score and rank term."""
    trie.model_int[0, 0] = scorer.start
    trie.model_float[0, 0] = 0.0
    trie.extra[0] = 0.0


@njit(cache=True, nogil=True, inline="always")
def child_context(scorer, trie, node, base):  # type: ignore[no-untyped-def]
    """``(bound, lm, ext_b, state)`` for the children of ``node``, whose prefix has the
    acoustic score ``base``: an upper bound of their rank without the token's log-prob,
    and what :func:`child_extra` needs."""
    lm = trie.model_float[0, node]
    ext_b = scorer.bonus * (trie.length[node] + 1) if scorer.bonus != 0.0 else 0.0
    bound = base + scorer.bound
    if scorer.weight != 0.0:
        bound += scorer.weight * lm
    return bound + ext_b, lm, ext_b, trie.model_int[0, node]


@njit(cache=True, nogil=True, inline="always")
def child_extra(logp, weight, lm, ext_b, state, token):  # type: ignore[no-untyped-def]
    """The rank term of the child by ``token`` (the scorer's ``logp`` and ``weight`` are
    passed apart, so that the hot loop reads no tuple field)."""
    x = 0.0
    if weight != 0.0:
        x = weight * (lm + logp[state, token])
    return x + ext_b


@njit(cache=True, nogil=True, inline="always")
def init_child(scorer, trie, parent, token, node):  # type: ignore[no-untyped-def]
    """The LM state, LM score and rank term of a new node (``parent`` extended by
    ``token``): the rank term :func:`child_extra` gave."""
    state = trie.model_int[0, parent]
    trie.model_int[0, node] = scorer.next_state[state, token]
    lm = trie.model_float[0, parent] + scorer.logp[state, token]
    trie.model_float[0, node] = lm
    x = scorer.weight * lm if scorer.weight != 0.0 else 0.0
    trie.extra[node] = x + (scorer.bonus * trie.length[node] if scorer.bonus != 0.0 else 0.0)


@njit(cache=True, nogil=True, inline="always")
def result_scores(scorer, trie, node):  # type: ignore[no-untyped-def]
    """``(extra, final_lm, lm)``: a prefix's rank term at the end of the input (end of
    sentence included), and its LM score with and without the end of sentence."""
    lm = trie.model_float[0, node]
    final_lm = lm + scorer.end_logp[trie.model_int[0, node]]
    x = scorer.weight * final_lm if scorer.weight != 0.0 else 0.0
    extra = x + (scorer.bonus * trie.length[node] if scorer.bonus != 0.0 else 0.0)
    return extra, final_lm, lm
