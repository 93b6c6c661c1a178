"""Training throughput of ctckit's ``resnet34_04f`` preset vs a plain re-implementation.

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

Run: ``python benchmarks/bench_model.py [--batch 8] [--min-len 100] [--max-len 400]
[--steps 7] [--threads 1]`` (one intra-op thread by default: on a shared 2-core
machine, OpenMP threads spin against other processes and make timings erratic).
"""

from __future__ import annotations

import argparse
import statistics
import time

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--min-len", type=int, default=100)
    parser.add_argument("--max-len", type=int, default=400)
    parser.add_argument("--steps", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1, help="0: torch default")
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
