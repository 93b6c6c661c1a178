"""Tests of the corpus's text model (ctckit.data._text): lengths, grammar, Zipf, word order."""

from __future__ import annotations

import collections
import itertools
import math
import re

import numpy as np
import pytest

from ctckit.data import _words
from ctckit.data._text import VOCABULARY, pause_allowed, text_model

VOWEL_LETTERS = "aeio"


def _sample(n_sentences: int, seed: int = 0) -> list[tuple[str, ...]]:
    rng = np.random.default_rng(seed)
    model = text_model()
    return [model.sentence(rng, int(rng.integers(3, 13))) for _ in range(n_sentences)]


@pytest.fixture(scope="module")
def sentences() -> list[tuple[str, ...]]:
    return _sample(6000)


def test_sentence_has_the_wanted_length() -> None:
    rng = np.random.default_rng(5)
    model = text_model()
    for n in range(3, 13):
        for _ in range(40):
            assert len(model.sentence(rng, n)) == n


def test_sentence_is_a_function_of_the_generator_state() -> None:
    model = text_model()
    first = [model.sentence(np.random.default_rng([4, i]), 7) for i in range(20)]
    again = [model.sentence(np.random.default_rng([4, i]), 7) for i in range(20)]
    assert first == again
    assert len(set(first)) == 20


def test_words_are_lower_case_vocabulary_words(sentences: list[tuple[str, ...]]) -> None:
    vocabulary = set(VOCABULARY)
    assert list(VOCABULARY) == sorted(vocabulary)
    assert all(re.fullmatch("[a-z]+", w) for w in VOCABULARY)
    seen = {w for s in sentences for w in s}
    assert seen <= vocabulary
    assert len(seen) > 0.8 * len(vocabulary)  # the vocabulary is used, not just listed


def test_articles_and_agreement(sentences: list[tuple[str, ...]]) -> None:
    pairs = collections.Counter(p for s in sentences for p in itertools.pairwise(s))
    for (first, second), _ in pairs.items():
        if first == "a":
            assert second[0] not in VOWEL_LETTERS, (first, second)
        if first == "an":
            assert second[0] in VOWEL_LETTERS + "u" or second in ("hour", "honest"), second
    wrong = {("i", "is"), ("i", "are"), ("i", "were"), ("he", "are"), ("she", "are"),
             ("he", "were"), ("they", "was"), ("we", "was"), ("you", "was"), ("they", "is"),
             ("he", "have"), ("she", "have"), ("they", "has"), ("we", "has"),
             ("i", "has")}  # fmt: skip
    assert not wrong & set(pairs)
    assert pairs[("they", "were")] > 0
    assert pairs[("he", "was")] > 0


def test_selectional_preferences(sentences: list[tuple[str, ...]]) -> None:
    """What one drinks is a drink; what one drives is a vehicle."""
    drinks = set(_words.NOUNS["drink"].replace("~", "").split())
    vehicles = {w for entry in _words.NOUNS["vehicle"].split() for w in (entry, entry + "s")}
    vehicles |= {"buses"}
    for s in sentences:
        for verb, nouns in (("drank", drinks), ("drove", vehicles)):
            if verb in s:
                rest = s[s.index(verb) + 1 :]
                assert rest, s
                assert any(w in nouns or w in ("it", "them", "something", "nothing",
                                               "everything") for w in rest[:4]), s  # fmt: skip


def test_vocabulary_is_zipfian(sentences: list[tuple[str, ...]]) -> None:
    counts = collections.Counter(w for s in sentences for w in s)
    frequencies = np.array(sorted(counts.values(), reverse=True), dtype=np.float64)
    ranks = np.arange(1, frequencies.size + 1)
    slope = np.polyfit(np.log(ranks), np.log(frequencies), 1)[0]
    assert -1.5 < slope < -0.8
    assert counts.most_common(1)[0][0] == "the"


def _cross_entropy(train: list[tuple[str, ...]], test: list[tuple[str, ...]], order: int) -> float:
    """Bits per word of an add-0.1 unigram, or of a bigram interpolated with it (weight 0.6)."""
    unigrams = collections.Counter(w for s in train for w in ("</s>", *s))
    bigrams = collections.Counter(p for s in train for p in zip(("<s>", *s), (*s, "</s>")))
    contexts = collections.Counter(w for s in train for w in ("<s>", *s))
    size, total = len(unigrams) + 1, sum(unigrams.values())
    bits = tokens = 0.0
    for s in test:
        for previous, word in zip(("<s>", *s), (*s, "</s>")):
            p = (unigrams[word] + 0.1) / (total + 0.1 * size)
            if order == 2 and contexts[previous]:
                p = 0.6 * bigrams[(previous, word)] / contexts[previous] + 0.4 * p
            bits -= math.log2(p)
            tokens += 1
    return bits / tokens


def test_word_order_carries_information(sentences: list[tuple[str, ...]]) -> None:
    """A bigram fitted on one half predicts the other half clearly better than a unigram."""
    train, test = sentences[:4000], sentences[4000:]
    unigram, bigram = _cross_entropy(train, test, 1), _cross_entropy(train, test, 2)
    assert bigram < unigram - 0.7  # bits per word: perplexity at least 1.6x lower


def test_pauses_only_between_phrases() -> None:
    assert pause_allowed(["the", "old", "man", "slept", "and", "we", "ran"]) == [
        False, False, True, True, False, False]  # fmt: skip
    assert pause_allowed(["it", "was", "cold", "but", "we", "ran"]) == [
        False, False, True, False, False]  # fmt: skip
    assert pause_allowed(["one"]) == []
