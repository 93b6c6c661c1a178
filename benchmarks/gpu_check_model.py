"""A CUDA check of the Conformer presets, the schedules and the EMA (well under a minute).

Checks, on the first CUDA device:

1. ``conformer_s4`` trains 30 steps on a fixed random batch under float16
   autocast with a ``GradScaler`` (as ``ctckit.training.train_step`` does on
   CUDA), with a warm-up + cosine schedule and an EMA: every step is taken,
   the loss falls, and the EMA's weights stay finite.
2. Eval-mode padding invariance on CUDA: each utterance alone gives the
   same log-probabilities as in the padded batch, in float32 (tight) and
   under float16 autocast (loose tolerance).
3. Attention through ``scaled_dot_product_attention`` with the key-padding
   mask matches an explicit masked softmax under autocast.
4. Training throughput of ``conformer_s4`` and ``bilstm_s4`` (frames/s,
   float16 autocast, the same batch, steps alternated).

Run: ``python benchmarks/gpu_check_model.py`` (exits 1 with a message if a
check fails; exits 0 with "no CUDA device" when there is none).
``--device cpu`` runs the same checks on the CPU with bfloat16 autocast and
no gradient scaler (a dry run of the script itself).
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import torch

from ctckit.data import CTCBatch, Utterance, collate_ctc
from ctckit.nn.conformer import rotary_tables
from ctckit.nn.presets import build_preset
from ctckit.training import train_step
from ctckit.training.averaging import ExponentialMovingAverage
from ctckit.training.schedules import WarmupCosineLR


def _batch(device: torch.device, lengths: tuple[int, ...], seed: int = 0) -> CTCBatch:
    gen = torch.Generator().manual_seed(seed)
    items = [
        Utterance(
            torch.randn(n, 13, generator=gen),
            torch.randint(1, 41, (n // 10,), generator=gen),
            str(i),
        )
        for i, n in enumerate(lengths)
    ]
    return collate_ctc(items).to(device)


def check(name: str, ok: bool, detail: str) -> bool:
    print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}", flush=True)
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        print("no CUDA device: nothing checked")
        return 0
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    half = torch.float16 if cuda else torch.bfloat16
    name = torch.cuda.get_device_name(device) if cuda else "CPU (dry run, bfloat16)"
    print(f"{name}, torch {torch.__version__}", flush=True)
    passed = True

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize()

    # 1. AMP training with schedule and EMA
    torch.manual_seed(0)
    model = build_preset("conformer_s4").to(device)
    batch = _batch(device, (400, 350, 300, 280, 200, 160))
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    sched = WarmupCosineLR(opt, 5, 30)
    scaler = torch.amp.GradScaler(device.type, enabled=cuda)
    ema = ExponentialMovingAverage(model, 0.9)
    losses, stepped = [], 0
    for _ in range(30):
        r = train_step(model.train(), batch, opt, scaler=scaler, clip_norm=5.0)
        sched.step()
        ema.update(model)
        losses.append(r.loss)
        stepped += r.stepped
    finite = all(torch.isfinite(p).all() for p in ema.module.parameters())
    passed &= check(
        "AMP training",
        stepped >= 28 and losses[-1] < 0.7 * losses[0] and finite,
        f"loss {losses[0]:.3f} -> {losses[-1]:.3f}, {stepped}/30 steps taken "
        f"(the scaler may skip the first), EMA finite: {finite}",
    )

    # 2. padding invariance on CUDA
    model.eval()
    lengths = (400, 257, 120)
    b = _batch(device, lengths, seed=1)
    for amp, tol in ((False, 1e-4), (True, 3e-2 if cuda else 1e-1)):
        with torch.no_grad(), torch.autocast(device.type, dtype=half, enabled=amp):
            logp, n = model(b.features, b.feature_lengths)
            worst = 0.0
            for i, length in enumerate(lengths):
                alone, _ = model(b.features[i : i + 1, :length], b.feature_lengths[i : i + 1])
                k = int(n[i])
                worst = max(worst, float((logp[i, :k].float() - alone[0, :k].float()).abs().max()))
        passed &= check(
            f"padding invariance ({f'{half} autocast' if amp else 'float32'})",
            worst <= tol,
            f"max |difference| {worst:.2e} (tolerance {tol:g})",
        )

    # 3. SDPA with the key mask vs an explicit masked softmax, under autocast
    att = model.encoder.layers[0].attention
    x = torch.randn(3, 50, 144, device=device)
    lens = torch.tensor([50, 31, 7], device=device)
    keys = (torch.arange(50, device=device)[None, :] < lens[:, None])[:, None, None, :]
    rope = rotary_tables(50, att.head_dim, 10000.0, device, torch.float32)
    with torch.no_grad(), torch.autocast(device.type, dtype=half):
        got = att(x, keys, rope).float()
        q, k, v = (
            att.qkv(att.norm(x)).view(3, 50, 3, att.num_heads, att.head_dim).permute(2, 0, 3, 1, 4)
        )
        cos, sin = (t.to(q.dtype) for t in rope)

        def rot(t: torch.Tensor) -> torch.Tensor:
            half = t.shape[-1] // 2
            return t * cos + torch.cat((-t[..., half:], t[..., :half]), -1) * sin

        scores = (rot(q).float() @ rot(k).float().transpose(-1, -2)) / math.sqrt(att.head_dim)
        weights = scores.masked_fill(~keys, -math.inf).softmax(-1)
        ref = att.out((weights @ v.float()).transpose(1, 2).reshape(3, 50, 144)).float()
    worst = float((got - ref).abs().max())
    passed &= check(
        "SDPA vs explicit attention (autocast)",
        worst < (2e-2 if cuda else 1e-1),
        f"max |diff| {worst:.2e}",
    )

    # 4. throughput
    big = _batch(device, tuple(range(600, 200, -12)), seed=2)
    frames = int(big.feature_lengths.sum())
    models = {name: build_preset(name).to(device).train() for name in ("conformer_s4", "bilstm_s4")}
    opts = {name: torch.optim.AdamW(m.parameters(), 1e-3) for name, m in models.items()}
    scalers = {name: torch.amp.GradScaler(device.type, enabled=cuda) for name in models}
    times: dict[str, list[float]] = {name: [] for name in models}
    for step in range(12):
        for name, m in models.items():
            sync()
            t0 = time.perf_counter()
            train_step(m, big, opts[name], scaler=scalers[name], clip_norm=5.0)
            sync()
            if step >= 2:
                times[name].append(time.perf_counter() - t0)
    for name, ts in times.items():
        print(f"     {name}: {frames / min(ts):,.0f} frames/s (best of {len(ts)}, batch of "
              f"{big.features.shape[0]} utterances, {frames} frames, float16 autocast)")  # fmt: skip
    print("all checks passed" if passed else "SOME CHECKS FAILED")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
