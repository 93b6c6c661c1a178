"""SpecAugment-style masking of time steps and feature dimensions."""

from __future__ import annotations

import torch
from torch import nn

from ctckit._checks import check_float, check_int, is_tensor
from ctckit.errors import InputTypeError, InputValueError, ShapeError

__all__ = ["TimeFrequencyMask"]


class TimeFrequencyMask(nn.Module):
    """Mask random time spans and feature bands of a padded batch (training only).

    For each utterance ``b`` of valid length ``L = lengths[b]``, draws
    ``time_masks`` spans of width ``w`` uniform in ``[0, W]`` with
    ``W = min(max_time_width, floor(max_time_fraction * L))``, each starting
    uniformly so that it lies within the first ``L`` frames, and
    ``freq_masks`` bands of width uniform in ``[0, min(max_freq_width, F)]``
    over the feature dimensions; masked entries become ``mask_value``.
    Padded frames are never touched. In eval mode (``module.eval()``) the
    input is returned unchanged.

    Randomness comes from the module's own CPU ``torch.Generator`` seeded
    with ``seed`` (``None``: a nondeterministic seed), so a run is
    reproducible regardless of other random draws; :meth:`reseed` restarts
    it.

    Args:
        time_masks: Number of time spans per utterance.
        max_time_width: Largest span, in frames.
        max_time_fraction: Largest span as a fraction of the utterance length.
        freq_masks: Number of feature bands per utterance.
        max_freq_width: Largest band, in feature dimensions.
        mask_value: Value written into masked entries.
        seed: Seed of the generator.

    Example:
        >>> aug = TimeFrequencyMask(time_masks=1, max_time_width=3, freq_masks=1,
        ...                         max_freq_width=2, seed=0)
        >>> x, lengths = torch.ones(2, 10, 4), torch.tensor([10, 6])
        >>> y, out_lengths = aug(x, lengths)
        >>> tuple(y.shape), bool((y[1, 6:] == 1).all()), out_lengths is lengths
        ((2, 10, 4), True, True)
        >>> aug.eval()(x, lengths)[0] is x
        True
    """

    def __init__(
        self,
        time_masks: int = 2,
        max_time_width: int = 20,
        max_time_fraction: float = 0.2,
        freq_masks: int = 2,
        max_freq_width: int = 3,
        mask_value: float = 0.0,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        self.time_masks = check_int(time_masks, "time_masks", 0)
        self.max_time_width = check_int(max_time_width, "max_time_width", 0)
        self.max_time_fraction = check_float(max_time_fraction, "max_time_fraction", 0.0, 1.0)
        self.freq_masks = check_int(freq_masks, "freq_masks", 0)
        self.max_freq_width = check_int(max_freq_width, "max_freq_width", 0)
        self.mask_value = check_float(mask_value, "mask_value")
        self.generator = torch.Generator()
        self.reseed(seed)

    def reseed(self, seed: int | None) -> None:
        """Restart the generator from ``seed`` (``None``: a fresh random seed).

        Example:
            >>> aug = TimeFrequencyMask(seed=1)
            >>> x = torch.randn(1, 50, 13)
            >>> a = aug(x, torch.tensor([50]))[0]; aug.reseed(1)
            >>> torch.equal(a, aug(x, torch.tensor([50]))[0])
            True
        """
        if seed is None:
            self.generator.seed()
        else:
            self.generator.manual_seed(check_int(seed, "seed", 0, 2**64 - 1))

    def extra_repr(self) -> str:
        return (
            f"time_masks={self.time_masks}, max_time_width={self.max_time_width}, "
            f"max_time_fraction={self.max_time_fraction}, freq_masks={self.freq_masks}, "
            f"max_freq_width={self.max_freq_width}, mask_value={self.mask_value}"
        )

    def _spans(
        self, count: int, max_width: torch.Tensor, extent: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``count`` spans per row: width in ``[0, max_width]``, inside ``[0, extent)``."""
        b = max_width.shape[0]
        u = torch.rand((b, count, 2), generator=self.generator, dtype=torch.float64)
        width = torch.floor(u[..., 0] * (max_width[:, None] + 1).to(torch.float64)).long()
        width = torch.minimum(width, max_width[:, None])
        room = (extent[:, None] - width + 1).clamp(min=1)
        start = torch.minimum(torch.floor(u[..., 1] * room.to(torch.float64)).long(), room - 1)
        return start, start + width

    def forward(
        self, features: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mask a batch.

        Args:
            features: ``(B, T, F)`` floating features.
            lengths: ``(B,)`` int64 valid frame counts; ``None`` means all
                ``T`` frames are valid.

        Returns:
            ``(masked features, lengths)``: a new tensor in training mode (the
            input is not modified), the input itself in eval mode; lengths
            are passed through.

        Raises:
            InputTypeError: On features that are not a floating tensor, or
                lengths that are not an integer tensor (a list, say).
            ShapeError: On a wrong rank or lengths shape.
            InputValueError: On lengths outside ``[0, T]``.
        """
        if not isinstance(features, torch.Tensor) or not features.is_floating_point():
            raise InputTypeError(
                "features must be a floating torch.Tensor, got "
                + (str(features.dtype) if is_tensor(features) else type(features).__name__)
            )
        if features.dim() != 3:
            raise ShapeError(f"expected features of shape (B, T, F), got {tuple(features.shape)}")
        b, t, f = features.shape
        if lengths is None:
            lengths = torch.full((b,), t, dtype=torch.int64, device=features.device)
        if not isinstance(lengths, torch.Tensor):
            raise InputTypeError(
                f"lengths must be a (B,) int64 torch.Tensor, got {type(lengths).__name__} "
                "(convert with torch.tensor(lengths))"
            )
        if (
            lengths.dtype.is_floating_point
            or lengths.dtype.is_complex
            or lengths.dtype == torch.bool
        ):
            raise InputTypeError(f"lengths must hold integer frame counts, got {lengths.dtype}")
        if lengths.shape != (b,):
            raise ShapeError(f"expected lengths of shape ({b},), got {tuple(lengths.shape)}")
        if not self.training:
            return features, lengths
        valid = lengths.detach().to("cpu", torch.int64)
        if bool((valid < 0).any()) or bool((valid > t).any()):
            raise InputValueError(f"lengths must lie in [0, {t}], got {valid.tolist()}")
        mask = torch.zeros((b, t, f), dtype=torch.bool)
        if self.time_masks and t:
            cap = torch.floor(valid.to(torch.float64) * self.max_time_fraction).long()
            cap = cap.clamp(max=self.max_time_width)
            start, stop = self._spans(self.time_masks, cap, valid)
            frames = torch.arange(t)
            hit = (frames >= start[..., None]) & (frames < stop[..., None])  # (B, n, T)
            mask |= hit.any(dim=1)[:, :, None]
        if self.freq_masks and f:
            cap = torch.full((b,), min(self.max_freq_width, f), dtype=torch.int64)
            start, stop = self._spans(self.freq_masks, cap, torch.full((b,), f))
            dims = torch.arange(f)
            hit = (dims >= start[..., None]) & (dims < stop[..., None])  # (B, n, F)
            band = hit.any(dim=1)[:, None, :]
            in_utt = (torch.arange(t)[None, :] < valid[:, None])[:, :, None]
            mask |= band & in_utt
        return features.masked_fill(mask.to(features.device), self.mask_value), lengths
