"""BucketBatchSampler: coverage across ranks, determinism, resumption, budgets, padding."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
from hypothesis import given
from hypothesis import strategies as st

from ctckit.data import BucketBatchSampler
from ctckit.errors import InputTypeError, InputValueError, ShapeError

lengths_st = st.lists(st.integers(1, 60), min_size=1, max_size=80)


def realistic_lengths(n: int = 2000, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(100, 1501, size=n)


def rank_batches(lengths, replicas: int, epoch: int = 0, **kw) -> list[list[list[int]]]:
    out = []
    for rank in range(replicas):
        s = BucketBatchSampler(lengths, num_replicas=replicas, rank=rank, **kw)
        s.set_epoch(epoch)
        out.append(list(s))
    return out


@given(
    lengths_st,
    st.integers(1, 4),
    st.integers(0, 3),
    st.sampled_from([{"batch_size": 3}, {"max_frames": 100}, {"max_frames": 150, "batch_size": 4}]),
    st.booleans(),
)
def test_every_index_once_per_epoch_across_ranks(
    lengths: list[int], replicas: int, epoch: int, limits: dict[str, int], shuffle: bool
) -> None:
    per_rank = rank_batches(lengths, replicas, epoch, shuffle=shuffle, **limits)
    counts = {len(b) for b in per_rank}
    assert len(counts) == 1  # every rank has the same number of batches
    distinct = {tuple(b) for rank in per_rank for b in rank}
    flat = [i for b in distinct for i in b]
    # the distinct batches partition the dataset: every index exactly once
    assert sorted(flat) == list(range(len(lengths)))
    n_batches = len(distinct)
    assert counts.pop() == math.ceil(n_batches / replicas)
    # repeats only pad the last round, so no batch occurs more often than needed
    occurrences = Counter(tuple(b) for rank in per_rank for b in rank)
    assert sum(occurrences.values()) - n_batches < replicas or n_batches < replicas


@given(lengths_st, st.integers(1, 4), st.integers(0, 3))
def test_drop_last_uses_each_index_at_most_once(
    lengths: list[int], replicas: int, epoch: int
) -> None:
    per_rank = rank_batches(lengths, replicas, epoch, batch_size=3, drop_last=True)
    flat = [i for rank in per_rank for b in rank for i in b]
    assert len(flat) == len(set(flat))
    n_batches = len(list(BucketBatchSampler(lengths, batch_size=3)))
    assert all(len(r) == n_batches // replicas for r in per_rank)


@given(lengths_st, st.integers(1, 200), st.integers(1, 10))
def test_limits_are_respected(lengths: list[int], max_frames: int, batch_size: int) -> None:
    max_frames = max(max_frames, max(lengths))
    s = BucketBatchSampler(lengths, max_frames=max_frames, batch_size=batch_size, seed=1)
    for b in s:
        assert 1 <= len(b) <= batch_size
        assert len(b) * max(lengths[i] for i in b) <= max_frames


def test_frame_budget_batches_are_large_under_the_budget() -> None:
    lengths = realistic_lengths()
    s = BucketBatchSampler(lengths, max_frames=20_000, seed=0)
    batches = list(s)
    costs = [len(b) * int(lengths[b].max()) for b in batches]
    assert max(costs) <= 20_000
    # greedy packing: every batch but the ones cut by the budget is close to full
    assert np.median(costs) >= 0.9 * 20_000


def test_determinism_per_seed_and_epoch() -> None:
    lengths = realistic_lengths(300)
    a = BucketBatchSampler(lengths, max_frames=8000, seed=5)
    b = BucketBatchSampler(lengths, max_frames=8000, seed=5)
    assert list(a) == list(b)
    assert list(a) == list(a)  # same epoch twice: same batches
    a.set_epoch(1)
    b.set_epoch(1)
    assert list(a) == list(b)
    epoch0 = list(BucketBatchSampler(lengths, max_frames=8000, seed=5))
    assert list(a) != epoch0
    assert list(BucketBatchSampler(lengths, max_frames=8000, seed=6)) != epoch0


def test_jitter_changes_batch_composition_between_epochs() -> None:
    lengths = realistic_lengths(300)
    for noise, differ in ((0.0, False), (0.05, True)):
        s = BucketBatchSampler(lengths, batch_size=10, length_noise=noise)
        first = {tuple(sorted(b)) for b in s}
        s.set_epoch(1)
        second = {tuple(sorted(b)) for b in s}
        assert (first != second) is differ


def test_no_shuffle_gives_sorted_batches_every_epoch() -> None:
    lengths = [7, 3, 9, 1, 5, 5]
    s = BucketBatchSampler(lengths, batch_size=2, shuffle=False)
    first = list(s)
    assert first == [[3, 1], [4, 5], [0, 2]]
    s.set_epoch(3)
    assert list(s) == first


@pytest.mark.parametrize("replicas", [1, 3])
def test_resume_mid_epoch_equals_uninterrupted_remainder(replicas: int) -> None:
    lengths = realistic_lengths(400, seed=2)
    kw = {"max_frames": 6000, "seed": 11, "num_replicas": replicas}
    for rank in range(replicas):
        reference = BucketBatchSampler(lengths, rank=rank, **kw)
        reference.set_epoch(2)
        epoch2 = list(reference)
        reference.set_epoch(3)
        epoch3 = list(reference)
        for consumed in (0, 1, len(epoch2) // 2, len(epoch2)):
            live = BucketBatchSampler(lengths, rank=rank, **kw)
            live.set_epoch(2)
            it = iter(live)
            for _ in range(consumed):
                next(it)
            assert live.batches_consumed == consumed  # the sampler counts what it handed out
            state = live.state_dict()
            resumed = BucketBatchSampler(lengths, rank=rank, **kw)
            resumed.load_state_dict(state)
            assert resumed.epoch == 2
            assert len(resumed) == len(epoch2) - consumed
            resumed.set_epoch(2)  # the training loop's usual call keeps the resume point
            iter(resumed)  # a DataLoader with workers calls iter() twice: the point holds
            remainder = iter(resumed)
            assert list(remainder) == epoch2[consumed:]
            assert len(resumed) == len(epoch2)  # drawing the batches used the point up
            assert list(resumed) == epoch2  # iterating again gives the full epoch
            resumed.set_epoch(3)
            assert list(resumed) == epoch3


def test_state_is_plain_and_survives_torch_save(tmp_path: Path) -> None:
    s = BucketBatchSampler([4, 2, 3, 1, 5], batch_size=2, seed=9)
    s.set_epoch(7)
    it = iter(s)
    next(it), next(it)
    path = tmp_path / "state.pt"
    torch.save(s.state_dict(), path)
    state = torch.load(path, weights_only=True)
    t = BucketBatchSampler([4, 2, 3, 1, 5], batch_size=2, seed=9)
    t.load_state_dict(state)
    assert list(t) == list(s)[2:]


def test_state_from_other_settings_is_refused() -> None:
    state = BucketBatchSampler([4, 2, 3], batch_size=2, seed=1).state_dict()
    with pytest.raises(InputValueError, match="seed: saved 1, now 2"):
        BucketBatchSampler([4, 2, 3], batch_size=2, seed=2).load_state_dict(state)
    with pytest.raises(InputValueError, match="num_samples"):
        BucketBatchSampler([4, 2, 3, 3], batch_size=2, seed=1).load_state_dict(state)
    with pytest.raises(InputValueError, match="version"):
        BucketBatchSampler([4, 2, 3], batch_size=2).load_state_dict({})
    too_far = {**state, "batches_consumed": 3}
    with pytest.raises(InputValueError, match=r"batches_consumed=3 outside \[0, 2\]"):
        BucketBatchSampler([4, 2, 3], batch_size=2, seed=1).load_state_dict(too_far)
    with pytest.raises(InputTypeError, match="the state's epoch must be an int"):
        BucketBatchSampler([4, 2, 3], batch_size=2, seed=1).load_state_dict({**state, "epoch": "1"})


def test_padding_fraction_bucketed_vs_random_on_realistic_lengths() -> None:
    lengths = realistic_lengths(2000, seed=0)
    s = BucketBatchSampler(lengths, max_frames=20_000, seed=0)
    bucketed = s.padding_fraction()
    assert bucketed <= 0.05
    # random batches of the same sizes
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(lengths)).tolist()
    sizes = [len(b) for b in s]
    random_batches, start = [], 0
    for size in sizes:
        random_batches.append(perm[start : start + size])
        start += size
    random = BucketBatchSampler.padding_fraction_of(random_batches, lengths)
    assert random >= 0.30
    assert s.padding_fraction_of(list(s), lengths) == pytest.approx(bucketed)


@given(st.lists(st.lists(st.integers(0, 9), min_size=1, max_size=4), max_size=5))
def test_padding_fraction_of_matches_brute_force(batches: list[list[int]]) -> None:
    lengths = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3]
    total = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    used = sum(lengths[i] for b in batches for i in b)
    expected = (total - used) / total if total else 0.0
    assert BucketBatchSampler.padding_fraction_of(batches, lengths) == pytest.approx(expected)


def test_lengths_from_tensor_and_dataloader_integration() -> None:
    lengths = torch.tensor([3, 8, 5, 2, 7], dtype=torch.int64)
    data = [torch.full((int(t),), i) for i, t in enumerate(lengths)]
    s = BucketBatchSampler(lengths, max_frames=16)
    loader = torch.utils.data.DataLoader(data, batch_sampler=s, collate_fn=list)
    assert len(loader) == len(s)
    seen = sorted(int(x[0]) for batch in loader for x in batch)
    assert seen == [0, 1, 2, 3, 4]


def test_defaults_follow_an_initialised_process_group(tmp_path: Path) -> None:
    assert BucketBatchSampler([1, 2], batch_size=1).num_replicas == 1
    dist.init_process_group(
        "gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1
    )
    try:
        s = BucketBatchSampler([1, 2], batch_size=1)
        assert (s.num_replicas, s.rank) == (1, 0)
    finally:
        dist.destroy_process_group()


def test_bad_arguments() -> None:
    with pytest.raises(InputValueError, match="give max_frames, batch_size or both"):
        BucketBatchSampler([1, 2])
    with pytest.raises(InputValueError, match=r"utterance 1 has 50 frames, more than max_frames"):
        BucketBatchSampler([10, 50], max_frames=40)
    with pytest.raises(InputValueError, match="batch_size must be >= 1, got 0"):
        BucketBatchSampler([1], batch_size=0)
    with pytest.raises(InputValueError, match="rank"):
        BucketBatchSampler([1], batch_size=1, num_replicas=2, rank=2)
    with pytest.raises(InputValueError, match=">= 0"):
        BucketBatchSampler([1, -1], batch_size=1)
    with pytest.raises(ShapeError):
        BucketBatchSampler([[1, 2]], batch_size=1)
    with pytest.raises(InputValueError, match="epoch"):
        BucketBatchSampler([1], batch_size=1).set_epoch(-1)
    with pytest.raises(InputTypeError, match="max_frames must be an int, got str '100'"):
        BucketBatchSampler([1], max_frames="100")  # type: ignore[arg-type]
    with pytest.raises(InputTypeError, match="seed must be an int"):
        BucketBatchSampler([1], batch_size=1, seed=1.5)  # type: ignore[arg-type]
    with pytest.raises(InputValueError, match=r"length_noise must be a finite float >= 0.0"):
        BucketBatchSampler([1], batch_size=1, length_noise=float("nan"))


def test_the_count_follows_the_latest_iterator_and_resets_with_the_epoch() -> None:
    s = BucketBatchSampler([3, 1, 2, 5, 4, 6], batch_size=1, shuffle=False)
    first = iter(s)
    next(first), next(first), next(first)
    assert s.batches_consumed == 3
    second = iter(s)  # a new epoch pass (DataLoader calls iter() once per epoch)
    assert s.batches_consumed == 0
    next(first)  # the abandoned iterator no longer counts
    next(second)
    assert s.state_dict()["batches_consumed"] == 1
    s.set_epoch(1)
    assert s.state_dict()["batches_consumed"] == 0
    list(s)
    assert s.state_dict()["batches_consumed"] == 6


def test_a_dataloader_counts_exactly_without_workers() -> None:
    lengths = realistic_lengths(60, seed=4)
    s = BucketBatchSampler(lengths, max_frames=3000, seed=2)
    loader = torch.utils.data.DataLoader(list(range(60)), batch_sampler=s, collate_fn=list)
    for trained, _ in enumerate(loader, start=1):
        assert s.state_dict()["batches_consumed"] == trained


def test_a_dataloader_with_workers_resumes_where_the_state_says() -> None:
    """Its iterator calls iter(batch_sampler) twice before the first batch (torch's _reset)."""
    lengths = realistic_lengths(60, seed=5)
    full = BucketBatchSampler(lengths, max_frames=3000, seed=3)
    epoch = list(full)
    resumed = BucketBatchSampler(lengths, max_frames=3000, seed=3)
    resumed.load_state_dict({**full.state_dict(), "batches_consumed": 2})
    loader = torch.utils.data.DataLoader(
        list(range(60)), batch_sampler=resumed, collate_fn=list, num_workers=2
    )
    assert list(loader) == epoch[2:]
    assert list(loader) == epoch  # the next pass is a whole epoch
