"""Exact conv lengths and masked BatchNorm against plain PyTorch references."""

from __future__ import annotations

import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from ctckit.nn._masking import MaskedBatchNorm1d, conv_output_lengths, time_mask


@given(
    length=st.integers(1, 40),
    kernel=st.integers(1, 7),
    stride=st.integers(1, 4),
    padding=st.integers(0, 4),
    dilation=st.integers(1, 3),
)
def test_conv_output_lengths_match_real_conv(
    length: int, kernel: int, stride: int, padding: int, dilation: int
) -> None:

    if length + 2 * padding < dilation * (kernel - 1) + 1:
        return  # the conv itself rejects inputs shorter than its receptive field
    conv = nn.Conv1d(1, 1, kernel, stride, padding, dilation)
    expected = conv(torch.zeros(1, 1, length)).shape[2]
    got = conv_output_lengths(torch.tensor([length]), kernel, stride, padding, dilation)
    assert got.tolist() == [expected]


def test_time_mask_is_none_without_padding() -> None:
    assert time_mask(torch.tensor([4, 4]), 4, torch.float32) is None
    mask = time_mask(torch.tensor([4, 2]), 4, torch.float32)
    assert mask is not None
    assert mask.shape == (2, 1, 4)
    assert mask[:, 0].tolist() == [[1, 1, 1, 1], [1, 1, 0, 0]]


@given(lengths=st.lists(st.integers(1, 9), min_size=1, max_size=4), seed=st.integers(0, 2**16))
def test_masked_batchnorm_matches_batchnorm_on_valid_frames(lengths: list[int], seed: int) -> None:
    torch.manual_seed(seed)
    if sum(lengths) < 2:
        lengths = [*lengths, 2]
    time = max(lengths)
    x = torch.randn(len(lengths), 3, time) * 2 + 1
    lens = torch.tensor(lengths)
    mask = time_mask(lens, time, x.dtype)
    masked = MaskedBatchNorm1d(3, momentum=0.3)
    ref = nn.BatchNorm1d(3, momentum=0.3)
    ref.load_state_dict(masked.state_dict())
    # reference: plain BatchNorm over the valid frames only, as flat (N, C) rows
    valid = torch.arange(time)[None, :] < lens[:, None]
    frames = x.transpose(1, 2)[valid]
    for _ in range(2):
        y = masked(x, mask)
        y_ref = ref(frames)
    assert torch.allclose(y.transpose(1, 2)[valid], y_ref, rtol=1e-4, atol=1e-5)
    assert torch.allclose(masked.running_mean, ref.running_mean, rtol=1e-5, atol=1e-6)
    assert torch.allclose(masked.running_var, ref.running_var, rtol=1e-5, atol=1e-6)
    assert int(masked.num_batches_tracked) == int(ref.num_batches_tracked) == 2


def test_masked_batchnorm_cumulative_momentum_and_eval() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 4, 6)
    lens = torch.tensor([6, 3])
    mask = time_mask(lens, 6, x.dtype)
    masked, ref = MaskedBatchNorm1d(4, momentum=None), nn.BatchNorm1d(4, momentum=None)
    valid = torch.arange(6)[None, :] < lens[:, None]
    for scale in (1.0, 3.0):
        masked(x * scale, mask)
        ref((x * scale).transpose(1, 2)[valid])
    torch.testing.assert_close(masked.running_var, ref.running_var)
    masked.eval()
    ref.eval()
    torch.testing.assert_close(masked(x, mask), ref(x))


def test_masked_batchnorm_without_running_stats_skips_padding_in_eval() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 3, 5)
    x[1, :, 2:] = 50.0  # padding
    lens = torch.tensor([5, 2])
    mask = time_mask(lens, 5, x.dtype)
    bn = MaskedBatchNorm1d(3, track_running_stats=False).eval()
    valid = torch.arange(5)[None, :] < lens[:, None]
    ref = nn.BatchNorm1d(3, track_running_stats=False).eval()(x.transpose(1, 2)[valid])
    assert torch.allclose(bn(x, mask).transpose(1, 2)[valid], ref, atol=1e-5)
