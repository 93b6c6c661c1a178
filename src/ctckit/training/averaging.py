"""Weight averaging: an exponential moving average of a model, and checkpoint averaging.

:class:`ExponentialMovingAverage` keeps a copy of the model whose floating
parameters *and* floating buffers (BatchNorm running statistics) follow
``avg = decay * avg + (1 - decay) * current`` after each update; integer
buffers (BatchNorm's ``num_batches_tracked``) are copied. Evaluate or save
``ema.module`` instead of the model. A ``DistributedDataParallel`` (or
``DataParallel``) wrapper is unwrapped, so every rank keeps the same average
of the same synchronised weights. ``state_dict()`` / ``load_state_dict()``
hold the averaged weights, the update count and the settings (tensors and
plain values only, loadable with ``weights_only=True``), so a resumed run
continues the same average.

:func:`average_state_dicts` and :func:`average_checkpoints` average the
weights of several snapshots with equal weights, as icefall's
``average_checkpoints`` does for the last epochs of a run.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ctckit._checks import check_float
from ctckit.errors import InputTypeError, InputValueError
from ctckit.training.checkpoint import _unwrap, load_checkpoint

__all__ = ["ExponentialMovingAverage", "average_checkpoints", "average_state_dicts"]


class ExponentialMovingAverage:
    """An exponential moving average of a model's weights and floating buffers.

    After the ``n``-th call to :meth:`update` (``n`` from 1) every floating
    entry of the model's ``state_dict`` is averaged with the decay
    ``d_n = decay`` or, with ``warmup``, ``d_n = min(decay, (1 + n) / (10 +
    n))`` (the early updates follow the model closely, as in TensorFlow's
    and timm's EMA, so the average is not dominated by the initial weights).

    Args:
        model: The model to average (a DDP wrapper is unwrapped); the
            average starts as a copy of its current weights, on its device.
        decay: Decay per update, in ``[0, 1)``.
        warmup: Use the smaller decay ``(1 + n) / (10 + n)`` early on.

    Attributes:
        module: The averaged model (in eval mode, no gradients).
        updates: Number of updates so far.

    Example:
        >>> model = torch.nn.Linear(1, 1, bias=False)
        >>> _ = torch.nn.init.zeros_(model.weight)
        >>> ema = ExponentialMovingAverage(model, decay=0.5, warmup=False)
        >>> for value in (4.0, 8.0):
        ...     _ = model.weight.data.fill_(value)
        ...     ema.update(model)
        >>> ema.module.weight.item(), ema.updates
        (5.0, 2)
    """

    def __init__(self, model: nn.Module, decay: float = 0.999, *, warmup: bool = True) -> None:
        if not isinstance(model, nn.Module):
            raise InputTypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        self.decay = check_float(decay, "decay", 0.0, 1.0, high_open=True)
        self.warmup = bool(warmup)
        self.updates = 0
        self.module = copy.deepcopy(_unwrap(model)).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)

    def current_decay(self) -> float:
        """The decay the next :meth:`update` will use.

        Example:
            >>> ExponentialMovingAverage(torch.nn.Linear(1, 1), 0.999).current_decay()
            0.1
        """
        n = self.updates + 1
        return min(self.decay, (1 + n) / (10 + n)) if self.warmup else self.decay

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Fold the model's current weights into the average (after an optimiser step).

        Args:
            model: The trained model, with the same architecture as the
                average's (a DDP wrapper is unwrapped).

        Raises:
            InputValueError: If the model's state_dict has other keys.
        """
        weight = 1.0 - self.current_decay()
        current = _unwrap(model).state_dict()
        averaged = self.module.state_dict()
        if current.keys() != averaged.keys():
            missing = sorted(set(averaged) ^ set(current))[:5]
            raise InputValueError(
                f"model does not match the averaged model: keys differ (e.g. {missing})"
            )
        floats_avg: list[Tensor] = []
        floats_cur: list[Tensor] = []
        for name, avg in averaged.items():
            value = current[name]
            if avg.is_floating_point():
                floats_avg.append(avg)
                floats_cur.append(value.to(avg.device, avg.dtype))
            else:
                avg.copy_(value)
        if floats_avg:
            torch._foreach_lerp_(floats_avg, floats_cur, weight)
        self.updates += 1

    def copy_to(self, model: nn.Module) -> None:
        """Load the averaged weights into ``model`` (a DDP wrapper is unwrapped).

        Example:
            >>> a, b = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
            >>> ExponentialMovingAverage(a).copy_to(b)
            >>> torch.equal(a.weight, b.weight)
            True
        """
        _unwrap(model).load_state_dict(self.module.state_dict())

    def state_dict(self) -> dict[str, Any]:
        """The average's weights, update count and settings.

        Example:
            >>> sorted(ExponentialMovingAverage(torch.nn.Linear(2, 2)).state_dict())
            ['decay', 'updates', 'warmup', 'weights']
        """
        return {
            "decay": self.decay,
            "warmup": self.warmup,
            "updates": self.updates,
            "weights": self.module.state_dict(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (the saved settings win).

        Raises:
            InputValueError: If ``state`` lacks a key or its weights do not
                fit the averaged model.
        """
        try:
            weights, decay, warmup, updates = (
                state["weights"],
                state["decay"],
                state["warmup"],
                state["updates"],
            )
        except KeyError as err:
            raise InputValueError(f"EMA state lacks {err.args[0]!r}") from None
        try:
            self.module.load_state_dict(weights)
        except RuntimeError as err:
            raise InputValueError(f"EMA weights do not fit the model: {err}") from err
        self.decay = check_float(decay, "decay", 0.0, 1.0, high_open=True)
        self.warmup = bool(warmup)
        self.updates = int(updates)


def average_state_dicts(states: Sequence[Mapping[str, Tensor]]) -> dict[str, Tensor]:
    """The equal-weight average of several state dicts of one architecture.

    Floating entries are averaged (accumulated in float64, returned in their
    dtype); integer entries (``num_batches_tracked``) are taken from the last
    state.

    Args:
        states: One or more state dicts with the same keys and shapes.

    Returns:
        A new state dict (the inputs are not modified).

    Raises:
        InputValueError: If ``states`` is empty or the dicts' keys or shapes
            differ.

    Example:
        >>> a = {"w": torch.tensor([1.0, 2.0]), "n": torch.tensor(3)}
        >>> b = {"w": torch.tensor([3.0, 6.0]), "n": torch.tensor(5)}
        >>> out = average_state_dicts([a, b])
        >>> out["w"].tolist(), out["n"].item()
        ([2.0, 4.0], 5)
    """
    if not states:
        raise InputValueError("average_state_dicts needs at least one state dict, got none")
    keys = list(states[-1].keys())
    for i, state in enumerate(states):
        if list(state.keys()) != keys:
            raise InputValueError(f"state dict {i} has other keys than the last one")
    out: dict[str, Tensor] = {}
    for key in keys:
        last = states[-1][key]
        shapes = {tuple(s[key].shape) for s in states}
        if len(shapes) > 1:
            raise InputValueError(f"entry {key!r} has different shapes: {sorted(shapes)}")
        if last.is_floating_point():
            total = torch.zeros(last.shape, dtype=torch.float64, device=last.device)
            for state in states:
                total += state[key].to(last.device, torch.float64)
            out[key] = (total / len(states)).to(last.dtype)
        else:
            out[key] = last.clone()
    return out


def average_checkpoints(
    paths: Sequence[str | os.PathLike[str]], model: nn.Module
) -> dict[str, Tensor]:
    """Load the average of several training checkpoints' weights into ``model``.

    Each file is read with :func:`~ctckit.training.load_checkpoint` (strict,
    ``weights_only``); the average is that of :func:`average_state_dicts`.

    Args:
        paths: Checkpoints written by :func:`~ctckit.training.save_checkpoint`
            for models of ``model``'s architecture (e.g. the last epochs').
        model: Receives the averaged weights (a DDP wrapper is unwrapped).

    Returns:
        The averaged state dict.

    Raises:
        InputValueError: If ``paths`` is empty.
        DataError: If a file is missing, corrupt or does not fit ``model``.

    Example:
        >>> import tempfile
        >>> from ctckit.training import save_checkpoint
        >>> model = torch.nn.Linear(1, 1, bias=False)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     files = []
        ...     for i, value in enumerate((1.0, 2.0, 6.0)):
        ...         _ = model.weight.data.fill_(value)
        ...         files.append(save_checkpoint(f"{d}/{i}.pt", model=model, epoch=i, config={}))
        ...     _ = average_checkpoints(files, model)
        >>> model.weight.item()
        3.0
    """
    if not paths:
        raise InputValueError("average_checkpoints needs at least one checkpoint, got none")
    scratch = copy.deepcopy(_unwrap(model))
    states = []
    for path in paths:
        load_checkpoint(path, model=scratch)
        states.append({k: v.clone() for k, v in scratch.state_dict().items()})
    averaged = average_state_dicts(states)
    _unwrap(model).load_state_dict(averaged)
    return averaged
