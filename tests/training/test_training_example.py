"""The worked example end to end on a tiny random HW3P2-layout corpus.

Real processes, real files: two-process torchrun (gloo), real SIGKILLs (mid
epoch, and between writing best.pt and last.pt) followed by exact resumes,
the run-folder rules, predict's submission order. The corpus is random numpy
data (the mechanics, not the learning, are under test) so each run takes
seconds.

The kills come from :data:`KILLER`, a wrapper that runs train.py in the same
process after wrapping one library function to send the process SIGKILL at
the chosen point; train.py itself has no test hook.
"""

from __future__ import annotations

import csv
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from ctckit import hw3p2_vocabulary
from ctckit.errors import DataError
from ctckit.training import load_checkpoint, read_checkpoint, read_history

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


KILLER = """
import os, runpy, signal, sys
from pathlib import Path

point, count, script, *args = sys.argv[1:]
calls = [0]


def kill_after(module, name, when):
    real = getattr(module, name)

    def wrapper(*a, **k):
        out = real(*a, **k)
        if when(*a):
            calls[0] += 1
            if calls[0] == int(count):
                os.kill(os.getpid(), signal.SIGKILL)
        return out

    setattr(module, name, wrapper)


if point == "train-step":  # after the N-th optimiser step
    import ctckit.training.loop as loop
    kill_after(loop, "train_step", lambda *a: True)
elif point == "best-written":  # after the N-th best.pt, before its last.pt
    import ctckit.training.rundir as rundir
    kill_after(rundir, "write_checkpoint", lambda path, *a: Path(path).name == "best.pt")
elif point == "inside-write":  # inside the N-th atomic checkpoint write, before the rename
    import torch
    kill_after(torch, "save", lambda *a: True)
sys.argv = [script, *args]
runpy.run_path(script, run_name="__main__")
"""


def _train(
    corpus: Path, out: Path, *extra: str, check: bool = True, kill: tuple[str, int] | None = None
) -> subprocess.CompletedProcess[str]:
    killer = [] if kill is None else ["-c", KILLER, kill[0], str(kill[1])]
    cmd = [sys.executable, *killer, str(TRAIN), "--data", str(corpus), "--out", str(out), "--quiet",
           "--threads", "1", "--batch-frames", "200", "--beam-width", "0", *extra]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"train.py failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)["model"]


COMMON = ("--epochs", "3", "--seed", "3", "--checkpoint-every", "2", "--deterministic", "--augment")


def _same_run(a: Path, b: Path) -> None:
    """Two run folders hold bit-identical checkpoints and the same metrics."""
    for name in ("last.pt", "best.pt"):
        wa, wb = _weights(a / name), _weights(b / name)
        assert wa.keys() == wb.keys()
        for key in wa:
            assert torch.equal(wa[key], wb[key]), (name, key)
    assert read_checkpoint(a / "best.pt")["epoch"] == read_checkpoint(b / "best.pt")["epoch"]
    rows_a, rows_b = read_history(a / "metrics.csv"), read_history(b / "metrics.csv")
    assert [r["epoch"] for r in rows_b] == [1.0, 2.0, 3.0]
    for ra, rb in zip(rows_a, rows_b):
        assert (ra["train_loss"], ra["dev_distance"]) == (rb["train_loss"], rb["dev_distance"])


@pytest.fixture(scope="module")
def uninterrupted(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("uninterrupted") / "run"
    _train(corpus, out, *COMMON)
    return out


def test_sigkill_mid_epoch_then_resume_gives_identical_weights(
    corpus: Path, tmp_path: Path, uninterrupted: Path
) -> None:
    out = tmp_path / "b"
    killed = _train(corpus, out, *COMMON, check=False, kill=("train-step", 7))
    assert killed.returncode == -9, killed.stderr  # really SIGKILLed
    ck = load_checkpoint(out / "last.pt")
    assert ck.batches_consumed > 0, "the kill should land mid-epoch, after a mid-epoch checkpoint"
    resumed = _train(corpus, out, *COMMON, "--resume", str(out / "last.pt"))
    assert "resumed from" in resumed.stdout
    _same_run(uninterrupted, out)


def test_sigkill_between_best_and_last_leaves_no_stale_best(
    corpus: Path, tmp_path: Path, uninterrupted: Path
) -> None:
    rows = read_history(uninterrupted / "metrics.csv")
    scores = [r["dev_distance"] for r in rows]
    improving = [e for e in range(3) if scores[e] < min(scores[:e], default=math.inf)]
    out = tmp_path / "b"
    killed = _train(corpus, out, *COMMON, check=False, kill=("best-written", len(improving)))
    assert killed.returncode == -9, killed.stderr
    best, last = read_checkpoint(out / "best.pt"), read_checkpoint(out / "last.pt")
    # best.pt already holds the newest best epoch; last.pt is the checkpoint before it
    assert best["epoch"] == improving[-1] + 1
    assert best["best_score"] == pytest.approx(min(scores), abs=1e-4)  # the log rounds
    assert last["epoch"] < best["epoch"]
    resumed = _train(corpus, out, *COMMON, "--resume", str(out / "last.pt"))
    assert "resumed from" in resumed.stdout
    _same_run(uninterrupted, out)
    assert read_checkpoint(out / "last.pt")["best_epoch"] == improving[-1] + 1


def test_a_kill_inside_a_write_leaves_debris_that_the_resume_sweeps(
    corpus: Path, tmp_path: Path, uninterrupted: Path
) -> None:
    out = tmp_path / "b"
    killed = _train(corpus, out, *COMMON, check=False, kill=("inside-write", 4))
    assert killed.returncode == -9, killed.stderr
    debris = [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
    assert len(debris) == 1, debris  # the checkpoint-sized temporary file of the killed write
    assert (out / debris[0]).stat().st_size > 100_000
    _train(corpus, out, *COMMON, "--resume", str(out / "last.pt"))
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
    _same_run(uninterrupted, out)


def test_a_fresh_run_into_a_used_out_is_refused_until_overwrite(
    corpus: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    _train(corpus, out, "--epochs", "1")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    again = _train(corpus, out, "--epochs", "1", "--seed", "5", check=False)
    assert again.returncode == 1
    _one_line_error(again, "already holds a training run")
    assert f"--resume {out / 'last.pt'}" in again.stderr
    assert "--overwrite" in again.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # nothing touched
    _train(corpus, out, "--epochs", "1", "--seed", "5", "--overwrite")
    assert load_checkpoint(out / "last.pt").config["seed"] == 5
    assert [r["epoch"] for r in read_history(out / "metrics.csv")] == [1.0]


def test_a_second_run_into_the_same_out_at_once_is_refused(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    cmd = [sys.executable, str(TRAIN), "--data", str(corpus), "--out", str(out), "--quiet",
           "--threads", "1", "--batch-frames", "200", "--beam-width", "0",
           "--epochs", "500"]  # fmt: skip
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=_env())
    try:
        assert first.stdout is not None
        assert first.stdout.readline().startswith("data ")  # it holds the folder by now
        second = _train(corpus, out, "--epochs", "1", check=False)
        assert second.returncode == 1
        _one_line_error(second, f"another training run (pid {first.pid} on ")
        assert first.poll() is None  # the first run goes on
    finally:
        first.kill()
        first.wait()
    rows = read_history(out / "metrics.csv") if (out / "metrics.csv").exists() else []
    assert all(r["train_utterances"] >= SIZES["train"] for r in rows)  # only the first run's


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
    # a second torchrun into the used folder: every rank stops with rank 0's refusal, none waits
    again = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=300)
    assert again.returncode != 0
    assert "error: " in again.stderr
    assert "already holds a training run" in again.stderr
    assert "rank 0 failed to open the run folder" in again.stderr  # rank 1's line


def test_resume_from_a_corrupt_checkpoint_fails_clearly(corpus: Path, tmp_path: Path) -> None:
    bad = tmp_path / "last.pt"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    proc = _train(corpus, tmp_path / "x", "--resume", str(bad), check=False)
    assert proc.returncode != 0
    assert "corrupt" in proc.stderr
    assert str(bad) in proc.stderr
    with pytest.raises(DataError):
        load_checkpoint(bad)


# -- command-line errors: one line on stderr, exit 1, before any data or model is loaded --------


def _one_line_error(proc: subprocess.CompletedProcess[str], text: str) -> None:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: "), proc.stderr
    assert text in lines[0], proc.stderr


def _script(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, str(script), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=300)


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder this process cannot write into (a read-only mount when running as root)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() == 0:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)])
        if done.returncode != 0:
            pytest.skip("root cannot be kept out of a folder without a read-only mount")
        try:
            yield folder
        finally:
            subprocess.run(["umount", "-l", str(folder)], check=False)
    else:
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(0o755)


class _Evil:
    """Unpickling this runs a shell command (the classic pickle attack)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ctckit.nn.presets import build_preset
    from ctckit.training import save_checkpoint

    path = tmp_path_factory.mktemp("ck") / "best.pt"
    config = {"preset": "compact", "num_classes": 41, "in_features": 13, "normalize": True}
    return save_checkpoint(path, model=build_preset("compact"), epoch=1, config=config)


TRAIN_ERRORS = [
    (["--data", "/nonexistent/root"], "/nonexistent/root: no train/ folder"),
    (["--batch-frames", "0"], "--batch-frames must be >= 1, got 0"),
    (["--lr", "-1"], "--lr must be a finite float > 0.0, got -1.0"),
    (["--epochs", "0"], "--epochs must be >= 1, got 0"),
    (["--augment", "--time-width", "-1"], "--time-width must be >= 0, got -1"),
    (["--resume", "/nonexistent/last.pt"], "/nonexistent/last.pt: checkpoint file not found"),
]


@pytest.mark.parametrize(("args", "message"), TRAIN_ERRORS)
def test_train_option_errors(corpus: Path, tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "run"
    proc = _script(TRAIN, "--data", str(corpus), "--out", str(out), *args)
    assert proc.returncode == 1
    _one_line_error(proc, message)
    assert "data " not in proc.stdout  # refused before the data were loaded
    assert not out.exists()  # ... and before the run folder was made


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without CUDA")
@pytest.mark.parametrize("script", [TRAIN, PREDICT])
def test_device_cuda_without_cuda(corpus: Path, tmp_path: Path, script: Path) -> None:
    out = ["--out", str(tmp_path / "run")] if script == TRAIN else []
    proc = _script(script, "--data", str(corpus), *out, "--device", "cuda")
    assert proc.returncode == 1
    _one_line_error(proc, "--device 'cuda' is not available")


def test_a_malicious_resume_is_refused_and_never_runs(corpus: Path, tmp_path: Path) -> None:
    from ctckit.training import CHECKPOINT_FORMAT

    marker, evil = tmp_path / "pwned", tmp_path / "last.pt"
    torch.save({"format": CHECKPOINT_FORMAT, "model": {}, "x": _Evil(marker)}, evil)
    proc = _script(
        TRAIN, "--data", str(corpus), "--out", str(tmp_path / "run"), "--resume", str(evil)
    )
    assert proc.returncode == 1
    _one_line_error(proc, "refused to load checkpoint")
    assert not marker.exists()
    assert not (tmp_path / "run").exists()


def test_a_read_only_out_is_one_line(corpus: Path, read_only_dir: Path) -> None:
    proc = _script(TRAIN, "--data", str(corpus), "--out", str(read_only_dir / "run"))
    assert proc.returncode == 1
    _one_line_error(proc, "cannot write the run folder")
    assert "data " not in proc.stdout


PREDICT_ERRORS = [
    (["--beam-width", "0"], "--beam-width must be >= 1, got 0"),
    (["--batch-frames", "-5"], "--batch-frames must be >= 1, got -5"),
    (["--checkpoint", "/nonexistent/best.pt"], "/nonexistent/best.pt: checkpoint file not found"),
    (["--data", "/nonexistent/root"], "/nonexistent/root: no test/ folder"),
]


@pytest.mark.parametrize(("args", "message"), PREDICT_ERRORS)
def test_predict_option_errors(
    corpus: Path, checkpoint: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "submission.csv"
    proc = _script(PREDICT, "--data", str(corpus), "--checkpoint", str(checkpoint),
                   "--output", str(out), *args)  # fmt: skip
    assert proc.returncode == 1
    _one_line_error(proc, message)
    assert not out.exists()


def test_predict_malformed_lm(corpus: Path, checkpoint: Path, tmp_path: Path) -> None:
    lm = tmp_path / "phones.arpa"
    lm.write_text("\\\\data\\\\\nngram 1=two\n")
    out = tmp_path / "submission.csv"
    proc = _script(PREDICT, "--data", str(corpus), "--checkpoint", str(checkpoint),
                   "--output", str(out), "--lm", str(lm))  # fmt: skip
    assert proc.returncode == 1
    _one_line_error(proc, f"{lm}: line 2")
    assert not out.exists()


@pytest.mark.parametrize("script", [TRAIN, PREDICT])
def test_usage_errors_keep_exit_2_and_debug_shows_the_traceback(
    script: Path, tmp_path: Path
) -> None:
    usage = _script(script, "--batch-frames", "many")
    assert usage.returncode == 2
    assert "invalid int value: 'many'" in usage.stderr
    debug = _script(script, "--batch-frames", "0", "--debug", "--data", str(tmp_path))
    assert debug.returncode == 1
    assert "Traceback (most recent call last)" in debug.stderr
    assert "InputValueError: --batch-frames must be >= 1, got 0" in debug.stderr
