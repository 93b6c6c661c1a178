"""ResNet-1D and conv embedders: exact lengths, padding invariance, errors."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from ctckit.errors import InputValueError, ShapeError
from ctckit.nn import BasicBlock1d, Bottleneck1d, ConvEmbedder, ResNet1dEmbedder


def _real_conv_length(module: nn.Module, length: int, features: int) -> int:
    """Length of the conv stack's output, from the real convs (main path, not shortcuts)."""
    h = torch.zeros(1, features, length)
    convs = [
        m
        for name, m in module.named_modules()
        if isinstance(m, nn.Conv1d) and not name.endswith("downsample_conv")
    ]
    for conv in convs:
        h = torch.zeros(1, conv.in_channels, h.shape[2])
        h = conv(h)
    return h.shape[2]


@given(
    lengths=st.lists(st.integers(1, 30), min_size=1, max_size=4),
    strides=st.lists(st.integers(1, 3), min_size=1, max_size=3),
    kernel=st.sampled_from([1, 3, 5]),
)
def test_resnet_out_lengths_equal_real_conv_lengths(
    lengths: list[int], strides: list[int], kernel: int
) -> None:
    emb = ResNet1dEmbedder(
        3, [4] * len(strides), [1] * len(strides), strides, kernel_size=kernel
    ).eval()
    y, out = emb(torch.randn(len(lengths), max(lengths), 3), torch.tensor(lengths))
    assert y.shape[1] == _real_conv_length(emb, max(lengths), 3)
    for n, got in zip(lengths, out.tolist()):
        assert got == _real_conv_length(emb, n, 3)


@given(
    lengths=st.lists(st.integers(1, 30), min_size=1, max_size=4),
    kernels=st.lists(st.integers(1, 5), min_size=1, max_size=3),
    data=st.data(),
)
def test_conv_out_lengths_equal_real_conv_lengths(
    lengths: list[int], kernels: list[int], data: st.DataObject
) -> None:
    n = len(kernels)
    strides = data.draw(st.lists(st.integers(1, 3), min_size=n, max_size=n))
    pads = data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    emb = ConvEmbedder(2, [3] * n, kernel_size=kernels, stride=strides, padding=pads).eval()
    real: list[int | None] = []
    for length in lengths:
        try:
            real.append(_real_conv_length(emb, length, 2))
        except RuntimeError:  # the conv rejects an input shorter than its receptive field
            real.append(None)
    x = torch.randn(len(lengths), max(lengths), 2)
    if None in real or 0 in real:
        with pytest.raises(InputValueError, match="too short"):
            emb(x, torch.tensor(lengths))
        return
    y, out = emb(x, torch.tensor(lengths))
    assert out.tolist() == real == emb.output_lengths(torch.tensor(lengths)).tolist()
    assert y.shape[1] == _real_conv_length(emb, max(lengths), 2)


def _small_embedders() -> list[nn.Module]:
    torch.manual_seed(0)
    mods: list[nn.Module] = [
        ResNet1dEmbedder(3, (6, 8), (1, 2), (2, 1), block="basic", stem_channels=5),
        ResNet1dEmbedder(3, (8,), (1,), (2,), block="bottleneck", kernel_size=5),
        ResNet1dEmbedder(3, (6,), (1,), (1,), residual=False),
        ConvEmbedder(3, (4, 6), kernel_size=(3, 5), stride=(1, 2), padding=(0, 2)),
    ]
    for m in mods:  # non-trivial running statistics so eval mode is a real test
        m.train()
        with torch.no_grad():
            m(torch.randn(4, 16, 3) * 3 + 1, torch.tensor([16, 9, 12, 5]))
        m.eval()
    return mods


_EMBEDDERS = _small_embedders()


@given(
    index=st.integers(0, len(_EMBEDDERS) - 1),
    length=st.integers(3, 14),
    others=st.lists(st.integers(3, 20), min_size=1, max_size=3),
    seed=st.integers(0, 2**16),
)
def test_eval_output_unchanged_when_batched_with_longer(
    index: int, length: int, others: list[int], seed: int
) -> None:

    emb = _EMBEDDERS[index]
    gen = torch.Generator().manual_seed(seed)
    lengths = [length, *others]
    time = max(lengths) + 2  # extra padding beyond every utterance too
    x = torch.randn(len(lengths), time, 3, generator=gen) * 5  # garbage in padded frames
    with torch.no_grad():
        alone, n_alone = emb(x[:1, :length], torch.tensor([length]))
        batched, n_batched = emb(x, torch.tensor(lengths))
    n = int(n_alone[0])
    assert int(n_batched[0]) == n
    assert torch.allclose(batched[0, :n], alone[0, :n], rtol=1e-5, atol=1e-5)
    assert bool((batched[0, n:] == 0).all())


def test_train_mode_depends_only_on_valid_frames() -> None:
    """In training, extra padding (or garbage in it) changes nothing."""
    torch.manual_seed(0)
    emb = ResNet1dEmbedder(3, (6,), (2,), (2,))
    x = torch.randn(2, 10, 3)
    lengths = torch.tensor([10, 6])
    padded = torch.cat([x, torch.randn(2, 7, 3) * 9], dim=1)
    padded[1, 6:] = 100.0
    y1, n1 = emb(x, lengths)
    y2, n2 = emb(padded, lengths)
    assert n1.tolist() == n2.tolist() == [5, 3]
    torch.testing.assert_close(y2[:, : y1.shape[1]], y1)


def test_blocks_shortcut_only_when_needed() -> None:
    assert BasicBlock1d(8, 8).downsample_conv is None
    assert BasicBlock1d(8, 8, stride=2).downsample_conv is not None
    assert BasicBlock1d(4, 8).downsample_conv is not None
    assert Bottleneck1d(8, 8).downsample_conv is None
    assert BasicBlock1d(4, 8, residual=False).downsample_conv is None


def test_zero_init_last_bn_starts_as_identity() -> None:
    block = BasicBlock1d(4, 4, zero_init_last_bn=True).eval()
    x = torch.rand(1, 5, 4)  # non-negative, so ReLU(x) == x
    y, _ = block(x, torch.tensor([5]))
    torch.testing.assert_close(y, x)


def test_kaiming_init_changes_conv_weights_std() -> None:
    torch.manual_seed(0)
    plain = ResNet1dEmbedder(13, (256,), (1,), (2,))
    kaiming = ResNet1dEmbedder(13, (256,), (1,), (2,), kaiming_init=True)
    std_k = float(kaiming.blocks[0].conv2.weight.detach().std())
    assert abs(std_k - (2.0 / (256 * 3)) ** 0.5) < 0.005
    assert float(plain.blocks[0].conv2.weight.detach().std()) < std_k


def test_embedder_errors() -> None:
    with pytest.raises(InputValueError, match="odd kernel_size"):
        BasicBlock1d(4, 4, kernel_size=4)
    with pytest.raises(InputValueError, match="equal length"):
        ResNet1dEmbedder(4, (8, 8), (1,), (1, 1))
    with pytest.raises(InputValueError, match="block must be"):
        ResNet1dEmbedder(4, block="wide")  # type: ignore[arg-type]
    with pytest.raises(InputValueError, match="one per layer"):
        ConvEmbedder(4, (8, 8), stride=(1, 2, 3))
    with pytest.raises(InputValueError, match="unknown activation"):
        ConvEmbedder(4, (8,), activation="swishy")
    emb = ResNet1dEmbedder(4, (8,), (1,), (1,))
    with pytest.raises(ShapeError, match=r"\(B, T, 4\)"):
        emb(torch.randn(2, 5, 3), torch.tensor([5, 5]))
    with pytest.raises(ShapeError, match="lengths of shape"):
        emb(torch.randn(2, 5, 4), torch.tensor([5]))
    with pytest.raises(InputValueError, match=r"\[1, 5\]"):
        emb(torch.randn(2, 5, 4), torch.tensor([6, 0]))
