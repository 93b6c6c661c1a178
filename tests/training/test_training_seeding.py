# ruff: noqa: NPY002  (these tests exercise the legacy global NumPy generator on purpose)
"""seed_everything makes every generator repeat."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from ctckit.errors import InputTypeError, InputValueError
from ctckit.training.seeding import seed_everything


def _draw() -> tuple[float, float, torch.Tensor]:
    return random.random(), float(np.random.rand()), torch.randn(3)


def test_same_seed_same_draws_other_seed_other_draws() -> None:
    seed_everything(123)
    a = _draw()
    seed_everything(123)
    b = _draw()
    seed_everything(124)
    c = _draw()
    assert a[0] == b[0]
    assert a[1] == b[1]
    assert torch.equal(a[2], b[2])
    assert a[0] != c[0]
    assert a[1] != c[1]
    assert not torch.equal(a[2], c[2])


def test_deterministic_flag_turns_on_deterministic_algorithms() -> None:
    before = torch.are_deterministic_algorithms_enabled()
    try:
        seed_everything(0, deterministic=True)
        assert torch.are_deterministic_algorithms_enabled()
    finally:
        torch.use_deterministic_algorithms(before)


@pytest.mark.parametrize(
    ("seed", "err"),
    [
        (-1, InputValueError),
        (2**32, InputValueError),
        (1.5, InputTypeError),
        (True, InputTypeError),
    ],
)
def test_bad_seeds(seed: object, err: type[Exception]) -> None:
    with pytest.raises(err, match="seed"):
        seed_everything(seed)  # type: ignore[arg-type]
