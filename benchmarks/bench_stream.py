"""Streaming beam search: per-frame cost of feeding chunks against one-shot decoding.

For each utterance, one-shot ``BeamSearchDecoder.decode`` of its frames and a
``DecoderStream`` fed the same frames in chunks of 4 and of 16 (then ``finish()``) are
timed alike: warmed up first, then in rounds, the three interleaved within each round, the
best of ``--rounds`` kept per utterance and call kind, and summed over the utterances.
Times are the calling thread's CPU time (every call searches on that thread; a loaded
host inflates it far less than wall time). Printed: microseconds per frame of each, the
streams' ratio to one-shot (the issue's targets: at most 3x with 4-frame chunks and 1.5x
with 16-frame chunks, at beams 10 and 50), and the per-feed overhead (the stream's extra
time over one-shot, per feed). Each stream's result is checked against one-shot decoding.

Posterior sources (float32):

* ``model``: the trained example model's dev outputs: ``--checkpoint`` and ``--data`` (an
  HW3P2-layout root), or ``--posteriors`` (an ``.npz`` with ``log_probs (N, T, V)`` and
  ``lengths (N,)``, as ``examples/hw3p2/predict.py --dump`` or
  ``bench_decoders.py --save-posteriors`` write);
* ``synthetic``: the seeded peaky posteriors of ``bench_decoders.py`` (T=600, V=41).

Run::

    python benchmarks/bench_stream.py --checkpoint runs/hw3p2/best.pt --data ROOT
    python benchmarks/bench_stream.py --posteriors dev_posteriors.npz
    python benchmarks/bench_stream.py --quick     # synthetic only, few utterances
    python benchmarks/bench_stream.py --feed-cost # per-call costs on blank frames
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from ctckit.decode import BeamSearchDecoder

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_decoders import PRUNED, model_posteriors, peaky_posteriors

CHUNKS = (4, 16)


def one_shot(decoder: BeamSearchDecoder, lp: np.ndarray) -> object:
    return decoder.decode(lp)


def streamed(decoder: BeamSearchDecoder, lp: np.ndarray, chunk: int) -> object:
    stream = decoder.stream()
    for start in range(0, lp.shape[0], chunk):
        stream.feed(lp[start : start + chunk])
    return stream.finish()


def time_setting(decoder: BeamSearchDecoder, utts: list[np.ndarray], rounds: int) -> list[float]:
    """Seconds (sum over utterances of the best of ``rounds``) of one-shot, then of each
    chunk size."""
    kinds = [lambda lp: one_shot(decoder, lp)] + [
        (lambda lp, c=c: streamed(decoder, lp, c)) for c in CHUNKS
    ]
    totals = [0.0] * len(kinds)
    for lp in utts:
        want = one_shot(decoder, lp)
        for fn in kinds:  # warm-up, and the streams' results checked
            if fn(lp) != want:
                raise AssertionError("a stream's result differs from one-shot decoding")
        best = [float("inf")] * len(kinds)
        for _ in range(rounds):
            for k, fn in enumerate(kinds):
                t = time.thread_time()
                fn(lp)
                best[k] = min(best[k], time.thread_time() - t)
        totals = [a + b for a, b in zip(totals, best)]
    return totals


def report(name: str, utts: list[np.ndarray], rounds: int) -> None:
    frames = sum(len(u) for u in utts)
    print(f"\n## {name}: {len(utts)} utterances, {frames} frames, V={utts[0].shape[1]}")
    print("| beam | pruning | one-shot us/frame | " + " | ".join(
        f"chunks of {c}: us/frame, ratio, us/feed over" for c in CHUNKS) + " |")  # fmt: skip
    print("|---|---|---|" + "---|" * len(CHUNKS))
    for width in (10, 50):
        for label, opts in (("none", {}), ("pruned", PRUNED)):
            decoder = BeamSearchDecoder(beam_width=width, num_threads=1, **opts)  # type: ignore[arg-type]
            totals = time_setting(decoder, utts, rounds)
            base = totals[0]
            cells = []
            for c, t in zip(CHUNKS, totals[1:]):
                feeds = sum(-(-len(u) // c) for u in utts)
                cells.append(
                    f"{t / frames * 1e6:.3f}, **{t / base:.2f}x**, {(t - base) / feeds * 1e6:.2f}"
                )
            print(f"| {width} | {label} | {base / frames * 1e6:.3f} | " + " | ".join(cells) + " |")


def feed_cost(loops: int = 9, feeds: int = 5000) -> None:
    """Per-call costs of a stream on blank frames (V=41, float32), where the search itself
    costs a few dozen nanoseconds: one ``feed`` of 4 and of 16 frames, ``partial()``, and a
    short stream (``stream()``, one 4-frame feed, ``finish()``); best of ``loops`` loops,
    calling thread's CPU time."""

    def blank(frames: int) -> np.ndarray:
        x = np.full((frames, 41), -30.0, np.float32)
        x[:, 0] = 0.0
        return x

    four, sixteen = blank(4), blank(16)
    print("\n## per-call costs (us), blank frames, V=41, one thread")
    print("| beam 10 | feed of 4 frames | feed of 16 frames | partial() | short stream |")
    print("|---|---:|---:|---:|---:|")
    for label, opts in (("none", {}), ("pruned", PRUNED)):
        decoder = BeamSearchDecoder(beam_width=10, num_threads=1, **opts)  # type: ignore[arg-type]
        best = [float("inf")] * 4
        for _ in range(loops):
            for k, chunk in enumerate((four, sixteen)):
                stream = decoder.stream()
                stream.feed(chunk)
                t = time.thread_time()
                for _ in range(feeds):
                    stream.feed(chunk)
                best[k] = min(best[k], (time.thread_time() - t) / feeds)
                if k == 0:
                    t = time.thread_time()
                    for _ in range(feeds // 10):
                        stream.partial()
                    best[2] = min(best[2], (time.thread_time() - t) / (feeds // 10))
                stream.finish()
            t = time.thread_time()
            for _ in range(feeds // 10):
                stream = decoder.stream()
                stream.feed(four)
                stream.finish()
            best[3] = min(best[3], (time.thread_time() - t) / (feeds // 10))
        print(f"| {label} | " + " | ".join(f"{b * 1e6:.2f}" for b in best) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path)
    parser.add_argument("--data", type=Path)
    parser.add_argument("--posteriors", type=Path)
    parser.add_argument("--utterances", type=int, default=60, help="model utterances")
    parser.add_argument("--synthetic-utterances", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="synthetic, 3 utterances")
    parser.add_argument(
        "--feed-cost", action="store_true", help="only the per-call costs on blank frames"
    )
    args = parser.parse_args()
    if args.feed_cost:
        feed_cost()
        return
    if args.quick:
        args.synthetic_utterances, args.rounds = 3, 3
    if args.posteriors is not None:
        with np.load(args.posteriors) as z:
            lp = np.asarray(z["log_probs"][: args.utterances], np.float32)
            lens = np.asarray(z["lengths"][: args.utterances], np.int64)
    elif args.checkpoint is not None:
        if args.data is None:
            parser.error("--checkpoint needs --data")
        lp, lens = model_posteriors(args.checkpoint, args.data, args.utterances)
    else:
        lp = None
    if lp is not None and not args.quick:
        report("model", [np.ascontiguousarray(lp[b, :n]) for b, n in enumerate(lens)], args.rounds)
    syn = peaky_posteriors(args.synthetic_utterances)
    report("synthetic", list(syn), args.rounds)


if __name__ == "__main__":
    main()
