#!/usr/bin/env python
"""Train a CTC phoneme recogniser on HW3P2-layout data (the embedded corpus by default).

    python examples/hw3p2/train.py        # synthesise the corpus if absent, train `compact`
    python examples/hw3p2/train.py --data ROOT --preset resnet34_04f --epochs 100
    python examples/hw3p2/train.py --resume runs/hw3p2/last.pt
    torchrun --nproc_per_node=2 examples/hw3p2/train.py

Writes into --out: best.pt and last.pt (checkpoints), metrics.csv (one row per
epoch), history.png, posteriorgram.png and summary.json. A folder that already
holds a run is refused unless --resume continues it or --overwrite replaces it.
See README.md beside this file.
"""

from __future__ import annotations

import argparse
import inspect
import math
import sys
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from ctckit import hw3p2_vocabulary
from ctckit._checks import check_device, check_float, check_int
from ctckit._cli import run_cli
from ctckit.data import BucketBatchSampler, PhonemeDataset, TimeFrequencyMask, collate_ctc
from ctckit.decode import BeamSearchDecoder
from ctckit.errors import DataError
from ctckit.nn.presets import PRESETS, build_preset
from ctckit.training import (
    DEFAULT_CORPUS_SIZE,
    EpochResult,
    ExponentialMovingAverage,
    NoamLR,
    RunDirectory,
    TrainState,
    WallClockBudget,
    WarmupCosineLR,
    barrier,
    cleanup_distributed,
    cpu_threads_per_process,
    default_corpus_root,
    ensure_corpus,
    epoch_row,
    evaluate,
    evaluation_loader,
    init_distributed,
    load_checkpoint,
    plot_history,
    plot_posteriorgram,
    seed_everything,
    train_one_epoch,
)

#: Keys that must match between a checkpoint and the run resuming it.
MODEL_KEYS = ("preset", "num_classes", "in_features", "normalize")
PLOTS = ("history.png", "posteriorgram.png")
default_cache = default_corpus_root  # where the embedded corpus lives (benchmarks use this name)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = p.add_argument
    add("--data", type=Path, help="HW3P2-layout root (default: the embedded corpus)")
    add("--corpus-size", type=int, nargs=3, default=DEFAULT_CORPUS_SIZE, metavar="N",
        help="train, dev and test utterances of the embedded corpus")  # fmt: skip
    add("--preset", default="compact", choices=sorted(PRESETS), help="model preset (compact)")
    add("--epochs", type=int, default=12)
    add("--batch-frames", type=int, default=6000, help="padded frames per batch (per process)")
    add("--lr", type=float, default=2e-3, help="(peak) learning rate")
    add("--weight-decay", type=float, default=0.0)
    add("--clip-norm", type=float, default=5.0)
    add("--schedule", choices=("cosine", "noam", "plateau"), default="plateau",
        help="per epoch: ReduceLROnPlateau (default, with the EMA: docs/benchmarks/model.md); "
             "per step: warm-up + cosine or Noam decay")  # fmt: skip
    add("--warmup-steps", type=int, default=300, help="linear warm-up steps (cosine, noam)")
    add("--final-lr", type=float, default=0.02, help="cosine: last rate / peak rate")
    add("--ema", type=float, default=0.999, help="weight EMA decay per step (0: none)")
    add("--plateau-patience", type=int, default=1, help="ReduceLROnPlateau patience (epochs)")
    add("--plateau-factor", type=float, default=0.5)
    add("--augment", action="store_true", help="SpecAugment-style time/frequency masking")
    # the masks' defaults are TimeFrequencyMask's own
    masks = {k: p.default for k, p in inspect.signature(TimeFrequencyMask).parameters.items()}
    mask_options = (("--time-masks", "time_masks", "time masks per utterance"),
                    ("--time-width", "max_time_width", "widest time mask (frames)"),
                    ("--freq-masks", "freq_masks", "feature bands per utterance"),
                    ("--freq-width", "max_freq_width", "widest band (features)"))  # fmt: skip
    for flag, name, what in mask_options:
        add(flag, type=int, default=masks[name], help=f"--augment: {what} ({masks[name]})")
    add("--no-normalize", dest="normalize", action="store_false", help="no cepstral normalisation")
    add("--out", type=Path, default=Path("runs/hw3p2"), help="the run folder (runs/hw3p2)")
    add("--resume", type=Path, help="continue the run from this checkpoint (OUT/last.pt)")
    add("--overwrite", action="store_true", help="replace the run already in --out")
    add("--device", help="cpu, cuda or cuda:N (default: cuda if available)")
    add("--seed", type=int, default=0)
    add("--deterministic", action="store_true", help="deterministic kernels (bit-exact resumes)")
    add("--beam-width", type=int, default=10, help="beam of the final dev evaluation (0: none)")
    add("--workers", type=int, default=0, help="DataLoader worker processes")
    add("--threads", type=int,
        help="torch threads per process (CPU default: usable cores / processes, 1-4)")  # fmt: skip
    add("--checkpoint-every", type=int, default=100, help="also save last.pt every N batches")
    add("--max-minutes", type=float, help="stop before an epoch that would pass this budget")
    add("--no-amp", dest="amp", action="store_false", help="no float16 autocast on CUDA")
    add("--tensorboard", action="store_true", help="also log to OUT/tensorboard")
    add("--quiet", action="store_true", help="no progress bars")
    return p


def check_args(args: argparse.Namespace) -> None:
    """Refuse bad options before any data or model is loaded."""
    for flag in ("epochs", "batch_frames", "plateau_patience", "seed", "beam_width", "workers",
                 "checkpoint_every", "warmup_steps", "time_masks", "time_width", "freq_masks",
                 "freq_width"):  # fmt: skip
        low = 1 if flag in ("epochs", "batch_frames", "warmup_steps") else 0
        check_int(getattr(args, flag), "--" + flag.replace("_", "-"), low)
    for flag in ("lr", "clip_norm", "plateau_factor", "threads", "max_minutes"):
        value = getattr(args, flag)
        if value is not None and value != math.inf:
            check_float(value, "--" + flag.replace("_", "-"), 0.0, low_open=True)
    check_float(args.weight_decay, "--weight-decay", 0.0)
    check_float(args.final_lr, "--final-lr", 0.0, 1.0)
    check_float(args.ema, "--ema", 0.0, 1.0, high_open=True)
    if args.device is not None:
        check_device(args.device, "--device")
    if args.data is not None and not (args.data / "train").is_dir():
        raise DataError("no train/ folder: --data must be an HW3P2-layout root", path=args.data)


def main(args: argparse.Namespace) -> int:
    check_args(args)
    wall0 = time.perf_counter()
    info = init_distributed(args.device)
    device = info.device
    say = print if info.is_main else lambda *_, **__: None  # rank 0 alone prints
    if args.threads or device.type == "cpu":
        torch.set_num_threads(args.threads or cpu_threads_per_process(info.world_size))
    seed_everything(args.seed + info.rank, deterministic=args.deterministic)
    run = RunDirectory(
        args.out,
        resume=args.resume,
        overwrite=args.overwrite,
        outputs=PLOTS,
        tensorboard=args.tensorboard,
    )
    root = args.data or ensure_corpus(sizes=args.corpus_size, progress=not args.quiet)[0]

    vocab = hw3p2_vocabulary()
    train_set = PhonemeDataset(root, "train", vocab, normalize=args.normalize)
    dev_set = PhonemeDataset(root, "dev", vocab, normalize=args.normalize)
    sampler = BucketBatchSampler(train_set.lengths, max_frames=args.batch_frames, seed=args.seed)
    # The loader's own generator: starting an epoch never draws from the global RNG.
    loader = DataLoader(
        train_set,
        batch_sampler=sampler,
        collate_fn=collate_ctc,
        num_workers=args.workers,
        generator=torch.Generator().manual_seed(0),
        pin_memory=device.type == "cuda",
    )
    dev_loader = evaluation_loader(dev_set, max_frames=args.batch_frames, num_workers=args.workers)

    model = build_preset(args.preset, num_classes=len(vocab), in_features=13).to(device)
    net = torch.nn.parallel.DistributedDataParallel(model) if info.distributed else model
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps = args.epochs * len(sampler)
    scheduler: WarmupCosineLR | NoamLR | torch.optim.lr_scheduler.ReduceLROnPlateau
    if args.schedule == "cosine":
        warmup = min(args.warmup_steps, steps - 1)
        scheduler = WarmupCosineLR(optimizer, warmup, steps, args.final_lr)
    elif args.schedule == "noam":
        scheduler = NoamLR(optimizer, args.warmup_steps)
    else:
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="min", factor=args.plateau_factor, patience=args.plateau_patience
        )
    per_step = not isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
    ema = ExponentialMovingAverage(model, args.ema) if args.ema else None
    scored = ema.module if ema is not None else net  # what dev scores and best.pt hold
    scaler = torch.amp.GradScaler(device.type, enabled=device.type == "cuda" and args.amp)
    augment = None
    if args.augment:
        augment = TimeFrequencyMask(args.time_masks, args.time_width, freq_masks=args.freq_masks,
                                    max_freq_width=args.freq_width,
                                    seed=args.seed + 1000 * info.rank)  # fmt: skip
    state = TrainState(model, optimizer, scheduler, scaler, sampler, augment and augment.generator,
                       averager=ema)  # fmt: skip
    config = {
        "preset": args.preset,
        "num_classes": len(vocab),
        "in_features": 13,
        "normalize": args.normalize,
        "lr": args.lr,
        "batch_frames": args.batch_frames,
        "seed": args.seed,
        "world_size": info.world_size,
        "augment": args.augment,
        "augment_masks": [args.time_masks, args.time_width, args.freq_masks, args.freq_width],
        "schedule": args.schedule,
        "ema": args.ema,
        "data": str(root),
    }
    if run.start(state, config, must_match=MODEL_KEYS):
        say(
            f"resumed from {args.resume}: epoch {state.epoch}, batch {state.batches_consumed}, "
            f"best {state.best_score}"
        )
    n_params = sum(p.numel() for p in model.parameters())
    say(
        f"data {root}: {len(train_set)} train / {len(dev_set)} dev utterances; preset "
        f"{args.preset} ({n_params / 1e6:.2f} M parameters) on {device}"
        + (f" x {info.world_size} processes" if info.distributed else "")
        + f"; {len(sampler)} batches per epoch per process",
        flush=True,
    )

    def on_step(totals: EpochResult) -> None:
        state.record_step(totals)
        if per_step:
            scheduler.step()
        if ema is not None:
            ema.update(model)
        if args.checkpoint_every and totals.batches % args.checkpoint_every == 0:
            run.save(state)  # mid-epoch: last.pt only

    minutes = args.max_minutes or math.inf
    budget = WallClockBudget(60 * minutes, reserve=30, since=wall0)
    for epoch in range(state.epoch, args.epochs):
        sampler.set_epoch(epoch)
        bar = f"epoch {epoch + 1}/{args.epochs}" if info.is_main and not args.quiet else False
        result = train_one_epoch(
            net,
            loader,
            optimizer,
            scaler=scaler,
            clip_norm=args.clip_norm,
            augment=augment,
            start=state.epoch_totals,
            on_step=on_step,
            progress=bar,
        )
        dev = evaluate(scored, dev_loader, vocab=vocab, amp=scaler.is_enabled())
        if not per_step:
            scheduler.step(dev.mean_distance)
        improved = state.finish_epoch(dev.mean_distance)
        run.log(row := epoch_row(epoch + 1, result, dev, lr=optimizer.param_groups[0]["lr"]))
        say(
            f"epoch {epoch + 1:3d}  train loss {result.loss:.4f}  dev loss {dev.loss:.4f}  "
            f"dev distance {dev.mean_distance:.3f}  PER {dev.error_rate:.3f}  lr {row['lr']:.2e}  "
            f"{result.seconds:.0f}+{dev.seconds:.0f} s"
            + ("  *best*" if improved else "")
            + (f"  ({result.infeasible} infeasible)" if result.infeasible else ""),
            flush=True,
        )
        # best.pt (the scored weights: the EMA's when averaging) first when improved, then last.pt
        run.save(state, best_model=None if ema is None else ema.module)
        if not budget.another_epoch_fits() and epoch + 1 < args.epochs:
            say(
                f"stopping after epoch {epoch + 1}: another epoch (~{budget.last_epoch_seconds:.0f}"
                f" s) would pass the {minutes:.1f}-minute budget (--max-minutes)"
            )
            break

    summary = {
        "preset": args.preset,
        "epochs": state.epoch,
        "parameters": n_params,
        "best_dev_distance_greedy": state.best_score,
        "world_size": info.world_size,
    }
    barrier()  # rank 0 has written best.pt (the ranks share one file system)
    if args.beam_width and run.file(run.BEST).exists():
        decoder = BeamSearchDecoder(beam_width=args.beam_width)
        if info.is_main:  # compile (and cache) the Numba kernels once, before the other ranks
            decoder.decode(torch.full((1, 2, len(vocab)), -math.log(len(vocab))))
        barrier()
        load_checkpoint(run.file(run.BEST), model=model)
        beam = evaluate(net, dev_loader, vocab=vocab, decoder=decoder, compute_loss=False)
        say(
            f"best model, beam {args.beam_width}: dev distance {beam.mean_distance:.3f}  "
            f"PER {beam.error_rate:.3f}  ({beam.seconds:.0f} s)"
        )
        summary.update(best_dev_distance_beam=beam.mean_distance, beam_width=args.beam_width)
    if info.is_main:
        if run.metrics is not None and run.metrics.rows:
            plot_history(run.file(run.METRICS), run.file(PLOTS[0]), title=f"{args.preset}")
        item = dev_set[0]
        with torch.no_grad():
            log_probs, _ = model.eval()(
                item.features[None].to(device), torch.tensor([len(item.features)], device=device)
            )
        plot_posteriorgram(
            log_probs[0].cpu(),
            run.file(PLOTS[1]),
            labels=list(vocab.labels),
            reference=" ".join(vocab.decode(item.targets.tolist())),
            title=f"dev {item.id}",
        )
        summary["wall_seconds"] = round(time.perf_counter() - wall0, 1)
        run.write_json(run.SUMMARY, summary)
        print(f"done in {summary['wall_seconds']:.0f} s; wrote {args.out}/", flush=True)
    run.close()
    cleanup_distributed()
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(parser(), main))
