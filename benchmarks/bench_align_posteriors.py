#!/usr/bin/env python
"""Model posteriors of a corpus split, for the alignment benchmarks (also imported by them).

    python benchmarks/bench_align_posteriors.py --checkpoint runs/hw3p2/best.pt \\
        --data ROOT --split dev --out dev_posteriors.npz

Writes one ``.npz`` with, per utterance ``i``: ``lp_i`` float32 ``(T_i, V)``
log-probabilities (the model's frames), ``tg_i`` int64 target ids (the
transcript without ``<sos>``/``<eos>``), ``al_i`` int32 ``(U, 2)`` true
``[start, end)`` MFCC frames per target when the corpus has
``{split}/alignment/`` (``test_alignment/`` for test), and ``ids``, ``stride``
(MFCC frames per model frame, measured from the lengths).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ctckit import hw3p2_vocabulary
from ctckit.data import PhonemeDataset
from ctckit.errors import DataError
from ctckit.training import load_trained_model


@dataclass
class Posteriors:
    """Log-probabilities, targets and (when the corpus has them) true phoneme times."""

    ids: list[str]
    log_probs: list[np.ndarray]  # (T_i, V) float32, model frames
    targets: list[np.ndarray]  # (U_i,) int64
    truth: list[np.ndarray] | None  # (U_i, 2) int32 [start, end) MFCC frames
    stride: int  # MFCC frames per model frame
    mfcc_lengths: list[int]


def alignment_dir(root: Path, split: str) -> Path:
    return root / ("test_alignment" if split == "test" else f"{split}/alignment")


def compute(checkpoint: Path, root: Path, split: str, limit: int | None = None,
            batch_size: int = 32) -> Posteriors:  # fmt: skip
    """Run the checkpoint's model over ``split`` (CPU, eval mode)."""
    model, saved = load_trained_model(checkpoint)
    config = saved.config
    data = PhonemeDataset(
        root, split, hw3p2_vocabulary(), normalize=bool(config.get("normalize", False))
    )
    n = len(data) if limit is None else min(limit, len(data))
    adir = alignment_dir(root, split)
    ids, lps, tgs, truth, mlens = [], [], [], [], []
    strides = set()
    with torch.no_grad():
        for first in range(0, n, batch_size):
            items = [data[i] for i in range(first, min(n, first + batch_size))]
            lengths = torch.tensor([u.features.shape[0] for u in items])
            feats = torch.nn.utils.rnn.pad_sequence([u.features for u in items], batch_first=True)
            lp, out_lengths = model(feats, lengths)
            for u, row, m, k in zip(items, lp, lengths.tolist(), out_lengths.tolist()):
                ids.append(u.id)
                lps.append(row[:k].float().numpy())
                tgs.append(u.targets.numpy().astype(np.int64))
                mlens.append(m)
                strides.add(round(m / k))
                path = adir / f"{u.id}.npy"
                if adir.is_dir():
                    if not path.is_file():
                        raise DataError("missing alignment file", path=path)
                    al = np.load(path)
                    if al.shape != (len(u.targets), 2):
                        raise DataError(f"alignment of shape {al.shape} for {len(u.targets)} "
                                        "targets", path=path)  # fmt: skip
                    truth.append(al)
    if len(strides) != 1:
        raise DataError(f"model frames are not a fixed stride of the MFCC frames: {strides}")
    return Posteriors(ids, lps, tgs, truth if adir.is_dir() else None, strides.pop(), mlens)


def save(post: Posteriors, out: Path) -> None:
    arrays = {"ids": np.array(post.ids), "stride": np.array(post.stride),
              "mfcc_lengths": np.array(post.mfcc_lengths)}  # fmt: skip
    for i, (lp, tg) in enumerate(zip(post.log_probs, post.targets)):
        arrays[f"lp_{i}"] = lp
        arrays[f"tg_{i}"] = tg
        if post.truth is not None:
            arrays[f"al_{i}"] = post.truth[i]
    np.savez(out, **arrays)


def load(path: Path) -> Posteriors:
    z = np.load(path)
    n = len(z["ids"])
    has_truth = "al_0" in z.files
    return Posteriors(
        [str(i) for i in z["ids"]],
        [z[f"lp_{i}"] for i in range(n)],
        [z[f"tg_{i}"] for i in range(n)],
        [z[f"al_{i}"] for i in range(n)] if has_truth else None,
        int(z["stride"]),
        [int(x) for x in z["mfcc_lengths"]],
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--split", default="dev")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    post = compute(args.checkpoint, args.data, args.split, args.limit)
    save(post, args.out)
    print(f"{args.out}: {len(post.ids)} utterances, stride {post.stride}, "
          f"truth {'yes' if post.truth is not None else 'no'} ({time.perf_counter() - t0:.1f} s)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
