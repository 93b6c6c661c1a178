"""Reading and writing language models in the ARPA text format (KenLM, SRILM)."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

from ctckit._checks import check_int
from ctckit.errors import DataError, InputTypeError, InputValueError
from ctckit.vocab import Vocabulary

__all__: list[str] = []

IntArray: TypeAlias = npt.NDArray[np.int64]
FloatArray: TypeAlias = npt.NDArray[np.float64]

_LN10 = math.log(10.0)
_ARPA_ZERO_LOG10 = -99.0  # what ARPA writers put for log10(0) (the <s> unigram)
_UNK_LOG10 = -100.0  # KenLM's substitute probability for a missing <unk>


@dataclass(frozen=True)
class _Entries:
    """Explicit n-grams of a backoff model, one array set per order (index k-1 for order k).

    Word ids are internal: tokens ``0..V-1``, ``</s>`` = ``V``, ``<s>`` = ``V+1``,
    ``<unk>`` = ``V+2``. ``logp`` is natural-log ``P(last word | the others)``
    (``-inf`` for the ``<s>`` unigram, which is never predicted); ``logbo`` the
    natural-log backoff weight (0 where the n-gram has none). The unigrams
    always hold ``<unk>`` (KenLM's log10 -100 when a file has none).
    """

    grams: list[IntArray]
    logp: list[FloatArray]
    logbo: list[FloatArray]


@dataclass(frozen=True)
class ArpaModel:
    """A backoff model as read from an ARPA file (internal ids, natural logs).

    ``open_vocab`` is true when the vocabulary size was inferred from integer
    words (the largest id, on line ``max_id_line``).
    """

    order: int
    vocab_size: int
    blank: int
    entries: _Entries
    open_vocab: bool = False
    max_id_line: int = 0


def _with_unk(entries: _Entries, vocab_size: int) -> _Entries:
    """``entries`` with an ``<unk>`` unigram of log10 -100 added if it has none."""
    unk = vocab_size + 2
    if (entries.grams[0][:, 0] == unk).any():
        return entries
    grams = [np.concatenate([entries.grams[0], [[unk]]]), *entries.grams[1:]]
    logp = [np.append(entries.logp[0], _UNK_LOG10 * _LN10), *entries.logp[1:]]
    logbo = [np.append(entries.logbo[0], 0.0), *entries.logbo[1:]]
    return _Entries(grams, logp, logbo)


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
) -> ArpaModel:
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
    max_id_line = 0
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
        max_id, max_id_line = -1, 0
        for line_no, _, ws, _ in raw[0]:
            w = ws[0]
            if w not in _MARKERS and w.isdigit() and int(w) > max_id:
                max_id, max_id_line = int(w), line_no
        blank_id = 0 if blank is None else blank
        size = vocab_size if vocab_size is not None else max(max_id, blank_id) + 1
    else:
        raise InputTypeError(
            f"vocab must be a Vocabulary, a mapping of symbols to ids or None, "
            f"got {type(vocab).__name__}"
        )
    size = check_int(size, "vocab_size", 2)
    blank_id = check_int(blank_id, "blank", 0)
    if blank_id >= size:
        raise InputValueError(f"blank must be in [0, {size}), got {blank_id}")
    eos, bos, unk = size, size + 1, size + 2
    listed: set[int] = set()

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
            if k == 1:
                listed.add(row[0])
            else:
                missing = next((w for w, j in zip(ws, row) if j not in listed), None)
                if missing is not None:
                    raise fail(line_no, f"word {missing!r} is not in the 1-grams")
            if p > 0.0:
                raise fail(line_no, f"a log10 probability must be <= 0, got {p}")
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
    for marker, wid in (("<s>", bos), ("</s>", eos)):
        if wid not in listed:
            raise fail(raw[0][0][0] - 1 if raw[0] else 1, f"the 1-grams have no {marker}")
    if order == 1:  # a unigram model: add an empty bigram level so <s> is a context
        order = 2
        grams.append(np.zeros((0, 2), dtype=np.int64))
        logp.append(np.zeros(0))
        logbo.append(np.zeros(0))
    entries = _with_unk(_Entries(grams, logp, logbo), size)
    open_vocab = vocab is None and vocab_size is None
    return ArpaModel(order, size, blank_id, entries, open_vocab, max_id_line)
