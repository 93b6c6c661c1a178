"""Tests of BeamSearchDecoder against brute force and a pure-Python reference."""

from __future__ import annotations

import math
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


@given(
    seed=seeds,
    time=st.integers(1, 5),
    vocab=st.integers(2, 3),
    blank_pos=st.integers(0, 2),
    peaky=st.booleans(),
    neg_inf=st.sampled_from([0.0, 0.3]),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_unpruned_search_is_exact(
    refs: dict[str, Any],
    seed: int,
    time: int,
    vocab: int,
    blank_pos: int,
    peaky: bool,
    neg_inf: float,
    dtype: type,
) -> None:
    blank = blank_pos % vocab
    lp = refs["random_log_probs"](seed, time, vocab, peaky=peaky, neg_inf=neg_inf).astype(dtype)
    exact = refs["brute_force"](lp, blank)
    n_prefixes = sum((vocab - 1) ** k for k in range(time + 1))
    top_n = min(n_prefixes, 6)
    hyps = BeamSearchDecoder(beam_width=n_prefixes, blank=blank, top_n=top_n).decode(lp)[0]
    check_hyps(hyps, time, blank, top_n)
    ranked = sorted(exact.values(), reverse=True)
    # top-1 is the MAP labelling (its score is the best exact score; tokens too unless a near tie)
    assert hyps[0].acoustic_score == pytest.approx(ranked[0], abs=1e-4)
    if len(ranked) < 2 or ranked[0] - ranked[1] > 1e-6:
        assert hyps[0].tokens == max(exact, key=exact.__getitem__)
    for h in hyps:  # every score is exact: -ctc_loss of its tokens
        assert h.acoustic_score == pytest.approx(exact[h.tokens], abs=1e-4)
        assert h.score == h.acoustic_score
        assert h.lm_score == 0.0
    # and the N-best list is the exact N-best
    finite = [v for v in ranked if v > -math.inf]
    assert [h.acoustic_score for h in hyps] == pytest.approx(finite[: len(hyps)], abs=1e-4)


@given(
    seed=seeds,
    time=st.integers(1, 12),
    vocab=st.integers(2, 6),
    blank_pos=st.integers(0, 5),
    beam=st.integers(1, 8) | st.integers(97, 100),  # sorted array, or the wide-beam buffer
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


@given(seed=seeds, time=st.integers(1, 5), vocab=st.integers(2, 3), peaky=st.booleans())
def test_frames_are_the_best_alignment(
    refs: dict[str, Any], seed: int, time: int, vocab: int, peaky: bool
) -> None:
    """Unpruned, frames[k] is where tokens[k] starts on the labelling's Viterbi path."""
    import itertools

    lp = refs["random_log_probs"](seed, time, vocab, peaky=peaky)
    best: dict[tuple[int, ...], tuple[float, tuple[int, ...]]] = {}
    for path in itertools.product(range(vocab), repeat=time):
        score = float(sum(lp[t, c] for t, c in enumerate(path)))
        starts = [t for t, c in enumerate(path) if c != 0 and (t == 0 or path[t - 1] != c)]
        tokens = tuple(path[t] for t in starts)
        if tokens not in best or score > best[tokens][0]:
            best[tokens] = (score, tuple(starts))
    n_prefixes = sum((vocab - 1) ** k for k in range(time + 1))
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


@pytest.mark.parametrize("seed", range(3))
def test_spikes_over_a_large_vocabulary_match_python_reference(
    refs: dict[str, Any], seed: int
) -> None:
    """With 30 classes a label spike rarely repeats a beam's last label, so most spike
    frames take the path that skips the stays; long utterances, a full beam."""
    lp = blank_heavy(seed, 150, 30, 0)
    opts = {"beam_width": 8, "top_n": 3, "token_min_logp": -4.0, "beam_prune_logp": -8.0}
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
