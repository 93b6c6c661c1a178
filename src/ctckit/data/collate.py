"""Padding utterances into a batch for CTC training."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch.nn.utils.rnn import pad_sequence

from ctckit._checks import check_device
from ctckit.data.dataset import Utterance
from ctckit.errors import InputTypeError, InputValueError, ShapeError

__all__ = ["CTCBatch", "collate_ctc"]


@dataclass(frozen=True, eq=False)
class CTCBatch:
    """A padded batch of utterances.

    Attributes:
        features: ``(B, T, F)`` float32, zero-padded after each utterance's
            ``feature_lengths[b]`` frames.
        feature_lengths: ``(B,)`` int64 frame counts.
        targets: ``(B, U)`` int64 label ids, zero-padded after
            ``target_lengths[b]``; ``U = 0`` for unlabeled data.
        target_lengths: ``(B,)`` int64 (all 0 for unlabeled data).
        ids: The ``B`` utterance ids, in batch order.

    ``torch.utils.data.DataLoader(..., pin_memory=True)`` calls
    :meth:`pin_memory` on it.

    Example:
        >>> b = collate_ctc([Utterance(torch.ones(3, 2), torch.tensor([5]), "u")])
        >>> len(b), tuple(b.features.shape), b.to("cpu").ids
        (1, (1, 3, 2), ('u',))
    """

    features: torch.Tensor
    feature_lengths: torch.Tensor
    targets: torch.Tensor
    target_lengths: torch.Tensor
    ids: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.ids)

    def to(self, device: torch.device | str, non_blocking: bool = False) -> CTCBatch:
        """Copy every tensor to ``device``.

        Raises:
            InputValueError: If ``device`` is not a device name, or not
                available (``"cuda"`` on a CPU-only build).

        Example:
            >>> b = collate_ctc([Utterance(torch.ones(3, 2), None, "u")])
            >>> b.to("cpu").features.device.type
            'cpu'
        """
        try:
            features, feature_lengths, targets, target_lengths = (
                t.to(device, non_blocking=non_blocking)
                for t in (self.features, self.feature_lengths, self.targets, self.target_lengths)
            )
        except (RuntimeError, AssertionError, TypeError, ValueError):
            check_device(device)  # names the problem when it is the device
            raise
        return CTCBatch(features, feature_lengths, targets, target_lengths, self.ids)

    def pin_memory(self) -> CTCBatch:
        """Copy every tensor into page-locked memory (needs an accelerator).

        Example:
            >>> b = collate_ctc([Utterance(torch.ones(3, 2), None, "u")])
            >>> b.pin_memory().features.is_pinned() if torch.cuda.is_available() else True
            True
        """
        return CTCBatch(
            self.features.pin_memory(),
            self.feature_lengths.pin_memory(),
            self.targets.pin_memory(),
            self.target_lengths.pin_memory(),
            self.ids,
        )


def collate_ctc(items: Sequence[Utterance], sort_by_length: bool = False) -> CTCBatch:
    """Pad a list of utterances into a :class:`CTCBatch`.

    Use as ``DataLoader(dataset, collate_fn=collate_ctc, ...)``.

    Args:
        items: ``B >= 1`` utterances with features of equal width ``F``;
            either all labelled or all unlabeled.
        sort_by_length: Order the batch by decreasing frame count (as
            ``pack_padded_sequence(..., enforce_sorted=True)`` wants);
            otherwise keep the given order.

    Returns:
        The padded batch; features are float32, lengths and targets int64.

    Raises:
        InputValueError: On an empty list or a mix of labelled and
            unlabeled items.
        ShapeError: On features that are not 2-D or differ in width, or
            targets that are not 1-D.
        InputTypeError: On items that are not :class:`Utterance`.

    Example:
        >>> items = [Utterance(torch.ones(2, 3), torch.tensor([1]), "a"),
        ...          Utterance(torch.ones(4, 3), torch.tensor([2, 3]), "b")]
        >>> b = collate_ctc(items, sort_by_length=True)
        >>> b.ids, b.feature_lengths.tolist(), b.targets.tolist()
        (('b', 'a'), [4, 2], [[2, 3], [1, 0]])
    """
    items = list(items)
    if not items:
        raise InputValueError("cannot collate an empty list of utterances")
    for i, item in enumerate(items):
        if not isinstance(item, Utterance):
            raise InputTypeError(f"item {i} must be an Utterance, got {type(item).__name__}")
        if item.features.dim() != 2:
            raise ShapeError(
                f"item {i} ({item.id}): expected features (T, F), got {tuple(item.features.shape)}"
            )
        if item.features.shape[1] != items[0].features.shape[1]:
            raise ShapeError(
                f"item {i} ({item.id}) has {item.features.shape[1]} features per frame, "
                f"item 0 ({items[0].id}) has {items[0].features.shape[1]}"
            )
    labelled = [item.targets is not None for item in items]
    if any(labelled) and not all(labelled):
        raise InputValueError(
            f"cannot mix labelled and unlabeled items: item {labelled.index(False)} has no targets"
        )
    if sort_by_length:
        items.sort(key=lambda u: -u.features.shape[0])  # stable: ties keep their order
    features = pad_sequence([item.features.to(torch.float32) for item in items], batch_first=True)
    feature_lengths = torch.tensor([item.features.shape[0] for item in items], dtype=torch.int64)
    if all(labelled):
        targets_list = []
        for i, item in enumerate(items):
            t = item.targets
            if t is None or t.dim() != 1:
                raise ShapeError(
                    f"item {i} ({item.id}): expected targets (U,), got "
                    f"{None if t is None else tuple(t.shape)}"
                )
            targets_list.append(t.to(torch.int64))
        targets = pad_sequence(targets_list, batch_first=True)
        target_lengths = torch.tensor([t.shape[0] for t in targets_list], dtype=torch.int64)
    else:
        targets = torch.zeros((len(items), 0), dtype=torch.int64)
        target_lengths = torch.zeros(len(items), dtype=torch.int64)
    return CTCBatch(
        features, feature_lengths, targets, target_lengths, tuple(item.id for item in items)
    )
