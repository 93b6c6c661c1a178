"""Result types of the decoders."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Hypothesis", "TokenSpan", "WordHypothesis", "WordSpan"]


@dataclass(frozen=True)
class TokenSpan:
    """Where one emitted token lies in the frames, and how sure the model is of it.

    The one span type of ctckit: the decoders return it for each token of a
    hypothesis and :mod:`ctckit.align` for each token of a forced alignment.

    Attributes:
        token: The label id.
        start: First frame of the token (inclusive).
        end: One past its last frame (exclusive), so ``end - start >= 1``
            frames carry the label on the alignment the span was read from.
        confidence: A score in ``[0, 1]``; each producer documents how it is
            computed.

    Example:
        >>> span = TokenSpan(token=3, start=10, end=14, confidence=0.9)
        >>> span.end - span.start
        4
    """

    token: int
    start: int
    end: int
    confidence: float


@dataclass(frozen=True)
class Hypothesis:
    """One labelling proposed by a decoder, with its scores.

    All scores are natural-log values. Without a language model and without
    an insertion bonus, ``score == acoustic_score``.

    Attributes:
        tokens: The label ids, blanks removed and repeats collapsed.
        score: The ranking score: ``acoustic_score + lm_weight * lm_score +
            insertion_bonus * len(tokens)``.
        acoustic_score: Log-probability of the labelling under the acoustic
            model, summed over the alignments the search kept. When no
            pruning cut any path it equals ``-ctc_loss`` of ``tokens``.
        lm_score: Unweighted log-probability of ``tokens`` under the language
            model, end-of-sentence included (``0.0`` without a model).
        frames: ``frames[k]`` is the first frame of ``tokens[k]`` on the most
            probable single alignment of ``tokens`` among those the search
            kept (the best path, tracked beside the summed probabilities).
            Strictly increasing, each below the utterance length; for peaky
            CTC outputs it is the frame of the token's spike.
        spans: One :class:`TokenSpan` per token, on that same alignment:
            ``spans[k].start == frames[k]`` and ``spans[k].end`` one past the
            last frame of the token's run (before the blank or the next token
            that follows it). ``spans[k].confidence`` is the token's largest
            frame posterior over its span, ``max(exp(log_probs[start:end,
            token]))``: measured on the example model's dev and test splits it
            is the best calibrated of the candidates tried (expected
            calibration error and AUC in ``docs/benchmarks/confidence.md``).
            Built on first access (making them costs more than the search
            for short utterances).

    Example:
        >>> h = Hypothesis(tokens=(3, 1), score=-1.5, acoustic_score=-1.5, lm_score=0.0,
        ...                frames=(2, 7))
        >>> len(h.tokens), h.frames[-1], h.spans
        (2, 7, ())
    """

    tokens: tuple[int, ...]
    score: float
    acoustic_score: float
    lm_score: float
    frames: tuple[int, ...]
    # no class attribute (default_factory): a missing instance value goes to __getattr__
    spans: tuple[TokenSpan, ...] = field(default_factory=tuple)

    def __getattr__(self, name: str) -> tuple[TokenSpan, ...]:
        if name == "spans":
            lazy = self.__dict__.pop("_span_data", None)
            if lazy is not None:
                ends, confidences = lazy
                spans = tuple(map(_new_span, self.tokens, self.frames, ends, confidences))
                self.__dict__["spans"] = spans
                return spans
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


def _new_hypothesis(
    tokens: tuple[int, ...],
    score: float,
    acoustic: float,
    lm: float,
    frames: tuple[int, ...],
    ends: tuple[int, ...],
    confidences: tuple[float, ...],
) -> Hypothesis:
    """A :class:`Hypothesis` without the frozen dataclass's ``__init__``, which sets each
    field through ``object.__setattr__`` (0.8 us against 0.35 us; the beam search makes
    one per returned hypothesis), whose spans are built from ``frames``, ``ends`` and
    ``confidences`` on first access. Same object: equality, hashing and repr are
    unchanged."""
    h = object.__new__(Hypothesis)
    d = h.__dict__
    d["tokens"] = tokens
    d["score"] = score
    d["acoustic_score"] = acoustic
    d["lm_score"] = lm
    d["frames"] = frames
    d["_span_data"] = (ends, confidences)
    return h


def _new_span(token: int, start: int, end: int, confidence: float) -> TokenSpan:
    """A :class:`TokenSpan` without the frozen dataclass's ``__init__`` (as above)."""
    s = object.__new__(TokenSpan)
    d = s.__dict__
    d["token"] = token
    d["start"] = start
    d["end"] = end
    d["confidence"] = confidence
    return s


def _new_word_span(word: str, start: int, end: int) -> WordSpan:
    """A :class:`WordSpan` without the frozen dataclass's ``__init__`` (as above; the word
    decoder makes one per decoded word)."""
    s = object.__new__(WordSpan)
    d = s.__dict__
    d["word"] = word
    d["start"] = start
    d["end"] = end
    return s


@dataclass(frozen=True)
class WordSpan:
    """Where one decoded word lies in the frames.

    Attributes:
        word: The word's text.
        start: First frame of the word's first token (inclusive).
        end: One past the last frame of its last token (exclusive), on the
            same best alignment as :attr:`TokenSpan.start`/``end``; so spans
            of consecutive words never overlap, and a delimiter or silence
            between two words lies in neither.

    Example:
        >>> span = WordSpan(word="hello", start=3, end=11)
        >>> span.end - span.start
        8
    """

    word: str
    start: int
    end: int


@dataclass(frozen=True)
class WordHypothesis:
    """One word sequence proposed by :class:`~ctckit.decode.WordBeamSearchDecoder`.

    All scores are natural logarithms.

    Attributes:
        text: The words joined by single spaces.
        words: The words, in order.
        word_spans: One :class:`WordSpan` per word (the decoder builds them
            on first access).
        tokens: The label ids the words were read from, blanks removed and
            repeats collapsed (word delimiters, silences and BPE word-start
            pieces included).
        score: The ranking score: ``acoustic_score + alpha * lm_score +
            (beta + word_score) * len(words)`` plus the hotword bonuses and,
            with a lexicon, ``sil_score`` per silence token (the decoder's
            docstring gives every term).
        acoustic_score: Log-probability of ``tokens`` under the acoustic
            model, summed over the alignments the search kept (``-ctc_loss``
            of ``tokens`` when no pruning cut any path).
        lm_score: The word LM's natural-log score of ``words``, end of
            sentence and unknown-word offsets included; ``0.0`` without an LM
            and without unknown words.

    Example:
        >>> h = WordHypothesis(text="hi", words=("hi",), word_spans=(WordSpan("hi", 0, 4),),
        ...                    tokens=(8, 9), score=-1.0, acoustic_score=-0.5, lm_score=-1.0)
        >>> h.words, h.word_spans[0].end
        (('hi',), 4)
    """

    text: str
    words: tuple[str, ...]
    word_spans: tuple[WordSpan, ...]
    tokens: tuple[int, ...]
    score: float
    acoustic_score: float
    lm_score: float

    def __getattr__(self, name: str) -> tuple[WordSpan, ...]:
        if name == "word_spans":  # no instance value yet: made from the decoder's frames
            lazy = self.__dict__.get("_span_data")
            if lazy is not None:
                starts, ends = lazy
                spans = tuple(map(_new_word_span, self.words, starts, ends))
                self.__dict__["word_spans"] = spans
                self.__dict__.pop("_span_data", None)
                return spans
            made = self.__dict__.get("word_spans")  # by another thread meanwhile
            if made is not None:
                return made  # type: ignore[no-any-return]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


def _new_word_hypothesis(
    text: str,
    words: tuple[str, ...],
    tokens: tuple[int, ...],
    score: float,
    acoustic: float,
    lm: float,
    starts: list[int],
    ends: list[int],
) -> WordHypothesis:
    """A :class:`WordHypothesis` without the frozen dataclass's ``__init__`` (as
    :func:`_new_hypothesis`), whose word spans are built from ``starts`` and ``ends`` (one
    frame each per word) on first access. Same object: equality, hashing and repr are
    unchanged."""
    h = object.__new__(WordHypothesis)
    d = h.__dict__
    d["text"] = text
    d["words"] = words
    d["tokens"] = tokens
    d["score"] = score
    d["acoustic_score"] = acoustic
    d["lm_score"] = lm
    d["_span_data"] = (starts, ends)
    return h
