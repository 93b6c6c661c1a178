"""A wall-time budget for a training run: start no epoch that would end past it."""

from __future__ import annotations

import math
import time

from ctckit._checks import check_float
from ctckit.training.distributed import all_reduce_sum

__all__ = ["WallClockBudget"]


class WallClockBudget:
    """Decide after each epoch whether another one still fits a wall-time budget.

    The next epoch is assumed to cost what the last one did (training and
    evaluation); ``reserve`` seconds are kept for what follows the epochs
    (a final beam evaluation, plots).

    Args:
        seconds: The budget, counted from ``since``; ``None`` (or infinity)
            for no limit.
        reserve: Seconds kept for the work after the last epoch.
        since: A ``time.perf_counter()`` reading the budget counts from
            (default: now), for example taken when the process started.

    Example:
        >>> budget = WallClockBudget(None)
        >>> budget.another_epoch_fits()
        True
        >>> WallClockBudget(0.0).another_epoch_fits()
        False
    """

    def __init__(
        self, seconds: float | None, *, reserve: float = 0.0, since: float | None = None
    ) -> None:
        unlimited = seconds is None or (isinstance(seconds, float) and seconds == math.inf)
        self.seconds = None if unlimited else check_float(seconds, "seconds", 0.0)
        self.reserve = check_float(reserve, "reserve", 0.0)
        now = time.perf_counter()
        self._start = now if since is None else float(since)
        self._mark = now
        self.last_epoch_seconds = 0.0

    @property
    def elapsed(self) -> float:
        """Seconds since ``since``."""
        return time.perf_counter() - self._start

    def another_epoch_fits(self) -> bool:
        """Record an epoch's end; whether one more of the same cost would end in time.

        Under ``torch.distributed`` every process must call it; all get the
        same answer (no if any process is out of time).
        """
        now = time.perf_counter()
        self.last_epoch_seconds, self._mark = now - self._mark, now
        over = (
            self.seconds is not None
            and now - self._start + self.last_epoch_seconds + self.reserve > self.seconds
        )
        return all_reduce_sum([float(over)])[0] == 0
