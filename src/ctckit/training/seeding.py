"""Seeding every random number generator a training run touches."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from ctckit._checks import check_int

__all__ = ["seed_everything"]


def seed_everything(seed: int, *, deterministic: bool = False) -> None:
    """Seed Python's, NumPy's and torch's generators (CPU and every CUDA device).

    Args:
        seed: A non-negative integer below ``2**32``.
        deterministic: Also ask torch for deterministic kernels
            (``torch.use_deterministic_algorithms(True, warn_only=True)``,
            cuDNN benchmarking off, ``CUBLAS_WORKSPACE_CONFIG`` set). Runs
            become bit-for-bit repeatable on the same hardware and software,
            usually at some cost in speed.

    Raises:
        InputTypeError: If ``seed`` is not an ``int``.
        InputValueError: If ``seed`` is outside ``[0, 2**32)``.

    Example:
        >>> seed_everything(7)
        >>> a = torch.rand(2)
        >>> seed_everything(7)
        >>> bool(torch.equal(a, torch.rand(2)))
        True
    """
    seed = check_int(seed, "seed", 0, 2**32 - 1)
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002  (the legacy global generator)
    torch.manual_seed(seed)  # also seeds every CUDA device
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
