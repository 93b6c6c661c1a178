"""ConformerEncoder: padding invariance, rotary positions and attention against naive references."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from ctckit.errors import InputValueError, ShapeError
from ctckit.nn import ConformerBlock, ConformerEncoder
from ctckit.nn.conformer import rotary_tables

torch.manual_seed(0)
_BATCH_NORM = ConformerEncoder(5, d_model=16, num_layers=2, num_heads=2, conv_kernel=5).eval()
_LAYER_NORM = ConformerEncoder(
    5, d_model=12, num_layers=2, num_heads=3, conv_kernel=3, conv_norm="layer"
).eval()


def _train_batch_norm_stats(enc: ConformerEncoder) -> None:
    """Give the BatchNorms non-trivial running statistics (a few training passes)."""
    enc.train()
    with torch.no_grad():
        for _ in range(3):
            enc(torch.randn(3, 11, enc.in_features) * 2 + 1, torch.tensor([11, 6, 9]))
    enc.eval()


_train_batch_norm_stats(_BATCH_NORM)


@pytest.mark.parametrize("enc", [_BATCH_NORM, _LAYER_NORM], ids=["batch-norm", "layer-norm"])
@given(
    lengths=st.lists(st.integers(1, 14), min_size=1, max_size=4),
    extra=st.integers(0, 5),
    seed=st.integers(0, 2**16),
)
def test_eval_outputs_do_not_depend_on_the_batch(
    enc: ConformerEncoder, lengths: list[int], extra: int, seed: int
) -> None:
    gen = torch.Generator().manual_seed(seed)
    time = max(lengths) + extra
    x = torch.randn(len(lengths), time, 5, generator=gen)
    valid = torch.arange(time)[None, :] < torch.tensor(lengths)[:, None]
    x[~valid] = 1e3  # whatever sits in the padding must not matter
    with torch.no_grad():
        y, out = enc(x, torch.tensor(lengths))
        assert out.tolist() == lengths
        assert y.shape == (len(lengths), time, enc.output_size)
        assert bool((y[~valid] == 0).all())
        for i, n in enumerate(lengths):
            alone, _ = enc(x[i : i + 1, :n], torch.tensor([n]))
            torch.testing.assert_close(y[i, :n], alone[0], atol=2e-5, rtol=1e-4)


@given(lengths=st.lists(st.integers(2, 10), min_size=2, max_size=4), seed=st.integers(0, 2**16))
def test_training_outputs_and_gradients_ignore_padding(lengths: list[int], seed: int) -> None:
    """Train mode (no dropout): more padding changes nothing, padded inputs get no gradient."""
    torch.manual_seed(seed)
    enc = ConformerEncoder(4, d_model=8, num_layers=2, num_heads=2, conv_kernel=3, dropout=0.0)
    ref = ConformerEncoder(4, d_model=8, num_layers=2, num_heads=2, conv_kernel=3, dropout=0.0)
    ref.load_state_dict(enc.state_dict())
    lens = torch.tensor(lengths)
    time = max(lengths)
    x = torch.randn(len(lengths), time + 3, 4, requires_grad=True)
    y, _ = enc.train()(x, lens)
    y_tight, _ = ref.train()(x[:, :time].detach(), lens)
    torch.testing.assert_close(y[:, :time], y_tight, atol=2e-5, rtol=1e-4)
    # BatchNorm statistics over valid frames only: identical running statistics
    for a, b in zip(enc.buffers(), ref.buffers()):
        torch.testing.assert_close(a, b)
    (y * torch.randn_like(y)).sum().backward()  # (a plain sum is 0: LayerNorm output)
    assert x.grad is not None
    valid = torch.arange(time + 3)[None, :] < lens[:, None]
    assert bool((x.grad[~valid] == 0).all())
    assert bool(x.grad[valid].abs().sum() > 0)


def _naive_rotary(x: torch.Tensor, base: float) -> torch.Tensor:
    """Rotate channel pairs (i, i + D/2) by position * base**(-2i/D), as complex numbers."""
    time, dim = x.shape[-2], x.shape[-1]
    half = dim // 2
    freq = base ** (-torch.arange(half, dtype=torch.float64) * 2 / dim)
    angle = torch.arange(time, dtype=torch.float64)[:, None] * freq[None, :]
    z = torch.complex(x[..., :half].double(), x[..., half:].double()) * torch.polar(
        torch.ones_like(angle), angle
    )
    return torch.cat((z.real, z.imag), dim=-1).to(x.dtype)


@given(seed=st.integers(0, 2**16), shift=st.integers(1, 6))
def test_rotary_scores_depend_on_relative_position_only(seed: int, shift: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    q, k = torch.randn(2, 8, generator=gen, dtype=torch.float64)
    cos, sin = rotary_tables(12, 8, 100.0, torch.device("cpu"), torch.float64)

    def rotated(v: torch.Tensor, pos: int) -> torch.Tensor:
        half = torch.cat((-v[4:], v[:4]))
        return v * cos[pos] + half * sin[pos]

    m, n = 2, 5
    before = torch.dot(rotated(q, m), rotated(k, n))
    after = torch.dot(rotated(q, m + shift), rotated(k, n + shift))
    torch.testing.assert_close(before, after)
    table = torch.stack([rotated(q, t) for t in range(12)])
    torch.testing.assert_close(table, _naive_rotary(q.expand(12, 8), 100.0), atol=1e-6, rtol=1e-6)


@given(lengths=st.lists(st.integers(1, 9), min_size=1, max_size=3), seed=st.integers(0, 2**16))
def test_attention_matches_a_naive_masked_softmax(lengths: list[int], seed: int) -> None:
    torch.manual_seed(seed)
    block = ConformerBlock(8, num_heads=2, conv_kernel=3, dropout=0.0).eval()
    att = block.attention
    time = max(lengths)
    x = torch.randn(len(lengths), time, 8)
    lens = torch.tensor(lengths)
    keys = (torch.arange(time)[None, :] < lens[:, None])[:, None, None, :]
    rope = rotary_tables(time, 4, block.rotary_base, x.device, x.dtype)
    with torch.no_grad():
        got = att(x, keys, rope)
        h = att.norm(x)
        q, k, v = att.qkv(h).view(len(lengths), time, 3, 2, 4).permute(2, 0, 3, 1, 4)
        q, k = _naive_rotary(q, block.rotary_base), _naive_rotary(k, block.rotary_base)
        scores = q @ k.transpose(-1, -2) / math.sqrt(4)
        scores = scores.masked_fill(~keys, -math.inf)
        ref = (scores.softmax(-1) @ v).transpose(1, 2).reshape(len(lengths), time, 8)
        ref = att.out(ref)
    torch.testing.assert_close(got, ref, atol=1e-5, rtol=1e-4)


def test_block_is_the_macaron_stack() -> None:
    torch.manual_seed(3)
    block = ConformerBlock(8, num_heads=2, conv_kernel=3, dropout=0.0).eval()
    x = torch.randn(2, 6, 8)
    lens = torch.tensor([6, 6])
    with torch.no_grad():
        y, _ = block(x, lens)
        rope = rotary_tables(6, 4, block.rotary_base, x.device, x.dtype)
        h = x + 0.5 * block.ff1(x)
        h = h + block.attention(h, None, rope)
        h = h + block.conv(h, None)
        h = block.norm_out(h + 0.5 * block.ff2(h))
    torch.testing.assert_close(y, h)


def test_bfloat16_autocast_on_cpu() -> None:
    enc = ConformerEncoder(5, d_model=16, num_layers=1, num_heads=2, conv_kernel=3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y, n = enc(torch.randn(2, 7, 5), torch.tensor([7, 4]))
    assert y.shape == (2, 7, 16)
    assert bool(torch.isfinite(y.float()).all())
    assert n.tolist() == [7, 4]


def test_errors() -> None:
    with pytest.raises(InputValueError, match="even integer"):
        ConformerEncoder(5, d_model=16, num_heads=3)
    with pytest.raises(InputValueError, match="even integer"):
        ConformerEncoder(5, d_model=12, num_heads=4)  # head_dim 3 is odd
    with pytest.raises(InputValueError, match="conv_kernel must be odd"):
        ConformerEncoder(5, d_model=16, num_heads=2, conv_kernel=4)
    with pytest.raises(InputValueError, match="conv_norm"):
        ConformerEncoder(5, d_model=16, num_heads=2, conv_norm="group")  # type: ignore[arg-type]
    with pytest.raises(InputValueError, match=r"dropout must lie in \[0, 1\)"):
        ConformerEncoder(5, d_model=16, num_heads=2, dropout=1.5)
    with pytest.raises(ShapeError, match=r"\(B, T, 5\)"):
        _BATCH_NORM(torch.randn(2, 4, 6), torch.tensor([4, 4]))
    with pytest.raises(InputValueError, match=r"lengths must lie in \[1, 4\]"):
        _BATCH_NORM(torch.randn(2, 4, 5), torch.tensor([4, 5]))
