"""A per-epoch metrics log: a CSV file rewritten atomically, optionally TensorBoard too."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ctckit._optional import import_optional
from ctckit.errors import DataError, InputValueError
from ctckit.files import atomic_open
from ctckit.training.loop import EpochResult, EvalResult

__all__ = ["MetricsLog", "epoch_row", "read_history"]

Row = dict[str, float | str]


def _parse(value: str) -> float | str:
    try:
        return float(value)
    except ValueError:
        return value


def epoch_row(epoch: int, train: EpochResult, dev: EvalResult, **extra: float | int | str) -> Row:
    """One metrics-log row for an epoch: its training totals and its dev scores.

    Args:
        epoch: The epoch, from 1.
        train: :func:`~ctckit.training.train_one_epoch`'s result.
        dev: :func:`~ctckit.training.evaluate`'s result.
        extra: Further columns (the learning rate, say).

    Returns:
        ``epoch``, ``train_loss``, ``dev_loss``, ``dev_distance``, ``dev_per``,
        the ``extra`` columns, ``infeasible``, ``train_utterances``,
        ``train_batches``, ``dev_utterances``, ``skipped_steps``,
        ``train_seconds``, ``eval_seconds`` (losses to 5 decimals, distances
        to 4, seconds to 2).

    Example:
        >>> train = EpochResult(loss_sum=6.0, utterances=4, batches=2, seconds=1.234)
        >>> dev = EvalResult(mean_distance=7.5, error_rate=0.2, loss=0.9, utterances=10)
        >>> row = epoch_row(1, train, dev, lr=0.002)
        >>> row["train_loss"], row["dev_distance"], row["lr"], row["train_seconds"]
        (1.5, 7.5, 0.002, 1.23)
    """
    return {
        "epoch": epoch,
        "train_loss": round(train.loss, 5),
        "dev_loss": round(dev.loss, 5),
        "dev_distance": round(dev.mean_distance, 4),
        "dev_per": round(dev.error_rate, 5),
        **extra,
        "infeasible": train.infeasible,
        "train_utterances": train.utterances,
        "train_batches": train.batches,
        "dev_utterances": dev.utterances,
        "skipped_steps": train.skipped_steps,
        "train_seconds": round(train.seconds, 2),
        "eval_seconds": round(dev.seconds, 2),
    }


def read_history(path: str | os.PathLike[str]) -> list[Row]:
    """Read a metrics CSV written by :class:`MetricsLog`.

    Args:
        path: The CSV file.

    Returns:
        One dict per row; numeric cells become ``float``, empty cells are left
        out.

    Raises:
        DataError: If the file is missing, has no header, is not UTF-8 text
            or not a CSV file.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     log = MetricsLog(f"{d}/m.csv")
        ...     log.append({"epoch": 1, "train_loss": 2.5})
        ...     read_history(f"{d}/m.csv")
        [{'epoch': 1.0, 'train_loss': 2.5}]
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("metrics log not found", path=path)
    fields, rows = _read_rows(path)
    if fields is None:
        raise DataError("metrics log has no header row", path=path)
    return [{k: _parse(v) for k, v in row.items()} for row in rows]


def _read_rows(path: Path) -> tuple[list[str] | None, list[dict[str, str]]]:
    """The header and the non-empty cells of each row of a UTF-8 CSV file."""
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            rows = [
                {k: v for k, v in row.items() if k is not None and v not in ("", None)}
                for row in reader
            ]
            return (None if reader.fieldnames is None else list(reader.fieldnames)), rows
    except UnicodeDecodeError as err:
        raise DataError(
            f"metrics log is not UTF-8 text (byte {err.start}: {err.reason}); was it saved "
            "in another encoding? Re-save it as UTF-8 or start a new run",
            path=path,
        ) from err
    except csv.Error as err:
        raise DataError(f"metrics log is not a readable CSV file: {err}", path=path) from err


class MetricsLog:
    """One CSV row per epoch, the whole file rewritten atomically on each append.

    Columns are the union of the keys seen so far, in order of first
    appearance; a row lacking a column leaves its cell empty. Rewriting the
    small file each time means a crash never leaves a half-written row. An
    existing file is continued (call :meth:`truncate` on resume to drop rows
    the resumed run will write again).

    Args:
        path: The CSV file.
        tensorboard_dir: Also write each numeric value as a TensorBoard scalar
            (step = the row's ``epoch``) under this folder. Needs the
            ``tensorboard`` package.

    Raises:
        DataError: If the existing file is not UTF-8 CSV text.
        MissingDependencyError: If ``tensorboard_dir`` is given and
            TensorBoard is not installed.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     log = MetricsLog(f"{d}/m.csv")
        ...     log.append({"epoch": 1, "dev_distance": 9.0})
        ...     log.append({"epoch": 2, "dev_distance": 7.5, "lr": 0.001})
        ...     print(open(f"{d}/m.csv").read().strip())
        epoch,dev_distance,lr
        1,9.0,
        2,7.5,0.001
    """

    def __init__(
        self, path: str | os.PathLike[str], *, tensorboard_dir: str | os.PathLike[str] | None = None
    ) -> None:
        self.path = Path(path)
        self._rows: list[dict[str, Any]] = []
        if self.path.is_file():  # continue an existing log; cells stay as written
            self._rows = list(_read_rows(self.path)[1])
        self._writer: Any = None
        if tensorboard_dir is not None:
            import_optional("tensorboard", extra="tensorboard")
            tb = import_optional("torch.utils.tensorboard", extra="tensorboard")
            self._writer = tb.SummaryWriter(log_dir=os.fspath(tensorboard_dir))

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The rows so far (copies)."""
        return [dict(r) for r in self._rows]

    def append(self, row: Mapping[str, float | int | str]) -> None:
        """Add one row and rewrite the file.

        Raises:
            InputValueError: If ``row`` is empty.
        """
        if not row:
            raise InputValueError("a metrics row needs at least one value, got an empty mapping")
        self._rows.append(dict(row))
        self._write()
        if self._writer is not None:
            step = int(float(row.get("epoch", len(self._rows))))
            for key, value in row.items():
                if key != "epoch" and isinstance(value, (int, float)):
                    self._writer.add_scalar(key, float(value), step)
            self._writer.flush()

    def truncate(self, last_epoch: int) -> None:
        """Drop rows whose ``epoch`` is above ``last_epoch`` (for a resumed run)."""
        try:
            kept = [r for r in self._rows if float(r.get("epoch", 0)) <= last_epoch]
        except ValueError as err:
            raise DataError(f"metrics log has a non-numeric epoch: {err}", path=self.path) from err
        if len(kept) != len(self._rows):
            self._rows = kept
            self._write()

    def close(self) -> None:
        """Close the TensorBoard writer, if any."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def _write(self) -> None:
        columns: list[str] = []
        for r in self._rows:
            columns.extend(k for k in r if k not in columns)
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for r in self._rows:
            writer.writerow(r)
        with atomic_open(self.path, "w") as fh:
            fh.write(buf.getvalue())
