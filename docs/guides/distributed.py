"""Guide: distributed data-parallel training of the HW3P2 example with torchrun.

    python docs/guides/distributed.py             # print the commands
    python docs/guides/distributed.py --run       # also run 2 CPU processes on a tiny corpus
    python docs/guides/distributed.py --quick     # print only (the docs tests run this)

``--run`` synthesises a 32/8/4-utterance corpus (the ``synth`` extra) into a
temporary folder and trains the ``compact`` preset for one epoch with
``torchrun --nproc_per_node=2`` (gloo on the CPU); about a minute on 2 cores.
The example's own tests run a two-process torchrun on every CI run
(``tests/training/test_training_example.py``), so the docs tests only check
the commands here.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TRAIN = REPO / "examples" / "hw3p2" / "train.py"


def torchrun_command(nproc: int, *train_args: str) -> list[str]:
    """`torchrun --standalone --nproc_per_node=N examples/hw3p2/train.py ARGS` as argv.

    ``python -m torch.distributed.run`` is the module behind the ``torchrun``
    script; calling it through this interpreter keeps the same environment.
    """
    return [sys.executable, "-m", "torch.distributed.run", "--standalone",
            f"--nproc_per_node={nproc}", str(TRAIN), *train_args]  # fmt: skip


def show(cmd: list[str]) -> str:
    """The command as a reader would type it."""
    text = shlex.join(["torchrun", *cmd[3:]])
    return text.replace(str(REPO) + os.sep, "")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--quick", action="store_true", default=bool(os.environ.get("CTCKIT_GUIDE_QUICK"))
    )
    p.add_argument("--run", action="store_true", help="run 2 CPU processes on a tiny corpus")
    args = p.parse_args(argv)

    # 1. The commands: the same train.py, under torchrun. --batch-frames is per process.
    print("CPU, 2 processes (gloo), embedded corpus:")
    print("  " + show(torchrun_command(2)))
    print("one node, 4 GPUs (NCCL, one GPU per process), real HW3P2 data:")
    print("  " + show(torchrun_command(4, "--data", "ROOT", "--preset", "resnet34_04f",
                                       "--device", "cuda", "--batch-frames", "15000")))  # fmt: skip
    print("resume after a crash (same flags, every process restores its own RNG state):")
    print("  " + show(torchrun_command(2, "--resume", "runs/hw3p2/last.pt")))
    if args.quick or not args.run:
        return

    # 2. A real run: 2 processes on a tiny corpus, one epoch.
    from ctckit.data.synth import make_corpus
    from ctckit.training import load_checkpoint, read_history

    base = Path(tempfile.mkdtemp(prefix="ctckit-ddp-"))
    make_corpus(base / "corpus", 32, 8, 4, seed=0, workers=1, progress=False)
    cmd = torchrun_command(2, "--data", str(base / "corpus"), "--out", str(base / "run"),
                           "--epochs", "1", "--batch-frames", "4000", "--threads", "1",
                           "--beam-width", "4", "--device", "cpu", "--quiet")  # fmt: skip
    print("$", show(cmd).replace(str(base), "TMP"))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    print(proc.stdout.replace(str(base), "TMP").rstrip())
    if proc.returncode != 0:
        sys.exit(f"torchrun failed ({proc.returncode}):\n{proc.stderr}")
    rows = read_history(base / "run" / "metrics.csv")
    scored = int(rows[-1]["dev_utterances"])
    print(f"metrics.csv: {len(rows)} row(s); {scored} dev utterances scored, once each")
    print("last.pt world_size:", load_checkpoint(base / "run" / "last.pt").config["world_size"])


if __name__ == "__main__":
    main()
