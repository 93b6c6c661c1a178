"""Training pieces for CTC models: state, run folder, loop, checkpoints, logging, plots, DDP.

The library owns a run's bookkeeping: :class:`TrainState` holds what a run
must remember to resume exactly (model, optimiser, scheduler, scaler,
sampler position, every process's generator states, epoch, best score) and
:class:`RunDirectory` owns its folder (a lock, a ``best.pt`` / ``last.pt``
pair that never disagree, the metrics log, refusal to mix two runs). The
worked example ``examples/hw3p2/train.py`` is assembled from these pieces;
each module is small enough to read in one sitting. Submodules are imported
on first use, so ``import ctckit.training`` stays light.

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
    "DEFAULT_CORPUS_SIZE",
    "DistInfo",
    "EpochResult",
    "EvalResult",
    "ExponentialMovingAverage",
    "LoadedCheckpoint",
    "MetricsLog",
    "NoamLR",
    "RunDirectory",
    "Stateful",
    "StepResult",
    "TrainState",
    "WallClockBudget",
    "WarmupCosineLR",
    "all_reduce_sum",
    "average_checkpoints",
    "average_state_dicts",
    "barrier",
    "capture_rng_state",
    "cleanup_distributed",
    "cpu_threads_per_process",
    "default_corpus_root",
    "ensure_corpus",
    "epoch_row",
    "evaluate",
    "evaluation_loader",
    "init_distributed",
    "is_main_process",
    "load_checkpoint",
    "load_trained_model",
    "plot_history",
    "plot_posteriorgram",
    "read_checkpoint",
    "read_history",
    "restore_rng_state",
    "save_checkpoint",
    "seed_everything",
    "train_one_epoch",
    "train_step",
    "write_checkpoint",
]

_WHERE = {
    "CHECKPOINT_FORMAT": "checkpoint",
    "LoadedCheckpoint": "checkpoint",
    "capture_rng_state": "checkpoint",
    "load_checkpoint": "checkpoint",
    "load_trained_model": "checkpoint",
    "read_checkpoint": "checkpoint",
    "restore_rng_state": "checkpoint",
    "save_checkpoint": "checkpoint",
    "write_checkpoint": "checkpoint",
    "Stateful": "state",
    "TrainState": "state",
    "RunDirectory": "rundir",
    "WallClockBudget": "budget",
    "DEFAULT_CORPUS_SIZE": "corpus",
    "default_corpus_root": "corpus",
    "ensure_corpus": "corpus",
    "seed_everything": "seeding",
    "MetricsLog": "history",
    "epoch_row": "history",
    "read_history": "history",
    "plot_history": "plots",
    "plot_posteriorgram": "plots",
    "DistInfo": "distributed",
    "all_reduce_sum": "distributed",
    "barrier": "distributed",
    "cleanup_distributed": "distributed",
    "cpu_threads_per_process": "distributed",
    "init_distributed": "distributed",
    "is_main_process": "distributed",
    "EpochResult": "loop",
    "EvalResult": "loop",
    "StepResult": "loop",
    "evaluate": "loop",
    "evaluation_loader": "loop",
    "train_one_epoch": "loop",
    "train_step": "loop",
    "NoamLR": "schedules",
    "WarmupCosineLR": "schedules",
    "ExponentialMovingAverage": "averaging",
    "average_checkpoints": "averaging",
    "average_state_dicts": "averaging",
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
