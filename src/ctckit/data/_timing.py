"""Phoneme and word times of one synthesised utterance, from espeak-ng's events (private).

espeak-ng reports the sample at which it starts each phoneme and each word.
This module turns those events into the corpus's labels, their spans in
MFCC frames, and the utterance's words with their spans:

* a phoneme's span runs from its start to the next phoneme's start; a
  phoneme that maps to two HW3P2 symbols (``@L`` -> ``AH L``) is split in
  two halves;
* espeak-ng writes the silent closure of a stop (and the short gap before a
  word-initial fricative) *before* the stop's event: when a run of exact
  zero samples (at least 1 ms) ends at a phoneme's event and the previous
  phoneme is not a pause, the phoneme starts where the zeros start;
* espeak-ng reports a vowel that follows a nasal or a liquid only after the
  vowel's onset (its code emits the event once the vowel-start frames are
  out, so the event comes late by that transition): such a vowel starts at the onset estimated from
  the clean signal, the best two-piece fit of log energy and spectral
  centroid (2.5 ms steps) over the consonant's reported span, the consonant
  keeping at least 15 ms and a quarter of that span;
* pauses shorter than 30 ms are dropped (their time joins the previous
  label), longer ones become ``SIL``; every utterance starts and ends with
  ``SIL``;
* a label owns the MFCC frames whose window centre (sample ``160 t + 200`` of
  the 16 kHz signal) lies in its span; a label too short to own a frame
  takes one from its neighbours, so spans are contiguous, non-empty and
  cover every frame;
* espeak-ng speaks some word pairs as one dictionary entry ("of the", "in
  the") with one word event; the words of such a group are found by splitting
  its phonemes where they best match the words' lexicon pronunciations (edit
  distance), while boundaries between word events are kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from rapidfuzz.distance import Levenshtein

from ctckit.data._phonemes import STRESS_MARKS, to_arpabet
from ctckit.errors import InputValueError

__all__ = [
    "HOP",
    "MIN_PAUSE_S",
    "WINDOW",
    "Label",
    "Segment",
    "frame_spans",
    "label_spans",
    "segments",
    "word_of_labels",
    "word_spans",
]

#: Pauses shorter than this (seconds) are not labelled ``SIL``.
MIN_PAUSE_S = 0.03
#: MFCC hop and window in 16 kHz samples (10 ms and 25 ms, as :func:`ctckit.features.mfcc`).
HOP = 160
WINDOW = 400
_MIN_CLOSURE = 22  # samples at 22050 Hz (1 ms): shorter zero runs are zero crossings
#: espeak-ng mnemonics (stress removed) of the nasals and liquids after which it
#: reports a vowel late (phoneme types phNASAL and phLIQUID of its tables).
_SONORANTS = frozenset({"m", "n", "N", "m-", "n-", "l", "r", "w", "j", "r-", "r/", "l/2",
                       "w#", "@L", "l-"})  # fmt: skip
_VOWELS = frozenset({"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW",
                     "OY", "UH", "UW"})  # fmt: skip
_ONSET_HOP = 55  # 2.5 ms at 22050 Hz
_ONSET_WINDOW = 221  # 10 ms
_MIN_SONORANT = 331  # 15 ms: what the consonant keeps at least
_HANN = np.hanning(_ONSET_WINDOW)
_BINS = np.arange(129, dtype=np.float64)


class Segment(NamedTuple):
    """One HW3P2 symbol spoken from ``start`` to ``end`` (espeak-ng samples)."""

    symbol: str
    start: int
    end: int
    group: int = -1  # index of espeak-ng's word event it belongs to


class Label(NamedTuple):
    """One label of the transcript: its symbol, first sample and word event."""

    symbol: str
    start: int
    group: int = -1


def _closure_start(audio: npt.NDArray[np.int16], previous: int, start: int) -> int:
    """Where the run of zero samples that ends at ``start`` begins (not before ``previous``)."""
    nonzero = np.flatnonzero(audio[previous:start])
    if nonzero.size == 0:
        return start  # the previous phoneme is silent as a whole: nothing to move
    zeros_from = previous + int(nonzero[-1]) + 1
    return zeros_from if start - zeros_from >= _MIN_CLOSURE else start


def _onset_features(audio: npt.NDArray[np.int16], start: int, end: int) -> npt.NDArray[np.float64]:
    """Log energy and log spectral centroid (standardised), a row per 2.5 ms of ``[start, end)``."""
    half = _ONSET_WINDOW // 2
    lo = max(start - half, 0)
    piece = audio[lo : end + _ONSET_WINDOW].astype(np.float64)
    piece = np.pad(piece, (half - (start - lo), _ONSET_WINDOW))  # centre 0 is sample ``start``
    centres = np.arange(0, end - start, _ONSET_HOP)
    frames = piece[centres[:, None] + np.arange(_ONSET_WINDOW)[None, :]]
    power = np.abs(np.fft.rfft(frames * _HANN, 256)) ** 2
    total = power.sum(axis=1) + 1e-9
    centroid = power @ _BINS / total
    features = np.stack([np.log(total), np.log(centroid + 1.0)], axis=1)
    spread = features.std(axis=0)
    out: npt.NDArray[np.float64] = (features - features.mean(axis=0)) / np.where(
        spread > 0, spread, 1.0
    )
    return out


def _vowel_onset(audio: npt.NDArray[np.int16], consonant: int, vowel: int) -> int:
    """Where the vowel reported at sample ``vowel`` begins, after a sonorant from ``consonant``.

    The split of ``[consonant, vowel)`` into two pieces of least squared
    deviation from their means (of the features of :func:`_onset_features`).
    """
    earliest = consonant + max(_MIN_SONORANT, (vowel - consonant) // 4)
    if vowel - earliest < _ONSET_HOP:
        return vowel
    features = _onset_features(audio, consonant, vowel)
    count = len(features)
    cumulative = np.cumsum(features, axis=0)
    squares = np.cumsum((features**2).sum(axis=1))
    k = np.arange(1, count)  # pieces [0, k) and [k, count)
    left = squares[k - 1] - (cumulative[k - 1] ** 2).sum(axis=1) / k
    right_sum = cumulative[-1] - cumulative[k - 1]
    right = (squares[-1] - squares[k - 1]) - (right_sum**2).sum(axis=1) / (count - k)
    cost = left + right
    allowed = consonant + k * _ONSET_HOP >= earliest
    if not allowed.any():
        return vowel
    best = int(k[allowed][np.argmin(cost[allowed])])
    return consonant + best * _ONSET_HOP


def segments(
    phonemes: Sequence[str],
    starts: Sequence[int],
    n_samples: int,
    word_of: Sequence[int] | None = None,
    audio: npt.NDArray[np.int16] | None = None,
) -> list[Segment]:
    """Turn phoneme events into HW3P2 segments in espeak-ng samples.

    Args:
        phonemes: espeak-ng mnemonics, in spoken order.
        starts: The sample of each phoneme's event, same length.
        n_samples: Length of the audio.
        word_of: Word-event index of each phoneme (default ``-1``).
        audio: The int16 audio; given, stop closures move to the stop and
            vowels after sonorants start at their onset.

    Returns:
        The segments, contiguous from the first event to ``n_samples``.

    Raises:
        InputValueError: When an event lies outside the audio.
        UnmappedPhonemeError: On a mnemonic without an HW3P2 mapping.
    """
    for mnemonic, start in zip(phonemes, starts):
        if not 0 <= start <= n_samples:
            raise InputValueError(
                f"espeak-ng phoneme {mnemonic!r} starts at sample {start}, outside the "
                f"audio of {n_samples} samples"
            )
    mapped = [to_arpabet(mnemonic) for mnemonic in phonemes]
    groups = list(word_of) if word_of is not None else [-1] * len(phonemes)
    begin = list(starts)
    if audio is not None:
        for i in range(1, len(begin)):
            if mapped[i] and mapped[i] != ("SIL",) and mapped[i - 1] != ("SIL",):
                begin[i] = max(_closure_start(audio, starts[i - 1], starts[i]), begin[i - 1])
            previous, current = (phonemes[j].lstrip(STRESS_MARKS) for j in (i - 1, i))
            vowel = bool(mapped[i]) and mapped[i][0] in _VOWELS and current not in _SONORANTS
            if vowel and previous in _SONORANTS:
                begin[i] = max(_vowel_onset(audio, begin[i - 1], starts[i]), begin[i - 1])
    out: list[Segment] = []
    bounds = [*begin[1:], n_samples]
    for i, (start, end) in enumerate(zip(begin, bounds)):
        end = max(end, start)
        symbols = mapped[i]
        if len(symbols) == 2 and symbols[1] == "R" and mapped[i + 1 : i + 2] == [("R",)]:
            symbols = symbols[:1]  # the accent speaks the r itself ("are" in en-gb-scotland)
        for j, symbol in enumerate(symbols):
            a = start + (end - start) * j // len(symbols)
            b = start + (end - start) * (j + 1) // len(symbols)
            out.append(Segment(symbol, a, b, groups[i]))
    return out


def label_spans(segs: Sequence[Segment], n_samples: int, rate: int) -> list[Label]:
    """Merge pauses into ``SIL`` labels (short ones dropped) and frame the utterance in ``SIL``.

    Args:
        segs: Output of :func:`segments`.
        n_samples: Length of the audio (where the last label's span ends).
        rate: Sample rate of the audio, in Hz.

    Returns:
        The labels with their start samples; the first is ``SIL`` at 0 and
        the last is ``SIL``; no two ``SIL`` follow each other.
    """
    min_pause = int(MIN_PAUSE_S * rate)
    labels = [Label("SIL", 0)]
    pause, pause_start = 0, n_samples
    for seg in segs:
        if seg.symbol == "SIL":
            if pause == 0:
                pause_start = seg.start
            pause += seg.end - seg.start
            continue
        if pause >= min_pause and labels[-1].symbol != "SIL":
            labels.append(Label("SIL", pause_start))
        pause = 0
        labels.append(Label(seg.symbol, seg.start, seg.group))
    if labels[-1].symbol != "SIL":
        labels.append(Label("SIL", pause_start if pause else n_samples))
    return labels


def frame_spans(
    starts: Sequence[int], rate: int, lead: int, n_frames: int, new_rate: int = 16000
) -> npt.NDArray[np.int32]:
    """``[start, end)`` MFCC frames of labels that start at ``starts`` (samples at ``rate``).

    The speech is resampled to ``new_rate`` and follows ``lead`` samples of
    silence; a label owns frame ``t`` when the window centre ``HOP * t +
    WINDOW / 2`` lies in its span. Labels too short to own a frame borrow one
    (every span is non-empty; ``n_frames`` must be at least the label count).

    Args:
        starts: Start sample of each label, non-decreasing, length ``U``.
        rate: Sample rate of ``starts``.
        lead: Silence samples (at ``new_rate``) before the speech.
        n_frames: Frames of the utterance, ``T >= U``.
        new_rate: Sample rate of the MFCC input.

    Returns:
        int32 array ``(U, 2)``: contiguous, non-empty spans from 0 to ``T``.

    Raises:
        InputValueError: When ``n_frames < U``.
    """
    count = len(starts)
    if n_frames < count:
        raise InputValueError(f"{count} labels cannot own a frame each of {n_frames} frames")
    if count == 0:
        return np.zeros((0, 2), np.int32)
    # ceil((lead + s * new_rate / rate - WINDOW / 2) / HOP) in exact integer arithmetic
    numerator = np.asarray(starts, np.int64) * new_rate + (lead - WINDOW // 2) * rate
    first = np.clip(-(-numerator // (HOP * rate)), 0, n_frames)
    first[0] = 0
    for i in range(1, count):
        first[i] = max(first[i], first[i - 1] + 1)
    for i in range(count - 1, 0, -1):
        first[i] = min(first[i], n_frames - (count - i))
    spans = np.empty((count, 2), np.int32)
    spans[:, 0] = first
    spans[:-1, 1] = first[1:]
    spans[-1, 1] = n_frames
    return spans


def _distance(symbols: Sequence[str], pronunciations: Sequence[Sequence[str]]) -> int:
    return min(Levenshtein.distance(symbols, p) for p in pronunciations)


def _split(
    symbols: Sequence[str],
    words: Sequence[str],
    pronunciations: Mapping[str, Sequence[Sequence[str]]],
) -> tuple[float, list[int]]:
    """Cut ``symbols`` into one non-empty run per word, nearest to their pronunciations.

    Returns the summed edit distance and the run lengths.
    """
    size, count = len(symbols), len(words)
    best = np.full((count + 1, size + 1), np.inf)
    back = np.zeros((count + 1, size + 1), np.int64)
    best[0, 0] = 0.0
    for w, word in enumerate(words):
        rest = count - w - 1  # the later words need a symbol each
        for i in range(w, size - rest):
            if not np.isfinite(best[w, i]):
                continue
            for end in range(i + 1, size - rest + 1) if rest else (size,):
                total = best[w, i] + _distance(symbols[i:end], pronunciations[word])
                if total < best[w + 1, end]:
                    best[w + 1, end], back[w + 1, end] = total, i
    lengths, end = [], size
    for w in range(count, 0, -1):
        start = int(back[w, end])
        lengths.append(end - start)
        end = start
    return float(best[count, size]), lengths[::-1]


def word_of_labels(
    labels: Sequence[Label],
    words: Sequence[str],
    pronunciations: Mapping[str, Sequence[Sequence[str]]],
) -> list[int]:
    """The index in ``words`` of each label (``-1`` for ``SIL``).

    The non-``SIL`` labels are cut into ``len(words)`` non-empty runs, one per
    word in order. Every cut between espeak-ng's word events is kept; a word
    event that holds several words (two words spoken as one dictionary
    entry, or a word whose own event espeak-ng dropped) is cut where its
    runs come nearest (in edit distance) to the words' pronunciations.

    Args:
        labels: Output of :func:`label_spans`.
        words: The words of the text, in order.
        pronunciations: Lexicon pronunciations of every word in ``words``.

    Returns:
        One word index per label.

    Raises:
        InputValueError: When there are fewer phonemes than words, or a word
            has no pronunciation.
    """
    spoken = [i for i, label in enumerate(labels) if label.symbol != "SIL"]
    symbols = [labels[i].symbol for i in spoken]
    if len(symbols) < len(words):
        raise InputValueError(
            f"{len(symbols)} phonemes cannot spell the {len(words)} words {list(words)}"
        )
    missing = [w for w in words if not pronunciations.get(w)]
    if missing:
        raise InputValueError(f"no pronunciation for the words {missing}")
    groups: list[list[str]] = []  # the symbols of each word event, in order
    previous = None
    for i in spoken:
        if labels[i].group != previous or not groups:
            groups.append([])
        previous = labels[i].group
        groups[-1].append(labels[i].symbol)
    lengths = _group_split(groups, words, pronunciations)
    if lengths is None:  # more word events than words: cut by pronunciation alone
        lengths = _split(symbols, words, pronunciations)[1]
    owner = [-1] * len(labels)
    position = 0
    for w, length in enumerate(lengths):
        for i in spoken[position : position + length]:
            owner[i] = w
        position += length
    return owner


def _group_split(
    groups: Sequence[Sequence[str]],
    words: Sequence[str],
    pronunciations: Mapping[str, Sequence[Sequence[str]]],
) -> list[int] | None:
    """Run lengths that keep every cut between ``groups``; ``None`` if groups outnumber words.

    Each group takes one or more consecutive words (a dynamic programme over
    groups); the words of a group are split by :func:`_split`.
    """
    n_groups, n_words = len(groups), len(words)
    if n_groups > n_words:
        return None
    if n_groups == n_words:
        return [len(g) for g in groups]
    best = np.full((n_groups + 1, n_words + 1), np.inf)
    back: dict[tuple[int, int], tuple[int, list[int]]] = {}
    best[0, 0] = 0.0
    for g, group in enumerate(groups):
        later = n_groups - g - 1  # the later groups need a word each
        for j in range(g, n_words - later):
            if not np.isfinite(best[g, j]):
                continue
            for k in range(1, min(len(group), n_words - later - j) + 1):
                cost, lengths = _split(group, words[j : j + k], pronunciations)
                if best[g, j] + cost < best[g + 1, j + k]:
                    best[g + 1, j + k] = best[g, j] + cost
                    back[(g + 1, j + k)] = (j, lengths)
    if not np.isfinite(best[n_groups, n_words]):
        return None
    out: list[int] = []
    j = n_words
    for g in range(n_groups, 0, -1):
        j, lengths = back[(g, j)]
        out[:0] = lengths
    return out


def word_spans(
    owner: Sequence[int], spans: npt.NDArray[np.int32], n_words: int
) -> npt.NDArray[np.int32]:
    """``[start, end)`` frames of each word: from its first label's start to its last's end.

    Args:
        owner: Word index of each label (``-1`` for ``SIL``), from :func:`word_of_labels`.
        spans: Label spans ``(U, 2)`` from :func:`frame_spans`.
        n_words: Number of words ``W``.

    Returns:
        int32 array ``(W, 2)``, non-overlapping and in order.
    """
    out = np.zeros((n_words, 2), np.int32)
    seen = [False] * n_words
    for i, w in enumerate(owner):
        if w < 0:
            continue
        if not seen[w]:
            out[w, 0] = spans[i, 0]
            seen[w] = True
        out[w, 1] = spans[i, 1]
    return out
