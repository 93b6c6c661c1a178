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
        idx = find(t.keys, t.start[k], t.start[k + 1] - t.start[k], key)
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


@numba.njit(cache=True)
def fill_order(
    keys: npt.NDArray[np.uint64],
    start: int,
    n_buckets: int,
    rows: npt.NDArray[np.int32],
    bucket_of: npt.NDArray[np.int64],
) -> tuple[int, int]:
    """Insert the n-grams ``rows`` (oldest word first) into one order's buckets.

    ``bucket_of[i]`` receives row ``i``'s index into ``keys``. Returns
    ``(-1, -1)``, or for the first n-gram whose key is already there
    ``(row, index)``: a duplicate or, with different words, a hash collision.
    """
    for i in range(rows.shape[0]):
        idx = insert(keys, start, n_buckets, ngram_key(rows[i]))
        if idx < 0:
            return np.int64(i), -1 - idx
        bucket_of[i] = idx
    return np.int64(-1), np.int64(-1)


@numba.njit(cache=True)
def mark_lower(
    keys: npt.NDArray[np.uint64],
    start: npt.NDArray[np.int64],
    rows: npt.NDArray[np.int32],
    extends: npt.NDArray[np.uint8],
    extends_left: npt.NDArray[np.uint8],
    uni_extends: npt.NDArray[np.uint8],
    uni_extends_left: npt.NDArray[np.uint8],
    missing: npt.NDArray[np.bool_],
) -> int:
    """For each k-gram (k >= 2) of ``rows``: its prefix has an extension and its suffix
    extends left. Flags are per bucket of the (k-1)-gram table (or per word for k = 2);
    ``missing[i, 0/1]`` marks a prefix/suffix absent from the table. Returns the number
    of rows with something missing."""
    m, k = rows.shape
    lower = k - 1
    n_missing = 0
    for i in range(m):
        row = rows[i]
        if lower == 1:
            uni_extends[row[0]] = 1
            uni_extends_left[row[1]] = 1
            continue
        bad = False
        for part in range(2):
            sub = row[:lower] if part == 0 else row[1:]
            idx = find(keys, start[lower], start[lower + 1] - start[lower], ngram_key(sub))
            if idx < 0:
                missing[i, part] = True
                bad = True
            elif part == 0:
                extends[idx] = 1
            else:
                extends_left[idx] = 1
        if bad:
            n_missing += 1
    return n_missing


@numba.njit(cache=True)
def backoff_prob(
    keys: npt.NDArray[np.uint64],
    start: npt.NDArray[np.int64],
    prob: npt.NDArray[np.float64],
    backoff: npt.NDArray[np.float64],
    uni_prob: npt.NDArray[np.float64],
    uni_backoff: npt.NDArray[np.float64],
    context: npt.NDArray[np.int32],
    word: int,
) -> float:
    """Log10 ``P(word | context)`` by the backoff rule (``context`` oldest first), from
    unflagged build-time values; every suffix of ``context`` must be in the tables."""
    c = context.shape[0]
    p = uni_prob[word]
    matched = 0  # context words used by the longest match
    key = np.uint64(word)
    for j in range(c):
        key = combine(key, context[c - 1 - j])
        k = j + 2
        idx = find(keys, start[k], start[k + 1] - start[k], key)
        if idx < 0:
            break
        p = prob[idx]
        matched = j + 1
    # add the backoffs of the context suffixes longer than the match
    for length in range(matched + 1, c + 1):
        sub = context[c - length :]
        if length == 1:
            p += uni_backoff[sub[0]]
        else:
            idx = find(keys, start[length], start[length + 1] - start[length], ngram_key(sub))
            p += backoff[idx]
    return float(p)
