#!/usr/bin/env python
"""Train a CTC phoneme recogniser on HW3P2-layout data (the embedded corpus by default).

    python examples/hw3p2/train.py        # synthesise the corpus if absent, train `compact`
    python examples/hw3p2/train.py --data ROOT --preset resnet34_04f --epochs 100
    python examples/hw3p2/train.py --resume runs/hw3p2/last.pt
    torchrun --nproc_per_node=2 examples/hw3p2/train.py

Writes into --out: best.pt and last.pt (checkpoints), metrics.csv (one row per
epoch), history.png, posteriorgram.png and summary.json. See README.md beside
this file.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Subset

from ctckit import hw3p2_vocabulary
from ctckit.data import BucketBatchSampler, PhonemeDataset, TimeFrequencyMask, collate_ctc
from ctckit.decode import BeamSearchDecoder
from ctckit.files import atomic_open
from ctckit.nn.presets import PRESETS, build_preset
from ctckit.training import (
    EpochResult,
    MetricsLog,
    all_reduce_sum,
    barrier,
    capture_rng_state,
    cleanup_distributed,
    evaluate,
    init_distributed,
    load_checkpoint,
    plot_history,
    plot_posteriorgram,
    save_checkpoint,
    seed_everything,
    train_one_epoch,
)

#: Size of the embedded corpus generated when --data is not given.
CORPUS_SIZE = {"train": 1500, "dev": 200, "test": 200}
#: Seconds kept for the final beam evaluation and plots when budgeting wall time.
FINAL_RESERVE_S = 30.0
#: Keys that must match between a checkpoint and the run resuming it.
MODEL_KEYS = ("preset", "num_classes", "in_features", "normalize")


def default_cache() -> Path:
    """Where the embedded corpus lives: $CTCKIT_CACHE or ~/.cache/ctckit, then hw3p2-synth."""
    base = os.environ.get("CTCKIT_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "ctckit"
    )
    return Path(base) / "hw3p2-synth"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--data",
        type=Path,
        default=None,
        help="HW3P2-layout root (default: the embedded corpus, generated if absent)",
    )
    p.add_argument(
        "--corpus-size",
        type=int,
        nargs=3,
        metavar=("TRAIN", "DEV", "TEST"),
        default=None,
        help="utterances of the generated corpus (default %(default)s: 1500 200 200)",
    )
    p.add_argument(
        "--preset",
        default="compact",
        choices=sorted(PRESETS),
        help="model preset (default: compact)",
    )
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument(
        "--batch-frames", type=int, default=6000, help="padded frames per batch (per process)"
    )
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--clip-norm", type=float, default=5.0)
    p.add_argument(
        "--plateau-patience", type=int, default=1, help="ReduceLROnPlateau patience (epochs)"
    )
    p.add_argument("--plateau-factor", type=float, default=0.5)
    p.add_argument(
        "--augment", action="store_true", help="SpecAugment-style time/frequency masking"
    )
    p.add_argument(
        "--no-normalize",
        dest="normalize",
        action="store_false",
        help="do not apply per-utterance cepstral mean/variance normalisation",
    )
    p.add_argument(
        "--resume", type=Path, default=None, help="checkpoint to resume from (e.g. OUT/last.pt)"
    )
    p.add_argument("--out", type=Path, default=Path("runs/hw3p2"))
    p.add_argument(
        "--device", default=None, help="cpu, cuda or cuda:N (default: cuda if available)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--deterministic", action="store_true", help="deterministic kernels (bit-exact resumes)"
    )
    p.add_argument(
        "--beam-width", type=int, default=10, help="beam for the final dev evaluation (0: skip)"
    )
    p.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch intra-op threads per process (default on CPU: half the cores per "
        "process, 1 to 4; small-batch LSTMs gain little from more and lose much when "
        "the cores are shared)",
    )
    p.add_argument(
        "--checkpoint-every",
        type=int,
        default=100,
        help="also save last.pt every N batches (0: epoch ends only)",
    )
    p.add_argument(
        "--max-minutes",
        type=float,
        default=None,
        help="wall-time budget: no epoch is started that would end past it "
        "(default: 9 on the embedded corpus, unlimited with --data)",
    )
    # For the tests: SIGKILL this process after N training batches (a crash mid-epoch).
    p.add_argument("--kill-after-batches", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--no-amp", dest="amp", action="store_false", help="no float16 autocast on CUDA")
    p.add_argument(
        "--tensorboard", action="store_true", help="also log to OUT/tensorboard (needs tensorboard)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p.parse_args(argv)


def log(info: Any, *parts: object) -> None:
    if info.is_main:
        print(*parts, flush=True)


def ensure_corpus(args: argparse.Namespace, info: Any) -> Path:
    """The data root; on rank 0, synthesise the embedded corpus when needed."""
    if args.data is not None:
        return Path(args.data)
    root = default_cache()
    sizes = args.corpus_size or [CORPUS_SIZE["train"], CORPUS_SIZE["dev"], CORPUS_SIZE["test"]]
    if info.is_main:
        from ctckit.data.synth import make_corpus

        t0 = time.perf_counter()
        made = make_corpus(root, *sizes, seed=0, progress=not args.quiet)
        if made.written:
            print(
                f"corpus: synthesised {made.written} utterances into {root} in "
                f"{time.perf_counter() - t0:.1f} s",
                flush=True,
            )
        else:
            print(f"corpus: {root} ({sum(sizes)} utterances, already there)", flush=True)
    barrier()
    return root


def gather_rng_states(info: Any) -> list[dict[str, Any]]:
    """Every rank's generator states, on every rank (rank order)."""
    mine = capture_rng_state()
    if not info.distributed:
        return [mine]
    out: list[Any] = [None] * info.world_size
    dist.all_gather_object(out, mine)
    return out


def write_json(path: Path, data: dict[str, Any]) -> None:
    with atomic_open(path, "w") as fh:
        json.dump(data, fh, indent=2)
        fh.write("\n")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wall0 = time.perf_counter()
    info = init_distributed(args.device)
    device = info.device
    if args.threads:
        torch.set_num_threads(args.threads)
    elif device.type == "cpu":
        torch.set_num_threads(max(1, min(4, (os.cpu_count() or 1) // (2 * info.world_size))))
    seed_everything(args.seed + info.rank, deterministic=args.deterministic)
    root = ensure_corpus(args, info)

    vocab = hw3p2_vocabulary()
    train_set = PhonemeDataset(root, "train", vocab, normalize=args.normalize)
    dev_set = PhonemeDataset(root, "dev", vocab, normalize=args.normalize)
    sampler = BucketBatchSampler(
        train_set.lengths,
        max_frames=args.batch_frames,
        shuffle=True,
        seed=args.seed,
        num_replicas=info.world_size,
        rank=info.rank,
    )
    # Its own generator, so creating an iterator never draws from the global RNG (exact resumes).
    loader = DataLoader(
        train_set,
        batch_sampler=sampler,
        collate_fn=collate_ctc,
        num_workers=args.workers,
        generator=torch.Generator().manual_seed(args.seed),
        pin_memory=device.type == "cuda",
    )
    # Dev: a disjoint share per rank (every utterance scored exactly once), no padding repeats.
    mine = list(range(info.rank, len(dev_set), info.world_size))
    dev_lengths = dev_set.lengths[mine]
    dev_loader = DataLoader(
        Subset(dev_set, mine),
        collate_fn=collate_ctc,
        num_workers=args.workers,
        batch_sampler=BucketBatchSampler(
            dev_lengths,
            max_frames=max([args.batch_frames, *dev_lengths.tolist()]),
            shuffle=False,
            num_replicas=1,
            rank=0,
        ),
    )

    model = build_preset(args.preset, num_classes=len(vocab), in_features=13).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    net: torch.nn.Module = model
    if info.distributed:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", factor=args.plateau_factor, patience=args.plateau_patience
    )
    scaler = torch.amp.GradScaler(device.type, enabled=device.type == "cuda" and args.amp)
    augment = (
        TimeFrequencyMask(seed=args.seed + 1000 * info.rank).to(device) if args.augment else None
    )

    config: dict[str, Any] = {
        "preset": args.preset,
        "num_classes": len(vocab),
        "in_features": 13,
        "normalize": args.normalize,
        "lr": args.lr,
        "batch_frames": args.batch_frames,
        "seed": args.seed,
        "world_size": info.world_size,
        "augment": args.augment,
        "data": str(root),
    }
    out: Path = args.out
    if info.is_main:
        out.mkdir(parents=True, exist_ok=True)
    start_epoch, best, start_totals = 0, math.inf, None
    if args.resume is not None:
        ck = load_checkpoint(
            args.resume,
            model=model,
            optimizer=optimizer,
            scheduler=scheduler,
            scaler=scaler,
            expect_config={k: config[k] for k in MODEL_KEYS},
            restore_rng=True,
            rank=info.rank,
        )
        start_epoch = ck.epoch
        best = math.inf if ck.best_score is None else ck.best_score
        if ck.batches_consumed:
            if ck.sampler_state is not None:
                sampler.load_state_dict(ck.sampler_state)
            if info.is_main:  # rank 0 carries the all-rank totals of the part already done
                start_totals = EpochResult.from_dict(ck.extra.get("epoch_totals", {}))
            else:
                start_totals = EpochResult(batches=ck.batches_consumed)
        aug_states = ck.extra.get("augment_rng")
        if augment is not None and aug_states is not None:
            augment.generator.set_state(aug_states[min(info.rank, len(aug_states) - 1)])
        log(
            info,
            f"resumed from {args.resume}: epoch {ck.epoch}, batch {ck.batches_consumed}, "
            f"best {best:.3f}",
        )
    metrics = (
        MetricsLog(
            out / "metrics.csv", tensorboard_dir=out / "tensorboard" if args.tensorboard else None
        )
        if info.is_main
        else None
    )
    if metrics is not None:
        metrics.truncate(start_epoch)

    log(
        info,
        f"data {root}: {len(train_set)} train / {len(dev_set)} dev utterances; "
        f"preset {args.preset} ({n_params / 1e6:.2f} M parameters) on {device}"
        f"{f' x {info.world_size} processes' if info.distributed else ''}; "
        f"{len(sampler)} batches per epoch per process",
    )

    def checkpoint(path: Path, epoch: int, consumed: int, totals: EpochResult | None) -> None:
        rng = gather_rng_states(info)  # collective: every rank calls this
        aug: list[torch.Tensor] | None = None
        if augment is not None:
            mine_state = augment.generator.get_state()
            aug = [mine_state]
            if info.distributed:
                objs: list[Any] = [None] * info.world_size
                dist.all_gather_object(objs, mine_state)
                aug = objs
        if info.is_main:
            extra: dict[str, Any] = {"epoch_totals": totals.as_dict() if totals else {}}
            if aug is not None:
                extra["augment_rng"] = aug
            save_checkpoint(
                path,
                model=model,
                optimizer=optimizer,
                scheduler=scheduler,
                scaler=scaler,
                sampler_state=sampler.state_dict(batches_consumed=consumed),
                epoch=epoch,
                batches_consumed=consumed,
                best_score=None if math.isinf(best) else best,
                config=config,
                rng_states=rng,
                extra=extra,
            )

    budget = 60 * (
        args.max_minutes
        if args.max_minutes is not None
        else (9.0 if args.data is None else math.inf)
    )
    budget = None if math.isinf(budget) else budget
    epoch_began = time.perf_counter()
    epoch = start_epoch
    steps_run = [0]
    for epoch in range(start_epoch, args.epochs):
        sampler.set_epoch(epoch)
        t0 = time.perf_counter()

        def on_step(totals: EpochResult, epoch: int = epoch) -> None:
            if args.checkpoint_every and totals.batches % args.checkpoint_every == 0:
                checkpoint(out / "last.pt", epoch, totals.batches, totals.reduced())
            steps_run[0] += 1
            if args.kill_after_batches is not None and steps_run[0] >= args.kill_after_batches:
                os.kill(os.getpid(), signal.SIGKILL)

        result = train_one_epoch(
            net,
            loader,
            optimizer,
            scaler=scaler,
            clip_norm=args.clip_norm,
            augment=augment,
            start=start_totals if epoch == start_epoch else None,
            on_step=on_step,
            progress=False
            if (args.quiet or not info.is_main)
            else f"epoch {epoch + 1}/{args.epochs}",
        )
        train_time = time.perf_counter() - t0
        ev = evaluate(net, dev_loader, vocab=vocab, amp=scaler.is_enabled())
        scheduler.step(ev.mean_distance)
        improved = ev.mean_distance < best
        best = min(best, ev.mean_distance)
        lr = optimizer.param_groups[0]["lr"]
        row = {
            "epoch": epoch + 1,
            "train_loss": round(result.loss, 5),
            "dev_loss": round(ev.loss, 5),
            "dev_distance": round(ev.mean_distance, 4),
            "dev_per": round(ev.error_rate, 5),
            "lr": lr,
            "infeasible": result.infeasible,
            "train_utterances": result.utterances,
            "train_batches": result.batches,
            "dev_utterances": ev.utterances,
            "skipped_steps": result.skipped_steps,
            "train_seconds": round(train_time, 2),
            "eval_seconds": round(ev.seconds, 2),
        }
        log(
            info,
            f"epoch {epoch + 1:3d}  train loss {result.loss:.4f}  dev loss {ev.loss:.4f}  "
            f"dev distance {ev.mean_distance:.3f}  PER {ev.error_rate:.3f}  lr {lr:.2e}  "
            f"{train_time:.0f}+{ev.seconds:.0f} s"
            + ("  *best*" if improved else "")
            + (f"  ({result.infeasible} infeasible)" if result.infeasible else ""),
        )
        if metrics is not None:
            metrics.append(row)
        checkpoint(out / "last.pt", epoch + 1, 0, None)
        if info.is_main and improved:
            save_checkpoint(
                out / "best.pt", model=model, epoch=epoch + 1, best_score=best, config=config
            )
        elapsed = time.perf_counter() - wall0
        epoch_cost = time.perf_counter() - epoch_began  # the last epoch's, train + dev
        epoch_began = time.perf_counter()
        over = budget is not None and elapsed + epoch_cost + FINAL_RESERVE_S > budget
        if epoch + 1 < args.epochs and all_reduce_sum([float(over)])[0] > 0:  # ranks agree
            log(
                info,
                f"stopping after epoch {epoch + 1}: another epoch (~{epoch_cost:.0f} s) "
                f"would pass the {budget / 60:.1f}-minute budget (--max-minutes)",
            )
            epoch += 1
            break
    else:
        epoch = args.epochs

    summary: dict[str, Any] = {
        "preset": args.preset,
        "epochs": epoch,
        "best_dev_distance_greedy": best,
        "parameters": n_params,
        "world_size": info.world_size,
    }
    if args.beam_width > 0:
        decoder = BeamSearchDecoder(beam_width=args.beam_width)
        if info.is_main:  # compile (and cache) the Numba kernels once, before the other ranks
            decoder.decode(torch.full((1, 2, len(vocab)), -math.log(len(vocab))))
        barrier()  # also: rank 0 has written best.pt (ranks share one file system)
        if (out / "best.pt").exists():
            load_checkpoint(out / "best.pt", model=model)
            t0 = time.perf_counter()
            beam = evaluate(
                net,
                dev_loader,
                vocab=vocab,
                decoder=decoder,
                compute_loss=False,
            )
            log(
                info,
                f"best model, beam {args.beam_width}: dev distance {beam.mean_distance:.3f}  "
                f"PER {beam.error_rate:.3f}  ({time.perf_counter() - t0:.0f} s)",
            )
            summary.update(best_dev_distance_beam=beam.mean_distance, beam_width=args.beam_width)
    if info.is_main:
        if metrics is not None and metrics.rows:
            plot_history(
                out / "metrics.csv", out / "history.png", title=f"{args.preset} on {root.name}"
            )
            metrics.close()
        item = dev_set[0]
        model.eval()
        with torch.no_grad():
            lp, _ = model(
                item.features[None].to(device),
                torch.tensor([item.features.shape[0]], device=device),
            )
        plot_posteriorgram(
            lp[0].cpu(),
            out / "posteriorgram.png",
            labels=list(vocab.labels),
            reference=None
            if item.targets is None
            else " ".join(vocab.decode(item.targets.tolist())),
            title=f"dev {item.id}",
        )
        summary["wall_seconds"] = round(time.perf_counter() - wall0, 1)
        write_json(out / "summary.json", summary)
        print(f"done in {summary['wall_seconds']:.0f} s; wrote {out}/", flush=True)
    cleanup_distributed()
    return 0


if __name__ == "__main__":
    sys.exit(main())
