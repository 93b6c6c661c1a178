"""The training-runs guide (docs/guides/training_runs.py) runs and shows what its page says.

(Beside the other guides' tests in tests/docs/test_docs_guides.py in spirit; kept with the
training tests it documents.)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guides" / "training_runs.py"


def test_the_training_runs_guide() -> None:
    env = dict(os.environ, CTCKIT_GUIDE_QUICK="1", OMP_NUM_THREADS="1", PYTHONHASHSEED="0")
    proc = subprocess.run(
        [sys.executable, str(GUIDE)], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "files: best.pt last.pt metrics.csv run.lock" in out
    assert re.search(r"crashed; last\.pt: epoch 2, batch [1-9]", out)
    assert "resumed at epoch 2" in out
    assert "identical weights to the uninterrupted run: True" in out
    best = re.search(r"best\.pt: epoch (\d) .*the best epoch last\.pt records: (\d)", out)
    assert best is not None
    assert best[1] == best[2]
    assert "a fresh run into a used folder:\n    TMP/whole: already holds a training run" in out
    assert "into another folder" in out
    assert "another training run (pid PID on HOST) is writing into this folder" in out
    assert "left: ['run.lock']" in out
