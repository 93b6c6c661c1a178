"""A plain stack of Conv1d - BatchNorm - activation layers (the seed's base02-04 embedders).

Masking follows :mod:`ctckit.nn.resnet1d`: padded frames are zeroed before
every conv, BatchNorm training statistics use valid frames only, and output
frames at or beyond ``out_lengths`` are zero. In eval mode an utterance's
output does not depend on the batch it is in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import torch
from torch import Tensor, nn

from ctckit._checks import check_int, check_probability
from ctckit.errors import InputValueError
from ctckit.nn._masking import (
    MaskedBatchNorm1d,
    apply_mask,
    check_features,
    conv1d_output_lengths,
    make_activation,
    time_mask,
)

__all__ = ["ConvEmbedder"]


def _per_layer(name: str, value: int | Sequence[int], n: int) -> tuple[int, ...]:
    values = (value,) * n if isinstance(value, int) else tuple(value)
    if len(values) != n:
        raise InputValueError(f"{name} must be an int or {n} ints (one per layer), got {value!r}")
    return values


class ConvEmbedder(nn.Module):
    """Conv1d layers, each followed by optional BatchNorm, an activation and dropout.

    Args:
        in_features: Input features per frame.
        channels: Output channels of each layer (the seed's base03:
            ``(64, 256)``).
        kernel_size: Conv width, one int for all layers or one per layer.
        stride: Conv stride, one int or one per layer.
        padding: Conv padding, one int or one per layer; ``None`` gives
            ``dilation * (kernel_size - 1) // 2`` (length-preserving for odd
            kernels at stride 1).
        dilation: Conv dilation, one int or one per layer.
        batchnorm: Add a (masked) BatchNorm after each conv.
        activation: ``"relu"``, ``"gelu"``, ``"silu"``, ``"tanh"``, ``"elu"``,
            ``"leaky_relu"`` or ``None``.
        dropout: Dropout probability after each layer.

    Attributes:
        output_size: Features per output frame (``channels[-1]``).

    Example:
        >>> emb = ConvEmbedder(13, channels=(64, 256), stride=(1, 2)).eval()
        >>> y, n = emb(torch.randn(2, 10, 13), torch.tensor([10, 5]))
        >>> tuple(y.shape), n.tolist()
        ((2, 5, 256), [5, 3])
    """

    def __init__(
        self,
        in_features: int,
        channels: Sequence[int] = (64, 256),
        kernel_size: int | Sequence[int] = 3,
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] | None = None,
        dilation: int | Sequence[int] = 1,
        batchnorm: bool = True,
        activation: str | None = "relu",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        check_int(in_features, "in_features", 1)
        channels = tuple(channels)
        if not channels:
            raise InputValueError("channels must name at least one layer, got ()")
        n = len(channels)
        kernels = _per_layer("kernel_size", kernel_size, n)
        strides = _per_layer("stride", stride, n)
        dilations = _per_layer("dilation", dilation, n)
        for k, s, d, c in zip(kernels, strides, dilations, channels):
            check_int(k, "kernel_size", 1)
            check_int(s, "stride", 1)
            check_int(d, "dilation", 1)
            check_int(c, "channels", 1)
        if padding is None:
            pads = tuple(d * (k - 1) // 2 for k, d in zip(kernels, dilations))
        else:
            pads = _per_layer("padding", padding, n)
            if any(p < 0 for p in pads):
                raise InputValueError(f"padding must be >= 0, got {padding!r}")
        check_probability(dropout, "dropout")
        self.in_features = in_features
        self.output_size = channels[-1]
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        width = in_features
        for c, k, s, p, d in zip(channels, kernels, strides, pads, dilations):
            self.convs.append(nn.Conv1d(width, c, k, s, p, d, bias=not batchnorm))
            self.norms.append(MaskedBatchNorm1d(c) if batchnorm else nn.Identity())
            width = c
        self.activation = make_activation(activation)
        self.dropout = nn.Dropout(dropout)

    def output_lengths(self, lengths: Tensor) -> Tensor:
        """Frame counts after the whole stack.

        Args:
            lengths: ``(B,)`` int64 input frame counts.

        Returns:
            ``(B,)`` int64 output frame counts (may be < 1 when an input is
            shorter than the stack's receptive field; :meth:`forward` rejects
            such inputs).

        Example:
            >>> ConvEmbedder(13, (8,), kernel_size=5, padding=0).output_lengths(
            ...     torch.tensor([7])).tolist()
            [3]
        """
        for conv in self._conv_layers():
            lengths = conv1d_output_lengths(conv, lengths)
        return lengths

    def _conv_layers(self) -> list[nn.Conv1d]:
        return cast("list[nn.Conv1d]", list(self.convs))

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Embed a batch.

        Args:
            x: ``(B, T, in_features)`` float features.
            lengths: ``(B,)`` int64 valid frame counts, each in ``[1, T]``.

        Returns:
            ``(y, out_lengths)``: ``y`` of shape ``(B, T', output_size)``, zero
            at padded frames; ``out_lengths`` ``(B,)`` int64 from the
            ``torch.nn.Conv1d`` length formula applied layer by layer.

        Raises:
            InputValueError: If an utterance is too short to yield one output
                frame.
        """
        lengths = check_features(x, lengths, "x", self.in_features)
        shortest, current = lengths, lengths
        for conv in self._conv_layers():
            current = conv1d_output_lengths(conv, current)
            shortest = torch.minimum(shortest, current)
        if shortest.numel() and int(shortest.min()) < 1:
            bad = torch.nonzero(shortest < 1).flatten().tolist()
            raise InputValueError(
                f"utterances {bad} are too short for the conv stack (a layer would have no "
                f"output frame); lengths {lengths[bad].tolist()}"
            )
        h = x.transpose(1, 2)
        mask = time_mask(lengths, h.shape[2], h.dtype, h.device)
        for conv, norm in zip(self._conv_layers(), self.norms):
            h = conv(apply_mask(h, mask))
            lengths = conv1d_output_lengths(conv, lengths)
            mask = None if mask is None else time_mask(lengths, h.shape[2], h.dtype, h.device)
            h = norm(h, mask) if isinstance(norm, MaskedBatchNorm1d) else norm(h)
            h = self.dropout(self.activation(h))
        return apply_mask(h, mask).transpose(1, 2), lengths
