"""Statistics of the embedded corpus's texts and pronunciations (ctckit.data.synth).

Prints, for the corpus of a seed and size (the texts come from the text model
alone, no synthesis needed):

* vocabulary size, tokens, the type/token curve of the train texts and a
  Zipf fit (slope of log frequency against log rank);
* the perplexity on the dev texts of interpolated Kneser-Ney word models of
  order 1, 2 and 3 fitted on the train texts (words unseen in train are
  ``<unk>``), which shows how much word order says;
* with ``--root`` (a corpus made by ``ctckit-synth``): how often a word's
  phonemes in the transcripts equal one of its pronunciations in
  ``lexicon.txt``, how often an in-word pause occurs, and the phoneme counts.

Usage::

    python benchmarks/corpus_stats.py [--train 1500 --dev 200 --test 200 --seed 0]
    python benchmarks/corpus_stats.py --root CORPUS
"""

from __future__ import annotations

import argparse
import collections
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ctckit.data._lexicon import read_lexicon
from ctckit.data.synth import (
    read_alignments,
    read_parameters,
    read_texts,
    read_word_spans,
    split_folder,
    utterance_spec,
)

Sentence = Sequence[str]


class KneserNey:
    """Interpolated Kneser-Ney n-gram model (absolute discount 0.75) over a closed vocabulary."""

    def __init__(self, sentences: Sequence[Sentence], order: int, vocabulary: set[str]) -> None:
        self.order, self.discount = order, 0.75
        self.vocabulary_size = len(vocabulary) + 1  # + </s>
        self.counts: list[collections.Counter[tuple[str, ...]]] = [
            collections.Counter() for _ in range(order + 1)
        ]
        for sentence in sentences:
            padded = ["<s>"] * (order - 1) + list(sentence) + ["</s>"]
            for n in range(1, order + 1):
                for i in range(order - n, len(padded) - n + 1):
                    self.counts[n][tuple(padded[i : i + n])] += 1
        # continuation counts for the lower orders, context totals and fan-outs
        self.continuation: list[collections.Counter[tuple[str, ...]]] = [
            collections.Counter() for _ in range(order + 1)
        ]
        for n in range(2, order + 1):
            for gram in self.counts[n]:
                self.continuation[n - 1][gram[1:]] += 1
        self.totals: list[collections.Counter[tuple[str, ...]]] = [
            collections.Counter() for _ in range(order + 1)
        ]
        self.fanout: list[collections.Counter[tuple[str, ...]]] = [
            collections.Counter() for _ in range(order + 1)
        ]
        for n in range(1, order + 1):
            table = self.counts[n] if n == order else self.continuation[n]
            for gram, count in table.items():
                self.totals[n][gram[:-1]] += count
                self.fanout[n][gram[:-1]] += 1

    def _table(self, n: int) -> collections.Counter[tuple[str, ...]]:
        return self.counts[n] if n == self.order else self.continuation[n]

    def prob(self, context: tuple[str, ...], word: str) -> float:
        p = 1.0 / self.vocabulary_size
        for n in range(1, self.order + 1):
            history = context[len(context) - (n - 1) :] if n > 1 else ()
            total = self.totals[n][history]
            if total == 0:
                continue
            count = self._table(n)[(*history, word)]
            backoff = self.discount * self.fanout[n][history] / total
            p = max(count - self.discount, 0.0) / total + backoff * p
        return p

    def perplexity(self, sentences: Sequence[Sentence]) -> float:
        log_sum, tokens = 0.0, 0
        for sentence in sentences:
            padded = ["<s>"] * (self.order - 1) + list(sentence) + ["</s>"]
            for i in range(self.order - 1, len(padded)):
                log_sum += math.log(self.prob(tuple(padded[i - self.order + 1 : i]), padded[i]))
                tokens += 1
        return math.exp(-log_sum / tokens)


def text_statistics(train: Sequence[Sentence], dev: Sequence[Sentence]) -> None:
    tokens = [w for s in train for w in s]
    counts = collections.Counter(tokens)
    print(f"train: {len(train)} sentences, {len(tokens)} tokens, {len(counts)} types; "
          f"{sum(len(s) for s in train) / len(train):.2f} words per sentence")  # fmt: skip
    print("\ntype/token curve (train, in order):\n\n| tokens | types |\n|---:|---:|")
    seen: set[str] = set()
    marks = {1000, 2000, 5000, 10000, 20000, len(tokens)}
    for i, word in enumerate(tokens, 1):
        seen.add(word)
        if i in marks:
            print(f"| {i} | {len(seen)} |")
    frequencies = np.array(sorted(counts.values(), reverse=True), dtype=np.float64)
    ranks = np.arange(1, len(frequencies) + 1)
    for low, high in ((1, 100), (10, 300), (1, len(frequencies))):
        sel = slice(low - 1, high)
        slope = np.polyfit(np.log(ranks[sel]), np.log(frequencies[sel]), 1)[0]
        print(f"\nZipf fit, ranks {low}-{high}: log frequency = {slope:.2f} log rank + c", end="")
    print(f"\nmost common: {', '.join(f'{w} {c}' for w, c in counts.most_common(12))}")
    print(f"words seen once: {sum(c == 1 for c in counts.values())}")
    vocabulary = set(counts)
    dev_tokens = [w for s in dev for w in s]
    oov = sum(w not in vocabulary for w in dev_tokens)
    print(f"\ndev: {len(dev)} sentences, {len(dev_tokens)} tokens, OOV rate "
          f"{oov / len(dev_tokens):.2%} (scored as <unk>)\n")  # fmt: skip
    unk_dev = [[w if w in vocabulary else "<unk>" for w in s] for s in dev]
    print("| model (fitted on train) | dev perplexity |\n|---|---:|")
    for order, name in ((1, "unigram"), (2, "bigram"), (3, "trigram")):
        model = KneserNey(train, order, vocabulary | {"<unk>"})
        print(f"| {name} (interpolated Kneser-Ney) | {model.perplexity(unk_dev):.1f} |")


def lexicon_statistics(root: Path) -> None:
    lexicon = read_lexicon(root / "lexicon.txt")
    variants = collections.Counter(len(p) for p in lexicon.values())
    prons = [tuple(p) for ps in lexicon.values() for p in ps]
    by_pron = collections.Counter(prons)
    homophones = sum(1 for c in by_pron.values() if c > 1)
    print(f"\nlexicon.txt: {len(lexicon)} words, {len(prons)} pronunciations "
          f"({', '.join(f'{n} words with {k}' for k, n in sorted(variants.items()))}); "
          f"{homophones} pronunciations shared by several words (homophones)")  # fmt: skip
    matched = words = pauses = merged = 0
    phonemes: collections.Counter[str] = collections.Counter()
    for split in ("train", "dev", "test"):
        texts = read_texts(root, split)
        alignments = read_alignments(root, split)
        transcripts = split_folder(root, split, "transcript")
        for stem, spans in read_word_spans(root, split).items():
            labels = list(np.load(transcripts / f"{stem}.npy")[1:-1])
            phones = alignments[stem]
            phonemes.update(labels)
            for word, (start, end) in zip(texts[stem].split(), spans):
                inside = [lab for lab, (a, b) in zip(labels, phones) if start <= a and b <= end]
                pauses += "SIL" in inside
                pron = tuple(lab for lab in inside if lab != "SIL")
                matched += pron in lexicon[word]
                words += 1
            merged += len(labels) > 0
    print(f"words whose spoken phonemes equal one of their lexicon pronunciations: "
          f"{matched} of {words} ({matched / words:.1%}); words with a pause inside: {pauses}")  # fmt: skip
    print("\nphoneme counts (all splits): " +
          ", ".join(f"{p} {c}" for p, c in sorted(phonemes.items(), key=lambda kv: kv[1])))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=None, help="a corpus made by ctckit-synth")
    parser.add_argument("--train", type=int, default=1500)
    parser.add_argument("--dev", type=int, default=200)
    parser.add_argument("--test", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.root is not None:
        params = read_parameters(args.root)
        args.seed = params["seed"]
        args.train, args.dev, args.test = (params["sizes"][p] for p in ("train", "dev", "test"))
    print(f"seed {args.seed}, {args.train} train / {args.dev} dev / {args.test} test\n")
    train = [utterance_spec(args.seed, "train", i).words for i in range(args.train)]
    dev = [utterance_spec(args.seed, "dev", i).words for i in range(args.dev)]
    text_statistics(train, dev)
    if args.root is not None:
        lexicon_statistics(args.root)


if __name__ == "__main__":
    main()
