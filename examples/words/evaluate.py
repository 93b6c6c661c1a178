#!/usr/bin/env python
"""Decode the test split of a character model to words; WER without and with a word LM.

    python examples/words/evaluate.py --data ROOT --checkpoint runs/words/best.pt
    python examples/words/evaluate.py --data ROOT --checkpoint runs/words/best.pt --dump

Four decodings of the same test posteriors, each scored by WER against the test
texts (``ROOT/test_text``):

1. greedy: the best label per frame, repeats merged, blanks dropped;
2. beam: ctckit's word beam search with no LM (the token beam search's labelling);
3. beam + word LM: a word 3-gram fitted on the *train* texts (ctckit writes it as
   ``OUT/words.arpa``), fused with ``--alpha``/``--beta``;
4. beam + word LM + hotwords: as 3, boosting a list of rare words chosen the way a
   user would, without looking at the test texts: the words of the *dev* texts that
   occur at most ``--hotword-max-train`` times in the train texts (the ``--hotwords``
   most frequent of them in dev). Every test word that is such a word benefits;
   every other hotword is a distractor the decoder must not insert.

``--tune`` picks alpha and beta on the dev split first (a small grid). ``--dump``
also writes ``OUT/test_posteriors.npz`` (log-probabilities, lengths, labels, texts),
``OUT/unigrams.txt`` and ``OUT/chars.arpa`` (a character 6-gram over the labels,
the space written ``|``, for flashlight's lexicon-free decoder) for
``benchmarks/bench_words_peers.py``. The table is printed and written to
``OUT/words_wer.md``.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from rapidfuzz.distance import Levenshtein

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train import BLANK, TextDataset, read_text, text_folder

from ctckit import Vocabulary
from ctckit._cli import run_cli
from ctckit.decode import greedy_decode
from ctckit.decode.words import WordBeamSearchDecoder
from ctckit.errors import DataError, InputValueError
from ctckit.files import atomic_open
from ctckit.lm import NGramLM, WordNGramLM
from ctckit.training import evaluation_loader, load_trained_model


def word_error_rate(refs: Sequence[str], hyps: Sequence[str]) -> float:
    """Word edits over reference words (corpus-level WER)."""
    edits = sum(Levenshtein.distance(r.split(), h.split()) for r, h in zip(refs, hyps))
    return edits / max(1, sum(len(r.split()) for r in refs))


def posteriors(model: torch.nn.Module, data: TextDataset) -> tuple[np.ndarray, np.ndarray]:
    """``(N, T, V)`` float32 log-probabilities in dataset order, and ``(N,)`` lengths."""
    rows: dict[str, tuple[np.ndarray, int]] = {}
    model.eval()
    with torch.no_grad():
        for batch in evaluation_loader(data, max_frames=20000):
            lp, lens = model(batch.features, batch.feature_lengths)
            for k, utt in enumerate(batch.ids):
                n = int(lens[k])
                rows[utt] = (lp[k, :n].float().numpy(), n)
    lengths = np.asarray([rows[i][1] for i in data.ids], dtype=np.int64)
    out = np.zeros((len(data.ids), int(lengths.max()), rows[data.ids[0]][0].shape[1]), np.float32)
    for k, utt in enumerate(data.ids):
        out[k, : lengths[k]] = rows[utt][0]
    return out, lengths


def choose_hotwords(
    train: Sequence[str], dev: Sequence[str], count: int, max_train: int
) -> list[str]:
    """The ``count`` most frequent dev words seen at most ``max_train`` times in train."""
    in_train = collections.Counter(w for t in train for w in t.split())
    in_dev = collections.Counter(w for t in dev for w in t.split())
    rare = [w for w, _ in in_dev.most_common() if in_train[w] <= max_train]
    return rare[:count]


def decoder(labels: list[str], args: argparse.Namespace, **kw: object) -> WordBeamSearchDecoder:
    return WordBeamSearchDecoder(
        labels, beam_width=args.beam_width, token_min_logp=-5.0, beam_prune_logp=-10.0,
        blank=0, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def texts_of(dec: WordBeamSearchDecoder, lp: np.ndarray, lens: np.ndarray) -> list[str]:
    return [hyps[0].text for hyps in dec.decode(lp, lens)]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--checkpoint", type=Path, default=Path("runs/words/best.pt"))
    p.add_argument("--out", type=Path, default=None, help="default: the checkpoint's folder")
    p.add_argument("--beam-width", type=int, default=100)
    p.add_argument("--order", type=int, default=3, help="word n-gram order")
    p.add_argument("--alpha", type=float, default=0.5)
    p.add_argument("--beta", type=float, default=1.5)
    p.add_argument("--tune", action="store_true", help="choose alpha, beta on dev")
    p.add_argument("--hotwords", type=int, default=50, help="how many hotwords")
    p.add_argument("--hotword-max-train", type=int, default=1)
    p.add_argument("--hotword-weight", type=float, default=5.0)
    p.add_argument("--dump", action="store_true", help="write the benchmark inputs")
    p.add_argument("--threads", type=int, default=None)
    return p


def run(args: argparse.Namespace) -> int:
    if args.beam_width < 1 or args.hotwords < 0:
        raise InputValueError("--beam-width must be >= 1 and --hotwords >= 0")
    torch.set_num_threads(args.threads or max(1, min(2, os.cpu_count() or 1)))
    out = args.out or args.checkpoint.parent
    out.mkdir(parents=True, exist_ok=True)
    model, ckpt = load_trained_model(args.checkpoint)
    labels = list(ckpt.config.get("labels", []))
    if not labels or labels[0] != BLANK:
        raise DataError("checkpoint has no character labels; was it written by "
                        "examples/words/train.py?", path=args.checkpoint)  # fmt: skip
    vocab = Vocabulary(labels)
    train_texts = [read_text(f) for f in sorted(text_folder(args.data, "train").glob("*.txt"))]
    dev_set, test_set = TextDataset(args.data, "dev", vocab), TextDataset(args.data, "test", vocab)
    t0 = time.monotonic()
    lm = WordNGramLM.fit(train_texts, order=args.order)
    lm.to_arpa(out / "words.arpa")
    lm = WordNGramLM.from_arpa(out / "words.arpa")  # decode with what the file says
    print(f"word {args.order}-gram on {len(train_texts)} train texts: {lm!r} "
          f"({time.monotonic() - t0:.1f} s) -> {out / 'words.arpa'}")  # fmt: skip
    dec_labels = ["", *labels[1:]]  # the word decoder's blank is the empty label
    alpha, beta = args.alpha, args.beta
    if args.tune:
        dev_lp, dev_lens = posteriors(model, dev_set)
        grid = [(a, b) for a in (0.3, 0.5, 0.8, 1.2) for b in (0.0, 1.0, 2.0)]
        wers = {(a, b): word_error_rate(dev_set.texts, texts_of(
            decoder(dec_labels, args, lm=lm, alpha=a, beta=b), dev_lp, dev_lens))
            for a, b in grid}  # fmt: skip
        alpha, beta = min(wers, key=lambda k: wers[k])
        print(f"tuned on dev: alpha {alpha}, beta {beta} (dev WER {wers[(alpha, beta)]:.4f})")
    hotwords = choose_hotwords(train_texts, dev_set.texts, args.hotwords, args.hotword_max_train)
    lp, lens = posteriors(model, test_set)
    refs = test_set.texts
    greedy = ["".join(vocab.labels[i] for i in seq) for seq in greedy_decode(lp, lens, blank=0)]
    lm_decoder = decoder(dec_labels, args, lm=lm, alpha=alpha, beta=beta)
    hot_decoder = decoder(dec_labels, args, lm=lm, alpha=alpha, beta=beta, hotwords=hotwords,
                          hotword_weight=args.hotword_weight)  # fmt: skip
    rows = [
        ("greedy", [" ".join(t.split()) for t in greedy]),
        ("beam", texts_of(decoder(dec_labels, args, alpha=0.0, beta=0.0), lp, lens)),
        ("beam + word LM", texts_of(lm_decoder, lp, lens)),
        ("beam + word LM + hotwords", texts_of(hot_decoder, lp, lens)),
    ]
    n_words = max(1, sum(len(t.split()) for t in refs))
    oov = sum(w not in lm for t in refs for w in t.split()) / n_words
    in_test = sum(w in set(hotwords) for t in refs for w in t.split())
    lines = [
        f"test: {len(refs)} utterances, {sum(len(t.split()) for t in refs)} words, "
        f"{100 * oov:.1f}% of them outside the train texts; beam {args.beam_width}, "
        f"alpha {alpha}, beta {beta}; {len(hotwords)} hotwords (weight "
        f"{args.hotword_weight}), {in_test} test word occurrences among them",
        "",
        "| decoding | test WER |",
        "|---|---:|",
        *[f"| {name} | {word_error_rate(refs, hyps):.4f} |" for name, hyps in rows],
    ]
    print("\n".join(lines))
    with atomic_open(out / "words_wer.md", "w") as f:
        f.write("\n".join(lines) + "\n")
    if args.dump:
        np.savez(out / "test_posteriors.npz", log_probs=lp, lengths=lens,
                 labels=np.asarray(dec_labels), texts=np.asarray(refs))  # fmt: skip
        with atomic_open(out / "unigrams.txt", "w") as f:
            f.write("\n".join(w for w in lm.words if w not in ("<s>", "</s>", "<unk>")) + "\n")
        chars = Vocabulary(["_", "|", *labels[2:]])  # the space as '|': ARPA words hold no space
        seqs = [vocab.encode(list(t)) for t in train_texts]
        NGramLM.fit(seqs, order=6, vocab_size=len(labels)).to_arpa(out / "chars.arpa", chars)
        print(f"wrote {out / 'test_posteriors.npz'}, unigrams.txt, chars.arpa")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_cli(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
