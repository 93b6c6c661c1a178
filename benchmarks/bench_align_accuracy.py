#!/usr/bin/env python
"""Phone boundary accuracy of ctckit's forced alignment against the corpus's true times.

    python benchmarks/bench_align_accuracy.py --checkpoint runs/hw3p2/best.pt --data ROOT
    python benchmarks/bench_align_accuracy.py --posteriors dev.npz   # from bench_align_posteriors.py

The embedded corpus writes each label's true ``[start, end)`` MFCC frames
(10 ms) in ``{split}/alignment/``. The model's log-probabilities are aligned
to the transcript; a span's start in model frames times the model's stride
is its start in MFCC frames. Reported, over every label of the split: the
share of starts within 20 ms and 40 ms of the truth and the median error,
for

* ``ctckit spans``: :func:`ctckit.align.align` as it is;
* ``blank_penalty=b``: ``align(..., blank_penalty=b)``, the blank's
  log-probability lowered by ``b`` before aligning (tokens take more frames,
  so a span starts where the label's posterior rises rather than at its
  spike);
* ``prior a``: log-probabilities minus ``a`` times the log of the model's
  average posterior of each class over the split (a hybrid-style scaled
  likelihood: the blank's large prior no longer swamps the labels);
* ``uniform``: the utterance's frames cut into equal parts, one per label.

Calibration of the span confidences: the expected calibration error (10
equal-width bins) of each confidence against "the start is within 40 ms"
(and 20 ms) of the truth.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_align_posteriors import Posteriors, compute, load

from ctckit.align import align, segment

MS_PER_FRAME = 10  # one MFCC frame


def log_prior(post: Posteriors) -> np.ndarray:
    """Log of the mean posterior of each class over every frame of the split."""
    total = np.zeros(post.log_probs[0].shape[1])
    frames = 0
    for lp in post.log_probs:
        total += np.exp(lp.astype(np.float64)).sum(0)
        frames += lp.shape[0]
    return np.log(total / frames)


def batches(post: Posteriors, size: int = 64):
    for first in range(0, len(post.ids), size):
        idx = range(first, min(len(post.ids), first + size))
        width = max(post.log_probs[i].shape[0] for i in idx)
        vocab = post.log_probs[0].shape[1]
        x = np.zeros((len(idx), width, vocab), np.float32)
        for row, i in enumerate(idx):
            x[row, : post.log_probs[i].shape[0]] = post.log_probs[i]
        lengths = np.array([post.log_probs[i].shape[0] for i in idx])
        yield list(idx), x, lengths, [post.targets[i] for i in idx]


def span_starts(post: Posteriors, transform=None, confidence: str = "posterior",
                blank_penalty: float = 0.0):  # fmt: skip
    """Start (MFCC frames) and confidence of every label's span, utterance order."""
    starts, conf = [], []
    for _, x, lengths, targets in batches(post):
        if transform is not None:
            x = transform(x)
        for spans in align(x, targets, lengths, confidence=confidence, blank_penalty=blank_penalty):
            starts.append(np.array([s.start * post.stride for s in spans]))
            conf.append(np.array([s.confidence for s in spans]))
    return starts, conf


def uniform_starts(post: Posteriors):
    out = []
    for tg, n in zip(post.targets, post.mfcc_lengths):
        out.append(np.floor(np.arange(len(tg)) * n / len(tg)).astype(np.int64))
    return out


def errors_ms(post: Posteriors, starts: list[np.ndarray]) -> np.ndarray:
    assert post.truth is not None
    return np.concatenate(
        [np.abs(s - t[:, 0]) * MS_PER_FRAME for s, t in zip(starts, post.truth)]
    ).astype(np.float64)


def ece(conf: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        sel = which == b
        if sel.any():
            total += sel.mean() * abs(correct[sel].mean() - conf[sel].mean())
    return float(total)


def segmentation(post: Posteriors) -> list[str]:
    """Every utterance's model frames back to back, segmented with the transcripts.

    A cut between two utterances (the midpoint between one's last frame and
    the next one's first) is right when it falls in the silence between the
    last phoneme of the one and the first phoneme of the next (true times).
    Then one utterance's text is replaced by another's: its confidence
    should be the lowest.
    """
    assert post.truth is not None
    stream = np.concatenate(post.log_probs)
    offsets = np.cumsum([0] + [len(lp) for lp in post.log_probs])
    t0 = time.perf_counter()
    segments, result = segment(stream, post.targets)
    seconds = time.perf_counter() - t0
    outside, errors = [], []
    for i in range(1, len(segments)):
        cut = (segments[i - 1].end + segments[i].start) / 2 * post.stride  # MFCC frames
        # speech ends at the start of the previous utterance's final SIL, resumes at
        # the end of this one's first SIL (MFCC frames from the stream's start)
        last = offsets[i - 1] * post.stride + post.truth[i - 1][-1, 0]
        first = offsets[i] * post.stride + post.truth[i][0, 1]
        outside.append(max(0.0, last - cut, cut - first) * MS_PER_FRAME)
        errors.append(abs(segments[i].start - offsets[i]) * post.stride * MS_PER_FRAME)
    off = np.array(outside)
    conf = np.array([s.confidence for s in segments])
    swapped = [list(t) for t in post.targets]
    k = len(swapped) // 2
    swapped[k] = list(post.targets[(k + 7) % len(swapped)])
    bad, _ = segment(stream, swapped)
    bad_conf = np.array([s.confidence for s in bad])
    rank = int((bad_conf < bad_conf[k]).sum())
    return [
        f"\nSegmentation: {len(segments)} dev utterances back to back ({len(stream)} frames, "
        f"{len(np.concatenate(post.targets))} tokens) in {seconds:.1f} s, proven exact: {result.exact}",
        f"cuts between utterances: {np.sum(off == 0)} of {len(off)} inside the true silence, "
        f"{np.sum(off <= 20)} within 20 ms of it, {np.sum(off <= 40)} within 40 ms, farthest "
        f"{off.max():.0f} ms; |segment start - utterance start|: median "
        f"{np.median(errors):.0f} ms (the leading silence), max {max(errors):.0f} ms",
        f"confidence: min {conf.min():.3f}, median {np.median(conf):.3f}; with utterance {k}'s text "
        f"replaced by another's, its confidence is {bad_conf[k]:.3f}, {rank} of the others are "
        f"lower (their median {np.median(np.delete(bad_conf, k)):.3f})",
    ]


def summary(name: str, err: np.ndarray) -> str:
    return (f"| {name} | {np.mean(err <= 20):.1%} | {np.mean(err <= 40):.1%} | "
            f"{np.median(err):.0f} | {np.mean(err):.1f} |")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--checkpoint", type=Path, default=None)
    p.add_argument("--data", type=Path, default=None)
    p.add_argument("--split", default="dev")
    p.add_argument(
        "--posteriors", type=Path, default=None, help=".npz from bench_align_posteriors.py"
    )
    p.add_argument("--limit", type=int, default=None)
    args = p.parse_args(argv)
    if args.posteriors is None and (args.checkpoint is None or args.data is None):
        p.error("give --posteriors, or --checkpoint and --data")
    t0 = time.perf_counter()
    post = (
        load(args.posteriors)
        if args.posteriors
        else compute(args.checkpoint, args.data, args.split, args.limit)
    )
    if post.truth is None:
        p.error(f"the corpus has no {args.split} alignment files (true phoneme times)")
    n_labels = sum(len(t) for t in post.targets)
    print(f"{len(post.ids)} utterances, {n_labels} labels, model stride {post.stride} "
          f"({post.stride * MS_PER_FRAME} ms frames)\n")  # fmt: skip
    print("| method | within 20 ms | within 40 ms | median error (ms) | mean error (ms) |")
    print("|:--|--:|--:|--:|--:|")
    base, _ = span_starts(post)
    err = errors_ms(post, base)
    print(summary("ctckit spans", err))
    best = None
    for pen in (1.0, 4.0, 8.0, 16.0, 30.0):
        err_pen = errors_ms(post, span_starts(post, blank_penalty=pen)[0])
        print(summary(f"blank_penalty={pen:g}", err_pen))
        if pen == 30.0:
            best = err_pen
    prior = log_prior(post)
    for a in (0.5, 1.0):
        starts = span_starts(post, lambda x, a=a: x - a * prior)[0]
        print(summary(f"prior-normalised, a={a:g}", errors_ms(post, starts)))
    print(summary("uniform segmentation", errors_ms(post, uniform_starts(post))))
    print(
        "\n| spans | confidence | mean | share within 40 ms | ECE vs 40 ms | share within 20 ms | ECE vs 20 ms |"
    )
    print("|:--|:--|--:|--:|--:|--:|--:|")
    for pen, e in ((0.0, err), (30.0, best)):
        for name in ("posterior", "frame"):
            c = np.concatenate(span_starts(post, confidence=name, blank_penalty=pen)[1])
            print(f"| blank_penalty={pen:g} | {name} | {c.mean():.3f} | {np.mean(e <= 40):.3f} | "
                  f"{ece(c, e <= 40):.3f} | {np.mean(e <= 20):.3f} | {ece(c, e <= 20):.3f} |")  # fmt: skip
    print("\n".join(segmentation(post)))
    print(f"\nshare within 40 ms {np.mean(err <= 40):.3f}; within 20 ms {np.mean(err <= 20):.3f} "
          f"({time.perf_counter() - t0:.1f} s)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
