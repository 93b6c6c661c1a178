"""Training checkpoints: everything needed to resume a run exactly.

A checkpoint holds the model, optimiser, scheduler and gradient-scaler
states, the batch sampler's position, the random number generator states of
every process (Python, NumPy, torch CPU and CUDA), the epoch, the best score
so far and the run's configuration (including the preset name). It is
written atomically and read with ``torch.load(weights_only=True)``: every
value is a tensor or a plain Python type, so loading never runs code from
the file, and a file whose pickle asks for anything else is refused.
"""

from __future__ import annotations

import os
import pickle
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ctckit.errors import DataError, InputTypeError
from ctckit.files import atomic_open

__all__ = [
    "CHECKPOINT_FORMAT",
    "LoadedCheckpoint",
    "capture_rng_state",
    "load_checkpoint",
    "restore_rng_state",
    "save_checkpoint",
]

#: Tag stored in every checkpoint; files without it are refused.
CHECKPOINT_FORMAT = "ctckit.training.checkpoint/1"


def capture_rng_state() -> dict[str, Any]:
    """This process's Python, NumPy and torch (CPU and CUDA) generator states.

    Values are tensors and plain Python types, so they survive
    ``torch.load(weights_only=True)``.

    Returns:
        A dict to pass to :func:`restore_rng_state`.

    Example:
        >>> state = capture_rng_state()
        >>> a = torch.rand(3)
        >>> restore_rng_state(state)
        >>> bool(torch.equal(a, torch.rand(3)))
        True
    """
    version, mt, gauss = random.getstate()
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state(legacy=True)  # noqa: NPY002
    state: dict[str, Any] = {
        "python": {
            "version": int(version),
            "state": torch.tensor(mt, dtype=torch.int64),
            "gauss": gauss,
        },
        "numpy": {
            "name": str(np_name),
            "keys": torch.from_numpy(np.asarray(np_keys, dtype=np.int64)),
            "pos": int(np_pos),
            "has_gauss": int(np_has_gauss),
            "cached_gaussian": float(np_gauss),
        },
        "torch": torch.get_rng_state(),
        "cuda": list(torch.cuda.get_rng_state_all()) if torch.cuda.is_available() else [],
    }
    return state


def restore_rng_state(state: Mapping[str, Any]) -> None:
    """Put back generator states taken by :func:`capture_rng_state`.

    CUDA states are restored only when the number of visible devices matches.

    Raises:
        DataError: If ``state`` does not have the expected keys.

    Example:
        >>> state = capture_rng_state()
        >>> x = np.random.rand()
        >>> restore_rng_state(state)
        >>> bool(np.random.rand() == x)
        True
    """
    try:
        py = state["python"]
        random.setstate((int(py["version"]), tuple(py["state"].tolist()), py["gauss"]))
        npst = state["numpy"]
        np.random.set_state(  # noqa: NPY002
            (
                str(npst["name"]),
                npst["keys"].numpy().astype(np.uint32),
                int(npst["pos"]),
                int(npst["has_gauss"]),
                float(npst["cached_gaussian"]),
            )
        )
        torch.set_rng_state(state["torch"])
        cuda = list(state["cuda"])
    except (KeyError, TypeError, ValueError, AttributeError, RuntimeError) as err:
        raise DataError(f"malformed random number generator state ({err!r})") from err
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


@dataclass(frozen=True)
class LoadedCheckpoint:
    """What :func:`load_checkpoint` read besides the states it restored.

    Attributes:
        path: The file read.
        epoch: Completed epochs when the checkpoint was written.
        batches_consumed: Batches of epoch ``epoch`` (0-based) already
            trained; 0 for an end-of-epoch checkpoint.
        best_score: Best validation score so far (lower is better), or
            ``None``.
        config: The run's configuration as saved.
        sampler_state: The batch sampler's ``state_dict()``, or ``None``.
        extra: Whatever the caller stored under ``extra``.

    Example:
        >>> LoadedCheckpoint(Path("a.pt"), 3, 0, 5.2, {"preset": "compact"}).epoch
        3
    """

    path: Path
    epoch: int
    batches_consumed: int
    best_score: float | None
    config: dict[str, Any]
    sampler_state: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The module inside a DistributedDataParallel / DataParallel wrapper."""
    inner = getattr(model, "module", None)
    return inner if isinstance(inner, torch.nn.Module) else model


def save_checkpoint(
    path: str | os.PathLike[str],
    *,
    model: torch.nn.Module,
    epoch: int,
    config: Mapping[str, Any],
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any | None = None,
    scaler: torch.amp.GradScaler | None = None,
    sampler_state: Mapping[str, Any] | None = None,
    best_score: float | None = None,
    batches_consumed: int = 0,
    rng_states: Sequence[Mapping[str, Any]] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write a resumable checkpoint atomically (temporary file, fsync, rename).

    Args:
        path: Destination file; its folder is created if needed.
        model: The model (a DDP wrapper is unwrapped).
        epoch: Completed epochs.
        config: The run's configuration, plain Python values only (str, int,
            float, bool, None, lists and dicts of them); must name the
            ``preset`` when one was used, so a resume with another preset is
            caught.
        optimizer: Its state is saved when given.
        scheduler: Any object with ``state_dict()`` (an LR scheduler).
        scaler: The AMP gradient scaler.
        sampler_state: The batch sampler's ``state_dict(...)``.
        best_score: Best validation score so far.
        batches_consumed: Batches of the current epoch already trained (for a
            mid-epoch checkpoint).
        rng_states: One :func:`capture_rng_state` dict per process (rank
            order); defaults to this process's state.
        extra: Any further tensors or plain values (e.g. running loss sums).

    Returns:
        The path written.

    Example:
        >>> import tempfile
        >>> model = torch.nn.Linear(2, 3)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = save_checkpoint(f"{d}/last.pt", model=model, epoch=1, config={"preset": "x"})
        ...     load_checkpoint(p, model=model).epoch
        1
    """
    if not isinstance(model, torch.nn.Module):
        raise InputTypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    payload: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT,
        "model": _unwrap(model).state_dict(),
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "scaler": None if scaler is None else scaler.state_dict(),
        "sampler": None if sampler_state is None else dict(sampler_state),
        "rng": [dict(s) for s in rng_states] if rng_states is not None else [capture_rng_state()],
        "epoch": int(epoch),
        "batches_consumed": int(batches_consumed),
        "best_score": None if best_score is None else float(best_score),
        "config": dict(config),
        "extra": {} if extra is None else dict(extra),
        "torch_version": str(torch.__version__),
    }
    with atomic_open(path, "wb") as fh:
        torch.save(payload, fh)
    return Path(path)


def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise DataError("checkpoint file not found", path=path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        text = str(err)
        if "weights only" in text.lower() or "weights_only" in text.lower():
            lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
            detail = next((ln for ln in lines if "unsupported" in ln.lower()), lines[0])
            raise DataError(
                "refused to load checkpoint: its pickle asks for objects outside torch's "
                "weights-only allow-list (it could run code); only tensors and plain Python "
                f"values are accepted ({detail[:300]})",
                path=path,
            ) from err
        raise DataError(f"corrupt checkpoint: {err}", path=path) from err
    except Exception as err:  # zip, EOF and storage errors all mean an unreadable file
        raise DataError(
            f"corrupt or truncated checkpoint ({type(err).__name__}: {err})", path=path
        ) from err
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise DataError(
            f"not a ctckit training checkpoint: expected format {CHECKPOINT_FORMAT!r}, "
            f"found {found!r}",
            path=path,
        )
    return payload


def load_checkpoint(
    path: str | os.PathLike[str],
    *,
    model: torch.nn.Module | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any | None = None,
    scaler: torch.amp.GradScaler | None = None,
    expect_config: Mapping[str, Any] | None = None,
    restore_rng: bool = False,
    rank: int = 0,
) -> LoadedCheckpoint:
    """Read a checkpoint written by :func:`save_checkpoint` and restore states in place.

    The file is read on the CPU with ``torch.load(weights_only=True)``;
    ``optimizer.load_state_dict`` moves its tensors to the parameters'
    device.

    Args:
        path: The checkpoint file.
        model: Receives the weights (strictly: every key and shape must
            match). A DDP wrapper is unwrapped.
        optimizer: Receives the optimiser state when given and saved.
        scheduler: Receives the scheduler state when given and saved.
        scaler: Receives the gradient-scaler state when given and saved.
        expect_config: Keys that must equal the saved configuration's (for
            example ``{"preset": "compact", "num_classes": 41}``).
        restore_rng: Also restore the generator states saved for ``rank``.
        rank: This process's rank, to pick its generator states.

    Returns:
        A :class:`LoadedCheckpoint` with the epoch, position, best score,
        configuration and sampler state.

    Raises:
        DataError: If the file is missing, corrupt, refused by the
            weights-only loader (a pickle that would run code), not a ctckit
            checkpoint, saved with another configuration (another preset),
            or its weights do not fit ``model``.

    Example:
        >>> import tempfile
        >>> model = torch.nn.Linear(2, 3)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = save_checkpoint(f"{d}/a.pt", model=model, epoch=2, config={"preset": "a"})
        ...     load_checkpoint(p, expect_config={"preset": "b"})
        Traceback (most recent call last):
        ...
        ctckit.errors.DataError: ...saved with preset='a' but this run has preset='b'...
    """
    path = Path(path)
    payload = _read(path)
    config = payload.get("config")
    if not isinstance(config, dict):
        raise DataError("checkpoint has no configuration dict", path=path)
    if expect_config is not None:
        diffs = [
            f"{key}={config.get(key, '<missing>')!r} but this run has {key}={value!r}"
            for key, value in expect_config.items()
            if config.get(key, "<missing>") != value
        ]
        if diffs:
            raise DataError(
                "checkpoint was saved with " + "; ".join(diffs) + " (resume with the same "
                "settings, or start a new run)",
                path=path,
            )
    if model is not None:
        try:
            _unwrap(model).load_state_dict(payload["model"], strict=True)
        except (RuntimeError, KeyError) as err:
            raise DataError(
                f"checkpoint weights do not fit the model: {str(err).strip()}", path=path
            ) from err
    for name, target in (("optimizer", optimizer), ("scheduler", scheduler), ("scaler", scaler)):
        # an empty state (a disabled GradScaler's, e.g. saved on the CPU) restores nothing
        if target is not None and payload.get(name):
            try:
                target.load_state_dict(payload[name])
            except (RuntimeError, KeyError, ValueError) as err:
                raise DataError(f"cannot restore {name} state: {err}", path=path) from err
    if restore_rng:
        states = payload.get("rng") or []
        if not states:
            raise DataError("checkpoint holds no random number generator state", path=path)
        restore_rng_state(states[rank] if rank < len(states) else states[0])
    sampler = payload.get("sampler")
    return LoadedCheckpoint(
        path=path,
        epoch=int(payload["epoch"]),
        batches_consumed=int(payload.get("batches_consumed", 0)),
        best_score=None if payload.get("best_score") is None else float(payload["best_score"]),
        config=config,
        sampler_state=None if sampler is None else dict(sampler),
        extra=dict(payload.get("extra") or {}),
    )
