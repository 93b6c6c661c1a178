"""Numba kernels that read and write the lines of ARPA n-gram sections (private).

The reader scans one section of the file's bytes: each line is a log10
probability, ``k`` words and an optional log10 backoff, separated by spaces or
tabs; blank lines are skipped and a line that starts with a backslash ends
the section. It stores what it reads into arrays the caller allocated from
the counts the ``\\data\\`` header declares, keeps counting past them (so the
caller can report a count mismatch), and stops at the first malformed line
with an error code and the byte range of the offending field; the caller
turns that into a message with the line number.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import numpy.typing as npt

from ctckit.lm._hashing import find_word, find_word_by_key

__all__: list[str] = []

# error codes of the section readers
OK = 0
E_FIELDS = 1  # aux: the number of fields
E_TOP_BACKOFF = 2
E_PROB_TEXT = 3  # not a number
E_PROB_VALUE = 4  # NaN or +inf
E_BACKOFF_TEXT = 5
E_BACKOFF_VALUE = 6
E_POSITIVE = 7
E_WORD = 8  # a word not in the 1-grams
E_BOS = 9  # <s> after the first position
E_EOS = 10  # </s> before the last position

_POW10 = np.array([10.0**i for i in range(23)])


@numba.njit(cache=True, inline="always")
def _space(c: np.uint8) -> bool:
    return bool(c == 32 or c == 9 or c == 13 or c == 11 or c == 12)


@numba.njit(cache=True, inline="always")
def _lower(c: np.uint8) -> int:
    return np.int64(c) | 32 if 65 <= c <= 90 else np.int64(c)  # type: ignore[no-any-return]


_INF = np.frombuffer(b"infinity", dtype=np.uint8)
_NAN = np.frombuffer(b"nan", dtype=np.uint8)


@numba.njit(cache=True)
def _is_word(buf: npt.NDArray[np.uint8], begin: int, end: int, word: npt.NDArray[np.uint8]) -> bool:
    """``buf[begin:end]`` equals ``word`` (lower case ASCII), ignoring case."""
    if end - begin != word.shape[0]:
        return False
    for i in range(end - begin):  # noqa: SIM110 (Numba: no generators)
        if _lower(buf[begin + i]) != word[i]:
            return False
    return True


@numba.njit(cache=True)
def parse_float(buf: npt.NDArray[np.uint8], begin: int, end: int) -> tuple[float, int]:
    """``(value, status)``: status 0 for a number, 1 for text that is none, 2 for NaN or +inf.

    Decimal mantissas of up to 19 digits are exact in the integer and scaled
    by one exact power of ten when the exponent allows (one rounding).
    """
    i = begin
    negative = False
    if i < end and (buf[i] == 45 or buf[i] == 43):  # - +
        negative = buf[i] == 45
        i += 1
    if i < end and _lower(buf[i]) in (105, 110):  # i n: inf, infinity, nan
        if _is_word(buf, i, end, _INF[:3]) or _is_word(buf, i, end, _INF):
            return (-math.inf, 0) if negative else (math.inf, 2)
        if _is_word(buf, i, end, _NAN):
            return math.nan, 2
        return 0.0, 1
    mantissa = np.uint64(0)
    digits = 0
    exponent = 0
    seen = False
    while i < end and 48 <= buf[i] <= 57:
        seen = True
        if digits < 19:
            mantissa = mantissa * np.uint64(10) + np.uint64(buf[i] - 48)
            if mantissa != 0:
                digits += 1
        else:
            exponent += 1
        i += 1
    if i < end and buf[i] == 46:  # .
        i += 1
        while i < end and 48 <= buf[i] <= 57:
            seen = True
            if digits < 19:
                mantissa = mantissa * np.uint64(10) + np.uint64(buf[i] - 48)
                if mantissa != 0:
                    digits += 1
                exponent -= 1
            i += 1
    if not seen:
        return 0.0, 1
    if i < end and (buf[i] == 101 or buf[i] == 69):  # e E
        i += 1
        exp_negative = False
        if i < end and (buf[i] == 45 or buf[i] == 43):
            exp_negative = buf[i] == 45
            i += 1
        if i == end:
            return 0.0, 1
        e = 0
        while i < end and 48 <= buf[i] <= 57:
            if e < 100000:
                e = e * 10 + np.int64(buf[i] - 48)
            i += 1
        exponent += -e if exp_negative else e
    if i != end:
        return 0.0, 1
    value = float(mantissa)
    if exponent != 0 and value != 0.0:
        if 0 < exponent <= 22:
            value *= _POW10[exponent]
        elif -22 <= exponent < 0:
            value /= _POW10[-exponent]
        elif exponent > 0:
            value *= 10.0 ** min(exponent, 400)
        else:  # two steps, so that 10**exponent is not subnormal on the way
            value *= 10.0 ** max(exponent + 300, -400)
            value *= 1e-300
    if value == math.inf:
        return (-math.inf, 0) if negative else (math.inf, 2)
    return (-value if negative else value), 0


@numba.njit(cache=True)
def _split(
    buf: npt.NDArray[np.uint8],
    p: int,
    line_end: int,
    fb: npt.NDArray[np.int64],
    fe: npt.NDArray[np.int64],
) -> int:
    """Field boundaries of ``buf[p:line_end]`` into ``fb``/``fe``; returns the field count
    (counting on past the arrays' size)."""
    n = 0
    cap = fb.shape[0]
    while p < line_end:
        p = _skip_spaces(buf, p, line_end)
        if p == line_end:
            break
        q = p
        while q < line_end and not _space(buf[q]):
            q += 1
        if n < cap:
            fb[n] = p
            fe[n] = q
        n += 1
        p = q
    return n


@numba.njit(cache=True, inline="always")
def _skip_spaces(buf: npt.NDArray[np.uint8], p: int, end: int) -> int:
    while p < end and _space(buf[p]):
        p += 1
    return p


@numba.njit(cache=True)
def _next_line(buf: npt.NDArray[np.uint8], p: int) -> int:
    n = buf.shape[0]
    while p < n and buf[p] != 10:
        p += 1
    return p


@numba.njit(cache=True)
def _values(
    buf: npt.NDArray[np.uint8],
    fb: npt.NDArray[np.int64],
    fe: npt.NDArray[np.int64],
    n_fields: int,
    k: int,
    top: bool,
) -> tuple[int, int, float, float]:
    """``(error, field, log10 prob, log10 backoff)`` of a line already split."""
    if n_fields != k + 1 and n_fields != k + 2:
        return E_FIELDS, 0, 0.0, 0.0
    if n_fields == k + 2 and top:
        return E_TOP_BACKOFF, k + 1, 0.0, 0.0
    prob, status = parse_float(buf, fb[0], fe[0])
    if status == 1:
        return E_PROB_TEXT, 0, 0.0, 0.0
    if status == 2:
        return E_PROB_VALUE, 0, 0.0, 0.0
    if prob > 0.0:
        return E_POSITIVE, 0, 0.0, 0.0
    backoff = 0.0
    if n_fields == k + 2:
        backoff, status = parse_float(buf, fb[k + 1], fe[k + 1])
        if status == 1:
            return E_BACKOFF_TEXT, k + 1, 0.0, 0.0
        if status == 2:
            return E_BACKOFF_VALUE, k + 1, 0.0, 0.0
    return OK, 0, prob, backoff


@numba.njit(cache=True)
def read_unigrams(
    buf: npt.NDArray[np.uint8],
    pos: int,
    top: bool,
    prob: npt.NDArray[np.float64],
    backoff: npt.NDArray[np.float64],
    word_begin: npt.NDArray[np.int64],
    word_end: npt.NDArray[np.int64],
    line_at: npt.NDArray[np.int64],
) -> tuple[int, int, int, int, int, int, int]:
    """Read the 1-grams from ``pos``.

    Returns ``(count, section_end, after_last, error, err_begin, err_end,
    aux)``: entries read, the offset of the line that ends the section (or
    the file's length), the offset just past the last entry's line, and for
    an error its code, the offending field's byte range and an extra value.
    """
    n = buf.shape[0]
    cap = prob.shape[0]
    fb = np.zeros(4, dtype=np.int64)
    fe = np.zeros(4, dtype=np.int64)
    count = 0
    after_last = pos
    while pos < n:
        line_end = _next_line(buf, pos)
        p = _skip_spaces(buf, pos, line_end)
        if p == line_end:  # a blank line
            pos = line_end + 1
            continue
        if buf[p] == 92:  # backslash: the next section
            return count, pos, after_last, OK, 0, 0, 0
        n_fields = _split(buf, p, line_end, fb, fe)
        err, field, lp, bo = _values(buf, fb, fe, n_fields, 1, top)
        if err != OK:
            return count, pos, after_last, err, fb[field], fe[field], n_fields
        if count < cap:
            prob[count] = lp
            backoff[count] = bo
            word_begin[count] = fb[1]
            word_end[count] = fe[1]
            line_at[count] = pos
        count += 1
        pos = line_end + 1
        after_last = min(pos, n)
    return count, n, after_last, OK, 0, 0, 0


@numba.njit(cache=True)
def read_ngrams(
    buf: npt.NDArray[np.uint8],
    pos: int,
    k: int,
    top: bool,
    wkeys: npt.NDArray[np.uint64],
    wids: npt.NDArray[np.int32],
    blob: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.int64],
    bos: int,
    eos: int,
    verify: bool,
    rows: npt.NDArray[np.int32],
    prob: npt.NDArray[np.float64],
    backoff: npt.NDArray[np.float64],
    line_at: npt.NDArray[np.int64],
) -> tuple[int, int, int, int, int, int, int]:
    """Read the k-grams (k >= 2) from ``pos``, words as 1-gram indices; as :func:`read_unigrams`.

    ``verify``: compare a word's bytes on a key match (only needed when two
    1-grams share a 64-bit key).
    """
    n = buf.shape[0]
    cap = prob.shape[0]
    fb = np.zeros(k + 3, dtype=np.int64)
    fe = np.zeros(k + 3, dtype=np.int64)
    count = 0
    after_last = pos
    while pos < n:
        line_end = _next_line(buf, pos)
        p = _skip_spaces(buf, pos, line_end)
        if p == line_end:  # a blank line
            pos = line_end + 1
            continue
        if buf[p] == 92:
            return count, pos, after_last, OK, 0, 0, 0
        n_fields = _split(buf, p, line_end, fb, fe)
        err, field, lp, bo = _values(buf, fb, fe, n_fields, k, top)
        if err != OK:
            return count, pos, after_last, err, fb[field], fe[field], n_fields
        for j in range(k):
            if verify:
                w = find_word(wkeys, wids, blob, offsets, buf, fb[j + 1], fe[j + 1])
            else:
                w = find_word_by_key(wkeys, wids, buf, fb[j + 1], fe[j + 1])
            if w < 0:
                return count, pos, after_last, E_WORD, fb[j + 1], fe[j + 1], 0
            if w == bos and j > 0:
                return count, pos, after_last, E_BOS, fb[j + 1], fe[j + 1], 0
            if w == eos and j < k - 1:
                return count, pos, after_last, E_EOS, fb[j + 1], fe[j + 1], 0
            if count < cap:
                rows[count, j] = w
        if count < cap:
            prob[count] = lp
            backoff[count] = bo
            line_at[count] = pos
        count += 1
        pos = line_end + 1
        after_last = min(pos, n)
    return count, n, after_last, OK, 0, 0, 0


@numba.njit(cache=True)
def gather(
    buf: npt.NDArray[np.uint8], begin: npt.NDArray[np.int64], end: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """The byte ranges ``buf[begin[i]:end[i]]`` packed into one blob, with offsets."""
    m = begin.shape[0]
    offsets = np.zeros(m + 1, dtype=np.int64)
    for i in range(m):
        offsets[i + 1] = offsets[i] + end[i] - begin[i]
    blob = np.empty(offsets[m], dtype=np.uint8)
    for i in range(m):
        blob[offsets[i] : offsets[i + 1]] = buf[begin[i] : end[i]]
    return blob, offsets


# -- writing -------------------------------------------------------------------

_SIGNIFICANT = 9  # decimal digits written per value: enough to round-trip a float32


@numba.njit(cache=True)
def _put_int(out: npt.NDArray[np.uint8], pos: int, value: int, width: int) -> int:
    """Write ``value`` in decimal with at least ``width`` digits; returns the new position."""
    digits = 1
    v = value
    while v >= 10:
        v //= 10
        digits += 1
    digits = max(digits, width)
    for i in range(digits - 1, -1, -1):
        out[pos + i] = 48 + value % 10
        value //= 10
    return pos + digits


@numba.njit(cache=True)
def put_float(out: npt.NDArray[np.uint8], pos: int, value: float) -> int:
    """Write ``value`` with 9 significant digits, positional when ``1e-5 <= |v| < 1e9``
    and in scientific notation otherwise, trailing zeros dropped; returns the new position."""
    if value != value or value == math.inf or value == -math.inf:
        value = -99.0  # never reached for checked models: the conventional log10(0)
    if value < 0:
        out[pos] = 45
        pos += 1
        value = -value
    if value == 0.0:
        out[pos] = 48
        return pos + 1
    e = np.int64(math.floor(math.log10(value)))
    mantissa = np.int64(round(value * 10.0 ** (_SIGNIFICANT - 1 - e)))
    if mantissa >= 10**_SIGNIFICANT:  # rounding carried into a new digit
        mantissa //= 10
        e += 1
    elif mantissa < 10 ** (_SIGNIFICANT - 1):
        mantissa *= 10
        e -= 1
    strip = 0
    while strip < _SIGNIFICANT - 1 and mantissa % 10 == 0:
        mantissa //= 10
        strip += 1
    n_digits = _SIGNIFICANT - strip
    if -5 <= e < 9:
        if e >= 0:
            whole = n_digits if n_digits <= e + 1 else e + 1
            frac_digits = n_digits - whole
            scale = np.int64(10**frac_digits)
            pos = _put_int(out, pos, mantissa // scale, 1)
            for _ in range(e + 1 - whole):
                out[pos] = 48
                pos += 1
            if frac_digits > 0:
                out[pos] = 46
                pos = _put_int(out, pos + 1, mantissa % scale, frac_digits)
            return pos
        out[pos] = 48
        out[pos + 1] = 46
        pos += 2
        for _ in range(-e - 1):
            out[pos] = 48
            pos += 1
        return _put_int(out, pos, mantissa, n_digits)
    scale = np.int64(10 ** (n_digits - 1))
    pos = _put_int(out, pos, mantissa // scale, 1)
    if n_digits > 1:
        out[pos] = 46
        pos = _put_int(out, pos + 1, mantissa % scale, n_digits - 1)
    out[pos] = 101
    pos += 1
    if e < 0:
        out[pos] = 45
        pos += 1
        e = -e
    return _put_int(out, pos, e, 2)


@numba.njit(cache=True)
def write_section(
    rows: npt.NDArray[np.int32],
    prob: npt.NDArray[np.float64],
    backoff: npt.NDArray[np.float64],
    with_backoff: npt.NDArray[np.bool_],
    blob: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.int64],
) -> npt.NDArray[np.uint8]:
    """The lines ``prob<TAB>w1 w2 ..[<TAB>backoff]`` of one section, as UTF-8 bytes."""
    m, k = rows.shape
    size = 0
    for i in range(m):
        size += 2 * 32 + 3 + k
        for j in range(k):
            w = rows[i, j]
            size += offsets[w + 1] - offsets[w]
    out = np.empty(size, dtype=np.uint8)
    pos = 0
    for i in range(m):
        pos = put_float(out, pos, prob[i])
        for j in range(k):
            out[pos] = 9 if j == 0 else 32
            pos += 1
            w = rows[i, j]
            length = offsets[w + 1] - offsets[w]
            out[pos : pos + length] = blob[offsets[w] : offsets[w + 1]]
            pos += length
        if with_backoff[i]:
            out[pos] = 9
            pos = put_float(out, pos + 1, backoff[i])
        out[pos] = 10
        pos += 1
    return out[:pos]
