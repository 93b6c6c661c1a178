"""TimeFrequencyMask: masks stay inside valid frames, widths obey the caps, seeding, eval."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from ctckit.data import TimeFrequencyMask
from ctckit.errors import InputTypeError, InputValueError, ShapeError


def runs(flags: torch.Tensor) -> list[int]:
    """Lengths of the runs of True in a 1-D bool tensor."""
    out, n = [], 0
    for f in flags.tolist():
        if f:
            n += 1
        elif n:
            out.append(n)
            n = 0
    if n:
        out.append(n)
    return out


@given(
    st.lists(st.integers(0, 40), min_size=1, max_size=5),
    st.integers(0, 3),
    st.integers(0, 15),
    st.floats(0.0, 1.0),
    st.integers(0, 3),
    st.integers(0, 6),
    st.integers(0, 2**31),
)
def test_masks_lie_within_valid_frames_and_respect_caps(
    lengths: list[int],
    time_masks: int,
    max_time_width: int,
    fraction: float,
    freq_masks: int,
    max_freq_width: int,
    seed: int,
) -> None:
    t, f = max(lengths) + 3, 5
    x = torch.rand(len(lengths), t, f) + 1.0  # strictly positive: 0 marks a masked entry
    aug = TimeFrequencyMask(
        time_masks=time_masks,
        max_time_width=max_time_width,
        max_time_fraction=fraction,
        freq_masks=freq_masks,
        max_freq_width=max_freq_width,
        seed=seed,
    )
    y, out_lengths = aug(x, torch.tensor(lengths))
    assert out_lengths.tolist() == lengths
    masked = y == 0
    assert torch.equal(y[~masked], x[~masked])  # nothing else changes
    for b, n in enumerate(lengths):
        assert not masked[b, n:].any()  # padded frames untouched
        full_rows = masked[b, :n].all(dim=1)  # time-masked frames
        full_cols = masked[b, :n].all(dim=0) if n else torch.zeros(f, dtype=torch.bool)
        cap = min(max_time_width, int(fraction * n))
        if not full_cols.all():
            # each time-masked run is a union of at most time_masks spans of width <= cap
            assert sum(runs(full_rows)) <= time_masks * cap
            assert all(r <= time_masks * cap for r in runs(full_rows))
        if not full_rows.all() and n:
            assert sum(runs(full_cols)) <= freq_masks * min(max_freq_width, f)
        # every masked entry is in a masked frame or a masked band
        partial = masked[b, :n] & ~full_rows[:, None] & ~full_cols[None, :]
        assert not partial.any()


def test_masks_are_actually_drawn() -> None:
    aug = TimeFrequencyMask(time_masks=2, max_time_width=10, freq_masks=2, max_freq_width=3, seed=0)
    x = torch.ones(64, 100, 13)
    y, _ = aug(x, torch.full((64,), 100))
    masked = y == 0
    time_masked = masked.all(dim=2).sum(dim=1).float()
    freq_masked = masked.all(dim=1).sum(dim=1).float()
    assert 0 < time_masked.mean() <= 20
    assert 0 < freq_masked.mean() <= 6
    assert int(time_masked.max()) <= 20


def test_seeded_determinism_and_reseed() -> None:
    x = torch.randn(4, 50, 13)
    lengths = torch.tensor([50, 40, 30, 20])
    a = TimeFrequencyMask(seed=3)
    b = TimeFrequencyMask(seed=3)
    first = a(x, lengths)[0]
    assert torch.equal(first, b(x, lengths)[0])
    torch.manual_seed(123)  # the global RNG plays no part
    second = a(x, lengths)[0]
    assert not torch.equal(first, second)
    a.reseed(3)
    assert torch.equal(a(x, lengths)[0], first)
    assert not torch.equal(TimeFrequencyMask(seed=4)(x, lengths)[0], first)


def test_eval_mode_is_identity_and_input_is_not_modified() -> None:
    x = torch.randn(2, 30, 13)
    keep = x.clone()
    aug = TimeFrequencyMask(seed=0)
    y, _ = aug(x, torch.tensor([30, 10]))
    assert torch.equal(x, keep)
    assert not torch.equal(y, x)
    aug.eval()
    out, lengths = aug(x, None)
    assert out is x
    assert lengths.tolist() == [30, 30]


def test_mask_value_dtype_and_inside_sequential() -> None:
    aug = TimeFrequencyMask(time_masks=1, max_time_width=100, max_time_fraction=1.0, seed=1)
    x = torch.ones(3, 20, 4, dtype=torch.float64)
    aug.mask_value = -5.0
    y, _ = aug(x, torch.tensor([20, 20, 20]))
    assert y.dtype == torch.float64
    assert set(torch.unique(y).tolist()) <= {1.0, -5.0}
    assert "time_masks=1" in repr(aug)


def test_bad_input() -> None:
    aug = TimeFrequencyMask()
    with pytest.raises(ShapeError, match=r"\(B, T, F\)"):
        aug(torch.zeros(3, 4))
    with pytest.raises(ShapeError, match=r"lengths of shape \(2,\)"):
        aug(torch.zeros(2, 3, 4), torch.tensor([3]))
    with pytest.raises(InputValueError, match=r"lengths must lie in \[0, 3\]"):
        aug(torch.zeros(2, 3, 4), torch.tensor([3, 4]))
    with pytest.raises(InputTypeError):
        aug(torch.zeros(2, 3, 4, dtype=torch.long))
    with pytest.raises(InputValueError, match="time_masks"):
        TimeFrequencyMask(time_masks=-1)
    with pytest.raises(InputValueError, match="max_time_fraction"):
        TimeFrequencyMask(max_time_fraction=1.5)


@pytest.mark.parametrize(
    ("lengths", "message"),
    [
        ([10, 6], r"lengths must be a \(B,\) int64 torch\.Tensor, got list"),
        (np.array([10, 6]), r"got ndarray"),
        (torch.tensor([10.0, 6.0]), r"integer frame counts, got torch\.float32"),
    ],
)
def test_lengths_that_are_not_an_integer_tensor_are_refused(lengths: object, message: str) -> None:
    with pytest.raises(InputTypeError, match=message):
        TimeFrequencyMask()(torch.zeros(2, 10, 4), lengths)  # type: ignore[arg-type]
    with pytest.raises(InputTypeError, match=message):  # in eval mode too
        TimeFrequencyMask().eval()(torch.zeros(2, 10, 4), lengths)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"time_masks": "2"}, InputTypeError),
        ({"max_freq_width": 1.5}, InputTypeError),
        ({"max_time_fraction": float("nan")}, InputValueError),
        ({"seed": -1}, InputValueError),
        ({"seed": "1"}, InputTypeError),
    ],
)
def test_bad_settings_are_ctckit_errors(kwargs: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error, match=next(iter(kwargs))):
        TimeFrequencyMask(**kwargs)  # type: ignore[arg-type]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an accelerator")
def test_runs_on_gpu_with_same_masks_as_cpu() -> None:
    x = torch.randn(3, 40, 13)
    lengths = torch.tensor([40, 25, 10])
    cpu = TimeFrequencyMask(seed=7)(x, lengths)[0]
    gpu, out_lengths = TimeFrequencyMask(seed=7)(x.cuda(), lengths.cuda())
    assert gpu.is_cuda
    assert out_lengths.is_cuda
    torch.testing.assert_close(gpu.cpu(), cpu)
