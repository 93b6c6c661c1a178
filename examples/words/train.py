#!/usr/bin/env python
"""Train a character CTC model on the embedded corpus's texts (words, not phonemes).

    python examples/words/train.py --data ROOT --out runs/words            # ~10 min on 2 cores
    python examples/words/train.py --data ROOT --out /tmp/w --quick        # a 1-minute smoke run

ROOT is a corpus written by ``ctckit-synth`` (or ``ctckit.data.synth.make_corpus``):
its ``train/text/*.txt`` (``dev/text``, ``test_text``) hold each utterance's words.
The model is the library's ``compact`` preset with one output per character plus
the blank; the vocabulary is the blank, the space (the word delimiter) and the
characters of the train texts. The best epoch by dev character error rate is kept
as ``OUT/best.pt``; ``examples/words/evaluate.py`` decodes the test split to words.
"""

from __future__ import annotations

import argparse
import os
import string
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ctckit import Vocabulary
from ctckit._cli import run_cli
from ctckit.data import BucketBatchSampler, collate_ctc
from ctckit.data.dataset import Utterance
from ctckit.errors import DataError, InputValueError
from ctckit.features import cepstral_normalize
from ctckit.nn.presets import build_preset
from ctckit.training import (
    evaluate,
    load_checkpoint,
    save_checkpoint,
    seed_everything,
    train_one_epoch,
)

BLANK = "_"  # the blank's label (never a text character: texts are lower-case words)


def text_folder(root: Path, split: str) -> Path:
    """Where a split's texts are (the test texts are kept outside ``test/``)."""
    return root / ("test_text" if split == "test" else f"{split}/text")


def mfcc_folder(root: Path, split: str) -> Path:
    return root / split / "mfcc"


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except UnicodeDecodeError as err:
        raise DataError("not UTF-8 text", path=path) from err


def character_vocabulary(root: Path) -> Vocabulary:
    """The blank, the space, then a-z and the train texts' other characters, sorted (a
    letter missing from a small train split still gets its class)."""
    folder = text_folder(root, "train")
    files = sorted(folder.glob("*.txt"))
    if not files:
        raise DataError("no *.txt transcripts (is this a corpus with texts?)", path=folder)
    chars = (set("".join(read_text(f) for f in files)) | set(string.ascii_lowercase)) - {" "}
    if BLANK in chars:
        raise InputValueError(f"the texts use {BLANK!r}, the blank's label")
    return Vocabulary([BLANK, " ", *sorted(chars)])


class TextDataset(Dataset[Utterance]):
    """MFCCs with their character transcripts: ``ROOT/{split}/mfcc/ID.npy`` and the
    split's ``text/ID.txt``; features cepstrally normalised per utterance."""

    def __init__(self, root: Path, split: str, vocab: Vocabulary) -> None:
        self.ids = sorted(p.stem for p in mfcc_folder(root, split).glob("*.npy"))
        if not self.ids:
            raise DataError("no *.npy features", path=mfcc_folder(root, split))
        self.root, self.split, self.vocab = root, split, vocab
        self.texts = [read_text(text_folder(root, split) / f"{i}.txt") for i in self.ids]
        self.lengths = np.asarray(
            [
                np.load(mfcc_folder(root, split) / f"{i}.npy", mmap_mode="r").shape[0]
                for i in self.ids
            ]
        )

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, k: int) -> Utterance:
        feats = torch.from_numpy(np.load(mfcc_folder(self.root, self.split) / f"{self.ids[k]}.npy"))
        targets = torch.tensor(self.vocab.encode(list(self.texts[k])), dtype=torch.long)
        return Utterance(cepstral_normalize(feats.float()), targets, self.ids[k])


def loader(data: TextDataset, max_frames: int, shuffle: bool, seed: int) -> DataLoader[Utterance]:
    sampler = BucketBatchSampler(data.lengths, max_frames=max_frames, shuffle=shuffle, seed=seed)
    return DataLoader(data, batch_sampler=sampler, collate_fn=collate_ctc, num_workers=0)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--data", type=Path, required=True, help="corpus root with texts")
    p.add_argument("--out", type=Path, default=Path("runs/words"))
    p.add_argument("--preset", default="compact")
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--minutes", type=float, default=10.0, help="wall-time budget")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--batch-frames", type=int, default=6000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: 2)")
    p.add_argument("--quick", action="store_true", help="2 epochs, 1-minute budget")
    return p


def train(args: argparse.Namespace) -> int:
    if args.epochs < 1 or args.minutes <= 0 or args.batch_frames < 1 or args.lr <= 0:
        raise InputValueError("--epochs, --minutes, --batch-frames and --lr must be positive")
    if args.quick:
        args.epochs, args.minutes = 2, 1.0
    torch.set_num_threads(args.threads or max(1, min(2, os.cpu_count() or 1)))
    seed_everything(args.seed)
    vocab = character_vocabulary(args.data)
    train_set = TextDataset(args.data, "train", vocab)
    dev_set = TextDataset(args.data, "dev", vocab)
    train_batches = loader(train_set, args.batch_frames, True, args.seed)
    dev_batches = loader(dev_set, 4 * args.batch_frames, False, args.seed)
    model = build_preset(args.preset, num_classes=len(vocab), in_features=13)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=1)
    config = {"preset": args.preset, "num_classes": len(vocab), "in_features": 13,
              "labels": list(vocab.labels)}  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"{len(train_set)} train / {len(dev_set)} dev utterances, {len(vocab)} classes "
          f"({''.join(vocab.labels[1:])!r}), preset {args.preset}", flush=True)  # fmt: skip
    start, best, last_epoch = time.monotonic(), float("inf"), 0.0
    for epoch in range(args.epochs):
        t0 = time.monotonic()
        if epoch and time.monotonic() - start + last_epoch > 60 * args.minutes:
            print(f"stopping: the next epoch would pass the {args.minutes:g}-minute budget")
            break
        train_batches.batch_sampler.set_epoch(epoch)  # type: ignore[union-attr]
        result = train_one_epoch(model, train_batches, optimizer, clip_norm=5.0)
        dev = evaluate(model, dev_batches, vocab=vocab)
        scheduler.step(dev.error_rate)
        last_epoch = time.monotonic() - t0
        mark = ""
        if dev.error_rate < best:
            best, mark = dev.error_rate, "  (best)"
            save_checkpoint(args.out / "best.pt", model=model, epoch=epoch + 1, config=config,
                            best_score=best)  # fmt: skip
        print(f"epoch {epoch + 1}: train loss {result.loss:.3f}  dev CER {dev.error_rate:.3f}"
              f"  dev loss {dev.loss:.3f}  ({last_epoch:.0f} s){mark}", flush=True)  # fmt: skip
    print(f"best dev CER {best:.3f}; checkpoint {args.out / 'best.pt'}")
    load_checkpoint(args.out / "best.pt")  # the file reads back
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_cli(build_parser(), train, argv)


if __name__ == "__main__":
    sys.exit(main())
