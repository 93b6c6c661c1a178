#!/usr/bin/env python
"""Paired A/B of two versions of the aligner's kernel module in one process, call by call.

    git show REV:src/ctckit/align/_viterbi.py > /tmp/viterbi_a.py
    python benchmarks/bench_align_ab.py /tmp/viterbi_a.py --posteriors dev.npz --rounds 200

Version A is the given copy of ``ctckit/align/_viterbi.py`` (loaded twice, as A and
A2: an A/A control), B the installed one, or with ``--new FILE`` a copy of that file
compiled as A's copies are (the installed module, compiled and cached apart, ran
2-6% faster than a copy of the same code in one check: pass the working file as
``--new`` to compare like with like). Each round calls ``viterbi_many`` (one
thread, the 32-row batches of ``bench_align.py``) once per version, in a rotated
order, and takes B/A and A2/A within the round. This machine can run 1.5x slower
for seconds at a time (``bench_align_phases.py``); a round lasts milliseconds, so
its ratios are taken within one phase, and their median is steady where minima
of separate processes are not (those may all fall in slow phases). The A/A
ratio says how far two copies of the same code differ (code placement, the
harness). Thread CPU time.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_align as ba
from bench_align_posteriors import load

from ctckit.align import _viterbi
from ctckit.align._common import Options


def _module(name: str, path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _kernel_args(data: dict) -> tuple:
    lp = np.ascontiguousarray(data["lp"])
    batch, frames, vocab = lp.shape
    return (lp, np.asarray(data["lens"], np.int64), np.ascontiguousarray(data["tg"], np.int64),
            np.asarray(data["tlens"], np.int64), np.arange(batch, dtype=np.int64),
            Options(0, vocab, 0.0), np.empty((batch, frames), np.int64),
            np.empty((batch, frames), lp.dtype), np.zeros(batch, np.int64),
            np.zeros((batch, 2), np.int64), np.zeros(batch, np.bool_))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", help="a copy of ctckit/align/_viterbi.py (version A)")
    parser.add_argument("--posteriors", help="bench_align_posteriors.py output (model rows)")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--new", help="version B as a copy of this file (default: installed)")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        copies = []
        for name in ("viterbi_a", "viterbi_a2"):  # two files: two compiled copies
            path = os.path.join(tmp, name + ".py")
            shutil.copy(opts.old, path)
            copies.append(_module(name, path))
        new: ModuleType = _viterbi
        if opts.new:
            path = os.path.join(tmp, "viterbi_b.py")
            shutil.copy(opts.new, path)
            new = _module("viterbi_b", path)
        versions = {"A": copies[0], "A2": copies[1], "B": new}
        sources = {"peaky": ba.synthetic("peaky"), "flat": ba.synthetic("flat")}
        if opts.posteriors:
            sources = {"model": ba.model_batch(load(opts.posteriors)), **sources}
        print(f"load average before: {os.getloadavg()[0]:.2f}; {opts.rounds} rounds")
        names = list(versions)
        for source, data in sources.items():
            args = _kernel_args(data)
            for module in versions.values():
                module.viterbi_many(*args, module.AUTO)
            times: dict[str, list[float]] = {name: [] for name in names}
            for r in range(opts.rounds):
                for name in names[r % 3 :] + names[: r % 3]:
                    module = versions[name]
                    t0 = time.thread_time()
                    module.viterbi_many(*args, module.AUTO)
                    times[name].append(time.thread_time() - t0)
            ms = {name: np.array(v) * 1e3 for name, v in times.items()}
            print(f"{source}: best A {ms['A'].min():.2f} / A2 {ms['A2'].min():.2f} / B "
                  f"{ms['B'].min():.2f} ms; median per-round B/A {np.median(ms['B'] / ms['A']):.3f}, "
                  f"A2/A {np.median(ms['A2'] / ms['A']):.3f}")  # fmt: skip
        print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
