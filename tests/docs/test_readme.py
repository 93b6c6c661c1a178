"""The README's tour runs as written, and its two set-up commands stay in step with CI."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_the_tour_runs_and_prints_a_distance(tmp_path: Path) -> None:
    tour = re.search(r"```python\n(.*?)```", README, re.S)
    assert tour is not None
    script = tmp_path / "tour.py"
    script.write_text(tour.group(1))
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, check=True
    )
    assert float(out.stdout.strip()) >= 0.0


def test_exactly_two_setup_commands_and_ci_runs_the_second() -> None:
    commands = re.findall(r"```bash\n(python3 -m venv .*?)\n```", README)
    assert len(commands) == 2
    install_first = "pip install torch==2.13.0 && pip install -e"
    assert all(install_first in c for c in commands)
    assert commands[0].endswith(
        "python examples/hw3p2/train.py && python examples/hw3p2/predict.py"
    )
    assert "pytest" in commands[1]
    assert "sphinx-build -W --keep-going" in commands[1]
    # .ci/run extracts its command from the README with this awk program.
    awk = re.search(r"cmd=\$\(awk '(.*?)' README.md\)", (ROOT / ".ci" / "run").read_text())
    assert awk is not None
    extracted = subprocess.run(
        ["awk", awk.group(1), "README.md"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert extracted.stdout.strip() == commands[1]
