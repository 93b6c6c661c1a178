"""Guide: a training run's folder: resume exactly after a crash, never mix two runs.

    python docs/guides/training_runs.py            # the guide (under a minute on 2 cores)
    python docs/guides/training_runs.py --quick    # the same run (the tests run this)

The data is a toy task held in memory (the mechanics, not the learning, are
the point); the run folders go to a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from ctckit.data import BucketBatchSampler, TimeFrequencyMask, Utterance, collate_ctc
from ctckit.errors import DataError
from ctckit.nn import BiLSTMEncoder, ConvEmbedder, CTCHead, CTCModel
from ctckit.training import (
    EpochResult,
    RunDirectory,
    TrainState,
    evaluate,
    read_checkpoint,
    seed_everything,
    train_one_epoch,
)

CLASSES, FEATURES = 6, 8


class Crash(Exception):
    """Stands in for a crash or a kill in the middle of an epoch."""


def toy_data(n: int, seed: int) -> list[Utterance]:
    g = torch.Generator().manual_seed(seed)
    items = []
    for i in range(n):
        n_labels = int(torch.randint(2, 5, (1,), generator=g))
        labels = torch.randint(1, CLASSES, (n_labels,), generator=g)
        frames = labels.repeat_interleave(5)  # each label held 5 frames
        x = torch.nn.functional.one_hot(frames, FEATURES).float()
        items.append(Utterance(x + 0.2 * torch.randn(x.shape, generator=g), labels, f"u{i}"))
    return items


def build(train: list[Utterance]) -> tuple[TrainState, DataLoader[object], TimeFrequencyMask]:
    """Everything a run mutates, built the same way in every process that runs it."""
    seed_everything(0)
    sampler = BucketBatchSampler([len(u.features) for u in train], max_frames=120, seed=0)
    loader = DataLoader(train, batch_sampler=sampler, collate_fn=collate_ctc,
                        generator=torch.Generator().manual_seed(0))  # fmt: skip
    model = CTCModel(ConvEmbedder(FEATURES, channels=(32,), stride=1),
                     BiLSTMEncoder(32, hidden_size=32, num_layers=1, dropout=0.1),
                     CTCHead(64, CLASSES, hidden=()))  # fmt: skip
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-2)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    augment = TimeFrequencyMask(time_masks=1, max_time_width=2, freq_masks=1, seed=0)
    state = TrainState(model, optimizer, scheduler, sampler=sampler, augment_rng=augment.generator)
    return state, loader, augment


def train(
    run: RunDirectory,
    data: tuple[list[Utterance], list[Utterance]],
    epochs: int,
    crash_at: tuple[int, int] | None = None,
) -> TrainState:
    """The loop every run uses: a checkpoint every 2 steps and at each epoch's end."""
    state, loader, augment = build(data[0])
    if run.start(state, {"task": "toy"}, must_match=["task"]):
        print(
            f"  resumed at epoch {state.epoch}, batch {state.batches_consumed}, step {state.step}"
        )

    def on_step(totals: EpochResult) -> None:
        state.record_step(totals)
        if totals.batches % 2 == 0:
            run.save(state)  # mid-epoch: last.pt only
        if (state.epoch + 1, totals.batches) == crash_at:  # (epoch from 1, batch)
            raise Crash

    dev_loader = DataLoader(data[1], batch_size=8, collate_fn=collate_ctc)
    for epoch in range(state.epoch, epochs):
        loader.batch_sampler.set_epoch(epoch)
        train_one_epoch(state.model, loader, state.optimizer, augment=augment,
                        start=state.epoch_totals, on_step=on_step, clip_norm=5.0)  # fmt: skip
        score = evaluate(state.model, dev_loader).mean_distance
        state.scheduler.step()
        improved = state.finish_epoch(score)
        run.log({"epoch": state.epoch, "dev_distance": round(score, 4)})
        run.save(state)  # best.pt first when the score improved, then last.pt
        print(f"  epoch {state.epoch}: dev distance {score:.3f}{'  *best*' if improved else ''}")
    return state


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--quick", action="store_true", default=bool(os.environ.get("CTCKIT_GUIDE_QUICK"))
    )
    p.parse_args(argv)
    torch.set_num_threads(1)
    base = Path(tempfile.mkdtemp(prefix="ctckit-runs-"))
    data = toy_data(48, seed=1), toy_data(12, seed=2)

    # 1. A run: RunDirectory locks the folder and owns last.pt, best.pt and metrics.csv.
    print("1. an uninterrupted run of 4 epochs")
    with RunDirectory(base / "whole") as run:
        whole = train(run, data, epochs=4)
    print("  files:", " ".join(sorted(p.name for p in (base / "whole").iterdir())))

    # 2. A crash in epoch 3, then --resume: the same weights as the uninterrupted run.
    print("2. a run that crashes in epoch 3, then resumes")
    try:
        with RunDirectory(base / "crashed") as run:
            train(run, data, epochs=4, crash_at=(3, 3))
    except Crash:
        last = read_checkpoint(base / "crashed" / "last.pt")
        print(f"  crashed; last.pt: epoch {last['epoch']}, batch {last['batches_consumed']}")
    with RunDirectory(base / "crashed", resume=base / "crashed" / "last.pt") as run:
        resumed = train(run, data, epochs=4)
    same = all(torch.equal(a, b) for a, b in zip(whole.model.state_dict().values(),
                                                 resumed.model.state_dict().values()))  # fmt: skip
    print(f"  identical weights to the uninterrupted run: {same}")
    best = read_checkpoint(base / "crashed" / "best.pt")
    print(f"  best.pt: epoch {best['epoch']} (dev distance {best['best_score']:.3f}),"
          f" the best epoch last.pt records: {resumed.best_epoch}")  # fmt: skip

    # 3. The rules that keep two runs apart.
    print("3. what is refused")
    crashed_last = base / "crashed" / "last.pt"
    attempts = {
        "a fresh run into a used folder": lambda: RunDirectory(base / "whole"),
        "resuming another run into it": lambda: RunDirectory(base / "whole", resume=crashed_last),
    }
    with RunDirectory(base / "busy"):
        attempts["a second run while one writes"] = lambda: RunDirectory(base / "busy")
        for what, attempt in attempts.items():
            try:
                attempt()
            except DataError as err:
                message = re.sub(r"pid \d+ on [^)\s]+", "pid PID on HOST", str(err))
                print(f"  {what}:\n    {message.replace(str(base), 'TMP')}")
    with RunDirectory(base / "whole", overwrite=True) as run:
        left = sorted(p.name for p in run.path.iterdir())
        print(f"  overwrite=True deleted the old run's files; left: {left}")


if __name__ == "__main__":
    main()
