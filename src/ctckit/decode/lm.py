"""Token language models for shallow fusion in CTC beam search.

Two pieces live here:

* :class:`LanguageModel`, a small protocol any LM can implement (a start
  state, the log-probability of a token given a state together with the next
  state, and the end-of-sentence log-probability), and :func:`compile_lm`,
  which turns such a model into :class:`LMTables`: a compact deterministic
  automaton (dense numpy tables indexed by integer state ids) that the Numba
  beam-search kernel reads without calling back into Python.
* :class:`NGramLM`, a token n-gram model trained from label sequences with
  interpolated modified Kneser-Ney or interpolated Witten-Bell smoothing,
  read from and written to the ARPA format that KenLM's tools use.

All log-probabilities are natural logarithms (ARPA files store log10 and are
converted on reading and writing). The CTC blank is not part of any LM
vocabulary: its column of :attr:`LMTables.logp` is ``-inf`` and emitting it
leaves the state unchanged.
"""

from __future__ import annotations

import math
import os
from collections import deque
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, TypeAlias, runtime_checkable

import numpy as np
import numpy.typing as npt

from ctckit.errors import DataError, InputTypeError, InputValueError, ShapeError
from ctckit.files import atomic_write_bytes
from ctckit.vocab import Vocabulary

__all__ = ["LMTables", "LanguageModel", "NGramLM", "compile_lm"]


@dataclass(frozen=True, eq=False)
class LMTables:
    """A language model compiled to a deterministic automaton of integer states.

    State ``s`` stands for a context (for an n-gram model, the longest
    history the model knows). Emitting token ``v`` from state ``s`` costs
    ``logp[s, v]`` and moves to ``next_state[s, v]``; ending the sentence in
    ``s`` costs ``end_logp[s]``. The blank column holds ``logp = -inf`` and
    ``next_state[s, blank] = s``. Tables compare and hash by identity.

    Attributes:
        logp: ``(S, V)`` float64, natural-log ``P(token | state)``; the blank
            column is ``-inf``.
        next_state: ``(S, V)`` int32, the state after emitting each token.
        end_logp: ``(S,)`` float64, natural-log ``P(</s> | state)``.
        start: Id of the start state (the context ``<s>``).

    Raises:
        ShapeError: If the arrays' shapes disagree.
        InputTypeError: If a dtype is not the one listed above.
        InputValueError: If ``start`` or an entry of ``next_state`` is not a
            state id, or a log-probability is NaN or ``+inf``.

    Example:
        >>> import numpy as np
        >>> t = LMTables(
        ...     logp=np.array([[-np.inf, np.log(0.5), np.log(0.25)]]),
        ...     next_state=np.zeros((1, 3), dtype=np.int32),
        ...     end_logp=np.log([0.25]),
        ...     start=0,
        ... )
        >>> t.num_states, t.vocab_size
        (1, 3)
    """

    logp: npt.NDArray[np.float64]
    next_state: npt.NDArray[np.int32]
    end_logp: npt.NDArray[np.float64]
    start: int

    def __post_init__(self) -> None:
        for name, arr, dtype in (
            ("logp", self.logp, np.float64),
            ("next_state", self.next_state, np.int32),
            ("end_logp", self.end_logp, np.float64),
        ):
            if not isinstance(arr, np.ndarray):
                raise InputTypeError(f"LMTables.{name} must be a numpy array, got {type(arr)}")
            if arr.dtype != dtype:
                raise InputTypeError(
                    f"LMTables.{name} must have dtype {np.dtype(dtype).name}, got {arr.dtype}"
                )
        if self.logp.ndim != 2 or self.logp.shape[0] < 1 or self.logp.shape[1] < 1:
            raise ShapeError(
                f"LMTables.logp must have shape (S, V) with S, V >= 1, got {self.logp.shape}"
            )
        if self.next_state.shape != self.logp.shape:
            raise ShapeError(
                f"LMTables.next_state must have the shape of logp {self.logp.shape}, "
                f"got {self.next_state.shape}"
            )
        n_states = self.logp.shape[0]
        if self.end_logp.shape != (n_states,):
            raise ShapeError(
                f"LMTables.end_logp must have shape ({n_states},), got {self.end_logp.shape}"
            )
        if isinstance(self.start, (bool, np.bool_)) or not isinstance(
            self.start, (int, np.integer)
        ):
            raise InputTypeError(f"LMTables.start must be an int, got {type(self.start)}")
        if not 0 <= int(self.start) < n_states:
            raise InputValueError(f"LMTables.start must be in [0, {n_states}), got {self.start}")
        object.__setattr__(self, "start", int(self.start))
        if self.next_state.size and (
            int(self.next_state.min()) < 0 or int(self.next_state.max()) >= n_states
        ):
            bad = np.argwhere((self.next_state < 0) | (self.next_state >= n_states))[0]
            raise InputValueError(
                f"LMTables.next_state must hold state ids in [0, {n_states}), got "
                f"{int(self.next_state[tuple(bad)])} at {tuple(int(i) for i in bad)}"
            )
        for name, arr in (("logp", self.logp), ("end_logp", self.end_logp)):
            if np.isnan(arr).any() or np.isposinf(arr).any():
                raise InputValueError(f"LMTables.{name} must hold no NaN or +inf")

    @property
    def num_states(self) -> int:
        """Number of states ``S``."""
        return int(self.logp.shape[0])

    @property
    def vocab_size(self) -> int:
        """Number of token ids ``V``, the blank included."""
        return int(self.logp.shape[1])


@runtime_checkable
class LanguageModel(Protocol):
    """What a token language model must offer to be fused into beam search.

    States are opaque hashable values (a tuple of recent tokens, say). The
    set of states reachable from :meth:`start_state` by emitting non-blank
    tokens must be finite, so that :func:`compile_lm` can tabulate them.
    Log-probabilities are natural logarithms.

    Example:
        >>> class Uniform:
        ...     def start_state(self): return ()
        ...     def score(self, state, token): return (-1.0986, ())
        ...     def end_score(self, state): return -1.0986
        >>> isinstance(Uniform(), LanguageModel)
        True
    """

    def start_state(self) -> Hashable:
        """The state before any token (the context ``<s>``)."""
        ...

    def score(self, state: Hashable, token: int) -> tuple[float, Hashable]:
        """Natural-log ``P(token | state)`` and the state after ``token``."""
        ...

    def end_score(self, state: Hashable) -> float:
        """Natural-log ``P(</s> | state)``."""
        ...


def compile_lm(
    lm: LanguageModel, vocab_size: int, blank: int = 0, max_states: int = 2_000_000
) -> LMTables:
    """Tabulate a language model's reachable states into :class:`LMTables`.

    States are explored breadth-first from ``lm.start_state()`` over every
    non-blank token, so state ids follow discovery order (the start state is
    0). An :class:`NGramLM` returns its own cached tables instead.

    Args:
        lm: Any :class:`LanguageModel`.
        vocab_size: ``V``, the number of token ids, the blank included.
        blank: Id of the CTC blank, which the LM never scores.
        max_states: Give up beyond this many states (a model whose state set
            is infinite, or too large to tabulate).

    Returns:
        Tables with ``logp`` and ``next_state`` of shape ``(S, V)``.

    Raises:
        InputTypeError: If ``lm`` does not implement :class:`LanguageModel`.
        InputValueError: If ``vocab_size``, ``blank`` or ``max_states`` is out
            of range, more than ``max_states`` states are reachable, or a score
            is NaN or ``+inf``.

    Example:
        >>> class LastToken:  # a bigram-like LM: the state is the last token
        ...     def start_state(self): return None
        ...     def score(self, state, token): return (-0.5 if token == state else -1.5, token)
        ...     def end_score(self, state): return -2.0
        >>> t = compile_lm(LastToken(), vocab_size=3)
        >>> t.num_states, t.next_state.tolist()
        (3, [[0, 1, 2], [1, 1, 2], [2, 1, 2]])
        >>> t.logp[1].tolist()
        [-inf, -0.5, -1.5]
    """
    if not isinstance(lm, LanguageModel):
        raise InputTypeError(
            "lm must implement LanguageModel (start_state, score, end_score), "
            f"got {type(lm).__name__}"
        )
    vocab_size = _check_int(vocab_size, "vocab_size", low=2)
    blank = _check_int(blank, "blank", low=0)
    if blank >= vocab_size:
        raise InputValueError(f"blank must be in [0, {vocab_size}), got {blank}")
    max_states = _check_int(max_states, "max_states", low=1)
    if isinstance(lm, NGramLM):
        return lm._compiled_tables(vocab_size, blank)

    tokens = [v for v in range(vocab_size) if v != blank]
    start = lm.start_state()
    ids: dict[Hashable, int] = {start: 0}
    queue: deque[Hashable] = deque([start])
    logp_rows: list[npt.NDArray[np.float64]] = []
    next_rows: list[npt.NDArray[np.int32]] = []
    end_logp: list[float] = []
    while queue:
        state = queue.popleft()
        sid = len(logp_rows)
        lrow = np.full(vocab_size, -np.inf, dtype=np.float64)
        nrow = np.full(vocab_size, sid, dtype=np.int32)
        for v in tokens:
            lp, nxt = lm.score(state, v)
            lrow[v] = float(lp)
            nid = ids.get(nxt)
            if nid is None:
                nid = len(ids)
                if nid >= max_states:
                    raise InputValueError(
                        f"the language model has more than max_states={max_states} reachable "
                        "states; raise max_states or use a model with a finite state set"
                    )
                ids[nxt] = nid
                queue.append(nxt)
            nrow[v] = nid
        logp_rows.append(lrow)
        next_rows.append(nrow)
        end_logp.append(float(lm.end_score(state)))
    return LMTables(
        logp=np.stack(logp_rows),
        next_state=np.stack(next_rows),
        end_logp=np.asarray(end_logp, dtype=np.float64),
        start=0,
    )


def _check_int(value: object, name: str, low: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise InputTypeError(f"{name} must be an int, got {type(value).__name__}")
    if int(value) < low:
        raise InputValueError(f"{name} must be >= {low}, got {value}")
    return int(value)


# ---------------------------------------------------------------------------
# n-gram model
# ---------------------------------------------------------------------------

_Smoothing = Literal["kneser-ney", "witten-bell"]
_FALLBACK_DISCOUNTS: tuple[float, float, float] = (0.5, 1.0, 1.5)  # KenLM's --discount_fallback
_LN10 = math.log(10.0)
_ARPA_ZERO_LOG10 = -99.0  # what ARPA writers put for log10(0) (the <s> unigram)
_UNK_LOG10 = -100.0  # KenLM's substitute probability for a missing <unk>
_MIN_ORDER, _MAX_ORDER = 2, 6

IntArray: TypeAlias = npt.NDArray[np.int64]
FloatArray: TypeAlias = npt.NDArray[np.float64]


@dataclass(frozen=True)
class _Entries:
    """Explicit n-grams of a backoff model, one array set per order (index k-1 for order k).

    Word ids are internal: tokens ``0..V-1``, ``</s>`` = ``V``, ``<s>`` = ``V+1``.
    ``logp`` is natural-log ``P(last word | the others)`` (``-inf`` for the
    ``<s>`` unigram, which is never predicted); ``logbo`` the natural-log
    backoff weight (0 where the n-gram has none).
    """

    grams: list[IntArray]
    logp: list[FloatArray]
    logbo: list[FloatArray]


def _unique_rows(rows: IntArray) -> tuple[IntArray, IntArray]:
    """Unique rows in lexicographic order and the inverse map (``uniq[inv] == rows``)."""
    m = rows.shape[0]
    if m == 0:
        return rows.copy(), np.zeros(0, dtype=np.int64)
    order = np.lexsort(rows.T[::-1])
    srt: IntArray = rows[order]
    new = np.ones(m, dtype=bool)
    new[1:] = (srt[1:] != srt[:-1]).any(axis=1)
    group = np.cumsum(new) - 1
    inv = np.empty(m, dtype=np.int64)
    inv[order] = group
    return srt[new], inv


@dataclass(frozen=True)
class _Automaton:
    tables: LMTables
    states: list[IntArray]  # rows of the states of each context length 0..n-1, in id order


def _build_automaton(
    entries: _Entries, order: int, vocab_size: int, blank: int, unk_logp: float
) -> _Automaton:
    """Compile a backoff model's n-grams into :class:`LMTables` (vectorised per order).

    States are the contexts the model knows, closed under prefixes and
    suffixes: every n-gram of order < n that is the context of a longer
    n-gram or carries a backoff weight, the start context ``(<s>,)`` and the
    empty context. A state's row is its backoff weight plus its suffix
    state's row, overwritten by the explicit n-grams it is the context of;
    ``next_state`` likewise inherits its suffix's row and is overwritten by the
    states one token longer.
    """
    n, eos, bos = order, vocab_size, vocab_size + 1
    nodes: list[IntArray] = [np.zeros((1, 0), dtype=np.int64)] * (n + 1)
    lp: list[FloatArray] = [np.zeros(0)] * (n + 1)
    bo: list[FloatArray] = [np.zeros(0)] * (n + 1)
    is_state: list[npt.NDArray[np.bool_]] = [np.zeros(0, dtype=bool)] * (n + 1)
    prefix_of: list[IntArray] = [np.zeros(0, dtype=np.int64)] * (n + 1)  # node -> node one shorter
    suffix_of: list[IntArray] = [np.zeros(0, dtype=np.int64)] * (n + 1)  # state -> its suffix node
    for k in range(n, 0, -1):
        grams = entries.grams[k - 1]
        parts = [grams]
        if k < n:
            parts += [nodes[k + 1][:, :-1], nodes[k + 1][is_state[k + 1]][:, 1:]]
        if k == 1:
            parts.append(np.array([[bos]], dtype=np.int64))
        uniq, inv = _unique_rows(np.concatenate(parts))
        m = grams.shape[0]
        lp[k] = np.full(uniq.shape[0], np.nan)
        lp[k][inv[:m]] = entries.logp[k - 1]
        bo[k] = np.zeros(uniq.shape[0])
        bo[k][inv[:m]] = entries.logbo[k - 1]
        state = np.zeros(uniq.shape[0], dtype=bool)
        if k < n:
            n_up = nodes[k + 1].shape[0]
            prefix_of[k + 1] = inv[m : m + n_up]
            suffix_of[k + 1] = inv[m + n_up : m + n_up + int(is_state[k + 1].sum())]
            state[inv[m:]] = True
            state |= (bo[k] != 0.0) & (uniq[:, -1] != eos)
        nodes[k], is_state[k] = uniq, state

    # State ids: 0 is the empty context, then contexts of length 1, 2, ..., n-1.
    sid: list[IntArray] = [np.zeros(1, dtype=np.int64)]
    offset = 1
    for k in range(1, n):
        ids = np.full(nodes[k].shape[0], -1, dtype=np.int64)
        count = int(is_state[k].sum())
        ids[is_state[k]] = offset + np.arange(count)
        offset += count
        sid.append(ids)
    n_states = offset
    table = np.full((n_states, vocab_size + 1), -np.inf)
    nxt = np.zeros((n_states, vocab_size), dtype=np.int32)
    words = np.array([v for v in range(vocab_size + 1) if v != blank], dtype=np.int64)
    table[0, words] = unk_logp
    uni = nodes[1][:, 0]
    known = ~np.isnan(lp[1]) & (uni != bos)
    table[0, uni[known]] = lp[1][known]
    st1 = is_state[1] & (uni != bos)
    nxt[0, uni[st1]] = sid[1][st1]
    for k in range(1, n):
        states = np.flatnonzero(is_state[k])
        ids = sid[k][states]
        parent = np.zeros(states.shape[0], dtype=np.int64) if k == 1 else sid[k - 1][suffix_of[k]]
        table[ids] = bo[k][states, None] + table[parent]
        nxt[ids] = nxt[parent]
        up_ctx = sid[k][prefix_of[k + 1]]  # state id of each longer node's context
        up_word = nodes[k + 1][:, -1]
        known = ~np.isnan(lp[k + 1])
        table[up_ctx[known], up_word[known]] = lp[k + 1][known]
        if k + 1 < n:
            up_state = is_state[k + 1]
            nxt[up_ctx[up_state], up_word[up_state]] = sid[k + 1][up_state]
    table[:, blank] = -np.inf
    nxt[:, blank] = np.arange(n_states, dtype=np.int32)
    start = int(sid[1][np.flatnonzero(nodes[1][:, 0] == bos)[0]])
    tables = LMTables(
        logp=np.ascontiguousarray(table[:, :vocab_size]),
        next_state=nxt,
        end_logp=np.ascontiguousarray(table[:, vocab_size]),
        start=start,
    )
    states_rows = [nodes[0]] + [nodes[k][is_state[k]] for k in range(1, n)]
    return _Automaton(tables, states_rows)


def _estimate_discounts(counts: IntArray) -> tuple[float, float, float]:
    """Chen & Goodman's modified Kneser-Ney discounts from count-of-counts.

    ``Y = n1 / (n1 + 2 n2)``, ``D1 = 1 - 2Y n2/n1``, ``D2 = 2 - 3Y n3/n2``,
    ``D3+ = 3 - 4Y n4/n3``, where ``nj`` is the number of n-grams of this
    order whose (adjusted) count is ``j``. When a count-of-counts is zero or a
    discount falls outside ``(0, j]``, KenLM's fallback ``(0.5, 1, 1.5)`` is
    used instead.
    """
    n1, n2, n3, n4 = (int(np.count_nonzero(counts == j)) for j in (1, 2, 3, 4))
    if min(n1, n2, n3) == 0:
        return _FALLBACK_DISCOUNTS
    y = n1 / (n1 + 2.0 * n2)
    d = (1.0 - 2.0 * y * n2 / n1, 2.0 - 3.0 * y * n3 / n2, 3.0 - 4.0 * y * n4 / n3)
    if not all(0.0 < dj <= j for j, dj in enumerate(d, start=1)):
        return _FALLBACK_DISCOUNTS
    return d


def _fit_entries(
    seqs: list[IntArray],
    order: int,
    vocab_size: int,
    blank: int,
    smoothing: str,
    discount: tuple[float, float, float] | None,
) -> tuple[_Entries, tuple[tuple[float, float, float], ...]]:
    """Count n-grams and smooth them; returns the model in backoff form and the discounts."""
    n, eos, bos = order, vocab_size, vocab_size + 1
    base = vocab_size + 2
    lens = np.array([s.shape[0] + 2 for s in seqs], dtype=np.int64)
    tok = np.concatenate([np.concatenate(([bos], s, [eos])) for s in seqs]).astype(np.int64)
    pos = np.arange(tok.shape[0]) - np.repeat(np.cumsum(lens) - lens, lens)

    # Order 1 is indexed by word id; order k >= 2 by the sorted unique keys
    # prefix_node * base + word, so the n-grams of one context are contiguous.
    node = [np.zeros(0, dtype=np.int64), tok]  # node[k][p]: id of the k-gram ending at p
    raw = [np.zeros(0, dtype=np.int64), np.bincount(tok[pos >= 1], minlength=base)]
    prefix = [np.zeros(0, dtype=np.int64)] * 2
    suffix = [np.zeros(0, dtype=np.int64)] * 2
    word = [np.zeros(0, dtype=np.int64), np.arange(base, dtype=np.int64)]
    starts_bos = [np.zeros(0, dtype=bool), np.arange(base) == bos]
    for k in range(2, n + 1):
        at = np.flatnonzero(pos >= k - 1)
        keys = node[k - 1][at - 1] * base + tok[at]
        uniq, first, inv, cnt = np.unique(
            keys, return_index=True, return_inverse=True, return_counts=True
        )
        nk = np.full(tok.shape[0], -1, dtype=np.int64)
        nk[at] = inv
        node.append(nk)
        raw.append(cnt.astype(np.int64))
        prefix.append(uniq // base)
        word.append(uniq % base)
        suffix.append(node[k - 1][at[first]])
        starts_bos.append(starts_bos[k - 1][prefix[k]])

    if smoothing == "kneser-ney":
        # Adjusted counts: raw at the top order and for n-grams starting with
        # <s>; otherwise the number of distinct words seen to the left.
        counts = [np.zeros(0, dtype=np.int64)] * (n + 1)
        counts[n] = raw[n]
        for k in range(n - 1, 0, -1):
            cont = np.bincount(suffix[k + 1], minlength=raw[k].shape[0])
            counts[k] = np.where(starts_bos[k], raw[k], cont)
    else:
        counts = raw
    in_vocab = np.ones(base, dtype=bool)
    in_vocab[[blank, bos]] = False
    n_words = int(in_vocab.sum())  # |W|: the tokens and </s>

    discounts: list[tuple[float, float, float]] = []
    prob: list[FloatArray] = [np.zeros(0)] * (n + 1)
    logbo: list[FloatArray] = [np.zeros(0)] * (n + 1)
    for k in range(1, n + 1):
        c = counts[k].astype(np.float64)
        if k == 1:
            c = np.where(in_vocab, c, 0.0)
            ctx = np.zeros(base, dtype=np.int64)
            n_ctx = 1
            lower: FloatArray = np.full(base, 1.0 / n_words)
        else:
            ctx = prefix[k]
            n_ctx = prob[k - 1].shape[0]
            lower = prob[k - 1][suffix[k]]
        total = np.bincount(ctx, weights=c, minlength=n_ctx)
        if smoothing == "kneser-ney":
            d = discount if discount is not None else _estimate_discounts(counts[k][c > 0])
            discounts.append(d)
            dvec = np.where(c >= 3, d[2], np.where(c == 2, d[1], np.where(c == 1, d[0], 0.0)))
            mass = np.bincount(ctx, weights=dvec, minlength=n_ctx)
            denom = np.where(total > 0, total, 1.0)
            gamma = mass / denom
            p = (c - dvec) / denom[ctx] + gamma[ctx] * lower
        else:
            types = np.bincount(ctx, weights=(c > 0).astype(np.float64), minlength=n_ctx)
            denom = np.where(total > 0, total + types, 1.0)
            gamma = types / denom
            p = (c + types[ctx] * lower) / denom[ctx]
        if k == 1:
            p = np.where(in_vocab, p, 0.0)
        else:
            logbo[k - 1] = np.where(total > 0, np.log(np.where(gamma > 0, gamma, 1.0)), 0.0)
            logbo[k - 1] = np.where((total > 0) & (gamma <= 0), -np.inf, logbo[k - 1])
        prob[k] = p

    grams: list[IntArray] = []
    logp: list[FloatArray] = []
    bos_list: list[FloatArray] = []
    rows = np.arange(base, dtype=np.int64)[:, None]
    keep1 = in_vocab | (np.arange(base) == bos)
    with np.errstate(divide="ignore"):
        lp1 = np.where(in_vocab, np.log(prob[1]), -np.inf)
    grams.append(rows[keep1])
    logp.append(lp1[keep1])
    bos_list.append(logbo[1][keep1] if n > 1 else np.zeros(int(keep1.sum())))
    for k in range(2, n + 1):
        rows = np.column_stack([rows[prefix[k]], word[k]])
        grams.append(rows)
        logp.append(np.log(prob[k]))
        bos_list.append(logbo[k] if k < n else np.zeros(rows.shape[0]))
    return _Entries(grams, logp, bos_list), tuple(discounts)


class NGramLM:
    """A token n-gram language model in backoff form, for shallow fusion.

    Build one with :meth:`fit` (from label-id sequences) or :meth:`from_arpa`
    (from an ARPA file, e.g. one written by KenLM's ``lmplz``); the
    constructor is internal. The model predicts the tokens ``0..V-1`` other
    than the CTC blank, plus the end of sentence ``</s>``; every sentence's
    history starts with ``<s>``. It implements :class:`LanguageModel` (states
    are opaque tuples: the longest context the model knows) and compiles
    itself to :class:`LMTables` (:attr:`tables`, cached). The tables are
    dense, ``12 * S * V`` bytes for ``S`` states: small for phoneme or
    character vocabularies (order 4 on 2,000 sentences of 80 phonemes: about
    21,000 states, 10 MB), too large for word vocabularies.

    **Smoothing** (:meth:`fit`). Sentences are padded as ``<s> w1 .. wm
    </s>``; ``<s>`` is a context only, never predicted. With ``W`` the
    predicted vocabulary (``V - 1`` tokens and ``</s>``), ``h`` a context of
    length ``k - 1`` and ``h'`` the context without its first word:

    * *Interpolated modified Kneser-Ney* (Chen & Goodman, 1998, as in
      KenLM): ``p(w|h) = (a(hw) - D_k(a(hw))) / A(h) + gamma(h) p(w|h')``
      with ``gamma(h) = (D_k1 N1(h.) + D_k2 N2(h.) + D_k3 N3+(h.)) / A(h)``,
      ``A(h) = sum_w a(hw)`` and ``Nj(h.)`` the number of words with
      ``a(hw) = j`` (``3+``: at least 3). The adjusted count ``a`` is the raw
      count at the top order and for n-grams that start with ``<s>``, and
      otherwise the number of distinct words seen to the left of the n-gram.
      Discounts are estimated per order from count-of-counts:
      ``Y = n1/(n1+2 n2)``, ``D1 = 1-2Y n2/n1``, ``D2 = 2-3Y n3/n2``,
      ``D3+ = 3-4Y n4/n3``; when a count-of-count is zero or a discount
      leaves ``(0, j]``, the order falls back to ``(0.5, 1, 1.5)`` (KenLM's
      ``--discount_fallback``).
    * *Interpolated Witten-Bell*: ``p(w|h) = (c(hw) + T(h) p(w|h')) /
      (C(h) + T(h))`` with raw counts ``c``, ``C(h) = sum_w c(hw)`` and
      ``T(h)`` the number of distinct words seen after ``h``.

    Both recurse down to the unigram level, which is interpolated with the
    uniform distribution ``1/|W|`` (the empty context's ``p(w|h')``), so
    every token has non-zero probability; a context never seen is skipped
    (``p(w|h) = p(w|h')``). The model is stored in backoff form: each seen
    n-gram holds its interpolated probability and each seen context ``h``
    the backoff weight ``gamma(h)``, so ``p(w|h) = p*(hw)`` when ``hw`` was
    seen and ``gamma(h) p(w|h')`` otherwise — exactly the interpolated
    distribution, which sums to 1 over ``W`` for every context.

    Example:
        >>> lm = NGramLM.fit([[1, 2, 1, 2], [1, 2, 2]], order=3, vocab_size=3)
        >>> lm
        NGramLM(order=3, vocab_size=3, blank=0, smoothing='kneser-ney', ngrams=[4, 5, 6])
        >>> logp, state = lm.score(lm.start_state(), 1)
        >>> round(float(np.exp(logp)), 4)
        0.6833
        >>> lm.tables.logp.shape
        (8, 3)
    """

    def __init__(
        self,
        *,
        order: int,
        vocab_size: int,
        blank: int,
        entries: _Entries,
        smoothing: str,
        discounts: tuple[tuple[float, float, float], ...] = (),
        unk_logp: float = _UNK_LOG10 * _LN10,
    ) -> None:
        self._order = order
        self._vocab_size = vocab_size
        self._blank = blank
        self._entries = entries
        self._smoothing = smoothing
        self._discounts = discounts
        self._unk_logp = unk_logp
        self._automaton: _Automaton | None = None
        self._index: dict[tuple[int, ...], tuple[float, float]] | None = None
        self._state_set: frozenset[tuple[int, ...]] | None = None

    # -- construction --------------------------------------------------------

    @classmethod
    def fit(
        cls,
        sequences: Iterable[npt.ArrayLike],
        order: int = 4,
        *,
        vocab_size: int,
        blank: int = 0,
        smoothing: _Smoothing = "kneser-ney",
        discount: float | Sequence[float] | None = None,
    ) -> NGramLM:
        """Train an interpolated n-gram model on label-id sequences.

        Args:
            sequences: Training sentences, each a 1-D sequence of token ids
                in ``[0, vocab_size)`` without the blank (lists, arrays or
                1-D tensors; an empty sentence is allowed).
            order: ``n``, from 2 to 6.
            vocab_size: ``V``, the number of classes the acoustic model
                emits, blank included.
            blank: Id of the CTC blank, excluded from the LM vocabulary.
            smoothing: ``"kneser-ney"`` (interpolated modified Kneser-Ney) or
                ``"witten-bell"`` (interpolated Witten-Bell); see the class
                docstring for the formulas.
            discount: Kneser-Ney only: ``None`` to estimate the discounts per
                order, one float ``D`` in ``(0, 1]`` for all counts, or three
                floats ``(D1, D2, D3+)`` with ``0 < Dj <= j``.

        Returns:
            The fitted model.

        Raises:
            InputValueError: On an empty corpus, an ``order`` outside 2..6, a
                token outside ``[0, vocab_size)`` or equal to the blank
                (naming the sentence and position), an unknown smoothing or a
                bad discount.
            InputTypeError: If a sentence is not a 1-D sequence of integers.

        Example:
            >>> lm = NGramLM.fit([[1, 2], [2, 2, 1]], order=2, vocab_size=3,
            ...                  smoothing="witten-bell")
            >>> round(lm.perplexity([[1, 2]]), 3)
            2.598
        """
        order = _check_int(order, "order", low=_MIN_ORDER)
        if order > _MAX_ORDER:
            raise InputValueError(f"order must be in [{_MIN_ORDER}, {_MAX_ORDER}], got {order}")
        vocab_size = _check_int(vocab_size, "vocab_size", low=2)
        blank = _check_int(blank, "blank", low=0)
        if blank >= vocab_size:
            raise InputValueError(f"blank must be in [0, {vocab_size}), got {blank}")
        if smoothing not in ("kneser-ney", "witten-bell"):
            raise InputValueError(
                f"smoothing must be 'kneser-ney' or 'witten-bell', got {smoothing!r}"
            )
        discounts = _check_discount(discount, smoothing)
        seqs = [_check_sequence(s, i, vocab_size, blank) for i, s in enumerate(sequences)]
        if not seqs:
            raise InputValueError("NGramLM.fit needs at least one sentence, got an empty corpus")
        entries, used = _fit_entries(seqs, order, vocab_size, blank, smoothing, discounts)
        return cls(
            order=order,
            vocab_size=vocab_size,
            blank=blank,
            entries=entries,
            smoothing=smoothing,
            discounts=used,
        )

    @classmethod
    def from_arpa(
        cls,
        path: str | os.PathLike[str],
        vocab: Vocabulary | Mapping[str, int] | None = None,
        *,
        vocab_size: int | None = None,
        blank: int | None = None,
    ) -> NGramLM:
        """Read a model in the ARPA format (as KenLM's ``lmplz`` or SRILM write it).

        Words are mapped to token ids through ``vocab`` (a
        :class:`~ctckit.vocab.Vocabulary`'s symbols, e.g. HW3P2 phoneme
        names, or a symbol -> id mapping); without one, each word must be a
        token id written as an integer. ``<s>``, ``</s>`` and ``<unk>`` are
        the sentence markers and the unknown word. Probabilities follow the
        standard backoff rule: ``p(w|h) = p*(hw)`` if the n-gram ``hw`` is
        listed, else ``backoff(h) p(w|h')`` (``backoff = 1`` when ``h`` is not
        listed). As in KenLM, a token missing from the unigrams scores as
        ``<unk>``, whose log10 probability is -100 when the file has none;
        n-grams of order 2 and up that contain ``<unk>`` are ignored. Lines
        before ``\\data\\`` are ignored.

        Args:
            path: The ARPA file (plain text).
            vocab: Word -> id map; ``None`` for integer words.
            vocab_size: ``V``; defaults to ``len(vocab)`` for a Vocabulary and
                to the largest id + 1 otherwise.
            blank: The blank id; defaults to ``vocab.blank`` or 0.

        Returns:
            The model, with ``smoothing="arpa"``.

        Raises:
            DataError: Naming the path and line for a malformed file: no
                ``\\data\\`` header, a count that disagrees with its section,
                a bad number, an unknown word, a misplaced ``<s>`` or
                ``</s>``, a duplicate n-gram, or a file that ends before
                ``\\end\\``.
            InputValueError: If ``vocab_size`` or ``blank`` is out of range.

        Example:
            >>> import os, tempfile
            >>> lm = NGramLM.fit([[1, 2], [2, 1, 2]], order=2, vocab_size=3)
            >>> path = os.path.join(tempfile.mkdtemp(), "lm.arpa")
            >>> lm.to_arpa(path)
            >>> back = NGramLM.from_arpa(path, vocab_size=3)
            >>> round(back.log_prob([1, 2]), 6) == round(lm.log_prob([1, 2]), 6)
            True
        """
        return _read_arpa(path, vocab, vocab_size, blank)

    def to_arpa(
        self, path: str | os.PathLike[str], vocab: Vocabulary | Mapping[str, int] | None = None
    ) -> None:
        """Write the model in the ARPA format, atomically.

        The interpolated model is written in backoff form (each listed
        n-gram with its interpolated probability, each context with its
        backoff weight), so a reader using the standard backoff rule, KenLM
        included, gets the same distribution. Log10 values carry 10
        significant digits. ``<s>`` gets the conventional -99 and ``<unk>``
        (never predicted here) -100.

        Args:
            path: Destination file.
            vocab: Id -> word map (a :class:`~ctckit.vocab.Vocabulary` or a
                symbol -> id mapping); ``None`` writes ids as integers.

        Raises:
            InputValueError: If a token has no symbol, or a symbol is empty,
                holds whitespace or is ``<s>``, ``</s>`` or ``<unk>``.

        Example:
            >>> import os, tempfile
            >>> from ctckit import hw3p2_vocabulary
            >>> v = hw3p2_vocabulary()
            >>> lm = NGramLM.fit([v.encode(["HH", "AH", "L", "OW"])], order=2, vocab_size=len(v))
            >>> path = os.path.join(tempfile.mkdtemp(), "phones.arpa")
            >>> lm.to_arpa(path, v)
            >>> from pathlib import Path
            >>> Path(path).read_text().splitlines()[:3]
            ['\\\\data\\\\', 'ngram 1=43', 'ngram 2=5']
        """
        words = _symbols_for(vocab, self._vocab_size, self._blank)
        words += ["</s>", "<s>"]
        e = self._entries
        lines = ["\\data\\"]
        lines += [f"ngram {k}={g.shape[0] + (k == 1)}" for k, g in enumerate(e.grams, start=1)]
        for k, (grams, logp, logbo) in enumerate(zip(e.grams, e.logp, e.logbo), start=1):
            lines += ["", f"\\{k}-grams:"]
            if k == 1:
                lines.append(f"{_UNK_LOG10:.10g}\t<unk>" + ("\t0" if self._order > 1 else ""))
            lp10 = (logp / _LN10).tolist()
            bo10 = (logbo / _LN10).tolist()
            with_bo = k < self._order
            for row, p, b in zip(grams.tolist(), lp10, bo10):
                text = " ".join(words[w] for w in row)
                p_text = f"{_ARPA_ZERO_LOG10:.10g}" if p == -math.inf else f"{p:.10g}"
                if with_bo and row[-1] != self._vocab_size:
                    lines.append(f"{p_text}\t{text}\t{b:.10g}")
                else:
                    lines.append(f"{p_text}\t{text}")
        lines += ["", "\\end\\", ""]
        atomic_write_bytes(path, "\n".join(lines).encode("utf-8"))

    # -- properties ------------------------------------------------------------

    @property
    def order(self) -> int:
        """``n``, the longest n-gram."""
        return self._order

    @property
    def vocab_size(self) -> int:
        """``V``, the number of token ids, blank included."""
        return self._vocab_size

    @property
    def blank(self) -> int:
        """Id of the CTC blank, which the model never scores."""
        return self._blank

    @property
    def smoothing(self) -> str:
        """``"kneser-ney"``, ``"witten-bell"`` or ``"arpa"`` (loaded from a file)."""
        return self._smoothing

    @property
    def discounts(self) -> tuple[tuple[float, float, float], ...]:
        """Kneser-Ney ``(D1, D2, D3+)`` per order 1..n (empty otherwise)."""
        return self._discounts

    @property
    def ngram_counts(self) -> tuple[int, ...]:
        """Number of explicit n-grams of each order 1..n (``<s>`` included, ``<unk>`` not)."""
        return tuple(int(g.shape[0]) for g in self._entries.grams)

    @property
    def tables(self) -> LMTables:
        """The model compiled to :class:`LMTables` (built on first use, then cached)."""
        return self._compiled().tables

    def __repr__(self) -> str:
        return (
            f"NGramLM(order={self._order}, vocab_size={self._vocab_size}, blank={self._blank}, "
            f"smoothing={self._smoothing!r}, ngrams={list(self.ngram_counts)})"
        )

    def _compiled(self) -> _Automaton:
        if self._automaton is None:
            self._automaton = _build_automaton(
                self._entries, self._order, self._vocab_size, self._blank, self._unk_logp
            )
        return self._automaton

    def _compiled_tables(self, vocab_size: int, blank: int) -> LMTables:
        """Hook for :func:`compile_lm`: the cached tables, after checking the vocabulary."""
        if (vocab_size, blank) != (self._vocab_size, self._blank):
            raise InputValueError(
                f"this NGramLM was built for vocab_size={self._vocab_size}, blank={self._blank}; "
                f"got vocab_size={vocab_size}, blank={blank}"
            )
        return self.tables

    # -- LanguageModel protocol -----------------------------------------------

    def start_state(self) -> tuple[int, ...]:
        """The context ``<s>``.

        Example:
            >>> lm = NGramLM.fit([[1, 2]], order=2, vocab_size=3)
            >>> lm.end_score(lm.start_state()) < 0
            True
        """
        return (self._vocab_size + 1,)

    def score(self, state: Hashable, token: int) -> tuple[float, tuple[int, ...]]:
        """Natural-log ``P(token | state)`` and the state after ``token``.

        Evaluated from the n-grams with backoff (independently of
        :attr:`tables`, which hold the same values).

        Args:
            state: A state from :meth:`start_state` or an earlier call.
            token: A token id in ``[0, vocab_size)``, not the blank.

        Returns:
            ``(log_prob, next_state)``.

        Raises:
            InputValueError: If ``token`` is out of range or the blank.
            InputTypeError: If ``state`` is not a state of this model.

        Example:
            >>> lm = NGramLM.fit([[1, 1, 2]], order=2, vocab_size=3)
            >>> lp, s = lm.score(lm.start_state(), 1)
            >>> lp < 0, s
            (True, (1,))
        """
        ctx = self._check_state(state)
        token = _check_int(token, "token", low=0)
        if token >= self._vocab_size or token == self._blank:
            raise InputValueError(
                f"token must be a non-blank id in [0, {self._vocab_size}) "
                f"(blank={self._blank}), got {token}"
            )
        return self._logp(ctx, token), self._next(ctx, token)

    def end_score(self, state: Hashable) -> float:
        """Natural-log ``P(</s> | state)``.

        Example:
            >>> lm = NGramLM.fit([[1, 2]], order=2, vocab_size=3)
            >>> _, s = lm.score(lm.start_state(), 1)
            >>> _, s = lm.score(s, 2)
            >>> round(float(np.exp(lm.end_score(s))), 3)
            0.667
        """
        return self._logp(self._check_state(state), self._vocab_size)

    def log_prob(self, sequence: npt.ArrayLike) -> float:
        """Natural-log probability of a whole sentence, ``</s>`` included.

        Computed with :attr:`tables`.

        Args:
            sequence: 1-D token ids without the blank.

        Returns:
            ``sum_i log P(w_i | history) + log P(</s> | history)``.

        Raises:
            InputValueError: On a token out of range or the blank.

        Example:
            >>> lm = NGramLM.fit([[1, 2]], order=2, vocab_size=3)
            >>> round(lm.log_prob([1, 2]), 4)
            -1.2164
        """
        seq = _check_sequence(sequence, 0, self._vocab_size, self._blank)
        return self._log_prob_ids(seq)

    def perplexity(self, sequences: Iterable[npt.ArrayLike]) -> float:
        """Per-event perplexity: ``exp(-total log-prob / (tokens + sentences))``.

        Each sentence contributes its tokens and its ``</s>``.

        Args:
            sequences: Sentences of token ids without the blank.

        Returns:
            The perplexity (``>= 1``).

        Raises:
            InputValueError: On an empty list, or a bad token (naming the
                sentence and position).

        Example:
            >>> lm = NGramLM.fit([[1, 2], [2, 1]], order=2, vocab_size=3)
            >>> lm.perplexity([[1, 2], [2, 1]]) < lm.perplexity([[1, 1, 1, 1]])
            True
        """
        seqs = [
            _check_sequence(s, i, self._vocab_size, self._blank) for i, s in enumerate(sequences)
        ]
        if not seqs:
            raise InputValueError("perplexity needs at least one sentence, got none")
        total = sum(self._log_prob_ids(s) for s in seqs)
        events = sum(int(s.shape[0]) + 1 for s in seqs)
        return math.exp(-total / events)

    def _log_prob_ids(self, seq: IntArray) -> float:
        t = self.tables
        s = t.start
        total = 0.0
        for v in seq.tolist():
            total += float(t.logp[s, v])
            s = int(t.next_state[s, v])
        return total + float(t.end_logp[s])

    # -- backoff evaluation in Python --------------------------------------------

    def _check_state(self, state: Hashable) -> tuple[int, ...]:
        states = self._states()
        if not isinstance(state, tuple) or state not in states:
            raise InputTypeError(
                f"state must be a state of this NGramLM (from start_state or score), got {state!r}"
            )
        return state

    def _states(self) -> frozenset[tuple[int, ...]]:
        if self._state_set is None:
            self._state_set = frozenset(
                tuple(row) for rows in self._compiled().states for row in rows.tolist()
            )
        return self._state_set

    def _ngram_index(self) -> dict[tuple[int, ...], tuple[float, float]]:
        if self._index is None:
            index: dict[tuple[int, ...], tuple[float, float]] = {}
            e = self._entries
            for grams, logp, logbo in zip(e.grams, e.logp, e.logbo):
                index.update(zip(map(tuple, grams.tolist()), zip(logp.tolist(), logbo.tolist())))
            self._index = index
        return self._index

    def _logp(self, ctx: tuple[int, ...], word: int) -> float:
        index = self._ngram_index()
        total = 0.0
        while True:
            hit = index.get((*ctx, word))
            if hit is not None:
                return total + hit[0]
            if not ctx:
                return total + self._unk_logp
            ctx_entry = index.get(ctx)
            if ctx_entry is not None:
                total += ctx_entry[1]
            ctx = ctx[1:]

    def _next(self, ctx: tuple[int, ...], word: int) -> tuple[int, ...]:
        states = self._states()
        nxt = (*ctx, word)[-(self._order - 1) :]
        while nxt and nxt not in states:
            nxt = nxt[1:]
        return nxt


def _check_discount(
    discount: float | Sequence[float] | None, smoothing: str
) -> tuple[float, float, float] | None:
    if discount is None:
        return None
    if smoothing != "kneser-ney":
        raise InputValueError(f"discount applies to Kneser-Ney only, got smoothing={smoothing!r}")
    if isinstance(discount, bool):
        raise InputTypeError(f"discount must be None, a float or three floats, got {discount!r}")
    if isinstance(discount, (int, float, np.floating)):
        one = float(discount)
        if not 0.0 < one <= 1.0:
            raise InputValueError(f"a single discount must be in (0, 1], got {discount}")
        return (one, one, one)
    try:
        values = tuple(float(d) for d in discount)
    except (TypeError, ValueError):
        raise InputTypeError(
            f"discount must be None, a float or three floats, got {discount!r}"
        ) from None
    if len(values) != 3 or not all(0.0 < d <= j for j, d in enumerate(values, start=1)):
        raise InputValueError(
            f"discount must be three floats (D1, D2, D3+) with 0 < Dj <= j, got {discount!r}"
        )
    return (values[0], values[1], values[2])


def _check_sequence(seq: object, index: int, vocab_size: int, blank: int) -> IntArray:
    tolist = getattr(seq, "tolist", None)  # torch tensors
    data = tolist() if callable(tolist) and not isinstance(seq, np.ndarray) else seq
    try:
        arr = np.asarray(data)
    except (TypeError, ValueError):
        raise InputTypeError(
            f"sentence {index} must be a 1-D sequence of token ids, got {type(seq).__name__}"
        ) from None
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise InputTypeError(
            f"sentence {index} must be a 1-D sequence of integer token ids, "
            f"got shape {arr.shape} and dtype {arr.dtype}"
        )
    arr = arr.astype(np.int64)
    bad = np.flatnonzero((arr < 0) | (arr >= vocab_size) | (arr == blank))
    if bad.size:
        p = int(bad[0])
        what = "the blank" if arr[p] == blank else f"outside [0, {vocab_size})"
        raise InputValueError(
            f"sentence {index}, position {p}: token {int(arr[p])} is {what}; "
            "LM sentences hold non-blank token ids"
        )
    return arr


# ---------------------------------------------------------------------------
# ARPA input and output
# ---------------------------------------------------------------------------

_MARKERS = ("<s>", "</s>", "<unk>")


def _symbols_for(
    vocab: Vocabulary | Mapping[str, int] | None, vocab_size: int, blank: int
) -> list[str]:
    """One ARPA word per token id (the blank's entry is never written)."""
    if vocab is None:
        return [str(i) for i in range(vocab_size)]
    if isinstance(vocab, Vocabulary):
        if len(vocab) != vocab_size:
            raise InputValueError(
                f"vocab has {len(vocab)} labels but the model has vocab_size={vocab_size}"
            )
        words = list(vocab.labels)
    elif isinstance(vocab, Mapping):
        words = [""] * vocab_size
        for symbol, i in vocab.items():
            if not isinstance(i, (int, np.integer)) or not 0 <= int(i) < vocab_size:
                raise InputValueError(
                    f"vocab maps {symbol!r} to {i!r}, not an id in [0, {vocab_size})"
                )
            words[int(i)] = str(symbol)
    else:
        raise InputTypeError(
            f"vocab must be a Vocabulary, a mapping of symbols to ids or None, "
            f"got {type(vocab).__name__}"
        )
    for i, w in enumerate(words):
        if i == blank:
            continue
        if not w or any(c.isspace() for c in w) or w in _MARKERS:
            raise InputValueError(
                f"token {i} has symbol {w!r}, which cannot be an ARPA word "
                "(empty, whitespace, or one of <s>, </s>, <unk>)"
            )
    return words


def _parse_float(text: str, what: str, path: str, line_no: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise DataError(f"line {line_no}: bad {what} {text!r} (not a number)", path=path) from None
    if math.isnan(value) or value == math.inf:
        raise DataError(f"line {line_no}: bad {what} {text!r}", path=path)
    return value


def _read_arpa(
    path: str | os.PathLike[str],
    vocab: Vocabulary | Mapping[str, int] | None,
    vocab_size: int | None,
    blank: int | None,
) -> NGramLM:
    spath = os.fspath(path)
    try:
        with open(spath, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as err:
        raise DataError(f"cannot read the ARPA file: {err.strerror}", path=spath) from None
    except UnicodeDecodeError as err:
        raise DataError(f"not a UTF-8 text file ({err.reason})", path=spath) from None

    def fail(line_no: int, message: str) -> DataError:
        return DataError(f"line {line_no}: {message}", path=spath)

    # --- structure: header, counts, sections -------------------------------------
    i = 0
    while i < len(lines) and lines[i].strip() != "\\data\\":
        i += 1
    if i == len(lines):
        raise fail(len(lines), "no \\data\\ header found before the end of the file")
    i += 1
    declared: list[int] = []
    while i < len(lines):
        text = lines[i].strip()
        if text.startswith("ngram "):
            lhs, eq, rhs = text[6:].partition("=")
            try:
                k, c = int(lhs), int(rhs)
            except ValueError:
                raise fail(i + 1, f"expected 'ngram N=COUNT', got {text!r}") from None
            if not eq or k != len(declared) + 1 or c < 0:
                raise fail(i + 1, f"expected 'ngram {len(declared) + 1}=COUNT', got {text!r}")
            declared.append(c)
        elif text:
            break
        i += 1
    if not declared:
        raise fail(min(i + 1, len(lines)), "no 'ngram N=COUNT' lines after \\data\\")
    order = len(declared)

    raw: list[list[tuple[int, float, list[str], float]]] = []  # (line, logp10, words, bo10)
    for k in range(1, order + 1):
        while i < len(lines) and not lines[i].strip():
            i += 1
        if i == len(lines):
            raise fail(len(lines), f"the file ends before the \\{k}-grams: section (truncated)")
        if lines[i].strip() != f"\\{k}-grams:":
            raise fail(i + 1, f"expected '\\{k}-grams:', got '{lines[i].strip()}'")
        i += 1
        section: list[tuple[int, float, list[str], float]] = []
        while i < len(lines):
            text = lines[i].strip()
            if not text or text.startswith("\\"):
                break
            fields = text.split()
            if len(fields) not in (k + 1, k + 2):
                raise fail(
                    i + 1,
                    f"a {k}-gram line needs a log10 probability, {k} words and an optional "
                    f"backoff; got {len(fields)} fields",
                )
            if len(fields) == k + 2 and k == order:
                raise fail(i + 1, f"a {k}-gram of the highest order cannot have a backoff")
            p = _parse_float(fields[0], "log10 probability", spath, i + 1)
            b = (
                _parse_float(fields[k + 1], "log10 backoff", spath, i + 1)
                if len(fields) == k + 2
                else 0.0
            )
            section.append((i + 1, p, fields[1 : k + 1], b))
            i += 1
        if len(section) != declared[k - 1]:
            where = i + 1 if i < len(lines) else len(lines)
            raise fail(
                where,
                f"the \\{k}-grams: section has {len(section)} entries but \\data\\ declares "
                f"ngram {k}={declared[k - 1]}",
            )
        raw.append(section)
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i == len(lines):
        raise fail(len(lines), "the file ends without \\end\\ (truncated)")
    if lines[i].strip() != "\\end\\":
        raise fail(i + 1, f"expected '\\end\\', got '{lines[i].strip()}'")

    # --- vocabulary -----------------------------------------------------------
    if isinstance(vocab, Vocabulary):
        word_ids: dict[str, int] | None = {w: j for j, w in enumerate(vocab.labels)}
        size = len(vocab) if vocab_size is None else vocab_size
        blank_id = vocab.blank if blank is None else blank
    elif isinstance(vocab, Mapping):
        word_ids = {str(w): int(j) for w, j in vocab.items()}
        size = vocab_size if vocab_size is not None else max(word_ids.values(), default=0) + 1
        blank_id = 0 if blank is None else blank
    elif vocab is None:
        word_ids = None
        ids = [
            int(w)
            for section in raw
            for _, _, ws, _ in section
            for w in ws
            if w not in _MARKERS and w.isdigit()
        ]
        blank_id = 0 if blank is None else blank
        size = vocab_size if vocab_size is not None else max([*ids, blank_id]) + 1
    else:
        raise InputTypeError(
            f"vocab must be a Vocabulary, a mapping of symbols to ids or None, "
            f"got {type(vocab).__name__}"
        )
    size = _check_int(size, "vocab_size", low=2)
    blank_id = _check_int(blank_id, "blank", low=0)
    if blank_id >= size:
        raise InputValueError(f"blank must be in [0, {size}), got {blank_id}")
    eos, bos, unk = size, size + 1, -1

    def word_id(w: str, line_no: int) -> int:
        if w == "<s>":
            return bos
        if w == "</s>":
            return eos
        if w == "<unk>":
            return unk
        j = (int(w) if w.isdigit() else -2) if word_ids is None else word_ids.get(w, -2)
        if not 0 <= j < size or j == blank_id:
            what = "the blank" if j == blank_id else "not in the vocabulary"
            raise fail(line_no, f"unknown word {w!r} ({what})")
        return j

    unk_logp = _UNK_LOG10 * _LN10
    grams: list[IntArray] = []
    logp: list[FloatArray] = []
    logbo: list[FloatArray] = []
    seen: set[tuple[int, ...]] = set()
    for k, section in enumerate(raw, start=1):
        rows: list[list[int]] = []
        ps: list[float] = []
        bs: list[float] = []
        for line_no, p, ws, b in section:
            row = [word_id(w, line_no) for w in ws]
            if bos in row[1:]:
                raise fail(line_no, "<s> can only be the first word of an n-gram")
            if eos in row[:-1]:
                raise fail(line_no, "</s> can only be the last word of an n-gram")
            if unk in row:
                if k == 1:
                    unk_logp = p * _LN10
                continue
            key = tuple(row)
            if key in seen:
                raise fail(line_no, f"duplicate {k}-gram {' '.join(ws)!r}")
            seen.add(key)
            rows.append(row)
            ps.append(-math.inf if row == [bos] else p * _LN10)
            bs.append(b * _LN10)
        grams.append(np.array(rows, dtype=np.int64).reshape(len(rows), k))
        logp.append(np.array(ps, dtype=np.float64))
        logbo.append(np.array(bs, dtype=np.float64))
    if order == 1:  # a unigram model: add an empty bigram level so <s> is a context
        order = 2
        grams.append(np.zeros((0, 2), dtype=np.int64))
        logp.append(np.zeros(0))
        logbo.append(np.zeros(0))
    return NGramLM(
        order=order,
        vocab_size=size,
        blank=blank_id,
        entries=_Entries(grams, logp, logbo),
        smoothing="arpa",
        unk_logp=unk_logp,
    )
