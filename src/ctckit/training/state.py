"""Everything a training run must remember to resume exactly, in one object.

A :class:`TrainState` holds the pieces a run mutates (model, optimiser,
scheduler, gradient scaler, batch sampler, the augmenter's generator, an
optional weight averager) and the bookkeeping around them (completed epochs,
optimiser steps, the best validation score and its epoch, the running totals
of the epoch in progress). :meth:`TrainState.state_dict` gathers it all,
including every process's random generator states under
``torch.distributed``, into plain values and tensors that load with
``torch.load(weights_only=True)``; :meth:`TrainState.load_state_dict` puts it
back. :class:`ctckit.training.RunDirectory` writes and reads it as
``last.pt``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import torch
import torch.distributed as dist

from ctckit.data.sampler import BucketBatchSampler
from ctckit.errors import DataError, InputTypeError
from ctckit.training.checkpoint import (
    _restore_model,
    _restore_part,
    _unwrap,
    capture_rng_state,
    restore_rng_state,
)
from ctckit.training.loop import EpochResult

__all__ = ["Stateful", "TrainState"]


@runtime_checkable
class Stateful(Protocol):
    """Anything with ``state_dict()`` and ``load_state_dict(state)``.

    LR schedulers, gradient scalers, samplers and weight averagers (an EMA)
    all qualify.

    Example:
        >>> isinstance(torch.optim.SGD([torch.zeros(1)], lr=0.1), Stateful)
        True
    """

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state_dict: dict[str, Any], /) -> Any: ...


def _gather(value: Any) -> list[Any]:
    """``value`` of every process, in rank order (``[value]`` outside a process group)."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return [value]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, value)
    return out


def _rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


class TrainState:
    """The mutable state of a training run and its bookkeeping.

    Args:
        model: The model (a ``DistributedDataParallel`` wrapper is unwrapped).
        optimizer: The optimiser.
        scheduler: Any :class:`Stateful` learning-rate schedule (a torch LR
            scheduler, :class:`ctckit.training.schedules.WarmupCosineLR`, ...).
        scaler: The AMP ``torch.amp.GradScaler``.
        sampler: The batch sampler, usually a
            :class:`~ctckit.data.BucketBatchSampler` (any :class:`Stateful`).
        augment_rng: The augmenter's own generator (for example
            ``TimeFrequencyMask(...).generator``), one per process.
        averager: A weight averager with ``state_dict()`` /
            ``load_state_dict()`` (for example
            :class:`ctckit.training.averaging.ExponentialMovingAverage`).

    Attributes:
        epoch: Completed epochs.
        step: Optimiser steps (batches trained) over the whole run.
        best_score: Best validation score so far (lower is better), or ``None``.
        best_epoch: The epoch (1-based) that reached ``best_score``, or ``None``.
        epoch_totals: This process's running totals of the epoch in progress
            (what :func:`~ctckit.training.train_one_epoch` continues from).

    Example:
        >>> model = torch.nn.Linear(2, 2)
        >>> state = TrainState(model, torch.optim.SGD(model.parameters(), lr=0.1))
        >>> state.finish_epoch(3.5), state.finish_epoch(4.0), (state.epoch, state.best_epoch)
        (True, False, (2, 1))
        >>> again = TrainState(torch.nn.Linear(2, 2), torch.optim.SGD(model.parameters(), lr=0.1))
        >>> again.load_state_dict(state.state_dict())
        >>> again.epoch, again.best_score, bool(torch.equal(again.model.weight, model.weight))
        (2, 3.5, True)
    """

    def __init__(
        self,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer | None = None,
        scheduler: Stateful | None = None,
        scaler: torch.amp.GradScaler | None = None,
        sampler: Stateful | None = None,
        augment_rng: torch.Generator | None = None,
        averager: Stateful | None = None,
    ) -> None:
        if not isinstance(model, torch.nn.Module):
            raise InputTypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
            raise InputTypeError(
                f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}"
            )
        for name, part in (("scheduler", scheduler), ("sampler", sampler), ("averager", averager)):
            if part is not None and not isinstance(part, Stateful):
                raise InputTypeError(
                    f"{name} must have state_dict() and load_state_dict(), got "
                    f"{type(part).__name__}"
                )
        if augment_rng is not None and not isinstance(augment_rng, torch.Generator):
            raise InputTypeError(
                f"augment_rng must be a torch.Generator, got {type(augment_rng).__name__}"
            )
        self.model = _unwrap(model)
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.scaler = scaler
        self.sampler = sampler
        self.augment_rng = augment_rng
        self.averager = averager
        self.epoch = 0
        self.step = 0
        self.best_score: float | None = None
        self.best_epoch: int | None = None
        self.epoch_totals = EpochResult()

    @property
    def batches_consumed(self) -> int:
        """Batches of the epoch in progress trained on this process (0 between epochs)."""
        return self.epoch_totals.batches

    def record_step(self, totals: EpochResult) -> None:
        """Note one more optimiser step; ``totals`` are the epoch's running totals.

        Pass it as (or call it from) ``train_one_epoch(..., on_step=...)``.
        """
        self.epoch_totals = totals
        self.step += 1

    def finish_epoch(self, score: float) -> bool:
        """Close the epoch in progress with its validation ``score`` (lower is better).

        Returns:
            Whether ``score`` is a new best (then :attr:`best_epoch` is this epoch).
        """
        self.epoch += 1
        self.epoch_totals = EpochResult()
        improved = self.best_score is None or score < self.best_score
        if improved:
            self.best_score, self.best_epoch = float(score), self.epoch
        return improved

    def state_dict(self) -> dict[str, Any]:
        """Everything to resume from, as tensors and plain values.

        Under ``torch.distributed`` every process must call it (it gathers
        each rank's generator states and sums the running totals); every
        process gets the same dict back.

        Returns:
            The checkpoint fields: ``model``, ``optimizer``, ``scheduler``,
            ``scaler``, ``sampler``, ``averager``, ``rng`` and
            ``augment_rng`` (one entry per rank), ``epoch``, ``step``,
            ``batches_consumed``, ``best_score``, ``best_epoch``,
            ``epoch_totals``.
        """
        sampler = None if self.sampler is None else dict(self.sampler.state_dict())
        if isinstance(self.sampler, BucketBatchSampler) and sampler is not None:
            # A DataLoader with workers draws batches ahead of the loop: keep the loop's count.
            sampler["batches_consumed"] = self.batches_consumed
        totals = self.epoch_totals.reduced() if self.batches_consumed else EpochResult()
        return {
            "model": self.model.state_dict(),
            "optimizer": None if self.optimizer is None else self.optimizer.state_dict(),
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
            "scaler": None if self.scaler is None else self.scaler.state_dict(),
            "sampler": sampler,
            "averager": None if self.averager is None else self.averager.state_dict(),
            "rng": _gather(capture_rng_state()),
            "augment_rng": None
            if self.augment_rng is None
            else _gather(self.augment_rng.get_state()),
            "epoch": self.epoch,
            "step": self.step,
            "batches_consumed": self.batches_consumed,
            "best_score": self.best_score,
            "best_epoch": self.best_epoch,
            "epoch_totals": totals.as_dict(),
        }

    def load_state_dict(
        self,
        state: Mapping[str, Any],
        *,
        restore_rng: bool = True,
        path: str | os.PathLike[str] | None = None,
    ) -> None:
        """Restore what :meth:`state_dict` returned (or a checkpoint read back).

        Each process restores its own rank's generator states. Checkpoints
        written by ctckit 0.1's ``train.py`` (augmenter states and running
        totals under ``extra``) load too.

        Args:
            state: The dict, e.g. :func:`~ctckit.training.read_checkpoint`'s.
            restore_rng: Also restore the Python, NumPy, torch and
                augmenter generators.
            path: The file it came from, named in errors.

        Raises:
            DataError: If a part does not fit (other weights, another
                sampler setting), or the state holds no optimiser state
                while this one has an optimiser (a ``best.pt`` holds weights
                only).
        """
        where = "state" if path is None else path
        if self.optimizer is not None and not state.get("optimizer"):
            raise DataError(
                "holds no optimiser state, only weights (a best.pt?): resume from the run's "
                "last.pt",
                path=where,
            )
        _restore_model(self.model, state, where)
        for name, part in (
            ("optimizer", self.optimizer),
            ("scheduler", self.scheduler),
            ("scaler", self.scaler),
            ("sampler", self.sampler),
            ("averager", self.averager),
        ):
            _restore_part(part, state, name, where)
        extra = state.get("extra") or {}
        rank = _rank()
        if restore_rng:
            states = state.get("rng") or []
            if not states:
                raise DataError("holds no random number generator state", path=where)
            restore_rng_state(states[rank] if rank < len(states) else states[0])
            augment = state.get("augment_rng", extra.get("augment_rng"))
            if self.augment_rng is not None and augment:
                self.augment_rng.set_state(augment[min(rank, len(augment) - 1)])
        self.epoch = int(state["epoch"])
        self.step = int(state.get("step", 0))
        best = state.get("best_score")
        self.best_score = None if best is None else float(best)
        best_epoch = state.get("best_epoch")
        self.best_epoch = None if best_epoch is None else int(best_epoch)
        saved = state.get("epoch_totals", extra.get("epoch_totals")) or {}
        totals = EpochResult.from_dict(dict(saved))
        if not totals.batches:  # older files may hold the position alone
            totals = EpochResult(batches=int(state.get("batches_consumed", 0)))
        if rank != 0:  # rank 0 carries the summed totals of the part already done
            totals = EpochResult(batches=totals.batches, seconds=totals.seconds)
        self.epoch_totals = totals
