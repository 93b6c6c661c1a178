"""What a phoneme n-gram LM buys in beam search, and what it costs.

Fits an ``NGramLM`` on the train transcripts of an HW3P2-layout corpus,
tunes the LM weight (alpha) and insertion bonus (beta) on dev with a small
grid, then reports on the test split: greedy vs beam vs beam + LM mean edit
distance per utterance, and beam-search time with and without the LM.

Run (after ``python examples/hw3p2/train.py`` has trained a model):

    python benchmarks/bench_lm.py --checkpoint runs/hw3p2/best.pt

``--data`` defaults to the embedded corpus the example generated; the test
references come from ``ROOT/test_transcripts``.

``--arpa-speed`` needs no model: it fits an order-6 phoneme LM on a seeded
Markov chain over the 40 phonemes, writes its ARPA file and times reading it
with ``NGramLM.from_arpa`` beside ``kenlm.Model`` (CPU seconds, best of 3),
and the dense tables' build:

    python benchmarks/bench_lm.py --arpa-speed
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ctckit import hw3p2_vocabulary
from ctckit.data import PhonemeDataset, UnlabeledDataset, collate_ctc
from ctckit.decode import BeamSearchDecoder, NGramLM, greedy_decode
from ctckit.metrics import mean_edit_distance
from ctckit.training import load_trained_model

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples" / "hw3p2"))
from train import default_cache

VOCAB = hw3p2_vocabulary()


def posteriors(
    model: torch.nn.Module, dataset: PhonemeDataset | UnlabeledDataset, batch: int = 32
) -> list[np.ndarray]:
    """Each utterance's (T', V) log-probabilities, in dataset order."""
    out: list[np.ndarray] = []
    with torch.no_grad():
        for start in range(0, len(dataset), batch):
            items = [dataset[i] for i in range(start, min(start + batch, len(dataset)))]
            b = collate_ctc(items)
            log_probs, lengths = model(b.features, b.feature_lengths)
            out += [lp[:n].numpy().astype(np.float32) for lp, n in zip(log_probs, lengths)]
    return out


def decode_strings(decoder: BeamSearchDecoder, lps: list[np.ndarray]) -> tuple[list[str], float]:
    """Top-1 strings and the wall time of decoding them one by one."""
    start = time.perf_counter()
    hyps = [decoder.decode(lp)[0][0].tokens for lp in lps]
    return [VOCAB.to_string(h) for h in hyps], time.perf_counter() - start


def arpa_speed(path: Path) -> None:
    """Time NGramLM.from_arpa beside kenlm.Model on a generated phoneme ARPA file."""
    import resource

    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    rng = np.random.default_rng(0)
    transitions = rng.dirichlet(np.ones(40) * 0.3, size=40)
    sentences = []
    for _ in range(4000):
        s = [int(rng.integers(40))]
        for _ in range(int(rng.integers(40, 120))):
            s.append(int(rng.choice(40, p=transitions[s[-1]])))
        sentences.append([x + 1 for x in s])
    lm = NGramLM.fit(sentences, order=6, vocab_size=len(VOCAB))
    lm.to_arpa(path, VOCAB)
    print(f"{path}: {path.stat().st_size / 1e6:.0f} MB, {lm!r}, {sum(lm.ngram_counts)} n-grams")
    NGramLM.from_arpa(path, VOCAB)  # warm-up: Numba's cached kernels
    times: dict[str, list[float]] = {"NGramLM.from_arpa": [], "kenlm.Model": [], "to_tables": []}
    for _ in range(3):
        start = cpu()
        back = NGramLM.from_arpa(path, VOCAB)
        times["NGramLM.from_arpa"].append(cpu() - start)
        start = cpu()
        back.to_tables(len(VOCAB), 0)
        times["to_tables"].append(cpu() - start)
        try:
            import kenlm
        except ImportError:
            continue
        start = cpu()
        kenlm.Model(str(path))
        times["kenlm.Model"].append(cpu() - start)
    for name, values in times.items():
        if values:
            print(f"{name}: {min(values):.2f} s CPU (best of {len(values)})")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", type=Path, default=Path("runs/hw3p2/best.pt"))
    p.add_argument("--data", type=Path, default=None)
    p.add_argument("--order", type=int, nargs="+", default=[3, 4, 5, 6])
    p.add_argument("--beam-width", type=int, default=20)
    p.add_argument("--alphas", type=float, nargs="+", default=[0.2, 0.5, 0.8, 1.0, 1.5])
    p.add_argument("--betas", type=float, nargs="+", default=[0.0, 1.0, 2.0, 3.0, 4.0])
    p.add_argument("--arpa-speed", action="store_true", help="time ARPA reading only")
    p.add_argument("--arpa", type=Path, default=Path("/tmp/ctckit-bench-lm-phones6.arpa"))
    args = p.parse_args()
    if args.arpa_speed:
        arpa_speed(args.arpa)
        return
    torch.set_num_threads(1)
    root = args.data or default_cache()

    model, saved = load_trained_model(args.checkpoint)
    config = saved.config
    normalize = bool(config.get("normalize", False))
    train = PhonemeDataset(root, "train", cache=False)
    dev = PhonemeDataset(root, "dev", normalize=normalize)
    test = UnlabeledDataset(root, "test", normalize=normalize)
    dev_refs = [VOCAB.to_string(dev[i].targets.tolist()) for i in range(len(dev))]
    test_refs = [
        VOCAB.to_string(VOCAB.encode(np.load(root / "test_transcripts" / f"{uid}.npy").tolist()))
        for uid in test.ids
    ]
    print(f"corpus {root}: {len(train)} train, {len(dev)} dev, {len(test)} test utterances")
    print(f"model {args.checkpoint} (preset {config['preset']})")

    dev_lp, test_lp = posteriors(model, dev), posteriors(model, test)
    sentences = [train[i].targets.numpy() for i in range(len(train))]

    # Choose the order by dev perplexity (no decoding needed).
    dev_sentences = [dev[i].targets.numpy() for i in range(len(dev))]
    best_order, best_ppl = args.order[0], float("inf")
    for order in args.order:
        t = time.perf_counter()
        lm = NGramLM.fit(sentences, order=order, vocab_size=len(VOCAB))
        ppl = lm.perplexity(dev_sentences)
        print(f"order {order}: dev perplexity {ppl:.2f} (fit {time.perf_counter() - t:.2f} s)")
        if ppl < best_ppl:
            best_order, best_ppl = order, ppl
    lm = NGramLM.fit(sentences, order=best_order, vocab_size=len(VOCAB))
    print(f"using order {best_order}: {lm!r}")

    # Tune alpha/beta on dev.
    plain = BeamSearchDecoder(beam_width=args.beam_width, num_threads=1)
    dev_beam, _ = decode_strings(plain, dev_lp)
    best = (mean_edit_distance(dev_beam, dev_refs), 0.0, 0.0)
    print(f"dev beam {args.beam_width} without LM: {best[0]:.3f}")
    for alpha in args.alphas:
        row = []
        for beta in args.betas:
            dec = BeamSearchDecoder(
                beam_width=args.beam_width,
                lm=lm,
                lm_weight=alpha,
                insertion_bonus=beta,
                num_threads=1,
            )
            d = mean_edit_distance(decode_strings(dec, dev_lp)[0], dev_refs)
            row.append(f"{d:6.3f}")
            if d < best[0]:
                best = (d, alpha, beta)
        print(f"dev alpha={alpha:<4} beta {args.betas}: {' '.join(row)}")
    _, alpha, beta = best
    print(f"chosen on dev: alpha={alpha}, beta={beta}")

    # Test split.
    greedy = [VOCAB.to_string(t) for lp in test_lp for t in greedy_decode(lp)]
    beam, t_beam = decode_strings(plain, test_lp)
    fused = BeamSearchDecoder(
        beam_width=args.beam_width, lm=lm, lm_weight=alpha, insertion_bonus=beta, num_threads=1
    )
    with_lm, t_lm = decode_strings(fused, test_lp)
    n = len(test_lp)
    print()
    print("| decoder | test mean distance | ms / utterance |")
    print("|---|---:|---:|")
    print(f"| greedy | {mean_edit_distance(greedy, test_refs):.3f} | - |")
    print(
        f"| beam {args.beam_width} | {mean_edit_distance(beam, test_refs):.3f} "
        f"| {t_beam / n * 1e3:.2f} |"
    )
    print(
        f"| beam {args.beam_width} + {best_order}-gram LM (alpha={alpha}, beta={beta}) "
        f"| {mean_edit_distance(with_lm, test_refs):.3f} | {t_lm / n * 1e3:.2f} |"
    )
    print(f"\nLM decoding time / no-LM time: {t_lm / t_beam:.2f}x")


if __name__ == "__main__":
    main()
