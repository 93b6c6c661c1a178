"""Edit-distance speed: ctckit vs raw rapidfuzz, jiwer and torchmetrics.

All four score the same 10,000 (hypothesis, reference) pairs of HW3P2
phoneme strings (one character per phoneme, as the leaderboard scores them).
Each is timed per pair (a Python loop over pairs, as a training loop would
call it) and, where the library offers one, as one batch call.

Run: python benchmarks/bench_metrics.py [--pairs 10000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable

from rapidfuzz.distance import Levenshtein as RFLev

from ctckit import hw3p2_vocabulary
from ctckit.metrics import ErrorRateMeter, edit_distance, mean_edit_distance


def make_pairs(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """References of 20-120 phonemes; hypotheses with ~15% random edits."""
    rng = random.Random(seed)
    chars = hw3p2_vocabulary().chars
    assert chars is not None
    alphabet = chars[1:]
    refs, hyps = [], []
    for _ in range(n):
        ref = [rng.choice(alphabet) for _ in range(rng.randint(20, 120))]
        hyp = list(ref)
        for _ in range(max(1, len(ref) * 15 // 100)):
            op, pos = rng.random(), rng.randrange(len(hyp) + 1)
            if op < 0.5 and pos < len(hyp):
                hyp[pos] = rng.choice(alphabet)
            elif op < 0.75 and pos < len(hyp):
                del hyp[pos]
            else:
                hyp.insert(pos, rng.choice(alphabet))
        refs.append("".join(ref))
        hyps.append("".join(hyp))
    return hyps, refs


def best_of(fn: Callable[[], float], repeats: int) -> tuple[float, float]:
    """Best wall time of ``repeats`` calls, and the value the call returned."""
    best, value = float("inf"), 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return best, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    hyps, refs = make_pairs(args.pairs)
    n = len(hyps)
    pairs = list(zip(hyps, refs))

    import jiwer
    from torchmetrics.functional.text import edit_distance as tm_edit_distance

    raw = RFLev.distance
    cases: dict[str, Callable[[], float]] = {
        "rapidfuzz raw, per pair": lambda: sum(raw(h, r) for h, r in pairs) / n,
        "ctckit edit_distance, per pair": lambda: sum(edit_distance(h, r) for h, r in pairs) / n,
        "ctckit mean_edit_distance, batch": lambda: mean_edit_distance(hyps, refs),
        "ctckit ErrorRateMeter (S/D/I), batch": lambda: _meter(hyps, refs),
        "jiwer cer * len, per pair": lambda: sum(jiwer.cer(r, h) * len(r) for h, r in pairs) / n,
        "torchmetrics edit_distance, batch": lambda: float(
            tm_edit_distance(hyps, refs, reduction="mean")
        ),
    }
    times: dict[str, float] = {}
    print(f"{n} phoneme-string pairs, best of {args.repeats} runs\n")
    print(f"{'method':40s} {'us/pair':>9s} {'vs raw':>8s} {'mean dist':>10s}")
    for name, fn in cases.items():
        reps = args.repeats if "jiwer" not in name and "torchmetrics" not in name else 1
        t, value = best_of(fn, reps)
        times[name] = t
        base = times["rapidfuzz raw, per pair"]
        print(f"{name:40s} {t / n * 1e6:9.2f} {t / base:7.2f}x {value:10.3f}")
    ours = times["ctckit edit_distance, per pair"]
    print()
    print(
        f"ctckit per pair / rapidfuzz raw per pair: {ours / times['rapidfuzz raw, per pair']:.2f}x"
        " (target <= 1.2x)"
    )
    print(f"jiwer / ctckit per pair: {times['jiwer cer * len, per pair'] / ours:.1f}x slower")
    print(
        f"torchmetrics / ctckit per pair: "
        f"{times['torchmetrics edit_distance, batch'] / ours:.1f}x slower"
    )


def _meter(hyps: list[str], refs: list[str]) -> float:
    meter = ErrorRateMeter()
    meter.update(hyps, refs)
    return meter.mean_distance


if __name__ == "__main__":
    main()
