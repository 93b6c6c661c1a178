"""Guide: train on your own data, with any feature dimension and any vocabulary.

    python docs/guides/own_data.py                  # the guide (about a minute on 2 cores)
    python docs/guides/own_data.py --quick          # smaller (the docs tests run this)
    python docs/guides/own_data.py --out DIR        # keep the corpus it writes

``--quick`` (or ``CTCKIT_GUIDE_QUICK=1``) writes fewer utterances and trains fewer epochs.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ctckit import Vocabulary
from ctckit.data import BucketBatchSampler, PhonemeDataset, Utterance, collate_ctc
from ctckit.decode import greedy_decode
from ctckit.nn import BiLSTMEncoder, ConvEmbedder, CTCHead, CTCModel
from ctckit.training import evaluate, seed_everything, train_one_epoch

FEATURES = 24  # any width: 13 MFCCs, 40 filterbanks, 80 mel bins, ...


def write_corpus(root: Path, vocab: Vocabulary, sizes: dict[str, int], seed: int = 0) -> None:
    """Write a toy corpus in the HW3P2 layout: each label is a noisy prototype held 3-7 frames."""
    rng = np.random.default_rng(seed)
    prototypes = rng.normal(size=(len(vocab), FEATURES)).astype(np.float32)
    prototypes[vocab.blank] = 0.0  # "silence" between some labels
    for partition, n in sizes.items():
        for sub in ("mfcc", "transcript"):
            (root / partition / sub).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            labels = rng.integers(1, len(vocab), size=int(rng.integers(3, 9)))
            frames = []
            for label in labels:
                frames += [prototypes[label]] * int(rng.integers(3, 8))
                frames += [prototypes[vocab.blank]] * int(rng.integers(0, 3))
            x = np.stack(frames) + 0.5 * rng.normal(size=(len(frames), FEATURES))
            np.save(root / partition / "mfcc" / f"{i:05d}.npy", x.astype(np.float32))
            symbols = ["<sos>", *vocab.decode(labels.tolist()), "<eos>"]  # markers optional
            np.save(root / partition / "transcript" / f"{i:05d}.npy", np.array(symbols))


class InMemoryDataset(Dataset[Utterance]):
    """Any dataset works if its items are Utterance(features (T, F), targets (U,), id)."""

    def __init__(self, items: list[Utterance]) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> Utterance:
        return self.items[i]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--quick", action="store_true", default=bool(os.environ.get("CTCKIT_GUIDE_QUICK"))
    )
    p.add_argument("--out", type=Path, default=None, help="corpus folder (default: a temp folder)")
    args = p.parse_args(argv)
    seed_everything(0)
    torch.set_num_threads(1)
    sizes = {"train": 96, "dev": 24} if args.quick else {"train": 600, "dev": 100}
    epochs = 5 if args.quick else 8

    # 1. A vocabulary: blank first, then your symbols. `chars` gives each class one
    #    character for edit distances (optional when every label is one character).
    vocab = Vocabulary(["<blank>", "do", "re", "mi", "fa", "so", "la", "ti"],
                       chars=["_", "d", "r", "m", "f", "s", "l", "t"])  # fmt: skip
    print(vocab, "->", vocab.to_string(vocab.encode(["do", "mi", "so"])))

    # 2. Data in the HW3P2 layout: ROOT/<partition>/mfcc/*.npy (T, F) float32 and
    #    ROOT/<partition>/transcript/*.npy arrays of symbols.
    root = args.out or Path(tempfile.mkdtemp(prefix="ctckit-own-"))
    write_corpus(root, vocab, sizes)
    train = PhonemeDataset(root, "train", vocab=vocab, feature_dim=FEATURES)
    u = train[0]
    print(f"train: {len(train)} utterances, first {u.id}: features {tuple(u.features.shape)},",
          f"targets {vocab.decode(u.targets.tolist())}")  # fmt: skip

    # ...or any torch Dataset of Utterance items, here dev held in memory.
    dev_files = PhonemeDataset(root, "dev", vocab=vocab, feature_dim=FEATURES)
    dev = InMemoryDataset([dev_files[i] for i in range(len(dev_files))])

    # 3. Batches of similar lengths (little padding) under a padded-frame budget.
    sampler = BucketBatchSampler(train.lengths, max_frames=400, seed=0)
    train_loader = DataLoader(train, batch_sampler=sampler, collate_fn=collate_ctc)
    dev_loader = DataLoader(dev, batch_size=16, collate_fn=collate_ctc)
    print(f"{len(sampler)} batches per epoch, padding {sampler.padding_fraction():.1%}")

    # 4. A model sized for this data: F features in, len(vocab) classes out.
    model = CTCModel(
        ConvEmbedder(FEATURES, channels=(64,), stride=1),
        BiLSTMEncoder(64, hidden_size=64, num_layers=1, dropout=0.0),
        CTCHead(128, len(vocab), hidden=()),
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)

    # 5. Train: one call per epoch, then score dev (greedy decoding, HW3P2-style
    #    mean edit distance on the vocabulary's character strings).
    for epoch in range(1, epochs + 1):
        sampler.set_epoch(epoch)
        tr = train_one_epoch(model, train_loader, optimizer, clip_norm=5.0)
        ev = evaluate(model, dev_loader, vocab=vocab)
        print(
            f"epoch {epoch}: train loss {tr.loss:.3f}  dev loss {ev.loss:.3f}  "
            f"dev distance {ev.mean_distance:.3f}  dev error rate {ev.error_rate:.1%}"
        )

    # 6. Use it.
    batch = next(iter(dev_loader))
    model.eval()
    with torch.no_grad():
        log_probs, lengths = model(batch.features, batch.feature_lengths)
    for uid, hyp, ref, n in zip(batch.ids[:3], greedy_decode(log_probs, lengths),
                                batch.targets, batch.target_lengths):  # fmt: skip
        reference = vocab.to_string(ref[:n].tolist())
        print(f"{uid}: decoded {vocab.to_string(hyp)!r}  reference {reference!r}")


if __name__ == "__main__":
    main()
