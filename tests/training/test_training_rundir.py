"""RunDirectory: one run per folder, no silent overwrite, best.pt never stale, no debris.

Real folders, real locks held by real processes, a real full file system.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ctckit.errors import CTCKitError, DataError, StorageError
from ctckit.training import RunDirectory, TrainState, read_checkpoint, write_checkpoint

CONFIG = {"preset": "linear"}


def _state(seed: int = 0) -> TrainState:
    torch.manual_seed(seed)
    model = torch.nn.Linear(3, 3)
    return TrainState(model, torch.optim.SGD(model.parameters(), lr=0.1))


def _nudge(state: TrainState) -> None:
    with torch.no_grad():
        for p in state.model.parameters():
            p.add_(1.0)


def _epochs(folder: Path, scores: list[float], **kwargs: object) -> TrainState:
    """A real run's bookkeeping: weights change, one row and one save per epoch."""
    state = _state()
    with RunDirectory(folder, **kwargs) as run:  # type: ignore[arg-type]
        run.start(state, CONFIG)
        for score in scores[state.epoch :]:
            _nudge(state)
            state.finish_epoch(score)
            run.log({"epoch": state.epoch, "dev_distance": score})
            run.save(state)
    return state


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_a_fresh_run_into_a_used_folder_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    _epochs(tmp_path, [5.0, 4.0])
    before = _files(tmp_path)
    with pytest.raises(DataError) as info:
        RunDirectory(tmp_path)
    message = str(info.value)
    assert "already holds a training run (best.pt, last.pt, metrics.csv)" in message
    assert f"--resume {tmp_path / 'last.pt'}" in message
    assert "--overwrite" in message
    assert "\n" not in message
    assert _files(tmp_path) == before


def test_overwrite_deletes_the_old_run_files_and_only_those(tmp_path: Path) -> None:
    _epochs(tmp_path, [5.0, 4.0])
    (tmp_path / "history.png").write_bytes(b"old plot")
    (tmp_path / "notes.txt").write_text("mine")
    state = _epochs(tmp_path, [9.0], overwrite=True, outputs=["history.png"])
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "best.pt",
        "last.pt",
        "metrics.csv",
        "notes.txt",
        "run.lock",
    ]
    assert read_checkpoint(tmp_path / "last.pt")["epoch"] == 1 == state.epoch
    assert (tmp_path / "metrics.csv").read_text() == "epoch,dev_distance\n1,9.0\n"


def test_resume_continues_and_drops_metrics_rows_it_will_redo(tmp_path: Path) -> None:
    _epochs(tmp_path, [5.0, 4.0])
    state = _state(seed=3)
    with RunDirectory(tmp_path, resume=tmp_path / "last.pt") as run:
        assert run.start(state, CONFIG)
    assert (state.epoch, state.best_score, state.best_epoch) == (2, 4.0, 2)
    # a row written after the checkpoint (the run was killed before saving) is dropped
    (tmp_path / "metrics.csv").write_text("epoch,dev_distance\n1,5.0\n2,4.0\n3,3.0\n")
    with RunDirectory(tmp_path, resume=tmp_path / "last.pt") as run:
        run.start(_state(), CONFIG)
    assert (tmp_path / "metrics.csv").read_text() == "epoch,dev_distance\n1,5.0\n2,4.0\n"


def test_resume_and_overwrite_rules(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    _epochs(a, [5.0])
    _epochs(b, [6.0])
    with pytest.raises(DataError, match="overwrite would delete the checkpoint to resume from"):
        RunDirectory(a, resume=a / "last.pt", overwrite=True)
    with pytest.raises(DataError, match=r"already holds a training run .*into another folder"):
        RunDirectory(b, resume=a / "last.pt")  # would mix a's history into b's
    fork = tmp_path / "fork"
    state = _state()
    with RunDirectory(fork, resume=a / "last.pt") as run:  # an empty folder: a fork
        assert run.start(state, CONFIG)
    assert state.epoch == 1
    with pytest.raises(DataError, match=r"preset='linear' but this run has preset='other'"):
        RunDirectory(a, resume=a / "last.pt").start(
            _state(), {"preset": "other"}, must_match=["preset"]
        )


def test_a_bad_resume_file_is_refused_before_the_folder_is_touched(tmp_path: Path) -> None:
    _epochs(tmp_path, [5.0])
    before = _files(tmp_path)
    (tmp_path / "junk.pt").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(DataError, match="corrupt"):
        RunDirectory(tmp_path, resume=tmp_path / "junk.pt", overwrite=True)
    assert _files(tmp_path) == {**before, "junk.pt": b"PK\x03\x04 not a zip"}


_HOLDER = """
import sys, time
from ctckit.training import RunDirectory
run = RunDirectory(sys.argv[1])
print("holding", flush=True)
time.sleep(120)
"""


def test_a_second_concurrent_run_is_refused_and_the_lock_dies_with_its_process(
    tmp_path: Path,
) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(DataError, match=rf"another training run \(pid {holder.pid} on "):
            RunDirectory(tmp_path)
        in_process = RunDirectory(tmp_path / "other")
        with pytest.raises(DataError, match="another training run"):  # same process, too
            RunDirectory(tmp_path / "other")
        in_process.close()
        RunDirectory(tmp_path / "other").close()  # released by close()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert (tmp_path / "run.lock").exists()  # the file stays; the lock died with the process
    RunDirectory(tmp_path).close()


def test_temporary_files_a_kill_left_are_swept_on_the_next_start(tmp_path: Path) -> None:
    _epochs(tmp_path, [5.0])
    for name in (".last.pt.k2j4h1x9.tmp", ".metrics.csv.abcdefgh.tmp", ".best.pt.q.tmp"):
        (tmp_path / name).write_bytes(b"x" * 1000)
    (tmp_path / ".notes.txt.aaaaaaaa.tmp").write_bytes(b"someone else's")
    with RunDirectory(tmp_path, resume=tmp_path / "last.pt") as run:
        run.start(_state(), CONFIG)
    left = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("."))
    assert left == [".notes.txt.aaaaaaaa.tmp"]


def test_best_is_written_before_last_and_a_best_ahead_of_last_is_adopted(tmp_path: Path) -> None:
    written: list[str] = []
    import ctckit.training.rundir as rundir

    real = rundir.write_checkpoint

    def spy(path: Path, *args: object) -> Path:
        written.append(Path(path).name)
        return real(path, *args)  # type: ignore[arg-type]

    rundir.write_checkpoint = spy  # type: ignore[assignment]
    try:
        _epochs(tmp_path, [5.0, 6.0, 4.0])
    finally:
        rundir.write_checkpoint = real  # type: ignore[assignment]
    assert written == ["best.pt", "last.pt", "last.pt", "best.pt", "last.pt"]
    assert read_checkpoint(tmp_path / "last.pt")["best_epoch"] == 3
    # as if killed between the two writes of epoch 3: best.pt is ahead of last.pt
    two = tmp_path / "two"
    _epochs(two, [5.0, 6.0])
    ahead = read_checkpoint(tmp_path / "best.pt")
    write_checkpoint(
        two / "best.pt", {k: ahead[k] for k in ("model", "epoch", "best_score")}, CONFIG
    )
    state = _state()
    with RunDirectory(two, resume=two / "last.pt") as run:
        run.start(state, CONFIG)
        assert (state.epoch, state.best_score, state.best_epoch) == (2, 4.0, 3)
        _nudge(state)
        state.finish_epoch(4.5)  # the rerun of epoch 3 scores worse than best.pt's model
        run.save(state)
    assert torch.equal(
        read_checkpoint(two / "best.pt")["model"]["weight"], ahead["model"]["weight"]
    )


def test_best_can_hold_the_weights_of_the_model_that_was_scored(tmp_path: Path) -> None:
    state = _state()
    averaged = torch.nn.Linear(3, 3)  # e.g. an exponential moving average's module
    with RunDirectory(tmp_path) as run:
        run.start(state, CONFIG)
        state.finish_epoch(5.0)
        run.save(state, best_model=averaged)
    assert torch.equal(read_checkpoint(tmp_path / "best.pt")["model"]["weight"], averaged.weight)
    assert torch.equal(read_checkpoint(tmp_path / "last.pt")["model"]["weight"], state.model.weight)


def test_a_stale_best_is_repaired_from_last_when_last_holds_the_best_weights(
    tmp_path: Path,
) -> None:
    _epochs(tmp_path, [5.0, 4.0])
    last = read_checkpoint(tmp_path / "last.pt")
    # the older order (last.pt, then best.pt) killed in between: best.pt is from epoch 1
    stale = {"model": {k: v - 1 for k, v in last["model"].items()}, "epoch": 1, "best_score": 5.0}
    write_checkpoint(tmp_path / "best.pt", stale, CONFIG)
    with RunDirectory(tmp_path, resume=tmp_path / "last.pt") as run:
        run.start(_state(), CONFIG)
    best = read_checkpoint(tmp_path / "best.pt")
    assert (best["epoch"], best["best_score"]) == (2, 4.0)
    assert torch.equal(best["model"]["weight"], last["model"]["weight"])


def test_a_full_disk_keeps_the_previous_checkpoints(small_disk: Path) -> None:
    folder = small_disk / "run"
    state = _state()
    with RunDirectory(folder) as run:
        run.start(state, CONFIG)
        state.finish_epoch(5.0)
        run.save(state)
        before = _files(folder)
        state.model.register_buffer("big", torch.zeros(400_000))  # 1.6 MB: more than is left
        state.finish_epoch(4.0)
        with pytest.raises(StorageError, match=r"no space left on device while writing .*best\.pt"):
            run.save(state)
    assert _files(folder) == before


def test_an_unwritable_folder_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DataError, match="cannot write the run folder") as info:
        RunDirectory(blocker / "run")
    assert isinstance(info.value, CTCKitError)
