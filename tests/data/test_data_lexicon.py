"""Tests of the corpus's pronunciation lexicon (ctckit.data._lexicon) with real espeak-ng."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("espeakng_loader")

from ctckit.data._espeak import synthesize
from ctckit.data._lexicon import (
    RATE,
    _alone,
    build_lexicon,
    complete_lexicon,
    context_pronunciations,
    count_forms,
    isolated_pronunciations,
    lexicon_text,
    read_lexicon,
    write_lexicon,
)
from ctckit.data._text import VOCABULARY
from ctckit.data._timing import label_spans, segments
from ctckit.data.synth import ACCENTS
from ctckit.errors import DataError
from ctckit.vocab import HW3P2_LABELS


def test_batches_pronounce_words_as_alone() -> None:
    """A word's pronunciation does not depend on the words spoken with it."""
    rng = np.random.default_rng(0)
    words = sorted(rng.choice(VOCABULARY, size=40, replace=False).tolist())
    words += ["huge", "human", "hand", "the", "a"]  # en-us-nyc drops some h (and its event)
    for accent in ACCENTS:
        batch = isolated_pronunciations(words, accent)
        for word in words:
            assert batch[word] == _alone(word, accent), (accent, word)


def test_pronunciations_do_not_depend_on_the_rate() -> None:
    """The lexicon is spoken at RATE; the corpus at 80 to 230 words per minute."""
    words = ["water", "the", "little", "measure", "boy", "thirsty", "children", "car"]
    for accent in ACCENTS:
        expected = isolated_pronunciations(words, accent)
        for rate in (80, 175):
            assert rate != RATE
            result = synthesize(", ".join(words), accent, rate=rate)
            assert len(result.words) == len(words)
            segs = segments(result.phonemes, result.starts, result.audio.size, result.word_of)
            spoken: list[list[str]] = [[] for _ in words]
            for label in label_spans(segs, result.audio.size, result.sample_rate):
                if label.symbol != "SIL":
                    spoken[label.group].append(label.symbol)
            assert [tuple(p) for p in spoken] == [expected[w] for w in words], (accent, rate)


def test_accents_give_variants_and_homophones_are_kept() -> None:
    lexicon = build_lexicon(["tomato", "water", "right", "write", "sea", "see", "sun"], ACCENTS)
    assert len(lexicon["water"]) > 1  # rhotic and r-less accents
    assert set(lexicon["right"]) & set(lexicon["write"])
    assert set(lexicon["sea"]) & set(lexicon["see"])
    assert lexicon["sun"][0] == isolated_pronunciations(["sun"], ACCENTS[0])["sun"]
    symbols = set(HW3P2_LABELS[1:]) - {"SIL"}
    for prons in lexicon.values():
        assert len(set(prons)) == len(prons)
        for pron in prons:
            assert pron
            assert set(pron) <= symbols  # never a pause


def test_known_entries_are_not_spoken_again() -> None:
    known = {"cat": (("K", "AE", "T", "S"),)}  # not what espeak-ng says: kept as given
    lexicon = build_lexicon(["cat", "dog"], ACCENTS[:1], known=known)
    assert lexicon["cat"] == (("K", "AE", "T", "S"),)
    assert lexicon["dog"] == (isolated_pronunciations(["dog"], ACCENTS[0])["dog"],)


def test_file_format_round_trip(tmp_path: Path) -> None:
    lexicon = {"the": (("DH", "AH"), ("DH", "IY")), "a": (("AH",),)}
    write_lexicon(tmp_path / "lexicon.txt", lexicon)
    assert (tmp_path / "lexicon.txt").read_text() == "a AH\nthe DH AH\nthe DH IY\n"
    assert lexicon_text(lexicon) == "a AH\nthe DH AH\nthe DH IY\n"
    assert read_lexicon(tmp_path / "lexicon.txt") == lexicon


@pytest.mark.parametrize(("text", "message"), [("a AH\nthe\n", "line 2"), (b"\xff\n", "UTF-8")])
def test_bad_lexicon_files(tmp_path: Path, text: str | bytes, message: str) -> None:
    path = tmp_path / "lexicon.txt"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    with pytest.raises(DataError, match=message):
        read_lexicon(path)


def test_every_phoneme_has_a_word() -> None:
    """The vocabulary, spoken by one accent, uses all 39 phonemes of the inventory."""
    spoken = isolated_pronunciations(list(VOCABULARY), "en-us")
    used = {symbol for pron in spoken.values() for symbol in pron}
    assert used == set(HW3P2_LABELS[1:]) - {"SIL"}


def test_synthesize_reports_words() -> None:
    result = synthesize("the cat sat", "en-us")
    assert [w[:2] for w in result.words] == [(0, 3), (4, 3), (8, 3)]
    assert len(result.word_of) == len(result.phonemes)
    assert result.word_of[0] == 0
    assert list(result.word_of) == sorted(result.word_of)


def test_context_pronunciations_are_the_labels_inside_each_word() -> None:
    labels = ["SIL", "DH", "AH", "K", "AE", "T", "SIL", "S", "AE", "T", "SIL"]
    bounds = [0, 4, 6, 9, 12, 15, 18, 30, 33, 36, 40, 50]
    alignment = np.array(list(itertools.pairwise(bounds)), np.int32)
    words = np.array([[4, 9], [9, 18], [30, 40]], np.int32)
    got = context_pronunciations(["the", "cat", "sat"], labels, alignment, words)
    assert got == [("DH", "AH"), ("K", "AE", "T"), ("S", "AE", "T")]
    with pytest.raises(DataError, match=r"u\.npy: expected 11 label spans and 2 word spans"):
        context_pronunciations(["the", "cat"], labels, alignment, words, path="u.npy")
    with pytest.raises(DataError, match=r"word 1 \('cat'\) spans frames \[10, 18\]"):
        context_pronunciations(["the", "cat", "sat"], labels, alignment,
                               np.array([[4, 9], [10, 18], [30, 40]], np.int32))  # fmt: skip
    with pytest.raises(DataError, match=r"word 2 \('sat'\) owns no phoneme"):
        context_pronunciations(["the", "cat", "sat"], labels, alignment,
                               np.array([[4, 9], [9, 15], [18, 30]], np.int32))  # fmt: skip


def test_complete_lexicon_adds_frequent_forms_after_the_isolated_ones() -> None:
    isolated = {"a": (("EY",),), "the": (("DH", "AH"), ("D", "AH")), "cat": (("K", "AE", "T"),)}
    spoken = count_forms([(["a", "cat"], [("AH",), ("K", "AE", "T")]),
                          (["the", "a", "cat"], [("DH", "IY"), ("AH",), ("K", "AE")]),
                          (["the"], [("DH", "IH")]), (["the"], [("DH", "IY")])])  # fmt: skip
    assert spoken[("a", ("AH",))] == 2
    assert complete_lexicon(isolated, spoken, min_count=1) == {
        "a": (("EY",), ("AH",)),
        "cat": (("K", "AE", "T"), ("K", "AE")),
        "the": (("DH", "AH"), ("D", "AH"), ("DH", "IY"), ("DH", "IH")),  # by count, then symbols
    }
    assert complete_lexicon(isolated, spoken, min_count=2) == {
        "a": (("EY",), ("AH",)),
        "cat": (("K", "AE", "T"),),
        "the": (("DH", "AH"), ("D", "AH"), ("DH", "IY")),
    }
    assert complete_lexicon(isolated, spoken, min_count=3) == isolated
    with pytest.raises(DataError, match=r"missing from the isolated lexicon: \['dog'\]"):
        complete_lexicon(isolated, {("dog", ("D", "AO", "G")): 4})
