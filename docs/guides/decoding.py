"""Guide: decode with greedy and beam search, N-best lists, timestamps and a phoneme LM.

    python docs/guides/decoding.py            # the guide
    python docs/guides/decoding.py --quick    # smaller (the docs tests run this)

The transcripts come from the embedded corpus (``ctckit.data.synth``, needs the
``synth`` extra). The acoustic model is simulated, so that the guide runs in
seconds: its log-probabilities are built from each dev transcript with a known
alignment and confusable phonemes. With a trained model use
``log_probs, lengths = model(features, feature_lengths)`` instead.
``--quick`` (or ``CTCKIT_GUIDE_QUICK=1``) uses fewer utterances.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np

from ctckit import hw3p2_vocabulary
from ctckit.data.synth import make_corpus
from ctckit.decode import BeamSearchDecoder, NGramLM, greedy_decode
from ctckit.metrics import mean_edit_distance

HOP_SECONDS = 0.010  # one MFCC frame every 10 ms
STRIDE = 2  # the model's time reduction (e.g. resnet34_04f's stride-2 embedder)


def simulate(
    tokens: list[int], vocab_size: int, rng: np.random.Generator
) -> tuple[np.ndarray, list[int]]:
    """(T, V) log-probs for `tokens` and the true start frame of each token.

    Each token spikes for 1-2 frames among blanks; on a third of the tokens a
    random other phoneme gets most of the spike's mass (an acoustic confusion).
    """
    rows: list[np.ndarray] = []
    starts: list[int] = []
    for token in tokens:
        for _ in range(int(rng.integers(1, 4))):
            rows.append(np.eye(vocab_size)[0] * 0.9 + 0.1 / vocab_size)  # blank frames
        starts.append(len(rows))
        confused = rng.random() < 0.33
        other = int(rng.integers(1, vocab_size))
        for _ in range(int(rng.integers(1, 3))):
            p = np.full(vocab_size, 0.02 / vocab_size)
            p[token] += 0.58 if not confused else 0.38
            p[other] += 0.38 if not confused else 0.58
            p[0] += 0.02
            rows.append(p / p.sum())
    rows.append(np.eye(vocab_size)[0] * 0.9 + 0.1 / vocab_size)
    return np.log(np.stack(rows)).astype(np.float32), starts


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--quick", action="store_true", default=bool(os.environ.get("CTCKIT_GUIDE_QUICK"))
    )
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    n_train, n_dev = (150, 30) if args.quick else (1000, 100)
    vocab = hw3p2_vocabulary()
    V = len(vocab)

    # 1. Transcripts: the embedded corpus (HW3P2 layout) in a temporary folder.
    root = Path(tempfile.mkdtemp(prefix="ctckit-decoding-"))
    make_corpus(root, n_train, n_dev, 0, seed=0, workers=1, progress=False)

    def transcripts(partition: str) -> list[list[int]]:
        folder = root / partition / "transcript"
        return [vocab.encode(np.load(f).tolist()) for f in sorted(folder.glob("*.npy"))]

    train_text, dev_text = transcripts("train"), transcripts("dev")
    print(f"{len(train_text)} train and {len(dev_text)} dev transcripts")

    # 2. A batch of (B, T, V) log-probabilities and (B,) lengths, padded.
    sims = [simulate(t, V, rng) for t in dev_text]
    T = max(len(lp) for lp, _ in sims)
    log_probs = np.full((len(sims), T, V), np.log(1.0 / V), np.float32)
    for b, (lp, _) in enumerate(sims):
        log_probs[b, : len(lp)] = lp
    lengths = np.array([len(lp) for lp, _ in sims])
    refs = [vocab.to_string(t) for t in dev_text]

    # 3. Greedy (best path) versus prefix beam search.
    greedy = [vocab.to_string(h) for h in greedy_decode(log_probs, lengths)]
    beam = BeamSearchDecoder(beam_width=16, top_n=3)
    nbest = beam.decode(log_probs, lengths)
    print(f"greedy          dev distance {mean_edit_distance(greedy, refs):.3f}")
    top1 = [vocab.to_string(h[0].tokens) for h in nbest]
    print(f"beam 16         dev distance {mean_edit_distance(top1, refs):.3f}")

    # 4. N-best: up to top_n distinct labellings per utterance, best first.
    print("N-best for dev utterance 0, reference", repr(refs[0]))
    for h in nbest[0]:
        print(f"  {vocab.to_string(h.tokens)!r:40} acoustic {h.acoustic_score:8.3f}")

    # 5. Timestamps: Hypothesis.frames[k] is the output frame where token k starts;
    #    times in seconds = frame * stride * hop.
    best, (_, true_starts) = nbest[0][0], sims[0]
    shown = min(6, len(best.tokens))
    pairs = zip(best.tokens[:shown], best.frames[:shown])
    print(
        "timestamps (s):", [(vocab.labels[t], round(f * STRIDE * HOP_SECONDS, 2)) for t, f in pairs]
    )
    print("true starts (s):", [round(f * STRIDE * HOP_SECONDS, 2) for f in true_starts[:shown]])

    # 6. A phoneme n-gram LM from the train transcripts, saved and read back as ARPA.
    lm = NGramLM.fit(train_text, order=4, vocab_size=V)
    arpa = root / "phones.arpa"
    lm.to_arpa(arpa, vocab)  # words are the phoneme names
    lm = NGramLM.from_arpa(arpa, vocab)
    print(
        f"{lm}; dev perplexity {lm.perplexity(dev_text):.2f}; {arpa.stat().st_size:,} bytes of ARPA"
    )

    # 7. Shallow fusion: score = acoustic + lm_weight * lm + insertion_bonus * len(tokens).
    for weight, bonus in ((0.3, 0.0), (0.6, 0.5), (1.0, 1.0)):
        fused = BeamSearchDecoder(beam_width=16, lm=lm, lm_weight=weight, insertion_bonus=bonus)
        hyps = [vocab.to_string(h[0].tokens) for h in fused.decode(log_probs, lengths)]
        distance = mean_edit_distance(hyps, refs)
        print(f"beam 16 + LM (weight {weight}, bonus {bonus}) dev distance {distance:.3f}")
    h = fused.decode(log_probs[:1], lengths[:1])[0][0]
    print(f"one fused hypothesis: score {h.score:.3f} = acoustic {h.acoustic_score:.3f}"
          f" + {weight} * lm {h.lm_score:.3f} + {bonus} * {len(h.tokens)} tokens")  # fmt: skip


if __name__ == "__main__":
    main()
