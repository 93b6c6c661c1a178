"""The corpus's pronunciation lexicon: every word it speaks, as espeak-ng says it (private).

Each word is spoken in isolation (at :data:`RATE` words per minute) by every
accent of the corpus and its
phoneme events are mapped to HW3P2 symbols exactly as the transcripts are
(:mod:`ctckit.data._timing`); the distinct results are the word's
pronunciations, the first accent's first. Pauses are never part of a
pronunciation. Words are spoken in batches, ``"w1, w2, ..."``: the comma
makes each word a clause of its own, so a word's pronunciation does not
depend on its batch (one word event per word is checked; a batch that
breaks it is spoken word by word).

In a sentence espeak-ng speaks many words otherwise than alone: weak forms
("a" is ``AH`` in context and ``EY`` alone, "to" ``T AH``), and words spoken as
one dictionary entry ("of the"). :func:`context_pronunciations` reads those
in-context forms back from an utterance's annotations (the labels inside each
word's frames) and :func:`complete_lexicon` adds the ones seen at least
``min_count`` times to the isolated lexicon: that is the lexicon a decoder needs.

The file is torchaudio's / flashlight's lexicon format: one line per
pronunciation, ``word tok1 tok2 ...``, tokens separated by single spaces,
words in sorted order.
"""

from __future__ import annotations

import functools
import os
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import numpy.typing as npt

from ctckit.data._espeak import synthesize
from ctckit.data._timing import label_spans, segments
from ctckit.errors import DataError
from ctckit.files import atomic_write_bytes

__all__ = [
    "Lexicon",
    "build_lexicon",
    "complete_lexicon",
    "context_pronunciations",
    "count_forms",
    "isolated_pronunciations",
    "read_lexicon",
    "write_lexicon",
]

#: word -> its distinct pronunciations (tuples of HW3P2 symbols), in a stable order.
Lexicon = dict[str, tuple[tuple[str, ...], ...]]

_BATCH = 100
#: Words per minute of the lexicon's speech: espeak-ng's phonemes do not depend on the
#: rate (the same for the whole vocabulary and every accent at 175 and 300), and 300
#: is faster to synthesise.
RATE = 300


def _speak(words: Sequence[str], accent: str) -> list[tuple[str, ...] | None]:
    """Pronunciations of ``words`` spoken as one comma-separated text.

    A word whose word event is missing (espeak-ng drops the event of a word
    whose first phoneme it drops, such as the h of "huge" in en-us-nyc) gets
    ``None``, and so does the word before it, which took its phonemes.
    """
    text = ", ".join(words)
    offsets, position = {}, 0
    for k, word in enumerate(words):
        offsets[position] = k
        position += len(word) + 2
    result = synthesize(text, accent, rate=RATE)
    owner = [offsets.get(event[0], -1) for event in result.words]
    segs = segments(result.phonemes, result.starts, result.audio.size, result.word_of)
    out: list[list[str]] = [[] for _ in words]
    for label in label_spans(segs, result.audio.size, result.sample_rate):
        if label.symbol != "SIL":
            out[owner[label.group] if label.group >= 0 else 0].append(label.symbol)
    unsure = {k for k in range(len(words)) if k not in owner}
    unsure |= {k - 1 for k in unsure if k > 0}
    if -1 in owner:
        unsure = set(range(len(words)))
    return [None if k in unsure else tuple(p) for k, p in enumerate(out)]


def isolated_pronunciations(words: Sequence[str], accent: str) -> dict[str, tuple[str, ...]]:
    """How ``accent`` pronounces each of ``words`` on its own.

    Args:
        words: Distinct lower-case words.
        accent: An espeak-ng English voice, e.g. ``"en-us"``.

    Returns:
        ``{word: symbols}``, HW3P2 symbols without ``SIL``.
    """
    out: dict[str, tuple[str, ...]] = {}
    for start in range(0, len(words), _BATCH):
        batch = list(words[start : start + _BATCH])
        for word, spoken in zip(batch, _speak(batch, accent)):
            out[word] = _alone(word, accent) if spoken is None else spoken
    return out


def _alone(word: str, accent: str) -> tuple[str, ...]:
    """``word`` spoken alone: every phoneme is its own."""
    result = synthesize(word, accent, rate=RATE)
    segs = segments(result.phonemes, result.starts, result.audio.size)
    labels = label_spans(segs, result.audio.size, result.sample_rate)
    return tuple(label.symbol for label in labels if label.symbol != "SIL")


def build_lexicon(
    words: Iterable[str],
    accents: Sequence[str],
    known: Mapping[str, Sequence[tuple[str, ...]]] | None = None,
    map_accents: Callable[..., Iterable[dict[str, tuple[str, ...]]]] = map,
) -> Lexicon:
    """Pronounce ``words`` with every accent and keep the distinct pronunciations.

    Args:
        words: The words (duplicates ignored).
        accents: espeak-ng voices, in the order their pronunciations are listed.
        known: Entries already made (by the same generator); their words are
            not spoken again.
        map_accents: ``map`` or an executor's ``map``: how the accents are
            spoken (in order), e.g. in worker processes.

    Returns:
        The :data:`Lexicon` of ``words``, sorted by word.
    """
    known = known or {}
    wanted = sorted(set(words))
    todo = [w for w in wanted if w not in known]
    speak = functools.partial(isolated_pronunciations, todo)
    per_accent = list(map_accents(speak, accents)) if todo else []
    lexicon: Lexicon = {}
    for word in wanted:
        if word in known:
            lexicon[word] = tuple(tuple(p) for p in known[word])
            continue
        variants = [spoken[word] for spoken in per_accent]
        lexicon[word] = tuple(dict.fromkeys(p for p in variants if p))
    return lexicon


def lexicon_text(lexicon: Mapping[str, Sequence[Sequence[str]]]) -> str:
    """The lexicon file's text: ``word tok1 tok2 ...`` per pronunciation, sorted by word."""
    return "".join(
        f"{word} {' '.join(pron)}\n" for word in sorted(lexicon) for pron in lexicon[word]
    )


def write_lexicon(
    path: str | os.PathLike[str], lexicon: Mapping[str, Sequence[Sequence[str]]]
) -> None:
    """Write ``lexicon`` to ``path`` atomically (see :func:`lexicon_text`)."""
    atomic_write_bytes(path, lexicon_text(lexicon).encode("utf-8"))


def read_lexicon(path: str | os.PathLike[str]) -> Lexicon:
    """Read a lexicon file written by :func:`write_lexicon`.

    Raises:
        DataError: On a line without tokens or a file that is not UTF-8.
    """
    try:
        text = open(path, encoding="utf-8").read()  # noqa: SIM115
    except UnicodeDecodeError as err:
        raise DataError(f"not a UTF-8 lexicon file ({err})", path=path) from None
    entries: dict[str, list[tuple[str, ...]]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if len(fields) < 2:
            raise DataError(f"line {number}: expected 'word tok1 tok2 ...', got {line!r}", path)
        entries.setdefault(fields[0], []).append(tuple(fields[1:]))
    return {word: tuple(prons) for word, prons in entries.items()}


def context_pronunciations(
    words: Sequence[str],
    labels: Sequence[str],
    alignment: npt.NDArray[np.int32],
    word_spans: npt.NDArray[np.int32],
    path: str | os.PathLike[str] | None = None,
) -> list[tuple[str, ...]]:
    """The symbols each word of one utterance owns: its pronunciation in context.

    A word owns the labels whose frames lie inside its span (word edges are
    label edges); ``SIL`` is dropped, as in the isolated lexicon.

    Args:
        words: The utterance's words, length ``W``.
        labels: Its transcript without ``<sos>``/``<eos>``, length ``U``.
        alignment: int32 ``(U, 2)`` frames of each label (contiguous).
        word_spans: int32 ``(W, 2)`` frames of each word.
        path: The file the annotations came from, for error messages.

    Returns:
        ``W`` tuples of HW3P2 symbols, in word order.

    Raises:
        DataError: When the counts disagree, a word's edges are not label
            edges, or a word owns no phoneme.

    Example:
        >>> labels = ["SIL", "AH", "K", "AE", "T", "SIL"]
        >>> spans = np.array([[0, 5], [5, 8], [8, 12], [12, 20], [20, 25], [25, 40]], np.int32)
        >>> context_pronunciations(["a", "cat"], labels, spans, np.array([[5, 8], [8, 25]]))
        [('AH',), ('K', 'AE', 'T')]
    """
    spans = np.asarray(word_spans)
    if len(alignment) != len(labels) or spans.shape != (len(words), 2):
        raise DataError(
            f"expected {len(labels)} label spans and {len(words)} word spans (the transcript's "
            f"labels and the text's words), got {len(alignment)} and {spans.shape[0]}",
            path,
        )
    starts, ends = alignment[:, 0], alignment[:, 1]
    first = np.searchsorted(starts, spans[:, 0])
    last = np.searchsorted(ends, spans[:, 1])
    out: list[tuple[str, ...]] = []
    for w, word in enumerate(words):
        i, j = int(first[w]), int(last[w])
        if i >= len(starts) or j >= len(ends) or starts[i] != spans[w, 0] or ends[j] != spans[w, 1]:
            raise DataError(
                f"word {w} ({word!r}) spans frames {spans[w].tolist()}, whose edges are not "
                "label edges of the alignment",
                path,
            )
        pron = tuple(symbol for symbol in labels[i : j + 1] if symbol != "SIL")
        if not pron:
            raise DataError(f"word {w} ({word!r}) owns no phoneme", path)
        out.append(pron)
    return out


def complete_lexicon(
    isolated: Mapping[str, Sequence[tuple[str, ...]]],
    spoken: Mapping[tuple[str, tuple[str, ...]], int],
    min_count: int = 1,
) -> Lexicon:
    """The isolated lexicon plus every in-context form spoken at least ``min_count`` times.

    Args:
        isolated: The words' isolated pronunciations (:func:`build_lexicon`).
        spoken: ``{(word, pronunciation): count}`` of the in-context forms
            (:func:`context_pronunciations` over utterances).
        min_count: Forms seen fewer times are left out (word-splitting noise).

    Returns:
        Every word of ``isolated``: its isolated pronunciations first, then its
        new in-context forms, most frequent first (ties by symbols).

    Raises:
        DataError: When a spoken word is not in ``isolated``.

    Example:
        >>> isolated = {"a": (("EY",),), "cat": (("K", "AE", "T"),)}
        >>> spoken = {("a", ("AH",)): 5, ("a", ("EY",)): 1, ("cat", ("K", "AE")): 1}
        >>> complete_lexicon(isolated, spoken, min_count=2)
        {'a': (('EY',), ('AH',)), 'cat': (('K', 'AE', 'T'),)}
    """
    unknown = sorted({word for word, _ in spoken} - set(isolated))
    if unknown:
        raise DataError(f"spoken words missing from the isolated lexicon: {unknown[:10]}")
    extra: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
    for (word, pron), count in spoken.items():
        if count >= min_count and pron not in isolated[word]:
            extra.setdefault(word, []).append((-count, pron))
    return {
        word: tuple(isolated[word]) + tuple(pron for _, pron in sorted(extra.get(word, ())))
        for word in sorted(isolated)
    }


def count_forms(
    utterances: Iterable[tuple[Sequence[str], Sequence[tuple[str, ...]]]],
) -> Counter[tuple[str, tuple[str, ...]]]:
    """``{(word, pronunciation): count}`` over ``(words, pronunciations)`` pairs."""
    counts: Counter[tuple[str, tuple[str, ...]]] = Counter()
    for words, prons in utterances:
        counts.update(zip(words, prons))
    return counts
