"""The metrics CSV log and the PNG plots."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch

from ctckit.errors import DataError, InputValueError, ShapeError
from ctckit.training.history import MetricsLog, read_history
from ctckit.training.plots import plot_history, plot_posteriorgram

PNG = b"\x89PNG\r\n\x1a\n"


def test_log_rows_columns_and_continuation(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    log = MetricsLog(path)
    log.append({"epoch": 1, "train_loss": 3.5, "dev_distance": 20.0})
    log.append({"epoch": 2, "train_loss": 2.0, "dev_distance": 15.5, "lr": 0.001})
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows == [
        ["epoch", "train_loss", "dev_distance", "lr"],
        ["1", "3.5", "20.0", ""],
        ["2", "2.0", "15.5", "0.001"],
    ]
    # a new log on the same file continues it; truncate drops epochs to be rerun
    log2 = MetricsLog(path)
    log2.truncate(1)
    log2.append({"epoch": 2, "train_loss": 1.0, "dev_distance": 9.0})
    hist = read_history(path)
    assert hist == [
        {"epoch": 1.0, "train_loss": 3.5, "dev_distance": 20.0},
        {"epoch": 2.0, "train_loss": 1.0, "dev_distance": 9.0},
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.csv"]  # no temp files left


def test_log_errors(tmp_path: Path) -> None:
    with pytest.raises(InputValueError, match="empty"):
        MetricsLog(tmp_path / "m.csv").append({})
    with pytest.raises(DataError, match="not found"):
        read_history(tmp_path / "absent.csv")


def test_plot_history_from_csv(tmp_path: Path) -> None:
    log = MetricsLog(tmp_path / "m.csv")
    for e in range(1, 4):
        log.append(
            {
                "epoch": e,
                "train_loss": 3.0 / e,
                "dev_loss": 3.2 / e,
                "dev_distance": 30.0 / e,
                "lr": 1e-3,
            }
        )
    out = plot_history(tmp_path / "m.csv", tmp_path / "plots" / "history.png", title="run")
    assert out.read_bytes()[:8] == PNG
    with pytest.raises(InputValueError, match="at least one row"):
        plot_history([], tmp_path / "x.png")
    with pytest.raises(InputValueError, match="epoch"):
        plot_history([{"loss": 1.0}], tmp_path / "x.png")


def test_plot_posteriorgram(tmp_path: Path) -> None:
    torch.manual_seed(0)
    lp = torch.randn(1, 60, 41).log_softmax(-1)
    labels = [""] + [f"p{i}" for i in range(1, 41)]
    out = plot_posteriorgram(
        lp, tmp_path / "p.png", labels=labels, reference="p1 p2", tokens=[1, 2]
    )
    assert out.read_bytes()[:8] == PNG
    with pytest.raises(ShapeError, match=r"\(T, V\)"):
        plot_posteriorgram(torch.zeros(2, 3, 4), tmp_path / "q.png")
    with pytest.raises(ShapeError, match="41 labels"):
        plot_posteriorgram(lp, tmp_path / "q.png", labels=["a"])
    assert not (tmp_path / "q.png").exists()


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16"])
def test_a_log_in_another_encoding_is_a_data_error(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "metrics.csv"
    path.write_bytes("epoch,note\n1,réglé\n".encode(encoding))
    with pytest.raises(DataError, match="not UTF-8 text") as info:
        MetricsLog(path)
    assert str(path) in str(info.value)
    with pytest.raises(DataError, match="not UTF-8 text"):
        read_history(path)
    assert path.read_bytes() == "epoch,note\n1,réglé\n".encode(encoding)  # left as it was


def test_a_log_on_a_full_disk_is_a_storage_error(small_disk: Path) -> None:
    from ctckit.errors import StorageError

    log = MetricsLog(small_disk / "metrics.csv")
    log.append({"epoch": 1, "note": "ok"})
    before = (small_disk / "metrics.csv").read_bytes()
    with pytest.raises(StorageError, match=r"no space left on device while writing .*metrics\.csv"):
        log.append({"epoch": 2, "note": "x" * 2_000_000})
    assert (small_disk / "metrics.csv").read_bytes() == before
    assert [p.name for p in small_disk.iterdir()] == ["metrics.csv"]
