"""merge_tokens and align: spans of the best path, confidences against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from ctckit.align import TokenSpan, align, forced_align, merge_tokens
from ctckit.errors import InputTypeError, InputValueError, ShapeError


def log_softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def naive_merge(labels: list[int], scores: list[float], blank: int) -> list[tuple]:
    """Frame-by-frame loop: open a span on a new non-blank label, close it on a change."""
    out, cur = [], None
    for t, (label, score) in enumerate(zip(labels, scores)):
        if cur is not None and label != cur[0]:
            out.append(cur)
            cur = None
        if label != blank and cur is None:
            cur = [label, t, t, []]
        if cur is not None:
            cur[2] = t + 1
            cur[3].append(np.exp(score))
    if cur is not None:
        out.append(cur)
    return [(k, a, e, float(np.mean(p))) for k, a, e, p in out]


@given(
    labels=st.lists(st.integers(0, 3), max_size=30),
    blank=st.integers(0, 3),
    seed=st.integers(0, 1000),
)
def test_merge_tokens_matches_a_frame_loop(labels, blank, seed) -> None:
    scores = -np.random.default_rng(seed).exponential(size=len(labels))
    spans = merge_tokens(np.array(labels, dtype=np.int64), scores, blank=blank)
    expected = naive_merge(labels, scores.tolist(), blank)
    assert [(s.token, s.start, s.end) for s in spans] == [e[:3] for e in expected]
    np.testing.assert_allclose([s.confidence for s in spans], [e[3] for e in expected])


def test_merge_tokens_takes_tensors_and_checks_input() -> None:
    spans = merge_tokens(torch.tensor([1, 1, 0, 2]), torch.log(torch.tensor([0.5, 0.7, 0.9, 1.0])))
    assert spans == [TokenSpan(1, 0, 2, pytest.approx(0.6)), TokenSpan(2, 3, 4, pytest.approx(1.0))]
    with pytest.raises(
        InputValueError, match=r"log-probabilities \(<= 0, not NaN\), got scores\[0\]=0.5"
    ):
        merge_tokens([1, 1], [0.5, 0.7])  # probabilities, not log-probabilities
    with pytest.raises(ShapeError, match=r"both have shape \(T,\), got \(2,\) and \(3,\)"):
        merge_tokens([1, 1], [-1.0, -1.0, -1.0])
    with pytest.raises(InputTypeError, match="alignment must hold integers"):
        merge_tokens([1.0, 1.0], [-1.0, -1.0])
    assert merge_tokens([], np.zeros(0)) == []


@st.composite
def small(draw: st.DrawFn) -> tuple:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    vocab = draw(st.integers(2, 4))
    time = draw(st.integers(1, 7))
    tokens: list[int] = []
    for _ in range(draw(st.integers(0, time))):
        tok = draw(st.integers(1, vocab - 1))
        if (
            len(tokens) + 1 + sum(a == b for a, b in zip([*tokens, tok], [*tokens, tok][1:]))
            <= time
        ):
            tokens.append(tok)
    lp = log_softmax(rng.normal(size=(time, vocab)) * draw(st.sampled_from([0.5, 3.0])))
    return lp, tokens


@given(case=small())
def test_spans_are_the_best_path_runs_with_brute_force_posterior_shares(case, oracles) -> None:
    lp, tokens = case
    spans = align(lp, [tokens])[0]
    labels, scores = forced_align(lp, tokens)
    assert [s.token for s in spans] == tokens
    assert [(s.token, s.start, s.end) for s in spans] == [
        (s.token, s.start, s.end) for s in merge_tokens(labels, scores)
    ]
    if not tokens:
        return
    e = oracles.emissions(lp, 0.0)
    shares = oracles.brute_force_shares(e, tuple(tokens), 0, [(s.start, s.end) for s in spans])
    np.testing.assert_allclose([s.confidence for s in spans], shares, rtol=1e-9, atol=1e-12)
    frame = align(lp, [tokens], confidence="frame")[0]
    for s in frame:
        assert s.confidence == pytest.approx(np.exp(scores[s.start : s.end]).mean())


def test_align_batches_with_lengths_and_both_backends() -> None:
    rng = np.random.default_rng(7)
    lp = torch.from_numpy(log_softmax(rng.normal(size=(3, 50, 6)) * 3))
    targets = [[1, 2, 2, 3], [5], list(rng.integers(1, 6, size=12))]
    lengths = [50, 20, 41]
    out = align(lp, targets, lengths)
    again = align(lp, targets, lengths, backend="torch", num_threads=1)
    assert out == again
    for spans, tokens, n in zip(out, targets, lengths):
        assert [s.token for s in spans] == tokens
        assert all(0 <= s.start < s.end <= n for s in spans)
        assert all(a.end <= b.start for a, b in itertools.pairwise(spans))
        assert all(0.0 <= s.confidence <= 1.0 for s in spans)


def test_a_certain_placement_has_posterior_confidence_one() -> None:
    # T equals the frames the target needs: one path, every token's place is certain
    lp = log_softmax(np.random.default_rng(8).normal(size=(5, 4)))
    spans = align(lp, [[1, 2, 2, 3]])[0]
    assert [(s.start, s.end) for s in spans] == [(0, 1), (1, 2), (3, 4), (4, 5)]
    assert [s.confidence for s in spans] == pytest.approx([1.0] * 4)


def test_wildcard_spans_carry_the_wildcard_id() -> None:
    probs = np.full((8, 3), 0.05)
    probs[[0, 1, 2], 2] = 0.9  # untranscribed "b b b", blanks, then "a" at frames 5-6
    probs[[3, 4, 7], 0] = 0.9
    probs[[5, 6], 1] = 0.9
    lp = np.log(probs / probs.sum(1, keepdims=True))
    spans = align(lp, [[-1, 1]], wildcard=-1, wildcard_penalty=-0.1)[0]
    # the penalised wildcard takes the untranscribed label, not the blanks after it
    assert [(s.token, s.start, s.end) for s in spans] == [(-1, 0, 3), (1, 5, 7)]


def test_align_option_errors() -> None:
    with pytest.raises(InputValueError, match="confidence must be 'posterior' or 'frame'"):
        align(np.zeros((2, 2)), [[1]], confidence="mean")


def test_blank_penalty_makes_the_spans_tile_the_frames() -> None:
    rng = np.random.default_rng(9)
    probs = np.full((12, 4), 0.02)
    probs[[0, 1, 3, 4, 6, 7, 9, 10, 11], 0] = 0.9  # blanks, spikes of 1, 2, 3 at 2, 5, 8
    probs[2, 1] = probs[5, 2] = probs[8, 3] = 0.9
    lp = np.log(probs / probs.sum(1, keepdims=True)) + rng.normal(size=(12, 4)) * 0.01
    plain = align(lp, [[1, 2, 3]])[0]
    assert [(s.start, s.end) for s in plain] == [(2, 3), (5, 6), (8, 9)]
    tiled = align(lp, [[1, 2, 3]], blank_penalty=20.0)[0]
    assert tiled[0].start == 0
    assert tiled[-1].end == 12
    assert all(a.end == b.start for a, b in itertools.pairwise(tiled))
    # same as aligning log-probs whose blank column was lowered by hand
    lowered = lp.copy()
    lowered[:, 0] -= 20.0
    assert [(s.start, s.end) for s in align(lowered, [[1, 2, 3]])[0]] == [
        (s.start, s.end) for s in tiled
    ]
    with pytest.raises(InputValueError, match=r"blank_penalty must be a finite float >= 0\.0"):
        align(lp, [[1]], blank_penalty=-1.0)
    repeats = align(lp, [[1, 1]], blank_penalty=20.0)[0]  # a repeat keeps its blank
    assert repeats[0].end < repeats[1].start
