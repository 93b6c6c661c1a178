"""Tests of BeamSearchDecoder against brute force and a pure-Python reference."""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from ctckit.decode import BeamSearchDecoder, Hypothesis
from ctckit.errors import CTCKitError, InputTypeError, InputValueError, ShapeError

seeds = st.integers(0, 2**32 - 1)


def check_hyps(hyps: list[Hypothesis], length: int, blank: int, top_n: int) -> None:
    """Shape invariants every result must satisfy."""
    assert 1 <= len(hyps) <= top_n
    scores = [h.score for h in hyps]
    assert scores == sorted(scores, reverse=True)
    assert len({h.tokens for h in hyps}) == len(hyps)
    for h in hyps:
        assert blank not in h.tokens
        assert len(h.frames) == len(h.tokens)
        assert all(a < b for a, b in zip(h.frames, h.frames[1:]))
        assert all(0 <= f < length for f in h.frames)


# (V, largest T) of the brute-force tests: every labelling is scored with ctc_loss, and
# every path of the Viterbi test is enumerated (3^7 = 2187, 4^5 = 1024, 5^4 = 625; the
# thorough profile goes to 3^8, 4^6, 5^5)
SHAPES = (
    [(2, 10), (3, 8), (4, 6), (5, 5)]
    if os.environ.get("HYPOTHESIS_PROFILE") == "ci"
    else [(2, 8), (3, 7), (4, 5), (5, 4)]
)


@st.composite
def tiny_shapes(draw: st.DrawFn) -> tuple[int, int]:
    """``(T, V)``: as long as brute force allows for the drawn vocabulary."""
    vocab, max_time = draw(st.sampled_from(SHAPES))
    return draw(st.integers(1, max_time)), vocab


def check_exact_n_best(
    hyps: list[Hypothesis], exact: dict[tuple[int, ...], float], top_n: int, tol: float
) -> None:
    """``hyps`` are the ``top_n`` best labellings of ``exact`` (labelling -> -ctc_loss), each
    with its exact score (ties may come in either order)."""
    ranked = sorted((v for v in exact.values() if v > -math.inf), reverse=True)
    assert len(hyps) == min(top_n, len(ranked))
    for h in hyps:  # every score is exact: -ctc_loss of its tokens
        assert h.acoustic_score == pytest.approx(exact[h.tokens], abs=tol)
    # and the N-best list is the exact N-best
    assert [h.acoustic_score for h in hyps] == pytest.approx(ranked[: len(hyps)], abs=tol)
    if len(ranked) < 2 or ranked[0] - ranked[1] > 1e-6:  # the MAP labelling, unless a tie
        assert hyps[0].tokens == max(exact, key=exact.__getitem__)


@given(
    seed=seeds,
    shape=tiny_shapes(),
    blank_pos=st.integers(0, 4),
    peaky=st.booleans(),
    neg_inf=st.sampled_from([0.0, 0.3]),
    dtype=st.sampled_from([np.float32, np.float64]),
    top_n=st.integers(1, 12),
)
def test_unpruned_search_is_exact(
    refs: dict[str, Any],
    seed: int,
    shape: tuple[int, int],
    blank_pos: int,
    peaky: bool,
    neg_inf: float,
    dtype: type,
    top_n: int,
) -> None:
    time, vocab = shape
    blank = blank_pos % vocab
    lp = refs["random_log_probs"](seed, time, vocab, peaky=peaky, neg_inf=neg_inf).astype(dtype)
    exact = refs["brute_force"](lp, blank)
    n_prefixes = refs["num_labellings"](time, vocab)
    top_n = min(n_prefixes, top_n)
    hyps = BeamSearchDecoder(beam_width=n_prefixes, blank=blank, top_n=top_n).decode(lp)[0]
    check_hyps(hyps, time, blank, top_n)
    check_exact_n_best(hyps, exact, top_n, 1e-4 if dtype == np.float32 else 1e-9)
    for h in hyps:
        assert h.score == h.acoustic_score
        assert h.lm_score == 0.0


# Beam widths between the sorted-array (<= 8) and wide-buffer (>= 97) paths, with the
# benchmark's 10 and 50
WIDE_BEAMS = st.sampled_from([9, 10, 50, 96]) | st.integers(9, 96)


@given(
    seed=seeds,
    beam=WIDE_BEAMS,
    vocab=st.integers(2, 6),
    blank_pos=st.integers(0, 5),
    peaky=st.booleans(),
    neg_inf=st.sampled_from([0.0, 0.3]),
    data=st.data(),
)
def test_wide_beams_are_exact_when_they_hold_every_labelling(
    refs: dict[str, Any],
    seed: int,
    beam: int,
    vocab: int,
    blank_pos: int,
    peaky: bool,
    neg_inf: float,
    data: st.DataObject,
) -> None:
    """At beam widths 9-96, on inputs with at most ``beam_width`` labellings (the longest
    such T for the vocabulary): the N-best is brute force's."""
    blank = blank_pos % vocab
    longest = max(t for t in range(1, 12) if refs["num_labellings"](t, vocab) <= beam)
    time = data.draw(st.integers(1, longest), label="time")
    lp = refs["random_log_probs"](seed, time, vocab, peaky=peaky, neg_inf=neg_inf)
    top_n = min(beam, refs["num_labellings"](time, vocab))
    hyps = BeamSearchDecoder(beam_width=beam, blank=blank, top_n=top_n).decode(lp)[0]
    check_exact_n_best(hyps, refs["brute_force"](lp, blank), top_n, 1e-9)


@given(
    seed=seeds,
    time=st.integers(1, 12),
    vocab=st.integers(2, 6),
    blank_pos=st.integers(0, 5),
    # the sorted array, the widths between (the benchmark's), or the wide-beam buffer
    beam=st.integers(1, 8) | WIDE_BEAMS | st.integers(97, 100),
    top_frac=st.floats(0.0, 1.0),
    token_min_logp=st.sampled_from([None, -1.0, -3.0]),
    beam_prune_logp=st.sampled_from([None, -0.5, -4.0]),
    peaky=st.booleans(),
    neg_inf=st.sampled_from([0.0, 0.2]),
)
def test_matches_python_reference(
    refs: dict[str, Any],
    seed: int,
    time: int,
    vocab: int,
    blank_pos: int,
    beam: int,
    top_frac: float,
    token_min_logp: float | None,
    beam_prune_logp: float | None,
    peaky: bool,
    neg_inf: float,
) -> None:
    blank = blank_pos % vocab
    top_n = 1 + int(top_frac * (beam - 1))
    lp = refs["random_log_probs"](seed, time, vocab, peaky=peaky, neg_inf=neg_inf)
    opts = {
        "beam_width": beam,
        "blank": blank,
        "top_n": top_n,
        "token_min_logp": token_min_logp,
        "beam_prune_logp": beam_prune_logp,
    }
    got = BeamSearchDecoder(**opts, num_threads=1).decode(lp)[0]
    want = refs["reference_beam_search"](lp, **opts)
    check_hyps(got, time, blank, top_n)
    assert [h.tokens for h in got] == [h.tokens for h in want]
    assert [h.frames for h in got] == [h.frames for h in want]
    assert [h.score for h in got] == pytest.approx([h.score for h in want], rel=1e-12, abs=1e-12)
    assert [h.acoustic_score for h in got] == pytest.approx(
        [h.acoustic_score for h in want], rel=1e-12, abs=1e-12
    )
    # independently of the reference: each acoustic score is at most the labelling's
    # -ctc_loss (a sum over some of its alignments), of the pruned input when pruned
    scored = lp if token_min_logp is None else refs["prune_tokens"](lp, token_min_logp)
    exact = refs["ctc_log_prob"](scored, [h.tokens for h in got], blank)
    for h, bound in zip(got, exact.tolist()):
        assert h.acoustic_score <= bound + 1e-9


@given(
    seed=seeds,
    batch=st.integers(1, 4),
    time=st.integers(0, 10),
    vocab=st.integers(2, 5),
    beam=st.integers(1, 6),
    threads=st.integers(1, 3),
    use_torch=st.booleans(),
)
def test_batched_equals_one_by_one_and_padding_is_ignored(
    refs: dict[str, Any],
    seed: int,
    batch: int,
    time: int,
    vocab: int,
    beam: int,
    threads: int,
    use_torch: bool,
) -> None:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, time + 1, size=batch)
    x = np.stack([refs["random_log_probs"](seed + b, time, vocab) for b in range(batch)])
    padded = x.copy()
    for b, length in enumerate(lengths):
        padded[b, length:] = rng.normal(size=(time - length, vocab)) * 5  # garbage, even > 0
    decoder = BeamSearchDecoder(beam_width=beam, top_n=beam, num_threads=threads)
    inp: Any = torch.from_numpy(padded) if use_torch else padded
    lens: Any = torch.from_numpy(lengths) if use_torch else lengths.tolist()
    batched = decoder.decode(inp, lens)
    assert len(batched) == batch
    for b, length in enumerate(lengths):
        alone = decoder.decode(x[b, :length])[0]
        assert batched[b] == alone
        if length == 0:
            assert alone == [Hypothesis((), 0.0, 0.0, 0.0, ())]
        else:
            check_hyps(alone, int(length), 0, beam)
            exact = refs["ctc_log_prob"](x[b, :length], [h.tokens for h in alone], 0)
            for h, bound in zip(alone, exact.tolist()):  # a sum over some of its alignments
                assert h.acoustic_score <= bound + 1e-9


@given(
    seed=seeds,
    batch=st.integers(1, 4),
    shape=tiny_shapes(),
    blank_pos=st.integers(0, 4),
    top_n=st.integers(1, 40),
    threads=st.integers(1, 2),
    token_min_logp=st.sampled_from([None, -1.5]),
)
def test_n_best_of_a_batch_is_the_brute_force_n_best(
    refs: dict[str, Any],
    seed: int,
    batch: int,
    shape: tuple[int, int],
    blank_pos: int,
    top_n: int,
    threads: int,
    token_min_logp: float | None,
) -> None:
    """A padded batch with an exhaustive beam: each utterance's N-best are the N best
    labellings of its valid frames (of its pruned frames with token pruning), each scored
    -ctc_loss."""
    time, vocab = shape
    blank = blank_pos % vocab
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, time + 1, size=batch)
    x = np.stack(
        [refs["random_log_probs"](seed + b, time, vocab, peaky=b % 2 == 1) for b in range(batch)]
    )
    for b, length in enumerate(lengths):
        x[b, length:] = rng.normal(size=(time - length, vocab)) * 5  # garbage, even > 0
    beam = refs["num_labellings"](time, vocab)
    top_n = min(top_n, beam)
    decoder = BeamSearchDecoder(
        beam_width=beam,
        blank=blank,
        top_n=top_n,
        token_min_logp=token_min_logp,
        num_threads=threads,
    )
    out = decoder.decode(x, lengths)
    assert len(out) == batch
    for b, length in enumerate(lengths):
        valid = x[b, :length]
        if token_min_logp is not None:
            valid = refs["prune_tokens"](valid, token_min_logp)
        check_hyps(out[b], int(length), blank, top_n)
        check_exact_n_best(out[b], refs["brute_force"](valid, blank), top_n, 1e-9)


def test_repeat_across_blank_gives_two_labels() -> None:
    lp = np.log(np.eye(3)[[1, 0, 1]] * 0.98 + 0.01)
    assert BeamSearchDecoder(beam_width=3).decode(lp)[0][0].tokens == (1, 1)
    lp = np.log(np.eye(3)[[1, 1, 1]] * 0.98 + 0.01)
    assert BeamSearchDecoder(beam_width=3).decode(lp)[0][0].tokens == (1,)


def test_all_blank_gives_empty_labelling() -> None:
    lp = np.log(np.eye(4)[[0, 0, 0, 0, 0]] * 0.9 + 0.025)
    best = BeamSearchDecoder(beam_width=5).decode(lp)[0][0]
    assert best.tokens == ()
    assert best.frames == ()
    assert best.acoustic_score == pytest.approx(5 * math.log(0.925))


def test_frames_are_spike_frames() -> None:
    lp = np.log(np.eye(4)[[0, 2, 0, 0, 3, 3, 0, 1]] * 0.97 + 0.01)
    best = BeamSearchDecoder(beam_width=4).decode(lp)[0][0]
    assert best.tokens == (2, 3, 1)
    assert best.frames == (1, 4, 7)


def test_impossible_input_gives_empty_minus_inf() -> None:
    lp = np.zeros((3, 3))
    lp[1] = -np.inf  # no path survives frame 1
    assert BeamSearchDecoder().decode(lp) == [[Hypothesis((), -math.inf, -math.inf, 0.0, ())]]


@pytest.mark.parametrize("threads", [1, 2])
def test_a_batch_of_every_kind_of_result_reads_back_in_order(
    refs: dict[str, Any], threads: int
) -> None:
    """One call's packed output holds, in order, N-best lists of several lengths, the empty
    result of a length-0 utterance and the -inf result of an impossible one: each equals
    the utterance decoded alone and its labellings are scored exactly; lengths may come as
    a strided or read-only array."""
    time, vocab = 6, 3
    x = np.stack([refs["random_log_probs"](s, time, vocab) for s in range(5)])
    x[1, 2] = -np.inf  # no path survives frame 2
    lengths = np.array([6, 0, 4, 0, 0, 0, 5, 0, 1, 0], np.int64)[::2]  # 6, 4, 0, 5, 1
    lengths[1] = 6  # the impossible utterance, in full
    lengths.setflags(write=False)
    beam = refs["num_labellings"](time, vocab)  # exhaustive: the exact N best
    decoder = BeamSearchDecoder(beam_width=beam, top_n=4, num_threads=threads)
    out = decoder.decode(x, lengths)
    assert out[1] == [Hypothesis((), -math.inf, -math.inf, 0.0, ())]
    assert out[2] == [Hypothesis((), 0.0, 0.0, 0.0, ())]
    for b in (0, 3, 4):
        length = int(lengths[b])
        assert out[b] == decoder.decode(x[b, :length])[0]
        check_exact_n_best(out[b], refs["brute_force"](x[b, :length], 0), 4, 1e-9)
        for h in out[b]:
            assert [s.start for s in h.spans] == list(h.frames)
            assert all(0.0 < s.confidence <= 1.0 for s in h.spans)


def test_tensor_and_array_and_dtypes_agree(refs: dict[str, Any]) -> None:
    lp = np.stack([refs["random_log_probs"](s, 20, 5, peaky=True) for s in range(3)])
    decoder = BeamSearchDecoder(beam_width=4, top_n=3, num_threads=2)
    from_np = decoder.decode(lp)
    assert decoder.decode(torch.from_numpy(lp)) == from_np
    f32 = decoder.decode(lp.astype(np.float32))
    assert [[h.tokens for h in hs] for hs in f32] == [[h.tokens for h in hs] for hs in from_np]
    assert decoder.decode(lp[1]) == [from_np[1]]
    assert decoder.decode(lp[1], lengths=20) == [from_np[1]]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"beam_width": 0}, InputValueError),
        ({"beam_width": 2.0}, InputTypeError),
        ({"top_n": 0}, InputValueError),
        ({"beam_width": 3, "top_n": 4}, InputValueError),
        ({"blank": -1}, InputValueError),
        ({"token_min_logp": float("nan")}, InputValueError),
        ({"token_min_logp": "low"}, InputTypeError),
        ({"beam_prune_logp": 1.0}, InputValueError),
        ({"lm_weight": 0.5}, InputValueError),
        ({"num_threads": 0}, InputValueError),
        ({"lm": "an lm"}, InputTypeError),
    ],
)
def test_bad_options(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        BeamSearchDecoder(**kwargs)


@pytest.mark.parametrize(
    ("log_probs", "lengths", "error", "match"),
    [
        (np.zeros((2, 3, 4, 5)), None, ShapeError, r"\(2, 3, 4, 5\)"),
        (np.zeros(3), None, ShapeError, "got"),
        (np.zeros((2, 3), dtype=np.float16), None, InputTypeError, "float16"),
        (np.zeros((2, 3), dtype=np.int64), None, InputTypeError, "int64"),
        ([[0.0, 0.0]], None, InputTypeError, "list"),
        (np.zeros((2, 3, 4)), [3, 4], InputValueError, r"lengths\[1\]=4"),
        (np.zeros((2, 3, 4)), [3, -1], InputValueError, "lengths"),
        (np.zeros((2, 3, 4)), [3], ShapeError, r"\(2,\)"),
        (np.zeros((2, 3, 4)), [3.0, 2.0], InputTypeError, "float"),
        (np.zeros((2, 3, 4)), torch.tensor([True, False]), InputTypeError, "bool"),
        (np.array([[0.0, np.nan], [0.0, 0.0]]), None, InputValueError, r"log_probs\[0\]"),
        (np.array([[[0.0, 0.0]], [[0.0, np.inf]]]), None, InputValueError, r"\[1, 0\]"),
    ],
)
def test_bad_input(log_probs: Any, lengths: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match) as info:
        BeamSearchDecoder(num_threads=1).decode(log_probs, lengths)
    assert isinstance(info.value, CTCKitError)


def test_blank_must_be_a_class() -> None:
    with pytest.raises(InputValueError, match=r"V=4.*blank=4"):
        BeamSearchDecoder(blank=4).decode(np.zeros((3, 4)))
    # V = 1 (blank only) is valid: nothing to emit
    assert BeamSearchDecoder().decode(np.zeros((3, 1)))[0][0].tokens == ()


def test_non_finite_padding_is_ignored() -> None:
    lp = np.zeros((2, 3, 3))
    lp[0, 2] = np.nan
    lp[1, 1:] = np.inf
    out = BeamSearchDecoder(num_threads=2).decode(lp, [2, 1])
    assert len(out) == 2
    assert np.isfinite(out[0][0].score)


@given(seed=seeds, shape=tiny_shapes(), peaky=st.booleans())
def test_frames_are_the_best_alignment(
    refs: dict[str, Any], seed: int, shape: tuple[int, int], peaky: bool
) -> None:
    """Unpruned, frames[k] is where tokens[k] starts on the labelling's Viterbi path."""
    import itertools

    time, vocab = shape
    lp = refs["random_log_probs"](seed, time, vocab, peaky=peaky)
    best: dict[tuple[int, ...], tuple[float, tuple[int, ...]]] = {}
    for path in itertools.product(range(vocab), repeat=time):
        score = float(sum(lp[t, c] for t, c in enumerate(path)))
        starts = [t for t, c in enumerate(path) if c != 0 and (t == 0 or path[t - 1] != c)]
        tokens = tuple(path[t] for t in starts)
        if tokens not in best or score > best[tokens][0]:
            best[tokens] = (score, tuple(starts))
    n_prefixes = refs["num_labellings"](time, vocab)
    hyps = BeamSearchDecoder(beam_width=n_prefixes, top_n=min(n_prefixes, 5)).decode(lp)[0]
    for h in hyps:
        assert h.frames == best[h.tokens][1]


def test_empty_batch_and_zero_length() -> None:
    decoder = BeamSearchDecoder(num_threads=2)
    assert decoder.decode(np.zeros((0, 4, 3))) == []
    assert decoder.decode(np.zeros((2, 0, 3))) == [[Hypothesis((), 0.0, 0.0, 0.0, ())]] * 2
    assert "beam_width=10" in repr(decoder)


@given(scores=st.lists(st.integers(-3, 3), min_size=1, max_size=40), keep=st.integers(1, 20))
def test_wide_beam_selection_keeps_the_best_stably(scores: list[int], keep: int) -> None:
    """The wide-beam selection (a kernel helper) against a stable sort, with many ties."""
    from ctckit.decode._kernels.numeric import keep_best as _keep_best

    nb, keep = len(scores), min(keep, len(scores))
    bs = np.array(scores, np.float64)
    bid = np.arange(nb, dtype=np.int64) + 100
    m, kth = _keep_best(bs, bid, nb, keep, np.empty(nb))
    top = sorted(sorted(range(nb), key=lambda i: -scores[i])[:keep])  # ties: the earlier
    assert m == keep
    assert bid[:m].tolist() == [i + 100 for i in top]
    assert bs[:m].tolist() == [float(scores[i]) for i in top]
    assert kth == min(scores[i] for i in top)


def blank_heavy(seed: int, time: int, vocab: int, blank: int, dtype: Any = np.float64) -> Any:
    """Log-probs where most frames are a confident blank (long runs), some a confident
    label and some a mix: the token-pruned search's blank-run path and its other paths."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(time, vocab))
    kind = rng.random(time)
    t = np.arange(time)
    logits[t[kind < 0.7], blank] += 8.0
    spike = t[(kind >= 0.7) & (kind < 0.85)]
    logits[spike, rng.integers(0, vocab, spike.size)] += 6.0
    lp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return lp.astype(dtype)


@given(
    seed=seeds,
    time=st.integers(1, 40),
    vocab=st.integers(2, 6),
    blank_pos=st.integers(0, 5),
    beam=st.integers(1, 6) | st.integers(97, 99),
    token_min_logp=st.sampled_from([-0.5, -2.0, -4.0]),
    beam_prune_logp=st.sampled_from([None, -3.0]),
)
def test_blank_runs_match_python_reference(
    refs: dict[str, Any],
    seed: int,
    time: int,
    vocab: int,
    blank_pos: int,
    beam: int,
    token_min_logp: float,
    beam_prune_logp: float | None,
) -> None:
    """With token pruning, runs of frames where only the blank is kept are summed in one
    step, and label spikes that prune the blank and every beam's last label skip ranking
    the stays; the result must be the frame-by-frame search's (the reference)."""
    blank = blank_pos % vocab
    lp = blank_heavy(seed, time, vocab, blank)
    opts = {
        "beam_width": beam,
        "blank": blank,
        "top_n": min(beam, 3),
        "token_min_logp": token_min_logp,
        "beam_prune_logp": beam_prune_logp,
    }
    got = BeamSearchDecoder(**opts, num_threads=1).decode(lp)[0]
    want = refs["reference_beam_search"](lp, **opts)
    assert [h.tokens for h in got] == [h.tokens for h in want]
    assert [h.frames for h in got] == [h.frames for h in want]
    assert [h.score for h in got] == pytest.approx([h.score for h in want], rel=1e-12, abs=1e-12)


@pytest.mark.parametrize(("seed", "beam"), [(0, 8), (1, 8), (2, 8), (3, 10), (4, 50)])
def test_spikes_over_a_large_vocabulary_match_python_reference(
    refs: dict[str, Any], seed: int, beam: int
) -> None:
    """With 30 classes a label spike rarely repeats a beam's last label, so most spike
    frames take the path that skips the stays; long utterances, a full beam (the
    benchmark's widths 10 and 50 too)."""
    lp = blank_heavy(seed, 150, 30, 0)
    opts = {"beam_width": beam, "top_n": 3, "token_min_logp": -4.0, "beam_prune_logp": -8.0}
    got = BeamSearchDecoder(**opts, num_threads=1).decode(lp)[0]
    want = refs["reference_beam_search"](lp, **opts)
    assert [(h.tokens, h.frames) for h in got] == [(h.tokens, h.frames) for h in want]
    assert [h.score for h in got] == pytest.approx([h.score for h in want], rel=1e-12, abs=1e-12)


@given(seed=seeds, time=st.integers(1, 30), token_min_logp=st.floats(-6.0, -0.01))
def test_float32_threshold_is_exact(seed: int, time: int, token_min_logp: float) -> None:
    """float32 input is compared against token_min_logp as exactly as float64 input: the
    same values upcast give the same tokens and frames (scores differ only by rounding)."""
    lp32 = blank_heavy(seed, time, 5, 0, np.float32)
    decoder = BeamSearchDecoder(beam_width=4, top_n=4, token_min_logp=token_min_logp)
    got = decoder.decode(lp32)[0]
    want = decoder.decode(lp32.astype(np.float64))[0]
    assert [(h.tokens, h.frames) for h in got] == [(h.tokens, h.frames) for h in want]
    assert [h.score for h in got] == pytest.approx([h.score for h in want], rel=1e-6)


@given(
    seed=seeds,
    shape=tiny_shapes(),
    blank_pos=st.integers(0, 4),
    dtype=st.sampled_from([np.float32, np.float64]),
    blank_heavy_input=st.booleans(),
    threshold=st.floats(-4.0, -0.05) | st.tuples(st.integers(0, 7), st.integers(0, 4)),
    top_n=st.integers(1, 12),
)
def test_pruned_search_is_exact_on_the_pruned_input(
    refs: dict[str, Any],
    seed: int,
    shape: tuple[int, int],
    blank_pos: int,
    dtype: type,
    blank_heavy_input: bool,
    threshold: float | tuple[int, int],
    top_n: int,
) -> None:
    """With an exhaustive beam, token pruning is exactly brute force (-ctc_loss) on the
    input with every entry below ``token_min_logp`` (blank included) set to -inf but the
    frame's best: the documented semantics, checked against an independent scorer. The
    threshold is sometimes an entry of the input (the boundary: kept)."""
    time, vocab = shape
    blank = blank_pos % vocab
    if blank_heavy_input:  # blank runs, label spikes that prune the blank: the fast paths
        lp = blank_heavy(seed, time, vocab, blank, dtype)
    else:
        lp = refs["random_log_probs"](seed, time, vocab, neg_inf=0.2).astype(dtype)
    if isinstance(threshold, tuple):
        threshold = float(lp[threshold[0] % time, threshold[1] % vocab])
        if threshold == -math.inf:
            threshold = -2.0
    beam = refs["num_labellings"](time, vocab)
    top_n = min(top_n, beam)
    hyps = BeamSearchDecoder(
        beam_width=beam, blank=blank, top_n=top_n, token_min_logp=threshold
    ).decode(lp)[0]
    exact = refs["brute_force"](refs["prune_tokens"](lp, threshold), blank)
    check_hyps(hyps, time, blank, top_n)
    check_exact_n_best(hyps, exact, top_n, 1e-4 if dtype == np.float32 else 1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_token_pruning_keeps_an_entry_equal_to_the_threshold(
    refs: dict[str, Any], dtype: type
) -> None:
    """The boundary of token pruning, exactly: an entry equal to ``token_min_logp`` is kept
    (as a label beside a kept blank, and as the blank beside a top label), the next value
    of the dtype below it is not; a float32 entry just below a threshold that float32
    cannot hold is not kept, the one just above is."""
    thr = float(dtype(-1.2))  # representable in the dtype
    below = float(np.nextafter(dtype(thr), dtype(-np.inf)))
    lp = np.array(
        [
            [math.log(0.6), thr, -5.0],  # blank kept; label 1 exactly at the threshold
            [thr, math.log(0.6), -5.0],  # label 1 on top; blank exactly at the threshold
            [math.log(0.6), below, thr],  # label 1 just below (dropped), label 2 at it
        ],
        dtype=dtype,
    )
    assert [lp[0, 1], lp[1, 0], lp[2, 2]] == [thr] * 3
    assert lp[2, 1] < thr
    decoder = BeamSearchDecoder(beam_width=15, top_n=15, token_min_logp=thr)
    hyps = decoder.decode(lp)[0]
    want = refs["brute_force"](refs["prune_tokens"](lp, thr), 0)
    assert {h.tokens: h.acoustic_score for h in hyps} == pytest.approx(
        {k: v for k, v in want.items() if v > -math.inf}, abs=1e-9
    )
    # which entries were kept shows in the labellings: (2,) needs the blank at frame 1 and
    # label 2 at frame 2, (1, 1) label 1 at frame 2
    assert {h.tokens for h in hyps} == {(), (1,), (2,), (1, 2)}

    if dtype is np.float32:  # a threshold float32 cannot hold: compared exactly
        x = np.float32(-1.2)
        assert float(x) < -1.2 < float(np.nextafter(x, np.float32(0)))
        lp32 = np.array([[math.log(0.6), x, np.nextafter(x, np.float32(0))]], np.float32)
        got = BeamSearchDecoder(beam_width=3, top_n=3, token_min_logp=-1.2).decode(lp32)[0]
        assert sorted(h.tokens for h in got) == [(), (2,)]


@given(
    seed=seeds,
    batch=st.integers(1, 4),
    time=st.integers(1, 30),
    value=st.sampled_from([np.nan, np.inf]),
    token_min_logp=st.sampled_from([None, -3.0]),
    dead=st.booleans(),
    threads=st.integers(1, 2),
)
def test_non_finite_entry_is_found_where_it_is(
    seed: int,
    batch: int,
    time: int,
    value: float,
    token_min_logp: float | None,
    dead: bool,
    threads: int,
) -> None:
    """A NaN or +inf anywhere in a valid frame is reported with its position: in a blank
    run, in a busy frame, and after every beam has died (a frame of -inf before it)."""
    rng = np.random.default_rng(seed)
    lp = np.stack([blank_heavy(seed + b, time, 4, 0) for b in range(batch)])
    b, t = int(rng.integers(batch)), int(rng.integers(time))
    lp[b, t, int(rng.integers(4))] = value
    if dead and t > 0:
        lp[b, int(rng.integers(t))] = -np.inf  # no path survives that frame
    decoder = BeamSearchDecoder(beam_width=3, token_min_logp=token_min_logp, num_threads=threads)
    where = rf"log_probs\[{b}, {t}\]"
    with pytest.raises(InputValueError, match=where):
        decoder.decode(lp)


def _decode_in_child(queue: Any) -> None:
    lp = np.log(np.eye(3)[[0, 1, 0, 2, 2, 0]] * 0.9 + 0.05)
    out = BeamSearchDecoder(beam_width=3, num_threads=2).decode(np.stack([lp, lp, lp]))
    queue.put([h[0].tokens for h in out])


def test_thread_pool_survives_fork() -> None:
    """The decoder's shared thread pool is per process: a forked child (which inherits the
    pool object but not its threads) decodes with threads of its own instead of hanging."""
    import multiprocessing

    lp = np.log(np.eye(3)[[0, 1, 0, 2, 2, 0]] * 0.9 + 0.05)
    parent = BeamSearchDecoder(beam_width=3, num_threads=2).decode(np.stack([lp, lp, lp]))
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_decode_in_child, args=(queue,))
    child.start()
    got = queue.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0
    assert got == [h[0].tokens for h in parent] == [(1, 2)] * 3


@pytest.mark.parametrize("with_lengths", [False, True])
def test_the_invalid_utterance_reported_does_not_depend_on_the_threads(with_lengths) -> None:
    """Threads take utterances as they finish others; of several invalid ones the error
    names the first in their order (longest first when lengths are given) however many
    threads ran: utterance 4 (9 frames) before utterance 1 (6 frames)."""
    lp = np.stack([blank_heavy(k, 9, 4, 0) for k in range(6)])
    lp[1, 2, 1] = np.nan
    lp[4, 5, 3] = np.inf
    lengths = [9, 6, 9, 9, 9, 9] if with_lengths else None
    want = r"log_probs\[4, 5\]" if with_lengths else r"log_probs\[1, 2\]"
    for threads in (1, 2, 3):
        with pytest.raises(InputValueError, match=want):
            BeamSearchDecoder(beam_width=3, num_threads=threads).decode(lp, lengths)
