#!/usr/bin/env python
"""Train several presets for the same number of epochs and tabulate them beside the seed's numbers.

    python examples/hw3p2/compare_presets.py --epochs 5     # every seed preset + compact
    python examples/hw3p2/compare_presets.py --presets base01 base03 resnet34_04f --epochs 5

Each preset runs ``train.py`` in a fresh process (same data, seed, epochs and
batch budget) into ``OUT/<preset>/``; the Markdown table is printed and
written to ``OUT/presets.md``. A preset folder that holds a run is refused
(as train.py refuses it) unless ``--overwrite`` replaces it. Extra arguments
after ``--`` go to train.py.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from ctckit.files import atomic_open
from ctckit.nn.presets import PRESETS

TRAIN = Path(__file__).resolve().parent / "train.py"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--presets", nargs="+", default=[n for n, c in PRESETS.items() if c.same_as is None]
    )
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--out", type=Path, default=Path("runs/hw3p2-presets"))
    p.add_argument("--overwrite", action="store_true", help="replace earlier runs in OUT")
    p.add_argument("train_args", nargs="*", help="passed to train.py (after --)")
    args = p.parse_args(argv)
    rows = []
    for name in args.presets:
        out = args.out / name
        cmd = [sys.executable, str(TRAIN), "--preset", name, "--epochs", str(args.epochs),
               "--out", str(out), "--max-minutes", "inf", "--quiet", *args.train_args]  # fmt: skip
        if args.overwrite:
            cmd.append("--overwrite")
        print("+", " ".join(cmd), flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run(cmd)
        wall = time.perf_counter() - t0
        summary = json.loads((out / "summary.json").read_text()) if proc.returncode == 0 else {}
        rows.append((name, summary, wall))
    lines = [
        "| preset | parameters | epochs | best dev distance (greedy) | beam | wall (s) "
        "| seed's best dev distance (real HW3P2) |",
        "|:--|--:|--:|--:|--:|--:|--:|",
    ]
    for name, s, wall in rows:
        seed = PRESETS[name].seed_best_dev_distance
        lines.append(
            f"| {name} | {s.get('parameters', 0) / 1e6:.2f} M | {s.get('epochs', '-')} "
            f"| {s.get('best_dev_distance_greedy', float('nan')):.2f} "
            f"| {s.get('best_dev_distance_beam', float('nan')):.2f} | {wall:.0f} "
            f"| {'-' if seed is None else f'{seed:.2f}'} |"
        )
    table = "\n".join(lines) + "\n"
    print(table)
    with atomic_open(args.out / "presets.md", "w") as fh:
        fh.write(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
