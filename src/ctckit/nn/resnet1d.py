"""1-D residual blocks and the ResNet embedder (the seed's resnet34/resnet50 rows).

The blocks are 1-D versions of torchvision's ``BasicBlock`` and ``Bottleneck``
(ResNet v1.5: the stride sits on the ``k``-wide conv). A shortcut projection
(1x1 conv + BatchNorm) is added only when the stride or the channel count
changes.

Masking: every conv whose kernel spans more than one frame sees zeros at
padded frames, and every BatchNorm takes its training statistics over valid
frames only (see :class:`ctckit.nn.resnet1d.BasicBlock1d`). So in eval mode an
utterance's valid output frames do not depend on what it is batched with;
in training mode they depend on the other utterances only through the batch
statistics of valid frames (as for any BatchNorm model). Output frames at or
beyond ``out_lengths`` are zero.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Literal, cast

import torch  # noqa: F401  (the doctests use it)
import torch.nn.functional as F
from torch import Tensor, nn

from ctckit._checks import check_int, check_probability
from ctckit.errors import InputValueError
from ctckit.nn._masking import (
    MaskedBatchNorm1d,
    apply_mask,
    check_features,
    conv1d_output_lengths,
    conv_output_lengths,
    time_mask,
)

__all__ = ["BasicBlock1d", "Bottleneck1d", "ResNet1dEmbedder"]

BlockKind = Literal["basic", "bottleneck"]


def _check_odd(kernel_size: int) -> None:
    check_int(kernel_size, "kernel_size", 1)
    if kernel_size % 2 == 0:
        raise InputValueError(
            f"residual blocks need an odd kernel_size (so the shortcut and the body keep the "
            f"same length), got {kernel_size}"
        )


class _Block1d(nn.Module, abc.ABC):
    """Shared forward plumbing of the residual blocks."""

    in_channels: int
    out_channels: int
    stride: int
    output_size: int

    @abc.abstractmethod
    def _forward_cf(
        self, x: Tensor, lengths: Tensor, mask: Tensor | None
    ) -> tuple[Tensor, Tensor, Tensor | None]:
        """The block on channel-first ``(B, C, T)`` input; returns output, lengths, mask."""

    def _out_lengths(self, lengths: Tensor) -> Tensor:
        return conv_output_lengths(lengths, 1, self.stride, 0)

    def output_lengths(self, lengths: Tensor) -> Tensor:
        """Frame counts after the block: ``floor((L - 1) / stride) + 1``.

        Args:
            lengths: ``(B,)`` int64 input frame counts.

        Returns:
            ``(B,)`` int64 output frame counts.
        """
        return self._out_lengths(lengths)

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Run the block on a batch-first batch.

        Args:
            x: ``(B, T, in_channels)`` float features.
            lengths: ``(B,)`` int64 valid frame counts, each in ``[1, T]``.

        Returns:
            ``(y, out_lengths)``: ``y`` of shape ``(B, T', out_channels)`` with
            ``T' = floor((T - 1) / stride) + 1`` and zeros at padded frames;
            ``out_lengths`` of shape ``(B,)`` computed the same way per utterance.
        """
        lengths = check_features(x, lengths, "x", self.in_channels)
        xc = x.transpose(1, 2)
        mask = time_mask(lengths, xc.shape[2], xc.dtype, xc.device)
        y, out_lengths, out_mask = self._forward_cf(xc, lengths, mask)
        return apply_mask(y, out_mask).transpose(1, 2), out_lengths


class BasicBlock1d(_Block1d):
    """Two ``k``-wide convs with BatchNorm and a residual connection.

    ``conv(k, stride) - BN - ReLU - conv(k) - BN (+ shortcut) - ReLU - Dropout``.
    The shortcut is the identity, or a 1x1 conv + BatchNorm when the stride or
    the channel count changes.

    Args:
        in_channels: Input features per frame.
        out_channels: Output features per frame.
        stride: Time stride of the first conv (and of the shortcut projection).
        kernel_size: Odd conv width; padding is ``kernel_size // 2``.
        dropout: Dropout probability on the block output.
        zero_init_last_bn: Start the last BatchNorm's scale at zero, so the
            block begins as (a projection of) the identity.
        residual: ``False`` drops the shortcut altogether (the body alone);
            used to model the seed's "wrong block structure" rows.

    Example:
        >>> block = BasicBlock1d(13, 32, stride=2).eval()
        >>> y, n = block(torch.randn(2, 9, 13), torch.tensor([9, 4]))
        >>> tuple(y.shape), n.tolist()
        ((2, 5, 32), [5, 2])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        kernel_size: int = 3,
        dropout: float = 0.0,
        zero_init_last_bn: bool = False,
        residual: bool = True,
    ) -> None:
        super().__init__()
        check_int(in_channels, "in_channels", 1)
        check_int(out_channels, "out_channels", 1)
        check_int(stride, "stride", 1)
        _check_odd(kernel_size)
        check_probability(dropout, "dropout")
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride
        self.output_size = out_channels
        self.kernel_size = kernel_size
        self.residual = residual
        pad = kernel_size // 2
        self.conv1 = nn.Conv1d(in_channels, out_channels, kernel_size, stride, pad, bias=False)
        self.bn1 = MaskedBatchNorm1d(out_channels)
        self.conv2 = nn.Conv1d(out_channels, out_channels, kernel_size, 1, pad, bias=False)
        self.bn2 = MaskedBatchNorm1d(out_channels)
        self.downsample_conv: nn.Conv1d | None = None
        self.downsample_bn: MaskedBatchNorm1d | None = None
        if residual and (stride != 1 or in_channels != out_channels):
            self.downsample_conv = nn.Conv1d(in_channels, out_channels, 1, stride, bias=False)
            self.downsample_bn = MaskedBatchNorm1d(out_channels)
        self.dropout = nn.Dropout(dropout)
        if zero_init_last_bn:
            nn.init.zeros_(self.bn2.weight)

    def _forward_cf(
        self, x: Tensor, lengths: Tensor, mask: Tensor | None
    ) -> tuple[Tensor, Tensor, Tensor | None]:
        x = apply_mask(x, mask)
        out_lengths = self._out_lengths(lengths)
        h = self.conv1(x)
        out_mask = None if mask is None else time_mask(out_lengths, h.shape[2], h.dtype, h.device)
        h = F.relu(self.bn1(h, out_mask))
        h = self.bn2(self.conv2(apply_mask(h, out_mask)), out_mask)
        if self.residual:
            if self.downsample_conv is not None and self.downsample_bn is not None:
                h = h + self.downsample_bn(self.downsample_conv(x), out_mask)
            else:
                h = h + x
        return self.dropout(F.relu(h)), out_lengths, out_mask


class Bottleneck1d(_Block1d):
    """The 1x1 - ``k`` - 1x1 bottleneck residual block (ResNet-50 style).

    ``conv1x1 - BN - ReLU - conv(k, stride) - BN - ReLU - conv1x1 - BN
    (+ shortcut) - ReLU - Dropout``, inner width ``out_channels // expansion``.

    Args:
        in_channels: Input features per frame.
        out_channels: Output features per frame.
        stride: Time stride of the ``k``-wide conv (and of the shortcut).
        kernel_size: Odd width of the middle conv.
        expansion: Ratio of ``out_channels`` to the inner width (4 in ResNet-50).
        dropout: Dropout probability on the block output.
        zero_init_last_bn: Start the last BatchNorm's scale at zero.
        residual: ``False`` drops the shortcut altogether.

    Example:
        >>> block = Bottleneck1d(13, 64, stride=2).eval()
        >>> y, n = block(torch.randn(2, 8, 13), torch.tensor([8, 3]))
        >>> tuple(y.shape), n.tolist(), block.conv2.out_channels
        ((2, 4, 64), [4, 2], 16)
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        kernel_size: int = 3,
        expansion: int = 4,
        dropout: float = 0.0,
        zero_init_last_bn: bool = False,
        residual: bool = True,
    ) -> None:
        super().__init__()
        check_int(in_channels, "in_channels", 1)
        check_int(out_channels, "out_channels", 1)
        check_int(stride, "stride", 1)
        check_int(expansion, "expansion", 1)
        _check_odd(kernel_size)
        check_probability(dropout, "dropout")
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride
        self.output_size = out_channels
        self.kernel_size = kernel_size
        self.residual = residual
        width = max(1, out_channels // expansion)
        self.conv1 = nn.Conv1d(in_channels, width, 1, bias=False)
        self.bn1 = MaskedBatchNorm1d(width)
        self.conv2 = nn.Conv1d(width, width, kernel_size, stride, kernel_size // 2, bias=False)
        self.bn2 = MaskedBatchNorm1d(width)
        self.conv3 = nn.Conv1d(width, out_channels, 1, bias=False)
        self.bn3 = MaskedBatchNorm1d(out_channels)
        self.downsample_conv: nn.Conv1d | None = None
        self.downsample_bn: MaskedBatchNorm1d | None = None
        if residual and (stride != 1 or in_channels != out_channels):
            self.downsample_conv = nn.Conv1d(in_channels, out_channels, 1, stride, bias=False)
            self.downsample_bn = MaskedBatchNorm1d(out_channels)
        self.dropout = nn.Dropout(dropout)
        if zero_init_last_bn:
            nn.init.zeros_(self.bn3.weight)

    def _forward_cf(
        self, x: Tensor, lengths: Tensor, mask: Tensor | None
    ) -> tuple[Tensor, Tensor, Tensor | None]:
        x = apply_mask(x, mask)
        out_lengths = self._out_lengths(lengths)
        h = F.relu(self.bn1(self.conv1(x), mask))
        h = self.conv2(apply_mask(h, mask))
        out_mask = None if mask is None else time_mask(out_lengths, h.shape[2], h.dtype, h.device)
        h = F.relu(self.bn2(h, out_mask))
        h = self.bn3(self.conv3(h), out_mask)
        if self.residual:
            if self.downsample_conv is not None and self.downsample_bn is not None:
                h = h + self.downsample_bn(self.downsample_conv(x), out_mask)
            else:
                h = h + x
        return self.dropout(F.relu(h)), out_lengths, out_mask


class ResNet1dEmbedder(nn.Module):
    """An optional conv stem followed by stages of 1-D residual blocks.

    Stage ``i`` has ``blocks[i]`` blocks with ``channels[i]`` output channels;
    its first block has stride ``strides[i]``, the others stride 1. The seed's
    best model (``resnet34_04f``) is one stage of one basic block,
    ``ResNet1dEmbedder(13, channels=(256,), blocks=(1,), strides=(2,), dropout=0.3)``.

    Args:
        in_features: Input features per frame (13 MFCCs in HW3P2).
        channels: Output channels of each stage.
        blocks: Number of blocks in each stage (same length as ``channels``).
        strides: Stride of each stage's first block (same length).
        block: ``"basic"`` (:class:`BasicBlock1d`) or ``"bottleneck"``
            (:class:`Bottleneck1d`).
        kernel_size: Odd width of the blocks' ``k``-wide convs.
        dropout: Dropout on each block's output.
        stem_channels: If set, a ``Conv1d(k=stem_kernel_size, stride=stem_stride)
            - BN - ReLU`` stem to this many channels comes first.
        stem_kernel_size: Width of the stem conv (odd).
        stem_stride: Stride of the stem conv.
        expansion: Bottleneck expansion (ignored for basic blocks).
        kaiming_init: Re-initialise every conv with Kaiming-normal
            (``fan_out``, ReLU) and every BatchNorm to scale 1, shift 0, as
            torchvision does (the seed's "Kaiming weight initialization").
        zero_init_residual: Zero the last BatchNorm scale of every block.
        residual: ``False`` builds blocks without shortcuts.

    Attributes:
        output_size: Features per output frame (``channels[-1]``).

    Example:
        >>> emb = ResNet1dEmbedder(13, channels=(32, 48), blocks=(1, 2), strides=(2, 1)).eval()
        >>> y, n = emb(torch.randn(3, 11, 13), torch.tensor([11, 7, 1]))
        >>> tuple(y.shape), n.tolist(), emb.output_size
        ((3, 6, 48), [6, 4, 1], 48)
    """

    def __init__(
        self,
        in_features: int,
        channels: Sequence[int] = (256,),
        blocks: Sequence[int] = (1,),
        strides: Sequence[int] = (2,),
        block: BlockKind = "basic",
        kernel_size: int = 3,
        dropout: float = 0.0,
        stem_channels: int | None = None,
        stem_kernel_size: int = 3,
        stem_stride: int = 1,
        expansion: int = 4,
        kaiming_init: bool = False,
        zero_init_residual: bool = False,
        residual: bool = True,
    ) -> None:
        super().__init__()
        check_int(in_features, "in_features", 1)
        channels, blocks, strides = tuple(channels), tuple(blocks), tuple(strides)
        if not channels or not len(channels) == len(blocks) == len(strides):
            raise InputValueError(
                "channels, blocks and strides must be non-empty and of equal length, got "
                f"{len(channels)}, {len(blocks)} and {len(strides)}"
            )
        if block not in ("basic", "bottleneck"):
            raise InputValueError(f"block must be 'basic' or 'bottleneck', got {block!r}")
        self.in_features = in_features
        self.stem_conv: nn.Conv1d | None = None
        self.stem_bn: MaskedBatchNorm1d | None = None
        width = in_features
        if stem_channels is not None:
            check_int(stem_channels, "stem_channels", 1)
            check_int(stem_stride, "stem_stride", 1)
            _check_odd(stem_kernel_size)
            self.stem_conv = nn.Conv1d(
                in_features,
                stem_channels,
                stem_kernel_size,
                stem_stride,
                stem_kernel_size // 2,
                bias=False,
            )
            self.stem_bn = MaskedBatchNorm1d(stem_channels)
            width = stem_channels
        layers: list[_Block1d] = []
        for out, count, stride in zip(channels, blocks, strides):
            check_int(count, "blocks", 1)
            for j in range(count):
                s = stride if j == 0 else 1
                b: _Block1d
                if block == "basic":
                    b = BasicBlock1d(
                        width, out, s, kernel_size, dropout, zero_init_residual, residual
                    )
                else:
                    b = Bottleneck1d(
                        width, out, s, kernel_size, expansion, dropout, zero_init_residual, residual
                    )
                layers.append(b)
                width = out
        self.blocks = nn.ModuleList(layers)
        self.output_size = width
        if kaiming_init:
            for m in self.modules():
                if isinstance(m, nn.Conv1d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                elif isinstance(m, nn.BatchNorm1d):
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)
            if zero_init_residual:
                for m in self.modules():
                    if isinstance(m, BasicBlock1d):
                        nn.init.zeros_(m.bn2.weight)
                    elif isinstance(m, Bottleneck1d):
                        nn.init.zeros_(m.bn3.weight)

    def output_lengths(self, lengths: Tensor) -> Tensor:
        """Frame counts after the stem and every block's stride.

        Args:
            lengths: ``(B,)`` int64 input frame counts.

        Returns:
            ``(B,)`` int64 output frame counts.

        Example:
            >>> emb = ResNet1dEmbedder(13, (8, 8), (1, 1), (2, 2))
            >>> emb.output_lengths(torch.tensor([9])).tolist()
            [3]
        """
        if self.stem_conv is not None:
            lengths = conv1d_output_lengths(self.stem_conv, lengths)
        for b in self._block_list():
            lengths = b._out_lengths(lengths)
        return lengths

    def _block_list(self) -> list[_Block1d]:
        return cast("list[_Block1d]", list(self.blocks))

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Embed a batch.

        Args:
            x: ``(B, T, in_features)`` float features.
            lengths: ``(B,)`` int64 valid frame counts, each in ``[1, T]``.

        Returns:
            ``(y, out_lengths)``: ``y`` of shape ``(B, T', output_size)``, zero
            at padded frames; ``out_lengths`` ``(B,)`` int64, exact through
            every stride (the ``torch.nn.Conv1d`` length formula).
        """
        lengths = check_features(x, lengths, "x", self.in_features)
        h = x.transpose(1, 2)
        mask = time_mask(lengths, h.shape[2], h.dtype, h.device)
        if self.stem_conv is not None and self.stem_bn is not None:
            h = self.stem_conv(apply_mask(h, mask))
            lengths = conv1d_output_lengths(self.stem_conv, lengths)
            mask = None if mask is None else time_mask(lengths, h.shape[2], h.dtype, h.device)
            h = F.relu(self.stem_bn(h, mask))
        for b in self._block_list():
            h, lengths, mask = b._forward_cf(h, lengths, mask)
        return apply_mask(h, mask).transpose(1, 2), lengths
