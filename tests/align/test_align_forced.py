"""forced_align: exact against brute force and ctc_loss, Numba and torch agree, errors."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ctckit.align import forced_align
from ctckit.errors import InputTypeError, InputValueError, ShapeError


def log_softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def needed(tokens: list[int]) -> int:
    return len(tokens) + sum(a == b for a, b in itertools.pairwise(tokens))


@st.composite
def problems(draw: st.DrawFn, max_time: int = 7, wildcard: bool = False) -> dict:
    """A small batch: log-probs, feasible targets, lengths (padding beyond them)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    vocab = draw(st.integers(2, 4))
    blank = draw(st.integers(0, vocab - 1))
    batch = draw(st.integers(1, 3))
    time = draw(st.integers(1, max_time))
    labels = [v for v in range(vocab) if v != blank] + ([vocab] if wildcard else [])
    lengths, targets = [], []
    for _ in range(batch):
        n = draw(st.integers(0, time))
        tokens: list[int] = []
        for _ in range(draw(st.integers(0, n))):
            tok = draw(st.sampled_from(labels))
            if needed([*tokens, tok]) <= n:
                tokens.append(tok)
        lengths.append(n)
        targets.append(tokens)
    width = max(1, max(len(t) for t in targets))
    padded = rng.integers(0, vocab, size=(batch, width))  # garbage beyond the lengths
    for b, tokens in enumerate(targets):
        padded[b, : len(tokens)] = tokens
    scale = draw(st.sampled_from([0.5, 2.0, 6.0, 20.0]))  # 20: the first pass prunes
    lp = log_softmax(rng.normal(size=(batch, time, vocab)) * scale)
    return {
        "lp": lp,
        "targets": targets,
        "padded": padded,
        "lengths": np.array(lengths),
        "target_lengths": np.array([len(t) for t in targets]),
        "blank": blank,
        "vocab": vocab,
        "penalty": -draw(st.sampled_from([0.0, 0.3, 2.0])),
    }


def check_path(labels, scores, e, tokens, n, blank, oracles) -> None:
    """labels[:n] spells tokens, scores are their emissions, padding is blank / 0."""
    path = tuple(int(x) for x in labels[:n])
    assert oracles.collapse(path, blank) == tuple(tokens)
    np.testing.assert_allclose(scores[:n], e[np.arange(n), list(path)], rtol=0, atol=1e-12)
    assert (labels[n:] == blank).all()
    assert (scores[n:] == 0).all()


@given(prob=problems())
def test_best_path_is_the_brute_force_best(prob, oracles) -> None:
    lp, blank = prob["lp"], prob["blank"]
    labels, scores = forced_align(
        lp, prob["padded"], prob["lengths"], prob["target_lengths"], blank=blank, num_threads=2
    )
    assert labels.dtype == np.int64
    assert scores.dtype == np.float64
    assert labels.shape == scores.shape == lp.shape[:2]
    for b, tokens in enumerate(prob["targets"]):
        n = int(prob["lengths"][b])
        e = oracles.emissions(lp[b, :n], 0.0)
        check_path(labels[b], scores[b], e, tokens, n, blank, oracles)
        best = oracles.brute_force_best(e, tuple(tokens), blank)
        assert scores[b].sum() == pytest.approx(best.score, abs=1e-9)
        assert tuple(labels[b, :n]) in best.paths


@given(prob=problems(wildcard=True))
def test_wildcard_is_a_token_scoring_the_frame_best_plus_penalty(prob, oracles) -> None:
    lp, blank, vocab = prob["lp"], prob["blank"], prob["vocab"]
    star = -1
    targets = [[star if t == vocab else t for t in tokens] for tokens in prob["targets"]]
    labels, scores = forced_align(
        lp, targets, prob["lengths"], blank=blank, wildcard=star,
        wildcard_penalty=prob["penalty"],
    )  # fmt: skip
    for b, tokens in enumerate(prob["targets"]):
        n = int(prob["lengths"][b])
        e = oracles.emissions(lp[b, :n], prob["penalty"])
        path = np.where(labels[b] == star, vocab, labels[b])
        check_path(path, scores[b], e, tokens, n, blank, oracles)
        best = oracles.brute_force_best(e, tuple(tokens), blank)
        assert scores[b].sum() == pytest.approx(best.score, abs=1e-9)


@given(prob=problems(max_time=30, wildcard=True))
def test_torch_and_numba_give_the_same_paths(prob) -> None:
    vocab = prob["vocab"]
    padded = np.where(prob["padded"] == vocab, 99, prob["padded"])
    args = (padded, prob["lengths"], prob["target_lengths"], prob["blank"])
    kw = {"wildcard": 99, "wildcard_penalty": prob["penalty"]}
    lab_n, sc_n = forced_align(prob["lp"], *args, **kw)
    lab_t, sc_t = forced_align(torch.from_numpy(prob["lp"]), *args, **kw, backend="torch")
    np.testing.assert_array_equal(lab_t.numpy(), lab_n)
    np.testing.assert_allclose(sc_t.numpy(), sc_n, rtol=0, atol=1e-12)


@given(prob=problems(max_time=12))
def test_padding_beyond_the_lengths_changes_nothing(prob) -> None:
    lp, lengths, blank = prob["lp"], prob["lengths"], prob["blank"]
    rng = np.random.default_rng(0)
    base = forced_align(lp, prob["targets"], lengths, blank=blank)
    wider = np.concatenate([lp, log_softmax(rng.normal(size=(lp.shape[0], 5, lp.shape[2])))], 1)
    noisy = wider.copy()
    for b, n in enumerate(lengths):
        noisy[b, n:] = np.nan  # never read
    pad_targets = np.concatenate([prob["padded"], rng.integers(-5, 50, (lp.shape[0], 3))], 1)
    for backend in ("numba", "torch"):
        x = noisy if backend == "numba" else torch.from_numpy(noisy)
        labels, scores = forced_align(
            x, pad_targets, lengths, prob["target_lengths"], blank=blank, backend=backend
        )
        labels, scores = np.asarray(labels), np.asarray(scores)
        np.testing.assert_array_equal(labels[:, : lp.shape[1]], base[0])
        np.testing.assert_array_equal(scores[:, : lp.shape[1]], base[1])
        assert (labels[:, lp.shape[1] :] == blank).all()


def test_a_single_feasible_path_scores_minus_ctc_loss() -> None:
    # T = tokens + repeats: the only path is the tokens with one blank between repeats,
    # so its score is the whole CTC probability
    rng = np.random.default_rng(1)
    tokens = [3, 3, 1, 2, 2, 2, 4]
    time = needed(tokens)
    lp = torch.from_numpy(log_softmax(rng.normal(size=(time, 5)) * 3))
    _, scores = forced_align(lp, torch.tensor(tokens))
    loss = torch.nn.functional.ctc_loss(
        lp[:, None], torch.tensor([tokens]), torch.tensor([time]), torch.tensor([len(tokens)]),
        reduction="sum",
    )  # fmt: skip
    assert float(scores.sum()) == pytest.approx(-float(loss), abs=1e-9)


def test_best_path_is_below_the_ctc_total_and_near_it_when_peaky() -> None:
    rng = np.random.default_rng(2)
    lp = torch.from_numpy(log_softmax(rng.normal(size=(4, 60, 8)) * 3))
    targets = torch.from_numpy(rng.integers(1, 8, size=(4, 20)))
    lengths = torch.tensor([60, 55, 41, 50])
    target_lengths = torch.tensor([20, 15, 20, 3])
    _, scores = forced_align(lp, targets, lengths, target_lengths)
    total = -torch.nn.functional.ctc_loss(
        lp.transpose(0, 1), targets, lengths, target_lengths, reduction="none"
    )
    assert (scores.sum(1) <= total + 1e-9).all()


def test_float32_tensor_input_keeps_kind_dtype_and_shape() -> None:
    rng = np.random.default_rng(3)
    lp64 = log_softmax(rng.normal(size=(2, 40, 6)) * 4)
    targets = rng.integers(1, 6, size=(2, 10))
    lab32, sc32 = forced_align(torch.from_numpy(lp64.astype(np.float32)), torch.from_numpy(targets))
    lab64, _ = forced_align(lp64, targets)
    assert isinstance(lab32, torch.Tensor)
    assert lab32.dtype == torch.int64
    assert sc32.dtype == torch.float32
    assert tuple(sc32.shape) == (2, 40)
    np.testing.assert_array_equal(lab32.numpy(), lab64)  # no near-ties at this scale
    one, _ = forced_align(lp64[1], targets[1])
    assert one.shape == (40,)
    np.testing.assert_array_equal(one, lab64[1])


def test_threads_give_the_same_result_as_one() -> None:
    rng = np.random.default_rng(4)
    lp = log_softmax(rng.normal(size=(9, 80, 10)) * 3).astype(np.float32)
    targets = rng.integers(1, 10, size=(9, 25))
    lengths = rng.integers(60, 81, size=9)
    one = forced_align(lp, targets, lengths, num_threads=1)
    many = forced_align(lp, targets, lengths, num_threads=4)
    np.testing.assert_array_equal(one[0], many[0])
    np.testing.assert_array_equal(one[1], many[1])


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_empty_targets_and_zero_lengths(backend) -> None:
    lp = log_softmax(np.random.default_rng(5).normal(size=(3, 4, 3)))
    labels, scores = forced_align(lp, [[], [], [2]], [4, 0, 1], backend=backend)
    assert labels.tolist() == [[0, 0, 0, 0], [0, 0, 0, 0], [2, 0, 0, 0]]
    assert scores[0].sum() == pytest.approx(lp[0, :, 0].sum())
    assert scores[2, 0] == lp[2, 0, 2]
    labels, _ = forced_align(lp, [[], [], []], backend=backend)  # no target at all
    assert (labels == 0).all()


def test_minus_inf_entries_are_avoided_and_no_path_is_an_error() -> None:
    with np.errstate(divide="ignore"):
        lp = np.log(np.array([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5], [0.5, 0.0, 0.5]]))
    labels, scores = forced_align(lp, [1, 2])
    assert labels.tolist() == [1, 2, 2] or labels.tolist() == [1, 2, 0]
    assert np.isfinite(scores).all()
    blocked = lp.copy()
    blocked[:, 2] = -np.inf
    for backend in ("numba", "torch"):
        with pytest.raises(
            InputValueError, match="every alignment of its targets has probability 0"
        ):
            forced_align(torch.from_numpy(blocked), [1, 2], backend=backend)


def test_errors_say_what_is_wrong() -> None:
    lp = log_softmax(np.random.default_rng(6).normal(size=(2, 5, 4)))
    with pytest.raises(InputValueError, match=r"utterance 1: its 4 target token\(s\) with 1 repeat"
                       r".* need 5 frames, but it has 4: 1 frame\(s\) short"):  # fmt: skip
        forced_align(lp, [[1, 2], [1, 1, 2, 3]], [5, 4])
    with pytest.raises(InputValueError, match=r"targets\[0, 1\]=0, which is the blank"):
        forced_align(lp, [[1, 0], [1]])
    with pytest.raises(InputValueError, match=r"targets\[1, 0\]=4, which is outside \[0, V=4\)"):
        forced_align(lp, np.array([[1, 2], [4, 1]]))
    with pytest.raises(
        InputValueError, match=r"input_lengths must lie in \[0, 5\], got input_lengths\[1\]=6"
    ):
        forced_align(lp, [[1], [1]], [5, 6])
    with pytest.raises(InputValueError, match=r"target_lengths must lie in \[0, 2\]"):
        forced_align(lp, np.array([[1, 2], [3, 1]]), target_lengths=[2, 3])
    with pytest.raises(ShapeError, match=r"input_lengths must have shape \(2,\), got \(3,\)"):
        forced_align(lp, [[1], [1]], [5, 5, 5])
    with pytest.raises(ShapeError, match=r"targets must have shape \(2, L\), got \(3, 2\)"):
        forced_align(lp, np.ones((3, 2), np.int64))
    with pytest.raises(ShapeError, match=r"log_probs must have shape \(B, T, V\) or \(T, V\)"):
        forced_align(lp[0, 0], [1])
    with pytest.raises(InputTypeError, match="float32 or float64, got int64"):
        forced_align(np.zeros((3, 2), np.int64), [1])
    with pytest.raises(InputTypeError, match="targets must hold integers"):
        forced_align(lp, np.ones((2, 2)))
    nan = lp.copy()
    nan[1, 3, 2] = np.nan
    for backend in ("numba", "torch"):
        with pytest.raises(InputValueError, match=r"got nan at log_probs\[1, 3, 2\]"):
            forced_align(torch.from_numpy(nan), [[1], [1]], backend=backend)
    forced_align(nan, [[1], [1]], [5, 3])  # beyond the length: never read
    with pytest.raises(InputValueError, match="wildcard must be an id outside the V=4 classes"):
        forced_align(lp, [[1], [1]], wildcard=2)
    with pytest.raises(InputValueError, match=r"wildcard_penalty must be a finite float <= 0\.0"):
        forced_align(lp, [[1], [1]], wildcard=-1, wildcard_penalty=1.0)
    with pytest.raises(InputValueError, match="backend must be one of"):
        forced_align(lp, [[1], [1]], backend="cuda")
    with pytest.raises(InputValueError, match=r"blank must be in \[0, 3\], got 4"):
        forced_align(lp, [[1], [1]], blank=4)


def test_repeats_need_a_blank_between_them() -> None:
    lp = np.log(np.full((3, 3), 1 / 3))
    labels, scores = forced_align(lp, [1, 1])
    assert labels.tolist() == [1, 0, 1]
    assert scores.sum() == pytest.approx(3 * math.log(1 / 3))


def kernel_align(lp, padded, lengths, target_lengths, blank, mode):
    """``forced_align``'s Numba kernel with its search forced: (labels, scores, dense)."""
    from ctckit.align import _viterbi
    from ctckit.align._common import Options

    lp = np.ascontiguousarray(lp)
    batch, time, vocab = lp.shape
    cols = np.ascontiguousarray(padded, dtype=np.int64)
    labels = np.empty((batch, time), np.int64)
    scores = np.empty((batch, time), lp.dtype)
    status = np.zeros(batch, np.int64)
    searched = np.zeros(batch, np.bool_)
    _viterbi.viterbi_many(
        lp, np.asarray(lengths, np.int64), cols, np.asarray(target_lengths, np.int64),
        np.arange(batch, dtype=np.int64), Options(blank, vocab, 0.0), labels, scores, status,
        np.zeros((batch, 2), np.int64), searched, mode,
    )  # fmt: skip
    assert (status == 0).all()
    return labels, scores, searched


@given(prob=problems(max_time=30))
def test_dense_and_pruned_searches_give_the_torch_paths_ties_included(prob) -> None:
    """Log-probs in steps of 0.5 make many paths tie exactly: the dense search, the pruned
    one and the automatic choice keep the same one as the torch backend's full trellis."""
    from ctckit.align import _viterbi

    lp = np.round(prob["lp"] * 2) / 2
    args = (prob["padded"], prob["lengths"], prob["target_lengths"], prob["blank"])
    ref, ref_scores = forced_align(torch.from_numpy(lp), *args, backend="torch")
    for mode in (_viterbi.DENSE, _viterbi.PRUNED, _viterbi.AUTO):
        labels, scores, dense = kernel_align(lp, *args, mode)
        np.testing.assert_array_equal(labels, ref.numpy())
        np.testing.assert_array_equal(scores, ref_scores.numpy())
        if mode != _viterbi.AUTO:  # utterances without frames take no search
            assert (dense[prob["lengths"] > 0] == (mode == _viterbi.DENSE)).all()


@pytest.mark.parametrize("seed", range(3))
def test_flat_posteriors_switch_to_the_dense_search_and_peaky_ones_do_not(seed, oracles) -> None:
    """Near-uniform frames (pruning keeps most pairs) take the dense search, peaky ones the
    pruned; on both the path is the pruned search's, and scores the torch backend's best."""
    from ctckit.align import _viterbi

    rng = np.random.default_rng(seed)
    batch, time, vocab, length = 4, 300, 6, 60
    targets = rng.integers(1, vocab, size=(batch, length))
    flat = log_softmax(rng.normal(size=(batch, time, vocab)) * 0.3)
    spikes = np.zeros((batch, time), np.int64)
    for b in range(batch):
        spikes[b, 2 : 2 + 4 * length : 4] = targets[b]
    peaky = log_softmax(np.eye(vocab)[spikes] * 8.0 + rng.normal(size=(batch, time, vocab)))
    lengths = np.full(batch, time)
    tlens = np.full(batch, length)
    for lp, want_dense in ((flat, True), (peaky, False)):
        auto = kernel_align(lp, targets, lengths, tlens, 0, _viterbi.AUTO)
        pruned = kernel_align(lp, targets, lengths, tlens, 0, _viterbi.PRUNED)
        assert (auto[2] == want_dense).all()
        np.testing.assert_array_equal(auto[0], pruned[0])
        np.testing.assert_array_equal(auto[1], pruned[1])
        _, ref = forced_align(torch.from_numpy(lp), targets, backend="torch")
        np.testing.assert_allclose(auto[1].sum(1), ref.numpy().sum(1), rtol=0, atol=1e-9)
        for b in range(batch):
            assert oracles.collapse(tuple(auto[0][b]), 0) == tuple(targets[b])
    # mixed in one call: a peaky row after a flat one (which makes the next row's first
    # pass give way to the dense search sooner) still takes the pruned search
    mixed = np.stack([flat, peaky], axis=1).reshape(2 * batch, time, vocab)
    both = np.repeat(targets, 2, axis=0)
    auto = kernel_align(mixed, both, np.repeat(lengths, 2), np.repeat(tlens, 2), 0, _viterbi.AUTO)
    assert auto[2].tolist() == [True, False] * batch
    pruned = kernel_align(mixed, both, np.repeat(lengths, 2), np.repeat(tlens, 2), 0,
                          _viterbi.PRUNED)  # fmt: skip
    np.testing.assert_array_equal(auto[0], pruned[0])


@given(
    seed=st.integers(0, 2**32 - 1),
    time=st.integers(1, 3 * 16 + 2),
    fill=st.floats(0.0, 0.5),
    lead=st.integers(0, 20),
    tail=st.integers(0, 20),
)
def test_dense_backtrace_across_checkpoint_blocks_gives_the_torch_paths(
    seed, time, fill, lead, tail
) -> None:
    """The dense search keeps the rows of every CHECKPOINT-th frame and recomputes the
    frames between on the way back: utterances over up to three blocks, with blank
    stretches at either end (the path on the first pair or the final blank for a whole
    block) and log-probs in steps of 0.5 (ties), give the torch backend's paths."""
    from ctckit.align import _viterbi

    assert _viterbi.CHECKPOINT == 16  # the sizes above span up to three blocks
    rng = np.random.default_rng(seed)
    batch, vocab = 3, 4
    lp = rng.normal(size=(batch, time, vocab)) * 2.0
    lp[:, :lead, 0] += 6.0
    lp[:, max(0, time - tail) :, 0] += 6.0
    lp = np.round(log_softmax(lp) * 2) / 2
    targets, lengths = [], []
    for _ in range(batch):
        n = int(rng.integers(0, time + 1))
        tokens: list[int] = []
        for _ in range(int(fill * 2 * n) + 1):
            tok = int(rng.integers(1, vocab))
            if needed([*tokens, tok]) <= n:
                tokens.append(tok)
        targets.append(tokens)
        lengths.append(n)
    width = max(1, max(len(t) for t in targets))
    padded = np.ones((batch, width), np.int64)
    for b, tokens in enumerate(targets):
        padded[b, : len(tokens)] = tokens
    tlens = np.array([len(t) for t in targets])
    ref, ref_scores = forced_align(torch.from_numpy(lp), padded, lengths, tlens, backend="torch")
    labels, scores, dense = kernel_align(lp, padded, lengths, tlens, 0, _viterbi.DENSE)
    np.testing.assert_array_equal(labels, ref.numpy())
    np.testing.assert_array_equal(scores, ref_scores.numpy())
    assert dense[np.array(lengths) > 0].all()


@given(prob=problems(max_time=30), scale=st.sampled_from([1.0, 8.0]))
def test_float32_input_read_in_place_gives_the_torch_paths_in_every_search(prob, scale) -> None:
    """float32 input without the wildcard is searched on its own frames (no float64 copy;
    its check and bound in the input's dtype): log-probs in steps of 0.5 (exact in
    float32, many ties; scale 8 makes the first pass prune) give the torch backend's
    float64 paths in the dense, pruned and automatic searches."""
    from ctckit.align import _viterbi

    lp = np.round(prob["lp"] * scale * 2) / 2
    args = (prob["padded"], prob["lengths"], prob["target_lengths"], prob["blank"])
    ref, ref_scores = forced_align(torch.from_numpy(lp), *args, backend="torch")
    for mode in (_viterbi.DENSE, _viterbi.PRUNED, _viterbi.AUTO):
        labels, scores, _ = kernel_align(lp.astype(np.float32), *args, mode)
        assert scores.dtype == np.float32
        np.testing.assert_array_equal(labels, ref.numpy())
        np.testing.assert_array_equal(scores.astype(np.float64), ref_scores.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("wildcard", [None, 9])
def test_a_non_finite_entry_is_reported_where_it_is(dtype, wildcard) -> None:
    """The check finds NaN and +inf at the first and last valid frame and column, in both
    dtypes, on the input's own frames and on the wildcard's copy; -inf is allowed, and
    entries beyond an utterance's length are never read."""
    lp = log_softmax(np.random.default_rng(7).normal(size=(2, 6, 5))).astype(dtype)
    targets = [[1, 2], [3, 9 if wildcard else 4]]
    lengths = [6, 4]
    for b, t, v in ((0, 0, 0), (1, 3, 4), (1, 0, 2), (0, 5, 4)):
        for bad in (np.nan, np.inf):
            x = lp.copy()
            x[b, t, v] = bad
            with pytest.raises(InputValueError, match=rf"got {bad} at log_probs\[{b}, {t}, {v}\]"):
                forced_align(x, targets, lengths, wildcard=wildcard)
    x = lp.copy()
    x[1, 4:] = np.nan  # beyond utterance 1's 4 frames
    x[0, :, 4] = -np.inf
    labels, scores = forced_align(x, targets, lengths, wildcard=wildcard)
    ref, ref_scores = forced_align(
        torch.from_numpy(x.astype(np.float64)), targets, lengths, wildcard=wildcard,
        backend="torch",
    )  # fmt: skip
    np.testing.assert_array_equal(labels, ref.numpy())
    np.testing.assert_allclose(scores, ref_scores.numpy(), rtol=1e-6)


@given(
    seed=st.integers(0, 2**32 - 1),
    vocab=st.integers(1, 45),
    n_frames=st.integers(1, 40),
    dtype=st.sampled_from([np.float32, np.float64]),
    every=st.booleans(),
)
def test_the_pruning_bound_sums_the_later_frames_best_used_emission(
    seed, vocab, n_frames, dtype, every
) -> None:
    """The in-place bound (``_viterbi._bound_terms``): at frame t, the sum over the frames
    after t of each frame's best log-probability among the used columns (a numpy oracle),
    with ``-inf`` entries; and the first non-finite entry's flat position
    (``_viterbi._first_non_finite``). Every column used, or some (the two loops), the
    columns listed from ``_columns``'s mask by ``_used_columns``; and the share of frames
    whose term is below ``UNSURE_LOGP`` (what the guessed floor scales with)."""
    from ctckit.align import _viterbi

    rng = np.random.default_rng(seed)
    lp = rng.normal(size=(n_frames + 3, vocab)).astype(dtype) * 5
    lp[rng.random(lp.shape) < 0.2] = -np.inf
    used_mask = (rng.random(vocab) < 0.7) | every
    used_mask[rng.integers(vocab)] = True
    columns = np.empty(vocab, np.uint32)
    mask = np.where(used_mask, 0.0, -np.inf)
    n_used = _viterbi._used_columns(mask, vocab, columns)
    np.testing.assert_array_equal(columns[:n_used], np.flatnonzero(used_mask))
    upper = np.full(n_frames + 3, np.nan)
    bad = _viterbi._first_non_finite(lp, n_frames)
    scale, unsure = _viterbi._bound_terms(lp, n_frames, columns[:n_used], upper)
    best = np.where(used_mask, lp[:n_frames].astype(np.float64), -np.inf).max(1)
    assert unsure == np.mean(best < _viterbi.UNSURE_LOGP)
    want = [sum(best[t + 1 :]) for t in range(n_frames)]
    assert bad == -1
    np.testing.assert_allclose(upper[:n_frames], want, rtol=1e-12)
    assert scale == pytest.approx(np.abs(best).sum())  # inf where a frame has no used value
    t, v = int(rng.integers(n_frames)), int(rng.integers(vocab))
    lp[t, v] = np.nan if seed % 2 else np.inf
    lp[n_frames:] = np.nan  # beyond the frames: never read
    assert _viterbi._first_non_finite(lp, n_frames) == t * vocab + v


@pytest.mark.parametrize("seed", range(3))
def test_a_guessed_floor_pass_is_taken_only_when_it_proves_its_path(seed) -> None:
    """The single floor pass that a row tries with the gap of the row before
    (``_viterbi._guessed_pass``): with a clean row's gap on a noisy row its floor is too
    high and it claims no path; with the noisy row's own gap it finds the best path (the
    torch backend's score). In a batch clean, noisy, noisy (the guess fails, then holds)
    every mode gives the torch backend's paths and scores."""
    from ctckit.align import _viterbi
    from ctckit.align._common import Options

    rng = np.random.default_rng(seed)
    time, vocab, length = 200, 8, 40
    targets = rng.integers(1, vocab, size=(3, length))
    spikes = np.zeros((3, time), np.int64)
    for b in range(3):
        spikes[b, 2 : 2 + 4 * length : 4] = targets[b]
    noise = np.array([0.1, 1.5, 1.5])[:, None, None]
    lp = log_softmax(np.eye(vocab)[spikes] * 3.0 + rng.normal(size=(3, time, vocab)) * noise)
    lengths, tlens = np.full(3, time), np.full(3, length)
    ref, ref_scores = forced_align(torch.from_numpy(lp), targets, backend="torch")
    best = ref_scores.numpy().astype(np.float64).sum(1)

    width = length + 3
    cols = np.empty(width, np.uint32)
    jump, emit, used = np.empty(width), np.empty(width), np.empty(vocab + 1)
    upper, cut = np.empty(time), np.empty(time)
    buffers = (np.empty((2, 2, width)), np.empty((time, 3), np.int64),
               np.empty(time * (length + 1), np.int8), cols, jump, upper, cut)  # fmt: skip
    opts = Options(0, vocab, 0.0)

    def guess(b, gap):
        _viterbi._columns(targets.astype(np.int64), b, length, vocab, opts, cols, jump, emit, used)
        columns = np.empty(vocab, np.uint32)
        n_used = _viterbi._used_columns(used, vocab, columns)
        scale, _ = _viterbi._bound_terms(lp[b], time, columns[:n_used], upper)
        args = (lp[b], time, length, opts, *buffers)
        score, _, dense, found = _viterbi._guessed_pass(args, scale, np.inf, gap)
        assert not dense
        total = _viterbi._total_bound(lp[b], length, opts, cols, upper)
        return score, found, (total - best[b]) / time

    _, _, clean_gap = guess(0, 0.0)
    score, found, noisy_gap = guess(1, clean_gap)
    assert not found, (clean_gap, noisy_gap)
    score, found, _ = guess(1, noisy_gap)
    assert found
    assert score == pytest.approx(best[1], rel=1e-12)
    for mode in (_viterbi.AUTO, _viterbi.PRUNED, _viterbi.DENSE):
        labels, scores, _ = kernel_align(lp, targets, lengths, tlens, 0, mode)
        np.testing.assert_array_equal(labels, ref.numpy())
        np.testing.assert_array_equal(scores, ref_scores.numpy())


def test_a_call_uses_a_thread_per_min_cells_and_at_least_one() -> None:
    from ctckit.align import forced

    per = forced._MIN_CELLS_PER_THREAD
    assert forced._threads_for(0, 4) == 1
    assert forced._threads_for(2 * per - 1, 4) == 1
    assert forced._threads_for(2 * per, 4) == 2
    assert forced._threads_for(10 * per, 4) == 4
    assert forced._threads_for(10 * per, 1) == 1


def test_the_cells_threshold_picks_the_threads_and_both_give_one_result(monkeypatch) -> None:
    """A batch below the threshold runs on the calling thread alone, one above it on the
    pool too (spied on ``run_together``); the results are the same."""
    from ctckit.align import forced

    rng = np.random.default_rng(8)
    lp = log_softmax(rng.normal(size=(6, 120, 12)) * 3).astype(np.float32)
    targets = rng.integers(1, 12, size=(6, 30))
    lengths = rng.integers(90, 121, size=6)
    cells = int((lengths * 61).sum())
    used: list[int] = []

    def spy(work, threads):
        used.append(threads)
        return run_together(work, threads)

    from ctckit._threads import run_together

    monkeypatch.setattr(forced, "run_together", spy)
    monkeypatch.setattr(forced, "_MIN_CELLS_PER_THREAD", cells // 2 + 1)
    one = forced_align(lp, targets, lengths, num_threads=2)
    monkeypatch.setattr(forced, "_MIN_CELLS_PER_THREAD", cells // 2)
    two = forced_align(lp, targets, lengths, num_threads=2)
    assert used == [1, 2]
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])


def test_kernel_threads_sharing_a_counter_align_every_utterance_once() -> None:
    """Two threads running the kernel on one batch with one counter: each takes the next
    utterance when done with one; together they align every utterance once, and the
    paths are one thread's."""
    import threading

    from ctckit.align import _viterbi
    from ctckit.align._common import Options

    rng = np.random.default_rng(11)
    batch, time, vocab = 24, 160, 9
    lp = log_softmax(rng.normal(size=(batch, time, vocab)) * 2)
    lengths = np.full(batch, time, np.int64)
    lengths[1:] = 40  # the first utterance is four times the others' work
    tlens = np.full(batch, 12, np.int64)
    cols = rng.integers(1, vocab, size=(batch, 12)).astype(np.int64)
    order = np.arange(batch, dtype=np.int64)

    def outputs():
        return (np.full((batch, time), -7, np.int64), np.zeros((batch, time)),
                np.full(batch, -1, np.int64), np.zeros((batch, 2), np.int64),
                np.zeros(batch, np.bool_))  # fmt: skip

    opts = Options(0, vocab, 0.0)
    alone = outputs()
    _viterbi.viterbi_many(lp, lengths, cols, tlens, order, opts, *alone)
    shared, taken = outputs(), np.zeros(1, np.int64)

    def run() -> None:
        _viterbi.viterbi_many(lp, lengths, cols, tlens, order, opts, *shared, _viterbi.AUTO, taken)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert taken[0] == batch + 2  # every utterance taken once, and one failed take each
    assert (shared[2] == 0).all()  # every status written (OK)
    for got, want in zip(shared, alone):
        np.testing.assert_array_equal(got, want)


def test_calls_from_two_threads_at_once_each_get_their_own_result(monkeypatch) -> None:
    """Two Python threads aligning different batches (shapes, dtypes, one with the
    wildcard) at once, each over two kernel threads, get what one call at a time gets."""
    import threading

    from ctckit.align import forced

    monkeypatch.setattr(forced, "_MIN_CELLS_PER_THREAD", 1)
    rng = np.random.default_rng(9)
    jobs = []
    for batch, time, vocab, dtype, wildcard in ((5, 70, 9, np.float32, None),
                                                 (4, 110, 6, np.float64, 6)):  # fmt: skip
        lp = log_softmax(rng.normal(size=(batch, time, vocab)) * 3).astype(dtype)
        targets = rng.integers(1, vocab + (wildcard is not None), size=(batch, 20))
        jobs.append((lp, targets, wildcard))
    want = [forced_align(lp, tg, wildcard=w, num_threads=1) for lp, tg, w in jobs]
    got: list[list] = [[], []]

    def run(i: int) -> None:
        lp, tg, w = jobs[i]
        for _ in range(20):
            got[i].append(forced_align(lp, tg, wildcard=w, num_threads=2))

    workers = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    for i in range(2):
        assert len(got[i]) == 20
        for labels, scores in got[i]:
            np.testing.assert_array_equal(labels, want[i][0])
            np.testing.assert_array_equal(scores, want[i][1])


@st.composite
def batches_to_check(draw: st.DrawFn) -> dict:
    """Targets and lengths as arrays or tensors: valid ids and lengths, short frames now
    and then, and sometimes one id or length out of its range."""
    vocab = draw(st.integers(2, 5))
    batch = draw(st.integers(1, 4))
    width = draw(st.integers(0, 5))
    time = draw(st.integers(0, 8))
    blank = draw(st.integers(0, vocab - 1))
    wildcard = draw(st.sampled_from([None, -1, vocab, vocab + 1]))
    good = [v for v in range(vocab) if v != blank] + ([] if wildcard is None else [wildcard])
    size = batch * width
    targets = np.array(draw(st.lists(st.sampled_from(good), min_size=size, max_size=size)),
                       np.int64).reshape(batch, width)  # fmt: skip
    lengths = np.array(draw(st.lists(st.integers(0, time), min_size=batch, max_size=batch)))
    target_lengths = np.array(draw(st.lists(st.integers(0, width), min_size=batch,
                                            max_size=batch)))  # fmt: skip
    flaw = draw(st.sampled_from(["none", "none", "id", "length", "target_length"]))
    row = draw(st.integers(0, batch - 1))
    if flaw == "id" and width:
        targets[row, draw(st.integers(0, width - 1))] = draw(st.sampled_from(
            [-2, -1, blank, vocab, vocab + 1]))  # fmt: skip
    elif flaw == "length":
        lengths[row] = draw(st.sampled_from([-1, time + 1]))
    elif flaw == "target_length":
        target_lengths[row] = draw(st.sampled_from([-1, width + 1]))
    return {
        "targets": targets,
        "lengths": lengths.astype(np.int64),
        "target_lengths": target_lengths.astype(np.int64),
        "time": time,
        "vocab": vocab,
        "blank": blank,
        "wildcard": wildcard,
        "tensor": draw(st.booleans()),
        "dtype": draw(st.sampled_from([np.int64, np.int32])),
    }


def naive_check(b: dict):
    """Columns, or None where a length, an id or the fit fails (a plain loop)."""
    cols = np.zeros_like(b["targets"])
    for i, (row, n, m) in enumerate(zip(b["targets"], b["lengths"], b["target_lengths"])):
        if not (0 <= n <= b["time"] and 0 <= m <= len(row)):
            return None
        for k, v in enumerate(row[:m]):
            if b["wildcard"] is not None and v == b["wildcard"]:
                cols[i, k] = b["vocab"]
            elif 0 <= v < b["vocab"] and v != b["blank"]:
                cols[i, k] = v
            else:
                return None
        if m + sum(cols[i, k] == cols[i, k - 1] for k in range(1, m)) > n:
            return None
    return cols


@settings(max_examples=300)  # cheap: a few ms each
@given(b=batches_to_check())
def test_the_one_pass_checks_pass_what_the_checks_pass_and_give_their_columns(b) -> None:
    """The Numba pass over arrays (``checked_batch``) passes exactly the batches that a
    plain loop and the step-by-step checks pass, with the same columns; the rest go to the
    step-by-step checks (``None``)."""
    from ctckit.align import _input

    conv = (lambda a: torch.from_numpy(a.astype(b["dtype"]))) if b["tensor"] else (
        lambda a: a.astype(b["dtype"]))  # fmt: skip
    args = (conv(b["lengths"]), conv(b["targets"]), conv(b["target_lengths"]),
            len(b["lengths"]), b["time"], True, b["vocab"], b["blank"], b["wildcard"])  # fmt: skip
    got = _input.checked_batch(*args)
    want = naive_check(b)
    try:
        lengths = _input.check_lengths(args[0], "input_lengths", args[3], b["time"], True)
        cols, lens = _input.check_targets(args[1], args[2], args[3], True, b["vocab"],
                                          b["blank"], b["wildcard"])  # fmt: skip
        _input.check_fit(cols, lens, lengths, True)
        stepwise = cols
    except InputValueError:
        stepwise = None
    assert (got is None) == (want is None) == (stepwise is None)
    if got is not None:
        assert np.array_equal(got[1], want)
        assert np.array_equal(got[1], stepwise)
        assert np.array_equal(got[0], b["lengths"])
        assert np.array_equal(got[2], b["target_lengths"])


def test_array_and_tensor_arguments_raise_the_errors_lists_do() -> None:
    lp = log_softmax(np.random.default_rng(6).normal(size=(2, 5, 4)))
    cases = [
        (([[1, 2], [1, 1, 2, 3]], [5, 4]), r"utterance 1: its 4 target token\(s\) with 1 repeat"),
        (([[1, 0], [1, 1]], None), r"targets\[0, 1\]=0, which is the blank"),
        (([[1, 2], [4, 1]], None), r"targets\[1, 0\]=4, which is outside \[0, V=4\)"),
        (([[1], [1]], [5, 6]), r"input_lengths must lie in \[0, 5\], got input_lengths\[1\]=6"),
        (([[1], [1]], [5, -1]), r"input_lengths must lie in \[0, 5\], got input_lengths\[1\]=-1"),
    ]
    for (targets, lengths), message in cases:
        for conv in (np.array, torch.tensor):
            with pytest.raises(InputValueError, match=message):
                forced_align(lp, conv(targets) if len({len(t) for t in targets}) == 1 else targets,
                             None if lengths is None else conv(lengths))  # fmt: skip
    for conv in (np.array, torch.tensor):
        with pytest.raises(InputValueError, match=r"target_lengths must lie in \[0, 2\]"):
            forced_align(lp, conv([[1, 2], [3, 1]]), target_lengths=conv([2, 3]))
        # Row 0 too long while the ids after its row (row 1's) are valid and fit its frames:
        # only the width check can refuse it.
        with pytest.raises(
            InputValueError, match=r"target_lengths must lie in \[0, 2\], got target_lengths\[0\]=3"
        ):
            forced_align(lp, conv([[1, 2], [3, 1]]), target_lengths=conv([3, 2]))
        with pytest.raises(InputValueError, match=r"targets\[1\]=2, which is the blank"):
            forced_align(lp[0], conv([1, 2]), blank=2)
        with pytest.raises(InputValueError, match=r"the utterance: its 2 target token\(s\) with 1"):
            forced_align(lp[0, :2], conv([1, 1]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_best_path_the_beam_pruned_is_found_by_the_bounded_pass(dtype, oracles) -> None:
    """The best path (1 1 1 1 2 2) lies 20 nats below the best pair at frame 1, beyond the
    first pass's beam, which finds 1 2 2 2 2 2 (-60); the bound of what it pruned (-20)
    says that path may not be the best, so the bounded pass runs and finds it (-20)."""
    lp = np.full((6, 3), -30.0)
    lp[0, 1:] = 0.0
    lp[1, 1], lp[1, 2] = -20.0, 0.0
    lp[2:4, 1] = 0.0
    lp[4:, 2] = 0.0
    labels, scores = forced_align(lp.astype(dtype), np.array([1, 2]), num_threads=1)
    assert labels.tolist() == [1, 1, 1, 1, 2, 2]
    assert float(scores.sum()) == -20.0
    assert oracles.brute_force_best(lp, (1, 2), 0).paths == [(1, 1, 1, 1, 2, 2)]


@pytest.mark.parametrize("seed", range(2))
def test_the_early_check_stops_a_flat_rows_beam_pass_at_its_frame_only(seed) -> None:
    """The first (beam) pass of a row after a dense one checks at frame ``EARLY_FRAME``
    whether its beam kept over half the reachable pairs: a flat row's keeps all and
    stops there for the dense search (the frames after it are not computed); without
    the check it runs on to the share rule (frame 43-44 here); a peaky row's beam keeps
    a few pairs a frame and runs to the end."""
    from ctckit.align import _viterbi
    from ctckit.align._common import Options

    rng = np.random.default_rng(seed)
    time, vocab, length = 300, 6, 60
    targets = rng.integers(1, vocab, size=length)
    flat = log_softmax(rng.normal(size=(time, vocab)) * 0.3)
    spikes = np.zeros(time, np.int64)
    spikes[2 : 2 + 4 * length : 4] = targets
    peaky = log_softmax(np.eye(vocab)[spikes] * 8.0 + rng.normal(size=(time, vocab)))
    width = length + 3
    cols = np.empty(width, np.uint32)
    jump, emit, used = np.empty(width), np.empty(width), np.empty(vocab + 1)
    opts = Options(0, vocab, 0.0)
    _viterbi._columns(targets[None].astype(np.int64), 0, length, vocab, opts, cols, jump, emit,
                      used)  # fmt: skip

    def first_pass(lp, early):
        regions = np.full((time, 3), -1, np.int64)
        args = (lp, time, length, opts, np.empty((2, 2, width)), regions,
                np.empty(time * (length + 1), np.int8), cols, jump, np.empty(time),
                np.empty(time))  # fmt: skip
        score, _, _, dense = _viterbi._forward(args, -np.inf, _viterbi.BEAM,
                                               _viterbi.DENSE_SHARE, early)  # fmt: skip
        computed = int((regions[:, 1] >= 0).sum())  # frames computed
        return score, dense, computed

    assert first_pass(flat, _viterbi.EARLY_FRAME)[1:] == (True, _viterbi.EARLY_FRAME)
    _, dense, computed = first_pass(flat, 0)
    assert dense
    assert computed > _viterbi.EARLY_FRAME + 10
    score, dense, computed = first_pass(peaky, _viterbi.EARLY_FRAME)
    assert not dense
    assert computed == time
    assert score > -np.inf


@pytest.mark.parametrize("penalty", [0.0, -1.0])
def test_the_pruned_bound_covers_the_wildcard_over_a_column_no_token_uses(penalty) -> None:
    """A wildcard row's bound (``_viterbi._frames``) takes each frame's best over the
    columns a path can emit, the wildcard's among them (a numpy oracle): over a stretch
    where a column no token uses is all but certain, the wildcard scores far above every
    token. Two equal rows (the second takes the guessed floor): the pruned passes find
    the torch trellis's paths without falling back to the dense pass."""
    from ctckit.align import _viterbi
    from ctckit.align._common import Options

    rng = np.random.default_rng(0)
    time, vocab, star = 200, 8, 8
    tokens = [1, 2, 1, 2, star, 1, 2]
    logits = rng.normal(size=(time, vocab)) * 0.3
    logits[:, 0] += 4.0  # blank frames
    for frame, tok in zip((10, 20, 30, 40, 150, 170), (1, 2, 1, 2, 1, 2)):
        logits[frame, tok] += 8.0
    logits[60:130, 7] += 10.0  # column 7: no token's
    lp = np.repeat(log_softmax(logits)[None], 2, axis=0)
    targets = np.array([tokens, tokens])
    ref, ref_scores = forced_align(torch.from_numpy(lp), targets, wildcard=star,
                                   wildcard_penalty=penalty, backend="torch")  # fmt: skip
    assert (ref.numpy()[:, 60:130] == star).all()
    used = np.full(vocab + 1, -np.inf)
    used[[0, 1, 2, star]] = 0.0
    columns = np.empty(vocab + 1, np.uint32)
    emitted = columns[: _viterbi._used_columns(used, vocab + 1, columns)]
    frames, upper = np.empty((time, vocab + 1)), np.empty(time)
    bad, _, _ = _viterbi._frames(lp, 0, time, Options(0, star, penalty), emitted, frames, upper)
    best = np.maximum(lp[0][:, [0, 1, 2]].max(1), lp[0].max(1) + penalty)
    assert bad == -1
    np.testing.assert_allclose(upper, [best[t + 1 :].sum() for t in range(time)], rtol=1e-12)
    lengths, tlens = np.full(2, time), np.full(2, len(tokens))
    labels = np.empty((2, time), np.int64)
    scores = np.empty((2, time), lp.dtype)
    status = np.zeros(2, np.int64)
    searched = np.zeros(2, np.bool_)
    _viterbi.viterbi_many(
        lp, lengths, targets.astype(np.int64), tlens, np.arange(2, dtype=np.int64),
        Options(0, star, penalty), labels, scores, status, np.zeros((2, 2), np.int64),
        searched, _viterbi.PRUNED,
    )  # fmt: skip
    assert (status == 0).all()
    assert not searched.any()  # the pruned passes found the path
    np.testing.assert_array_equal(labels, ref.numpy())
    np.testing.assert_allclose(scores, ref_scores.numpy(), rtol=0, atol=1e-12)
