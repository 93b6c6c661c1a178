#!/usr/bin/env python
"""Check the torch forced aligner on CUDA against the CPU (Numba) kernel, and time it.

    python benchmarks/gpu_check_align.py            # about a minute on one GPU
    python benchmarks/gpu_check_align.py --quick
    python benchmarks/gpu_check_align.py --quick --device cpu   # a dry run of the script

Checks, on random batches (float32 and float64, ragged lengths, repeats, a
wildcard): the CUDA alignments equal the CPU kernel's frame for frame in
float64, and in float32 the best-path scores agree to 1e-3 (ties may then
break differently). Then times ``forced_align`` on CUDA (synchronised; warm-up,
best of k) against the CPU kernel on one thread for batches of 32 utterances
(T = 1,000 frames, 150 tokens, V = 41) and larger. Exits 1 on a mismatch, 2
without CUDA.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

from ctckit.align import forced_align


def batch(rng: np.random.Generator, b: int, t: int, n_tok: int, v: int, dtype, wild: bool):
    x = rng.normal(size=(b, t, v)) * rng.choice([0.5, 3.0])
    lp = torch.from_numpy(x).log_softmax(-1).to(dtype)
    tg = rng.integers(1, v, size=(b, n_tok))
    tg[:, 1::7] = tg[:, 0::7][:, : tg[:, 1::7].shape[1]]  # some repeats
    if wild:
        tg[:, 0] = -1
    tlens = rng.integers(0, n_tok + 1, size=b)
    lens = np.minimum(t, 2 * tlens + rng.integers(1, t + 1, size=b))
    return lp, tg, lens, tlens


def check(args: argparse.Namespace) -> int:
    rng = np.random.default_rng(0)
    bad = 0
    cases = 20 if args.quick else 100
    for i in range(cases):
        dtype = torch.float64 if i % 2 == 0 else torch.float32
        size = (int(rng.integers(1, 9)), int(rng.integers(1, 300)), int(rng.integers(0, 60)),
                int(rng.integers(2, 50)))  # fmt: skip
        lp, tg, lens, tlens = batch(rng, *size, dtype, wild=i % 3 == 0)
        kw = {"wildcard": -1, "wildcard_penalty": -0.5} if i % 3 == 0 else {}
        try:
            cpu = forced_align(lp, tg, lens, tlens, **kw)
        except ValueError:  # random lengths may not fit: both paths must refuse
            try:
                forced_align(lp.to(args.device), tg, lens, tlens, backend="torch", **kw)
            except ValueError:
                continue
            print(f"case {i}: CPU refused, CUDA accepted")
            bad += 1
            continue
        gpu = forced_align(lp.to(args.device), tg, lens, tlens, backend="torch", **kw)
        assert gpu[0].device.type == args.device
        assert gpu[1].dtype == dtype
        lab_c, sc_c = cpu[0].numpy(), cpu[1].double().numpy()
        lab_g, sc_g = gpu[0].cpu().numpy(), gpu[1].double().cpu().numpy()
        if dtype == torch.float64:
            ok = (lab_c == lab_g).all() and np.allclose(sc_c, sc_g, rtol=0, atol=1e-9)
        else:
            ok = np.allclose(sc_c.sum(1), sc_g.sum(1), rtol=0, atol=1e-3)
        if not ok:
            bad += 1
            print(f"case {i} {size} {dtype}: mismatch; labels equal {np.mean(lab_c == lab_g):.4f}, "
                  f"max score-sum difference {np.abs(sc_c.sum(1) - sc_g.sum(1)).max():.3g}")  # fmt: skip
    print(f"checked {cases} random batches against the CPU kernel: {bad} mismatch(es)")
    return bad


def best_of(fn, k: int, device: str) -> float:
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    fn()
    out = float("inf")
    for _ in range(k):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        out = min(out, time.perf_counter() - t0)
    return out


def timing(args: argparse.Namespace) -> None:
    rng = np.random.default_rng(1)
    torch.set_num_threads(1)
    sizes = [(32, 1000, 150)] + ([] if args.quick else [(256, 1000, 150), (32, 4000, 600)])
    print(f"| batch | T | tokens | torch on {args.device} ms | Numba CPU 1 thread ms | ratio |")
    print("|--:|--:|--:|--:|--:|--:|")
    for b, t, n_tok in sizes:
        x = torch.from_numpy(rng.normal(size=(b, t, 41)) * 3).log_softmax(-1).float()
        tg = rng.integers(1, 41, size=(b, n_tok))
        xg = x.to(args.device)
        gpu = best_of(lambda xg=xg, tg=tg: forced_align(xg, tg, backend="torch"), args.repeats,
                      args.device)  # fmt: skip
        cpu = min(_cpu_time(x, tg) for _ in range(2 if args.quick else 3))
        print(f"| {b} | {t} | {n_tok} | {gpu * 1e3:.1f} | {cpu * 1e3:.1f} | {cpu / gpu:.1f}x |")


def _cpu_time(x, tg) -> float:
    forced_align(x, tg, num_threads=1)
    t0 = time.perf_counter()
    forced_align(x, tg, num_threads=1)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    args = p.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("no CUDA device")
        return 2
    name = torch.cuda.get_device_name() if args.device == "cuda" else "cpu (dry run)"
    print(f"device: {name}; torch {torch.__version__}")
    bad = check(args)
    timing(args)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
