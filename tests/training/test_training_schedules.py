"""Warm-up schedules: values against the closed forms, monotonicity, exact resume."""

from __future__ import annotations

import io
import itertools
import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from ctckit.errors import InputTypeError, InputValueError
from ctckit.training.schedules import NoamLR, WarmupCosineLR


def _optimizer(lr: float = 1.0) -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)


def _rates(
    opt: torch.optim.Optimizer, sched: torch.optim.lr_scheduler.LRScheduler, n: int
) -> list[float]:
    out = []
    for _ in range(n):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def test_cosine_values_at_known_steps() -> None:
    opt = _optimizer(3e-3)
    sched = WarmupCosineLR(opt, warmup_steps=4, total_steps=12, final_ratio=0.0)
    rates = _rates(opt, sched, 15)
    peak = 3e-3
    # warm-up: 1/4, 2/4, 3/4, 4/4 of the peak
    assert rates[:4] == pytest.approx([peak / 4, peak / 2, 3 * peak / 4, peak])
    assert rates[4] == pytest.approx(peak)  # cosine starts at the peak
    assert rates[8] == pytest.approx(peak / 2)  # half way through the decay: cos(pi/2) = 0
    assert rates[6] == pytest.approx(peak * (1 + math.sqrt(0.5)) / 2)  # a quarter: cos(pi/4)
    assert rates[12:] == pytest.approx([0.0, 0.0, 0.0])  # held at the end


@given(
    warmup=st.integers(1, 30),
    decay=st.integers(1, 60),
    final=st.floats(0.0, 1.0),
    lr=st.floats(1e-5, 1.0),
)
def test_cosine_matches_the_closed_form_and_is_monotone(
    warmup: int, decay: int, final: float, lr: float
) -> None:
    total = warmup + decay
    opt = _optimizer(lr)
    rates = _rates(opt, WarmupCosineLR(opt, warmup, total, final), total + 5)
    for s, rate in enumerate(rates):
        if s < warmup:
            want = lr * (s + 1) / warmup
        else:
            p = min(1.0, (s - warmup) / decay)
            want = lr * (final + (1 - final) * (1 + math.cos(math.pi * p)) / 2)
        assert rate == pytest.approx(want, rel=1e-9, abs=1e-15)
    up, down = rates[:warmup], rates[warmup - 1 :]
    assert all(a < b for a, b in itertools.pairwise(up))
    assert all(a >= b - 1e-15 for a, b in itertools.pairwise(down))
    assert max(rates) == pytest.approx(lr)
    assert min(down) == pytest.approx(lr * final, abs=1e-15)


@given(warmup=st.integers(1, 40), steps=st.integers(1, 200))
def test_noam_matches_the_transformer_formula(warmup: int, steps: int) -> None:
    opt = _optimizer(2.0)
    rates = _rates(opt, NoamLR(opt, warmup), steps)
    d_model = 256  # the paper's form; normalising it to peak 1 removes d_model
    paper = [d_model**-0.5 * min(n**-0.5, n * warmup**-1.5) for n in range(1, steps + 1)]
    paper_peak = d_model**-0.5 * warmup**-0.5
    assert rates == pytest.approx([2.0 * v / paper_peak for v in paper], rel=1e-9)
    assert max(rates) <= 2.0 + 1e-12


@pytest.mark.parametrize("kind", ["cosine", "noam"])
def test_resume_continues_exactly(kind: str) -> None:
    def build() -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
        opt = torch.optim.Adam([torch.zeros(2, requires_grad=True)], lr=1e-3)
        if kind == "cosine":
            return opt, WarmupCosineLR(opt, 5, 30, final_ratio=0.05)
        return opt, NoamLR(opt, 5)

    opt, sched = build()
    straight = _rates(opt, sched, 25)
    opt, sched = build()
    first = _rates(opt, sched, 11)
    buf = io.BytesIO()
    torch.save({"sched": sched.state_dict(), "opt": opt.state_dict()}, buf)
    buf.seek(0)
    saved = torch.load(buf, weights_only=True)
    opt2, sched2 = build()
    opt2.load_state_dict(saved["opt"])
    sched2.load_state_dict(saved["sched"])
    assert first + _rates(opt2, sched2, 14) == straight


def test_groups_keep_their_own_peaks() -> None:
    a, b = torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([{"params": [a], "lr": 1.0}, {"params": [b], "lr": 0.1}])
    WarmupCosineLR(opt, 2, 10)
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.5, 0.05])


def test_bad_arguments() -> None:
    with pytest.raises(InputValueError, match="total_steps must exceed warmup_steps"):
        WarmupCosineLR(_optimizer(), 10, 10)
    with pytest.raises(InputValueError, match="warmup_steps must be >= 1, got 0"):
        WarmupCosineLR(_optimizer(), 0, 10)
    with pytest.raises(InputValueError, match="final_ratio"):
        WarmupCosineLR(_optimizer(), 1, 10, final_ratio=1.5)
    with pytest.raises(InputTypeError, match="warmup_steps must be an int"):
        NoamLR(_optimizer(), 2.5)  # type: ignore[arg-type]
