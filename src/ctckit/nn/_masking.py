"""Private helpers: length checks, exact conv output lengths, padding masks, masked BatchNorm.

The masking contract used throughout :mod:`ctckit.nn`:

* A padding mask is a float tensor of shape ``(B, 1, T)`` (channels-first, for
  the conv stacks) holding 1.0 on valid frames and 0.0 on padded frames, or
  ``None`` when the batch has no padding at all (every length equals ``T``);
  ``None`` lets every module skip the masking work entirely.
* Frames are zeroed before every convolution whose kernel spans more than
  one frame, so a valid output frame only ever sees valid input frames or
  zeros, exactly as if the utterance were run alone with the conv's own
  zero padding.
* :class:`MaskedBatchNorm1d` computes training statistics over valid frames
  only; in eval mode it uses the running statistics, which act frame by
  frame.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ctckit.errors import InputTypeError, InputValueError, ShapeError

__all__: list[str] = []


def conv_output_lengths(
    lengths: Tensor, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> Tensor:
    """Exact ``torch.nn.Conv1d`` output lengths.

    ``floor((L + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1``.

    Example:
        >>> conv_output_lengths(torch.tensor([5, 6]), kernel_size=3, stride=2, padding=1).tolist()
        [3, 3]
    """
    num = lengths + (2 * padding - dilation * (kernel_size - 1) - 1)
    return torch.div(num, stride, rounding_mode="floor") + 1


def conv1d_output_lengths(conv: nn.Conv1d, lengths: Tensor) -> Tensor:
    """:func:`conv_output_lengths` with the hyper-parameters of ``conv`` (integer padding).

    Example:
        >>> conv1d_output_lengths(nn.Conv1d(1, 1, 3, stride=2, padding=1), torch.tensor([5]))
        tensor([3])
    """
    return conv_output_lengths(
        lengths, conv.kernel_size[0], conv.stride[0], int(conv.padding[0]), conv.dilation[0]
    )


def check_features(
    x: Tensor, lengths: Tensor, name: str = "x", features: int | None = None
) -> Tensor:
    """Validate a batch-first ``(B, T, F)`` batch and its lengths; return int64 lengths."""
    if not isinstance(x, Tensor):
        raise InputTypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not isinstance(lengths, Tensor):
        raise InputTypeError(f"lengths must be a torch.Tensor, got {type(lengths).__name__}")
    if x.dim() != 3:
        raise ShapeError(f"expected {name} of shape (B, T, F), got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise InputTypeError(f"{name} must be a floating-point tensor, got {x.dtype}")
    if features is not None and x.shape[2] != features:
        raise ShapeError(
            f"expected {name} with {features} features (B, T, {features}), got {tuple(x.shape)}"
        )
    return check_lengths(lengths, x.shape[0], x.shape[1])


def check_lengths(lengths: Tensor, batch: int, time: int, name: str = "lengths") -> Tensor:
    """Validate ``(B,)`` integer frame counts in ``[1, T]``; return them as int64."""
    if lengths.dtype.is_floating_point or lengths.dtype == torch.bool or lengths.is_complex():
        raise InputTypeError(f"{name} must hold integer frame counts, got dtype {lengths.dtype}")
    if lengths.shape != (batch,):
        raise ShapeError(f"expected {name} of shape ({batch},), got {tuple(lengths.shape)}")
    lengths = lengths.long()
    if batch:
        lo, hi = int(lengths.min()), int(lengths.max())
        if lo < 1 or hi > time:
            raise InputValueError(
                f"{name} must lie in [1, {time}] (the padded time axis), got min {lo} and max {hi}"
            )
    return lengths


def time_mask(
    lengths: Tensor, time: int, dtype: torch.dtype, device: torch.device | None = None
) -> Tensor | None:
    """A ``(B, 1, T)`` mask of valid frames (``dtype``, on ``device``), or ``None`` if unpadded."""
    if lengths.numel() == 0 or bool((lengths >= time).all()):
        return None
    lengths = lengths.to(device) if device is not None else lengths
    steps = torch.arange(time, device=lengths.device)
    return (steps[None, :] < lengths[:, None]).unsqueeze(1).to(dtype)


def apply_mask(x: Tensor, mask: Tensor | None) -> Tensor:
    """Zero padded frames of a ``(B, C, T)`` tensor (no-op when ``mask`` is None)."""
    return x if mask is None else x * mask


class MaskedBatchNorm1d(nn.BatchNorm1d):
    """BatchNorm over channels whose training statistics skip padded frames.

    ``forward(x, mask)`` takes ``x`` of shape ``(B, C, T)`` and a mask from
    :func:`time_mask`. With ``mask=None``, or in eval mode with running
    statistics, it is exactly :class:`torch.nn.BatchNorm1d`. Otherwise the
    batch mean and (biased) variance are taken over the valid frames only,
    and in training mode the running statistics are updated from them
    (unbiased variance, as PyTorch does).
    """

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        if mask is None or (not self.training and self.track_running_stats):
            return super().forward(x)
        count = mask.sum()
        mean = (x * mask).sum(dim=(0, 2)) / count
        centered = x - mean[None, :, None]
        var = (centered * centered * mask).sum(dim=(0, 2)) / count
        if (
            self.training
            and self.running_mean is not None
            and self.running_var is not None
            and self.num_batches_tracked is not None
        ):
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                if self.momentum is None:
                    factor = 1.0 / float(self.num_batches_tracked)
                else:
                    factor = self.momentum
                unbiased = var.detach() * (count / (count - 1.0).clamp_min(1.0))
                self.running_mean.lerp_(mean.detach().to(self.running_mean.dtype), factor)
                self.running_var.lerp_(unbiased.to(self.running_var.dtype), factor)
        scale = torch.rsqrt(var + self.eps)
        if self.weight is not None:
            scale = scale * self.weight
        y = centered * scale[None, :, None]
        if self.bias is not None:
            y = y + self.bias[None, :, None]
        return y


_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
}


def make_activation(name: str | None) -> nn.Module:
    """An activation module by name (``None`` gives identity)."""
    if name is None:
        return nn.Identity()
    try:
        return _ACTIVATIONS[name]()
    except KeyError:
        raise InputValueError(
            f"unknown activation {name!r}; expected one of {sorted(_ACTIVATIONS)} or None"
        ) from None
