"""Tests for ctckit.lm: n-gram smoothing, ARPA I/O, LM automata.

The n-gram probabilities are checked against hand-computed values and
against :func:`reference_prob`, a plain-Python interpolated Kneser-Ney /
Witten-Bell written straight from the formulas over string-marked n-gram
dicts (no numpy, no backoff form), for random corpora.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from lm_reference import reference_prob

from ctckit import Vocabulary, hw3p2_vocabulary
from ctckit.errors import DataError, InputTypeError, InputValueError, ShapeError
from ctckit.lm import LanguageModel, LMTables, NGramLM, compile_lm

SMOOTHINGS = ("kneser-ney", "witten-bell")


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def walk(lm: LanguageModel, history: Sequence[int]) -> Hashable:
    state = lm.start_state()
    for v in history:
        _, state = lm.score(state, v)
    return state


def table_walk(t: LMTables, history: Sequence[int]) -> int:
    s = t.start
    for v in history:
        s = int(t.next_state[s, v])
    return s


@st.composite
def corpora(draw: st.DrawFn, max_sentences: int = 8) -> tuple[list[list[int]], int, int]:
    vocab_size = draw(st.integers(3, 7))
    blank = draw(st.integers(0, vocab_size - 1))
    tokens = st.sampled_from([v for v in range(vocab_size) if v != blank])
    corpus = draw(st.lists(st.lists(tokens, max_size=10), min_size=1, max_size=max_sentences))
    return corpus, vocab_size, blank


@st.composite
def histories(draw: st.DrawFn, corpus: list[list[int]], vocab_size: int, blank: int) -> list[int]:
    """A seen context (a prefix of a training sentence) or a random one."""
    if draw(st.booleans()):
        sentence = draw(st.sampled_from(corpus))
        return sentence[: draw(st.integers(0, len(sentence)))]
    tokens = st.sampled_from([v for v in range(vocab_size) if v != blank])
    return draw(st.lists(tokens, max_size=9))


# ---------------------------------------------------------------------------
# probabilities
# ---------------------------------------------------------------------------


@given(data=st.data(), order=st.integers(2, 6), smoothing=st.sampled_from(SMOOTHINGS))
def test_probabilities_sum_to_one_for_every_context(
    data: st.DataObject, order: int, smoothing: str
) -> None:
    corpus, vocab_size, blank = data.draw(corpora())
    lm = NGramLM.fit(corpus, order=order, vocab_size=vocab_size, blank=blank, smoothing=smoothing)
    for _ in range(3):
        state = walk(lm, data.draw(histories(corpus, vocab_size, blank)))
        probs = [math.exp(lm.score(state, v)[0]) for v in range(vocab_size) if v != blank]
        total = math.fsum([*probs, math.exp(lm.end_score(state))])
        assert total == pytest.approx(1.0, abs=1e-9)
        assert min(probs) > 0.0
    t = lm.tables
    rows = np.logaddexp(np.logaddexp.reduce(t.logp, axis=1), t.end_logp)
    np.testing.assert_allclose(rows, 0.0, atol=1e-9)


@given(data=st.data(), order=st.integers(2, 5), smoothing=st.sampled_from(SMOOTHINGS))
def test_probabilities_match_reference_implementation(
    data: st.DataObject, order: int, smoothing: str
) -> None:
    corpus, vocab_size, blank = data.draw(corpora())
    lm = NGramLM.fit(corpus, order=order, vocab_size=vocab_size, blank=blank, smoothing=smoothing)
    ref = reference_prob(corpus, order, vocab_size, blank, smoothing)
    for _ in range(3):
        history = data.draw(histories(corpus, vocab_size, blank))
        state = walk(lm, history)
        for v in range(vocab_size):
            if v != blank:
                assert math.exp(lm.score(state, v)[0]) == pytest.approx(ref(history, v), rel=1e-9)
        assert math.exp(lm.end_score(state)) == pytest.approx(ref(history, "</s>"), rel=1e-9)


@pytest.mark.parametrize("smoothing", SMOOTHINGS)
def test_estimated_discounts_match_reference_on_a_larger_corpus(smoothing: str) -> None:
    rng = np.random.default_rng(0)
    corpus = [rng.integers(1, 6, size=rng.integers(0, 12)).tolist() for _ in range(120)]
    lm = NGramLM.fit(corpus, order=3, vocab_size=6, smoothing=smoothing)
    if smoothing == "kneser-ney":
        assert len(lm.discounts) == 3
        assert any(d != (0.5, 1.0, 1.5) for d in lm.discounts)  # estimated, not the fallback
    ref = reference_prob(corpus, 3, 6, 0, smoothing)
    for history in ([], [1], [2, 3], [5, 5, 5, 1], corpus[0], corpus[1][:2]):
        state = walk(lm, history)
        for v in range(1, 6):
            assert math.exp(lm.score(state, v)[0]) == pytest.approx(ref(history, v), rel=1e-9)
        assert math.exp(lm.end_score(state)) == pytest.approx(ref(history, "</s>"), rel=1e-9)


# Corpus for the hand computations: <s> 1 1 2 </s> and <s> 1 2 </s>, V=3, blank 0.
HAND = [[1, 1, 2], [1, 2]]


def test_kneser_ney_bigram_by_hand() -> None:
    # Continuation counts: a(1)=|{<s>,1}|=2, a(2)=|{1}|=1, a(</s>)=|{2}|=1 -> n3=0 -> the
    # fallback discounts (0.5, 1, 1.5); A=4, gamma=(0.5*2+1*1)/4=1/2:
    # p(1)=1/4+1/6=5/12, p(2)=p(</s>)=1/8+1/6=7/24.
    # Bigram raw counts: <s>1:2, 11:1, 12:2, 2</s>:2 -> fallback again.
    # p(1|<s>)=(2-1)/2+1/2*5/12=17/24, p(2|<s>)=1/2*7/24=7/48;
    # p(1|1)=(1-.5)/3+(.5+1)/3*5/12=3/8, p(2|1)=(2-1)/3+1/2*7/24=23/48;
    # p(</s>|2)=(2-1)/2+1/2*7/24=31/48, p(1|2)=1/2*5/12=5/24.
    lm = NGramLM.fit(HAND, order=2, vocab_size=3)
    assert lm.discounts == ((0.5, 1.0, 1.5), (0.5, 1.0, 1.5))
    s0 = lm.start_state()
    assert math.exp(lm.score(s0, 1)[0]) == pytest.approx(17 / 24)
    assert math.exp(lm.score(s0, 2)[0]) == pytest.approx(7 / 48)
    assert math.exp(lm.end_score(s0)) == pytest.approx(7 / 48)
    s1 = lm.score(s0, 1)[1]
    assert math.exp(lm.score(s1, 1)[0]) == pytest.approx(3 / 8)
    assert math.exp(lm.score(s1, 2)[0]) == pytest.approx(23 / 48)
    s2 = lm.score(s1, 2)[1]
    assert math.exp(lm.end_score(s2)) == pytest.approx(31 / 48)
    assert math.exp(lm.score(s2, 1)[0]) == pytest.approx(5 / 24)
    # log_prob of "1 2" = p(1|<s>) p(2|1) p(</s>|2)
    assert lm.log_prob([1, 2]) == pytest.approx(math.log(17 / 24 * 23 / 48 * 31 / 48))


def test_kneser_ney_with_a_fixed_discount_by_hand() -> None:
    # D=0.25 everywhere: unigram A=4, gamma=0.25*3/4=3/16,
    # p(1)=(2-.25)/4+3/16/3=0.5, p(2)=p(</s>)=(1-.25)/4+1/16=0.25.
    # p(1|<s>)=(2-.25)/2+(.25/2)*0.5=0.9375.
    lm = NGramLM.fit(HAND, order=2, vocab_size=3, discount=0.25)
    assert math.exp(lm.score(lm.start_state(), 1)[0]) == pytest.approx(0.9375)
    # after "2", only </s> was seen: p(1|2) = (0.25/2) * p(1) = 0.0625
    s2 = lm.score(lm.start_state(), 2)[1]
    assert math.exp(lm.score(s2, 1)[0]) == pytest.approx(0.0625)


def test_witten_bell_bigram_by_hand() -> None:
    # Unigram raw counts 1:3, 2:2, </s>:2 (C=7, T=3): p(w)=(c+3/3)/10 -> 0.4, 0.3, 0.3.
    # p(1|<s>)=(2+1*0.4)/3=0.8, p(2|<s>)=0.3/3=0.1;
    # p(1|1)=(1+2*0.4)/5=0.36, p(2|1)=(2+2*0.3)/5=0.52, p(</s>|1)=0.6/5=0.12;
    # p(</s>|2)=(2+0.3)/3, p(1|2)=0.4/3.
    lm = NGramLM.fit(HAND, order=2, vocab_size=3, smoothing="witten-bell")
    s0 = lm.start_state()
    assert math.exp(lm.score(s0, 1)[0]) == pytest.approx(0.8)
    assert math.exp(lm.score(s0, 2)[0]) == pytest.approx(0.1)
    s1 = lm.score(s0, 1)[1]
    assert [math.exp(lm.score(s1, v)[0]) for v in (1, 2)] == pytest.approx([0.36, 0.52])
    assert math.exp(lm.end_score(s1)) == pytest.approx(0.12)
    s2 = lm.score(s1, 2)[1]
    assert math.exp(lm.end_score(s2)) == pytest.approx(2.3 / 3)
    assert math.exp(lm.score(s2, 1)[0]) == pytest.approx(0.4 / 3)
    assert lm.discounts == ()


def test_unseen_tokens_get_probability_mass() -> None:
    lm = NGramLM.fit([[1, 2]], order=3, vocab_size=6)
    state = walk(lm, [1, 2])
    for v in (3, 4, 5):
        assert lm.score(state, v)[0] > -30.0
    assert np.isfinite(lm.tables.logp[:, 1:]).all()


@pytest.mark.parametrize("smoothing", SMOOTHINGS)
def test_perplexity_and_log_prob_agree_with_score(smoothing: str) -> None:
    rng = np.random.default_rng(1)
    corpus = [rng.integers(1, 8, size=rng.integers(1, 15)).tolist() for _ in range(40)]
    lm = NGramLM.fit(corpus, order=4, vocab_size=8, smoothing=smoothing)
    test = [rng.integers(1, 8, size=7).tolist() for _ in range(5)]
    expected = 0.0
    for sentence in test:
        state, total = lm.start_state(), 0.0
        for v in sentence:
            lp, state = lm.score(state, v)
            total += lp
        total += lm.end_score(state)
        assert lm.log_prob(sentence) == pytest.approx(total, abs=1e-12)
        expected += total
    events = sum(len(s) + 1 for s in test)
    assert lm.perplexity(test) == pytest.approx(math.exp(-expected / events))
    # a model fit on its test data fits it better than a different model does
    assert lm.perplexity(corpus) < NGramLM.fit(test, order=4, vocab_size=8).perplexity(corpus)
    # tensors and arrays are accepted as sentences
    assert lm.log_prob(torch.tensor(test[0])) == pytest.approx(lm.log_prob(np.array(test[0])))


def test_repr_and_properties() -> None:
    lm = NGramLM.fit(HAND, order=3, vocab_size=3, smoothing="witten-bell")
    assert repr(lm) == (
        "NGramLM(order=3, vocab_size=3, blank=0, smoothing='witten-bell', ngrams=[5, 4, 4])"
    )
    assert (lm.order, lm.vocab_size, lm.blank, lm.smoothing) == (3, 3, 0, "witten-bell")
    assert isinstance(lm, LanguageModel)


# ---------------------------------------------------------------------------
# automaton tables
# ---------------------------------------------------------------------------


@given(data=st.data(), order=st.integers(2, 6), smoothing=st.sampled_from(SMOOTHINGS))
def test_tables_equal_python_scores(data: st.DataObject, order: int, smoothing: str) -> None:
    corpus, vocab_size, blank = data.draw(corpora())
    lm = NGramLM.fit(corpus, order=order, vocab_size=vocab_size, blank=blank, smoothing=smoothing)
    t = lm.tables
    assert t.vocab_size == vocab_size
    assert (t.next_state[:, blank] == np.arange(t.num_states)).all()
    assert np.isneginf(t.logp[:, blank]).all()
    history = data.draw(histories(corpus, vocab_size, blank))
    state, s = lm.start_state(), t.start
    for v in [*history, *data.draw(histories(corpus, vocab_size, blank))]:
        for u in range(vocab_size):
            if u != blank:
                assert t.logp[s, u] == pytest.approx(lm.score(state, u)[0], abs=1e-12)
        assert t.end_logp[s] == pytest.approx(lm.end_score(state), abs=1e-12)
        state, s = lm.score(state, v)[1], int(t.next_state[s, v])
    assert t.end_logp[s] == pytest.approx(lm.end_score(state), abs=1e-12)


def test_states_are_the_longest_known_contexts() -> None:
    lm = NGramLM.fit([[1, 2, 3, 1, 2, 3]], order=3, vocab_size=4)
    bos = lm.start_state()
    assert walk(lm, [1]) == (*bos, 1)
    assert walk(lm, [1, 2]) == (1, 2)
    assert walk(lm, [3, 3]) == (3,)  # "3 3" never seen: back to the longest known suffix
    assert walk(lm, [2, 2, 2]) == (2,)
    # contexts: (), (<s>), (1), (2), (3), (<s> 1), (1 2), (2 3), (3 1)
    assert lm.tables.num_states == 9


def test_tables_build_fast_enough_for_a_phoneme_corpus() -> None:
    """Order 4 on 2,000 x 80 phonemes builds in well under a few seconds (not timed here)."""
    rng = np.random.default_rng(2)
    corpus = rng.integers(1, 41, size=(2000, 80))
    lm = NGramLM.fit(list(corpus), order=4, vocab_size=41)
    t = lm.tables
    assert t.logp.shape[1] == 41
    assert t.next_state.dtype == np.int32
    rows = np.logaddexp(np.logaddexp.reduce(t.logp, axis=1), t.end_logp)
    np.testing.assert_allclose(rows, 0.0, atol=1e-9)
    assert lm.tables is t  # cached


# ---------------------------------------------------------------------------
# compile_lm and the protocol
# ---------------------------------------------------------------------------


class LastTwo:
    """A user LM: p(v | last two tokens) from a fixed formula; 2 + (V-1) + (V-1)^2 states."""

    def __init__(self, vocab_size: int) -> None:
        self.tokens = list(range(1, vocab_size))

    def start_state(self) -> tuple[int, ...]:
        return ()

    def _weights(self, state: tuple[int, ...]) -> list[float]:
        return [1.0 + ((sum(state) * 7 + v * 3 + len(state)) % 5) for v in [*self.tokens, 0]]

    def score(self, state: Hashable, token: int) -> tuple[float, tuple[int, ...]]:
        assert isinstance(state, tuple)
        w = self._weights(state)
        return math.log(w[token - 1] / sum(w)), (*state, token)[-2:]

    def end_score(self, state: Hashable) -> float:
        assert isinstance(state, tuple)
        w = self._weights(state)
        return math.log(w[-1] / sum(w))


class Wrapped:
    """An NGramLM seen only through the protocol (no shortcut in compile_lm)."""

    def __init__(self, lm: NGramLM) -> None:
        self.lm = lm

    def start_state(self) -> Hashable:
        return self.lm.start_state()

    def score(self, state: Hashable, token: int) -> tuple[float, Hashable]:
        return self.lm.score(state, token)

    def end_score(self, state: Hashable) -> float:
        return self.lm.end_score(state)


def test_compile_lm_on_a_user_lm_equals_its_scores() -> None:
    user = LastTwo(4)
    t = compile_lm(user, vocab_size=4)
    assert t.num_states == 1 + 3 + 9
    assert t.start == 0
    rng = np.random.default_rng(3)
    for _ in range(20):
        history = rng.integers(1, 4, size=rng.integers(0, 6)).tolist()
        state, s = user.start_state(), t.start
        for v in history:
            lp, state = user.score(state, v)
            assert t.logp[s, v] == pytest.approx(lp, abs=1e-15)
            s = int(t.next_state[s, v])
        assert t.end_logp[s] == pytest.approx(user.end_score(state), abs=1e-15)


def test_compile_lm_with_a_non_zero_blank() -> None:
    t = compile_lm(LastTwo(4), vocab_size=5, blank=4)
    assert np.isneginf(t.logp[:, 4]).all()
    assert (t.next_state[:, 4] == np.arange(t.num_states)).all()


@pytest.mark.parametrize("smoothing", SMOOTHINGS)
def test_compile_lm_through_the_protocol_equals_the_ngram_tables(smoothing: str) -> None:
    rng = np.random.default_rng(4)
    corpus = [rng.integers(1, 5, size=rng.integers(0, 9)).tolist() for _ in range(30)]
    lm = NGramLM.fit(corpus, order=3, vocab_size=5, smoothing=smoothing)
    generic = compile_lm(Wrapped(lm), vocab_size=5)
    own = compile_lm(lm, vocab_size=5)
    assert own is lm.tables
    assert generic.num_states <= own.num_states  # BFS finds the reachable states only
    for _ in range(30):
        history = rng.integers(1, 5, size=rng.integers(0, 8)).tolist()
        a, b = table_walk(generic, history), table_walk(own, history)
        np.testing.assert_allclose(generic.logp[a], own.logp[b], atol=1e-12)
        assert generic.end_logp[a] == pytest.approx(own.end_logp[b], abs=1e-12)


def test_compile_lm_errors() -> None:
    class Counting:  # infinitely many states
        def start_state(self) -> int:
            return 0

        def score(self, state: Hashable, token: int) -> tuple[float, int]:
            assert isinstance(state, int)
            return -1.0, state + 1

        def end_score(self, state: Hashable) -> float:
            return -1.0

    with pytest.raises(InputValueError, match="max_states=50"):
        compile_lm(Counting(), vocab_size=3, max_states=50)
    with pytest.raises(InputTypeError, match="LanguageModel"):
        compile_lm(object(), vocab_size=3)  # type: ignore[arg-type]
    with pytest.raises(InputValueError, match="blank"):
        compile_lm(LastTwo(3), vocab_size=3, blank=3)
    lm = NGramLM.fit(HAND, order=2, vocab_size=3)
    with pytest.raises(InputValueError, match="vocab_size=3"):
        compile_lm(lm, vocab_size=4)

    class Nan(LastTwo):
        def end_score(self, state: Hashable) -> float:
            return math.nan

    with pytest.raises(InputValueError, match="NaN"):
        compile_lm(Nan(3), vocab_size=3)


def _tables(**override: object) -> LMTables:
    fields: dict[str, object] = {
        "logp": np.full((2, 3), -1.0),
        "next_state": np.zeros((2, 3), dtype=np.int32),
        "end_logp": np.full(2, -1.0),
        "start": 1,
    }
    fields.update(override)
    return LMTables(**fields)  # type: ignore[arg-type]


def test_lmtables_validation() -> None:
    assert _tables().num_states == 2
    with pytest.raises(InputTypeError, match="dtype float64"):
        _tables(logp=np.full((2, 3), -1.0, dtype=np.float32))
    with pytest.raises(InputTypeError, match="dtype int32"):
        _tables(next_state=np.zeros((2, 3), dtype=np.int64))
    with pytest.raises(ShapeError, match=r"shape of logp \(2, 3\)"):
        _tables(next_state=np.zeros((2, 4), dtype=np.int32))
    with pytest.raises(ShapeError, match=r"end_logp must have shape \(2,\)"):
        _tables(end_logp=np.zeros(3))
    with pytest.raises(ShapeError):
        _tables(logp=np.zeros(3))
    with pytest.raises(InputValueError, match=r"start must be in \[0, 2\)"):
        _tables(start=2)
    with pytest.raises(InputTypeError, match="start must be an int"):
        _tables(start=1.0)
    with pytest.raises(InputValueError, match="got 5 at"):
        _tables(next_state=np.array([[0, 1, 5], [0, 0, 0]], dtype=np.int32))
    with pytest.raises(InputValueError, match="NaN"):
        _tables(end_logp=np.array([-1.0, np.nan]))
    with pytest.raises(InputValueError, match="NaN"):
        _tables(logp=np.array([[-1.0, np.inf, -1.0], [-1.0, -1.0, -1.0]]))


# ---------------------------------------------------------------------------
# ARPA
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("smoothing", SMOOTHINGS)
@pytest.mark.parametrize("order", [2, 4])
def test_arpa_round_trip(tmp_path: Path, smoothing: str, order: int) -> None:
    rng = np.random.default_rng(5)
    vocab = hw3p2_vocabulary()
    corpus = [rng.integers(1, 12, size=rng.integers(0, 20)).tolist() for _ in range(60)]
    lm = NGramLM.fit(corpus, order=order, vocab_size=len(vocab), smoothing=smoothing)
    path = tmp_path / "lm.arpa"
    lm.to_arpa(path, vocab)
    text = path.read_text()
    assert "\t<unk>" in text
    assert "\tSIL " in text or "\tSIL\t" in text  # words are the vocabulary's symbols
    back = NGramLM.from_arpa(path, vocab)
    assert back.order == order
    assert back.ngram_counts == lm.ngram_counts
    assert (back.vocab_size, back.blank, back.smoothing) == (41, 0, "arpa")
    assert back.tables.num_states == lm.tables.num_states
    for _ in range(40):
        history = rng.integers(1, 41, size=rng.integers(0, 6)).tolist()
        if rng.random() < 0.5:
            history = corpus[rng.integers(len(corpus))][: rng.integers(0, 6)]
        a, b = walk(lm, history), walk(back, history)
        for v in rng.integers(1, 41, size=8).tolist():
            assert back.score(b, v)[0] == pytest.approx(lm.score(a, v)[0], abs=1e-6)
        assert back.end_score(b) == pytest.approx(lm.end_score(a), abs=1e-6)
        ta, tb = table_walk(lm.tables, history), table_walk(back.tables, history)
        np.testing.assert_allclose(back.tables.logp[tb], lm.tables.logp[ta], atol=1e-6)


def test_arpa_round_trip_with_integer_words_and_a_mapping(tmp_path: Path) -> None:
    lm = NGramLM.fit([[1, 2, 3], [3, 2]], order=3, vocab_size=5, blank=4)
    lm.to_arpa(tmp_path / "ids.arpa")
    assert "\t1 2 3\t" not in (tmp_path / "ids.arpa").read_text()  # top order: no backoff
    assert "\n" + "-" in (tmp_path / "ids.arpa").read_text()
    back = NGramLM.from_arpa(tmp_path / "ids.arpa", vocab_size=5, blank=4)
    assert back.log_prob([1, 2, 3]) == pytest.approx(lm.log_prob([1, 2, 3]), abs=1e-6)
    mapping = {"a": 0, "b": 1, "c": 2, "d": 3, "-": 4}
    lm.to_arpa(tmp_path / "sym.arpa", mapping)
    assert "\tb c d\n" in (tmp_path / "sym.arpa").read_text()
    back = NGramLM.from_arpa(tmp_path / "sym.arpa", mapping, blank=4)
    assert back.vocab_size == 5
    assert back.log_prob([3, 2]) == pytest.approx(lm.log_prob([3, 2]), abs=1e-6)


def test_to_arpa_is_atomic_and_rejects_bad_symbols(tmp_path: Path) -> None:
    lm = NGramLM.fit([[1, 2]], order=2, vocab_size=3)
    with pytest.raises(InputValueError, match="cannot be an ARPA word"):
        lm.to_arpa(tmp_path / "x.arpa", Vocabulary(["-", "a b", "c"]))
    with pytest.raises(InputValueError, match="cannot be an ARPA word"):
        lm.to_arpa(tmp_path / "x.arpa", {"<s>": 1, "c": 2})
    with pytest.raises(InputValueError, match="41 labels but the model has vocab_size=3"):
        lm.to_arpa(tmp_path / "x.arpa", hw3p2_vocabulary())
    assert os.listdir(tmp_path) == []  # nothing half-written
    lm.to_arpa(tmp_path / "x.arpa")
    assert os.listdir(tmp_path) == ["x.arpa"]


@pytest.mark.parametrize("smoothing", SMOOTHINGS)
def test_kenlm_reads_our_arpa_files_and_agrees(tmp_path: Path, smoothing: str) -> None:
    """Interoperability with KenLM's own reader (runs where the ``kenlm`` module is installed)."""
    kenlm = pytest.importorskip("kenlm")
    rng = np.random.default_rng(6)
    vocab = hw3p2_vocabulary()
    corpus = [rng.integers(1, 15, size=rng.integers(1, 25)).tolist() for _ in range(150)]
    lm = NGramLM.fit(corpus, order=4, vocab_size=len(vocab), smoothing=smoothing)
    lm.to_arpa(tmp_path / "lm.arpa", vocab)
    model = kenlm.Model(str(tmp_path / "lm.arpa"))
    assert model.order == 4
    for _ in range(30):
        sentence = rng.integers(1, 41, size=rng.integers(0, 12)).tolist()
        if rng.random() < 0.5:
            sentence = corpus[rng.integers(len(corpus))]
        text = " ".join(vocab.decode(sentence))
        theirs = model.score(text, bos=True, eos=True) * math.log(10)  # float32 inside KenLM
        assert theirs == pytest.approx(lm.log_prob(sentence), abs=1e-4)


KENLM_STYLE = """\\data\\
ngram 1=6
ngram 2=5
ngram 3=2

\\1-grams:
-1.5\t<unk>\t0
0\t<s>\t-0.30103
-0.5\tAA\t-0.2
-0.6\tB\t-0.1
-0.7\t</s>
-0.9\tCH\t-0.05

\\2-grams:
-0.1\t<s> AA\t-0.15
-0.2\tAA B\t-0.25
-0.3\tB </s>
-0.4\tAA AA
-0.45\tB AA\t-0.12

\\3-grams:
-0.05\t<s> AA B
-0.06\tAA B AA

\\end\\
"""


def test_reading_a_kenlm_style_file_with_unk(tmp_path: Path) -> None:
    path = tmp_path / "kenlm.arpa"
    path.write_text(KENLM_STYLE)
    vocab = Vocabulary(["", "AA", "B", "CH", "D"])  # D is not in the file: it scores as <unk>
    lm = NGramLM.from_arpa(path, vocab)
    assert (lm.order, lm.vocab_size, lm.ngram_counts) == (3, 5, (6, 5, 2))
    ln10 = math.log(10)

    def lp(history: list[int], token: int | None) -> float:
        state = walk(lm, history)
        return (lm.end_score(state) if token is None else lm.score(state, token)[0]) / ln10

    aa, b, ch, d = 1, 2, 3, 4
    assert lp([], aa) == pytest.approx(-0.1)  # <s> AA
    assert lp([], b) == pytest.approx(-0.30103 - 0.6)  # bo(<s>) + p(B)
    assert lp([], d) == pytest.approx(-0.30103 - 1.5)  # bo(<s>) + p(<unk>)
    assert lp([aa], b) == pytest.approx(-0.05)  # <s> AA B
    assert lp([aa], aa) == pytest.approx(-0.15 - 0.4)  # bo(<s> AA) + p(AA|AA)
    assert lp([aa], ch) == pytest.approx(-0.15 - 0.2 - 0.9)  # bo(<s> AA) + bo(AA) + p(CH)
    assert lp([aa, b], aa) == pytest.approx(-0.06)  # AA B AA
    assert lp([aa, b], None) == pytest.approx(-0.25 - 0.3)  # bo(AA B) + p(</s>|B)
    assert lp([ch, ch], b) == pytest.approx(-0.05 - 0.6)  # bo(CH) + p(B)
    assert lp([b, aa], b) == pytest.approx(-0.12 - 0.2)  # bo(B AA) + p(B|AA)
    # the tables agree with the Python evaluation
    t = lm.tables
    for history in ([], [aa], [aa, b], [b, aa], [ch, d, aa]):
        s, state = table_walk(t, history), walk(lm, history)
        for v in (aa, b, ch, d):
            assert t.logp[s, v] == pytest.approx(lm.score(state, v)[0], abs=1e-12)
        assert t.end_logp[s] == pytest.approx(lm.end_score(state), abs=1e-12)


def test_arpa_file_without_unk_scores_missing_words_like_kenlm(tmp_path: Path) -> None:
    path = tmp_path / "no_unk.arpa"
    path.write_text(
        "some preamble\n\\data\\\nngram 1=3\nngram 2=1\n\n\\1-grams:\n-99\t<s>\t0\n-0.3\t1\n"
        "-0.3\t</s>\n\n\\2-grams:\n-0.1\t<s> 1\n\n\\end\\\n"
    )
    lm = NGramLM.from_arpa(path)
    assert lm.vocab_size == 2
    lm3 = NGramLM.from_arpa(path, vocab_size=3)
    assert lm3.score(lm3.start_state(), 2)[0] == pytest.approx(-100 * math.log(10))


def _error_at(tmp_path: Path, text: str, line: int, what: str, **kw: object) -> None:
    path = tmp_path / "bad.arpa"
    path.write_text(text)
    with pytest.raises(DataError, match=what) as info:
        NGramLM.from_arpa(path, **kw)  # type: ignore[arg-type]
    assert info.value.path == str(path)
    assert f"line {line}:" in str(info.value)
    assert str(path) in str(info.value)


GOOD = (
    "\\data\\\nngram 1=4\nngram 2=2\n\n\\1-grams:\n-99\t<s>\t-0.2\n-0.4\t1\t-0.1\n-0.5\t2\n"
    "-0.6\t</s>\n\n\\2-grams:\n-0.2\t<s> 1\n-0.3\t1 2\n\n\\end\\\n"
)


def test_the_good_file_used_for_malformed_variants_reads(tmp_path: Path) -> None:
    path = tmp_path / "good.arpa"
    path.write_text(GOOD)
    assert NGramLM.from_arpa(path).ngram_counts == (5, 2)  # KenLM's implicit <unk> added


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("hello\nworld\n", 2, r"no \\data\\ header"),
        (GOOD.replace("ngram 1=4", "ngram 1=5"), 10, r"has 4 entries but \\data\\ declares"),
        (GOOD.replace("ngram 2=2", "ngram 2=1"), 14, "has 2 entries"),
        (GOOD.replace("-0.4\t1", "-0.4x\t1"), 7, "bad log10 probability '-0.4x'"),
        (GOOD.replace("1\t-0.1", "1\tnan"), 7, "bad log10 backoff"),
        (GOOD.replace("\t2", "\tzz").replace("1 2", "1 zz"), 8, "unknown word 'zz'"),
        (GOOD.replace("\t2", "\t0").replace("1 2", "1 0"), 8, "unknown word '0' \\(the blank\\)"),
        (GOOD.replace("<s> 1\n", "1 <s>\n"), 12, "<s> can only be the first"),
        (GOOD.replace("1 2\n", "</s> 2\n"), 13, "</s> can only be the last"),
        (GOOD.replace("1 2\n", "<s> 1\n"), 13, "duplicate 2-gram"),
        (GOOD.replace("-0.3\t1 2", "-0.3\t1 2\t-0.1"), 13, "highest order cannot have"),
        (GOOD.replace("-0.3\t1 2", "-0.3\t1"), 13, "2-gram line needs"),
        (GOOD.replace("ngram 2=2", "ngram 3=2"), 3, "expected 'ngram 2=COUNT'"),
        (GOOD.replace("\\2-grams:", "\\3-grams:"), 11, r"expected '\\2-grams:'"),
        (GOOD.replace("\\end\\\n", ""), 14, r"without \\end\\ \(truncated\)"),
        (GOOD[: GOOD.index("\\2-grams:")], 10, r"ends before the \\2-grams: section"),
        (GOOD.replace("\\end\\", "\\ending"), 15, r"expected '\\end\\'"),
        (GOOD.replace("-0.6\t</s>", "-0.6\t3"), 5, "the 1-grams have no </s>"),
        (GOOD.replace("-99\t<s>", "-99\t3").replace("<s> 1", "3 1"), 5, "have no <s>"),
    ],
)
def test_malformed_arpa_names_path_and_line(
    tmp_path: Path, text: str, line: int, what: str
) -> None:
    _error_at(tmp_path, text, line, what)


def test_a_word_of_a_longer_ngram_must_be_a_unigram(tmp_path: Path) -> None:
    """As in KenLM, the 1-grams list the whole vocabulary."""
    _error_at(
        tmp_path, GOOD.replace("1 2\n", "1 3\n"), 13, "'3' is not in the 1-grams", vocab_size=5
    )


def test_from_arpa_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read"):
        NGramLM.from_arpa(tmp_path / "nope.arpa")


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------


def test_fit_rejects_bad_input() -> None:
    with pytest.raises(InputValueError, match=r"order must be in \[2, 6\], got 7"):
        NGramLM.fit([[1]], order=7, vocab_size=3)
    with pytest.raises(InputValueError, match="order must be >= 2, got 1"):
        NGramLM.fit([[1]], order=1, vocab_size=3)
    with pytest.raises(
        InputValueError, match=r"sentence 1, position 2: token 3 is outside \[0, 3\)"
    ):
        NGramLM.fit([[1], [2, 1, 3]], order=2, vocab_size=3)
    with pytest.raises(InputValueError, match="sentence 0, position 1: token 0 is the blank"):
        NGramLM.fit([[1, 0]], order=2, vocab_size=3)
    with pytest.raises(InputValueError, match="token 2 is the blank"):
        NGramLM.fit([[1, 2]], order=2, vocab_size=3, blank=2)
    with pytest.raises(InputValueError, match="empty corpus"):
        NGramLM.fit([], order=2, vocab_size=3)
    with pytest.raises(InputValueError, match="empty corpus"):
        NGramLM.fit(iter(()), order=2, vocab_size=3)
    with pytest.raises(InputTypeError, match="1-D sequence of integer"):
        NGramLM.fit([[1.5, 2.0]], order=2, vocab_size=3)
    with pytest.raises(InputTypeError, match=r"shape \(1, 2\)"):
        NGramLM.fit([[[1, 2]]], order=2, vocab_size=3)
    with pytest.raises(InputValueError, match="smoothing must be"):
        NGramLM.fit([[1]], order=2, vocab_size=3, smoothing="good-turing")  # type: ignore[arg-type]
    with pytest.raises(InputValueError, match="Kneser-Ney only"):
        NGramLM.fit([[1]], order=2, vocab_size=3, smoothing="witten-bell", discount=0.5)
    with pytest.raises(InputValueError, match=r"in \(0, 1\]"):
        NGramLM.fit([[1]], order=2, vocab_size=3, discount=1.5)
    with pytest.raises(InputValueError, match="0 < Dj <= j"):
        NGramLM.fit([[1]], order=2, vocab_size=3, discount=(0.5, 2.5, 1.0))
    with pytest.raises(InputValueError, match=r"blank must be in \[0, 3\)"):
        NGramLM.fit([[1]], order=2, vocab_size=3, blank=3)
    with pytest.raises(InputTypeError, match="vocab_size must be an int"):
        NGramLM.fit([[1]], order=2, vocab_size=3.0)  # type: ignore[arg-type]


def test_scoring_rejects_bad_input() -> None:
    lm = NGramLM.fit(HAND, order=2, vocab_size=3)
    with pytest.raises(InputValueError, match="non-blank id"):
        lm.score(lm.start_state(), 0)
    with pytest.raises(InputValueError, match="non-blank id"):
        lm.score(lm.start_state(), 3)
    with pytest.raises(InputTypeError, match="state must be a state"):
        lm.score((7, 7), 1)
    with pytest.raises(InputTypeError, match="state must be a state"):
        lm.end_score("start")
    with pytest.raises(InputValueError, match="token 0 is the blank"):
        lm.log_prob([1, 0])
    with pytest.raises(InputValueError, match="at least one sentence"):
        lm.perplexity([])


def test_fit_accepts_empty_sentences_and_the_tensor_types() -> None:
    lm = NGramLM.fit([[], torch.tensor([1, 2]), np.array([2])], order=5, vocab_size=3)
    assert lm.ngram_counts[0] == 5  # 1, 2, </s>, <s>, <unk>
    assert math.exp(lm.end_score(lm.start_state())) > 0.2  # one sentence in three is empty


# ---------------------------------------------------------------------------
# KenLM's semantics, <unk> included, on the peers' ARPA files
# ---------------------------------------------------------------------------


def _peer_token_lm(path: Path, words: list[str]) -> tuple[NGramLM, dict[str, int], int]:
    """The file as a token LM: blank 0, the file's words 1..N, then two ids it does not list."""
    mapping = {w: i for i, w in enumerate(words, start=1)}
    vocab_size = len(words) + 3
    return NGramLM.from_arpa(path, mapping, vocab_size=vocab_size, blank=0), mapping, vocab_size


def test_token_lm_equals_kenlm_on_every_peer_arpa(
    peer_arpa: Path, kenlm: ModuleType, unigram_words: Callable[[Path], list[str]]
) -> None:
    """200 random sentences a file, half of their tokens unknown to it, scored as KenLM does.

    On main before this fix, 23 of 200 sentences of kenlm's own test.arpa differed by 20-40
    (log10): the unknown token was dropped from the history instead of becoming <unk>.
    """
    words = unigram_words(peer_arpa)
    lm, mapping, vocab_size = _peer_token_lm(peer_arpa, words)
    model = kenlm.Model(str(peer_arpa))
    id_to_word = {i: w for w, i in mapping.items()}
    unknown = {vocab_size - 2: "zzunknown1", vocab_size - 1: "zzunknown2"}
    rng = np.random.default_rng(11)
    t = lm.tables
    for _ in range(200):
        sentence = rng.integers(1, vocab_size, size=rng.integers(0, 9)).tolist()
        text = " ".join(id_to_word.get(v) or unknown[v] for v in sentence)
        theirs = model.score(text, bos=True, eos=True)  # log10, float32 inside KenLM
        assert lm.log_prob(sentence) / math.log(10) == pytest.approx(theirs, abs=1e-4), text
        s, total = t.start, 0.0
        for v in sentence:
            total += t.logp[s, v]
            s = int(t.next_state[s, v])
        assert (total + t.end_logp[s]) / math.log(10) == pytest.approx(theirs, abs=1e-4), text


def test_unknown_token_is_unk_in_the_history(tmp_path: Path) -> None:
    """<unk>'s backoff and the n-grams holding <unk> apply (kenlm test.arpa's own cases)."""
    path = tmp_path / "unk.arpa"
    path.write_text(
        "\\data\\\nngram 1=5\nngram 2=2\nngram 3=1\n\n\\1-grams:\n-1.0\t<s>\t-0.4\n"
        "-1.9\t<unk>\t-20\n-1.5\thowever\t-0.3\n-1.0\t</s>\n-1.2\tx\t-0.1\n\n\\2-grams:\n"
        "-4\t<unk> however\t-1\n-15\t<unk> <unk>\t-2\n\n\\3-grams:\n-6\t<unk> however <unk>\n\n"
        "\\end\\\n"
    )
    lm = NGramLM.from_arpa(path, {"however": 1, "x": 2, "y": 3}, vocab_size=5)
    unk, however = 3, 1  # 3 ("y") and 4 (no symbol) are not in the file
    ln10 = math.log(10)
    lp = [lm.score(walk(lm, h), v)[0] / ln10 for h, v in [([], unk), ([unk], however)]]
    assert lp == pytest.approx([-0.4 - 1.9, -4.0])
    assert lm.score(walk(lm, [unk, however]), 4)[0] / ln10 == pytest.approx(-6.0)
    assert lm.score(walk(lm, [unk]), unk)[0] / ln10 == pytest.approx(-15.0)
    # after <unk>: its backoff -20 applies to an n-gram it does not start
    assert lm.score(walk(lm, [4]), 2)[0] / ln10 == pytest.approx(-20 - 1.2)
    assert lm.end_score(walk(lm, [unk, however, 4])) / ln10 == pytest.approx(-20 - 1.0)
    t = lm.tables
    for history in ([], [unk], [4, however], [unk, however, 4], [2, 4, 4]):
        s, state = table_walk(t, history), walk(lm, history)
        for v in range(1, 5):
            assert t.logp[s, v] == pytest.approx(lm.score(state, v)[0], abs=1e-12)
        assert t.end_logp[s] == pytest.approx(lm.end_score(state), abs=1e-12)


BIG_ID = (
    "\\data\\\nngram 1=4\nngram 2=1\n\n\\1-grams:\n-1.0\t<s>\t-0.5\n-0.5\t1\t-0.3\n"
    "-0.6\t999999999999\t-0.2\n-0.4\t</s>\n\n\\2-grams:\n-0.2\t<s> 1\n\n\\end\\\n"
)


def test_arpa_ids_implying_a_huge_vocabulary_allocate_nothing_big(tmp_path: Path) -> None:
    """Issue 13: token ids implying V = 10^12 made the first use allocate 29 TiB."""
    path = tmp_path / "big.arpa"
    path.write_text(BIG_ID)
    lm = NGramLM.from_arpa(path)
    assert lm.vocab_size == 10**12
    # scoring needs no dense tables
    assert lm.log_prob([1]) / math.log(10) == pytest.approx(-0.2 - 0.3 - 0.4)
    assert lm.log_prob([10**12 - 1]) / math.log(10) == pytest.approx(-0.5 - 0.6 - 0.2 - 0.4)
    # the dense tables are refused before they are allocated, with the numbers
    with pytest.raises(InputValueError, match=r"GiB \(4 states x V=1000000000000 token ids\)"):
        _ = lm.tables
    # a decoder's vocabulary bounds the file's ids: the error names the id and its line
    with pytest.raises(InputValueError, match=r"token id 999999999999 \(line 8\).* V=41"):
        compile_lm(lm, vocab_size=41)
    from ctckit.decode import BeamSearchDecoder

    decoder = BeamSearchDecoder(lm=lm, lm_weight=0.5)
    with pytest.raises(InputValueError, match="line 8"):
        decoder.decode(np.log(np.full((3, 41), 1 / 41)))


def test_integer_arpa_without_vocab_size_serves_a_larger_decoder_vocabulary(
    tmp_path: Path,
) -> None:
    path = tmp_path / "small.arpa"
    path.write_text(BIG_ID.replace("999999999999", "3"))
    lm = NGramLM.from_arpa(path)
    assert lm.vocab_size == 4
    t = lm.to_tables(6, 0)
    assert t.vocab_size == 6
    assert compile_lm(lm, 6) is t  # cached
    assert t.logp[t.start, 5] == t.logp[t.start, 2]  # ids 2, 4, 5 are not listed: <unk>
    assert t.logp[t.start, 5] / math.log(10) == pytest.approx(-0.5 - 100.0)
    with pytest.raises(InputValueError, match="does not list"):
        lm.to_tables(6, 1)
    fixed = NGramLM.from_arpa(path, vocab_size=4)
    with pytest.raises(InputValueError, match="built for vocab_size=4"):
        fixed.to_tables(6, 0)


def test_positive_log10_probability_is_refused_with_its_line(tmp_path: Path) -> None:
    """Issue 13: a positive log10 probability was accepted; a positive backoff is legal."""
    _error_at(tmp_path, GOOD.replace("-0.5\t2", "0.5\t2"), 8, "log10 probability must be <= 0")
    path = tmp_path / "ok.arpa"
    path.write_text(GOOD.replace("1\t-0.1", "1\t0.7"))
    assert NGramLM.from_arpa(path).ngram_counts == (5, 2)
