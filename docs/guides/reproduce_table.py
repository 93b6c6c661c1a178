"""Guide: reproduce the HW3P2 seed write-up's experiment table with the presets.

    python docs/guides/reproduce_table.py                 # the presets and the commands
    python docs/guides/reproduce_table.py --run           # also compare 4 presets on a small corpus
    python docs/guides/reproduce_table.py --run --quick   # 1 preset, 1 epoch, tiny corpus

``--run`` synthesises a corpus (the ``synth`` extra) into a temporary folder
and runs ``examples/hw3p2/compare_presets.py`` on it. ``--quick`` (or
``CTCKIT_GUIDE_QUICK=1``) makes that run tiny: it checks the mechanics, not
the numbers.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from ctckit.nn.presets import PRESETS, build_preset

REPO = Path(__file__).resolve().parents[2]
COMPARE = REPO / "examples" / "hw3p2" / "compare_presets.py"

#: "Total epochs" of each row in the seed write-up (HW3P2 data, one GPU).
SEED_EPOCHS = {
    "base01": 50, "base02": 50, "base03": 50, "base04": 50, "resnet34_01": 50,
    "resnet34_02": 50, "resnet34_03": 95, "resnet34_04": 100, "resnet34_05": 50,
    "resnet50_01": 81, "resnet34_04f": 150, "resnet34_05f": 100, "resnet50_01f": 100,
    "resnet50_02f": 100, "resnet50_03f": 20,
}  # fmt: skip
#: The seed's optimiser and validation beam (Adam 2e-3, ReduceLROnPlateau on dev distance,
#: beam 5), with a batch budget for one large GPU.
SEED_FLAGS = "--lr 2e-3 --beam-width 5 --batch-frames 60000"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--quick", action="store_true", default=bool(os.environ.get("CTCKIT_GUIDE_QUICK"))
    )
    p.add_argument("--run", action="store_true", help="run compare_presets.py on a small corpus")
    args = p.parse_args(argv)

    # 1. Every row of the seed's tables is a preset; the f rows are the same models.
    print(f"{'preset':14} {'parameters':>11} {'seed epochs':>11} {'seed dev':>9}  same model as")
    for name, cfg in PRESETS.items():
        n = sum(p.numel() for p in build_preset(name).parameters())
        seed = "-" if cfg.seed_best_dev_distance is None else f"{cfg.seed_best_dev_distance:.2f}"
        print(f"{name:14} {n:>11,} {SEED_EPOCHS.get(name, '-'):>11} {seed:>9}  {cfg.same_as or ''}")

    # 2. One training command per row, on the real data (ROOT holds train/ dev/ test/).
    print("\ntraining commands (real HW3P2 data, a GPU):")
    for name in PRESETS:
        if name in SEED_EPOCHS:
            print(f"  python examples/hw3p2/train.py --data ROOT --preset {name} "
                  f"--epochs {SEED_EPOCHS[name]} {SEED_FLAGS} --out runs/{name}")  # fmt: skip

    # 3. Or all of them for the same number of epochs, tabulated beside the seed's numbers.
    print("\nside by side: python examples/hw3p2/compare_presets.py --epochs 5 -- --data ROOT")
    if not args.run:
        return

    # 4. A small comparison on the embedded corpus.
    from ctckit.data.synth import make_corpus

    base = Path(tempfile.mkdtemp(prefix="ctckit-presets-"))
    sizes, presets, epochs = ((32, 8, 0), ["base01"], 1) if args.quick else (
        (300, 60, 0), ["base01", "base03", "resnet34_04f", "compact"], 3)  # fmt: skip
    make_corpus(base / "corpus", *sizes, seed=0, workers=1, progress=False)
    cmd = [sys.executable, str(COMPARE), "--presets", *presets, "--epochs", str(epochs),
           "--out", str(base / "runs"), "--", "--data", str(base / "corpus"),
           "--batch-frames", "4000", "--beam-width", "4", "--threads", "1",
           "--device", "cpu"]  # fmt: skip
    print(
        "$",
        shlex.join(["python", *cmd[1:]]).replace(str(REPO) + os.sep, "").replace(str(base), "TMP"),
    )
    proc = subprocess.run(
        cmd, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1")
    )
    if proc.returncode != 0:
        sys.exit(f"compare_presets.py failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    table = (base / "runs" / "presets.md").read_text()
    print(table.rstrip())


if __name__ == "__main__":
    main()
