"""Hashing and open-addressing (linear probing) tables in flat numpy arrays, for Numba (private).

Two kinds of keys:

* an **n-gram key** is a 64-bit hash of word ids, built from the newest word
  towards the oldest with KenLM's combining function, so extending a lookup by
  one older context word is one multiply and xor
  (``key(w) = w``, ``key(c w) = combine(key(w), c)``, ...);
* a **word key** is a 64-bit hash of a word's UTF-8 bytes (FNV-1a, then a
  finaliser), checked against the stored bytes on a hit, so word lookup is
  exact.

A table of ``B`` buckets holds keys in ``uint64`` with 0 meaning empty (a key
that hashes to 0 is stored as 1). The home bucket of a key is
``(mix(key) >> 32) * B >> 32`` (a multiply-shift range reduction, so ``B``
need not be a power of two); collisions probe the next buckets, wrapping
around.
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

__all__: list[str] = []

_K_CURRENT = np.uint64(8978948897894561157)  # KenLM's CombineWordHash constants
_K_NEXT = np.uint64(17894857484156487943)
_FNV_OFFSET = np.uint64(14695981039346656037)
_FNV_PRIME = np.uint64(1099511628211)
_MIX = np.uint64(0xFF51AFD7ED558CCD)

LOAD_FACTOR = 1.5  # buckets per entry (KenLM's default probing multiplier)


def bucket_count(entries: int) -> int:
    """Buckets for ``entries`` keys: ``1.5 * entries``, at least one more than the entries."""
    return max(int(entries * LOAD_FACTOR), entries + 1)


@numba.njit(cache=True, inline="always")
def nonzero(key: np.uint64) -> np.uint64:
    return key if key != 0 else np.uint64(1)


@numba.njit(cache=True, inline="always")
def combine(key: np.uint64, word: int) -> np.uint64:
    """The key of an n-gram extended by one older ``word`` (KenLM's CombineWordHash)."""
    return np.uint64((key * _K_CURRENT) ^ ((np.uint64(word) + np.uint64(1)) * _K_NEXT))  # type: ignore[no-any-return]


@numba.njit(cache=True, inline="always")
def home(key: np.uint64, n_buckets: int) -> int:
    h = key ^ (key >> np.uint64(33))
    h *= _MIX
    h ^= h >> np.uint64(33)
    # int64, not uint64: Numba would turn int64 + uint64 index arithmetic into float64
    return np.int64(((h >> np.uint64(32)) * np.uint64(n_buckets)) >> np.uint64(32))  # type: ignore[no-any-return]


@numba.njit(cache=True, inline="always")
def find(keys: npt.NDArray[np.uint64], start: int, n_buckets: int, key: np.uint64) -> int:
    """Index (into ``keys``) of ``key`` in the table ``keys[start:start+n_buckets]``, or -1."""
    key = nonzero(key)
    b = home(key, n_buckets)
    while True:
        k = keys[start + b]
        if k == key:
            return start + b
        if k == 0:
            return -1
        b += 1
        if b == n_buckets:
            b = 0


@numba.njit(cache=True)
def insert(keys: npt.NDArray[np.uint64], start: int, n_buckets: int, key: np.uint64) -> int:
    """Insert ``key``; returns its index, or ``-1 - index`` if it was already there."""
    key = nonzero(key)
    b = home(key, n_buckets)
    while True:
        k = keys[start + b]
        if k == key:
            return -1 - (start + b)
        if k == 0:
            keys[start + b] = key
            return start + b
        b += 1
        if b == n_buckets:
            b = 0


@numba.njit(cache=True, inline="always")
def ngram_key(row: npt.NDArray[np.int32]) -> np.uint64:
    """Key of an n-gram given oldest word first (the ARPA order)."""
    k = row.shape[0]
    key = np.uint64(row[k - 1])
    for j in range(k - 2, -1, -1):
        key = combine(key, row[j])
    return np.uint64(key)  # type: ignore[no-any-return]


@numba.njit(cache=True)
def ngram_keys(rows: npt.NDArray[np.int32]) -> npt.NDArray[np.uint64]:
    """Keys of the n-grams of a ``(m, k)`` array, oldest word first."""
    out = np.empty(rows.shape[0], dtype=np.uint64)
    for i in range(rows.shape[0]):
        out[i] = nonzero(ngram_key(rows[i]))
    return out


@numba.njit(cache=True, inline="always")
def bytes_key(buf: npt.NDArray[np.uint8], begin: int, end: int) -> np.uint64:
    h = _FNV_OFFSET
    for i in range(begin, end):
        h ^= np.uint64(buf[i])
        h *= _FNV_PRIME
    h ^= h >> np.uint64(29)
    h *= _MIX
    h ^= h >> np.uint64(32)
    return nonzero(h)


@numba.njit(cache=True, inline="always")
def same_bytes(
    a: npt.NDArray[np.uint8], a0: int, a1: int, b: npt.NDArray[np.uint8], b0: int
) -> bool:
    for i in range(a1 - a0):  # noqa: SIM110 (Numba: no generators)
        if a[a0 + i] != b[b0 + i]:
            return False
    return True


@numba.njit(cache=True)
def find_word(
    wkeys: npt.NDArray[np.uint64],
    wids: npt.NDArray[np.int32],
    blob: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.int64],
    buf: npt.NDArray[np.uint8],
    begin: int,
    end: int,
) -> int:
    """Id of the word ``buf[begin:end]`` in a vocabulary table, or -1."""
    n_buckets = wkeys.shape[0]
    key = bytes_key(buf, begin, end)
    b = home(key, n_buckets)
    length = end - begin
    while True:
        k = wkeys[b]
        if k == 0:
            return -1
        if k == key:
            w = wids[b]
            w0 = offsets[w]
            if offsets[w + 1] - w0 == length and same_bytes(buf, begin, end, blob, w0):
                return int(w)
        b += 1
        if b == n_buckets:
            b = 0


@numba.njit(cache=True)
def find_word_by_key(
    wkeys: npt.NDArray[np.uint64],
    wids: npt.NDArray[np.int32],
    buf: npt.NDArray[np.uint8],
    begin: int,
    end: int,
) -> int:
    """Id of the word ``buf[begin:end]`` trusting the 64-bit key alone (as KenLM does), or -1;
    only for a table whose words' keys are all different (see :func:`build_word_table`)."""
    n_buckets = wkeys.shape[0]
    key = bytes_key(buf, begin, end)
    b = home(key, n_buckets)
    while True:
        k = wkeys[b]
        if k == key:
            return int(wids[b])
        if k == 0:
            return -1
        b += 1
        if b == n_buckets:
            b = 0


@numba.njit(cache=True)
def build_word_table(
    blob: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int32], int, bool]:
    """A table of the words ``blob[offsets[i]:offsets[i+1]]``.

    Returns the keys and ids of the buckets, the first duplicate word's id
    (-1 if none) and whether two different words share a key (then lookups
    must compare bytes: :func:`find_word`).
    """
    n = offsets.shape[0] - 1
    n_buckets = max(np.int64(n * 1.5), n + 1)
    wkeys = np.zeros(n_buckets, dtype=np.uint64)
    wids = np.full(n_buckets, -1, dtype=np.int32)
    collided = False
    for w in range(n):
        begin, end = offsets[w], offsets[w + 1]
        key = bytes_key(blob, begin, end)
        b = home(key, n_buckets)
        while True:
            k = wkeys[b]
            if k == 0:
                wkeys[b] = key
                wids[b] = w
                break
            if k == key:
                o = offsets[wids[b]]
                if offsets[wids[b] + 1] - o == end - begin and same_bytes(
                    blob, begin, end, blob, o
                ):
                    return wkeys, wids, w, collided
                collided = True
            b += 1
            if b == n_buckets:
                b = 0
    return wkeys, wids, -1, collided
