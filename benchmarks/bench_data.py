"""Padding of BucketBatchSampler vs random batches, and MFCC speed vs python_speech_features.

Padding: the fraction of padded frames (``B * max_len - sum(len)`` over
``B * max_len``) in one epoch of batches, for ctckit's BucketBatchSampler and
for random batches of the same sizes (what ``DataLoader(shuffle=True,
batch_size=...)`` gives). Lengths come from a corpus on disk (``--root``,
HW3P2 layout, e.g. one written by ``ctckit-synth``) or, without one, from a
synthetic distribution (uniform 100..1500 frames, 2,000 utterances).

MFCC: ctckit.features.mfcc (torch, one thread; per utterance and batched)
vs python_speech_features.mfcc (numpy), both configured identically
(25 ms Hann window, 10 ms hop, 512-point FFT, 40 mel filters, 13 cepstra),
on ``--utterances`` random 16 kHz signals of 4 s.

Run: python benchmarks/bench_data.py [--root CORPUS] [--utterances 200] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch

from ctckit.data import BucketBatchSampler, PhonemeDataset
from ctckit.features import mfcc


def random_batches(sizes: list[int], n: int, seed: int) -> list[list[int]]:
    perm = np.random.default_rng(seed).permutation(n).tolist()
    out, start = [], 0
    for size in sizes:
        out.append(perm[start : start + size])
        start += size
    return out


def padding_table(lengths: torch.Tensor, source: str) -> None:
    print(f"Padding fraction, one epoch, lengths from {source}")
    print(
        f"  {len(lengths)} utterances, {int(lengths.min())}..{int(lengths.max())} frames, "
        f"mean {float(lengths.float().mean()):.0f}"
    )
    print(f"  {'limit':<22}{'batches':>8}{'bucketed':>10}{'random':>10}{'random/bucketed':>17}")
    mean = float(lengths.float().mean())
    limits: list[dict[str, int]] = [
        {"max_frames": int(round(mean * k, -2))} for k in (16, 32, 64)
    ] + [{"batch_size": 16}, {"batch_size": 64}]
    for limit in limits:
        fractions = []
        randoms = []
        for epoch in range(3):
            s = BucketBatchSampler(lengths, seed=0, **limit)
            s.set_epoch(epoch)
            batches = list(s)
            fractions.append(s.padding_fraction())
            sizes = [len(b) for b in batches]
            randoms.append(
                BucketBatchSampler.padding_fraction_of(
                    random_batches(sizes, len(lengths), epoch), lengths
                )
            )
        b, r = float(np.mean(fractions)), float(np.mean(randoms))
        name = ", ".join(f"{k}={v}" for k, v in limit.items())
        print(f"  {name:<22}{len(batches):>8}{b:>10.2%}{r:>10.2%}{r / b:>16.1f}x")


def best_of(fn: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def mfcc_table(n: int, repeats: int) -> None:
    import python_speech_features as psf  # extra "test"

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    signals = rng.normal(size=(n, 4 * 16000)).astype(np.float32)
    tensors = torch.from_numpy(signals)

    def run_psf() -> None:
        for x in signals:
            psf.mfcc(x, 16000, numcep=13, nfilt=40, nfft=512, ceplifter=0,
                     appendEnergy=False, winfunc=np.hanning)  # fmt: skip

    def run_ours() -> None:
        for x in tensors:
            mfcc(x, 16000)

    def run_batched() -> None:
        for chunk in tensors.split(32):
            mfcc(chunk, 16000)

    t_psf = best_of(run_psf, repeats)
    t_ours = best_of(run_ours, repeats)
    t_batch = best_of(run_batched, repeats)
    audio = n * 4.0
    print(f"\nMFCC of {n} x 4 s at 16 kHz, one thread, best of {repeats}")
    print(f"  {'':<34}{'seconds':>9}{'x real time':>13}{'speed vs psf':>14}")
    for name, t in (
        ("python_speech_features (numpy)", t_psf),
        ("ctckit.features.mfcc, per utt.", t_ours),
        ("ctckit.features.mfcc, batch 32", t_batch),
    ):
        print(f"  {name:<34}{t:>9.3f}{audio / t:>13.0f}{t_psf / t:>13.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", help="HW3P2-layout corpus; its train/ lengths are used")
    parser.add_argument("--partition", default="train")
    parser.add_argument("--utterances", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.root:
        lengths = PhonemeDataset(args.root, args.partition).lengths
        source = f"{args.root}/{args.partition}"
    else:
        lengths = torch.from_numpy(np.random.default_rng(0).integers(100, 1501, size=2000))
        source = "uniform 100..1500 frames"
    padding_table(lengths, source)
    mfcc_table(args.utterances, args.repeats)


if __name__ == "__main__":
    main()
