#!/usr/bin/env python
"""Does the aligner's speed depend on where its buffers lie modulo 4096 bytes, or on when it runs?

    python benchmarks/bench_align_phases.py                # all three tests, about 50 s
    python benchmarks/bench_align_phases.py --rounds 8 --calls 1000

A load whose address matches an earlier in-flight store's low 12 bits can be held
as if it depended on it (4K aliasing), so a kernel's speed may depend on its
buffers' offsets modulo 4096. A machine can also run slower for a while (other
work on the sibling core, the host). The two look alike when offsets are swept
in order, since consecutive offsets are also consecutive in time. Two tests
separate them, and a third tells whether the cores have their phases apart:

* ``offsets``: the dense pass (``_viterbi._dense_forward``) on one flat row of
  1,000 frames and 150 tokens, with its score rows at the start of a page and
  ``emit`` (``jump`` right after it) at 64 offsets 64 bytes apart, visited in a
  shuffled order each round. Per offset: the minimum and median over the rounds
  (ns per frame). If an offset is slow by placement, its minimum is high; if the
  machine is slow by phases, every offset's minimum is low and the slow calls
  come in stretches of consecutive calls (the timeline, one row per round in
  visiting order).
* ``runs``: ``forced_align`` on the flat batch of ``bench_align.py`` (32 rows),
  one thread, ``--calls`` calls in a row: the share of slow calls (more than
  1.25x the best) and the chance that a call is slow after a slow one. Calls
  whose buffers landed badly would be slow at random (a chance near the share);
  phases make it near 1.
* ``cores``: two threads, each pinned to its own core (Linux), call the kernel on
  the first 8 flat rows for ``--seconds``; per core, the median call in each 200 ms
  window over the best call. The correlation of the two cores' series says whether
  the phases are the machine's (both slow together) or each core's (independent:
  then a two-thread call is as fast as its slower core unless the threads share
  the work as they go, and two threads beat one by more when the one ran on a
  slow core).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from numba import njit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_align as ba

from ctckit.align import _viterbi, forced_align

FRAMES, TOKENS = ba.TIME, ba.TOKENS
SLOW = 1.25  # a call is slow beyond this multiple of the best


@njit(cache=True)
def _dense_calls(frames, cols, rows, checkpoints, jump, emit, reps):  # type: ignore[no-untyped-def]
    total = 0.0
    for _ in range(reps):
        score, _last = _viterbi._dense_forward(frames, FRAMES, TOKENS, 0, rows, checkpoints,
                                               cols, jump, emit)  # fmt: skip
        total += score
    return total


def offsets_test(rounds: int, seed: int = 1) -> None:
    data = ba.synthetic("flat")
    frames = np.ascontiguousarray(data["lp"][0])
    cols = data["tg"][0].astype(np.uint32)
    width = TOKENS + 3
    arena = np.zeros(1 << 16)
    base = (-arena.ctypes.data % 4096) // 8  # the first page start, in float64s
    rows = arena[base : base + 4 * width].reshape(2, 2, width)
    checkpoints = np.empty((FRAMES // _viterbi.CHECKPOINT + 1, 2, width))
    offsets = list(range(0, 512, 8))  # float64s: 0-4032 bytes in steps of 64
    rng = np.random.default_rng(seed)
    per_offset: dict[int, list[float]] = {o: [] for o in offsets}
    timeline = []
    for _ in range(rounds):
        for off in rng.permutation(offsets):
            start = base + 4096 + off  # 32 KiB past the rows, then the offset
            emit = arena[start : start + width]
            jump = arena[start + width + 64 : start + 2 * width + 64]
            jump[:] = 0.0
            jump[TOKENS] = emit[TOKENS] = -np.inf
            _dense_calls(frames, cols, rows, checkpoints, jump, emit, 1)
            best = np.inf
            for _ in range(5):
                t0 = time.perf_counter()
                _dense_calls(frames, cols, rows, checkpoints, jump, emit, 10)
                best = min(best, time.perf_counter() - t0)
            ns = best / 10 / FRAMES * 1e9
            per_offset[int(off)].append(ns)
            timeline.append(ns)
    mins = np.array([min(per_offset[o]) for o in offsets])
    meds = np.array([np.median(per_offset[o]) for o in offsets])
    slow_offsets = [o * 8 for o, m in zip(offsets, mins) if m > SLOW * mins.min()]
    print(f"offsets ({rounds} shuffled rounds, ns per frame of the dense pass):")
    print(f"  per-offset minimum {mins.min():.0f}-{mins.max():.0f}, median {meds.min():.0f}-"
          f"{meds.max():.0f}; offsets whose minimum is > {SLOW}x the best: {slow_offsets or 'none'}")  # fmt: skip
    flags = np.array(timeline) > SLOW * mins.min()
    print("  timeline (S: slow call), one row per round in visiting order:")
    for r in range(rounds):
        print(
            "  "
            + "".join("S" if f else "." for f in flags[r * len(offsets) : (r + 1) * len(offsets)])
        )


def runs_test(calls: int) -> None:
    data = ba.synthetic("flat")
    args = (data["lp"], data["tg"], data["lens"], data["tlens"])
    forced_align(*args, num_threads=1)
    times = []
    for _ in range(calls):
        t0 = time.thread_time()
        forced_align(*args, num_threads=1)
        times.append(time.thread_time() - t0)
    ms = np.array(times) * 1e3
    slow = ms > SLOW * ms.min()
    after_slow = (slow[1:] & slow[:-1]).sum() / max(1, slow[:-1].sum())
    print(f"runs ({calls} forced_align calls on the flat batch, one thread, thread CPU time):")
    print(f"  best {ms.min():.2f} ms, median {np.median(ms):.2f} ms; slow share {slow.mean():.2f}, "
          f"P(slow | previous slow) {after_slow:.2f}")  # fmt: skip
    print("  " + "".join("S" if s else "." for s in slow))


def cores_test(seconds: float, window: float = 0.2) -> None:
    import threading

    from ctckit.align._common import Options

    data = ba.synthetic("flat")
    lp = np.ascontiguousarray(data["lp"][:8])
    batch, frames, vocab = lp.shape
    args = (lp, np.asarray(data["lens"][:8], np.int64),
            np.ascontiguousarray(data["tg"][:8], np.int64), np.asarray(data["tlens"][:8], np.int64),
            np.arange(batch, dtype=np.int64), Options(0, vocab, 0.0))  # fmt: skip

    def outputs() -> tuple:
        return (np.empty((batch, frames), np.int64), np.empty((batch, frames), lp.dtype),
                np.zeros(batch, np.int64), np.zeros((batch, 2), np.int64),
                np.zeros(batch, np.bool_))  # fmt: skip

    _viterbi.viterbi_many(*args, *outputs())
    cpus = sorted(os.sched_getaffinity(0))[:2]
    if len(cpus) < 2:
        print("cores: needs two cores")
        return
    calls: dict[int, list[tuple[float, float]]] = {cpu: [] for cpu in cpus}
    end = time.perf_counter() + seconds

    def run(cpu: int) -> None:
        os.sched_setaffinity(0, {cpu})
        out = outputs()
        while time.perf_counter() < end:
            t0 = time.perf_counter()
            _viterbi.viterbi_many(*args, *out)
            calls[cpu].append((t0, time.perf_counter() - t0))

    threads = [threading.Thread(target=run, args=(cpu,)) for cpu in cpus]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    best = min(d for cpu in cpus for _, d in calls[cpu])
    start = min(calls[cpu][0][0] for cpu in cpus)
    n_windows = int(seconds / window)
    series = []
    for cpu in cpus:
        rec = np.array(calls[cpu])
        slot = ((rec[:, 0] - start) / window).astype(int)
        series.append(np.array([np.median(rec[slot == w, 1]) / best if (slot == w).any()
                                else np.nan for w in range(n_windows)]))  # fmt: skip
    a, b = series
    ok = ~np.isnan(a) & ~np.isnan(b)
    slow_a, slow_b = a[ok] > SLOW, b[ok] > SLOW
    print(
        f"cores ({seconds:.0f} s, two pinned threads, cores {cpus}, {window * 1e3:.0f} ms windows):"
    )
    print(f"  correlation of the cores' window medians {np.corrcoef(a[ok], b[ok])[0, 1]:.2f}; "
          f"slow share core {cpus[0]} {slow_a.mean():.2f}, core {cpus[1]} {slow_b.mean():.2f}, "
          f"both {(slow_a & slow_b).mean():.2f}, neither {(~slow_a & ~slow_b).mean():.2f}")  # fmt: skip
    for cpu, s in zip(cpus, series):
        print(f"  core {cpu}: " + "".join("S" if x > SLOW else "." for x in s[:100]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--only", choices=("offsets", "runs", "cores"))
    opts = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    if opts.only in (None, "offsets"):
        offsets_test(opts.rounds)
    if opts.only in (None, "runs"):
        runs_test(opts.calls)
    if opts.only in (None, "cores"):
        cores_test(opts.seconds)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
