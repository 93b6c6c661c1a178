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
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ctckit._checks import check_int, is_tensor
from ctckit.errors import DataError, InputTypeError
from ctckit.files import atomic_open

if TYPE_CHECKING:
    from ctckit.nn.model import CTCModel

__all__ = [
    "CHECKPOINT_FORMAT",
    "LoadedCheckpoint",
    "capture_rng_state",
    "load_checkpoint",
    "load_trained_model",
    "read_checkpoint",
    "restore_rng_state",
    "save_checkpoint",
    "write_checkpoint",
]

#: Tag stored in every checkpoint; files without it are refused.
CHECKPOINT_FORMAT = "ctckit.training.checkpoint/1"

# What torch.load(weights_only=True) rebuilds: a config holds plain values only,
# the rest of a checkpoint may also hold tensors and a few torch types.
_PLAIN = (str, int, float, bool, type(None))
_ALSO_OUTSIDE_CONFIG = (bytes, complex, torch.Size, torch.dtype, torch.device)
_CONTAINERS = (list, tuple, dict, OrderedDict, set)


def _check_loadable(value: Any, where: str, *, config: bool) -> None:
    """Refuse, naming the key, a value that ``torch.load(weights_only=True)`` would refuse."""
    kind = type(value)
    if kind in _PLAIN or (not config and (kind in _ALSO_OUTSIDE_CONFIG or is_tensor(value))):
        return
    if kind in _CONTAINERS:
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(value, dict) and type(key) not in _PLAIN:
                raise InputTypeError(
                    f"{where} has a key of type {type(key).__name__} ({key!r}); checkpoint keys "
                    "must be str, int, float, bool or None"
                )
            _check_loadable(item, f"{where}[{key!r}]", config=config)
        return
    allowed = (
        "str, int, float, bool, None and lists, tuples and dicts of them"
        if config
        else "tensors, str, int, float, bool, None, bytes and lists, tuples and dicts of them"
    )
    raise InputTypeError(
        f"{where} is a {kind.__module__}.{kind.__qualname__} ({value!r:.80}); a checkpoint "
        f"{'configuration ' if config else ''}holds only {allowed}, so that it loads with "
        "torch.load(weights_only=True): convert it (e.g. str(path), float(x), x.tolist())"
    )


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

    Everything is checked before the file is touched: a value that
    ``torch.load(weights_only=True)`` would refuse to read back (a ``Path``
    in the config, a numpy scalar, a function) raises
    :class:`~ctckit.errors.InputTypeError` naming its key. A training run
    usually saves through :class:`~ctckit.training.RunDirectory` and a
    :class:`~ctckit.training.TrainState` instead.

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
        sampler_state: The batch sampler's ``state_dict()``.
        best_score: Best validation score so far.
        batches_consumed: Batches of the current epoch already trained (for a
            mid-epoch checkpoint).
        rng_states: One :func:`capture_rng_state` dict per process (rank
            order); defaults to this process's state.
        extra: Any further tensors or plain values (e.g. running loss sums).

    Returns:
        The path written.

    Raises:
        InputTypeError: If ``model`` is not a module, or a value would not
            load under ``weights_only=True`` (the message names its key).
        StorageError: If the device is full; the previous file is intact.

    Example:
        >>> import tempfile
        >>> model = torch.nn.Linear(2, 3)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = save_checkpoint(f"{d}/last.pt", model=model, epoch=1, config={"preset": "x"})
        ...     load_checkpoint(p, model=model).epoch
        1
        >>> save_checkpoint("x.pt", model=model, epoch=1, config={"data": Path("/data")})
        Traceback (most recent call last):
        ...
        ctckit.errors.InputTypeError: config['data'] is a pathlib.PosixPath ...
    """
    if not isinstance(model, torch.nn.Module):
        raise InputTypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    payload: dict[str, Any] = {
        "model": _unwrap(model).state_dict(),
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "scaler": None if scaler is None else scaler.state_dict(),
        "sampler": None if sampler_state is None else dict(sampler_state),
        "rng": [dict(s) for s in rng_states] if rng_states is not None else [capture_rng_state()],
        "epoch": check_int(epoch, "epoch", 0),
        "batches_consumed": check_int(batches_consumed, "batches_consumed", 0),
        "best_score": None if best_score is None else float(best_score),
        "extra": {} if extra is None else dict(extra),
    }
    return write_checkpoint(path, payload, config)


def write_checkpoint(
    path: str | os.PathLike[str], state: Mapping[str, Any], config: Mapping[str, Any]
) -> Path:
    """Write ``state`` (e.g. :meth:`TrainState.state_dict`) and ``config`` as a checkpoint.

    The lower level of :func:`save_checkpoint`: adds the format tag and the
    torch version, checks that every value loads under
    ``weights_only=True``, and writes atomically.

    Args:
        path: Destination file.
        state: At least ``model`` (a state dict) and ``epoch``; any other
            checkpoint keys (see :func:`read_checkpoint`).
        config: The run's configuration (plain Python values).

    Returns:
        The path written.

    Raises:
        InputTypeError: If a value would not load back (naming its key).
        StorageError: If the device is full; the previous file is intact.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = write_checkpoint(f"{d}/a.pt", {"model": {}, "epoch": 2}, {"lr": 0.1})
        ...     read_checkpoint(p)["epoch"]
        2
    """
    if not isinstance(config, Mapping):
        raise InputTypeError(f"config must be a mapping, got {type(config).__name__}")
    _check_loadable(dict(config), "config", config=True)
    for key, value in state.items():
        _check_loadable(value, str(key), config=False)
    payload = {
        "format": CHECKPOINT_FORMAT,
        **state,
        "config": dict(config),
        "torch_version": str(torch.__version__),
    }
    with atomic_open(path, "wb") as fh:
        torch.save(payload, fh)
    return Path(path)


#: Keys every checkpoint has, and the types a loader relies on.
_REQUIRED: dict[str, type | tuple[type, ...]] = {"model": Mapping, "epoch": int, "config": Mapping}
_OPTIONAL: dict[str, type | tuple[type, ...]] = {
    "batches_consumed": int,
    "best_score": (int, float, type(None)),
    "rng": (list, tuple),
    "sampler": (Mapping, type(None)),
    "extra": (Mapping, type(None)),
}


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check a checkpoint file without restoring anything.

    The file is read on the CPU with ``torch.load(weights_only=True)``.

    Args:
        path: The checkpoint file.

    Returns:
        The stored dict: ``format``, ``model`` (the weights), ``epoch``,
        ``config`` and, as saved, ``optimizer``, ``scheduler``, ``scaler``,
        ``sampler``, ``rng``, ``batches_consumed``, ``best_score`` and more.

    Raises:
        DataError: If the file is missing, corrupt, refused by the
            weights-only loader (a pickle that would run code), not a ctckit
            checkpoint, or lacks a key (or has one of the wrong type).

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     torch.save({"format": CHECKPOINT_FORMAT, "model": {}}, f"{d}/x.pt")
        ...     read_checkpoint(f"{d}/x.pt")
        Traceback (most recent call last):
        ...
        ctckit.errors.DataError: .../x.pt: incomplete checkpoint: no 'epoch', no 'config' ...
    """
    path = Path(path)
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
    problems = [f"no {key!r}" for key in _REQUIRED if key not in payload]
    for key, kind in {**_REQUIRED, **_OPTIONAL}.items():
        value = payload.get(key)
        if key in payload and (not isinstance(value, kind) or isinstance(value, bool)):
            problems.append(f"{key!r} is a {type(value).__name__}")
    if problems:
        raise DataError(
            f"incomplete checkpoint: {', '.join(problems)} (the file has the ctckit format tag "
            "but was damaged or written by another program)",
            path=path,
        )
    if payload["epoch"] < 0 or payload.get("batches_consumed", 0) < 0:
        raise DataError("checkpoint has a negative epoch or batch count", path=path)
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
            checkpoint or incomplete, saved with another configuration
            (another preset), or its weights do not fit ``model``.

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
    payload = read_checkpoint(path)
    _check_config(payload, expect_config, path)
    if model is not None:
        _restore_model(model, payload, path)
    for name, target in (("optimizer", optimizer), ("scheduler", scheduler), ("scaler", scaler)):
        _restore_part(target, payload, name, path)
    if restore_rng:
        states = payload.get("rng") or []
        if not states:
            raise DataError("checkpoint holds no random number generator state", path=path)
        restore_rng_state(states[rank] if rank < len(states) else states[0])
    return _loaded(path, payload)


def _loaded(path: Path, payload: Mapping[str, Any]) -> LoadedCheckpoint:
    """What a read checkpoint reports besides its states."""
    sampler = payload.get("sampler")
    return LoadedCheckpoint(
        path=path,
        epoch=int(payload["epoch"]),
        batches_consumed=int(payload.get("batches_consumed", 0)),
        best_score=None if payload.get("best_score") is None else float(payload["best_score"]),
        config=dict(payload["config"]),
        sampler_state=None if sampler is None else dict(sampler),
        extra=dict(payload.get("extra") or {}),
    )


def load_trained_model(
    path: str | os.PathLike[str], *, num_classes: int | None = None
) -> tuple[CTCModel, LoadedCheckpoint]:
    """The model a training script saved, rebuilt from its preset, in eval mode on the CPU.

    The checkpoint's configuration names the preset (``"preset"``) and the
    sizes (``"in_features"``, default 13 MFCCs; ``"num_classes"``, or the
    length of ``"labels"``), as ``examples/hw3p2/train.py`` and
    ``examples/words/train.py`` write them. The file is read once.

    Args:
        path: A checkpoint written by :func:`save_checkpoint` (``best.pt``
            holds the averaged weights when the run kept an average).
        num_classes: Output classes when the configuration does not say.

    Returns:
        ``(model, checkpoint)``: the :class:`~ctckit.nn.model.CTCModel` with
        the weights loaded (``model.training`` is false) and what
        :func:`load_checkpoint` reports.

    Raises:
        DataError: If the file is not a checkpoint, its configuration names
            no known preset or no class count, or the weights do not fit.

    Example:
        >>> import tempfile
        >>> from ctckit.nn.presets import build_preset
        >>> with tempfile.TemporaryDirectory() as d:
        ...     config = {"preset": "base01", "num_classes": 5, "in_features": 13}
        ...     p = save_checkpoint(
        ...         f"{d}/best.pt", model=build_preset("base01", 5), epoch=1, config=config
        ...     )
        ...     model, ckpt = load_trained_model(p)
        >>> type(model).__name__, model.training, ckpt.config["preset"]
        ('CTCModel', False, 'base01')
    """
    from ctckit.nn.presets import PRESETS, build_preset  # the presets import all of ctckit.nn

    path = Path(path)
    payload = read_checkpoint(path)
    config = payload["config"]
    preset = config.get("preset")
    if preset not in PRESETS:
        raise DataError(
            f"checkpoint config names preset {preset!r}, expected one of ctckit's presets "
            "(was it written by a ctckit training script?)",
            path=path,
        )
    classes = config.get("num_classes", len(config.get("labels", ())) or num_classes)
    if classes is None:
        raise DataError(
            "checkpoint config has no 'num_classes' or 'labels'; pass num_classes=", path=path
        )
    model = build_preset(str(preset), int(classes), int(config.get("in_features", 13)))
    _restore_model(model, payload, path)
    model.eval()
    return model, _loaded(path, payload)


def _check_config(
    payload: Mapping[str, Any], expect: Mapping[str, Any] | None, path: str | os.PathLike[str]
) -> None:
    """Refuse a checkpoint whose configuration differs from ``expect`` on its keys."""
    if not expect:
        return
    config = payload["config"]
    diffs = [
        f"{key}={config.get(key, '<missing>')!r} but this run has {key}={value!r}"
        for key, value in expect.items()
        if config.get(key, "<missing>") != value
    ]
    if diffs:
        raise DataError(
            "checkpoint was saved with " + "; ".join(diffs) + " (resume with the same "
            "settings, or start a new run)",
            path=path,
        )


def _restore_model(
    model: torch.nn.Module, payload: Mapping[str, Any], path: str | os.PathLike[str]
) -> None:
    """Load the weights strictly, a mismatch becoming a DataError."""
    try:
        _unwrap(model).load_state_dict(payload["model"], strict=True)
    except (RuntimeError, KeyError, TypeError) as err:
        raise DataError(
            f"checkpoint weights do not fit the model: {str(err).strip()}", path=path
        ) from err


def _restore_part(
    target: Any, payload: Mapping[str, Any], name: str, path: str | os.PathLike[str]
) -> None:
    """``target.load_state_dict(payload[name])`` when both exist.

    An empty saved state (a disabled GradScaler's, e.g. saved on the CPU)
    restores nothing.
    """
    if target is None or not payload.get(name):
        return
    try:
        target.load_state_dict(payload[name])
    except (RuntimeError, KeyError, ValueError, TypeError, IndexError) as err:
        raise DataError(f"cannot restore {name} state: {err}", path=path) from err
