#!/usr/bin/env python
"""Decode the test split with a trained checkpoint and write a Kaggle submission.

    python examples/hw3p2/predict.py      # runs/hw3p2/best.pt on the embedded corpus
    python examples/hw3p2/predict.py --data ROOT --checkpoint runs/hw3p2/best.pt --beam-width 50
    python examples/hw3p2/predict.py --lm phones.arpa --lm-weight 0.5 --insertion-bonus 1.0

Utterances are decoded in ``ROOT/test/test_order.csv`` order; submission.csv
has the header ``id,predictions`` with ids from 0 in that order and one
character string per utterance (the HW3P2 character map). When reference
transcripts exist (``ROOT/test_transcripts/*.npy``, which the embedded corpus
writes), the submission is scored and the mean distance printed.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from ctckit import hw3p2_vocabulary
from ctckit.data import BucketBatchSampler, UnlabeledDataset, collate_ctc
from ctckit.decode import BeamSearchDecoder, NGramLM
from ctckit.errors import DataError
from ctckit.files import atomic_open
from ctckit.metrics import ErrorRateMeter
from ctckit.nn.presets import build_preset
from ctckit.training import load_checkpoint

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train import default_cache


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--data", type=Path, default=None, help="HW3P2-layout root (default: the embedded corpus)"
    )
    p.add_argument("--checkpoint", type=Path, default=Path("runs/hw3p2/best.pt"))
    p.add_argument(
        "--output", type=Path, default=None, help="default: submission.csv beside the checkpoint"
    )
    p.add_argument("--beam-width", type=int, default=20)
    p.add_argument("--lm", type=Path, default=None, help="phoneme n-gram LM in ARPA format")
    p.add_argument("--lm-weight", type=float, default=0.5)
    p.add_argument("--insertion-bonus", type=float, default=0.0)
    p.add_argument("--batch-frames", type=int, default=20000)
    p.add_argument("--device", default=None)
    p.add_argument("--threads", type=int, default=None, help="torch threads (as in train.py)")
    p.add_argument(
        "--transcripts",
        type=Path,
        default=None,
        help="reference transcripts folder (default: ROOT/test_transcripts if present)",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if args.threads or device.type == "cpu":
        torch.set_num_threads(args.threads or max(1, min(4, (os.cpu_count() or 1) // 2)))
    root = args.data if args.data is not None else default_cache()
    vocab = hw3p2_vocabulary()
    config = load_checkpoint(args.checkpoint).config
    missing = [k for k in ("preset", "num_classes", "in_features") if k not in config]
    if missing:
        raise DataError(f"checkpoint config lacks {missing}; was it written by train.py?",
                        path=args.checkpoint)  # fmt: skip
    model = build_preset(
        str(config["preset"]),
        num_classes=int(config["num_classes"]),
        in_features=int(config["in_features"]),
    )
    load_checkpoint(args.checkpoint, model=model)
    model.to(device).eval()
    test = UnlabeledDataset(root, "test", normalize=bool(config.get("normalize", False)))
    sampler = BucketBatchSampler(
        test.lengths,
        max_frames=max(args.batch_frames, int(test.lengths.max())),
        shuffle=False,
        num_replicas=1,
        rank=0,
    )
    lm = NGramLM.from_arpa(args.lm, vocab) if args.lm is not None else None
    decoder = BeamSearchDecoder(
        beam_width=args.beam_width,
        lm=lm,
        lm_weight=args.lm_weight if lm is not None else 0.0,
        insertion_bonus=args.insertion_bonus,
    )
    predictions: dict[str, str] = {}
    t0 = time.perf_counter()
    with torch.no_grad():
        for batch in DataLoader(test, batch_sampler=sampler, collate_fn=collate_ctc):
            log_probs, lengths = model(batch.features.to(device), batch.feature_lengths.to(device))
            for uid, hyps in zip(batch.ids, decoder.decode(log_probs.float(), lengths)):
                predictions[uid] = vocab.to_string(hyps[0].tokens)
    rows = [(i, predictions[uid]) for i, uid in enumerate(test.ids)]
    out = args.output or args.checkpoint.parent / "submission.csv"
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["id", "predictions"])
    writer.writerows(rows)
    with atomic_open(out, "w") as fh:
        fh.write(buf.getvalue())
    print(
        f"wrote {out}: {len(rows)} predictions ({time.perf_counter() - t0:.1f} s, "
        f"beam {args.beam_width}"
        f"{', LM ' + str(args.lm) if lm is not None else ''})"
    )

    refs_dir = args.transcripts or (Path(root) / "test_transcripts")
    if refs_dir.is_dir():
        meter = ErrorRateMeter()
        for uid in test.ids:
            path = refs_dir / f"{uid}.npy"
            if not path.is_file():
                raise DataError("missing reference transcript", path=path)
            symbols = np.load(path, allow_pickle=False).tolist()
            meter.update([predictions[uid]], [vocab.to_string(vocab.encode(symbols))])
        print(
            f"test mean distance {meter.mean_distance:.3f}  PER {meter.error_rate:.3f} "
            f"({meter.utterances} utterances, references from {refs_dir})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
