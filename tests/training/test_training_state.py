"""TrainState: everything a run must remember, round-tripped through real files.

The oracle for exactness is an uninterrupted run: training, saving the state
mid-epoch, loading it into freshly built objects and finishing must give the
same weights bit for bit.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.utils.data import DataLoader

from ctckit.data import BucketBatchSampler, TimeFrequencyMask, Utterance, collate_ctc
from ctckit.errors import DataError, InputTypeError
from ctckit.training import (
    EpochResult,
    TrainState,
    read_checkpoint,
    save_checkpoint,
    seed_everything,
    train_one_epoch,
    write_checkpoint,
)

V = 5


class Tiny(torch.nn.Module):
    """A real CTC model, small enough to train in milliseconds."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = torch.nn.Linear(3, V)
        self.drop = torch.nn.Dropout(0.3)  # draws from torch's global generator

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.proj(self.drop(x)).log_softmax(-1), lengths


def _data(n: int = 24) -> list[Utterance]:
    g = torch.Generator().manual_seed(0)
    out = []
    for i in range(n):
        t = int(torch.randint(8, 20, (1,), generator=g))
        y = torch.randint(1, V, (int(torch.randint(1, 4, (1,), generator=g)),), generator=g)
        out.append(Utterance(torch.randn(t, 3, generator=g), y, f"u{i}"))
    return out


class _Run:
    """One training setup, built the same way each time (as a resumed process would)."""

    def __init__(self, workers: int = 0) -> None:
        seed_everything(0)
        self.data = _data()
        lengths = [len(u.features) for u in self.data]
        self.sampler = BucketBatchSampler(lengths, max_frames=60, seed=1)
        self.loader = DataLoader(
            self.data,
            batch_sampler=self.sampler,
            collate_fn=collate_ctc,
            num_workers=workers,
            generator=torch.Generator().manual_seed(0),
        )
        self.model = Tiny()
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=0.05)
        self.scheduler = torch.optim.lr_scheduler.StepLR(self.optimizer, step_size=1, gamma=0.5)
        self.augment = TimeFrequencyMask(time_masks=1, max_time_width=3, freq_masks=1, seed=5)
        self.averager = torch.optim.swa_utils.AveragedModel(self.model)
        self.state = TrainState(
            self.model,
            self.optimizer,
            self.scheduler,
            torch.amp.GradScaler("cpu", enabled=False),
            self.sampler,
            self.augment.generator,
            averager=self.averager,
        )

    def train(self, epochs: int, stop_after: int | None = None) -> bool:
        """Train up to ``epochs``; with ``stop_after``, return early after that many steps."""
        steps = [0]

        class Stop(Exception):
            pass

        def on_step(totals: EpochResult) -> None:
            self.state.record_step(totals)
            self.averager.update_parameters(self.model)
            steps[0] += 1
            if stop_after is not None and steps[0] == stop_after:
                raise Stop

        for epoch in range(self.state.epoch, epochs):
            self.sampler.set_epoch(epoch)
            try:
                train_one_epoch(
                    self.model,
                    self.loader,
                    self.optimizer,
                    augment=self.augment,
                    start=self.state.epoch_totals,
                    on_step=on_step,
                )
            except Stop:
                return False
            self.scheduler.step()
            self.state.finish_epoch(10.0 - epoch)
        return True


@pytest.mark.parametrize("workers", [0, 2])
def test_a_mid_epoch_state_resumes_to_identical_weights(tmp_path: Path, workers: int) -> None:
    whole = _Run(workers)
    whole.train(3)

    first = _Run(workers)
    assert not first.train(3, stop_after=5)  # mid-epoch 1 (each epoch has 3 or 4 batches)
    assert first.state.batches_consumed > 0
    if workers:  # the loader drew batches ahead; the state keeps the loop's own count
        assert first.sampler.batches_consumed > first.state.batches_consumed
    write_checkpoint(tmp_path / "last.pt", first.state.state_dict(), {"run": "a"})
    del first
    random.seed(99), np.random.seed(99), torch.manual_seed(99)  # noqa: NPY002  (a fresh process)

    second = _Run(workers)
    second.state.load_state_dict(read_checkpoint(tmp_path / "last.pt"))
    assert second.train(3)
    for a, b in zip(whole.model.state_dict().values(), second.model.state_dict().values()):
        assert torch.equal(a, b)
    for a, b in zip(whole.averager.state_dict().values(), second.averager.state_dict().values()):
        assert torch.equal(a, b)
    assert (second.state.epoch, second.state.step) == (whole.state.epoch, whole.state.step)
    assert second.state.best_score == whole.state.best_score == 8.0
    assert second.state.best_epoch == 3
    assert second.scheduler.get_last_lr() == whole.scheduler.get_last_lr()


def test_state_dict_holds_only_what_weights_only_loading_reads(tmp_path: Path) -> None:
    run = _Run()
    run.train(1)
    state = run.state.state_dict()
    assert set(state) >= {"model", "optimizer", "sampler", "rng", "augment_rng", "averager"}
    assert state["epoch"] == 1
    assert state["best_epoch"] == 1
    path = tmp_path / "s.pt"
    torch.save(state, path)
    loaded = torch.load(path, weights_only=True)
    assert loaded["sampler"]["batches_consumed"] == 0  # between epochs
    assert len(loaded["rng"]) == 1  # one process


def test_old_train_py_checkpoints_still_load(tmp_path: Path) -> None:
    """ctckit 0.1's train.py kept the augmenter states and running totals under ``extra``."""
    run = _Run()
    run.train(1, stop_after=2)
    generator_state = run.augment.generator.get_state()
    path = save_checkpoint(
        tmp_path / "old.pt",
        model=run.model,
        optimizer=run.optimizer,
        scheduler=run.scheduler,
        sampler_state=run.sampler.state_dict(),
        epoch=0,
        batches_consumed=2,
        best_score=None,
        config={},
        extra={"epoch_totals": run.state.epoch_totals.as_dict(), "augment_rng": [generator_state]},
    )
    again = _Run()
    again.state.averager = None
    again.state.load_state_dict(read_checkpoint(path), path=path)
    assert again.state.batches_consumed == 2
    assert again.state.epoch_totals.loss_sum == run.state.epoch_totals.loss_sum
    assert torch.equal(again.augment.generator.get_state(), generator_state)
    assert len(again.sampler) == len(run.sampler) - 2


def test_weights_only_files_cannot_resume_an_optimiser(tmp_path: Path) -> None:
    run = _Run()
    path = save_checkpoint(tmp_path / "best.pt", model=run.model, epoch=1, config={})
    with pytest.raises(DataError, match=r"best\.pt: holds no optimiser state, only weights"):
        _Run().state.load_state_dict(read_checkpoint(path), path=path)
    weights_only = TrainState(Tiny())
    weights_only.load_state_dict(read_checkpoint(path), path=path)  # no optimiser: fine
    assert weights_only.epoch == 1


def test_parts_that_do_not_fit_are_data_errors(tmp_path: Path) -> None:
    run = _Run()
    run.train(1)
    path = write_checkpoint(tmp_path / "c.pt", run.state.state_dict(), {})
    other = _Run()
    other.sampler.seed = 7
    with pytest.raises(DataError, match=r"cannot restore sampler state: .*seed: saved 1, now 7"):
        other.state.load_state_dict(read_checkpoint(path), path=path)


def test_bad_parts_are_refused() -> None:
    model = Tiny()
    with pytest.raises(InputTypeError, match=r"model must be a torch\.nn\.Module"):
        TrainState("model")  # type: ignore[arg-type]
    with pytest.raises(InputTypeError, match="scheduler must have state_dict"):
        TrainState(model, scheduler=object())  # type: ignore[arg-type]
    with pytest.raises(InputTypeError, match=r"augment_rng must be a torch\.Generator"):
        TrainState(model, augment_rng=TimeFrequencyMask())  # type: ignore[arg-type]


def _ddp_worker(rank: int, store: str, out: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2)
    try:
        torch.manual_seed(100 + rank)
        augment = torch.Generator().manual_seed(200 + rank)
        state = TrainState(Tiny(), augment_rng=augment)
        state.record_step(EpochResult(loss_sum=1.0 + rank, utterances=2, batches=1))
        saved = state.state_dict()  # collective
        mine = torch.rand(3)  # what this rank draws next
        if rank == 0:
            torch.save(saved, out)
        dist.barrier()
        torch.manual_seed(0)
        resumed = TrainState(Tiny(), augment_rng=torch.Generator())
        resumed.load_state_dict(torch.load(out, weights_only=True))
        assert torch.equal(torch.rand(3), mine), rank  # this rank's own generator state
        assert torch.equal(
            resumed.augment_rng.get_state(),  # type: ignore[union-attr]
            torch.Generator().manual_seed(200 + rank).get_state(),
        )
        # rank 0 carries the totals summed over ranks; the others only the position
        assert resumed.epoch_totals.loss_sum == (3.0 if rank == 0 else 0.0)
        assert resumed.batches_consumed == 1
    finally:
        dist.destroy_process_group()


def test_every_ranks_generators_are_saved_and_each_rank_restores_its_own(tmp_path: Path) -> None:
    mp.start_processes(
        _ddp_worker,
        args=(str(tmp_path / "store"), str(tmp_path / "state.pt")),
        nprocs=2,
        start_method="spawn",
    )
    saved = torch.load(tmp_path / "state.pt", weights_only=True)
    assert len(saved["rng"]) == len(saved["augment_rng"]) == 2
    assert not torch.equal(saved["rng"][0]["torch"], saved["rng"][1]["torch"])
    assert os.path.getsize(tmp_path / "state.pt") > 0
