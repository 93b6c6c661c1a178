"""Word decoding: a CTC prefix beam search that scores words with a word LM, or reads
them through a pronunciation lexicon.

:class:`WordBeamSearchDecoder` runs in the same Numba kernel family as
:class:`~ctckit.decode.BeamSearchDecoder` (the same frame stages, merging and pruning),
with a scorer that keeps each prefix's word state: the partial word's place in a
trie, the word LM's state, the words and hotwords completed so far.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ctckit._checks import check_float, check_int
from ctckit._threads import default_threads, run_together
from ctckit.decode._input import check_lengths, gather_threads, kernel_log_prob_array
from ctckit.decode._word_tables import (
    FlatTrie,
    build_trie,
    build_word_trie,
    csr,
    subtree_max,
    subtree_min,
)
from ctckit.decode.types import WordHypothesis, _new_word_hypothesis
from ctckit.errors import InputTypeError, InputValueError, ShapeError

if TYPE_CHECKING:
    from ctckit.vocab import Vocabulary

__all__ = ["WordBeamSearchDecoder"]

LN10 = math.log(10.0)
BPE_MARK = "▁"  # sentencepiece's word-start mark
WORDPIECE_MARK = "##"  # WordPiece's continuation mark
AVG_WORD_LEN = 6  # a partial unknown word longer than this pays proportionally more

# token kinds
KIND_CONT, KIND_DELIM, KIND_START, KIND_BLANK = 0, 1, 2, 3
MODES = ("characters", "bpe", "wordpiece", "lexicon")


@dataclass(frozen=True)
class _Labels:
    """What the labels say about words: the mode, each token's kind and text."""

    mode: str
    blank: int
    kinds: tuple[int, ...]
    pieces: tuple[str, ...]  # a token's text within a word (marks stripped)
    delimiter: int  # -1 when there is none


def _label_list(labels: object) -> tuple[list[str], int | None]:
    from ctckit.vocab import Vocabulary

    if isinstance(labels, Vocabulary):
        return list(labels.labels), labels.blank
    if isinstance(labels, (str, bytes)) or not isinstance(labels, Sequence):
        raise InputTypeError(
            f"labels must be a sequence of strings or a Vocabulary, got {type(labels).__name__}"
        )
    out = list(labels)
    for i, lab in enumerate(out):
        if not isinstance(lab, str):
            raise InputTypeError(f"labels[{i}] must be a str, got {type(lab).__name__} {lab!r}")
    return out, None


def _find_blank(labels: list[str], blank: object, vocab_blank: int | None) -> int:
    if blank is None:
        if vocab_blank is not None:
            return vocab_blank
        empty = [i for i, lab in enumerate(labels) if lab == ""]
        if len(empty) != 1:
            raise InputValueError(
                "blank=None takes the blank to be the one empty label, but labels hold "
                f"{len(empty)} empty labels; pass blank= (its index)"
            )
        return empty[0]
    out = check_int(blank, "blank", 0)
    if out >= len(labels):
        raise InputValueError(f"blank must be in [0, {len(labels)}), got {out}")
    return out


def _analyse_labels(
    labels: list[str], blank: int, word_delimiter: str | None, lexicon: bool
) -> _Labels:
    """The word convention of the labels (see :class:`WordBeamSearchDecoder`)."""
    if len(labels) < 2:
        raise InputValueError(f"labels must hold a blank and at least one label, got {labels!r}")
    seen: dict[str, int] = {}
    for i, lab in enumerate(labels):
        if i == blank:
            continue
        if lab == "":
            raise InputValueError(f"labels[{i}] is empty but the blank is labels[{blank}]")
        if lab in seen:
            raise InputValueError(f"labels[{seen[lab]}] and labels[{i}] are both {lab!r}")
        seen[lab] = i
    others = [i for i in range(len(labels)) if i != blank]
    kinds = [KIND_CONT] * len(labels)
    kinds[blank] = KIND_BLANK
    pieces = list(labels)
    pieces[blank] = ""
    if lexicon:
        return _Labels("lexicon", blank, tuple(kinds), tuple(pieces), -1)
    bpe = [i for i in others if labels[i].startswith(BPE_MARK)]
    wordpiece = [i for i in others if labels[i].startswith(WORDPIECE_MARK)]
    if bpe and wordpiece:
        raise InputValueError(
            "labels mix BPE conventions: word starts marked with '▁' (e.g. "
            f"{labels[bpe[0]]!r}) and WordPiece continuations marked with '##' (e.g. "
            f"{labels[wordpiece[0]]!r}); use one"
        )
    if bpe or wordpiece:
        mode = "bpe" if bpe else "wordpiece"
        for i in others:
            lab = labels[i]
            if any(ch.isspace() for ch in lab) or lab == word_delimiter:
                raise InputValueError(
                    f"labels mix conventions: BPE word marks and a delimiter or space label "
                    f"(labels[{i}] = {lab!r}); a BPE model needs no delimiter"
                )
            if mode == "bpe":
                if BPE_MARK in lab[1:]:
                    raise InputValueError(
                        f"labels[{i}] = {lab!r} carries '▁' after its start; '▁' may only "
                        "mark a word start"
                    )
                if lab.startswith(BPE_MARK):
                    kinds[i] = KIND_START
                    pieces[i] = lab[1:]
            elif lab.startswith(WORDPIECE_MARK):
                pieces[i] = lab[2:]
                if not pieces[i]:
                    raise InputValueError(f"labels[{i}] = '##' has no text")
            else:
                kinds[i] = KIND_START
        return _Labels(mode, blank, tuple(kinds), tuple(pieces), -1)
    if word_delimiter is None or word_delimiter not in seen:
        shown = labels if len(labels) <= 12 else [*labels[:12], "..."]
        raise InputValueError(
            f"labels have no word delimiter {word_delimiter!r} (labels: {shown}); pass "
            "word_delimiter= (e.g. '|'), mark word starts with '▁' (BPE), or decode "
            "through a lexicon"
        )
    delim = seen[word_delimiter]
    for i in others:
        if i != delim and any(ch.isspace() for ch in labels[i]):
            raise InputValueError(
                f"labels[{i}] = {labels[i]!r} holds whitespace; only the word delimiter "
                f"({word_delimiter!r}) separates words"
            )
    kinds[delim] = KIND_DELIM
    pieces[delim] = ""
    return _Labels("characters", blank, tuple(kinds), tuple(pieces), delim)


def _spelling(labels: _Labels) -> tuple[str, ...] | None:
    """Lexicon-free: each token's text in a hypothesis's spelling, whose whitespace-separated
    parts are its words (a delimiter is a space, a word-start piece starts with one)."""
    if labels.mode == "lexicon":
        return None
    out = list(labels.pieces)
    for c, kind in enumerate(labels.kinds):
        if kind == KIND_DELIM:
            out[c] = " "
        elif kind == KIND_START:
            out[c] = " " + out[c]
    return tuple(out)


def _byte_spelling(spelling: tuple[str, ...] | None) -> tuple[bytes, bytes] | None:
    """``bytes.translate``'s ``(table, delete)`` that spell a hypothesis's token ids (as
    bytes) in Latin-1 when there are at most 256 labels and each spells at most one
    Latin-1 character (a character model's); else ``None``."""
    if spelling is None or len(spelling) > 256 or any(len(t) > 1 or t > "\xff" for t in spelling):
        return None
    table = bytearray(range(256))
    for c, t in enumerate(spelling):
        if t:
            table[c] = ord(t)
    return bytes(table), bytes(c for c, t in enumerate(spelling) if not t)


def _spellable(word: str, pieces: Iterable[str]) -> int:
    """-1 if ``word`` is a concatenation of ``pieces``, else the first position no
    segmentation gets past."""
    options = {p for p in pieces if p}
    lens = sorted({len(p) for p in options})
    reach = [False] * (len(word) + 1)
    reach[0] = True
    furthest = 0
    for i in range(len(word)):
        if not reach[i]:
            continue
        for n in lens:
            if i + n <= len(word) and word[i : i + n] in options:
                reach[i + n] = True
                furthest = max(furthest, i + n)
    return -1 if reach[-1] else furthest


def _hotword_list(hotwords: object) -> list[str]:
    if isinstance(hotwords, str):
        raise InputTypeError(
            f"hotwords must be a sequence of phrases, not one string ({hotwords!r}); "
            f"write hotwords=[{hotwords!r}]"
        )
    if not isinstance(hotwords, Iterable):
        raise InputTypeError(f"hotwords must be a sequence of str, got {type(hotwords).__name__}")
    words: list[str] = []
    for k, phrase in enumerate(hotwords):
        if not isinstance(phrase, str):
            raise InputTypeError(f"hotwords[{k}] must be a str, got {type(phrase).__name__}")
        words.extend(phrase.split())
    return list(dict.fromkeys(words))


def _word_list(words: object, name: str) -> list[str]:
    if isinstance(words, str) or not isinstance(words, Iterable):
        raise InputTypeError(f"{name} must be a collection of str, got {type(words).__name__}")
    out = []
    for w in words:
        if not isinstance(w, str) or not w or any(ch.isspace() for ch in w):
            raise InputValueError(f"{name} must hold non-empty words without spaces, got {w!r}")
        out.append(w)
    return list(dict.fromkeys(out))


def _lexicon_entries(
    lexicon: object, index: Mapping[str, int]
) -> tuple[list[str], list[tuple[int, list[int]]]]:
    """``(words, [(word id, token ids)])`` of a lexicon: a :class:`ctckit.lm.Lexicon` or a
    mapping of each word to its pronunciations (label sequences, or strings of labels
    separated by spaces)."""
    from ctckit import lm as lm_package

    lexicon_type = getattr(lm_package, "Lexicon", None)
    if lexicon_type is not None and isinstance(lexicon, lexicon_type):
        # by token text: the lexicon's token ids need not be the decoder's label ids
        names = lexicon.tokens
        raw: Mapping[str, Any] = {
            w: [[names[t] for t in pron] for pron in prons]
            for w, prons in zip(lexicon.words, lexicon.pronunciations_by_word())
        }
    elif isinstance(lexicon, Mapping):
        raw = lexicon
    else:
        raise InputTypeError(
            "lexicon must be a ctckit.lm.Lexicon or a mapping of words to pronunciations, "
            f"got {type(lexicon).__name__}"
        )
    if not raw:
        raise InputValueError("lexicon is empty")
    words: list[str] = []
    entries: list[tuple[int, list[int]]] = []
    for word, prons in raw.items():
        if not isinstance(word, str) or not word or any(ch.isspace() for ch in word):
            raise InputValueError(f"lexicon words must be non-empty without spaces, got {word!r}")
        if isinstance(prons, str) or not isinstance(prons, Iterable):
            raise InputTypeError(
                f"lexicon[{word!r}] must be a list of pronunciations, got {prons!r}"
            )
        wid = len(words)
        words.append(word)
        count = 0
        for pron in prons:
            toks = pron.split() if isinstance(pron, str) else list(pron)
            if not toks:
                raise InputValueError(f"lexicon[{word!r}] has an empty pronunciation")
            ids = []
            for tok in toks:
                if isinstance(tok, (int, np.integer)) and not isinstance(tok, bool):
                    ids.append(int(tok))
                    continue
                if not isinstance(tok, str) or tok not in index:
                    raise InputValueError(
                        f"lexicon[{word!r}] uses token {tok!r}, which is not a label"
                    )
                ids.append(index[tok])
            entries.append((wid, ids))
            count += 1
        if count == 0:
            raise InputValueError(f"lexicon[{word!r}] has no pronunciation")
    return words, entries


# ``lengths=None``: every utterance has all ``T`` frames (see ``decode_words``)
_ALL_FRAMES = np.zeros(0, np.int64)
# search buffers a thread keeps between calls up to this size (a longer utterance's are
# dropped after the call)
_SPARE_BYTES = 64 << 20


def _no_buffers() -> tuple[npt.NDArray[Any], ...]:
    """Search buffers of no row: ``decode_words`` makes its own."""
    return np.empty((0, 0), np.int32), np.empty((0, 0), np.float64), np.empty((0, 0), np.int64)


class _Kernel:
    """The kernel bundles of one decoder for one vocabulary size, the compiled entry points
    of ``decode_words`` by input dtype (calling one skips Numba's dispatch, which types
    every argument on each call: the scorer is a NamedTuple of some 40 arrays), and the
    search buffers of finished calls, for the next calls to reuse."""

    def __init__(self, opts: Any, scorer: Any, rows: tuple[int, int]) -> None:
        self.opts = opts
        self.scorer = scorer
        self.rows = rows
        self._entries: dict[tuple[Any, ...], Any] = {}
        self._spare: list[tuple[npt.NDArray[Any], ...]] = []
        self._lock = threading.Lock()

    def entry(self, args: tuple[Any, ...], key: tuple[Any, ...]) -> Any:
        fn = self._entries.get(key)
        if fn is None:
            from numba import typeof

            from ctckit.decode._kernels.words import decode_words

            sig = tuple(typeof(a) for a in args)  # type: ignore[no-untyped-call]
            decode_words.compile(sig)
            compiled: Any = decode_words.overloads[sig]
            fn = self._entries[key] = compiled.entry_point
        return fn

    def take_buffers(self) -> tuple[npt.NDArray[Any], ...]:
        with self._lock:
            return self._spare.pop() if self._spare else _no_buffers()

    def keep_buffers(self, bufs: tuple[npt.NDArray[Any], ...], threads: int) -> None:
        if sum(a.nbytes for a in bufs) <= _SPARE_BYTES:
            with self._lock:
                if len(self._spare) < threads:
                    self._spare.append(bufs)


class WordBeamSearchDecoder:
    """CTC prefix beam search to words: lexicon-free with a word LM, or through a lexicon.

    **Words from labels** (``lexicon=None``). Three conventions, found from the
    labels:

    * characters (or any symbols, phonemes included): the ``word_delimiter``
      label separates words; a word is the concatenation of its labels; runs
      of delimiters and delimiters at either end make no empty word;
    * BPE (sentencepiece): a label starting with ``▁`` starts a word, the
      others continue it (the first label of an utterance starts one too);
    * WordPiece: a label starting with ``##`` continues a word, the others
      start one.

    Labels that mix two conventions are refused.

    **Words from a lexicon** (``lexicon=...``). Every emitted word is a
    lexicon word (or ``unk_word``): a word ends where one of its
    pronunciations ends in the lexicon's token trie, so no delimiter is
    needed. At a trie node where words end, the prefix may end any of them
    (homophones become different hypotheses) or go on spelling a longer
    word; a prefix that spells no pronunciation prefix is not a candidate.
    ``sil_token`` may stand between words (and at either end). At the end of
    the utterance a hypothesis inside a word is dropped.

    **Scores** (natural logarithms throughout). A hypothesis's final score is

    ``acoustic + alpha * lm_score + (beta + word_score) * len(words)
    + hotword_weight * (hotword words) + sil_score * (silence tokens)``

    where ``acoustic`` is the CTC log-probability of its tokens summed over
    alignments, and ``lm_score = ln(10) * (sum of log10 P(word | history)
    + log10 P(</s> | history) + unk_score_offset per unknown word)``: the
    word LM's log10 scores (as KenLM gives them) in natural-log units, so
    ``alpha`` weighs natural-log probabilities, as in pyctcdecode. A word
    is scored by the LM when it completes: at the delimiter (characters),
    at the next word start (BPE) or at the trie node where it ends
    (lexicon); the last word at the end of the utterance, followed by
    ``</s>`` when ``lm_score_boundary``. Without a lexicon a word is
    *unknown* when it is not in ``unigrams`` (by default the LM's
    vocabulary) or not in the LM; with a lexicon, only ``unk_word`` is
    (a lexicon word the LM lacks is scored as the LM's ``<unk>``, without
    offset). Without an LM every word has log10-probability 0, so only the
    unknown-word offsets remain.

    While the search runs, a prefix is ranked by its final terms so far
    (completed words) plus one term for the word being spelled:

    * lexicon-free: ``hotword_weight * len(p) / len(h)`` when the partial
      word ``p`` starts a hotword word (``h`` the shortest such), else
      ``unk_score_offset * max(1, len(p) / 6)`` (natural log, unweighted)
      when unigrams or an LM are given and ``p`` starts no unigram, else 0
      (pyctcdecode's rules; lengths in characters);
    * lexicon: ``alpha * ln(10) * max log10 P(w)`` over the unigram
      probabilities of the words the partial pronunciation can still become
      (a look-ahead, as flashlight's smearing), plus the hotword term above
      with lengths in tokens.

    These terms only steer the search: with a beam wide enough to hold every
    prefix and no pruning the search is exact, and the best hypothesis is the
    labelling (and reading into words) of the highest final score.

    **Hotwords**: each phrase is split into words; each word (wherever it
    occurs) gains ``hotword_weight`` once completed and the partial-word
    term above while being spelled, which is taken back if the spelling
    leaves it. With or without an LM, for any labels (a phoneme hotword is
    written as the decoder writes that word: its labels joined).

    **Merging** is exact: paths are log-sum-exp merged per prefix, a prefix
    being its tokens (lexicon-free: the tokens fix the words) or its tokens
    and where each word ended and which word it was (lexicon). With
    ``merge="max"`` a prefix keeps its best alignment instead (Viterbi, as
    flashlight's default ``log_add=False``): ``acoustic`` above is then the
    log-probability of the best single alignment of the tokens, and the
    search ranks by it. With
    ``alpha = beta = word_score = 0``, no LM, no unigrams and no hotwords,
    the lexicon-free search is :class:`~ctckit.decode.BeamSearchDecoder`'s,
    float for float.

    Results: ``decode`` returns per utterance up to ``top_n`` hypotheses, best
    first, no two with the same words (of several token sequences that spell
    the same words, the best is kept).

    Args:
        labels: The label of each class (a sequence of ``V`` strings, or a
            :class:`~ctckit.Vocabulary`).
        lm: A word n-gram LM: a :class:`ctckit.lm.WordNGramLM`, or the path of
            an ARPA file or of a saved ``WordNGramLM``.
        word_delimiter: The label separating words of a character model.
            Unused with BPE labels or a lexicon.
        unigrams: The known words (lexicon-free). Each must be in ``lm`` when
            one is given; ``None``: the LM's vocabulary (or, without an LM, no
            list and no unknown words).
        alpha: Weight of the LM's natural-log score (``>= 0``).
        beta: Added per word.
        unk_score_offset: Added (``<= 0``, in log10 units, so weighted like the
            LM) to an unknown word's LM score; the partial-word term above uses
            it as is.
        hotwords: Phrases to boost (see above).
        hotword_weight: Bonus per completed hotword word.
        beam_width: Prefixes kept per frame (``W >= 1``).
        top_n: Hypotheses returned per utterance, in ``[1, beam_width]``.
        token_min_logp: Tokens below this log-probability in a frame are
            ignored in that frame (the frame's best token is always kept; the
            blank as ``prune_blank`` says); ``None``: none.
        prune_blank: Whether ``token_min_logp`` prunes the blank like any
            token. ``None``: yes without a lexicon (pyctcdecode's rule), no
            with one (flashlight's: only new tokens are pruned, so a word's
            last token held for several frames can still be followed by the
            blank). A frame in which no other token is kept is a blank frame
            either way.
        beam_prune_logp: Candidates ranked below the frame's best plus this
            (``<= 0``) are dropped; ``None``: none.
        num_threads: Threads over the utterances of a batch; ``None``:
            ``os.cpu_count()``.
        lexicon: A :class:`ctckit.lm.Lexicon`, or a mapping of each word to
            its pronunciations (sequences of labels, or strings of labels
            separated by spaces).
        word_score: Added per word, beside ``beta`` (flashlight's name).
        unk_word: With a lexicon, the word emitted for a partial
            pronunciation no word ends at (scored as ``<unk>`` by the LM,
            plus ``unk_score_offset``); ``None``: no unknown words.
        sil_token: With a lexicon, a label allowed between words.
        sil_score: Added per ``sil_token`` emitted.
        lm_score_boundary: Score the first word after ``<s>`` and end with
            ``</s>`` (as KenLM's ``score(..., bos=True, eos=True)``); else
            start from an empty context and add no end.
        blank: Index of the blank; ``None``: the :class:`~ctckit.Vocabulary`'s
            blank, or the one empty label.
        merge: How a prefix's alignments combine: ``"sum"`` (log-sum-exp, the
            CTC probability) or ``"max"`` (the best alignment).

    Raises:
        InputTypeError: If an argument has the wrong type.
        InputValueError: If the labels have no delimiter (characters) or mix
            conventions, a unigram is not in the LM, a hotword cannot be
            spelled with the labels (or is no lexicon word), a lexicon token or
            ``sil_token`` is not a label, an option needs another (``sil_token``
            or ``unk_word`` without a lexicon, ``unigrams`` with one), or a
            number is out of range.

    Example:
        >>> import numpy as np
        >>> labels = ["", "a", "b", " "]
        >>> lp = np.log(np.full((7, 4), 0.02))
        >>> for t, c in enumerate([1, 0, 3, 2, 2, 0, 1]):  # "a", " ", "b", "b", "a"
        ...     lp[t, c] = np.log(0.94)
        >>> decoder = WordBeamSearchDecoder(labels, alpha=0.0, beta=0.0, beam_width=8)
        >>> h = decoder.decode(lp)[0][0]
        >>> h.text, [(s.word, s.start, s.end) for s in h.word_spans]
        ('a ba', [('a', 0, 1), ('ba', 3, 7)])

        A hotword pulls the search towards a word the frames do not favour:

        >>> lp2 = np.log([[0.1, 0.25, 0.6, 0.05], [0.1, 0.6, 0.25, 0.05]])
        >>> plain = WordBeamSearchDecoder(labels, alpha=0.0, beta=0.0, beam_width=16)
        >>> hot = WordBeamSearchDecoder(labels, alpha=0.0, beta=0.0, beam_width=16,
        ...                             hotwords=["ab"], hotword_weight=5.0)
        >>> plain.decode(lp2)[0][0].text, hot.decode(lp2)[0][0].text
        ('ba', 'ab')
    """

    def __init__(
        self,
        labels: Sequence[str] | Vocabulary,
        *,
        lm: Any = None,
        word_delimiter: str | None = " ",
        unigrams: Iterable[str] | None = None,
        alpha: float = 0.5,
        beta: float = 1.5,
        unk_score_offset: float = -10.0,
        hotwords: Iterable[str] = (),
        hotword_weight: float = 10.0,
        beam_width: int = 100,
        top_n: int = 1,
        token_min_logp: float | None = -5.0,
        beam_prune_logp: float | None = -10.0,
        num_threads: int | None = None,
        lexicon: Any = None,
        prune_blank: bool | None = None,
        word_score: float = 0.0,
        unk_word: str | None = None,
        sil_token: str | None = None,
        sil_score: float = 0.0,
        lm_score_boundary: bool = True,
        blank: int | None = None,
        merge: str = "sum",
    ) -> None:
        label_list, vocab_blank = _label_list(labels)
        self.labels: tuple[str, ...] = tuple(label_list)
        self.blank = _find_blank(label_list, blank, vocab_blank)
        if word_delimiter is not None and not isinstance(word_delimiter, str):
            raise InputTypeError(
                f"word_delimiter must be a str or None, got {type(word_delimiter).__name__}"
            )
        self.word_delimiter = word_delimiter
        self._labels = _analyse_labels(label_list, self.blank, word_delimiter, lexicon is not None)
        self._spelling = _spelling(self._labels)
        self._byte_spelling = _byte_spelling(self._spelling)
        self.alpha = check_float(alpha, "alpha", 0.0)
        self.beta = check_float(beta, "beta")
        self.unk_score_offset = check_float(unk_score_offset, "unk_score_offset", high=0.0)
        self.hotword_weight = check_float(hotword_weight, "hotword_weight")
        self.word_score = check_float(word_score, "word_score")
        self.sil_score = check_float(sil_score, "sil_score")
        self.beam_width = check_int(beam_width, "beam_width", 1)
        self.top_n = check_int(top_n, "top_n", 1, self.beam_width)
        self.token_min_logp = (
            None if token_min_logp is None else check_float(token_min_logp, "token_min_logp")
        )
        self.beam_prune_logp = (
            None
            if beam_prune_logp is None
            else check_float(beam_prune_logp, "beam_prune_logp", high=0.0)
        )
        self.num_threads = (
            default_threads() if num_threads is None else check_int(num_threads, "num_threads", 1)
        )
        if not isinstance(lm_score_boundary, bool):
            raise InputTypeError(
                f"lm_score_boundary must be a bool, got {type(lm_score_boundary).__name__}"
            )
        self.lm_score_boundary = lm_score_boundary
        if prune_blank is not None and not isinstance(prune_blank, bool):
            raise InputTypeError(
                f"prune_blank must be a bool or None, got {type(prune_blank).__name__}"
            )
        self.prune_blank = lexicon is None if prune_blank is None else prune_blank
        if merge not in ("sum", "max"):
            raise InputValueError(f"merge must be 'sum' or 'max', got {merge!r}")
        self.merge = merge
        self.lm = _load_lm(lm)
        self.hotwords = tuple(_hotword_list(hotwords))
        index = {lab: i for i, lab in enumerate(label_list) if i != self.blank}
        if lexicon is None:
            for name, value in (("sil_token", sil_token), ("unk_word", unk_word)):
                if value is not None:
                    raise InputValueError(f"{name}={value!r} needs a lexicon (lexicon=None)")
            self.unigrams = None if unigrams is None else tuple(_word_list(unigrams, "unigrams"))
            self.lexicon_words: tuple[str, ...] | None = None
            self._check_free_words()
            self.sil_token = None
            self.unk_word = None
            self._tables = self._free_tables()
        else:
            if unigrams is not None:
                raise InputValueError(
                    "unigrams and a lexicon exclude each other: the lexicon lists the words"
                )
            self.unigrams = None
            if sil_token is not None and sil_token not in index:
                raise InputValueError(f"sil_token {sil_token!r} is not a label")
            if unk_word is not None and (
                not isinstance(unk_word, str) or not unk_word or " " in unk_word
            ):
                raise InputValueError(
                    f"unk_word must be a word (a non-empty str), got {unk_word!r}"
                )
            self.sil_token = sil_token
            self.unk_word = unk_word
            words, entries = _lexicon_entries(lexicon, index)
            for wid, ids in entries:
                for tok in ids:
                    if not 0 <= tok < len(label_list) or tok == self.blank:
                        raise InputValueError(
                            f"lexicon[{words[wid]!r}] uses token id {tok}, which is not a "
                            "non-blank label id"
                        )
            self.lexicon_words = tuple(words)
            missing = [w for w in self.hotwords if w not in set(words)]
            if missing:
                raise InputValueError(
                    f"hotword {missing[0]!r} is not a lexicon word (decoding through a "
                    "lexicon emits lexicon words only)"
                )
            self._tables = self._lexicon_tables(entries)
        self._kernels: dict[int, _Kernel] = {}
        self._kernels_lock = threading.Lock()

    @property
    def mode(self) -> str:
        """How words are found: ``"characters"``, ``"bpe"``, ``"wordpiece"`` or
        ``"lexicon"``.

        Example:
            >>> WordBeamSearchDecoder(["", "▁a", "b"]).mode
            'bpe'
        """
        return self._labels.mode

    def __repr__(self) -> str:
        lm = None if self.lm is None else type(self.lm).__name__
        return (
            f"WordBeamSearchDecoder(mode={self.mode!r}, V={len(self.labels)}, lm={lm}, "
            f"alpha={self.alpha}, beta={self.beta}, beam_width={self.beam_width}, "
            f"top_n={self.top_n}, hotwords={len(self.hotwords)}, "
            f"lexicon={None if self.lexicon_words is None else len(self.lexicon_words)})"
        )

    # ------------------------------------------------------------------ construction

    def _check_free_words(self) -> None:
        pieces = [p for i, p in enumerate(self._labels.pieces) if i != self.blank]
        for w in self.hotwords:
            stop = _spellable(w, pieces)
            if stop >= 0:
                raise InputValueError(
                    f"hotword {w!r} cannot be spelled with the labels: no label sequence "
                    f"spells {w[: stop + 1]!r} (character {w[stop]!r} at {stop})"
                )
        if self.unigrams is not None and self.lm is not None:
            known = set(_lm_vocabulary(self.lm))
            missing = [w for w in self.unigrams if w not in known]
            if missing:
                raise InputValueError(
                    f"{len(missing)} of {len(self.unigrams)} unigrams are not in the LM's "
                    f"vocabulary, e.g. {missing[:3]}; unigrams must be LM words"
                )

    def _free_tables(self) -> dict[str, Any]:
        """Tables of the lexicon-free scorer: the word trie over code points."""
        lm_words: list[str] = [] if self.lm is None else _lm_vocabulary(self.lm)
        vocab: dict[str, int] = {}
        for w in lm_words:
            vocab.setdefault(w, len(vocab))
        for w in (*(self.unigrams or ()), *self.hotwords):
            vocab.setdefault(w, len(vocab))
        words = list(vocab)
        trie = build_word_trie(words)
        n = len(trie.depth)
        lm_ids = {} if self.lm is None else {w: i for i, w in enumerate(self.lm.words)}
        node_word = np.full(n, -1, np.int32)
        uni_end = np.zeros(n, bool)
        hot_end = np.zeros(n, bool)
        uni = set(lm_words) if self.unigrams is None else set(self.unigrams)
        hot = set(self.hotwords)
        for w, end in zip(words, trie.ends.tolist()):
            node_word[end] = lm_ids.get(w, -1)
            uni_end[end] = w in uni
            hot_end[end] = w in hot
        constrain = self.lm is not None or self.unigrams is not None
        depth = trie.depth.astype(np.float64)
        # the partial-word term of each node: hotword prefix, else unknown prefix, else 0
        big = float(np.iinfo(np.int32).max)
        hot_len = subtree_min(trie, np.where(hot_end, depth, big))
        uni_prefix = subtree_min(trie, np.where(uni_end, 0.0, 1.0)) == 0.0
        unk = self.unk_score_offset * np.maximum(1.0, depth / AVG_WORD_LEN)
        partial = np.where(constrain & ~uni_prefix, unk, 0.0)
        hot_prefix = (hot_len < big) & (trie.depth > 0)
        partial = np.where(hot_prefix, self.hotword_weight * depth / np.maximum(hot_len, 1.0),
                           partial)  # fmt: skip
        partial[0] = 0.0
        flags = uni_end.astype(np.int8) | (hot_end.astype(np.int8) << 1)
        pieces = self._labels.pieces
        tok_start, tok_chars = csr([[ord(ch) for ch in p] for p in pieces])
        return {
            "trie": trie,
            "names": dict(zip(trie.ends.tolist(), words)),  # a word's text by its end node
            "node_word": node_word,
            "node_flags": flags,
            "node_partial": np.ascontiguousarray(partial, np.float64),
            "constrain": constrain,
            "kinds": np.asarray(self._labels.kinds, np.int8),
            "tok_start": tok_start,
            "tok_chars": tok_chars,
        }

    def _lexicon_tables(self, entries: list[tuple[int, list[int]]]) -> dict[str, Any]:
        """Tables of the lexicon scorer: the token trie and the words ending at each node."""
        assert self.lexicon_words is not None
        words = self.lexicon_words
        trie = build_trie([ids for _, ids in entries])
        n = len(trie.depth)
        at_node: list[list[int]] = [[] for _ in range(n)]
        for (wid, _), end in zip(entries, trie.ends.tolist()):
            if wid not in at_node[end]:
                at_node[end].append(wid)
        word_start, word_ids = csr(at_node)
        lm_ids = {} if self.lm is None else {w: i for i, w in enumerate(self.lm.words)}
        unk_id = -1 if self.lm is None else int(self.lm.unk_id)
        word_lm = np.asarray([lm_ids.get(w, unk_id) for w in words], np.int32)
        hot = set(self.hotwords)
        word_hot = np.asarray([w in hot for w in words], np.int8)
        # look-ahead: the best unigram log10-prob among the words a node can still become
        node_best = np.full(n, -np.inf)
        if self.lm is not None:
            uni = np.asarray(self.lm.unigram_log10(word_lm), np.float64)
            for node, wids in enumerate(at_node):
                if wids:
                    node_best[node] = max(uni[w] for w in wids)
        ahead = subtree_max(trie, node_best)
        lookahead = np.zeros(n)
        finite = np.isfinite(ahead)
        lookahead[finite] = self.alpha * LN10 * ahead[finite]
        lookahead[0] = 0.0
        # hotword term: hotword_weight * depth / shortest hotword pronunciation below
        big = float(np.iinfo(np.int32).max)
        hot_depth = np.full(n, big)
        for node, wids in enumerate(at_node):
            if any(words[w] in hot for w in wids):
                hot_depth[node] = trie.depth[node]
        below = subtree_min(trie, hot_depth, proper=True)  # a continuing prefix ends no word
        depth = trie.depth.astype(np.float64)
        hot_term = np.where(below < big, self.hotword_weight * depth / np.maximum(below, 1), 0.0)
        hot_term[0] = 0.0
        sil = -1 if self.sil_token is None else self.labels.index(self.sil_token)
        names: dict[int, str] = dict(enumerate(words))  # a word's text by its event
        if self.unk_word is not None:
            names[EVENT_UNK] = self.unk_word
        return {
            "trie": trie,
            "names": names,
            "word_start": word_start,
            "word_ids": word_ids,
            "word_lm": word_lm,
            "word_hot": word_hot,
            "node_partial": np.ascontiguousarray(lookahead + hot_term, np.float64),
            "sil": sil,
            "unk_lm": unk_id,
        }

    # ------------------------------------------------------------------ decoding

    def _kernel(self, vocab: int) -> _Kernel:
        kernel = self._kernels.get(vocab)
        if kernel is not None:
            return kernel
        with self._kernels_lock:
            kernel = self._kernels.get(vocab)
            if kernel is None:
                if vocab != len(self.labels):
                    raise ShapeError(
                        f"log_probs has V={vocab} classes but the decoder has "
                        f"{len(self.labels)} labels"
                    )
                kernel = self._kernels[vocab] = self._make_kernel()
        return kernel

    def _make_kernel(self) -> _Kernel:
        from ctckit.decode._kernels import word_lm, word_scorer
        from ctckit.decode._kernels.state import SearchOptions

        opts = SearchOptions(
            self.blank,
            self.beam_width,
            self.top_n,
            -math.inf if self.token_min_logp is None else self.token_min_logp,
            -math.inf if self.beam_prune_logp is None else self.beam_prune_logp,
        )
        lm = (
            word_lm.no_lm() if self.lm is None else word_lm.lm_view(self.lm, self.lm_score_boundary)
        )
        weights = word_scorer.Weights(
            self.alpha * LN10, self.beta + self.word_score, self.hotword_weight,
            self.unk_score_offset, self.sil_score,
        )  # fmt: skip
        t = self._tables
        trie: FlatTrie = t["trie"]
        arrays = (trie.child_start, trie.child_label, trie.child_node)
        if self.lexicon_words is None:
            scorer = word_scorer.free_scorer(
                weights, lm, arrays, t["node_partial"], kinds=t["kinds"],
                tok_start=t["tok_start"], tok_chars=t["tok_chars"], node_word=t["node_word"],
                node_flags=t["node_flags"], constrain=t["constrain"],
                max_merge=self.merge == "max", keep_blank=not self.prune_blank,
            )  # fmt: skip
        else:
            scorer = word_scorer.lexicon_scorer(
                weights, lm, arrays, t["node_partial"], word_start=t["word_start"],
                word_ids=t["word_ids"], word_lm=t["word_lm"], word_hot=t["word_hot"],
                sil=t["sil"], unk=self.unk_word is not None, unk_lm=t["unk_lm"],
                max_merge=self.merge == "max", keep_blank=not self.prune_blank,
            )  # fmt: skip
        return _Kernel(opts, scorer, word_scorer.model_rows(lm))

    def decode(self, log_probs: Any, lengths: Any = None) -> list[list[WordHypothesis]]:
        """Decode a batch (or one utterance) of log-probabilities to words.

        Args:
            log_probs: ``(B, T, V)`` or ``(T, V)`` float32/float64
                log-probabilities (``V = len(labels)``), a torch tensor (any
                device) or a numpy array; ``-inf`` allowed, NaN, ``+inf`` and
                positive values within ``lengths`` not.
            lengths: Valid frames per utterance, ``(B,)`` integers in
                ``[0, T]`` (an int for ``(T, V)`` input); ``None``: all.

        Returns:
            ``B`` lists (one for ``(T, V)`` input) of at most ``top_n``
            hypotheses, best first, no two with the same words. An utterance
            of length 0 gives one empty hypothesis of score 0; one with no
            hypothesis (every labelling impossible, or, with a lexicon, every
            kept prefix inside a word at the end) one empty hypothesis of
            score ``-inf``.

        Raises:
            InputTypeError: Wrong type or dtype of ``log_probs`` or ``lengths``.
            ShapeError: Wrong rank, ``V != len(labels)``, or wrong ``lengths``
                shape.
            InputValueError: A length outside ``[0, T]``, or an entry that is
                not a log-probability in a valid frame.

        Example:
            >>> import numpy as np
            >>> dec = WordBeamSearchDecoder(["", "h", "i", " "], alpha=0.0, beta=0.0)
            >>> probs = np.full((2, 4, 4), 0.01)
            >>> probs[:, :, 0] = 0.97  # blank frames, but "h" and "i" in utterance 0
            >>> probs[0, 1], probs[0, 2] = [0.01, 0.97, 0.01, 0.01], [0.01, 0.01, 0.97, 0.01]
            >>> [hyps[0].text for hyps in dec.decode(np.log(probs), lengths=[4, 2])]
            ['hi', '']
        """
        arr, batched = kernel_log_prob_array(log_probs, self.blank)
        batch, time, vocab = arr.shape
        if lengths is None:
            lens = _ALL_FRAMES
        else:  # a private C-contiguous copy: the compiled entry point's type
            lens = np.array(check_lengths(lengths, batch, time, batched), np.int64)
        kernel = self._kernel(vocab)
        threads = max(min(self.num_threads, batch), 1)
        opts, scorer, rows = kernel.opts, kernel.scorer, kernel.rows
        want = self.top_n if self.top_n == 1 else min(self.beam_width, 4 * self.top_n)
        # the threads take the utterances in this order, each the next when done with one
        order = np.arange(batch) if lens is _ALL_FRAMES else np.argsort(-lens, kind="stable")
        taken = np.zeros(1, np.int64)
        args = (arr, lens, order, taken, opts, scorer, rows, want)
        fn = kernel.entry((*args, _no_buffers()), (arr.dtype.char, arr.flags.aligned,
                                                   arr.flags.writeable))  # fmt: skip

        def run() -> tuple[Any, ...]:  # on each thread, with its own search buffers
            utts, ints, floats, words, bad, where, *bufs = fn(*args, kernel.take_buffers())
            kernel.keep_buffers(tuple(bufs), threads)
            return utts, ints, floats, words, bad, where

        parts = run_together(run, threads)  # the process-wide pool (ctckit._threads)
        return gather_threads(parts, order, arr, batched, lambda part: self._results(
            part[1].tolist(), part[2].tolist(), part[3].tolist()))  # fmt: skip

    def _results(
        self, ints: list[int], floats: list[float], words: list[int]
    ) -> list[list[WordHypothesis]]:
        """The hypotheses from :func:`decode_words`'s packed output, each search's in turn:
        the words' texts looked up by their keys (spelled from the tokens when the key
        names none); no two hypotheses of a search with the same words."""
        name = self._tables["names"].get
        top_n = self.top_n
        out = []
        i = f = w = 0
        size = len(ints)
        while i < size:
            k = ints[i]
            i += 1
            if k == 0:  # no hypothesis left
                out.append([_new_word_hypothesis("", (), (), -math.inf, -math.inf, 0.0, [], [])])
                continue
            hyps: list[WordHypothesis] = []
            seen: set[tuple[str, ...]] = set()
            for _ in range(k):
                n = ints[i]
                tok = i + 1
                i = tok + 3 * n
                nw = words[w]
                starts = w + 1
                keys = starts + 2 * nw
                texts = tuple(map(name, words[keys : keys + nw]))
                text = None
                if None in texts:  # a word outside the vocabulary: spelled from the tokens
                    bounds = words[keys + nw : keys + 3 * nw]
                    texts, text = self._spell(texts, ints[tok : tok + n], bounds)
                if len(hyps) < top_n and texts not in seen:
                    if top_n > 1:
                        seen.add(texts)
                    if text is None:
                        text = " ".join(texts)
                    ends = words[starts + nw : keys]
                    hyp = _new_word_hypothesis(text, texts, tuple(ints[tok : tok + n]), floats[f],
                                               floats[f + 1], floats[f + 2],
                                               words[starts : starts + nw], ends)  # fmt: skip
                    hyps.append(hyp)
                w = keys + 3 * nw
                f += 3
            out.append(hyps)
        return out

    def _spell(
        self, texts: tuple[str | None, ...], tokens: list[int], bounds: list[int]
    ) -> tuple[tuple[str, ...], str | None]:
        """``texts`` with each ``None`` spelled from its word's tokens (``tokens``: the
        hypothesis's; ``bounds``: the words' first tokens, then their last), and their text
        when the spelling gives it at once (else ``None``)."""
        nw = len(texts)
        spelling = self._spelling
        if spelling is not None:  # lexicon-free: every word at once, split at the boundaries
            by_bytes = self._byte_spelling
            if by_bytes is not None:  # (one translate instead of a join over the tokens)
                spelled = bytes(tokens).translate(*by_bytes).decode("latin-1").strip()
            else:
                spelled = "".join(map(spelling.__getitem__, tokens)).strip()
            out = tuple(spelled.split())
            if len(out) == nw:  # (a space is the only whitespace a spelling holds)
                return out, None if "  " in spelled else spelled
        pieces = self._labels.pieces
        return tuple(
            t if t is not None
            else "".join([pieces[c] for c in tokens[bounds[j] : bounds[nw + j] + 1]])
            for j, t in enumerate(texts)
        ), None  # fmt: skip


EVENT_UNK = -3  # the kernels' event of the unknown word (besides a word id >= 0)


def _lm_vocabulary(lm: Any) -> list[str]:
    """The LM's words, without ``<s>``, ``</s>`` and ``<unk>`` (no word spells them)."""
    markers = {int(lm.bos_id), int(lm.eos_id), int(lm.unk_id)}
    return [w for i, w in enumerate(lm.words) if i not in markers]


def _load_lm(lm: object) -> Any:
    """``lm`` as a :class:`ctckit.lm.WordNGramLM` (a path is loaded), or ``None``."""
    if lm is None:
        return None
    from ctckit import lm as lm_package

    word_lm = getattr(lm_package, "WordNGramLM", None)
    if word_lm is None:
        raise InputTypeError("lm needs ctckit.lm.WordNGramLM, which this build lacks")
    if isinstance(lm, word_lm):
        return lm
    if isinstance(lm, (str, os.PathLike)):
        path = os.fspath(lm)
        if path.endswith(".arpa") or path.endswith(".arpa.gz"):
            return word_lm.from_arpa(path)
        return word_lm.load(path)
    raise InputTypeError(
        f"lm must be a ctckit.lm.WordNGramLM or the path of an ARPA file, got {type(lm).__name__}"
    )
