"""Training throughput: threads, data loading and presets; and masking's cost against plain code.

Two measurements, chosen with the first argument:

``throughput`` (the default): training frames per second of presets on the
corpus's real batches (``BucketBatchSampler``, 6,000 frames, as the example
trains), for each configuration of torch intra-op threads, OpenMP wait
policy and DataLoader workers. Each configuration runs in its own
subprocess (OpenMP reads ``OMP_WAIT_POLICY`` once, when torch loads), the
configurations take turns round after round, and each run times
``--batches`` training steps (forward, CTC loss, backward, Adam; data
loading included) after two warm-up steps. A configuration is
``t<threads>[p]w<workers>``: ``t2pw0`` is 2 threads with
``OMP_WAIT_POLICY=PASSIVE`` and loading in the main process. Prints the
median and best frames/s over the rounds, with ``uptime`` before and after
(other work on the machine moves absolute figures; the turns keep the
ratios fair).

``plain``: the ``resnet34_04f`` preset against a plain re-implementation of
the seed's model (below), to show what the masking costs.

Run:

    python benchmarks/bench_model.py throughput --presets compact conformer_s4 \
        --configs t1w0 t2w0 t2pw0 t1w1 t1w2 --rounds 3 [--data ROOT]
    python benchmarks/bench_model.py plain [--batch 8] [--min-len 100] [--max-len 400]

The plain model is the seed's HW3P2 model written the straightforward way:
the same layer sizes (one 13 -> 256 BasicBlock, stride 2, dropout 0.3; a
4-layer BiLSTM 256 with dropout 0.3 over ``pack_padded_sequence``; Linear
512 -> 2048, BatchNorm, dropout 0.4, ReLU, Linear 2048 -> 41), plain
``nn.Conv1d`` / ``nn.BatchNorm1d`` / ``nn.LSTM``, and no masking (its
BatchNorm statistics include padded frames and its head runs on every padded
frame).

Both models train on the same ragged batch (same features, lengths and
targets): one step is forward, CTC loss, backward and an Adam step. Steps
alternate between the two models, and the median step time of each is
reported as training frames (input feature frames) per second.

``plain`` uses one intra-op thread by default (``--threads``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ctckit.nn import ctc_loss
from ctckit.nn.presets import build_preset


class PlainBasicBlock(nn.Module):
    """torchvision's BasicBlock in 1-D, as the seed wrote it (no masking)."""

    def __init__(self, cin: int, cout: int, stride: int, dropout: float) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm1d(cout)
        self.conv2 = nn.Conv1d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm1d(cout)
        self.down = nn.Sequential(nn.Conv1d(cin, cout, 1, stride, bias=False), nn.BatchNorm1d(cout))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return self.dropout(F.relu(h + self.down(x)))


class PlainSeedModel(nn.Module):
    """The seed's resnet34_04f, written plainly."""

    def __init__(self, in_features: int = 13, num_classes: int = 41) -> None:
        super().__init__()
        self.embedding = PlainBasicBlock(in_features, 256, 2, 0.3)
        self.lstm = nn.LSTM(256, 256, 4, batch_first=True, bidirectional=True, dropout=0.3)
        self.linear1 = nn.Linear(512, 2048)
        self.bn = nn.BatchNorm1d(2048)
        self.dropout = nn.Dropout(0.4)
        self.linear2 = nn.Linear(2048, num_classes)

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        h = self.embedding(x.transpose(1, 2)).transpose(1, 2)
        out_lengths = (lengths - 1) // 2 + 1
        packed = pack_padded_sequence(h, out_lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        h, _ = pad_packed_sequence(out, batch_first=True, total_length=h.shape[1])
        h = self.linear1(h)
        h = self.bn(h.transpose(1, 2)).transpose(1, 2)
        h = F.relu(self.dropout(h))
        return self.linear2(h).log_softmax(-1), out_lengths


def _step(
    model: nn.Module,
    opt: torch.optim.Optimizer,
    x: Tensor,
    lengths: Tensor,
    targets: Tensor,
    target_lengths: Tensor,
) -> float:
    start = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    log_probs, out_lengths = model(x, lengths)
    loss = ctc_loss(log_probs, targets, out_lengths, target_lengths)
    loss.backward()
    opt.step()
    return time.perf_counter() - start


def plain(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench_model.py plain")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--min-len", type=int, default=100)
    parser.add_argument("--max-len", type=int, default=400)
    parser.add_argument("--steps", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1, help="0: torch default")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    lengths = torch.randint(args.min_len, args.max_len + 1, (args.batch,), generator=gen)
    x = torch.randn(args.batch, int(lengths.max()), 13, generator=gen)
    target_lengths = torch.div(lengths, 8, rounding_mode="floor")
    targets = torch.randint(1, 41, (args.batch, int(target_lengths.max())), generator=gen)
    frames = int(lengths.sum())

    torch.manual_seed(0)
    ours = build_preset("resnet34_04f").train()
    torch.manual_seed(0)
    plain = PlainSeedModel().train()
    n_ours = sum(p.numel() for p in ours.parameters())
    n_plain = sum(p.numel() for p in plain.parameters())
    models = {"ctckit resnet34_04f": ours, "plain seed model": plain}
    opts = {k: torch.optim.Adam(m.parameters(), lr=2e-3) for k, m in models.items()}
    times: dict[str, list[float]] = {k: [] for k in models}
    for k, m in models.items():  # warm-up
        _step(m, opts[k], x, lengths, targets, target_lengths)
    for _ in range(args.steps):
        for k, m in models.items():
            times[k].append(_step(m, opts[k], x, lengths, targets, target_lengths))

    padding = 1.0 - frames / (args.batch * int(lengths.max()))
    print(
        f"batch {args.batch}, lengths {args.min_len}-{args.max_len} ({padding:.0%} padding), "
        f"{frames} frames, {args.steps} steps each, {torch.get_num_threads()} threads"
    )
    print(f"parameters: ctckit {n_ours:,}, plain {n_plain:,}")
    rate = {k: frames / statistics.median(v) for k, v in times.items()}
    for k, r in rate.items():
        print(f"{k:22s} {r:10.0f} frames/s  (median step {statistics.median(times[k]):.3f} s)")
    print(f"ratio ctckit / plain: {rate['ctckit resnet34_04f'] / rate['plain seed model']:.2f}x")


_CONFIG = re.compile(r"t(\d+)(p?)w(\d+)")


def _child(preset: str, threads: int, workers: int, batches: int, root: str) -> None:
    """Time ``batches`` training steps (with loading) of one preset; print frames/s as JSON."""
    from torch.utils.data import DataLoader

    from ctckit import hw3p2_vocabulary
    from ctckit.data import BucketBatchSampler, PhonemeDataset, collate_ctc
    from ctckit.training import train_step

    torch.set_num_threads(threads)
    data = PhonemeDataset(root, "train", hw3p2_vocabulary(), normalize=True)
    sampler = BucketBatchSampler(data.lengths, max_frames=6000, shuffle=True, seed=0)
    loader = DataLoader(data, batch_sampler=sampler, collate_fn=collate_ctc, num_workers=workers)
    torch.manual_seed(0)
    model = build_preset(preset).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    frames, began = 0, 0.0
    for i, batch in enumerate(loader):
        if i == 2:  # two warm-up steps (allocator, kernels, the workers' start-up)
            began = time.perf_counter()
        if i >= 2:
            frames += int(batch.feature_lengths.sum())
        train_step(model, batch, opt, clip_norm=5.0)
        if i == batches + 1:
            break
    print(json.dumps({"frames_per_s": frames / (time.perf_counter() - began)}))


def throughput(argv: list[str]) -> None:
    from ctckit.training import default_corpus_root

    parser = argparse.ArgumentParser(prog="bench_model.py throughput")
    parser.add_argument("--presets", nargs="+", default=["compact", "conformer_s4"])
    parser.add_argument("--configs", nargs="+", default=["t1w0", "t2w0", "t2pw0", "t1w1", "t1w2"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batches", type=int, default=12, help="timed steps per run")
    parser.add_argument("--data", type=Path, default=None, help="corpus (default: the example's)")
    args = parser.parse_args(argv)
    root = str(args.data or default_corpus_root())
    if not Path(root, "train").is_dir():
        raise SystemExit(f"error: no corpus at {root} (run examples/hw3p2/train.py once)")
    for config in args.configs:
        if not _CONFIG.fullmatch(config):
            raise SystemExit(f"error: configuration {config!r} is not t<threads>[p]w<workers>")
    rates: dict[tuple[str, str], list[float]] = {}
    load = [os.getloadavg()[0]]
    print(f"corpus {root}; {os.popen('uptime').read().strip()}", flush=True)
    for _ in range(args.rounds):
        for preset in args.presets:
            for config in args.configs:
                match = _CONFIG.fullmatch(config)
                assert match is not None
                env = dict(os.environ)
                if match.group(2):
                    env["OMP_WAIT_POLICY"] = "PASSIVE"
                cmd = [sys.executable, __file__, "_child", preset, match.group(1),
                       match.group(3), str(args.batches), root]  # fmt: skip
                out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
                rate = json.loads(out.stdout.strip().splitlines()[-1])["frames_per_s"]
                rates.setdefault((preset, config), []).append(rate)
                load.append(os.getloadavg()[0])
    print(f"after: {os.popen('uptime').read().strip()}; 1-min load during the runs "
          f"{min(load):.1f}-{max(load):.1f}")  # fmt: skip
    print("| preset | threads | OMP wait | workers | frames/s (median) | best | runs |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for (preset, config), values in rates.items():
        match = _CONFIG.fullmatch(config)
        assert match is not None
        policy = "passive" if match.group(2) else "default"
        print(f"| {preset} | {match.group(1)} | {policy} | {match.group(3)} | "
              f"{statistics.median(values):,.0f} | {max(values):,.0f} | {len(values)} |")  # fmt: skip


def main() -> None:
    argv = sys.argv[1:]
    mode = argv.pop(0) if argv and not argv[0].startswith("-") else "throughput"
    if mode == "_child":
        preset, threads, workers, batches, root = argv
        _child(preset, int(threads), int(workers), int(batches), root)
    elif mode == "plain":
        plain(argv)
    elif mode == "throughput":
        throughput(argv)
    else:
        raise SystemExit(f"error: unknown mode {mode!r}; expected throughput or plain")


if __name__ == "__main__":
    main()
