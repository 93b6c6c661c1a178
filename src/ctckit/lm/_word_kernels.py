"""The word n-gram store in flat arrays, and the Numba functions that query it (private).

This is the kernel-side API of :class:`ctckit.lm.WordNGramLM`: a word decoder
running in Numba gets the store as one :class:`WordTables` bundle
(``lm.kernel_tables``) and calls :func:`begin_state`, :func:`score_word` and
:func:`end_score` on it. Log-probabilities returned to kernels are natural
logarithms (float64); the store keeps KenLM's log10 values in float32.

**Store.** Word ids index the 1-grams in file order (``<unk>`` is appended at
log10 -100 when the file has none, as KenLM does); ``bos``, ``eos`` and
``unk`` are the ids of ``<s>``, ``</s>`` and ``<unk>``. 1-grams are dense
arrays by word id (``uni_prob``, ``uni_backoff``). Each order ``k`` from 2 to
``n`` is an open-addressing hash table of ``B_k`` buckets in
``keys[start[k]:start[k+1]]`` and ``prob[...]``, and for ``k < n`` also
``backoff[...]``: the key of an n-gram is the hash of its word ids from the
newest word back (see :mod:`ctckit.lm._hashing`), so a lookup extends towards
older context words one multiply and xor at a time. As in KenLM, the set of
n-grams is closed under suffixes and prefixes when it is built (a missing one
is inserted with the probability the backoff rule gives it and no backoff),
so a lookup can stop at the first order that misses. Two flags ride on the
float32 sign bits, as in KenLM: a stored probability with the sign bit clear
means *extends left* (some longer n-gram ends with this one; the real value
is ``-|p|``), so a lookup stops after an n-gram that does not; a backoff of
``-0.0`` means *no extension* (the n-gram is no longer n-gram's context and
has no backoff), so a state leaves it out.

**State** (KenLM's design, in flat arrays a beam can carry). A state of an
order-``n`` model is ``(words, backoffs, length)`` with ``words`` an int32
array of ``n - 1`` slots, ``backoffs`` a float32 array of ``n - 1`` slots and
``length`` in ``[0, n - 1]``: ``words[:length]`` are the context's word ids,
**newest first**, reduced to the longest suffix of the history that some
longer n-gram can extend, and ``backoffs[j]`` is the log10 backoff of the
n-gram ``words[j], ..., words[0]`` (oldest first). Two histories with equal
``(length, words[:length])`` have equal futures, so a decoder may merge on
that (:func:`state_key` hashes it); the slots past ``length`` are ignored.
For a beam array of states keep ``words`` as ``int32[beams, n-1]``,
``backoffs`` as ``float32[beams, n-1]`` and ``length`` as ``int32[beams]``
and pass rows. :func:`begin_state` writes the state of the context ``<s>``;
``length = 0`` is the empty context (KenLM's null context state, for
``bos=False``).

**Scoring** ``w`` from a state: look up ``w``, then ``words[0] w``, ...,
oldest last, stopping at a miss or at an n-gram that does not extend left;
the result is the log10 probability of the longest match plus the backoffs
of the contexts longer than the match (``backoffs[matched - 1:length]``).
Unknown words are ``unk``, which is a word like the others (its n-grams and
backoff apply).
"""

from __future__ import annotations

import math

import numba
import numpy as np
import numpy.typing as npt

from ctckit.lm._hashing import combine, find, find_word, insert, ngram_key, nonzero
from ctckit.lm._layout import WordTables

__all__ = ["WordTables", "begin_state", "end_score", "score_word", "state_key"]

_LN10 = math.log(10.0)


# -- flags on the sign bits ----------------------------------------------------


@numba.njit(cache=True, inline="always")
def _extends_left(stored: np.float32) -> bool:
    return math.copysign(1.0, stored) > 0.0


@numba.njit(cache=True, inline="always")
def _has_extension(backoff: np.float32) -> bool:
    return backoff != 0.0 or math.copysign(1.0, backoff) > 0.0


# -- queries -------------------------------------------------------------------


@numba.njit(cache=True, inline="always")
def _find(
    keys: npt.NDArray[np.uint64], start: npt.NDArray[np.int64], k: int, key: np.uint64
) -> int:
    """Index of ``key`` in order ``k``'s buckets, or -1."""
    lo, hi = int(start[k]), int(start[k + 1])
    return find(keys, lo, hi - lo, key)


@numba.njit(cache=True)
def score_log10(
    t: WordTables,
    words: npt.NDArray[np.int32],
    backoffs: npt.NDArray[np.float32],
    length: int,
    word: int,
    out_words: npt.NDArray[np.int32],
    out_backoffs: npt.NDArray[np.float32],
) -> tuple[float, int, int]:
    """``(log10 P(word | state), new length, matched n-gram length)``; writes the new state.

    ``out_words``/``out_backoffs`` must not share memory with ``words``/``backoffs``.
    """
    n = t.order
    stored = t.uni_prob[word]
    prob = -abs(np.float64(stored))
    bo = t.uni_backoff[word]
    if n > 1:
        out_words[0] = word
        out_backoffs[0] = bo
    new_length = np.int64(1) if (n > 1 and _has_extension(bo)) else np.int64(0)
    matched = np.int64(1)
    key = np.uint64(word)
    j = 0
    while j < length and _extends_left(stored):
        key = combine(key, words[j])
        k = j + 2
        idx = _find(t.keys, t.start, k, key)
        if idx < 0:
            break
        stored = t.prob[idx]
        prob = -abs(np.float64(stored))
        matched = k
        if k < n:
            bo = t.backoff[idx]
            out_words[j + 1] = words[j]
            out_backoffs[j + 1] = bo
            if _has_extension(bo):
                new_length = k
        j += 1
    for i in range(matched - 1, length):
        prob += backoffs[i]
    return prob, new_length, matched


@numba.njit(cache=True)
def score_word(
    t: WordTables,
    words: npt.NDArray[np.int32],
    backoffs: npt.NDArray[np.float32],
    length: int,
    word: int,
    out_words: npt.NDArray[np.int32],
    out_backoffs: npt.NDArray[np.float32],
) -> tuple[float, int]:
    """Natural-log ``P(word | state)`` and the new state's length (the state goes to ``out_*``).

    Args:
        t: The store.
        words, backoffs, length: The state (see the module docstring).
        word: A word id (``t.unk`` for a word not in the vocabulary).
        out_words, out_backoffs: The new state's arrays (``n - 1`` slots
            each); they must not share memory with ``words``/``backoffs``.
    """
    prob, new_length, _ = score_log10(t, words, backoffs, length, word, out_words, out_backoffs)
    return prob * _LN10, new_length


@numba.njit(cache=True)
def end_score(
    t: WordTables,
    words: npt.NDArray[np.int32],
    backoffs: npt.NDArray[np.float32],
    length: int,
) -> float:
    """Natural-log ``P(</s> | state)``."""
    n = max(t.order - 1, 1)
    scratch_words = np.empty(n, dtype=np.int32)
    scratch_bo = np.empty(n, dtype=np.float32)
    prob, _, _ = score_log10(t, words, backoffs, length, t.eos, scratch_words, scratch_bo)
    return prob * _LN10


@numba.njit(cache=True)
def begin_state(
    t: WordTables, out_words: npt.NDArray[np.int32], out_backoffs: npt.NDArray[np.float32]
) -> int:
    """Write the state of the context ``<s>``; returns its length (1; 0 for a 1-gram model)."""
    if t.order == 1:
        return 0
    out_words[0] = t.bos
    out_backoffs[0] = t.uni_backoff[t.bos]
    return 1


@numba.njit(cache=True)
def state_key(words: npt.NDArray[np.int32], length: int) -> np.uint64:
    """A 64-bit hash of ``(length, words[:length])``, for merging beams on LM state."""
    key = np.uint64(length)
    for j in range(length):
        key = combine(key, words[j])
    return nonzero(key)


@numba.njit(cache=True)
def word_ids(
    t: WordTables, buf: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64]
) -> npt.NDArray[np.int32]:
    """Ids of the words ``buf[offsets[i]:offsets[i+1]]`` (``t.unk`` for unknown ones)."""
    m = offsets.shape[0] - 1
    out = np.empty(m, dtype=np.int32)
    for i in range(m):
        w = find_word(
            t.vocab_keys,
            t.vocab_ids,
            t.vocab_bytes,
            t.vocab_offsets,
            buf,
            offsets[i],
            offsets[i + 1],
        )
        out[i] = t.unk if w < 0 else w
    return out


@numba.njit(cache=True)
def score_sentence(
    t: WordTables,
    ids: npt.NDArray[np.int32],
    bos: bool,
    eos: bool,
    probs: npt.NDArray[np.float64],
    matched: npt.NDArray[np.int64],
) -> float:
    """Log10 probability of a sentence (float32 sums, as KenLM); per-word values into
    ``probs``/``matched`` (``len(ids) + eos`` entries)."""
    slots = max(t.order - 1, 1)
    words = np.empty(slots, dtype=np.int32)
    backoffs = np.empty(slots, dtype=np.float32)
    next_words = np.empty(slots, dtype=np.int32)
    next_backoffs = np.empty(slots, dtype=np.float32)
    length = begin_state(t, words, backoffs) if bos else np.int64(0)
    total = np.float32(0.0)
    m = ids.shape[0]
    for i in range(m + (1 if eos else 0)):
        w = ids[i] if i < m else t.eos
        p, length, k = score_log10(t, words, backoffs, length, w, next_words, next_backoffs)
        probs[i] = p
        matched[i] = k
        total += np.float32(p)
        words, next_words = next_words, words
        backoffs, next_backoffs = next_backoffs, backoffs
    return float(total)


# -- building ------------------------------------------------------------------
#
# Values are written with their flags cleared (no left extension: -|p|; no extension:
# a zero backoff as -0.0) and the flags are set in place as longer n-grams are seen.


@numba.njit(cache=True, inline="always")
def _initial_backoff(b: float) -> np.float32:
    return np.float32(b) if b != 0.0 else np.float32(-0.0)  # type: ignore[no-any-return]


@numba.njit(cache=True)
def encode_unigrams(
    prob: npt.NDArray[np.float64], backoff: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """The 1-grams' stored values with their flags cleared."""
    p = np.empty(prob.shape[0], dtype=np.float32)
    b = np.empty(prob.shape[0], dtype=np.float32)
    for w in range(prob.shape[0]):
        p[w] = -abs(np.float32(prob[w]))
        b[w] = _initial_backoff(backoff[w])
    return p, b


@numba.njit(cache=True)
def fill_order(
    keys: npt.NDArray[np.uint64],
    stored_prob: npt.NDArray[np.float32],
    stored_backoff: npt.NDArray[np.float32],
    start: int,
    n_buckets: int,
    rows: npt.NDArray[np.int32],
    prob: npt.NDArray[np.float64],
    backoff: npt.NDArray[np.float64],
) -> int:
    """Insert one order's n-grams (oldest word first) with their values (flags cleared).

    ``stored_backoff`` is empty for the top order. Returns -1, or the first row
    whose key is already there (a duplicate, or with other words a hash collision).
    """
    with_backoff = stored_backoff.shape[0] > 0
    for i in range(rows.shape[0]):
        idx = insert(keys, start, n_buckets, ngram_key(rows[i]))
        if idx < 0:
            return i
        stored_prob[idx] = -abs(np.float32(prob[i]))
        if with_backoff:
            stored_backoff[idx] = _initial_backoff(backoff[i])
    return -1


@numba.njit(cache=True)
def mark_lower(
    keys: npt.NDArray[np.uint64],
    start: npt.NDArray[np.int64],
    rows: npt.NDArray[np.int32],
    stored_prob: npt.NDArray[np.float32],
    stored_backoff: npt.NDArray[np.float32],
    uni_prob: npt.NDArray[np.float32],
    uni_backoff: npt.NDArray[np.float32],
    missing: npt.NDArray[np.bool_],
) -> int:
    """Flag, for each k-gram (k >= 2) of ``rows``, its prefix as extended and its suffix
    as extending left; ``missing[i, 0/1]`` marks a prefix/suffix absent from the tables.
    Returns the number of rows with something missing."""
    m, k = rows.shape
    lower = k - 1
    n_missing = 0
    for i in range(m):
        row = rows[i]
        if lower == 1:
            if uni_backoff[row[0]] == 0.0:
                uni_backoff[row[0]] = 0.0
            uni_prob[row[1]] = abs(uni_prob[row[1]])
            continue
        bad = False
        idx = _find(keys, start, lower, ngram_key(row[:lower]))
        if idx < 0:
            missing[i, 0] = True
            bad = True
        elif stored_backoff[idx] == 0.0:
            stored_backoff[idx] = 0.0
        idx = _find(keys, start, lower, ngram_key(row[1:]))
        if idx < 0:
            missing[i, 1] = True
            bad = True
        else:
            stored_prob[idx] = abs(stored_prob[idx])
        if bad:
            n_missing += 1
    return n_missing


@numba.njit(cache=True)
def fill_blanks(
    keys: npt.NDArray[np.uint64],
    start: npt.NDArray[np.int64],
    stored_prob: npt.NDArray[np.float32],
    stored_backoff: npt.NDArray[np.float32],
    uni_prob: npt.NDArray[np.float32],
    uni_backoff: npt.NDArray[np.float32],
    blanks: npt.NDArray[np.int32],
) -> None:
    """Give the inserted n-grams ``blanks`` (one order) the log10 probability the backoff
    rule gives them from the orders below (which must be complete), keeping their flags:
    ``P(w | h) = backoff(h) + P(w | h without its oldest word)``."""
    k = blanks.shape[1]
    for i in range(blanks.shape[0]):
        row = blanks[i]
        context = row[: k - 1]
        p = _backoff_prob(keys, start, stored_prob, stored_backoff, uni_prob, uni_backoff,
                          context[1:], row[k - 1])  # fmt: skip
        if k == 2:
            p += uni_backoff[context[0]]
        else:
            p += stored_backoff[_find(keys, start, k - 1, ngram_key(context))]  # (closure)
        idx = _find(keys, start, k, ngram_key(row))
        magnitude = abs(np.float32(p))
        stored_prob[idx] = magnitude if _extends_left(stored_prob[idx]) else -magnitude


@numba.njit(cache=True)
def _backoff_prob(
    keys: npt.NDArray[np.uint64],
    start: npt.NDArray[np.int64],
    stored_prob: npt.NDArray[np.float32],
    stored_backoff: npt.NDArray[np.float32],
    uni_prob: npt.NDArray[np.float32],
    uni_backoff: npt.NDArray[np.float32],
    context: npt.NDArray[np.int32],
    word: int,
) -> float:
    """Log10 ``P(word | context)`` by the backoff rule (``context`` oldest first); every
    suffix of ``context`` must be in the tables."""
    c = context.shape[0]
    p = -abs(np.float64(uni_prob[word]))
    matched = 0  # context words used by the longest match
    key = np.uint64(word)
    for j in range(c):
        key = combine(key, context[c - 1 - j])
        k = j + 2
        idx = _find(keys, start, k, key)
        if idx < 0:
            break
        p = -abs(np.float64(stored_prob[idx]))
        matched = j + 1
    for length in range(matched + 1, c + 1):  # the backoffs of the longer context suffixes
        sub = context[c - length :]
        if length == 1:
            p += uni_backoff[sub[0]]
        else:
            idx = _find(keys, start, length, ngram_key(sub))
            p += stored_backoff[idx]
    return float(p)
