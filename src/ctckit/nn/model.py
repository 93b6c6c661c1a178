"""The CTC model (embedder + encoder + head) and a checked, batch-first CTC loss."""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

from ctckit.errors import InputTypeError, InputValueError, ShapeError
from ctckit.nn._masking import check_features
from ctckit.nn.encoder import BiLSTMEncoder
from ctckit.nn.head import CTCHead

__all__ = ["CTCModel", "ctc_loss", "infeasible_ctc_targets"]

Reduction = Literal["mean", "sum", "none"]


def _int_tensor(name: str, t: object) -> Tensor:
    if not isinstance(t, Tensor):
        raise InputTypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if t.dtype.is_floating_point or t.dtype == torch.bool or t.is_complex():
        raise InputTypeError(f"{name} must be an integer tensor, got dtype {t.dtype}")
    return t


def _repeats_and_lengths(targets: Tensor, target_lengths: Tensor) -> Tensor:
    """Number of adjacent equal labels inside each target, ``(B,)`` int64."""
    if targets.dim() == 2:
        if targets.shape[1] < 2:
            return torch.zeros_like(target_lengths)
        same = targets[:, 1:] == targets[:, :-1]
        pos = torch.arange(1, targets.shape[1], device=targets.device)
        inside = pos[None, :] < target_lengths[:, None]
        return (same & inside).sum(dim=1)
    # concatenated 1-D targets
    batch = target_lengths.shape[0]
    seg = torch.repeat_interleave(torch.arange(batch, device=targets.device), target_lengths)
    if targets.numel() < 2:
        return torch.zeros_like(target_lengths)
    same = (targets[1:] == targets[:-1]) & (seg[1:] == seg[:-1])
    out = torch.zeros(batch, dtype=torch.long, device=targets.device)
    return out.index_add_(0, seg[1:], same.long())


def infeasible_ctc_targets(
    input_lengths: Tensor, targets: Tensor, target_lengths: Tensor
) -> Tensor:
    """Which targets cannot be emitted in their number of input frames.

    A CTC alignment of a target of ``U`` labels needs one frame per label plus
    one blank between every pair of equal adjacent labels, so at least
    ``U + repeats`` frames. Such targets have zero probability (infinite loss).

    Args:
        input_lengths: ``(B,)`` int frame counts (after any downsampling).
        targets: ``(B, S)`` padded label ids, or 1-D ``(sum(target_lengths),)``
            concatenated label ids.
        target_lengths: ``(B,)`` int label counts.

    Returns:
        ``(B,)`` bool, True where ``input_lengths < target_lengths + repeats``.

    Example:
        >>> infeasible_ctc_targets(torch.tensor([3, 3]), torch.tensor([[1, 1, 2], [1, 2, 3]]),
        ...                        torch.tensor([3, 3])).tolist()
        [True, False]
    """
    _int_tensor("input_lengths", input_lengths)
    _int_tensor("targets", targets)
    _int_tensor("target_lengths", target_lengths)
    target_lengths = target_lengths.long().to(targets.device)
    required = target_lengths + _repeats_and_lengths(targets, target_lengths)
    return input_lengths.long().to(required.device) < required


def _check_loss_inputs(
    log_probs: Tensor,
    targets: Tensor,
    input_lengths: Tensor,
    target_lengths: Tensor,
    blank: int,
) -> None:
    if not isinstance(log_probs, Tensor):
        raise InputTypeError(f"log_probs must be a torch.Tensor, got {type(log_probs).__name__}")
    if log_probs.dim() != 3:
        raise ShapeError(f"expected log_probs of shape (B, T, V), got {tuple(log_probs.shape)}")
    if not log_probs.is_floating_point():
        raise InputTypeError(f"log_probs must be floating point, got {log_probs.dtype}")
    batch, time, vocab = log_probs.shape
    for name, t in (
        ("targets", targets),
        ("input_lengths", input_lengths),
        ("target_lengths", target_lengths),
    ):
        _int_tensor(name, t)
    for name, t in (("input_lengths", input_lengths), ("target_lengths", target_lengths)):
        if t.shape != (batch,):
            raise ShapeError(f"expected {name} of shape ({batch},), got {tuple(t.shape)}")
    if not 0 <= blank < vocab:
        raise InputValueError(f"blank must lie in [0, {vocab}) for V={vocab}, got {blank}")
    if batch == 0:
        return
    lo, hi = int(input_lengths.min()), int(input_lengths.max())
    if lo < 0 or hi > time:
        raise InputValueError(
            f"input_lengths must lie in [0, {time}] (log_probs time axis), got min {lo}, max {hi}"
        )
    tl = target_lengths.long()
    if int(tl.min()) < 0:
        raise InputValueError(f"target_lengths must be >= 0, got {target_lengths.tolist()}")
    if targets.dim() == 2:
        if targets.shape[0] != batch:
            raise ShapeError(
                f"expected padded targets of shape ({batch}, S), got {tuple(targets.shape)}"
            )
        if int(tl.max()) > targets.shape[1]:
            raise InputValueError(
                f"target_lengths exceed the padded targets width {targets.shape[1]}: "
                f"max {int(tl.max())}"
            )
        pos = torch.arange(targets.shape[1], device=targets.device)
        valid = targets[pos[None, :] < tl.to(targets.device)[:, None]]
    elif targets.dim() == 1:
        if targets.shape[0] != int(tl.sum()):
            raise ShapeError(
                f"concatenated targets must have sum(target_lengths)={int(tl.sum())} labels, "
                f"got shape {tuple(targets.shape)}"
            )
        valid = targets
    else:
        raise ShapeError(f"expected targets of shape (B, S) or (N,), got {tuple(targets.shape)}")
    if valid.numel():
        if int(valid.min()) < 0 or int(valid.max()) >= vocab:
            raise InputValueError(
                f"target labels must lie in [0, {vocab}), got min {int(valid.min())}, "
                f"max {int(valid.max())}"
            )
        if bool((valid == blank).any()):
            raise InputValueError(f"targets contain the blank label {blank} inside their lengths")


def ctc_loss(
    log_probs: Tensor,
    targets: Tensor,
    input_lengths: Tensor,
    target_lengths: Tensor,
    *,
    blank: int = 0,
    reduction: Reduction = "mean",
    zero_infinity: bool = False,
) -> Tensor:
    """CTC loss of batch-first log-probabilities, with checked inputs.

    Transposes to ``(T, B, V)`` and calls :func:`torch.nn.functional.ctc_loss`
    with the same ``blank``, ``reduction`` and ``zero_infinity`` meanings
    (``"mean"`` divides each loss by its target length, then averages).

    Args:
        log_probs: ``(B, T, V)`` log-probabilities (log_softmax output).
        targets: ``(B, S)`` padded label ids, or 1-D concatenated label ids.
        input_lengths: ``(B,)`` int valid frames of ``log_probs``.
        target_lengths: ``(B,)`` int label counts.
        blank: Blank index.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (a ``(B,)`` tensor).
        zero_infinity: Give targets that need more frames than their input
            has (see :func:`infeasible_ctc_targets`) zero loss and gradient
            instead of raising; count them with :func:`infeasible_ctc_targets`.

    Returns:
        A scalar loss, or a ``(B,)`` tensor for ``reduction="none"``.

    Raises:
        ShapeError: On inconsistent shapes.
        InputTypeError: On non-integer lengths or targets.
        InputValueError: On out-of-range lengths or labels, blank inside a
            target, or (without ``zero_infinity``) infeasible targets, naming
            the utterance indices.

    Example:
        >>> logp = torch.randn(2, 6, 5).log_softmax(-1)
        >>> loss = ctc_loss(logp, torch.tensor([[1, 2], [3, 0]]), torch.tensor([6, 4]),
        ...                 torch.tensor([2, 1]))
        >>> loss.shape, bool(loss > 0)
        (torch.Size([]), True)
    """
    _check_loss_inputs(log_probs, targets, input_lengths, target_lengths, blank)
    if reduction not in ("mean", "sum", "none"):
        raise InputValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if not zero_infinity:
        bad = infeasible_ctc_targets(input_lengths, targets, target_lengths)
        if bool(bad.any()):
            idx = torch.nonzero(bad).flatten().tolist()
            shown = idx[:20]
            il = input_lengths.long()[shown].tolist()
            tl = target_lengths.long()[shown].tolist()
            raise InputValueError(
                f"{len(idx)} target(s) need more frames than their input provides (labels plus "
                f"one blank per repeated adjacent label): utterances {shown} with input lengths "
                f"{il} and target lengths {tl}; use a smaller time reduction, drop them, or pass "
                "zero_infinity=True"
            )
    return F.ctc_loss(
        log_probs.transpose(0, 1),
        targets,
        input_lengths.long(),
        target_lengths.long(),
        blank=blank,
        reduction=reduction,
        zero_infinity=zero_infinity,
    )


class CTCModel(nn.Module):
    """Embedder, encoder and head: features in, frame log-probabilities out.

    Any module with ``forward(x, lengths) -> (y, out_lengths)`` fits each
    slot. With a :class:`~ctckit.nn.encoder.BiLSTMEncoder` and a
    :class:`~ctckit.nn.head.CTCHead` the head runs directly on the LSTM's packed
    output (valid frames only), which skips padded frames.

    Args:
        embedder: A frame embedder (e.g. :class:`~ctckit.nn.resnet1d.ResNet1dEmbedder`)
            or ``None`` to feed features straight to the encoder.
        encoder: The sequence encoder (e.g. :class:`~ctckit.nn.encoder.BiLSTMEncoder`).
        head: The classifier (e.g. :class:`~ctckit.nn.head.CTCHead`).
        blank: Blank index (used by :meth:`ctc_loss`).

    Example:
        >>> from ctckit.nn import BiLSTMEncoder, CTCHead, ConvEmbedder
        >>> model = CTCModel(ConvEmbedder(13, (16,), stride=2), BiLSTMEncoder(16, 8, 1),
        ...                  CTCHead(16, 41, hidden=())).eval()
        >>> logp, n = model(torch.randn(2, 9, 13), torch.tensor([9, 6]))
        >>> tuple(logp.shape), n.tolist()
        ((2, 5, 41), [5, 3])
    """

    def __init__(
        self,
        embedder: nn.Module | None,
        encoder: nn.Module,
        head: nn.Module,
        blank: int = 0,
    ) -> None:
        super().__init__()
        self.embedder = embedder
        self.encoder = encoder
        self.head = head
        self.blank = blank

    @property
    def num_classes(self) -> int:
        """Output classes (from the head's ``num_classes``)."""
        return int(getattr(self.head, "num_classes", -1))

    def output_lengths(self, lengths: Tensor) -> Tensor:
        """Output frame counts for input frame counts, without running the model.

        Args:
            lengths: ``(B,)`` int64 input frame counts.

        Returns:
            ``(B,)`` int64 frame counts of the log-probabilities.

        Example:
            >>> from ctckit.nn.presets import build_preset
            >>> build_preset("resnet34_04f").output_lengths(torch.tensor([100, 7])).tolist()
            [50, 4]
        """
        for part in (self.embedder, self.encoder, self.head):
            fn = getattr(part, "output_lengths", None)
            if fn is not None:
                lengths = fn(lengths)
        return lengths

    def forward(self, features: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Compute frame log-probabilities.

        Args:
            features: ``(B, T, F)`` float features.
            lengths: ``(B,)`` int64 valid frame counts, each in ``[1, T]``.

        Returns:
            ``(log_probs, out_lengths)``: ``(B, T', V)`` log-probabilities
            (uniform at padded frames) and ``(B,)`` int64 valid frame counts.
        """
        lengths = check_features(features, lengths, "features")
        x = features
        if self.embedder is not None:
            x, lengths = self.embedder(x, lengths)
        if isinstance(self.encoder, BiLSTMEncoder) and isinstance(self.head, CTCHead):
            packed, lengths, time = self.encoder.forward_packed(x, lengths)
            frames = self.head.forward_frames(packed.data)
            out = PackedSequence(
                frames, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices
            )
            log_probs, _ = pad_packed_sequence(
                out,
                batch_first=True,
                padding_value=-math.log(self.head.num_classes),
                total_length=time,
            )
            return log_probs, lengths
        x, lengths = self.encoder(x, lengths)
        log_probs, lengths = self.head(x, lengths)
        return log_probs, lengths

    def ctc_loss(
        self,
        log_probs: Tensor,
        targets: Tensor,
        input_lengths: Tensor,
        target_lengths: Tensor,
        *,
        reduction: Reduction = "mean",
        zero_infinity: bool = False,
    ) -> Tensor:
        """:func:`ctckit.nn.model.ctc_loss` with this model's blank.

        Args:
            log_probs: ``(B, T, V)`` output of :meth:`forward`.
            targets: ``(B, S)`` padded or 1-D concatenated label ids.
            input_lengths: ``(B,)`` the ``out_lengths`` of :meth:`forward`.
            target_lengths: ``(B,)`` label counts.
            reduction: ``"mean"``, ``"sum"`` or ``"none"``.
            zero_infinity: See :func:`ctckit.nn.model.ctc_loss`.

        Returns:
            The loss (scalar, or ``(B,)`` with ``reduction="none"``).

        Example:
            >>> from ctckit.nn.presets import build_preset
            >>> model = build_preset("compact").eval()
            >>> logp, n = model(torch.randn(2, 12, 13), torch.tensor([12, 8]))
            >>> model.ctc_loss(logp, torch.tensor([[5, 6], [7, 0]]), n, torch.tensor([2, 1])).dim()
            0
        """
        return ctc_loss(
            log_probs,
            targets,
            input_lengths,
            target_lengths,
            blank=self.blank,
            reduction=reduction,
            zero_infinity=zero_infinity,
        )
