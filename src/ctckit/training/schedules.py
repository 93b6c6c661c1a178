"""Per-step learning-rate schedules with a linear warm-up: cosine decay and Noam.

Both are :class:`torch.optim.lr_scheduler.LRScheduler` subclasses stepped
once per optimiser step (``scheduler.step()`` after ``optimizer.step()``),
with closed-form values: the learning rate after ``s`` calls to ``step()``
is ``base_lr * factor(s)``, whatever happened before. ``state_dict()`` /
``load_state_dict()`` carry the step count and the settings, so a resumed
run continues exactly where it stopped.

Step ``s`` counts from 0 (the learning rate of the first update):

* warm-up, ``s < warmup_steps``: ``factor = (s + 1) / warmup_steps``, so the
  first update is not wasted at zero and the peak ``base_lr`` is reached at
  ``s = warmup_steps - 1``;
* :class:`WarmupCosineLR` after it: ``final_ratio + (1 - final_ratio) * (1 +
  cos(pi * p)) / 2`` with ``p = (s - warmup_steps) / (total_steps -
  warmup_steps)``, held at ``final_ratio`` from ``s = total_steps`` on;
* :class:`NoamLR` (Vaswani et al., 2017, normalised to peak at 1):
  ``factor = min((s + 1) / warmup_steps, sqrt(warmup_steps / (s + 1)))``.
"""

from __future__ import annotations

import math

from torch import Tensor
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from ctckit._checks import check_float, check_int
from ctckit.errors import InputValueError

__all__ = ["NoamLR", "WarmupCosineLR"]


class _FactorLR(LRScheduler):
    """A scheduler whose rate is ``base_lr * self.factor(step)`` in closed form."""

    def factor(self, step: int) -> float:  # pragma: no cover - overridden
        raise NotImplementedError

    def get_lr(self) -> list[float | Tensor]:
        f = self.factor(self.last_epoch)
        return [base * f for base in self.base_lrs]

    def _get_closed_form_lr(self) -> list[float | Tensor]:
        return self.get_lr()


class WarmupCosineLR(_FactorLR):
    """Linear warm-up to the optimiser's learning rate, then cosine decay.

    Args:
        optimizer: The optimiser; each group's ``lr`` is its peak rate.
        warmup_steps: Steps of linear warm-up (``>= 1``; 1 means none).
        total_steps: Step at which the decay ends (``> warmup_steps``).
        final_ratio: Final rate as a fraction of the peak, in ``[0, 1]``.
        last_epoch: As for every torch scheduler (``-1``: a new run).

    Raises:
        InputValueError: On a non-positive warm-up, ``total_steps <=
            warmup_steps`` or a ratio outside ``[0, 1]``.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = WarmupCosineLR(opt, warmup_steps=2, total_steps=6, final_ratio=0.1)
        >>> rates = []
        >>> for _ in range(8):
        ...     rates.append(round(opt.param_groups[0]["lr"], 4))
        ...     opt.step(); sched.step()
        >>> rates
        [0.5, 1.0, 1.0, 0.8682, 0.55, 0.2318, 0.1, 0.1]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        warmup_steps: int,
        total_steps: int,
        final_ratio: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        self.warmup_steps = check_int(warmup_steps, "warmup_steps", 1)
        self.total_steps = check_int(total_steps, "total_steps", 1)
        if self.total_steps <= self.warmup_steps:
            raise InputValueError(
                f"total_steps must exceed warmup_steps, got total_steps={total_steps}, "
                f"warmup_steps={warmup_steps}"
            )
        self.final_ratio = check_float(final_ratio, "final_ratio", 0.0, 1.0)
        super().__init__(optimizer, last_epoch)

    def factor(self, step: int) -> float:
        """The rate at step ``step`` as a fraction of the peak.

        Example:
            >>> import torch
            >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
            >>> WarmupCosineLR(opt, 10, 110).factor(60)
            0.5
        """
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        progress = min(1.0, (step - self.warmup_steps) / (self.total_steps - self.warmup_steps))
        return self.final_ratio + (1.0 - self.final_ratio) * 0.5 * (
            1.0 + math.cos(math.pi * progress)
        )


class NoamLR(_FactorLR):
    """Linear warm-up, then decay with the inverse square root of the step (Noam).

    The Transformer's schedule ``d_model ** -0.5 * min(n ** -0.5, n *
    warmup ** -1.5)`` (``n = s + 1``), scaled so that its peak, at ``s =
    warmup_steps - 1``, is the optimiser's learning rate.

    Args:
        optimizer: The optimiser; each group's ``lr`` is its peak rate.
        warmup_steps: Steps of linear warm-up (``>= 1``).
        last_epoch: As for every torch scheduler (``-1``: a new run).

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = NoamLR(opt, warmup_steps=4)
        >>> [round(sched.factor(s), 3) for s in (0, 3, 15)]
        [0.25, 1.0, 0.5]
    """

    def __init__(self, optimizer: Optimizer, warmup_steps: int, last_epoch: int = -1) -> None:
        self.warmup_steps = check_int(warmup_steps, "warmup_steps", 1)
        super().__init__(optimizer, last_epoch)

    def factor(self, step: int) -> float:
        """The rate at step ``step`` as a fraction of the peak."""
        n = step + 1
        return min(n / self.warmup_steps, math.sqrt(self.warmup_steps / n))
