"""Word n-gram language models for word-level decoding, with KenLM's semantics.

:class:`WordNGramLM` reads an ARPA file (as KenLM's ``lmplz`` writes it),
or is fit on text with the estimation code of :class:`~ctckit.lm.NGramLM`,
and stores the n-grams in KenLM-style probing hash tables in flat numpy
arrays that Numba kernels query directly (the kernel-side API is in
:mod:`ctckit.lm._word_kernels`). Scores are log10, like ``kenlm.Model``'s,
and equal KenLM's: ``<unk>`` is a word like the others, the n-grams and
backoffs that contain it apply, and the states are KenLM's.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from functools import cached_property
from itertools import pairwise
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ctckit._checks import check_int
from ctckit.errors import DataError, InputTypeError, InputValueError
from ctckit.files import atomic_open
from ctckit.lm._binary import load_arrays, save_arrays
from ctckit.lm._layout import Trie, WordTables
from ctckit.lm.arpa import _ARPA_ZERO_LOG10, _LN10, _UNK_LOG10, ArpaFile, parse_arpa

__all__ = ["WordNGramLM"]

_FORMAT = "word-ngram"
_VERSION = 1
_Smoothing = Literal["kneser-ney", "witten-bell"]
_Rows = list[npt.NDArray[np.int32]]
_Values = list[npt.NDArray[np.float64]]
_NGrams = list[list[npt.NDArray[Any]]]  # rows, log10 probs, log10 backoffs per order


class WordNGramLM:
    """A word n-gram language model (backoff form) in flat hash tables, scored like KenLM.

    Build one with :meth:`from_arpa`, :meth:`fit` or :meth:`load` (the
    constructor is internal). Scores are log10, as ``kenlm.Model.score``
    returns them: a word not in the vocabulary is ``<unk>`` (log10 -100 when
    the file lists no ``<unk>``), both in its own score and in the history,
    and ``<s>``/``</s>`` inside a sentence are scored as the words they are.

    The store (see :mod:`ctckit.lm._word_kernels`): 1-grams in arrays by word
    id, each longer order in a linear-probing hash table of 64-bit n-gram keys
    with float32 log10 probabilities and backoffs, 1.5 buckets per n-gram
    (about 24 bytes per n-gram below the top order, 18 at the top), built in
    Numba; :meth:`save` writes it to a file that :meth:`load` memory-maps.

    Example:
        >>> lm = WordNGramLM.fit(["the cat sat", "the cat ran", "a dog sat"], order=3)
        >>> lm
        WordNGramLM(order=3, vocab_size=9, ngrams=[9, 9, 8])
        >>> round(lm.score("the cat sat"), 4)
        -0.9934
        >>> lm.score("the cat sat") > lm.score("sat cat the")
        True
        >>> lm.word_id("cat") == lm.word_id("dog"), lm.word_id("zebra") == lm.unk_id
        (False, True)
    """

    def __init__(
        self,
        tables: WordTables,
        counts: tuple[int, ...],
        *,
        ngrams: _NGrams | None = None,
        spelling: Trie | None = None,
    ) -> None:
        self._t = tables
        self._counts = counts
        self._ngrams = ngrams  # the explicit n-grams, kept by fit for to_arpa
        self._spelling = spelling  # (a loaded model's arrays keep their memory map alive)

    # -- construction --------------------------------------------------------

    @classmethod
    def from_arpa(cls, path: str | os.PathLike[str]) -> WordNGramLM:
        """Read an ARPA file (plain text or gzip), as KenLM's ``lmplz`` or SRILM write it.

        The 1-grams are the vocabulary, in file order (word ids); ``<s>`` and
        ``</s>`` must be among them and ``<unk>`` is added at log10 -100 when
        absent. n-grams whose suffix or context the file omits (pruned SRILM
        files) are completed as KenLM does, with the probability the backoff
        rule gives them, so lookups can stop at the first missing order.

        Args:
            path: The ARPA file.

        Returns:
            The model.

        Raises:
            DataError: Naming the path and line for a malformed file (see
                :func:`ctckit.lm.arpa.parse_arpa`), a duplicate n-gram, or a
                KenLM binary file (with how to get its ARPA).

        Example:
            >>> import os, tempfile
            >>> path = os.path.join(tempfile.mkdtemp(), "words.arpa")
            >>> WordNGramLM.fit(["a b", "b a b"], order=2).to_arpa(path)
            >>> back = WordNGramLM.from_arpa(path)
            >>> back.ngram_counts, round(back.score("a b"), 4)
            ((5, 5), -0.9142)
        """
        arpa = parse_arpa(path, reader="WordNGramLM.from_arpa")
        return cls._from_parsed(arpa)

    @classmethod
    def _from_parsed(cls, arpa: ArpaFile) -> WordNGramLM:
        from ctckit.lm._hashing import build_word_table

        blob, offsets = arpa.blob, arpa.offsets
        word_keys, word_ids = arpa.word_keys, arpa.word_ids
        uni_prob, uni_backoff = arpa.uni_prob, arpa.uni_backoff
        unk = arpa.unk
        if unk < 0:  # KenLM's implicit <unk>
            unk = int(offsets.shape[0] - 1)
            blob = np.concatenate([blob, np.frombuffer(b"<unk>", dtype=np.uint8)])
            offsets = np.append(offsets, offsets[-1] + 5)
            word_keys, word_ids, _, _ = build_word_table(blob, offsets)
            uni_prob = np.append(uni_prob, _UNK_LOG10)
            uni_backoff = np.append(uni_backoff, 0.0)

        def duplicate(k: int, row: int) -> DataError:
            text = " ".join(_word_text(blob, offsets, w) for w in arpa.rows[k - 2][row].tolist())
            return arpa.fail(int(arpa.line_at[k - 1][row]), f"duplicate {k}-gram {text!r}")

        tables = _build_tables(
            arpa.order, arpa.bos, arpa.eos, unk, uni_prob, uni_backoff,
            arpa.rows, arpa.prob, arpa.backoff, duplicate,
            word_keys, word_ids, blob, offsets,
        )  # fmt: skip
        counts = (int(uni_prob.shape[0]), *(int(r.shape[0]) for r in arpa.rows))
        return cls(tables, counts)

    @classmethod
    def fit(
        cls,
        sentences: Iterable[str | Sequence[str]],
        order: int = 3,
        *,
        smoothing: _Smoothing = "kneser-ney",
        discount: float | Sequence[float] | None = None,
    ) -> WordNGramLM:
        """Estimate a word n-gram model from sentences (the estimation of :class:`NGramLM`).

        Interpolated modified Kneser-Ney (as KenLM's ``lmplz``) or Witten-Bell
        over the words of the corpus, with ``<unk>`` in the vocabulary as a
        word never seen (so an unknown word gets the probability mass
        smoothing leaves to unseen words, as in ``lmplz``); see
        :class:`~ctckit.lm.NGramLM` for the formulas. Words are numbered in
        order of first appearance after ``<unk>``.

        Args:
            sentences: Each a string (split on whitespace) or a sequence of
                words; ``<unk>`` in the text is the unknown word.
            order: ``n``, from 2 to 6.
            smoothing: ``"kneser-ney"`` or ``"witten-bell"``.
            discount: Kneser-Ney only, as in :meth:`NGramLM.fit`.

        Returns:
            The model; :meth:`to_arpa` writes it for KenLM and other readers.

        Raises:
            InputValueError: On an empty corpus, an order outside 2..6, a word
                that is ``<s>`` or ``</s>`` or holds whitespace (naming the
                sentence and position), or a bad smoothing or discount.
            InputTypeError: If a sentence is neither a string nor a sequence
                of strings.

        Example:
            >>> lm = WordNGramLM.fit([["hello", "world"], "hello there"], order=2)
            >>> lm.words[:4]
            ('<unk>', 'hello', 'world', 'there')
            >>> lm.score("hello world") > lm.score("world hello")
            True
        """
        from ctckit.lm._hashing import build_word_table
        from ctckit.lm.ngram import _MAX_ORDER, _MIN_ORDER, _check_discount, _fit_entries

        order = check_int(order, "order", _MIN_ORDER)
        if order > _MAX_ORDER:
            raise InputValueError(f"order must be in [{_MIN_ORDER}, {_MAX_ORDER}], got {order}")
        if smoothing not in ("kneser-ney", "witten-bell"):
            raise InputValueError(
                f"smoothing must be 'kneser-ney' or 'witten-bell', got {smoothing!r}"
            )
        discounts = _check_discount(discount, smoothing)
        ids: dict[str, int] = {"<unk>": 0}
        seqs: list[npt.NDArray[np.int64]] = []
        for i, sentence in enumerate(sentences):
            words = _sentence_words(sentence, i)
            seqs.append(np.array([ids.setdefault(w, len(ids)) for w in words], dtype=np.int64))
        if not seqs:
            raise InputValueError("WordNGramLM.fit needs at least one sentence, got none")
        n_words = len(ids)  # <unk> and the corpus's words; </s> = n_words, <s> = n_words + 1
        entries, _ = _fit_entries(seqs, order, n_words, None, smoothing, discounts)
        names = [*ids, "</s>", "<s>"]
        blob, offsets = _pack_words(names)
        word_keys, word_ids, _, _ = build_word_table(blob, offsets)
        bos, eos = n_words + 1, n_words

        uni_prob = np.empty(n_words + 2)
        uni_prob[entries.grams[0][:, 0]] = entries.logp[0] / _LN10
        uni_prob[bos] = _ARPA_ZERO_LOG10
        uni_backoff = np.zeros(n_words + 2)
        uni_backoff[entries.grams[0][:, 0]] = entries.logbo[0] / _LN10
        rows = [g.astype(np.int32) for g in entries.grams[1:]]
        prob = [p / _LN10 for p in entries.logp[1:]]
        backoff = [b / _LN10 for b in entries.logbo[1:]]

        def duplicate(k: int, row: int) -> DataError:  # counting makes fit's n-grams unique
            return DataError(f"fit made a duplicate {k}-gram (row {row}); please report this")

        tables = _build_tables(
            order, bos, eos, 0, uni_prob, uni_backoff, rows, prob, backoff, duplicate,
            word_keys, word_ids, blob, offsets,
        )  # fmt: skip
        counts = (n_words + 2, *(int(r.shape[0]) for r in rows))
        # float32, the values the tables hold (to_arpa's 9 digits give KenLM the same)
        ngrams: _NGrams = [
            [np.arange(n_words + 2, dtype=np.int32)[:, None], *rows],
            [v.astype(np.float32) for v in (uni_prob, *prob)],
            [v.astype(np.float32) for v in (uni_backoff, *backoff)],
        ]
        return cls(tables, counts, ngrams=ngrams)

    # -- files -----------------------------------------------------------------

    def to_arpa(self, path: str | os.PathLike[str]) -> None:
        """Write the model as an ARPA file (atomically), for KenLM and other readers.

        Values carry 9 significant digits (enough to give KenLM the same
        float32 values). Only models from :meth:`fit` (and their saved and
        loaded copies) hold the n-gram lists this needs; a model read from
        an ARPA file keeps only its hash tables (its ARPA form is that file).

        Raises:
            InputValueError: For a model that does not hold its n-gram lists.

        Example:
            >>> import os, tempfile
            >>> path = os.path.join(tempfile.mkdtemp(), "lm.arpa")
            >>> WordNGramLM.fit(["a b"], order=2).to_arpa(path)
            >>> open(path).read().splitlines()[:3]
            ['\\\\data\\\\', 'ngram 1=5', 'ngram 2=3']
        """
        from ctckit.lm._arpa_kernels import write_section

        if self._ngrams is None:
            raise InputValueError(
                "this WordNGramLM was read from an ARPA file and keeps no n-gram lists "
                "(only its hash tables): the ARPA file it came from is its ARPA form"
            )
        rows, prob, backoff = self._ngrams
        t = self._t
        with atomic_open(path, "wb") as f:
            f.write(b"\\data\\\n")
            for k, r in enumerate(rows, start=1):
                f.write(f"ngram {k}={r.shape[0]}\n".encode())
            for k, (r, p, b) in enumerate(zip(rows, prob, backoff), start=1):
                f.write(f"\n\\{k}-grams:\n".encode())
                with_backoff = np.full(r.shape[0], k < t.order) & (r[:, -1] != t.eos)
                f.write(write_section(r, p, b, with_backoff, t.vocab_bytes, t.vocab_offsets))
            f.write(b"\n\\end\\\n")

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model in ctckit's binary form (atomically), for :meth:`load`.

        Example:
            >>> import os, tempfile
            >>> path = os.path.join(tempfile.mkdtemp(), "lm.bin")
            >>> lm = WordNGramLM.fit(["a b", "b c"], order=2)
            >>> lm.save(path)
            >>> WordNGramLM.load(path).score("a b") == lm.score("a b")
            True
        """
        t = self._t
        arrays: dict[str, npt.NDArray[Any]] = {
            name: getattr(t, name) for name in WordTables._fields if name not in _SCALARS
        }
        spelling = self.spelling
        for name, arr in spelling._asdict().items():
            arrays[f"spelling.{name}"] = arr
        if self._ngrams is not None:
            for i, part in enumerate(self._ngrams):
                for k, arr in enumerate(part, start=1):
                    arrays[f"ngrams.{i}.{k}"] = arr
        meta: dict[str, Any] = {name: int(getattr(t, name)) for name in _SCALARS}
        meta["counts"] = list(self._counts)
        meta["ngrams"] = self._ngrams is not None
        save_arrays(path, _FORMAT, _VERSION, meta, arrays)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> WordNGramLM:
        """Memory-map a model written by :meth:`save` (read-only, nothing parsed or copied).

        Raises:
            DataError: If the file is missing, truncated, of another format or
                version, or a KenLM binary file (with how to get its ARPA).

        Example:
            >>> import os, tempfile
            >>> path = os.path.join(tempfile.mkdtemp(), "lm.bin")
            >>> WordNGramLM.fit(["a b"], order=2).save(path)
            >>> WordNGramLM.load(path).order
            2
        """
        meta, arrays = load_arrays(path, _FORMAT, _VERSION)
        try:
            tables = WordTables._make(
                [int(meta[name]) for name in _SCALARS]
                + [arrays[name] for name in WordTables._fields[len(_SCALARS) :]]
            )
            spelling = Trie(*(arrays[f"spelling.{name}"] for name in Trie._fields))
            counts = tuple(int(c) for c in meta["counts"])
            ngrams: _NGrams | None = None
            if meta["ngrams"]:
                ngrams = [
                    [arrays[f"ngrams.{i}.{k}"] for k in range(1, tables.order + 1)]
                    for i in range(3)
                ]
        except (KeyError, TypeError, ValueError) as err:
            raise DataError(f"a corrupt ctckit LM file (missing {err})", path=path) from None
        _check_loaded(tables, counts, os.fspath(path))
        return cls(tables, counts, ngrams=ngrams, spelling=spelling)

    # -- properties ------------------------------------------------------------

    @property
    def order(self) -> int:
        """``n``, the longest n-gram."""
        return int(self._t.order)

    @property
    def vocab_size(self) -> int:
        """Number of words (the 1-grams, ``<s>``, ``</s>`` and ``<unk>`` included)."""
        return int(self._t.uni_prob.shape[0])

    @property
    def ngram_counts(self) -> tuple[int, ...]:
        """Number of n-grams of each order 1..n (as listed; ``<unk>`` included)."""
        return self._counts

    @property
    def bos_id(self) -> int:
        """Word id of ``<s>``."""
        return int(self._t.bos)

    @property
    def eos_id(self) -> int:
        """Word id of ``</s>``."""
        return int(self._t.eos)

    @property
    def unk_id(self) -> int:
        """Word id of ``<unk>``, which every unknown word gets."""
        return int(self._t.unk)

    @cached_property
    def words(self) -> tuple[str, ...]:
        """The vocabulary: word ``i`` is ``words[i]``."""
        raw = self._t.vocab_bytes.tobytes()
        bounds = self._t.vocab_offsets.tolist()
        return tuple(raw[a:b].decode("utf-8") for a, b in pairwise(bounds))

    @property
    def kernel_tables(self) -> WordTables:
        """The store as one bundle of read-only arrays for Numba kernels.

        See :mod:`ctckit.lm._word_kernels` for the layout, the state design and
        the functions (``begin_state``, ``score_word``, ``end_score``) a
        kernel calls on it.
        """
        return self._t

    @property
    def spelling(self) -> Trie:
        """A trie of the vocabulary's spellings over Unicode code points (built on first use).

        Node values are word ids; ``<s>``, ``</s>`` and ``<unk>`` are left out. A
        decoder walks it while spelling a word (an impossible prefix leaves
        the trie) and reads the word id where a word can end.
        """
        if self._spelling is None:
            self._spelling = _spelling_trie(self.words, {self.bos_id, self.eos_id, self.unk_id})
        return self._spelling

    def __repr__(self) -> str:
        return (
            f"WordNGramLM(order={self.order}, vocab_size={self.vocab_size}, "
            f"ngrams={list(self._counts)})"
        )

    def __contains__(self, word: object) -> bool:
        """Whether ``word`` is in the vocabulary (as ``word in kenlm.Model``)."""
        return (isinstance(word, str) and self.word_id(word) != self.unk_id) or word == "<unk>"

    # -- scoring ---------------------------------------------------------------

    def word_id(self, word: str) -> int:
        """The id of ``word`` (``unk_id`` if it is not in the vocabulary).

        Example:
            >>> lm = WordNGramLM.fit(["a b"], order=2)
            >>> lm.words[lm.word_id("b")]
            'b'
        """
        return int(self.word_ids([word])[0])

    def word_ids(self, words: Sequence[str]) -> npt.NDArray[np.int32]:
        """The ids of ``words``, shape ``(len(words),)`` int32 (``unk_id`` for unknown ones).

        Raises:
            InputTypeError: If a word is not a string.

        Example:
            >>> WordNGramLM.fit(["a b"], order=2).word_ids(["b", "a", "zz"]).tolist()
            [2, 1, 0]
        """
        from ctckit.lm import _word_kernels

        buf, offsets = _encode(words)
        return _word_kernels.word_ids(self._t, buf, offsets)

    def unigram_log10(self, word_ids: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Log10 ``P(w)`` of the 1-gram of each word id (no context), shape of ``word_ids``.

        Raises:
            InputValueError: If an id is outside ``[0, vocab_size)``.

        Example:
            >>> lm = WordNGramLM.fit(["a b", "c b"], order=2)  # b follows two words, a none
            >>> p = lm.unigram_log10(lm.word_ids(["b", "a"]))
            >>> bool(p[0] > p[1])
            True
        """
        ids = np.asarray(word_ids)
        if ids.size and (
            not np.issubdtype(ids.dtype, np.integer)
            or int(ids.min()) < 0
            or int(ids.max()) >= self.vocab_size
        ):
            raise InputValueError(
                f"word ids must be integers in [0, {self.vocab_size}), got {ids.ravel()[:8]}"
            )
        out: npt.NDArray[np.float64] = -np.abs(self._t.uni_prob[ids].astype(np.float64))
        return out

    def full_scores(
        self, sentence: str | Sequence[str], bos: bool = True, eos: bool = True
    ) -> list[tuple[float, int, bool]]:
        """Per word ``(log10 prob, n-gram length, unknown)``, as ``kenlm.Model.full_scores``.

        Example:
            >>> lm = WordNGramLM.fit(["a b"], order=2)
            >>> [(round(p, 3), n, oov) for p, n, oov in lm.full_scores("a zz")]
            [(-0.19, 2, False), (-1.204, 1, True), (-0.535, 1, False)]
        """
        ids = self.word_ids(_split(sentence))
        probs, matched, _ = self._score_ids(ids, bos, eos)
        unknown = (ids == self.unk_id).tolist() + ([False] if eos else [])
        return list(zip(probs.tolist(), matched.tolist(), unknown))

    def score(self, sentence: str | Sequence[str], bos: bool = True, eos: bool = True) -> float:
        """Log10 probability of a sentence, as ``kenlm.Model.score``.

        Args:
            sentence: Words separated by whitespace, or a sequence of words.
            bos: Start from the context ``<s>`` (else from the empty context).
            eos: Add the log10 probability of ``</s>`` at the end.

        Returns:
            The sum of the words' log10 probabilities (float32 sums, as KenLM).

        Example:
            >>> lm = WordNGramLM.fit(["a b", "b a"], order=2)
            >>> round(lm.score("a b"), 4), round(lm.score("a b", bos=False, eos=False), 4)
            (-1.2075, -0.9376)
        """
        return self._score_ids(self.word_ids(_split(sentence)), bos, eos)[2]

    def perplexity(self, sentence: str | Sequence[str]) -> float:
        """``10 ** (-score / (words + 1))``, as ``kenlm.Model.perplexity``.

        Example:
            >>> lm = WordNGramLM.fit(["a b", "b a"], order=2)
            >>> lm.perplexity("a b") < lm.perplexity("b b b")
            True
        """
        words = _split(sentence)
        return float(10.0 ** (-self.score(words) / (len(words) + 1)))

    def _score_ids(
        self, ids: npt.NDArray[np.int32], bos: bool, eos: bool
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], float]:
        n = ids.shape[0] + (1 if eos else 0)
        probs = np.empty(n)
        matched = np.empty(n, dtype=np.int64)
        from ctckit.lm import _word_kernels

        total = _word_kernels.score_sentence(self._t, ids, bool(bos), bool(eos), probs, matched)
        return probs, matched, total


_SCALARS = ("order", "bos", "eos", "unk")


# -- helpers -----------------------------------------------------------------------


def _word_text(blob: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64], w: int) -> str:
    return blob[offsets[w] : offsets[w + 1]].tobytes().decode("utf-8", "replace")


def _pack_words(words: Sequence[str]) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    encoded = [w.encode("utf-8") for w in words]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8).copy(), offsets


def _encode(words: Sequence[str]) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    for w in words:
        if not isinstance(w, str):
            raise InputTypeError(f"words must be strings, got {type(w).__name__} {w!r}")
    return _pack_words(words)


def _split(sentence: str | Sequence[str]) -> list[str]:
    if isinstance(sentence, str):
        return sentence.split()
    if isinstance(sentence, Sequence):
        return list(sentence)
    raise InputTypeError(
        f"a sentence must be a string or a sequence of words, got {type(sentence).__name__}"
    )


def _sentence_words(sentence: object, index: int) -> list[str]:
    if isinstance(sentence, str):
        return sentence.split()
    if not isinstance(sentence, Sequence):
        raise InputTypeError(
            f"sentence {index} must be a string or a sequence of words, "
            f"got {type(sentence).__name__}"
        )
    words = list(sentence)
    for j, w in enumerate(words):
        if not isinstance(w, str):
            raise InputTypeError(
                f"sentence {index}, position {j}: words must be strings, got {type(w).__name__}"
            )
        if not w or any(c.isspace() for c in w):
            raise InputValueError(
                f"sentence {index}, position {j}: a word must be non-empty without "
                f"whitespace, got {w!r}"
            )
    for j, w in enumerate(words):
        if w in ("<s>", "</s>"):
            raise InputValueError(
                f"sentence {index}, position {j}: {w} is a sentence marker, not a word "
                "(sentences are padded with <s> and </s>)"
            )
    return words


def _spelling_trie(words: Sequence[str], skip: set[int]) -> Trie:
    from ctckit.lm._trie import build_trie

    keep = [i for i in range(len(words)) if i not in skip]
    text = "".join(words[i] for i in keep)
    symbols = np.frombuffer(text.encode("utf-32-le"), dtype=np.int32)
    offsets = np.zeros(len(keep) + 1, dtype=np.int64)
    np.cumsum([len(words[i]) for i in keep], out=offsets[1:])
    order = np.array(sorted(range(len(keep)), key=lambda j: words[keep[j]]), dtype=np.int64)
    return build_trie(symbols, offsets, np.array(keep, dtype=np.int32), order)


def _build_tables(
    order: int,
    bos: int,
    eos: int,
    unk: int,
    uni_prob: npt.NDArray[np.float64],
    uni_backoff: npt.NDArray[np.float64],
    rows: _Rows,
    prob: _Values,
    backoff: _Values,
    duplicate: Callable[[int, int], DataError],
    word_keys: npt.NDArray[np.uint64],
    word_ids: npt.NDArray[np.int32],
    blob: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.int64],
) -> WordTables:
    """The hash tables of a backoff model given as n-gram lists (log10 values).

    Inserts the n-grams with their values, flags what extends (on the sign
    bits, in place), completes the n-grams under suffixes and contexts
    (KenLM's blanks, rebuilding in the rare case there are any) and fills the
    blanks' probabilities by the backoff rule from the orders below.
    """
    from ctckit.lm import _word_kernels as K
    from ctckit.lm._hashing import bucket_count

    n = order
    blanks: _Rows = [np.zeros((0, k), dtype=np.int32) for k in range(2, n + 1)]
    while True:
        all_rows = [r if b.shape[0] == 0 else np.concatenate([r, b]) for r, b in zip(rows, blanks)]
        values = [p if b.shape[0] == 0 else np.append(p, np.full(b.shape[0], np.nan))
                  for p, b in zip(prob, blanks)]  # fmt: skip
        backs = [v if b.shape[0] == 0 else np.append(v, np.zeros(b.shape[0]))
                 for v, b in zip(backoff, blanks)]  # fmt: skip
        sizes = [bucket_count(r.shape[0]) for r in all_rows]
        start = np.zeros(n + 2, dtype=np.int64)
        start[3:] = np.cumsum(sizes)  # order k at [start[k], start[k + 1])
        keys = np.zeros(int(start[n + 1]), dtype=np.uint64)
        stored_prob = np.zeros(keys.shape[0], dtype=np.float32)
        stored_backoff = np.zeros(int(start[n]), dtype=np.float32)
        s_uni_prob, s_uni_backoff = K.encode_unigrams(uni_prob, uni_backoff)
        for k, r in enumerate(all_rows, start=2):
            table_backoff = stored_backoff if k < n else stored_backoff[:0]
            row = K.fill_order(keys, stored_prob, table_backoff, start[k], sizes[k - 2], r,
                               values[k - 2], backs[k - 2])  # fmt: skip
            if row >= 0:
                if (r[:row] == r[row]).all(axis=1).any():
                    raise duplicate(k, int(row))
                raise InputValueError(
                    f"two different {k}-grams have the same 64-bit key; please report this"
                )
        found_missing = False
        for k in range(n, 1, -1):
            r = all_rows[k - 2]
            missing = np.zeros((r.shape[0], 2), dtype=np.bool_)
            if K.mark_lower(keys, start, r, stored_prob, stored_backoff, s_uni_prob,
                            s_uni_backoff, missing):  # fmt: skip
                subs = np.concatenate([r[missing[:, 0], :-1], r[missing[:, 1], 1:]])
                blanks[k - 3] = np.concatenate([blanks[k - 3], np.unique(subs, axis=0)])
                found_missing = True
        if not found_missing:
            break
    for k in range(2, n + 1):  # bottom-up: a blank's value uses the orders below
        if blanks[k - 2].shape[0]:
            K.fill_blanks(keys, start, stored_prob, stored_backoff, s_uni_prob, s_uni_backoff,
                          blanks[k - 2])  # fmt: skip
    tables = WordTables(
        order=n,
        bos=bos,
        eos=eos,
        unk=unk,
        uni_prob=s_uni_prob,
        uni_backoff=s_uni_backoff,
        keys=keys,
        prob=stored_prob,
        backoff=stored_backoff,
        start=start,
        vocab_keys=word_keys,
        vocab_ids=word_ids,
        vocab_bytes=blob,
        vocab_offsets=offsets,
    )
    for arr in tables[4:]:
        arr.flags.writeable = False
    return tables


def _check_loaded(t: WordTables, counts: tuple[int, ...], path: str) -> None:
    """Cheap consistency checks of a mapped store (shapes and bounds, not every value)."""
    n, v = t.order, t.uni_prob.shape[0]
    problems = []
    if not 1 <= n <= 64 or len(counts) != n:
        problems.append(f"order {n} with {len(counts)} counts")
    elif t.start.shape != (n + 2,) or t.start[-1] != t.keys.shape[0]:
        problems.append("bucket offsets that do not match the tables")
    elif t.prob.shape != t.keys.shape or t.backoff.shape[0] != t.start[n]:
        problems.append("tables of different sizes")
    if t.uni_backoff.shape != (v,) or t.vocab_offsets.shape != (v + 1,):
        problems.append("a vocabulary of inconsistent size")
    elif t.vocab_offsets[-1] != t.vocab_bytes.shape[0] or not min(t.bos, t.eos, t.unk) >= 0:
        problems.append("vocabulary offsets out of range")
    elif max(t.bos, t.eos, t.unk) >= v or t.vocab_ids.shape != t.vocab_keys.shape:
        problems.append("marker ids out of range")
    if problems:
        raise DataError(f"a corrupt ctckit LM file: {problems[0]}", path=path)
    if math.isnan(float(t.uni_prob.sum())):
        raise DataError("a corrupt ctckit LM file: NaN probabilities", path=path)
