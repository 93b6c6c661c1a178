"""Guide: decoding to words: a word LM, hotwords, the pyctcdecode and torchaudio front doors, and
phonemes to words through a pronunciation lexicon.

    python docs/guides/words.py            # the guide
    python docs/guides/words.py --quick    # smaller (the docs tests run this)

The texts, phoneme transcripts and pronunciation lexicon come from the embedded
corpus (``ctckit.data.synth``, needs the ``synth`` extra). The acoustic models are
simulated so that the guide runs in seconds: a character model (spikes among
blanks, a third of the letters confused with another) and a phoneme model (the
same for ARPAbet phonemes). With trained models, the log-probabilities come from
``log_probs, lengths = model(features, feature_lengths)``; everything else is the
same (``examples/words`` does it with a trained character model).
"""

from __future__ import annotations

import argparse
import collections
import os
import tempfile
from pathlib import Path

import numpy as np
from rapidfuzz.distance import Levenshtein

from ctckit import hw3p2_vocabulary
from ctckit.data.synth import make_corpus
from ctckit.decode.words import WordBeamSearchDecoder
from ctckit.lm import WordNGramLM

CHARS = ["", " ", *"abcdefghijklmnopqrstuvwxyz'"]  # blank first, then the word delimiter


def wer(refs: list[str], hyps: list[str]) -> float:
    edits = sum(Levenshtein.distance(r.split(), h.split()) for r, h in zip(refs, hyps))
    return edits / sum(len(r.split()) for r in refs)


def simulate(tokens: list[int], vocab: int, rng: np.random.Generator) -> np.ndarray:
    """(T, V) log-probs: each token spikes for 1-2 frames among 1-2 blank frames; on a
    third of the tokens a random other token gets most of the spike (a confusion)."""
    rows = []
    for tok in tokens:
        for _ in range(int(rng.integers(1, 3))):
            rows.append(np.eye(vocab)[0] * 0.9 + 0.1 / vocab)
        confused, other = rng.random() < 0.33, int(rng.integers(1, vocab))
        for _ in range(int(rng.integers(1, 3))):
            p = np.full(vocab, 0.02 / vocab)
            p[tok] += 0.58 if not confused else 0.38
            p[other] += 0.0 if not confused else 0.45
            p[0] += 1.0 - p.sum()
            rows.append(p)
    rows.append(np.eye(vocab)[0] * 0.9 + 0.1 / vocab)
    return np.log(np.asarray(rows, dtype=np.float32))


def batch(seqs: list[list[int]], vocab: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    utts = [simulate(s, vocab, rng) for s in seqs]
    lengths = np.asarray([len(u) for u in utts])
    out = np.full((len(utts), int(lengths.max()), vocab), np.log(1.0 / vocab), np.float32)
    for b, u in enumerate(utts):
        out[b, : len(u)] = u
    return out, lengths


def read(folder: Path) -> list[str]:
    return [f.read_text(encoding="utf-8").strip() for f in sorted(folder.glob("*.txt"))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    quick = ap.parse_args().quick or os.environ.get("CTCKIT_GUIDE_QUICK") == "1"
    n_train, n_dev = (150, 30) if quick else (1000, 100)
    root = Path(tempfile.mkdtemp()) / "corpus"
    make_corpus(root, n_train, n_dev, 0, seed=0, progress=False, workers=1)
    train, dev = read(root / "train" / "text"), read(root / "dev" / "text")
    print(f"{len(train)} train and {len(dev)} dev texts, e.g. {dev[0]!r}")

    # ---- 1. characters to words, with a word 3-gram fitted on the train texts
    lm = WordNGramLM.fit(train, order=3)
    lm.to_arpa(root / "words.arpa")  # KenLM, pyctcdecode and flashlight read this file
    print(f"word LM: {lm!r}")
    index = {c: i for i, c in enumerate(CHARS)}
    lp, lengths = batch([[index[c] for c in t] for t in dev], len(CHARS), seed=1)
    settings = {"beam_width": 32, "token_min_logp": -8.0}
    plain = WordBeamSearchDecoder(CHARS, alpha=0.0, beta=0.0, **settings)
    fused = WordBeamSearchDecoder(CHARS, lm=lm, alpha=0.5, beta=1.5, **settings)
    results = {
        "beam, no LM": [h[0].text for h in plain.decode(lp, lengths)],
        "beam + word LM": [h[0].text for h in fused.decode(lp, lengths)],
    }
    # hotwords a user would give, without looking at the texts being decoded: words the
    # train texts have only once (the LM barely knows them)
    seen = collections.Counter(w for t in train for w in t.split())
    hot = sorted(w for w, n in seen.items() if n == 1)[:20]
    boosted = WordBeamSearchDecoder(CHARS, lm=lm, alpha=0.5, beta=1.5, hotwords=hot,
                                    hotword_weight=5.0, **settings)  # fmt: skip
    results["beam + word LM + hotwords"] = [h[0].text for h in boosted.decode(lp, lengths)]
    for name, hyps in results.items():
        print(f"{name:28s} dev WER {wer(dev, hyps):.3f}")
    best = fused.decode(lp[:1], lengths[:1])[0][0]
    print("word spans of the first utterance:",
          [(s.word, s.start, s.end) for s in best.word_spans][:4])  # fmt: skip

    # ---- 2. the same through pyctcdecode's front door (one import changed)
    from ctckit.compat.pyctcdecode import build_ctcdecoder

    decoder = build_ctcdecoder(CHARS, str(root / "words.arpa"), alpha=0.5, beta=1.5)
    texts = decoder.decode_batch(None, [lp[b, :n] for b, n in enumerate(lengths)],
                                 beam_width=32, token_min_logp=-8.0)  # fmt: skip
    print(
        f"pyctcdecode front door: dev WER {wer(dev, texts):.3f}, "
        f"same texts as WordBeamSearchDecoder: {texts == results['beam + word LM']}"
    )
    text, _, frames, _, _ = decoder.decode_beams(lp[0, : lengths[0]])[0]
    print(f"decode_beams: {text!r}, frames {frames[:2]}")

    # ---- 3. phonemes to words through the corpus's pronunciation lexicon
    vocab = hw3p2_vocabulary()
    lexicon = {}
    for line in (root / "lexicon.txt").read_text(encoding="utf-8").splitlines():
        word, *pron = line.split()
        lexicon.setdefault(word, []).append(pron)
    phones = []
    for f in sorted((root / "dev" / "transcript").glob("*.npy")):
        labels = [s for s in np.load(f).tolist() if s not in ("<sos>", "<eos>")]
        phones.append(vocab.encode(labels))
    plp, plengths = batch(phones, len(vocab), seed=2)
    print(f"lexicon: {len(lexicon)} words, "
          f"{sum(len(p) for p in lexicon.values())} pronunciations")  # fmt: skip
    for name, kw in [("lexicon, no LM", {}), ("lexicon + word LM", {"lm": lm, "alpha": 0.5})]:
        dec = WordBeamSearchDecoder(vocab, lexicon=lexicon, sil_token="SIL", beam_width=32,
                                    token_min_logp=-8.0, **kw)  # fmt: skip
        hyps = [h[0].text for h in dec.decode(plp, plengths)]
        print(f"{name:28s} dev WER {wer(dev, hyps):.3f}; every word in the lexicon: "
              f"{all(w in lexicon for t in hyps for w in t.split())}")  # fmt: skip

    # ---- 4. and through torchaudio's front door
    from ctckit.compat.torchaudio import ctc_decoder

    tokens = ["-", *vocab.labels[1:]]
    (root / "tokens.txt").write_text("\n".join(tokens) + "\n")
    ta = ctc_decoder(str(root / "lexicon.txt"), str(root / "tokens.txt"),
                     lm=str(root / "words.arpa"), lm_weight=0.5 * np.log(10), word_score=1.5,
                     sil_token="SIL", beam_size=32)  # fmt: skip
    import torch

    out = ta(torch.from_numpy(plp), torch.from_numpy(plengths))
    print(f"torchaudio front door: dev WER {wer(dev, [' '.join(r[0].words) for r in out]):.3f}; "
          f"first: {out[0][0].words[:4]}")  # fmt: skip


if __name__ == "__main__":
    main()
