"""The alignment guide (docs/guides/alignment.py) runs in quick mode and prints what it says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guides" / "alignment.py"


def test_alignment_guide() -> None:
    env = dict(os.environ, CTCKIT_GUIDE_QUICK="1", OMP_NUM_THREADS="1", PYTHONHASHSEED="0")
    proc = subprocess.run([sys.executable, str(GUIDE)], capture_output=True, text=True, env=env,
                          timeout=240)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert re.search(r"24 dev utterances, \d+ labels", out)
    assert re.search(r"alignments \(24, \d+\)", out)
    pattern = (
        r"(plain spans|blank_penalty=20)\s+starts within 20 ms [\d.]+%, within 40 ms ([\d.]+)%"
    )
    share = {name: float(m) for name, m in re.findall(pattern, out)}
    uniform = float(re.search(r"uniform\s+starts within 40 ms ([\d.]+)%", out).group(1))
    # the simulated spikes come late: tiling the frames finds the true starts
    assert share["blank_penalty=20"] > 95 > share["plain spans"] > uniform
    rows = re.findall(r"^([A-Z]+)\s+(\d+)\s+(\d+)\s+(0\.\d+|1\.0+)$", out, re.M)
    assert len(rows) == 8
    assert rows[0][0] == "SIL"
    assert "proven exact: True, same path as forced_align: True" in out
    assert re.search(
        r"wildcard: '\*' spans frames \d+-\d+, then [A-Z]+ at frame \d+ \((0|10|20|30|40) ms", out
    )
    assert re.search(r"segments: 24, start error median \d+ ms", out)
