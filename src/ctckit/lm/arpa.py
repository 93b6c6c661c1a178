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


# -- reading: the file's structure, whatever its words mean --------------------

_KENLM_MAGIC = b"mmap lm "
_CTCKIT_MAGIC = b"CTCKITLM"
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class ArpaFile:
    """An ARPA file parsed into flat arrays; words are indices into its 1-grams (file order).

    ``rows[k - 2]`` holds the k-grams (k >= 2), oldest word first; log10
    values as written (0 where a backoff is absent). ``line_at[k - 1]`` is
    each entry's byte offset in ``data`` (for errors found later), and
    ``bos``/``eos``/``unk`` the 1-gram indices of the markers (-1 if absent).
    """

    path: str
    data: bytes
    order: int
    blob: npt.NDArray[np.uint8]
    offsets: IntArray
    word_keys: npt.NDArray[np.uint64]
    word_ids: npt.NDArray[np.int32]
    uni_prob: FloatArray
    uni_backoff: FloatArray
    rows: list[npt.NDArray[np.int32]]
    prob: list[FloatArray]
    backoff: list[FloatArray]
    line_at: list[IntArray]
    bos: int
    eos: int
    unk: int

    def line(self, offset: int) -> int:
        """The 1-based line number of a byte offset."""
        return self.data.count(b"\n", 0, offset) + 1

    def fail(self, offset: int, message: str) -> DataError:
        return DataError(f"line {self.line(offset)}: {message}", path=self.path)

    def words(self) -> list[str]:
        """The 1-gram words in file order (decoded; for small vocabularies)."""
        text = self.blob.tobytes().decode("utf-8")
        ends = np.cumsum(np.diff(self.offsets))  # byte offsets -> the same in characters
        if len(text) == len(self.blob):
            return [text[int(a) : int(b)] for a, b in zip(self.offsets[:-1], ends)]
        raw = self.blob.tobytes()
        return [raw[a:b].decode("utf-8") for a, b in zip(self.offsets[:-1], self.offsets[1:])]


def _read_bytes(path: str | os.PathLike[str], reader: str) -> tuple[str, bytes]:
    spath = os.fspath(path)
    try:
        with open(spath, "rb") as f:
            data = f.read()
    except OSError as err:
        raise DataError(f"cannot read the ARPA file: {err.strerror}", path=spath) from None
    if data.startswith(_GZIP_MAGIC):
        import gzip
        import zlib

        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as err:
            raise DataError(f"a broken gzip file ({err})", path=spath) from None
    if data.startswith(_KENLM_MAGIC):
        raise DataError(
            "this is a KenLM binary file (made by build_binary), not an ARPA text file; "
            f"{reader} reads ARPA. KenLM cannot turn a binary file back into ARPA: use the ARPA "
            "file it was built from (lmplz writes one), or rebuild it with lmplz",
            path=spath,
        )
    if data.startswith(_CTCKIT_MAGIC):
        raise DataError(
            "this is a ctckit binary LM file, not an ARPA text file: use WordNGramLM.load",
            path=spath,
        )
    return spath, data


def _count_lines(data: bytes) -> int:
    return data.count(b"\n") + (0 if not data or data.endswith(b"\n") else 1)


def _line_text(data: bytes, pos: int) -> str:
    end = data.find(b"\n", pos)
    return data[pos : len(data) if end < 0 else end].decode("utf-8", "replace").strip()


def parse_arpa(path: str | os.PathLike[str], reader: str = "ctckit") -> ArpaFile:
    """Parse an ARPA file (plain or gzip) into :class:`ArpaFile`, checking its structure.

    Raises:
        DataError: Naming the path and line: no ``\\data\\`` header, a count that
            disagrees with its section, a malformed line or number, a positive
            log10 probability, a duplicate 1-gram, a word of a longer n-gram
            missing from the 1-grams, a misplaced ``<s>`` or ``</s>``, a missing
            ``<s>`` or ``</s>`` 1-gram, a file that ends early; or a KenLM
            binary file, with how to get its ARPA.
    """
    from ctckit.lm import _arpa_kernels as K
    from ctckit.lm._hashing import build_word_table, find_word

    spath, data = _read_bytes(path, reader)

    def fail_line(line_no: int, message: str) -> DataError:
        return DataError(f"line {line_no}: {message}", path=spath)

    # --- header -----------------------------------------------------------------
    pos = 0
    while True:
        at = data.find(b"\\data\\", pos)
        if at < 0:
            raise fail_line(
                _count_lines(data), "no \\data\\ header found before the end of the file"
            )
        line_start = data.rfind(b"\n", 0, at) + 1
        if not data[line_start:at].strip() and _line_text(data, at) == "\\data\\":
            break
        pos = at + 1
    pos = data.find(b"\n", at)
    pos = len(data) if pos < 0 else pos + 1
    declared: list[int] = []
    while pos < len(data):
        text = _line_text(data, pos)
        if text.startswith("ngram "):
            lhs, eq, rhs = text[6:].partition("=")
            try:
                k, c = int(lhs), int(rhs)
            except ValueError:
                raise fail_line(
                    data.count(b"\n", 0, pos) + 1, f"expected 'ngram N=COUNT', got {text!r}"
                ) from None
            if not eq or k != len(declared) + 1 or c < 0:
                raise fail_line(
                    data.count(b"\n", 0, pos) + 1,
                    f"expected 'ngram {len(declared) + 1}=COUNT', got {text!r}",
                )
            declared.append(c)
        elif text:
            break
        nl = data.find(b"\n", pos)
        pos = len(data) if nl < 0 else nl + 1
    if not declared:
        where = min(data.count(b"\n", 0, pos) + 1, _count_lines(data))
        raise fail_line(where, "no 'ngram N=COUNT' lines after \\data\\")
    order = len(declared)
    buf = np.frombuffer(data, dtype=np.uint8)

    def expect_header(pos: int, expected: str, what: str) -> int:
        if pos >= len(data):
            raise fail_line(_count_lines(data), what)
        text = _line_text(data, pos)
        if text != expected:
            raise fail_line(data.count(b"\n", 0, pos) + 1, f"expected '{expected}', got '{text}'")
        nl = data.find(b"\n", pos)
        return len(data) if nl < 0 else nl + 1

    def check(k: int, result: tuple[int, ...]) -> int:
        count, end, after_last, err, e0, e1, aux = result
        where = data.count(b"\n", 0, e0) + 1
        field = data[e0:e1].decode("utf-8", "replace")
        if err == K.E_FIELDS:
            raise fail_line(
                data.count(b"\n", 0, end) + 1,
                f"a {k}-gram line needs a log10 probability, {k} words and an optional "
                f"backoff; got {aux} fields",
            )
        if err == K.E_TOP_BACKOFF:
            raise fail_line(where, f"a {k}-gram of the highest order cannot have a backoff")
        if err in (K.E_PROB_TEXT, K.E_BACKOFF_TEXT):
            what = "log10 probability" if err == K.E_PROB_TEXT else "log10 backoff"
            raise fail_line(where, f"bad {what} {field!r} (not a number)")
        if err in (K.E_PROB_VALUE, K.E_BACKOFF_VALUE):
            what = "log10 probability" if err == K.E_PROB_VALUE else "log10 backoff"
            raise fail_line(where, f"bad {what} {field!r}")
        if err == K.E_POSITIVE:
            raise fail_line(where, f"a log10 probability must be <= 0, got {field}")
        if err == K.E_WORD:
            raise fail_line(where, f"word {field!r} is not in the 1-grams")
        if err == K.E_BOS:
            raise fail_line(where, "<s> can only be the first word of an n-gram")
        if err == K.E_EOS:
            raise fail_line(where, "</s> can only be the last word of an n-gram")
        if count != declared[k - 1]:
            raise fail_line(
                min(data.count(b"\n", 0, after_last) + 1, _count_lines(data)),
                f"the \\{k}-grams: section has {count} entries but \\data\\ declares "
                f"ngram {k}={declared[k - 1]}",
            )
        return int(end)

    # --- 1-grams ----------------------------------------------------------------
    unigrams_at = pos
    pos = expect_header(
        pos, "\\1-grams:", "the file ends before the \\1-grams: section (truncated)"
    )
    m = declared[0]
    uni_prob, uni_backoff = np.zeros(m), np.zeros(m)
    begin, end = np.zeros(m, dtype=np.int64), np.zeros(m, dtype=np.int64)
    line_at = [np.zeros(m, dtype=np.int64)]
    pos = check(
        1, K.read_unigrams(buf, pos, order == 1, uni_prob, uni_backoff, begin, end, line_at[0])
    )
    blob, offsets = K.gather(buf, begin, end)
    try:
        blob.tobytes().decode("utf-8")
    except UnicodeDecodeError as err:
        w = int(np.searchsorted(offsets, err.start, side="right")) - 1
        raise fail_line(
            data.count(b"\n", 0, line_at[0][w]) + 1,
            f"a word that is not valid UTF-8 ({err.reason})",
        ) from None
    word_keys, word_ids, dup, collided = build_word_table(blob, offsets)
    if dup >= 0:
        word = blob[offsets[dup] : offsets[dup + 1]].tobytes().decode("utf-8", "replace")
        raise fail_line(data.count(b"\n", 0, line_at[0][dup]) + 1, f"duplicate 1-gram {word!r}")

    def marker(word: str) -> int:
        w = np.frombuffer(word.encode(), dtype=np.uint8)
        return int(find_word(word_keys, word_ids, blob, offsets, w, 0, w.shape[0]))

    bos, eos, unk = marker("<s>"), marker("</s>"), marker("<unk>")
    for name, wid in (("<s>", bos), ("</s>", eos)):
        if wid < 0:
            raise fail_line(data.count(b"\n", 0, unigrams_at) + 1, f"the 1-grams have no {name}")

    # --- k-grams ----------------------------------------------------------------
    rows: list[npt.NDArray[np.int32]] = []
    probs: list[FloatArray] = []
    backoffs: list[FloatArray] = []
    for k in range(2, order + 1):
        pos = expect_header(
            pos, f"\\{k}-grams:", f"the file ends before the \\{k}-grams: section (truncated)"
        )
        m = declared[k - 1]
        r = np.zeros((m, k), dtype=np.int32)
        prob_k, backoff_k = np.zeros(m), np.zeros(m)
        line_k = np.zeros(m, dtype=np.int64)
        result = K.read_ngrams(
            buf, pos, k, k == order, word_keys, word_ids, blob, offsets, bos, eos, collided,
            r, prob_k, backoff_k, line_k,
        )  # fmt: skip
        pos = check(k, result)
        rows.append(r)
        probs.append(prob_k)
        backoffs.append(backoff_k)
        line_at.append(line_k)
    expect_header(pos, "\\end\\", "the file ends without \\end\\ (truncated)")
    return ArpaFile(
        spath, data, order, blob, offsets, word_keys, word_ids, uni_prob, uni_backoff,
        rows, probs, backoffs, line_at, bos, eos, unk,
    )  # fmt: skip


# -- the token LM's reading: words to token ids --------------------------------


def _first_duplicate_row(rows: IntArray) -> int:
    """Index of the first row (in order) equal to an earlier one, or -1."""
    if rows.shape[0] < 2:
        return -1
    order = np.lexsort(rows.T[::-1])
    srt = rows[order]
    same = (srt[1:] == srt[:-1]).all(axis=1)
    if not same.any():
        return -1
    later = np.maximum(order[1:][same], order[:-1][same])
    return int(later.min())


def _read_arpa(
    path: str | os.PathLike[str],
    vocab: Vocabulary | Mapping[str, int] | None,
    vocab_size: int | None,
    blank: int | None,
) -> ArpaModel:
    arpa = parse_arpa(path, reader="NGramLM.from_arpa")
    words = arpa.words()
    uni_lines = arpa.line_at[0]

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
        blank_id = 0 if blank is None else blank
        max_id, max_at = -1, 0
        for i, w in enumerate(words):
            if w not in _MARKERS and w.isdigit() and int(w) > max_id:
                max_id, max_at = int(w), i
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

    ids = np.empty(len(words), dtype=np.int64)
    for i, w in enumerate(words):
        if w in _MARKERS:
            ids[i] = {"<s>": bos, "</s>": eos, "<unk>": unk}[w]
            continue
        j = (int(w) if w.isdigit() else -2) if word_ids is None else word_ids.get(w, -2)
        if not 0 <= j < size or j == blank_id:
            what = "the blank" if j == blank_id else "not in the vocabulary"
            raise arpa.fail(int(uni_lines[i]), f"unknown word {w!r} ({what})")
        ids[i] = j

    grams: list[IntArray] = [ids[:, None]]
    logp: list[FloatArray] = [np.where(ids == bos, -math.inf, arpa.uni_prob * _LN10)]
    logbo: list[FloatArray] = [arpa.uni_backoff * _LN10]
    for k, (rows, p, b, at) in enumerate(
        zip(arpa.rows, arpa.prob, arpa.backoff, arpa.line_at[1:]), start=2
    ):
        g = ids[rows]
        dup = _first_duplicate_row(g)
        if dup >= 0:
            text = " ".join(words[w] for w in rows[dup].tolist())
            raise arpa.fail(int(at[dup]), f"duplicate {k}-gram {text!r}")
        grams.append(g)
        logp.append(p * _LN10)
        logbo.append(b * _LN10)
    order = arpa.order
    if order == 1:  # a unigram model: add an empty bigram level so <s> is a context
        order = 2
        grams.append(np.zeros((0, 2), dtype=np.int64))
        logp.append(np.zeros(0))
        logbo.append(np.zeros(0))
    entries = _with_unk(_Entries(grams, logp, logbo), size)
    open_vocab = vocab is None and vocab_size is None
    max_id_line = arpa.line(int(uni_lines[max_at])) if open_vocab and max_id >= 0 else 0
    return ArpaModel(order, size, blank_id, entries, open_vocab, max_id_line)
