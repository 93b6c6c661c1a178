"""Tests of shallow LM fusion in BeamSearchDecoder."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctckit.decode import BeamSearchDecoder
from ctckit.errors import InputValueError, ShapeError
from ctckit.lm import LMTables, compile_lm

seeds = st.integers(0, 2**32 - 1)


def as_tables(t: Any) -> LMTables:
    return LMTables(logp=t.logp, next_state=t.next_state, end_logp=t.end_logp, start=t.start)


@given(
    seed=seeds,
    time=st.integers(1, 12),
    vocab=st.integers(2, 6),
    states=st.integers(1, 4),
    beam=st.integers(1, 6),
    token_min_logp=st.sampled_from([None, -2.0]),
)
def test_zero_weight_is_exactly_no_lm(
    refs: dict[str, Any],
    seed: int,
    time: int,
    vocab: int,
    states: int,
    beam: int,
    token_min_logp: float | None,
) -> None:
    lp = refs["random_log_probs"](seed, time, vocab, peaky=True)
    tables = as_tables(refs["random_tables"](seed, vocab, 0, states))
    opts = {"beam_width": beam, "top_n": beam, "token_min_logp": token_min_logp}
    plain = BeamSearchDecoder(**opts).decode(lp)[0]
    fused = BeamSearchDecoder(**opts, lm=tables, lm_weight=0.0).decode(lp)[0]
    assert [(h.tokens, h.score, h.acoustic_score, h.frames) for h in fused] == [
        (h.tokens, h.score, h.acoustic_score, h.frames) for h in plain
    ]
    for h in fused:  # the LM score is still reported
        assert h.lm_score == pytest.approx(refs["lm_path_score"](tables, h.tokens), abs=1e-9)


@given(
    seed=seeds,
    time=st.integers(1, 12),
    vocab=st.integers(2, 6),
    blank_pos=st.integers(0, 5),
    states=st.integers(1, 5),
    beam=st.integers(1, 8) | st.integers(97, 100),  # sorted array, or the wide-beam buffer
    top_frac=st.floats(0.0, 1.0),
    weight=st.sampled_from([0.0, 0.3, 1.0, 2.5]),
    bonus=st.sampled_from([0.0, -1.0, 0.7]),
    beam_prune_logp=st.sampled_from([None, -3.0]),
)
def test_matches_python_reference_and_lm_scores_add_up(
    refs: dict[str, Any],
    seed: int,
    time: int,
    vocab: int,
    blank_pos: int,
    states: int,
    beam: int,
    top_frac: float,
    weight: float,
    bonus: float,
    beam_prune_logp: float | None,
) -> None:
    blank = blank_pos % vocab
    top_n = 1 + int(top_frac * (beam - 1))
    lp = refs["random_log_probs"](seed, time, vocab, peaky=seed % 2 == 0)
    raw = refs["random_tables"](seed, vocab, blank, states)
    opts = {
        "beam_width": beam,
        "blank": blank,
        "top_n": top_n,
        "beam_prune_logp": beam_prune_logp,
        "lm_weight": weight,
        "insertion_bonus": bonus,
    }
    got = BeamSearchDecoder(**opts, lm=as_tables(raw), num_threads=1).decode(lp)[0]
    want = refs["reference_beam_search"](lp, **opts, lm=raw)
    assert [h.tokens for h in got] == [h.tokens for h in want]
    assert [h.frames for h in got] == [h.frames for h in want]
    assert [h.score for h in got] == pytest.approx([h.score for h in want], abs=1e-9)
    assert [h.acoustic_score for h in got] == pytest.approx(
        [h.acoustic_score for h in want], abs=1e-9
    )
    scores = [h.score for h in got]
    assert scores == sorted(scores, reverse=True)
    for h in got:
        assert h.lm_score == pytest.approx(refs["lm_path_score"](raw, h.tokens), abs=1e-9)
        assert h.score == pytest.approx(
            h.acoustic_score + weight * h.lm_score + bonus * len(h.tokens), abs=1e-9
        )


@given(
    seed=seeds,
    time=st.integers(1, 4),
    vocab=st.integers(2, 3),
    states=st.integers(1, 3),
    weight=st.sampled_from([0.5, 1.0, 3.0]),
    bonus=st.sampled_from([0.0, 1.5, -1.5]),
)
def test_unpruned_fusion_finds_the_best_fused_labelling(
    refs: dict[str, Any], seed: int, time: int, vocab: int, states: int, weight: float, bonus: float
) -> None:
    lp = refs["random_log_probs"](seed, time, vocab)
    raw = refs["random_tables"](seed, vocab, 0, states)
    exact = refs["brute_force"](lp, 0)
    fused = {
        lab: ac + weight * refs["lm_path_score"](raw, lab) + bonus * len(lab)
        for lab, ac in exact.items()
    }
    n_prefixes = sum((vocab - 1) ** k for k in range(time + 1))
    best = BeamSearchDecoder(
        beam_width=n_prefixes, lm=as_tables(raw), lm_weight=weight, insertion_bonus=bonus
    ).decode(lp)[0][0]
    top = sorted(fused.values(), reverse=True)
    assert best.score == pytest.approx(top[0], abs=1e-4)
    if len(top) < 2 or top[0] - top[1] > 1e-6:
        assert best.tokens == max(fused, key=fused.__getitem__)
    assert best.acoustic_score == pytest.approx(exact[best.tokens], abs=1e-4)


def test_lm_flips_the_acoustic_decision() -> None:
    # one frame: the acoustics prefer token 1 (0.55) over token 2 (0.44) ...
    lp = np.log(np.array([[0.01, 0.55, 0.44]]))
    # ... a bigram-like LM strongly prefers token 2 after <s>
    tables = LMTables(
        logp=np.log(np.array([[1.0, 0.1, 0.8], [1.0, 0.5, 0.4]])) + np.array([-np.inf, 0, 0]),
        next_state=np.array([[0, 1, 1], [1, 1, 1]], dtype=np.int32),
        end_logp=np.log(np.array([0.1, 0.1])),
        start=0,
    )
    assert BeamSearchDecoder(beam_width=3).decode(lp)[0][0].tokens == (1,)
    assert BeamSearchDecoder(beam_width=3, lm=tables, lm_weight=0.1).decode(lp)[0][0].tokens == (1,)
    fused = BeamSearchDecoder(beam_width=3, lm=tables, lm_weight=1.0).decode(lp)[0][0]
    assert fused.tokens == (2,)
    assert fused.acoustic_score == pytest.approx(math.log(0.44))
    assert fused.lm_score == pytest.approx(math.log(0.8) + math.log(0.1))
    assert fused.score == pytest.approx(math.log(0.44) + math.log(0.8 * 0.1))


def test_insertion_bonus_lengthens_without_lm() -> None:
    lp = np.log(np.array([[0.6, 0.4], [0.6, 0.4], [0.6, 0.4]]))  # "a" wins acoustically
    assert BeamSearchDecoder(beam_width=4).decode(lp)[0][0].tokens == (1,)
    long = BeamSearchDecoder(beam_width=4, insertion_bonus=3.0).decode(lp)[0][0]
    assert long.tokens == (1, 1)
    assert long.lm_score == 0.0
    assert long.score == pytest.approx(long.acoustic_score + 6.0)


class LastTokenLM:
    """A LanguageModel whose state is the last token (a bigram)."""

    def start_state(self) -> int:
        return 0

    def score(self, state: Any, token: int) -> tuple[float, Any]:
        return (math.log(0.6) if token == state else math.log(0.4 / 3), token)

    def end_score(self, state: Any) -> float:
        return math.log(0.5)


def test_language_model_protocol_is_compiled(refs: dict[str, Any]) -> None:
    lp = np.stack([refs["random_log_probs"](s, 15, 4, peaky=True) for s in range(3)])
    lm = LastTokenLM()
    by_protocol = BeamSearchDecoder(beam_width=5, top_n=3, lm=lm, lm_weight=0.8).decode(lp)
    tables = compile_lm(lm, vocab_size=4)
    by_tables = BeamSearchDecoder(beam_width=5, top_n=3, lm=tables, lm_weight=0.8).decode(lp)
    assert by_protocol == by_tables


def test_lm_errors(refs: dict[str, Any]) -> None:
    tables = as_tables(refs["random_tables"](0, 4, 0, 2))
    with pytest.raises(ShapeError, match=r"V=4.*V=5"):
        BeamSearchDecoder(lm=tables, lm_weight=1.0).decode(np.zeros((3, 5)))
    with pytest.raises(InputValueError, match="lm_weight"):
        BeamSearchDecoder(lm=tables, lm_weight=-1.0)
    with pytest.raises(InputValueError, match="lm_weight"):
        BeamSearchDecoder(lm=tables, lm_weight=math.inf)


def test_ngram_lm_fusion_scores_match_the_model(refs: dict[str, Any]) -> None:
    from ctckit.decode import NGramLM

    rng = np.random.default_rng(3)
    corpus = [rng.integers(1, 5, size=rng.integers(2, 9)).tolist() for _ in range(40)]
    lm = NGramLM.fit(corpus, order=3, vocab_size=5)
    lp = np.stack([refs["random_log_probs"](s, 12, 5, peaky=True) for s in range(3)])
    decoder = BeamSearchDecoder(beam_width=6, top_n=4, lm=lm, lm_weight=0.7, insertion_bonus=0.5)
    out = decoder.decode(lp)
    assert out == BeamSearchDecoder(
        beam_width=6, top_n=4, lm=lm.tables, lm_weight=0.7, insertion_bonus=0.5
    ).decode(lp)
    for hyps in out:
        for h in hyps:  # the fused LM score is the model's own sentence log-probability
            state, total = lm.start_state(), 0.0
            for tok in h.tokens:
                logp, state = lm.score(state, tok)
                total += logp
            total += lm.end_score(state)
            assert h.lm_score == pytest.approx(total, abs=1e-9)
