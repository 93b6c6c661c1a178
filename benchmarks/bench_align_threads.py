#!/usr/bin/env python
"""forced_align on two threads against one, calls alternated, on the three sources of bench_align.py.

    python benchmarks/bench_align_threads.py --posteriors dev.npz --rounds 300
    python benchmarks/bench_align_threads.py --posteriors dev.npz --rounds 100 --block 4
    python benchmarks/bench_align_threads.py --posteriors dev.npz --rounds 300 --ceiling

Each round makes ``--block`` consecutive calls on one thread, then as many on two (the
order swapped every other round). With ``--block 1`` a two-thread call always follows
a one-thread call, so its worker has been idle for a call (a wake-up of tens of
microseconds); with larger blocks the worker is warm, as in a loop over a dataset,
and a block's first call is left out of the best. Printed per source: the best call
on each, their ratio, and the median over rounds of the ratio of the blocks' medians
(the machine's cores have slow phases of seconds, each its own:
``bench_align_phases.py --only cores``; a round's blocks share one). Wall time.

``--ceiling`` adds, to each round, two one-thread calls at once on two threads of
this script, each on its own copy of the batch, starting together at a barrier and
timed in thread CPU time (so a wait for the GIL, which their serial parts hold in
turn, does not count; the slower thread counts): no hand-off and no shared
counter. Two threads sharing one call can beat one by at most twice the one's time
over this, what the machine allows two calls at once (its cores share caches,
memory and, on a virtual machine, the host): printed as the ceiling, and the
two-thread call's ratios as shares of it.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_align as ba
from bench_align_posteriors import load

from ctckit.align import forced_align


class _Pair:
    """A second thread that makes a one-thread call whenever the main thread does, both
    starting at a barrier: ``run(mine, theirs)`` makes both calls; their thread CPU
    times."""

    def __init__(self) -> None:
        self._start = threading.Barrier(2)
        self._end = threading.Barrier(2)
        self._args: tuple[Any, ...] = ()
        self._time = 0.0
        threading.Thread(target=self._loop, daemon=True).start()

    def _timed(self, args: tuple[Any, ...]) -> float:
        t0 = time.thread_time()
        forced_align(*args, num_threads=1)
        return time.thread_time() - t0

    def _loop(self) -> None:
        while True:
            self._start.wait()
            self._time = self._timed(self._args)
            self._end.wait()

    def run(self, mine: tuple[Any, ...], theirs: tuple[Any, ...]) -> tuple[float, float]:
        self._args = theirs
        self._start.wait()
        own = self._timed(mine)
        self._end.wait()
        return own, self._time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posteriors", help="bench_align_posteriors.py output (model rows)")
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--block", type=int, default=1)
    parser.add_argument("--ceiling", action="store_true",
                        help="also time two one-thread calls at once (see above)")  # fmt: skip
    opts = parser.parse_args()
    sources = {"peaky": ba.synthetic("peaky"), "flat": ba.synthetic("flat")}
    if opts.posteriors:
        sources = {"model": ba.model_batch(load(opts.posteriors)), **sources}
    print(f"load average before: {os.getloadavg()[0]:.2f}; {opts.rounds} rounds, "
          f"blocks of {opts.block}")  # fmt: skip
    pair = _Pair() if opts.ceiling else None
    for name, data in sources.items():
        args = (data["lp"], data["tg"], data["lens"], data["tlens"])
        copy = tuple(np.array(a, copy=True) for a in args)
        calls: dict[int, list[float]] = {1: [], 2: []}
        blocks: dict[int, list[float]] = {1: [], 2: []}
        both: list[float] = []  # the slower of two one-thread calls at once, per round
        for threads in (1, 2):
            forced_align(*args, num_threads=threads)
        for r in range(opts.rounds):
            if pair is not None:
                both.append(max(pair.run(args, copy)))
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
        if both:
            top = 2 * best[1] / (min(both) * 1e3)
            top_paired = np.median(2 * np.array(blocks[1]) / np.array(both))
            print(f"  ceiling: two one-thread calls at once, best {min(both) * 1e3:.2f} ms: "
                  f"{top:.2f}x best / {top_paired:.2f}x paired median; the two-thread call "
                  f"reaches {best[1] / best[2] / top:.0%} / {paired / top_paired:.0%} of it")  # fmt: skip
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
