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
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from ctckit import hw3p2_vocabulary
from ctckit._checks import check_device, check_float, check_int
from ctckit._cli import run_cli
from ctckit.data import BucketBatchSampler, UnlabeledDataset, collate_ctc
from ctckit.decode import BeamSearchDecoder, NGramLM
from ctckit.errors import DataError
from ctckit.files import atomic_open
from ctckit.metrics import ErrorRateMeter
from ctckit.nn.presets import build_preset
from ctckit.training import (
    cpu_threads_per_process,
    default_corpus_root,
    load_checkpoint,
    read_checkpoint,
)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = p.add_argument
    add("--data", type=Path, help="HW3P2-layout root (default: the embedded corpus)")
    add("--checkpoint", type=Path, default=Path("runs/hw3p2/best.pt"))
    add("--output", type=Path, help="default: submission.csv beside the checkpoint")
    add("--beam-width", type=int, default=20)
    add("--lm", type=Path, help="phoneme n-gram LM in ARPA format")
    add("--lm-weight", type=float, default=0.5)
    add("--insertion-bonus", type=float, default=0.0)
    add("--batch-frames", type=int, default=20000)
    add("--device", help="cpu, cuda or cuda:N (default: cuda if available)")
    add("--threads", type=int, help="torch threads (CPU default: half the cores, 1 to 4)")
    add("--transcripts", type=Path, help="reference transcripts (default: ROOT/test_transcripts)")
    return p


def main(args: argparse.Namespace) -> int:
    # Check every option, and read the checkpoint and the LM, before the data and the model.
    check_int(args.beam_width, "--beam-width", 1)
    check_int(args.batch_frames, "--batch-frames", 1)
    check_float(args.lm_weight, "--lm-weight")
    check_float(args.insertion_bonus, "--insertion-bonus")
    if args.threads is not None:
        check_int(args.threads, "--threads", 1)
    device = check_device(
        args.device or ("cuda" if torch.cuda.is_available() else "cpu"), "--device"
    )
    root = args.data if args.data is not None else default_corpus_root()
    if not (root / "test").is_dir():
        raise DataError("no test/ folder: --data must be an HW3P2-layout root", path=root)
    config = read_checkpoint(args.checkpoint)["config"]
    missing = [k for k in ("preset", "num_classes", "in_features") if k not in config]
    if missing:
        raise DataError(f"checkpoint config lacks {missing}; was it written by train.py?",
                        path=args.checkpoint)  # fmt: skip
    vocab = hw3p2_vocabulary()
    lm = NGramLM.from_arpa(args.lm, vocab) if args.lm is not None else None
    decoder = BeamSearchDecoder(
        beam_width=args.beam_width,
        lm=lm,
        lm_weight=args.lm_weight if lm is not None else 0.0,
        insertion_bonus=args.insertion_bonus,
    )
    if args.threads or device.type == "cpu":
        torch.set_num_threads(args.threads or cpu_threads_per_process())

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
    sys.exit(run_cli(parser(), main))
