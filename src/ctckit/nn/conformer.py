"""A Conformer encoder (Gulati et al., 2020) over padded batches.

Each block is the macaron stack ``x + FF/2, x + MHSA, x + Conv, x + FF/2,
LayerNorm``. Attention uses rotary position embeddings (RoPE, Su et al.) on
queries and keys and :func:`torch.nn.functional.scaled_dot_product_attention`
with a key-padding mask, so an utterance's positions are ``0 .. L-1``
whatever it is batched with. The convolution module zeroes padded frames
before its depthwise convolution and normalises with a
:class:`~ctckit.nn._masking.MaskedBatchNorm1d` (statistics over valid frames
only) or a frame-wise LayerNorm. Feed-forward layers and LayerNorms act
frame by frame. Hence, in eval mode, an utterance's valid output frames do
not depend on the batch it is in, and outputs at padded frames are zero.

The encoder keeps the frame rate; put a strided embedder in front of it
(:class:`~ctckit.nn.conv.ConvEmbedder` or
:class:`~ctckit.nn.resnet1d.ResNet1dEmbedder`, see :mod:`ctckit.nn.presets`)
to shorten the sequences attention runs over.
"""

from __future__ import annotations

from typing import Literal, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ctckit._checks import check_float, check_int, check_probability
from ctckit.errors import InputValueError
from ctckit.nn._masking import MaskedBatchNorm1d, apply_mask, check_features, time_mask

__all__ = ["ConformerBlock", "ConformerEncoder", "ConvNorm"]

#: Normalisation inside the convolution module: masked BatchNorm or frame-wise LayerNorm.
ConvNorm = Literal["batch", "layer"]


def _rotate_half(x: Tensor) -> Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rotary_tables(
    time: int, head_dim: int, base: float, device: torch.device, dtype: torch.dtype
) -> tuple[Tensor, Tensor]:
    """``(cos, sin)`` tables of shape ``(time, head_dim)`` for rotary embeddings.

    Frequencies ``base ** (-2i / head_dim)`` for ``i < head_dim / 2``, each
    used for a pair of channels ``(i, i + head_dim / 2)`` (the "rotate half"
    layout).

    Example:
        >>> cos, sin = rotary_tables(5, 4, 10000.0, torch.device("cpu"), torch.float32)
        >>> tuple(cos.shape), float(cos[0, 0]), float(sin[0, 0])
        ((5, 4), 1.0, 0.0)
    """
    # float64 angles (float32 loses ~1e-4 rad at positions in the thousands), made on the
    # CPU because some devices (MPS) have no float64
    inv_freq = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    angles = torch.arange(time, dtype=torch.float64)[:, None] * inv_freq[None, :]
    angles = torch.cat((angles, angles), dim=-1)
    return angles.cos().to(device, dtype), angles.sin().to(device, dtype)


class _FeedForward(nn.Module):
    """Pre-norm position-wise feed-forward: LayerNorm, Linear, SiLU, Dropout, Linear, Dropout."""

    def __init__(self, d_model: int, mult: int, dropout: float) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d_model)
        self.up = nn.Linear(d_model, d_model * mult)
        self.down = nn.Linear(d_model * mult, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        h = self.dropout(F.silu(self.up(self.norm(x))))
        out: Tensor = self.dropout(self.down(h))
        return out


class _SelfAttention(nn.Module):
    """Pre-norm multi-head self-attention with rotary positions and a key-padding mask."""

    def __init__(self, d_model: int, num_heads: int, dropout: float, attn_dropout: float) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = d_model // num_heads
        self.attn_dropout = attn_dropout
        self.norm = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, keys: Tensor | None, rope: tuple[Tensor, Tensor]) -> Tensor:
        batch, time, width = x.shape
        qkv = self.qkv(self.norm(x)).view(batch, time, 3, self.num_heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (B, H, T, Dh)
        cos, sin = (t.to(q.dtype) for t in rope)
        q = q * cos + _rotate_half(q) * sin
        k = k * cos + _rotate_half(k) * sin
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=keys, dropout_p=self.attn_dropout if self.training else 0.0
        )
        out: Tensor = self.dropout(self.out(y.transpose(1, 2).reshape(batch, time, width)))
        return out


class _ConvModule(nn.Module):
    """LayerNorm, pointwise Linear + GLU, depthwise conv, norm, SiLU, pointwise Linear."""

    def __init__(self, d_model: int, kernel: int, dropout: float, norm: ConvNorm) -> None:
        super().__init__()
        self.norm_in = nn.LayerNorm(d_model)
        self.pointwise_in = nn.Linear(d_model, 2 * d_model)
        self.depthwise = nn.Conv1d(
            d_model, d_model, kernel, padding=kernel // 2, groups=d_model, bias=norm != "batch"
        )
        self.batch_norm = MaskedBatchNorm1d(d_model) if norm == "batch" else None
        self.layer_norm = nn.LayerNorm(d_model) if norm == "layer" else None
        self.pointwise_out = nn.Linear(d_model, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor | None) -> Tensor:
        h = F.glu(self.pointwise_in(self.norm_in(x)), dim=-1).transpose(1, 2)  # (B, D, T)
        h = self.depthwise(apply_mask(h, mask))  # padded frames are zero, as if absent
        if self.batch_norm is not None:
            h = self.batch_norm(h, mask).transpose(1, 2)
        else:
            h = h.transpose(1, 2)
            if self.layer_norm is not None:
                h = self.layer_norm(h)
        out: Tensor = self.dropout(self.pointwise_out(F.silu(h)))
        return out


class ConformerBlock(nn.Module):
    """One Conformer block: half feed-forward, self-attention, convolution, half feed-forward.

    ``y = LN(x4)`` with ``x1 = x + FF1(x) / 2``, ``x2 = x1 + MHSA(x1)``,
    ``x3 = x2 + Conv(x2)``, ``x4 = x3 + FF2(x3) / 2``; every sub-module is
    pre-normalised and ends in dropout.

    Args:
        d_model: Features per frame (input and output).
        num_heads: Attention heads; ``d_model / num_heads`` must be an even
            integer (rotary embeddings rotate channel pairs).
        ff_mult: Feed-forward expansion factor.
        conv_kernel: Odd width of the depthwise convolution.
        dropout: Dropout at the end of each sub-module (and inside the
            feed-forward).
        attention_dropout: Dropout on the attention weights.
        conv_norm: ``"batch"`` (masked BatchNorm, as in the paper) or
            ``"layer"`` (LayerNorm over channels, frame by frame).
        rotary_base: Base of the rotary frequencies.

    Example:
        >>> block = ConformerBlock(16, num_heads=2, conv_kernel=5).eval()
        >>> y, n = block(torch.randn(2, 7, 16), torch.tensor([7, 3]))
        >>> tuple(y.shape), n.tolist(), bool((y[1, 3:] == 0).all())
        ((2, 7, 16), [7, 3], True)
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int = 4,
        ff_mult: int = 4,
        conv_kernel: int = 15,
        dropout: float = 0.1,
        attention_dropout: float = 0.0,
        conv_norm: ConvNorm = "batch",
        rotary_base: float = 10000.0,
    ) -> None:
        super().__init__()
        check_int(d_model, "d_model", 1)
        check_int(num_heads, "num_heads", 1)
        check_int(ff_mult, "ff_mult", 1)
        check_int(conv_kernel, "conv_kernel", 1)
        check_probability(dropout, "dropout")
        check_probability(attention_dropout, "attention_dropout")
        check_float(rotary_base, "rotary_base", 1.0, low_open=True)
        if d_model % num_heads or (d_model // num_heads) % 2:
            raise InputValueError(
                f"d_model / num_heads must be an even integer (rotary embeddings rotate channel "
                f"pairs), got d_model={d_model}, num_heads={num_heads}"
            )
        if conv_kernel % 2 == 0:
            raise InputValueError(
                f"conv_kernel must be odd (so the convolution keeps the length), got {conv_kernel}"
            )
        if conv_norm not in ("batch", "layer"):
            raise InputValueError(f"conv_norm must be 'batch' or 'layer', got {conv_norm!r}")
        self.d_model = d_model
        self.head_dim = d_model // num_heads
        self.rotary_base = float(rotary_base)
        self.ff1 = _FeedForward(d_model, ff_mult, dropout)
        self.attention = _SelfAttention(d_model, num_heads, dropout, attention_dropout)
        self.conv = _ConvModule(d_model, conv_kernel, dropout, conv_norm)
        self.ff2 = _FeedForward(d_model, ff_mult, dropout)
        self.norm_out = nn.LayerNorm(d_model)

    def forward_masked(
        self, x: Tensor, mask: Tensor | None, keys: Tensor | None, rope: tuple[Tensor, Tensor]
    ) -> Tensor:
        """The block on prepared masks (what :class:`ConformerEncoder` calls per layer).

        Args:
            x: ``(B, T, d_model)`` features.
            mask: ``(B, 1, T)`` float mask of valid frames, or ``None`` when
                unpadded (see :func:`~ctckit.nn._masking.time_mask`).
            keys: ``(B, 1, 1, T)`` bool key mask (True: attend), or ``None``.
            rope: ``(cos, sin)`` from :func:`rotary_tables` for ``T`` frames.

        Returns:
            ``(B, T, d_model)``; padded frames hold unspecified values.
        """
        x = x + 0.5 * self.ff1(x)
        x = x + self.attention(x, keys, rope)
        x = x + self.conv(x, mask)
        x = x + 0.5 * self.ff2(x)
        out: Tensor = self.norm_out(x)
        return out

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Run the block on a batch.

        Args:
            x: ``(B, T, d_model)`` float features.
            lengths: ``(B,)`` int64 valid frame counts, each in ``[1, T]``.

        Returns:
            ``(y, lengths)``: ``(B, T, d_model)`` with zeros at padded frames,
            and the unchanged lengths.
        """
        lengths = check_features(x, lengths, "x", self.d_model)
        mask, keys = _masks(lengths, x)
        rope = rotary_tables(x.shape[1], self.head_dim, self.rotary_base, x.device, x.dtype)
        y = self.forward_masked(x, mask, keys, rope)
        return apply_mask(y.transpose(1, 2), mask).transpose(1, 2), lengths


def _masks(lengths: Tensor, x: Tensor) -> tuple[Tensor | None, Tensor | None]:
    """The ``(B, 1, T)`` float frame mask and the ``(B, 1, 1, T)`` bool key mask."""
    mask = time_mask(lengths, x.shape[1], x.dtype, x.device)
    return mask, None if mask is None else mask.bool().unsqueeze(1)


class ConformerEncoder(nn.Module):
    """A Linear input projection and a stack of :class:`ConformerBlock`.

    Args:
        in_features: Features per input frame (projected to ``d_model``).
        d_model: Model width.
        num_layers: Conformer blocks.
        num_heads: Attention heads (``d_model / num_heads`` an even integer).
        ff_mult: Feed-forward expansion factor.
        conv_kernel: Odd depthwise convolution width.
        dropout: Dropout after the input projection and in every block.
        attention_dropout: Dropout on the attention weights.
        conv_norm: ``"batch"`` (masked BatchNorm) or ``"layer"`` (frame-wise
            LayerNorm) in the convolution modules.
        rotary_base: Base of the rotary frequencies.

    Attributes:
        output_size: Features per output frame (``d_model``).

    Example:
        >>> enc = ConformerEncoder(13, d_model=32, num_layers=2, num_heads=4, conv_kernel=7).eval()
        >>> y, n = enc(torch.randn(3, 9, 13), torch.tensor([9, 4, 6]))
        >>> tuple(y.shape), n.tolist(), enc.output_size
        ((3, 9, 32), [9, 4, 6], 32)
    """

    def __init__(
        self,
        in_features: int,
        d_model: int = 144,
        num_layers: int = 4,
        num_heads: int = 4,
        ff_mult: int = 4,
        conv_kernel: int = 15,
        dropout: float = 0.1,
        *,
        attention_dropout: float = 0.0,
        conv_norm: ConvNorm = "batch",
        rotary_base: float = 10000.0,
    ) -> None:
        super().__init__()
        check_int(in_features, "in_features", 1)
        check_int(num_layers, "num_layers", 1)
        self.in_features = in_features
        self.output_size = d_model
        self.input = nn.Linear(in_features, d_model)
        self.input_dropout = nn.Dropout(check_probability(dropout, "dropout"))
        self.head_dim = d_model // check_int(num_heads, "num_heads", 1)
        self.rotary_base = float(rotary_base)
        self.layers = nn.ModuleList(
            ConformerBlock(
                d_model,
                num_heads,
                ff_mult,
                conv_kernel,
                dropout,
                attention_dropout,
                conv_norm,
                rotary_base,
            )
            for _ in range(num_layers)
        )

    def output_lengths(self, lengths: Tensor) -> Tensor:
        """Output frame counts: the input's (the encoder keeps the frame rate).

        Example:
            >>> ConformerEncoder(4, 16, 1, 2).output_lengths(torch.tensor([5])).tolist()
            [5]
        """
        return lengths

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Encode a batch.

        Args:
            x: ``(B, T, in_features)`` float features.
            lengths: ``(B,)`` int64 valid frame counts, each in ``[1, T]``.

        Returns:
            ``(y, lengths)``: ``(B, T, d_model)`` with zeros at padded frames,
            and the ``(B,)`` int64 lengths (unchanged).
        """
        lengths = check_features(x, lengths, "x", self.in_features)
        h = self.input_dropout(self.input(x))
        mask, keys = _masks(lengths, h)
        rope = rotary_tables(h.shape[1], self.head_dim, self.rotary_base, h.device, h.dtype)
        for layer in self.layers:
            h = cast(ConformerBlock, layer).forward_masked(h, mask, keys, rope)
        return apply_mask(h.transpose(1, 2), mask).transpose(1, 2), lengths
