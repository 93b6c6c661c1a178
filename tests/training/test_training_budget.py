"""WallClockBudget: another epoch only if it would end within the budget."""

from __future__ import annotations

import math
import time

import pytest

from ctckit.errors import InputTypeError, InputValueError
from ctckit.training import WallClockBudget


def test_an_epoch_that_would_end_past_the_budget_is_not_started() -> None:
    since = time.perf_counter() - 0.5  # the process started 0.5 s ago
    roomy = WallClockBudget(10.0, since=since)
    tight = WallClockBudget(1.0, since=since)
    reserved = WallClockBudget(10.0, reserve=9.5, since=since)
    time.sleep(0.3)  # an epoch of 0.3 s
    assert roomy.another_epoch_fits()  # 0.8 s gone + 0.3 s more < 10 s
    assert roomy.last_epoch_seconds >= 0.3
    assert not tight.another_epoch_fits()  # 0.8 + 0.3 > 1 s
    assert not reserved.another_epoch_fits()  # 0.8 + 0.3 + 9.5 > 10 s
    assert roomy.elapsed >= 0.8


@pytest.mark.parametrize("seconds", [None, math.inf])
def test_no_budget_always_fits(seconds: float | None) -> None:
    budget = WallClockBudget(seconds, since=time.perf_counter() - 1e9)
    assert budget.seconds is None
    assert budget.another_epoch_fits()


def test_bad_budgets() -> None:
    with pytest.raises(InputValueError, match=r"seconds must be a finite float >= 0\.0"):
        WallClockBudget(-1.0)
    with pytest.raises(InputTypeError, match="reserve must be a float"):
        WallClockBudget(10.0, reserve="5")  # type: ignore[arg-type]
