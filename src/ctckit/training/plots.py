"""PNG plots of a run: learning curves and an utterance's posteriorgram.

Uses matplotlib's non-interactive Agg canvas (no display needed); install it
with ``pip install 'ctckit[plot]'``. Each PNG is written atomically.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ctckit._optional import import_optional
from ctckit.errors import InputValueError, ShapeError
from ctckit.files import atomic_open
from ctckit.training.history import read_history

__all__ = ["plot_history", "plot_posteriorgram"]


def _figure(width: float, height: float, rows: int = 1) -> tuple[Any, Any]:
    import_optional("matplotlib", extra="plot")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, 1, squeeze=False)[:, 0]
    return fig, axes


def _save(fig: Any, path: str | os.PathLike[str]) -> Path:
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=110)
    return Path(path)


def plot_history(
    history: str | os.PathLike[str] | Sequence[Mapping[str, Any]],
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
) -> Path:
    """Plot loss and distance curves per epoch, like the seed's wandb chart.

    The top panel shows every column whose name ends in ``loss``; the bottom
    one every column containing ``distance`` (with the learning rate ``lr``
    on a log-scaled twin axis when logged).

    Args:
        history: A metrics CSV path (see :class:`~ctckit.training.history.MetricsLog`)
            or its rows; rows need an ``epoch`` value.
        path: The PNG to write.
        title: Figure title.

    Returns:
        The PNG's path.

    Raises:
        InputValueError: If there are no rows or no ``epoch`` column.
        MissingDependencyError: If matplotlib is missing.

    Example:
        >>> import tempfile
        >>> rows = [{"epoch": 1, "train_loss": 3.0, "dev_distance": 30.0},
        ...         {"epoch": 2, "train_loss": 1.5, "dev_distance": 12.0}]
        >>> with tempfile.TemporaryDirectory() as d:
        ...     plot_history(rows, f"{d}/h.png").read_bytes()[:4]
        b'\\x89PNG'
    """
    rows = read_history(history) if isinstance(history, (str, os.PathLike)) else list(history)
    if not rows:
        raise InputValueError("plot_history needs at least one row, got none")
    if any("epoch" not in r for r in rows):
        raise InputValueError(
            f"every history row needs an 'epoch' value; got keys {sorted(rows[0])}"
        )
    columns: list[str] = []
    for r in rows:
        columns.extend(k for k in r if k not in columns)

    def series(key: str) -> tuple[list[float], list[float]]:
        pts = [(float(r["epoch"]), float(r[key])) for r in rows if _is_number(r.get(key))]
        return [p[0] for p in pts], [p[1] for p in pts]

    fig, (ax_loss, ax_dist) = _figure(7.0, 6.0, rows=2)
    for key in (c for c in columns if c.endswith("loss")):
        ax_loss.plot(*series(key), marker="o", ms=3, label=key)
    ax_loss.set_ylabel("CTC loss")
    ax_loss.grid(alpha=0.3)
    if ax_loss.lines:
        ax_loss.legend()
    for key in (c for c in columns if "distance" in c):
        ax_dist.plot(*series(key), marker="o", ms=3, label=key)
    from matplotlib.ticker import MaxNLocator

    for ax in (ax_loss, ax_dist):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_dist.set_xlabel("epoch")
    ax_dist.set_ylabel("mean edit distance")
    ax_dist.grid(alpha=0.3)
    if ax_dist.lines:
        ax_dist.legend(loc="upper left")
    if "lr" in columns:
        ax_lr = ax_dist.twinx()
        xs, ys = series("lr")
        ax_lr.plot(xs, ys, color="grey", ls="--", lw=1, label="lr")
        if all(y > 0 for y in ys):
            ax_lr.set_yscale("log")
        ax_lr.set_ylabel("learning rate")
        ax_lr.legend(loc="upper right")
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)


def plot_posteriorgram(
    log_probs: torch.Tensor | np.ndarray[Any, Any],
    path: str | os.PathLike[str],
    *,
    labels: Sequence[str] | None = None,
    tokens: Sequence[int] | None = None,
    reference: str | None = None,
    title: str | None = None,
    blank: int = 0,
) -> Path:
    """Plot one utterance's label posteriors over time, with the decoded labels.

    Draws ``exp(log_probs)`` as an image (labels on the y axis, frames on the
    x axis) and writes each frame's best non-blank label above the frames
    where it starts a run (greedy CTC alignment).

    Args:
        log_probs: ``(T, V)`` log-probabilities of one utterance (a ``(1, T,
            V)`` batch is accepted).
        path: The PNG to write.
        labels: ``V`` symbol names for the y axis (e.g. ``vocab.symbols``).
        tokens: The decoded label ids (shown in the title); greedy when
            omitted.
        reference: The reference transcript, shown under the title.
        title: Figure title.
        blank: Blank index.

    Returns:
        The PNG's path.

    Raises:
        ShapeError: If ``log_probs`` is not ``(T, V)`` or ``labels`` has the
            wrong length.
        InputValueError: If ``blank`` is out of range.

    Example:
        >>> import tempfile
        >>> lp = torch.randn(20, 5).log_softmax(-1)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     plot_posteriorgram(lp, f"{d}/p.png", labels=["-", "a", "b", "c", "d"]).suffix
        '.png'
    """
    arr = (
        log_probs.detach().float().cpu().numpy()
        if isinstance(log_probs, torch.Tensor)
        else np.asarray(log_probs, dtype=np.float32)
    )
    if arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ShapeError(
            f"expected log_probs of shape (T, V) with T, V > 0, got {tuple(arr.shape)}"
        )
    frames, vocab = arr.shape
    if labels is not None and len(labels) != vocab:
        raise ShapeError(f"expected {vocab} labels (one per class), got {len(labels)}")
    if not 0 <= blank < vocab:
        raise InputValueError(f"blank must be in [0, {vocab}), got {blank}")
    names = list(labels) if labels is not None else [str(i) for i in range(vocab)]
    names[blank] = names[blank] or "<b>"
    best = arr.argmax(axis=1)
    starts = [t for t in range(frames) if best[t] != blank and (t == 0 or best[t] != best[t - 1])]
    if tokens is None:
        tokens = [int(best[t]) for t in starts]

    fig, (ax,) = _figure(max(6.0, min(18.0, frames / 25.0)), max(3.5, vocab * 0.14))
    image = ax.imshow(
        np.exp(arr.T),
        aspect="auto",
        origin="lower",
        cmap="magma",
        vmin=0.0,
        vmax=1.0,
        interpolation="nearest",
    )
    ax.set_xlabel("frame")
    ax.set_ylabel("label")
    if vocab <= 64:
        ax.set_yticks(range(vocab))
        ax.set_yticklabels(names, fontsize=6)
    for t in starts:
        ax.text(
            t,
            vocab - 0.5,
            names[int(best[t])],
            fontsize=6,
            color="cyan",
            rotation=90,
            va="bottom",
            ha="center",
            clip_on=False,
        )
    fig.colorbar(image, ax=ax, label="posterior")
    heading = title or "posteriorgram"
    hyp = " ".join(names[i] for i in tokens)
    sub = f"hyp: {hyp}" + (f"\nref: {reference}" if reference is not None else "")
    ax.set_title(f"{heading}\n{sub}", fontsize=8, loc="left", pad=24)
    return _save(fig, path)
