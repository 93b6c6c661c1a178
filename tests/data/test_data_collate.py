"""collate_ctc and CTCBatch: padding, ids, dtypes, DataLoader integration."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.utils.data import DataLoader

from ctckit.data import CTCBatch, PhonemeDataset, Utterance, collate_ctc
from ctckit.errors import InputTypeError, InputValueError, ShapeError


def utt(frames: int, targets: list[int] | None, name: str, dim: int = 3) -> Utterance:
    feats = torch.arange(frames * dim, dtype=torch.float32).reshape(frames, dim) + 1
    return Utterance(feats, None if targets is None else torch.tensor(targets), name)


@given(
    st.lists(
        st.tuples(st.integers(1, 12), st.lists(st.integers(1, 40), min_size=1, max_size=6)),
        min_size=1,
        max_size=6,
    ),
    st.booleans(),
)
def test_padding_preserves_every_utterance(spec: list[tuple[int, list[int]]], sort: bool) -> None:
    items = [utt(t, y, f"u{i}") for i, (t, y) in enumerate(spec)]
    batch = collate_ctc(items, sort_by_length=sort)
    order = sorted(range(len(items)), key=lambda i: -spec[i][0]) if sort else range(len(items))
    expected = [items[i] for i in order]
    assert batch.ids == tuple(u.id for u in expected)
    assert len(batch) == len(items)
    assert batch.features.shape == (len(items), max(t for t, _ in spec), 3)
    assert batch.targets.shape == (len(items), max(len(y) for _, y in spec))
    for b, u in enumerate(expected):
        t, n = u.features.shape[0], u.targets.shape[0]
        assert batch.feature_lengths[b] == t
        assert batch.target_lengths[b] == n
        assert torch.equal(batch.features[b, :t], u.features)
        assert not batch.features[b, t:].any()
        assert torch.equal(batch.targets[b, :n], u.targets)
        assert not batch.targets[b, n:].any()
    if sort:
        assert batch.feature_lengths.tolist() == sorted(batch.feature_lengths.tolist())[::-1]


def test_dtypes_and_unlabeled_batches() -> None:
    items = [
        Utterance(torch.ones(2, 4, dtype=torch.float64), torch.tensor([1], dtype=torch.int32), "a")
    ]
    b = collate_ctc(items)
    assert b.features.dtype == torch.float32
    assert b.targets.dtype == b.target_lengths.dtype == b.feature_lengths.dtype == torch.int64
    u = collate_ctc([utt(3, None, "x"), utt(5, None, "y")])
    assert u.targets.shape == (2, 0)
    assert u.targets.dtype == torch.int64
    assert u.target_lengths.tolist() == [0, 0]
    assert u.feature_lengths.tolist() == [3, 5]


def test_batch_is_frozen_and_moves() -> None:
    b = collate_ctc([utt(3, [1, 2], "a")])
    with pytest.raises(dataclasses.FrozenInstanceError):
        b.ids = ("z",)  # type: ignore[misc]
    moved = b.to(torch.device("cpu"), non_blocking=True)
    assert isinstance(moved, CTCBatch)
    assert torch.equal(moved.features, b.features)
    assert moved.ids == b.ids


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without CUDA")
def test_moving_to_cuda_without_cuda_names_the_problem() -> None:
    b = collate_ctc([utt(3, [1, 2], "a")])
    with pytest.raises(InputValueError, match=r"device 'cuda' is not available: .*use 'cpu'"):
        b.to("cuda")
    with pytest.raises(InputValueError, match="device 'cuda:1' is not available"):
        b.to(torch.device("cuda", 1))


def test_moving_to_an_unknown_device_names_the_problem() -> None:
    b = collate_ctc([utt(3, [1, 2], "a")])
    with pytest.raises(InputValueError, match="must name a torch device such as 'cpu'"):
        b.to("gpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="pinning needs an accelerator")
def test_pin_memory_and_cuda_transfer() -> None:
    b = collate_ctc([utt(3, [1, 2], "a"), utt(2, [3], "b")]).pin_memory()
    assert all(t.is_pinned() for t in (b.features, b.feature_lengths, b.targets, b.target_lengths))
    g = b.to("cuda", non_blocking=True)
    assert g.features.is_cuda
    assert g.target_lengths.is_cuda
    assert g.ids == ("a", "b")


def test_bad_input() -> None:
    with pytest.raises(InputValueError, match="empty"):
        collate_ctc([])
    with pytest.raises(InputValueError, match="mix labelled and unlabeled"):
        collate_ctc([utt(3, [1], "a"), utt(3, None, "b")])
    with pytest.raises(ShapeError, match=r"item 1 \(b\) has 4 features per frame, item 0"):
        collate_ctc([utt(3, [1], "a"), utt(3, [1], "b", dim=4)])
    with pytest.raises(ShapeError, match=r"expected features \(T, F\)"):
        collate_ctc([Utterance(torch.ones(3), torch.tensor([1]), "a")])
    with pytest.raises(ShapeError, match=r"expected targets \(U,\)"):
        collate_ctc([Utterance(torch.ones(3, 2), torch.ones(2, 2, dtype=torch.long), "a")])
    with pytest.raises(InputTypeError, match="must be an Utterance"):
        collate_ctc([(torch.ones(3, 2), torch.tensor([1]))])  # type: ignore[list-item]


def test_dataloader_with_dataset_and_workers(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for sub in ("mfcc", "transcript"):
        (tmp_path / "train" / sub).mkdir(parents=True)
    for i in range(6):
        np.save(tmp_path / f"train/mfcc/{i}.npy", rng.normal(size=(4 + i, 13)).astype(np.float32))
        np.save(tmp_path / f"train/transcript/{i}.npy", np.array(["<sos>", "AA", "B", "<eos>"]))
    ds = PhonemeDataset(tmp_path, "train")
    loader = DataLoader(ds, batch_size=4, collate_fn=collate_ctc, num_workers=1)
    batches = list(loader)
    assert [len(b) for b in batches] == [4, 2]
    assert batches[0].ids == ("0", "1", "2", "3")
    assert batches[1].feature_lengths.tolist() == [8, 9]
    assert batches[1].targets.tolist() == [[2, 8], [2, 8]]
