"""The worked example end to end on a tiny random HW3P2-layout corpus.

Real processes, real files: two-process torchrun (gloo), SIGKILL mid-epoch
and an exact resume, predict's submission order. The corpus is random numpy
data (the mechanics, not the learning, are under test) so each run takes
seconds.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ctckit import hw3p2_vocabulary
from ctckit.errors import DataError
from ctckit.training import load_checkpoint, read_history

ROOT = Path(__file__).resolve().parents[2]
TRAIN = ROOT / "examples" / "hw3p2" / "train.py"
PREDICT = ROOT / "examples" / "hw3p2" / "predict.py"
SIZES = {"train": 16, "dev": 6, "test": 5}


def _write_corpus(root: Path, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    symbols = hw3p2_vocabulary().labels[1:]
    for part, n in SIZES.items():
        for i in range(n):
            frames = int(rng.integers(24, 48))
            labels = [symbols[j] for j in rng.integers(0, len(symbols), int(rng.integers(2, 6)))]
            name = f"{part[:2]}{i:03d}.npy"
            mfcc = root / part / "mfcc" / name
            mfcc.parent.mkdir(parents=True, exist_ok=True)
            np.save(mfcc, rng.normal(size=(frames, 13)).astype(np.float32))
            folder = root / ("test_transcripts" if part == "test" else f"{part}/transcript")
            folder.mkdir(parents=True, exist_ok=True)
            np.save(folder / name, np.array(["<sos>", *labels, "<eos>"]))
    names = [f"te{i:03d}.npy" for i in rng.permutation(SIZES["test"])]  # not sorted order
    (root / "test" / "test_order.csv").write_text("file\n" + "\n".join(names) + "\n")
    return root


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_corpus(tmp_path_factory.mktemp("corpus"))


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", PYTHONHASHSEED="0", CTCKIT_CACHE="/nonexistent")
    return env


def _train(
    corpus: Path, out: Path, *extra: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, str(TRAIN), "--data", str(corpus), "--out", str(out), "--quiet",
           "--threads", "1", "--batch-frames", "200", "--beam-width", "0", *extra]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"train.py failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)["model"]


def test_sigkill_mid_epoch_then_resume_gives_identical_weights(
    corpus: Path, tmp_path: Path
) -> None:
    common = (
        "--epochs",
        "3",
        "--seed",
        "3",
        "--checkpoint-every",
        "2",
        "--deterministic",
        "--augment",
    )
    _train(corpus, tmp_path / "a", *common)
    killed = _train(corpus, tmp_path / "b", *common, "--kill-after-batches", "7", check=False)
    assert killed.returncode == -9, killed.stderr  # really SIGKILLed
    ck = load_checkpoint(tmp_path / "b" / "last.pt")
    assert ck.batches_consumed > 0, "the kill should land mid-epoch, after a mid-epoch checkpoint"
    resumed = _train(corpus, tmp_path / "b", *common, "--resume", str(tmp_path / "b" / "last.pt"))
    assert "resumed from" in resumed.stdout
    a, b = _weights(tmp_path / "a" / "last.pt"), _weights(tmp_path / "b" / "last.pt")
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    rows_a, rows_b = (
        read_history(tmp_path / "a" / "metrics.csv"),
        read_history(tmp_path / "b" / "metrics.csv"),
    )
    assert [r["epoch"] for r in rows_b] == [1.0, 2.0, 3.0]
    for ra, rb in zip(rows_a, rows_b):
        assert (ra["train_loss"], ra["dev_distance"]) == (rb["train_loss"], rb["dev_distance"])


def test_outputs_resume_with_another_preset_and_predict(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = _train(corpus, out, "--epochs", "2", "--beam-width", "2")
    assert "epoch   2" in proc.stdout
    assert "beam 2" in proc.stdout
    for name in (
        "best.pt",
        "last.pt",
        "metrics.csv",
        "history.png",
        "posteriorgram.png",
        "summary.json",
    ):
        assert (out / name).is_file(), name
    assert (out / "history.png").read_bytes()[:4] == b"\x89PNG"
    rows = read_history(out / "metrics.csv")
    assert [r["epoch"] for r in rows] == [1.0, 2.0]
    assert all(r["dev_utterances"] == SIZES["dev"] for r in rows)
    assert load_checkpoint(out / "last.pt").config["preset"] == "compact"

    # resuming into another preset is refused with a clear message
    bad = _train(
        corpus,
        tmp_path / "other",
        "--preset",
        "base01",
        "--resume",
        str(out / "last.pt"),
        check=False,
    )
    assert bad.returncode != 0
    assert "preset='compact' but this run has preset='base01'" in bad.stderr

    # predict: one row per test utterance, ids from 0 in test_order.csv order
    cmd = [sys.executable, str(PREDICT), "--data", str(corpus), "--beam-width", "3"]
    cmd += ["--checkpoint", str(out / "best.pt")]
    pred = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=300)
    assert pred.returncode == 0, pred.stderr
    assert "test mean distance" in pred.stdout
    with (out / "submission.csv").open(newline="") as fh:
        rows_csv = list(csv.reader(fh))
    assert rows_csv[0] == ["id", "predictions"]
    assert [r[0] for r in rows_csv[1:]] == [str(i) for i in range(SIZES["test"])]
    # each row is the decoding of the utterance test_order.csv lists at that position
    from ctckit.data import UnlabeledDataset
    from ctckit.decode import BeamSearchDecoder
    from ctckit.nn.presets import build_preset

    vocab = hw3p2_vocabulary()
    model = build_preset("compact")
    load_checkpoint(out / "best.pt", model=model)
    model.eval()
    test = UnlabeledDataset(corpus, "test", normalize=True)
    order = (corpus / "test" / "test_order.csv").read_text().split()[1:]
    decoder = BeamSearchDecoder(beam_width=3)
    for i, name in enumerate(order):
        assert test.ids[i] == name.removesuffix(".npy")
        feats = test[i].features[None]
        with torch.no_grad():
            lp, lens = model(feats, torch.tensor([feats.shape[1]]))
        assert rows_csv[1 + i][1] == vocab.to_string(decoder.decode(lp, lens)[0][0].tokens)


def test_torchrun_two_processes(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           str(TRAIN), "--data", str(corpus), "--out", str(out), "--quiet", "--threads", "1",
           "--batch-frames", "200", "--epochs", "2", "--beam-width", "2",
           "--device", "cpu"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "x 2 processes" in proc.stdout
    assert proc.stdout.count("epoch   1") == 1  # only rank 0 prints
    rows = read_history(out / "metrics.csv")
    assert [r["epoch"] for r in rows] == [1.0, 2.0]
    # dev is split disjointly and the counts summed: every utterance scored exactly once
    assert all(r["dev_utterances"] == SIZES["dev"] for r in rows)
    # train: each rank ran its share of the batches, the utterance counts were summed
    assert all(r["train_utterances"] >= SIZES["train"] for r in rows)
    ck = load_checkpoint(out / "last.pt")
    assert ck.config["world_size"] == 2
    assert ck.sampler_state is not None
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []  # no temp files


def test_resume_from_a_corrupt_checkpoint_fails_clearly(corpus: Path, tmp_path: Path) -> None:
    bad = tmp_path / "last.pt"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    proc = _train(corpus, tmp_path / "x", "--resume", str(bad), check=False)
    assert proc.returncode != 0
    assert "corrupt" in proc.stderr
    assert str(bad) in proc.stderr
    with pytest.raises(DataError):
        load_checkpoint(bad)
