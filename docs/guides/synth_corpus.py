"""Guide: make the embedded synthetic corpus, from Python and from the command line.

    python docs/guides/synth_corpus.py                # the guide: 200/40/40 utterances
    python docs/guides/synth_corpus.py --quick        # 12/4/4 (the docs tests run this)
    python docs/guides/synth_corpus.py --out DIR      # keep the corpus

Needs the ``synth`` extra (``pip install 'ctckit[synth]'``: the espeak-ng wheel).
``--quick`` (or ``CTCKIT_GUIDE_QUICK=1``) makes a tiny corpus.
"""

from __future__ import annotations

import argparse
import csv
import filecmp
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from ctckit import hw3p2_vocabulary
from ctckit.data import PhonemeDataset, UnlabeledDataset
from ctckit.data.synth import (
    make_corpus,
    read_alignments,
    read_texts,
    read_word_spans,
    split_folder,
)
from ctckit.errors import DataError


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--quick", action="store_true", default=bool(os.environ.get("CTCKIT_GUIDE_QUICK"))
    )
    p.add_argument("--out", type=Path, default=None, help="corpus folder (default: a temp folder)")
    args = p.parse_args(argv)
    n_train, n_dev, n_test = (12, 4, 4) if args.quick else (200, 40, 40)
    base = args.out or Path(tempfile.mkdtemp(prefix="ctckit-synth-"))

    # 1. From Python. workers=None uses every CPU (one process per 100 utterances
    #    at most); a script that starts workers must run under __main__.
    root = base / "corpus"
    info = make_corpus(root, n_train, n_dev, n_test, seed=0, progress=False)
    print(f"make_corpus: {info.n_train} train, {info.n_dev} dev, {info.n_test} test; "
          f"wrote {info.written}, {info.audio_seconds:.0f} s of audio "
          f"in {info.wall_seconds:.1f} s")  # fmt: skip

    # 2. What it wrote: the HW3P2 layout, texts, true times, word times; the test
    #    annotations outside test/; the parameters, a lexicon and a manifest.
    for split in ("train", "dev", "test"):
        for kind in ("mfcc", "transcript", "text", "alignment", "words"):
            folder = split_folder(root, split, kind)
            files = sorted(folder.iterdir())
            name = folder.relative_to(root).as_posix() + "/"
            print(f"  {name:20} {len(files):4} {files[0].suffix} files")
    for name in ("test/test_order.csv", "manifest.csv"):
        print(f"  {name:20} {len((root / name).read_text().splitlines()) - 1:4} rows")
    for name in ("lexicon.txt", "lexicon_isolated.txt"):
        print(f"  {name:20} {len((root / name).read_text().splitlines()):4} lines")
    params = json.loads((root / "corpus.json").read_text())
    print(f"  corpus.json          {params}")

    # 3. One utterance: features, labels, text, and the frames of every label and word.
    mfcc = np.load(root / "train/mfcc/000000.npy")
    transcript = np.load(root / "train/transcript/000000.npy")
    print(f"train/mfcc/000000.npy: {mfcc.dtype} {mfcc.shape} (10 ms frames, 13 MFCCs)")
    print(f"train/transcript/000000.npy: {' '.join(transcript[:8])} ... {transcript[-1]}")
    text = read_texts(root, "train")["000000"]
    spans = read_alignments(root, "train")["000000"]  # (U, 2) [start, end) per label
    words = read_word_spans(root, "train")["000000"]  # (W, 2) [start, end) per word
    print(f"train/text/000000.txt: {text!r}")
    print(f"train/alignment/000000.npy: {spans.dtype} {spans.shape}, labels without "
          f"<sos>/<eos>: {len(transcript) - 2}; frames {spans[0, 0]}-{spans[-1, 1]}")  # fmt: skip
    labels = transcript[1:-1]
    for word, (start, end) in list(zip(text.split(), words))[:4]:
        inside = [str(lab) for lab, (a, b) in zip(labels, spans) if start <= a and b <= end]
        print(f"  {word:12} frames {start:4}-{end:4}  {' '.join(inside)}")
    with open(root / "manifest.csv", newline="") as fh:
        row = next(csv.DictReader(fh))
    print("manifest columns:", ", ".join(row))
    print("first utterance as espeak-ng read it:", repr(row["text"]))

    # 4. The lexicons: every word spoken alone by the 8 accents (lexicon_isolated.txt), and
    #    the decoding lexicon, which adds the forms the train sentences speak (lexicon.txt).
    for name in ("lexicon_isolated.txt", "lexicon.txt"):
        lexicon = (root / name).read_text().splitlines()
        for word in ("a", "the"):
            print(f"{name}, '{word}':", " | ".join(line for line in lexicon
                                                    if line.split()[0] == word))  # fmt: skip

    # 5. Read it like the real data.
    train = PhonemeDataset(root, "train", normalize=True)
    test = UnlabeledDataset(root, "test")  # in test_order.csv order
    vocab = hw3p2_vocabulary()
    print(f"PhonemeDataset: {len(train)} utterances, {int(train.lengths.sum())} frames;",
          f"first as string {vocab.to_string(train[0].targets.tolist())!r}")  # fmt: skip
    print(f"UnlabeledDataset: {len(test)} utterances, ids {test.ids[:3]}")

    # 6. From the command line: the ctckit-synth script that pip installs (or its module,
    #    `python -m ctckit.data.synth`, the same program). Same seed, same files.
    again = base / "again"
    script = Path(sys.executable).with_name("ctckit-synth")
    program = [str(script)] if script.is_file() else [sys.executable, "-m", "ctckit.data.synth"]
    options = [str(again), "--train", str(n_train), "--dev", str(n_dev), "--test", str(n_test),
               "--seed", "0", "--workers", "1"]  # fmt: skip
    print("$ ctckit-synth", " ".join(options).replace(str(base), "BASE"))
    cmd = [*program, *options]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    print(out.strip().replace(str(base), "BASE"))
    names = sorted(f.name for f in (root / "train/mfcc").iterdir())
    same = filecmp.cmpfiles(root / "train/mfcc", again / "train/mfcc", names, shallow=False)[0]
    print(f"identical train/mfcc files: {len(same)} of {len(names)}")
    #    Another seed into the same folder is refused in one line (exit status 1) ...
    done = subprocess.run([*cmd[:-4], "--seed", "1", "--quiet"], capture_output=True, text=True)
    print(f"$ ctckit-synth ... --seed 1  -> status {done.returncode}:",
          done.stderr.strip().replace(str(base), "BASE"))  # fmt: skip
    #    ... and in Python, a DataError; overwrite=True (--overwrite) regenerates.
    try:
        make_corpus(again, n_train, n_dev, n_test, seed=1, progress=False)
    except DataError as err:
        print("make_corpus(seed=1): DataError:", str(err).split(";")[0].replace(str(base), "BASE"))

    # 7. Asking for more with the same seed only fills in what is missing (an
    #    interrupted run resumes); the grown corpus equals a fresh one of that size.
    info = make_corpus(root, n_train + 2, n_dev, n_test, seed=0, progress=False)
    print(f"grown to {info.n_train} train: wrote {info.written} new utterances")


if __name__ == "__main__":
    main()
