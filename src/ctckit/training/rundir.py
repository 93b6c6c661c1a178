"""A training run's folder: one writer at a time, checkpoints that agree, a metrics log.

:class:`RunDirectory` owns the rules that keep a run's files from being lost
or mixed with another run's:

* **One run per folder.** Opening takes an exclusive lock (``run.lock``, held
  with ``fcntl.flock`` for the life of the process; the kernel drops it when
  the process dies, so a crashed run never leaves a stale lock). A second
  run into the same folder is refused, naming the process that holds it.
* **No silent overwrite.** A fresh run (no ``resume``) into a folder that
  already holds a run's files is refused; pass ``resume`` to continue it or
  ``overwrite=True`` to delete its files first.
* **best.pt never stale.** At an epoch that improves the score, ``best.pt``
  is written *before* ``last.pt``, and ``last.pt`` records the best epoch. A
  kill between the two writes leaves ``best.pt`` ahead of ``last.pt``; on
  resume the run adopts it (it is a real, better model of this run). A
  ``best.pt`` behind the best epoch that ``last.pt`` records (written by an
  older version, which wrote ``last.pt`` first) is repaired from ``last.pt``
  when that holds the best weights.
* **No debris.** Temporary files that a kill inside an atomic write left
  behind (``.last.pt.*.tmp`` and the like) are removed when the next run
  opens the folder.
* **The metrics log follows the checkpoint.** On resume, rows of epochs the
  checkpoint has not seen are dropped (they are trained again).

Under ``torch.distributed`` every process creates the ``RunDirectory``; rank
0 alone locks, checks and writes, and a failure there is raised on every
rank.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import socket
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import torch

from ctckit.errors import CTCKitError, DataError
from ctckit.files import atomic_open
from ctckit.training.checkpoint import _check_config, read_checkpoint, write_checkpoint
from ctckit.training.distributed import _raise_on_every_rank, is_main_process
from ctckit.training.history import MetricsLog
from ctckit.training.state import TrainState

__all__ = ["RunDirectory"]


class RunDirectory:
    """The folder of one training run (see the module documentation for its rules).

    Args:
        path: The folder; created if missing.
        resume: A checkpoint to continue from (usually ``path / "last.pt"``),
            or ``None`` for a fresh run. It is read and checked at once, before
            any data or model is built.
        overwrite: Delete the run files already in ``path`` instead of
            refusing them (not together with a ``resume`` inside ``path``).
        outputs: Further files or folders the run writes into ``path`` (plots,
            a submission), deleted by ``overwrite`` and counted as run files.
        tensorboard: Also log the metrics to ``path / "tensorboard"``.
        is_main: Whether this process writes (default: rank 0 of the process
            group, or the only process).

    Attributes:
        path: The folder.
        checkpoint: The ``resume`` checkpoint as read, or ``None``.
        metrics: The metrics log (rank 0 only; ``None`` elsewhere).

    Raises:
        DataError: If another run holds the folder, the folder holds a run
            and neither ``resume`` nor ``overwrite`` says what to do, the
            folder cannot be written, or the ``resume`` file is missing,
            corrupt or refused (a pickle that would run code).

    Example:
        >>> import tempfile
        >>> model = torch.nn.Linear(2, 2)
        >>> state = TrainState(model, torch.optim.SGD(model.parameters(), lr=0.1))
        >>> folder = Path(tempfile.mkdtemp())
        >>> with RunDirectory(folder) as run:
        ...     run.start(state, {"preset": "linear"})
        ...     _ = state.finish_epoch(7.5)
        ...     run.log({"epoch": 1, "dev_distance": 7.5})
        ...     run.save(state)
        False
        >>> sorted(p.name for p in folder.iterdir())
        ['best.pt', 'last.pt', 'metrics.csv', 'run.lock']
        >>> RunDirectory(folder)
        Traceback (most recent call last):
        ...
        ctckit.errors.DataError: ...already holds a training run (best.pt, last.pt, metrics.csv)...
    """

    LAST = "last.pt"
    BEST = "best.pt"
    METRICS = "metrics.csv"
    SUMMARY = "summary.json"
    LOCK = "run.lock"
    TENSORBOARD = "tensorboard"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        resume: str | os.PathLike[str] | None = None,
        overwrite: bool = False,
        outputs: Sequence[str] = (),
        tensorboard: bool = False,
        is_main: bool | None = None,
    ) -> None:
        self.path = Path(path)
        self.is_main = is_main_process() if is_main is None else bool(is_main)
        self._files = (self.BEST, self.LAST, self.METRICS, self.SUMMARY, *outputs)
        if tensorboard:
            self._files += (self.TENSORBOARD,)
        self._lock: int | None = None
        self._config: dict[str, Any] = {}
        self._best_written: tuple[int, float] | None = None
        self.metrics: MetricsLog | None = None
        # Read the checkpoint before touching the folder: a bad --resume changes nothing.
        self.checkpoint = None if resume is None else read_checkpoint(resume)
        self.resume = None if resume is None else Path(resume)
        error: BaseException | None = None
        if self.is_main:
            try:
                self._open(overwrite)
                tb = self.path / self.TENSORBOARD if tensorboard else None
                self.metrics = MetricsLog(self.path / self.METRICS, tensorboard_dir=tb)
            except (CTCKitError, OSError) as err:
                self.close()
                error = err
        _raise_on_every_rank(error, "open the run folder")

    # -- opening ------------------------------------------------------------

    def _open(self, overwrite: bool) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path / self.LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise DataError(
                f"cannot write the run folder ({err.strerror or err}); choose a writable one",
                path=self.path,
            ) from err
        self._lock = fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "unknown"
            raise DataError(
                f"another training run ({holder}) is writing into this folder; wait for it to "
                "finish or choose another folder",
                path=self.path,
            ) from None
        except OSError as err:  # a file system without locks (some network mounts)
            warnings.warn(
                f"{self.path}: cannot lock the run folder ({err.strerror}); nothing stops a "
                "second run from writing into it",
                stacklevel=3,
            )
        self._sweep_temporary_files()
        found = [name for name in self._files if (self.path / name).exists()]
        inside = self.resume is not None and self.resume.resolve().parent == self.path.resolve()
        if overwrite and inside:
            raise DataError(
                f"overwrite would delete the checkpoint to resume from ({self.resume})",
                path=self.path,
            )
        if found and not overwrite and not inside:
            how = (
                f"continue it with --resume {self.path / self.LAST}"
                if self.resume is None
                else f"resume from {self.resume} into another folder"
            )
            raise DataError(
                f"already holds a training run ({', '.join(found)}): {how}, replace it with "
                "--overwrite (in Python: resume=..., overwrite=True), or choose another folder",
                path=self.path,
            )
        if overwrite:
            for name in found:
                target = self.path / name
                if target.is_dir():
                    shutil.rmtree(target)
                else:
                    target.unlink()
        os.ftruncate(fd, 0)  # who holds the lock, for the message a second run prints
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)

    def _sweep_temporary_files(self) -> None:
        """Remove what a kill inside an atomic write left (``.NAME.XXXXXXXX.tmp``)."""
        for name in self._files:
            for stale in self.path.glob(f".{name}.*.tmp"):
                with contextlib.suppress(OSError):
                    stale.unlink()

    # -- starting, saving ---------------------------------------------------

    def start(
        self,
        state: TrainState,
        config: Mapping[str, Any],
        *,
        must_match: Sequence[str] = (),
    ) -> bool:
        """Attach the run's state and configuration; restore ``resume`` into ``state``.

        Args:
            state: The run's :class:`TrainState` (built, not yet trained).
            config: The run's configuration (plain values), saved in every
                checkpoint.
            must_match: Keys of ``config`` the resumed checkpoint must agree
                on (for example the preset): another value is refused.

        Returns:
            Whether a checkpoint was restored.

        Raises:
            DataError: If the checkpoint was saved with another value of a
                ``must_match`` key, or does not fit ``state``.
        """
        self._config = dict(config)
        if self.checkpoint is None or self.resume is None:
            return False
        _check_config(self.checkpoint, {k: config.get(k) for k in must_match}, self.resume)
        state.load_state_dict(self.checkpoint, path=self.resume)
        self._reconcile_best(state)
        if self.metrics is not None:
            self.metrics.truncate(state.epoch)
        return True

    def _reconcile_best(self, state: TrainState) -> None:
        """Make ``best.pt`` and the resumed state agree (see the module documentation)."""
        best_path = self.path / self.BEST
        try:
            best = read_checkpoint(best_path) if best_path.is_file() else None
        except DataError:
            best = None  # an unreadable best.pt is replaced at the next improvement
        last = self.checkpoint
        if last is None:
            return
        if best is not None and best.get("best_score") is not None:
            score, epoch = float(best["best_score"]), int(best["epoch"])
            if epoch > state.epoch and (state.best_score is None or score <= state.best_score):
                # killed after writing best.pt, before last.pt: best.pt is the newer file
                state.best_score, state.best_epoch = score, epoch
                self._best_written = (epoch, score)
                return
        if state.best_epoch is None or state.best_score is None:
            return
        if best is not None and int(best["epoch"]) == state.best_epoch:
            self._best_written = (state.best_epoch, state.best_score)
        elif (
            state.best_epoch == state.epoch
            and not state.batches_consumed
            and last.get("averager") is None  # else best.pt held averaged weights
            and self.is_main
        ):
            # best.pt is missing or stale and last.pt holds the best weights: rewrite it
            self._write_best(last["model"], state.best_epoch, state.best_score)

    def save(self, state: TrainState, *, best_model: torch.nn.Module | None = None) -> None:
        """Write ``last.pt`` (and ``best.pt`` first, at an epoch that set a new best).

        Collective under ``torch.distributed`` (every rank calls it, rank 0
        writes).

        Args:
            state: The run's state.
            best_model: The module whose weights ``best.pt`` holds, when not
                ``state.model``: the model that was scored, for example an
                exponential moving average's ``ema.module``.

        Raises:
            StorageError: If the device is full; the previous files are intact.
        """
        payload = state.state_dict()
        if not self.is_main:
            return
        if (
            state.best_epoch is not None
            and state.best_epoch == state.epoch
            and state.best_score is not None
            and not state.batches_consumed
            and self._best_written != (state.best_epoch, state.best_score)
        ):
            weights = payload["model"] if best_model is None else best_model.state_dict()
            self._write_best(weights, state.best_epoch, state.best_score)
        write_checkpoint(self.path / self.LAST, payload, self._config)

    def _write_best(self, weights: Mapping[str, Any], epoch: int, score: float) -> None:
        best = {"model": weights, "epoch": epoch, "best_score": score, "best_epoch": epoch}
        write_checkpoint(self.path / self.BEST, best, self._config)
        self._best_written = (epoch, score)

    # -- other files --------------------------------------------------------

    def file(self, name: str) -> Path:
        """``path / name``."""
        return self.path / name

    def log(self, row: Mapping[str, float | int | str]) -> None:
        """Append one row to ``metrics.csv`` (rank 0; a no-op elsewhere)."""
        if self.metrics is not None:
            self.metrics.append(row)

    def write_json(self, name: str, data: Mapping[str, Any]) -> Path:
        """Write ``data`` as indented JSON to ``path / name`` atomically (rank 0 only)."""
        target = self.path / name
        if self.is_main:
            with atomic_open(target, "w") as fh:
                json.dump(data, fh, indent=2)
                fh.write("\n")
        return target

    def close(self) -> None:
        """Close the metrics log and release the lock (also on leaving a ``with`` block)."""
        if self.metrics is not None:
            self.metrics.close()
        if self._lock is not None:
            os.close(self._lock)  # closing the descriptor releases the flock
            self._lock = None

    def __enter__(self) -> RunDirectory:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
