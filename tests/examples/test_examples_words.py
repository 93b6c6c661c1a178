"""examples/words runs end to end in quick mode on a small corpus made here.

A real espeak-ng corpus (the ``synth`` extra), a real training run (two epochs at
most, a one-minute budget), a real evaluation: the four WER rows, an ARPA file that
KenLM reads and scores as ctckit does, and the benchmark inputs (``--dump``).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "words"

pytestmark = pytest.mark.slow


def run(script: str, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE / script), *args],
        capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_words_example_quick(tmp_path: Path) -> None:
    pytest.importorskip("espeakng_loader")
    kenlm = pytest.importorskip("kenlm")
    from ctckit.data.synth import make_corpus
    from ctckit.lm import WordNGramLM

    root = tmp_path / "corpus"
    make_corpus(root, 16, 4, 4, seed=0, progress=False, workers=1)
    out = tmp_path / "run"
    log = run("train.py", "--data", str(root), "--out", str(out), "--quick")
    assert re.search(r"epoch 1: train loss \d+\.\d+  dev CER", log)
    assert (out / "best.pt").is_file()
    table = run("evaluate.py", "--data", str(root), "--checkpoint", str(out / "best.pt"),
                "--beam-width", "8", "--hotwords", "5", "--dump")  # fmt: skip
    rows = dict(re.findall(r"^\| ([A-Za-z +]+?) \| (\d+\.\d+) \|$", table, flags=re.M))
    assert set(rows) == {"greedy", "beam", "beam + word LM", "beam + word LM + hotwords"}
    assert all(float(v) >= 0.0 for v in rows.values())
    assert (out / "words_wer.md").read_text().count("| beam") == 3
    # ctckit writes the ARPA file; KenLM reads it and scores as ctckit does
    model = kenlm.Model(str(out / "words.arpa"))
    lm = WordNGramLM.from_arpa(out / "words.arpa")
    texts = sorted((root / "train" / "text").glob("*.txt"))[:5]
    for f in texts:
        sentence = f.read_text().strip()
        expected = lm.score(sentence)
        assert model.score(sentence, bos=True, eos=True) == pytest.approx(expected, abs=1e-4)
    with np.load(out / "test_posteriors.npz") as z:
        assert z["log_probs"].shape[0] == 4
        assert z["labels"][0] == ""
        assert z["labels"][1] == " "
    assert (out / "chars.arpa").is_file()
    assert kenlm.Model(str(out / "chars.arpa")).order == 6
