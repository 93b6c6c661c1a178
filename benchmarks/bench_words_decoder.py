"""WordBeamSearchDecoder speed: lexicon-free and lexicon modes, with and without a word LM.

Times ctckit alone (the peers, pyctcdecode and flashlight-text, are in the front doors'
benchmark): each configuration decodes the same batch, the configurations are called in
turn (interleaved), after one warm-up call each, and the best of ``--repeats`` rounds is
kept. Printed: milliseconds per utterance with one and two threads, the two-thread
speed-up, and each configuration's time over the token beam search's
(``BeamSearchDecoder``, same beam and pruning): what words, the LM and the lexicon add.

Posteriors (28 labels: space, a-z, apostrophe, then the blank):

* ``libri``: pyctcdecode's LibriSpeech logits (a real model's output on one utterance,
  ``../shared/peer_assets/pyctcdecode/libri_logits.json``), the batch being copies of it;
* ``spelled``: seeded synthetic posteriors that spell sentences of LM words, a letter
  spike of 1-3 frames per character, blanks between, and a competing letter in 15% of
  the spikes.

The word LM is ``--arpa`` if given, else a generated one (``--vocab`` random words plus
the LibriSpeech utterance's, with random bigrams and trigrams) written to a temporary
file; the lexicon spells each LM word in letters, with the space as the silence token.

Run: python benchmarks/bench_words_decoder.py [--quick] [--arpa LM.arpa] [--repeats 7]
"""

from __future__ import annotations

import argparse
import json
import os
import string
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ctckit.decode import BeamSearchDecoder, WordBeamSearchDecoder

LABELS = [" ", *string.ascii_lowercase, "'", ""]
BLANK = len(LABELS) - 1
LIBRI = Path(__file__).resolve().parents[2] / "shared" / "peer_assets" / "pyctcdecode"
LIBRI_TEXT = (
    "i have a good deal of will you remember and what i have set my mind upon no doubt "
    "i shall some day achieve"
)


def log_softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def libri_posteriors(batch: int) -> np.ndarray:
    logits = np.asarray(json.loads((LIBRI / "libri_logits.json").read_text()), np.float64)
    lp = log_softmax(logits).astype(np.float32)
    return np.repeat(lp[None], batch, axis=0)


def random_vocabulary(n: int, seed: int) -> list[str]:
    """``n`` distinct random words of 2-9 letters (plus the LibriSpeech utterance's)."""
    rng = np.random.default_rng(seed)
    words = dict.fromkeys(LIBRI_TEXT.split())
    letters = np.array(list(string.ascii_lowercase))
    while len(words) < n:
        words["".join(rng.choice(letters, int(rng.integers(2, 10))))] = None
    return list(words)


def write_arpa(path: str, words: list[str], seed: int, bigrams: int, trigrams: int) -> None:
    """A generated trigram ARPA over ``words`` (Zipfian unigrams, random n-grams)."""
    rng = np.random.default_rng(seed)
    n = len(words)
    zipf = 1.0 / np.arange(1, n + 1)
    uni = np.log10(zipf / zipf.sum())
    idx = rng.choice(n, size=(trigrams, 3), p=zipf / zipf.sum())
    big = {(int(a), int(b)) for a, b in rng.choice(n, size=(bigrams, 2), p=zipf / zipf.sum())}
    tri = {tuple(int(x) for x in row) for row in idx}
    big |= {(a, b) for a, b, _ in tri} | {(b, c) for _, b, c in tri}
    has2 = {a for a, _ in big}
    has3 = {(a, b) for a, b, _ in tri}
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"\\data\\\nngram 1={n + 3}\nngram 2={len(big)}\nngram 3={len(tri)}\n\n")
        f.write("\\1-grams:\n-6.0\t<unk>\t0\n-99\t<s>\t-0.3\n-1.0\t</s>\n")
        for i, w in enumerate(words):
            bo = f"\t{-rng.uniform(0.1, 0.8):.4f}" if i in has2 else ""
            f.write(f"{uni[i]:.4f}\t{w}{bo}\n")
        f.write("\n\\2-grams:\n")
        for a, b in sorted(big):
            bo = f"\t{-rng.uniform(0.1, 0.8):.4f}" if (a, b) in has3 else ""
            f.write(f"{-rng.uniform(0.2, 2.5):.4f}\t{words[a]} {words[b]}{bo}\n")
        f.write("\n\\3-grams:\n")
        for a, b, c in sorted(tri):
            f.write(f"{-rng.uniform(0.1, 2.0):.4f}\t{words[a]} {words[b]} {words[c]}\n")
        f.write("\n\\end\\\n")


def spelled_posteriors(words: list[str], batch: int, n_words: int, seed: int) -> np.ndarray:
    """``(batch, T, 29)`` float32 log-probabilities spelling random sentences of ``words``."""
    rng = np.random.default_rng(seed)
    zipf = 1.0 / np.arange(1, len(words) + 1)
    zipf /= zipf.sum()
    rows: list[list[np.ndarray]] = []
    for _ in range(batch):
        text = " ".join(words[int(i)] for i in rng.choice(len(words), n_words, p=zipf))
        frames = []
        for ch in text:
            c = LABELS.index(ch)
            for _ in range(int(rng.integers(1, 4))):
                logit = rng.normal(0.0, 1.0, len(LABELS))
                logit[c] += 8.0
                if rng.random() < 0.15:
                    logit[int(rng.integers(0, len(LABELS) - 1))] += 6.5
                frames.append(logit)
            for _ in range(int(rng.integers(0, 3))):
                logit = rng.normal(0.0, 1.0, len(LABELS))
                logit[BLANK] += 9.0
                frames.append(logit)
        rows.append(frames)
    time_ = max(len(r) for r in rows)
    out = np.full((batch, time_, len(LABELS)), -30.0, np.float32)
    out[:, :, BLANK] = 0.0
    for b, frames in enumerate(rows):
        out[b, : len(frames)] = log_softmax(np.asarray(frames))
    return out


def best_times(calls: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    """Best wall time of each call over ``repeats`` interleaved rounds (after a warm-up)."""
    for fn in calls.values():
        fn()
    best = dict.fromkeys(calls, float("inf"))
    for _ in range(repeats):
        for name, fn in calls.items():
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--arpa", help="a word LM (ARPA); default: a generated one")
    parser.add_argument("--vocab", type=int, default=20_000, help="generated LM vocabulary")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--beam", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="small LM, one beam, 3 repeats")
    args = parser.parse_args()
    if args.quick:
        args.vocab, args.beam, args.repeats = 2000, [20], 3
    print(f"load: {os.getloadavg()[0]:.2f} (1 min), cpus: {os.cpu_count()}")

    from ctckit.lm import WordNGramLM

    with tempfile.TemporaryDirectory() as tmp:
        if args.arpa:
            path = args.arpa
        else:
            words = random_vocabulary(args.vocab, seed=0)
            path = os.path.join(tmp, "words.arpa")
            write_arpa(path, words, seed=1, bigrams=5 * args.vocab, trigrams=5 * args.vocab)
        t0 = time.perf_counter()
        lm = WordNGramLM.from_arpa(path)
        print(f"LM: {lm!r}, read in {time.perf_counter() - t0:.2f} s")
    vocab = [w for w in lm.words if w not in ("<s>", "</s>", "<unk>")]
    lexicon = {w: [list(w)] for w in vocab if set(w) <= set(LABELS[:-1]) - {" "}}
    sources = {"libri": libri_posteriors(args.batch) if LIBRI.exists() else None,
               "spelled": spelled_posteriors(vocab[:2000], args.batch, 12, seed=2)}  # fmt: skip
    for beam in args.beam:
        common = {"beam_width": beam, "token_min_logp": -5.0, "beam_prune_logp": -10.0}
        t0 = time.perf_counter()
        decoders: dict[str, Any] = {
            "token beam": BeamSearchDecoder(blank=BLANK, **common),
            "words": WordBeamSearchDecoder(LABELS, alpha=0.0, beta=0.0, **common),
            "words+LM": WordBeamSearchDecoder(LABELS, lm=lm, **common),
            "words+LM+hot": WordBeamSearchDecoder(
                LABELS, lm=lm, hotwords=["remember", "achieve"], **common
            ),
            "lexicon": WordBeamSearchDecoder(
                LABELS, lexicon=lexicon, sil_token=" ", alpha=0.0, beta=0.0, **common
            ),
            "lexicon+LM": WordBeamSearchDecoder(
                LABELS, lexicon=lexicon, sil_token=" ", lm=lm, **common
            ),
        }
        print(f"\nbeam {beam}: decoders built in {time.perf_counter() - t0:.2f} s")
        for source, lp in sources.items():
            if lp is None:
                print(f"  {source}: absent")
                continue
            calls = {}
            for name, dec in decoders.items():
                for threads in (1, 2):
                    dec.num_threads = threads
                    calls[f"{name}/{threads}"] = lambda d=dec, n=threads, x=lp: _run(d, n, x)
            best = best_times(calls, args.repeats)
            n = lp.shape[0]
            print(f"  {source}: batch {n} x T={lp.shape[1]}, ms per utterance (best of "
                  f"{args.repeats})")  # fmt: skip
            print(f"  {'decoder':14s} {'1 thread':>9s} {'2 threads':>10s} {'speed-up':>9s}"
                  f" {'vs token beam':>14s}  top-1 text of utterance 0")  # fmt: skip
            base = best["token beam/1"]
            for name, dec in decoders.items():
                one, two = best[f"{name}/1"], best[f"{name}/2"]
                dec.num_threads = 1
                text = _text(dec, lp[:1])
                print(f"  {name:14s} {1e3 * one / n:9.3f} {1e3 * two / n:10.3f} {one / two:9.2f}x"
                      f" {one / base:13.2f}x  {text[:60]}")  # fmt: skip


def _run(decoder: Any, threads: int, lp: np.ndarray) -> Any:
    decoder.num_threads = threads
    return decoder.decode(lp)


def _text(decoder: Any, lp: np.ndarray) -> str:
    h = decoder.decode(lp)[0][0]
    if hasattr(h, "text"):
        return str(h.text)
    return "".join(LABELS[c] for c in h.tokens)


if __name__ == "__main__":
    main()
