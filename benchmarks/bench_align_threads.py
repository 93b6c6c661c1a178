#!/usr/bin/env python
"""forced_align on two threads against one, calls alternated, on the three sources of bench_align.py.

    python benchmarks/bench_align_threads.py --posteriors dev.npz --rounds 300
    python benchmarks/bench_align_threads.py --posteriors dev.npz --rounds 100 --block 4

Each round makes ``--block`` consecutive calls on one thread, then as many on two (the
order swapped every other round). With ``--block 1`` a two-thread call always follows
a one-thread call, so its worker has been idle for a call (a wake-up of tens of
microseconds); with larger blocks the worker is warm, as in a loop over a dataset,
and a block's first call is left out of the best. Printed per source: the best call
on each, their ratio, and the median over rounds of the ratio of the blocks' medians
(the machine's cores have slow phases of seconds, each its own:
``bench_align_phases.py --only cores``; a round's blocks share one). Wall time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_align as ba
from bench_align_posteriors import load

from ctckit.align import forced_align


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posteriors", help="bench_align_posteriors.py output (model rows)")
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--block", type=int, default=1)
    opts = parser.parse_args()
    sources = {"peaky": ba.synthetic("peaky"), "flat": ba.synthetic("flat")}
    if opts.posteriors:
        sources = {"model": ba.model_batch(load(opts.posteriors)), **sources}
    print(f"load average before: {os.getloadavg()[0]:.2f}; {opts.rounds} rounds, "
          f"blocks of {opts.block}")  # fmt: skip
    for name, data in sources.items():
        args = (data["lp"], data["tg"], data["lens"], data["tlens"])
        calls: dict[int, list[float]] = {1: [], 2: []}
        blocks: dict[int, list[float]] = {1: [], 2: []}
        for threads in (1, 2):
            forced_align(*args, num_threads=threads)
        for r in range(opts.rounds):
            for threads in (1, 2) if r % 2 == 0 else (2, 1):
                times = []
                for _ in range(opts.block):
                    t0 = time.perf_counter()
                    forced_align(*args, num_threads=threads)
                    times.append(time.perf_counter() - t0)
                calls[threads] += times[1:] if opts.block > 1 else times
                blocks[threads].append(float(np.median(times)))
        best = {n: min(v) * 1e3 for n, v in calls.items()}
        paired = np.median(np.array(blocks[1]) / np.array(blocks[2]))
        print(f"{name}: 1 thread best {best[1]:.2f} ms, 2 threads best {best[2]:.2f} ms: "
              f"{best[1] / best[2]:.2f}x best / {paired:.2f}x paired median")  # fmt: skip
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
