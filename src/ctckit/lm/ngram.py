"""Token n-gram language models: estimation (Kneser-Ney, Witten-Bell) and backoff tables.

:class:`NGramLM` is a token n-gram model trained from label sequences with
interpolated modified Kneser-Ney or interpolated Witten-Bell smoothing, read
from and written to the ARPA format that KenLM's tools use
(:mod:`ctckit.lm.arpa`), and compiled to :class:`~ctckit.lm.tables.LMTables`
for the beam search. Log-probabilities are natural logarithms (ARPA files
store log10 and are converted on reading and writing).
"""

from __future__ import annotations

import math
import os
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from ctckit._checks import check_int
from ctckit.errors import InputTypeError, InputValueError
from ctckit.files import atomic_write_bytes
from ctckit.lm.arpa import (
    _ARPA_ZERO_LOG10,
    _LN10,
    FloatArray,
    IntArray,
    _Entries,
    _read_arpa,
    _symbols_for,
    _with_unk,
)
from ctckit.lm.tables import LanguageModelBase, LMTables
from ctckit.vocab import Vocabulary

__all__ = ["NGramLM"]

_Smoothing = Literal["kneser-ney", "witten-bell"]
_FALLBACK_DISCOUNTS: tuple[float, float, float] = (0.5, 1.0, 1.5)  # KenLM's --discount_fallback
_MIN_ORDER, _MAX_ORDER = 2, 6
_MAX_TABLE_BYTES = 4 << 30  # dense tables beyond this are refused before allocation


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
class _Contexts:
    """The n-grams of each order with the contexts the model needs, and which are states.

    ``nodes[k]`` holds, in lexicographic order, the explicit k-grams together
    with the prefixes of the (k+1)-level nodes and the suffixes of their
    states (so the set is closed under both), ``(<s>,)`` at ``k = 1``; ``lp``
    and ``bo`` their log-probability (NaN where not explicit) and backoff;
    ``is_state[k]`` marks the contexts of length k the automaton keeps.
    """

    nodes: list[IntArray]
    lp: list[FloatArray]
    bo: list[FloatArray]
    is_state: list[npt.NDArray[np.bool_]]
    prefix_of: list[IntArray]  # node -> node one shorter (without its last word)
    suffix_of: list[IntArray]  # state -> node one shorter (without its first word)

    def state_rows(self) -> list[IntArray]:
        """The states of each context length 0..n-1, in state-id order."""
        n = len(self.nodes) - 1
        return [self.nodes[0]] + [self.nodes[k][self.is_state[k]] for k in range(1, n)]


def _contexts(entries: _Entries, order: int, vocab_size: int) -> _Contexts:
    """States: the contexts the model knows, closed under prefixes and suffixes.

    Every n-gram of order < n that is the context of a longer n-gram or
    carries a backoff weight is a state, as are the start context ``(<s>,)``
    and the empty context. A state that ends in ``</s>`` is not (nothing
    follows ``</s>``).
    """
    n, eos, bos = order, vocab_size, vocab_size + 1
    nodes: list[IntArray] = [np.zeros((1, 0), dtype=np.int64)] * (n + 1)
    lp: list[FloatArray] = [np.zeros(0)] * (n + 1)
    bo: list[FloatArray] = [np.zeros(0)] * (n + 1)
    is_state: list[npt.NDArray[np.bool_]] = [np.zeros(0, dtype=bool)] * (n + 1)
    prefix_of: list[IntArray] = [np.zeros(0, dtype=np.int64)] * (n + 1)
    suffix_of: list[IntArray] = [np.zeros(0, dtype=np.int64)] * (n + 1)
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
    return _Contexts(nodes, lp, bo, is_state, prefix_of, suffix_of)


@dataclass(frozen=True)
class _Automaton:
    tables: LMTables
    states: list[IntArray]  # rows of the states of each context length 0..n-1, in id order


def _table_bytes(n_states: int, vocab_size: int) -> int:
    return n_states * (vocab_size + 3) * (8 + 4)


def _build_automaton(
    entries: _Entries, order: int, vocab_size: int, blank: int, max_bytes: int
) -> _Automaton:
    """Compile a backoff model's n-grams into :class:`LMTables` (vectorised per order).

    A state's row is its backoff weight plus its suffix state's row,
    overwritten by the explicit n-grams it is the context of; ``next_state``
    likewise inherits its suffix's row and is overwritten by the states one
    token longer. Columns run over the tokens, ``</s>``, ``<s>`` (never
    predicted) and ``<unk>``; a token the model does not list takes the
    ``<unk>`` column, its score and its next state, as in KenLM.
    """
    n, eos, bos, unk = order, vocab_size, vocab_size + 1, vocab_size + 2
    ctx = _contexts(entries, order, vocab_size)
    nodes, lp, bo, is_state = ctx.nodes, ctx.lp, ctx.bo, ctx.is_state

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
    need = _table_bytes(n_states, vocab_size)
    if need > max_bytes:
        raise InputValueError(
            f"the LM's dense tables would take {need / 2**30:.3g} GiB ({n_states} states x "
            f"V={vocab_size} token ids), more than max_bytes={max_bytes / 2**30:.3g} GiB; "
            "use a smaller vocabulary or order (a word vocabulary needs ctckit.lm.WordNGramLM)"
        )
    width = vocab_size + 3
    table = np.full((n_states, width), -np.inf)
    nxt = np.zeros((n_states, width), dtype=np.int32)
    uni = nodes[1][:, 0]
    known = ~np.isnan(lp[1]) & (uni != bos)
    table[0, uni[known]] = lp[1][known]
    st1 = is_state[1] & (uni != bos)
    nxt[0, uni[st1]] = sid[1][st1]
    for k in range(1, n):
        states = np.flatnonzero(is_state[k])
        ids = sid[k][states]
        parent = (
            np.zeros(states.shape[0], dtype=np.int64) if k == 1 else sid[k - 1][ctx.suffix_of[k]]
        )
        table[ids] = bo[k][states, None] + table[parent]
        nxt[ids] = nxt[parent]
        up_ctx = sid[k][ctx.prefix_of[k + 1]]  # state id of each longer node's context
        up_word = nodes[k + 1][:, -1]
        known = ~np.isnan(lp[k + 1])
        table[up_ctx[known], up_word[known]] = lp[k + 1][known]
        if k + 1 < n:
            up_state = is_state[k + 1]
            nxt[up_ctx[up_state], up_word[up_state]] = sid[k + 1][up_state]
    unlisted = np.ones(vocab_size, dtype=bool)
    unlisted[uni[uni < vocab_size]] = False
    unlisted[blank] = False
    table[:, :vocab_size][:, unlisted] = table[:, unk, None]
    nxt[:, :vocab_size][:, unlisted] = nxt[:, unk, None]
    table[:, blank] = -np.inf
    nxt[:, blank] = np.arange(n_states, dtype=np.int32)
    start = int(sid[1][np.flatnonzero(nodes[1][:, 0] == bos)[0]])
    tables = LMTables(
        logp=np.ascontiguousarray(table[:, :vocab_size]),
        next_state=np.ascontiguousarray(nxt[:, :vocab_size]),
        end_logp=np.ascontiguousarray(table[:, eos]),
        start=start,
    )
    return _Automaton(tables, ctx.state_rows())


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
    blank: int | None,
    smoothing: str,
    discount: tuple[float, float, float] | None,
) -> tuple[_Entries, tuple[tuple[float, float, float], ...]]:
    """Count n-grams and smooth them; returns the model in backoff form and the discounts.

    Words are ``0..vocab_size-1`` (every one but ``blank`` is in the
    vocabulary, seen or not), ``</s>`` = ``vocab_size``, ``<s>`` =
    ``vocab_size + 1``. The token LM passes its CTC blank; the word LM passes
    ``None`` and a vocabulary whose word 0 is ``<unk>``.
    """
    n, eos, bos = order, vocab_size, vocab_size + 1
    base = vocab_size + 2
    lens = np.array([s.shape[0] + 2 for s in seqs], dtype=np.int64)
    starts = np.cumsum(lens) - lens
    pos = np.arange(int(lens.sum())) - np.repeat(starts, lens)
    tok = np.full(pos.shape[0], eos, dtype=np.int64)  # <s> w1 .. wm </s> per sentence
    tok[starts] = bos
    inner = (pos > 0) & (pos < np.repeat(lens, lens) - 1)
    tok[inner] = np.concatenate(seqs) if seqs else np.zeros(0, dtype=np.int64)

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
    in_vocab[bos] = False
    if blank is not None:
        in_vocab[blank] = False
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


class NGramLM(LanguageModelBase):
    """A token n-gram language model in backoff form, for shallow fusion.

    Build one with :meth:`fit` (from label-id sequences) or :meth:`from_arpa`
    (from an ARPA file, e.g. one written by KenLM's ``lmplz``); the
    constructor is internal. The model predicts the tokens ``0..V-1`` other
    than the CTC blank, plus the end of sentence ``</s>``; every sentence's
    history starts with ``<s>``. It implements :class:`LanguageModel` (states
    are opaque tuples: the longest context the model knows) and compiles
    itself to :class:`LMTables` (:meth:`to_tables`, :attr:`tables`, cached).
    The tables are dense, ``12 * S * V`` bytes for ``S`` states: small for
    phoneme or character vocabularies (order 4 on 2,000 sentences of 80
    phonemes: about 21,000 states, 10 MB), too large for word vocabularies
    (use :class:`~ctckit.lm.WordNGramLM` there).

    **Unknown tokens** follow KenLM: a token the model does not list (in a
    file read with :meth:`from_arpa`) is scored as ``<unk>`` and stays in
    the history as ``<unk>``, so ``<unk>``'s backoff weight and the n-grams
    that contain ``<unk>`` apply. Models from :meth:`fit` list every token.

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
        NGramLM(order=3, vocab_size=3, blank=0, smoothing='kneser-ney', ngrams=[5, 5, 6])
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
        open_vocab: bool = False,
        max_id_line: int = 0,
    ) -> None:
        self._order = order
        self._vocab_size = vocab_size
        self._blank = blank
        self._entries = _with_unk(entries, vocab_size)
        self._smoothing = smoothing
        self._discounts = discounts
        self._open_vocab = open_vocab
        self._max_id_line = max_id_line
        unigrams = self._entries.grams[0][:, 0]
        self._listed = frozenset(unigrams[unigrams < vocab_size].tolist())
        self._resized: dict[tuple[int, int], NGramLM] = {}
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
        order = check_int(order, "order", _MIN_ORDER)
        if order > _MAX_ORDER:
            raise InputValueError(f"order must be in [{_MIN_ORDER}, {_MAX_ORDER}], got {order}")
        vocab_size = check_int(vocab_size, "vocab_size", 2)
        blank = check_int(blank, "blank", 0)
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
        ``<unk>`` (log10 -100 when the file has no ``<unk>``) and is
        ``<unk>`` in the history, so the n-grams that contain ``<unk>`` and
        its backoff apply. Lines before ``\\data\\`` are ignored.

        With integer words and no ``vocab_size``, the vocabulary is open:
        :attr:`vocab_size` is the largest listed id + 1, and
        :meth:`to_tables` serves any larger vocabulary (a decoder's ``V``),
        its extra ids scoring as ``<unk>``; a listed id at or beyond the
        decoder's ``V`` is an error that names its line.

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
                a bad number, a positive log10 probability, an unknown word,
                a word of a longer n-gram missing from the 1-grams, a
                misplaced ``<s>`` or ``</s>``, a duplicate n-gram, or a file
                that ends before ``\\end\\``.
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
        model = _read_arpa(path, vocab, vocab_size, blank)
        return cls(
            order=model.order,
            vocab_size=model.vocab_size,
            blank=model.blank,
            entries=model.entries,
            smoothing="arpa",
            open_vocab=model.open_vocab,
            max_id_line=model.max_id_line,
        )

    def to_arpa(
        self, path: str | os.PathLike[str], vocab: Vocabulary | Mapping[str, int] | None = None
    ) -> None:
        """Write the model in the ARPA format, atomically.

        The interpolated model is written in backoff form (each listed
        n-gram with its interpolated probability, each context with its
        backoff weight), so a reader using the standard backoff rule, KenLM
        included, gets the same distribution. Log10 values carry 10
        significant digits. ``<s>`` gets the conventional -99; a fitted
        model's ``<unk>`` (never predicted: every token is listed) gets -100.

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
        words += ["</s>", "<s>", "<unk>"]
        e = self._entries
        lines = ["\\data\\"]
        lines += [f"ngram {k}={g.shape[0]}" for k, g in enumerate(e.grams, start=1)]
        for k, (grams, logp, logbo) in enumerate(zip(e.grams, e.logp, e.logbo), start=1):
            lines += ["", f"\\{k}-grams:"]
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
        """Number of n-grams of each order 1..n, as :meth:`to_arpa` lists them.

        ``<s>`` and ``<unk>`` are included (a file without ``<unk>`` gets
        KenLM's implicit one, log10 -100).
        """
        return tuple(int(g.shape[0]) for g in self._entries.grams)

    @property
    def tables(self) -> LMTables:
        """The model compiled to :class:`LMTables` for its own ``vocab_size`` and ``blank``.

        Built on first use, then cached; see :meth:`to_tables`.
        """
        return self._compiled(_MAX_TABLE_BYTES).tables

    def __repr__(self) -> str:
        return (
            f"NGramLM(order={self._order}, vocab_size={self._vocab_size}, blank={self._blank}, "
            f"smoothing={self._smoothing!r}, ngrams={list(self.ngram_counts)})"
        )

    def to_tables(
        self, vocab_size: int, blank: int = 0, *, max_bytes: int = _MAX_TABLE_BYTES
    ) -> LMTables:
        """The model as :class:`LMTables` for a decoder's vocabulary (cached).

        Args:
            vocab_size: The decoder's ``V``. It must equal :attr:`vocab_size`,
                except for a model read from an ARPA file of integer words
                without ``vocab_size`` (an open vocabulary), which serves any
                ``V`` above its largest listed id.
            blank: The decoder's blank id: :attr:`blank`, or for an open
                vocabulary any id the file does not list.
            max_bytes: Refuse tables larger than this (``12 * S * V`` bytes
                for ``S`` states) before allocating them.

        Returns:
            Tables with ``logp`` and ``next_state`` of shape ``(S, V)``.

        Raises:
            InputValueError: If the model cannot serve this vocabulary (naming
                the largest listed id and its line for an ARPA file), or the
                tables would exceed ``max_bytes``.

        Example:
            >>> lm = NGramLM.fit([[1, 2], [2, 1]], order=2, vocab_size=3)
            >>> lm.to_tables(3, 0) is lm.tables
            True
        """
        size = check_int(vocab_size, "vocab_size", 2)
        blank_id = check_int(blank, "blank", 0)
        max_bytes = check_int(max_bytes, "max_bytes", 1)
        if (size, blank_id) == (self._vocab_size, self._blank):
            return self._compiled(max_bytes).tables
        if not self._open_vocab:
            raise InputValueError(
                f"this NGramLM was built for vocab_size={self._vocab_size}, blank={self._blank}; "
                f"got vocab_size={size}, blank={blank_id}"
            )
        top = max(self._listed, default=-1)
        if size <= top:
            raise InputValueError(
                f"the ARPA file lists token id {top} (line {self._max_id_line}), outside the "
                f"decoder's vocabulary of V={size} ids [0, {size})"
            )
        if blank_id >= size or blank_id in self._listed:
            raise InputValueError(
                f"blank={blank_id} must be an id in [0, {size}) that the ARPA file does not list"
            )
        key = (size, blank_id)
        if key not in self._resized:
            self._resized[key] = NGramLM(
                order=self._order,
                vocab_size=size,
                blank=blank_id,
                entries=_renumber(self._entries, self._vocab_size, size),
                smoothing=self._smoothing,
            )
        return self._resized[key]._compiled(max_bytes).tables

    def _compiled(self, max_bytes: int) -> _Automaton:
        if self._automaton is None:
            self._automaton = _build_automaton(
                self._entries, self._order, self._vocab_size, self._blank, max_bytes
            )
        return self._automaton

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
        token = check_int(token, "token", 0)
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

        Evaluated from the n-grams with backoff, without building the dense
        :attr:`tables`.

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
        ctx = self.start_state()
        total = 0.0
        for v in seq.tolist():
            total += self._logp(ctx, v)
            ctx = self._next(ctx, v)
        return total + self._logp(ctx, self._vocab_size)

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
            rows = _contexts(self._entries, self._order, self._vocab_size).state_rows()
            self._state_set = frozenset(tuple(row) for r in rows for row in r.tolist())
        return self._state_set

    def _ngram_index(self) -> dict[tuple[int, ...], tuple[float, float]]:
        if self._index is None:
            index: dict[tuple[int, ...], tuple[float, float]] = {}
            e = self._entries
            for grams, logp, logbo in zip(e.grams, e.logp, e.logbo):
                index.update(zip(map(tuple, grams.tolist()), zip(logp.tolist(), logbo.tolist())))
            self._index = index
        return self._index

    def _word(self, token: int) -> int:
        """The model's word for a token id: the token, or ``<unk>`` if not listed."""
        if token < self._vocab_size and token not in self._listed:
            return self._vocab_size + 2
        return token

    def _logp(self, ctx: tuple[int, ...], token: int) -> float:
        index = self._ngram_index()
        word = self._word(token)
        total = 0.0
        while ctx:
            hit = index.get((*ctx, word))
            if hit is not None:
                return total + hit[0]
            ctx_entry = index.get(ctx)
            if ctx_entry is not None:
                total += ctx_entry[1]
            ctx = ctx[1:]
        return total + index[(word,)][0]  # every word has a unigram (<unk> included)

    def _next(self, ctx: tuple[int, ...], token: int) -> tuple[int, ...]:
        states = self._states()
        nxt = (*ctx, self._word(token))[-(self._order - 1) :]
        while nxt and nxt not in states:
            nxt = nxt[1:]
        return nxt


def _renumber(entries: _Entries, old_size: int, new_size: int) -> _Entries:
    """The entries with the marker ids (``>= old_size``) moved to a vocabulary of ``new_size``."""
    shift = new_size - old_size
    grams = [np.where(g >= old_size, g + shift, g) for g in entries.grams]
    return _Entries(grams, entries.logp, entries.logbo)


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
