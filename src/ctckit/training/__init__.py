"""Training pieces for CTC models: loop, checkpoints, seeding, metrics log, plots, DDP.

The worked example ``examples/hw3p2/train.py`` is assembled from these
pieces; each module is small enough to read in one sitting. Submodules are
imported on first use, so ``import ctckit.training`` stays light.

Example:
    >>> from ctckit.training import save_checkpoint, seed_everything
    >>> seed_everything(0)
    >>> save_checkpoint.__module__
    'ctckit.training.checkpoint'
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "CHECKPOINT_FORMAT",
    "DistInfo",
    "EpochResult",
    "EvalResult",
    "LoadedCheckpoint",
    "MetricsLog",
    "StepResult",
    "all_reduce_sum",
    "barrier",
    "capture_rng_state",
    "cleanup_distributed",
    "evaluate",
    "init_distributed",
    "is_main_process",
    "load_checkpoint",
    "plot_history",
    "plot_posteriorgram",
    "read_history",
    "restore_rng_state",
    "save_checkpoint",
    "seed_everything",
    "train_one_epoch",
    "train_step",
]

_WHERE = {
    "CHECKPOINT_FORMAT": "checkpoint",
    "LoadedCheckpoint": "checkpoint",
    "capture_rng_state": "checkpoint",
    "load_checkpoint": "checkpoint",
    "restore_rng_state": "checkpoint",
    "save_checkpoint": "checkpoint",
    "seed_everything": "seeding",
    "MetricsLog": "history",
    "read_history": "history",
    "plot_history": "plots",
    "plot_posteriorgram": "plots",
    "DistInfo": "distributed",
    "all_reduce_sum": "distributed",
    "barrier": "distributed",
    "cleanup_distributed": "distributed",
    "init_distributed": "distributed",
    "is_main_process": "distributed",
    "EpochResult": "loop",
    "EvalResult": "loop",
    "StepResult": "loop",
    "evaluate": "loop",
    "train_one_epoch": "loop",
    "train_step": "loop",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'ctckit.training' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"ctckit.training.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
