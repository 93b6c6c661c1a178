#!/usr/bin/env python
"""Calibration of token confidences: candidate measures against token correctness.

    python examples/hw3p2/train.py --data ROOT --out runs/hw3p2
    python benchmarks/bench_confidence.py --checkpoint runs/hw3p2/best.pt --data ROOT \\
        --plot docs/_static/confidence_reliability.png

The checkpoint's model runs over the dev split and the test split (test
transcripts from ``ROOT/test_transcripts``, as the embedded corpus writes
them); every utterance is decoded with :class:`ctckit.decode.BeamSearchDecoder`
(``--beam-width``, ``top_n`` = the beam width, so the final beam is at hand),
and each token of the best hypothesis gets a score from every candidate
measure:

* ``start``: the posterior of the token at its span's first frame (the old
  placeholder);
* ``max_prob``: the largest posterior of the token over its span ``[start, end)``;
* ``gibbs_min`` / ``gibbs_mean``: one minus the normalised Gibbs entropy
  ``H(p_t) / log V`` of each frame of the span, the smallest or the mean
  (Laptev & Ginsburg 2022, linear normalisation);
* ``tsallis_min`` / ``tsallis_mean``: the same with the Tsallis entropy,
  ``alpha = 1/3``;
* ``beam_share``: the share of the final beam's probability mass (the
  ``top_n`` hypotheses' acoustic scores, normalised) held by hypotheses with
  the same token on a span that overlaps this one;
* ``decoder``: ``Hypothesis.spans[k].confidence`` as the decoder returns it
  (the chosen measure, ``max_prob``, tracked by the search).

A token is correct when the edit alignment against the reference
(``rapidfuzz.distance.Levenshtein.opcodes``) matches it. Per measure and split:
the expected calibration error (``--bins`` equal-width bins), the ROC AUC of
correct against incorrect tokens, and the normalised cross entropy (NCE: the
share of the entropy of correctness that the confidence explains; 0 for a
constant equal to the accuracy, negative when worse). ``--plot`` draws the
reliability diagrams. ``--timing K`` also times ``decode`` of 200 dev
utterances (one call, one thread, beams 10 and 50) with and without reading
every hypothesis's spans, interleaved, best of ``K``; ``--only-timing`` skips
the calibration (to time two source trees in turn, through ``PYTHONPATH``).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from rapidfuzz.distance import Levenshtein

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_align_posteriors import Posteriors, compute, load, save

from ctckit.decode import BeamSearchDecoder, Hypothesis

TSALLIS_ALPHA = 1.0 / 3.0


def split_posteriors(checkpoint: Path, root: Path, split: str, cache: Path | None) -> Posteriors:
    """The model's posteriors of ``split`` (read from / written to ``cache`` if given)."""
    path = None if cache is None else cache / f"{split}_posteriors.npz"
    if path is not None and path.is_file():
        return load(path)
    if split == "test":  # PhonemeDataset reads ROOT/test/transcript: link the test files there
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "test").mkdir()
            os.symlink(root / "test" / "mfcc", Path(tmp) / "test" / "mfcc")
            os.symlink(root / "test_transcripts", Path(tmp) / "test" / "transcript")
            post = compute(checkpoint, Path(tmp), "test")
    else:
        post = compute(checkpoint, root, split)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        save(post, path)
    return post


def frame_gibbs(lp: np.ndarray) -> np.ndarray:
    """(T,) one minus the normalised Gibbs entropy of each frame."""
    p = np.exp(lp)
    h = -(p * np.where(p > 0, lp, 0.0)).sum(axis=1)
    return 1.0 - h / math.log(lp.shape[1])


def frame_tsallis(lp: np.ndarray, alpha: float = TSALLIS_ALPHA) -> np.ndarray:
    """(T,) one minus the normalised Tsallis entropy (``alpha``) of each frame."""
    v = lp.shape[1]
    h = (1.0 - np.exp(alpha * lp).sum(axis=1)) / (alpha - 1.0)
    h_max = (v ** (1.0 - alpha) - 1.0) / (1.0 - alpha)
    return 1.0 - h / h_max


def beam_share(hyps: list[Hypothesis]) -> list[float]:
    """Per token of ``hyps[0]``: the share of the beam's mass on the same token over an
    overlapping span."""
    scores = np.array([h.acoustic_score for h in hyps])
    mass = np.exp(scores - scores.max())
    mass /= mass.sum()
    out = []
    for s in hyps[0].spans:
        share = 0.0
        for m, h in zip(mass, hyps):
            if any(o.token == s.token and o.start < s.end and s.start < o.end for o in h.spans):
                share += m
        out.append(share)
    return out


def correct_tokens(hyp: tuple[int, ...], ref: list[int]) -> np.ndarray:
    """(len(hyp),) whether each hypothesis token is matched in the edit alignment."""
    ok = np.zeros(len(hyp), bool)
    for tag, i1, i2, _, _ in Levenshtein.opcodes(list(hyp), ref):
        if tag == "equal":
            ok[i1:i2] = True
    return ok


def measures(
    post: Posteriors, decoder: BeamSearchDecoder
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Every candidate's confidence per best-hypothesis token, and their correctness."""
    names = ["start", "max_prob", "gibbs_min", "gibbs_mean", "tsallis_min", "tsallis_mean",
             "beam_share", "decoder"]  # fmt: skip
    out: dict[str, list[float]] = {n: [] for n in names}
    correct = []
    for lp, ref in zip(post.log_probs, post.targets):
        lp = lp.astype(np.float64)
        hyps = decoder.decode(lp)[0]
        best = hyps[0]
        gibbs, tsallis = frame_gibbs(lp), frame_tsallis(lp)
        for s in best.spans:
            run = slice(s.start, s.end)
            out["start"].append(math.exp(lp[s.start, s.token]))
            out["max_prob"].append(math.exp(lp[run, s.token].max()))
            out["gibbs_min"].append(gibbs[run].min())
            out["gibbs_mean"].append(gibbs[run].mean())
            out["tsallis_min"].append(tsallis[run].min())
            out["tsallis_mean"].append(tsallis[run].mean())
            out["decoder"].append(s.confidence)
        out["beam_share"].extend(beam_share(hyps))
        correct.append(correct_tokens(best.tokens, ref.tolist()))
    return {n: np.clip(np.array(v), 0.0, 1.0) for n, v in out.items()}, np.concatenate(correct)


def ece(conf: np.ndarray, ok: np.ndarray, bins: int) -> float:
    """Expected calibration error over ``bins`` equal-width bins of [0, 1]."""
    which = np.minimum((conf * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.mean() * abs(ok[inside].mean() - conf[inside].mean())
    return total


def auc(conf: np.ndarray, ok: np.ndarray) -> float:
    """ROC AUC of correct against incorrect tokens (ties count half)."""
    from scipy.stats import rankdata

    n_pos, n_neg = int(ok.sum()), int((~ok).sum())
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = rankdata(conf)
    return float((ranks[ok].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def nce(conf: np.ndarray, ok: np.ndarray) -> float:
    """Normalised cross entropy of the confidences as probabilities of correctness."""
    c = np.clip(conf, 1e-6, 1 - 1e-6)
    p = ok.mean()
    h = -(p * math.log(p) + (1 - p) * math.log(1 - p))
    ce = -np.mean(np.where(ok, np.log(c), np.log(1 - c)))
    return float((h - ce) / h)


def reliability(conf: np.ndarray, ok: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Per bin: mean confidence and accuracy (NaN for an empty bin)."""
    which = np.minimum((conf * bins).astype(int), bins - 1)
    mc, acc = np.full(bins, np.nan), np.full(bins, np.nan)
    for b in range(bins):
        inside = which == b
        if inside.any():
            mc[b], acc[b] = conf[inside].mean(), ok[inside].mean()
    return mc, acc


def plot(path: Path, results: dict[str, tuple[dict[str, np.ndarray], np.ndarray]],
         names: list[str], bins: int) -> None:  # fmt: skip
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(names), figsize=(3.6 * len(names), 3.8), squeeze=False)
    for ax, name in zip(axes[0], names):
        ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
        for split, color in zip(results, ("tab:blue", "tab:orange")):
            conf, ok = results[split][0][name], results[split][1]
            mc, acc = reliability(conf, ok, bins)
            e = ece(conf, ok, bins)
            ax.plot(mc, acc, "o-", color=color, ms=3, label=f"{split} ECE {e:.3f}")
        ax.set_title(name)
        ax.set_xlabel("confidence")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.legend(loc="upper left", fontsize=8)
    axes[0][0].set_ylabel("share of tokens correct")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def best_of(fn: Callable[[], object], k: int) -> float:
    """Best CPU time of ``k`` calls (the calls run on this thread; CPU time is less
    disturbed than wall time by other processes on a loaded machine)."""
    best = math.inf
    for _ in range(k):
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
    return best


def timing(post: Posteriors, beam_width: int, rounds: int) -> None:
    """``decode`` of the dev utterances (one call, one thread) with and without reading
    every hypothesis's spans, interleaved, best of ``rounds``."""
    import torch

    lps = [torch.from_numpy(lp) for lp in post.log_probs[:200]]
    lengths = np.array([lp.shape[0] for lp in lps])
    batch = torch.nn.utils.rnn.pad_sequence(lps, batch_first=True).numpy()
    decoder = BeamSearchDecoder(beam_width=beam_width, num_threads=1)

    def plain() -> object:
        return decoder.decode(batch, lengths)

    def with_spans() -> object:
        return [h.spans for hs in decoder.decode(batch, lengths) for h in hs]

    plain()
    with_spans()
    t_plain, t_spans = math.inf, math.inf
    for _ in range(rounds):
        t_plain = min(t_plain, best_of(plain, 1))
        t_spans = min(t_spans, best_of(with_spans, 1))
    print(f"timing: {len(lps)} dev utterances, beam {beam_width}, 1 thread, best CPU time of "
          f"{rounds} interleaved: decode {t_plain * 1e3:.1f} ms, decode + every .spans "
          f"{t_spans * 1e3:.1f} ms ({t_spans / t_plain:.3f}x)")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--data", type=Path, required=True, help="HW3P2-layout root of the corpus")
    p.add_argument("--beam-width", type=int, default=10)
    p.add_argument("--bins", type=int, default=15)
    p.add_argument("--cache", type=Path, default=None, help="folder for the posteriors' .npz")
    p.add_argument("--plot", type=Path, default=None, help="reliability diagrams (PNG)")
    p.add_argument("--timing", type=int, default=0, help="rounds of the decode timing (0: none)")
    p.add_argument("--only-timing", action="store_true", help="skip the calibration")
    args = p.parse_args(argv)

    if args.only_timing:
        post = split_posteriors(args.checkpoint, args.data, "dev", args.cache)
        for width in (10, 50):
            timing(post, width, args.timing)
        return 0
    decoder = BeamSearchDecoder(beam_width=args.beam_width, top_n=args.beam_width,
                                num_threads=1)  # fmt: skip
    results = {}
    for split in ("dev", "test"):
        post = split_posteriors(args.checkpoint, args.data, split, args.cache)
        conf, ok = measures(post, decoder)
        results[split] = (conf, ok)
        print(f"{split}: {len(post.ids)} utterances, {ok.size} tokens, "
              f"{ok.mean():.3f} correct (beam {args.beam_width})")  # fmt: skip
    print(f"{'measure':<14}" + "".join(f"{s + ' ' + m:>12}" for s in results
                                       for m in ("ECE", "AUC", "NCE")))  # fmt: skip
    for name in results["dev"][0]:
        row = []
        for conf, ok in results.values():
            c = conf[name]
            row += [ece(c, ok, args.bins), auc(c, ok), nce(c, ok)]
        print(f"{name:<14}" + "".join(f"{v:>12.3f}" for v in row))
    if args.plot is not None:
        plot(args.plot, results, ["start", "max_prob", "gibbs_mean", "beam_share"],
             args.bins)  # fmt: skip
        print(f"wrote {args.plot}")
    if args.timing:
        post = split_posteriors(args.checkpoint, args.data, "dev", args.cache)
        for width in (10, 50):
            timing(post, width, args.timing)
    return 0


if __name__ == "__main__":
    sys.exit(main())
