"""align_long and segment: exact inside the band, a sound proof of exactness, segmentation."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from ctckit.align import LongAlignment, Segment, align_long, forced_align, segment
from ctckit.errors import InputValueError, ShapeError


def log_softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def peaky(tokens: list[int], vocab: int, rng: np.random.Generator, noise: float = 0.3):
    """Log-probs in which each token spikes for 1-3 frames among 0-4 blank frames (at
    least one between repeats, as a CTC model must), and the true first frame of each
    token."""
    rows, starts = [], []
    for i, tok in enumerate(tokens):
        repeat = i > 0 and tokens[i - 1] == tok
        rows += [0] * int(rng.integers(1 if repeat else 0, 5))
        starts.append(len(rows))
        rows += [tok] * int(rng.integers(1, 4))
    rows += [0] * 3
    logits = np.eye(vocab)[rows] * 6.0 + rng.normal(size=(len(rows), vocab)) * noise
    return log_softmax(logits), starts


@st.composite
def long_cases(draw: st.DrawFn) -> tuple:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    vocab = draw(st.integers(3, 8))
    n = draw(st.integers(1, 60))
    tokens = [int(t) for t in rng.integers(1, vocab, size=n)]
    lp, _ = peaky(tokens, vocab, rng, noise=draw(st.sampled_from([0.3, 1.5, 4.0])))
    if draw(st.booleans()):  # a model that often disagrees with the transcript
        lp = log_softmax(lp + rng.normal(size=lp.shape) * 3)
    band = draw(st.sampled_from([4, 8, 16, 32, 64, 256]))
    return lp, tokens, band


@given(case=long_cases())
def test_band_result_is_exact_when_proven_and_never_beats_the_full_search(case) -> None:
    lp, tokens, band = case
    labels, scores = forced_align(lp, tokens)
    best = float(scores.sum())
    lost = None
    try:
        result = align_long(lp, tokens, band=band)
    except InputValueError as err:  # the band lost every path; only narrow bands may
        lost = str(err)
    if lost is not None:
        assert "widen the band" in lost
        assert band < 2 * len(tokens) + 1
        return
    assert result.score <= best + 1e-9
    assert result.score == pytest.approx(float(result.scores.sum()))
    if result.exact:  # the proof is sound: the best path of all, found
        assert result.score == pytest.approx(best, abs=1e-9)
        assert result.bound <= result.score
    if band >= 2 * len(tokens) + 1:  # the band holds every state
        assert result.exact
        np.testing.assert_array_equal(result.alignment, labels)
    spans = result.spans()
    assert [s.token for s in spans] == tokens


def test_a_band_that_holds_the_best_path_finds_it_and_proves_it() -> None:
    rng = np.random.default_rng(11)
    tokens = [int(t) for t in rng.integers(1, 30, size=400)]
    lp, _ = peaky(tokens, 30, rng)
    result = align_long(lp, tokens, band=64)  # 32 tokens around the best state
    labels, scores = forced_align(lp, tokens)
    assert result.exact
    assert result.bound < result.score
    np.testing.assert_array_equal(result.alignment, labels)
    assert result.score == pytest.approx(float(scores.astype(np.float64).sum()))


def test_a_band_that_misses_the_best_path_says_so() -> None:
    # the first half favours racing ahead through the tokens; the best path does not
    rng = np.random.default_rng(12)
    tokens = [int(t) for t in rng.integers(1, 6, size=200)]
    lp = log_softmax(rng.normal(size=(900, 6)) * 2.5)
    result = align_long(lp, tokens, band=8)
    best = float(forced_align(lp, tokens)[1].sum())
    assert result.score < best - 1.0
    assert not result.exact
    assert result.bound > result.score


def test_a_best_path_that_lags_behind_the_band_is_not_claimed() -> None:
    # frames 0-79 weakly say the 40 tokens, frames 80-159 say them strongly: the best path
    # waits in blanks and spells them in the second half, but the band follows the early
    # partial best to the end of the tokens and loses it; only the bound on paths left
    # below the band can tell (the paths above it score less than the band's result)
    seq = list(range(1, 41))
    weak = np.full((80, 41), 0.1 / 39)
    weak[:, 0] = 0.3
    weak[np.arange(80), [seq[t // 2] for t in range(80)]] = 0.6
    strong = np.full((80, 41), 0.01 / 39)
    strong[np.arange(0, 80, 2), seq] = 0.84
    strong[np.arange(0, 80, 2), 0] = 0.15
    strong[1::2, 0] = 0.99
    lp = np.log(np.concatenate([weak, strong]))
    best = float(forced_align(lp, seq)[1].sum())
    result = align_long(lp, seq, band=16)
    assert result.score < best - 10
    assert not result.exact
    assert result.bound > result.score


def test_long_alignment_checks_input() -> None:
    lp = log_softmax(np.random.default_rng(13).normal(size=(10, 4)))
    with pytest.raises(
        ShapeError, match=r"shape \(T, V\) \(one long utterance\), got \(1, 10, 4\)"
    ):
        align_long(lp[None], [1, 2])
    with pytest.raises(InputValueError, match="band must be >= 4, got 2"):
        align_long(lp, [1, 2], band=2)
    bad = lp.copy()
    bad[7, 1] = np.inf
    with pytest.raises(InputValueError, match=r"got inf at log_probs\[7, 1\]"):
        align_long(bad, [1, 2])
    with pytest.raises(InputValueError, match="need 11 frames, but it has 10"):
        align_long(lp, [1] * 6)
    result = align_long(torch.from_numpy(lp).float(), torch.tensor([3, 1]))
    assert isinstance(result, LongAlignment)
    assert result.scores.dtype == np.float32
    empty = align_long(lp[:0], [])
    assert empty.exact
    assert empty.alignment.shape == (0,)


def test_segment_finds_concatenated_utterances() -> None:
    rng = np.random.default_rng(14)
    utterances = [[int(t) for t in rng.integers(1, 8, size=int(rng.integers(3, 15)))]
                  for _ in range(30)]  # fmt: skip
    parts, truth, offset = [], [], 0
    for utt in utterances:
        gap = log_softmax(np.eye(8)[[0] * int(rng.integers(5, 40))] * 6.0)
        lp, starts = peaky(utt, 8, rng)
        parts += [gap, lp]
        offset += len(gap)
        truth.append((offset + starts[0], offset + len(lp)))
        offset += len(lp)
    stream = np.concatenate(parts)
    segments, result = segment(stream, utterances, band=64)
    assert result.exact
    assert len(segments) == len(utterances)
    for seg, (start, stop) in zip(segments, truth):
        assert seg.start == start  # the first token's first spike frame
        assert start < seg.end <= stop
        assert 0.0 < seg.confidence <= 1.0
    assert all(a.end <= b.start for a, b in itertools.pairwise(segments))


def test_segment_confidence_flags_a_text_that_does_not_match() -> None:
    rng = np.random.default_rng(15)
    utterances = [[int(t) for t in rng.integers(1, 8, size=12)] for _ in range(10)]
    stream = np.concatenate([peaky(u, 8, rng)[0] for u in utterances])
    wrong = [list(u) for u in utterances]
    wrong[4] = [int(t) for t in rng.integers(1, 8, size=12)]
    right, _ = segment(stream, utterances, window=5)
    assert min(s.confidence for s in right) > 0.9
    segments, _ = segment(stream, wrong, window=5)
    conf = [s.confidence for s in segments]
    assert int(np.argmin(conf)) == 4
    assert conf[4] < 0.1
    # the wrong text pulls its neighbours' alignment, the rest is untouched
    assert min(c for i, c in enumerate(conf) if abs(i - 4) > 1) > 0.9


def test_segment_errors() -> None:
    lp = log_softmax(np.random.default_rng(16).normal(size=(10, 4)))
    with pytest.raises(InputValueError, match="utterance 1 has no tokens"):
        segment(lp, [[1], []])
    with pytest.raises(InputValueError, match="window must be >= 1"):
        segment(lp, [[1]], window=0)
    assert Segment(1, 2, 0.5) == Segment(1, 2, 0.5)


def test_windowed_confidence_is_the_lowest_window_mean() -> None:
    probs = np.full((10, 3), 0.1)
    probs[:, 1] = 0.8
    probs[6, 1], probs[6, 0] = 0.1, 0.8  # one weak frame inside a long "a"
    segs, result = segment(np.log(probs), [[1, 1]], window=3)
    path = result.scores.astype(np.float64)
    a, e = segs[0].start, segs[0].end
    means = [path[i : i + 3].mean() for i in range(a, e - 2)]
    assert segs[0].confidence == pytest.approx(math.exp(min(means)))
