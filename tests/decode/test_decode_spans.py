"""Tests of token spans and confidences (beam search and greedy) against independent references.

* Exhaustive beam: every returned hypothesis's spans are the runs of the single most
  probable alignment of its labelling, found by enumerating every frame path.
* Any beam, pruning or not: the spans describe a valid alignment of the tokens whose
  probability is at most the hypothesis's (kept) acoustic probability.
* Confidence: ``max(exp(log_probs[start:end, token]))``, computed by a Python loop.
* Greedy: a hand-made case here; the property test against a frame loop is in
  ``test_decode_greedy.py``.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctckit.decode import BeamSearchDecoder, Hypothesis, TokenSpan, greedy_decode
from ctckit.errors import InputTypeError


def collapse(path: tuple[int, ...], blank: int) -> tuple[int, ...]:
    return tuple(
        tok for i, tok in enumerate(path) if tok != blank and (i == 0 or path[i - 1] != tok)
    )


def runs(path: tuple[int, ...], blank: int) -> list[tuple[int, int, int]]:
    """``(token, start, end)`` of each non-blank run of a frame path."""
    out = []
    t = 0
    while t < len(path):
        end = t + 1
        while end < len(path) and path[end] == path[t]:
            end += 1
        if path[t] != blank:
            out.append((path[t], t, end))
        t = end
    return out


def best_paths(lp: np.ndarray, blank: int) -> dict[tuple[int, ...], tuple[float, tuple[int, ...]]]:
    """Every labelling's most probable frame path (and its log-prob), by enumeration."""
    time, vocab = lp.shape
    best: dict[tuple[int, ...], tuple[float, tuple[int, ...]]] = {}
    for path in itertools.product(range(vocab), repeat=time):
        score = float(sum(lp[t, v] for t, v in enumerate(path)))
        lab = collapse(path, blank)
        if lab not in best or score > best[lab][0]:
            best[lab] = (score, path)
    return best


def naive_confidence(lp: np.ndarray, span: TokenSpan) -> float:
    peak = -math.inf
    for t in range(span.start, span.end):
        peak = max(peak, float(lp[t, span.token]))
    return math.exp(peak)


def check_span_shape(h: Hypothesis, lp: np.ndarray, blank: int) -> None:
    """Properties every hypothesis's spans have, whatever the search kept."""
    spans = h.spans
    assert all(type(s) is TokenSpan for s in spans)
    assert tuple(s.token for s in spans) == h.tokens
    assert tuple(s.start for s in spans) == h.frames
    for k, s in enumerate(spans):
        assert 0 <= s.start < s.end <= lp.shape[0]
        if k + 1 < len(spans):
            nxt = spans[k + 1]
            assert s.end <= nxt.start  # disjoint and ordered
            if nxt.token == s.token:
                assert s.end < nxt.start  # a repeated label needs a blank between
        assert 0.0 <= s.confidence <= 1.0
        assert s.confidence == pytest.approx(naive_confidence(lp, s), rel=1e-12, abs=0)
    # the frame path the spans describe spells the tokens and is one of the kept alignments
    path = [blank] * lp.shape[0]
    for s in spans:
        path[s.start : s.end] = [s.token] * (s.end - s.start)
    assert collapse(tuple(path), blank) == h.tokens
    path_logp = sum(float(lp[t, v]) for t, v in enumerate(path))
    assert path_logp > -math.inf
    assert path_logp <= h.acoustic_score + 1e-9


@given(
    seed=st.integers(0, 2**32 - 1),
    time=st.integers(1, 7),
    vocab=st.integers(2, 3),
    blank_pos=st.integers(0, 2),
    peaky=st.booleans(),
)
def test_exhaustive_spans_are_the_runs_of_the_best_path(
    refs: dict[str, Any], seed: int, time: int, vocab: int, blank_pos: int, peaky: bool
) -> None:
    if vocab == 3 and time == 7:
        time = 6  # 3^7 paths per example is more than the test budget
    blank = blank_pos % vocab
    lp = refs["random_log_probs"](seed, time, vocab, peaky=peaky)
    width = refs["num_labellings"](time, vocab)
    hyps = BeamSearchDecoder(beam_width=width, top_n=min(width, 6), blank=blank,
                             num_threads=1).decode(lp)[0]  # fmt: skip
    best = best_paths(lp, blank)
    for h in hyps:
        check_span_shape(h, lp, blank)
        path = best[h.tokens][1]
        assert [(s.token, s.start, s.end) for s in h.spans] == runs(path, blank)


@given(
    seed=st.integers(0, 2**32 - 1),
    time=st.integers(0, 40),
    vocab=st.integers(2, 6),
    blank_pos=st.integers(0, 5),
    width=st.sampled_from([1, 2, 3, 10, 50]),
    token_min_logp=st.sampled_from([None, -2.0, -5.0]),
    peaky=st.booleans(),
    neg_inf=st.sampled_from([0.0, 0.3]),
)
def test_spans_describe_a_kept_alignment_with_its_peak_posterior(
    refs: dict[str, Any],
    seed: int,
    time: int,
    vocab: int,
    blank_pos: int,
    width: int,
    token_min_logp: float | None,
    peaky: bool,
    neg_inf: float,
) -> None:
    blank = blank_pos % vocab
    lp = refs["random_log_probs"](seed, time, vocab, peaky=peaky, neg_inf=neg_inf)
    decoder = BeamSearchDecoder(beam_width=width, top_n=width, blank=blank,
                                token_min_logp=token_min_logp, num_threads=1)  # fmt: skip
    for h in decoder.decode(lp)[0]:
        if h.score == -math.inf:
            continue
        check_span_shape(h, lp, blank)


def test_a_run_that_goes_on_after_another_token_branched_off_keeps_its_own_peak() -> None:
    # "a" at frames 0-2, peaking at frame 2; the best hypothesis "a b" leaves "a" at
    # frame 1, after which "a"'s run on another prefix goes on: its peak must not leak
    blank, a, b = 0, 1, 2
    p = np.array(
        [
            [0.05, 0.60, 0.35],
            [0.05, 0.50, 0.45],
            [0.05, 0.90, 0.05],
            [0.05, 0.05, 0.90],
        ]
    )
    lp = np.log(p)
    hyps = BeamSearchDecoder(beam_width=16, top_n=4, num_threads=1).decode(lp)[0]
    best = best_paths(lp, blank)
    by_tokens = {h.tokens: h for h in hyps}
    for h in hyps:
        check_span_shape(h, lp, blank)
        assert [(s.token, s.start, s.end) for s in h.spans] == runs(best[h.tokens][1], blank)
    ab = by_tokens[(a, b)]
    assert [(s.start, s.end) for s in ab.spans] == [(0, 3), (3, 4)]
    assert ab.spans[0].confidence == pytest.approx(0.90)
    aba = by_tokens.get((a, b, a))
    if aba is not None:
        assert aba.spans[0].confidence == pytest.approx(naive_confidence(lp, aba.spans[0]))


def test_streamed_spans_equal_one_shot_spans(refs: dict[str, Any]) -> None:
    lp = refs["random_log_probs"](7, 60, 5, peaky=True)
    decoder = BeamSearchDecoder(beam_width=8, top_n=4, num_threads=1)
    want = [h.spans for h in decoder.decode(lp)[0]]
    for cut in ([1] * 60, [4] * 15, [7, 1, 30, 22]):
        stream = decoder.stream()
        pos = 0
        for size in cut:
            stream.feed(lp[pos : pos + size])
            pos += size
        assert [h.spans for h in stream.finish()[0]] == want


def test_greedy_spans_of_one_utterance_and_bad_flag() -> None:
    frames = [1, 1, 0, 1, 2, 2]
    lp = np.log(np.eye(3)[frames] * 0.9 + 0.1 / 3)
    lp[1, 1] = np.log(0.95)  # not normalised: the peak of the first run is frame 1
    (spans,) = greedy_decode(lp, spans=True)
    assert [(s.token, s.start, s.end) for s in spans] == [(1, 0, 2), (1, 3, 4), (2, 4, 6)]
    assert spans[0].confidence == pytest.approx(0.95)
    assert greedy_decode(lp[None], lengths=[0], spans=True) == [()]
    with pytest.raises(InputTypeError, match="spans must be a bool"):
        greedy_decode(lp, spans=1)  # type: ignore[call-overload]
