"""Every guide script in docs/guides runs in quick mode and prints what its page says.

Each script runs in a fresh interpreter (as a reader would run it) with
``CTCKIT_GUIDE_QUICK=1``; the assertions check the facts the guide pages
explain (exact lengths, decoded strings, files written, commands), not
timings.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

GUIDES = Path(__file__).resolve().parents[2] / "docs" / "guides"


def run_guide(name: str, *args: str, timeout: float = 240) -> str:
    env = dict(os.environ, CTCKIT_GUIDE_QUICK="1", OMP_NUM_THREADS="1", PYTHONHASHSEED="0")
    proc = subprocess.run(
        [sys.executable, str(GUIDES / name), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    assert proc.returncode == 0, f"{name} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_every_guide_script_has_a_page_that_includes_it() -> None:
    scripts = sorted(p.stem for p in GUIDES.glob("*.py"))
    assert scripts, "no guide scripts"
    index = (GUIDES / "index.md").read_text()
    for stem in scripts:
        page = GUIDES / f"{stem}.md"
        assert page.is_file(), f"{stem}.py has no page {page.name}"
        assert f"{{literalinclude}} {stem}.py" in page.read_text()
        assert stem in index, f"guides/index.md does not list {stem}"


def test_build_model() -> None:
    out = run_guide("build_model.py")
    assert "features (3, 60, 13) -> log_probs (3, 30, 41)" in out
    assert "out_lengths [30, 20, 10]" in out
    assert "out_lengths == (L - 1) // 2 + 1: True" in out
    assert "model.output_lengths agrees: True" in out
    assert "rows sum to 1: True" in out
    assert "stride 4 out_lengths: [15, 10, 5]" in out
    assert "InputValueError: 2 target(s) need more frames" in out
    assert re.search(r"zero_infinity losses: \[\d+\.\d+, 0\.0, 0\.0\]", out)
    assert "resnet34_04f: 7,131,689 parameters" in out
    assert "frames 1000 -> [500]" in out
    assert "compact for 40 features and 30 classes: 30 classes" in out


def test_own_data_learns() -> None:
    out = run_guide("own_data.py")
    assert "Vocabulary(8 labels, blank=0) -> dms" in out
    assert "train: 96 utterances" in out
    assert re.search(r"features \(\d+, 24\)", out)
    first, last = (float(x) for x in re.findall(r"train loss (\d+\.\d+)", out)[::4][:2])
    assert last < first / 2, out  # the toy task is learnable in a few epochs
    final = float(re.findall(r"dev distance (\d+\.\d+)", out)[-1])
    assert final < 2.0, out
    assert len(re.findall(r"decoded '[_drmfslt]*'  reference '[drmfslt]+'", out)) == 3


def test_decoding() -> None:
    out = run_guide("decoding.py")
    assert "150 train and 30 dev transcripts" in out
    m = re.search(r"greedy\s+dev distance (\d+\.\d+)", out)
    assert m is not None
    greedy = float(m.group(1))
    fused = [float(x) for x in re.findall(r"\+ LM .* dev distance (\d+\.\d+)", out)]
    assert len(fused) == 3
    assert min(fused) < greedy  # the LM repairs simulated confusions
    assert len(re.findall(r"acoustic\s+-\d+\.\d+\n", out)) == 3  # a 3-best list
    stamps = re.search(r"timestamps \(s\): (.*)\ntrue starts \(s\): (.*)\n", out)
    assert stamps is not None
    # peaky simulated posteriors: each token is found at its true start, 20 ms frames
    found = [float(t) for t in re.findall(r"'[A-Z]+', (\d+\.\d+)", stamps.group(1))]
    assert found == [float(t) for t in re.findall(r"\d+\.\d+", stamps.group(2))]
    assert "smoothing='arpa'" in out
    m = re.search(
        r"score (-\d+\.\d+) = acoustic (-\d+\.\d+) "
        r"\+ 1\.0 \* lm (-\d+\.\d+) \+ 1\.0 \* (\d+) tokens",
        out,
    )
    assert m is not None
    score, ac, lm, n = float(m[1]), float(m[2]), float(m[3]), int(m[4])
    assert score == pytest.approx(ac + lm + n, abs=2e-3)


def test_streaming_spans() -> None:
    out = run_guide("streaming_spans.py")
    assert "24 dev utterances" in out
    assert "spans[k].start == frames[k]: True" in out
    rows = re.findall(r"^[A-Z]+\s+(\d+)-(\d+)\s+(\d+)-(\d+)\s+([01]\.\d{3})$", out, re.M)
    assert len(rows) == 8
    for start, end, ms_start, ms_end, conf in rows:
        assert int(start) < int(end)
        assert (int(ms_start), int(ms_end)) == (20 * int(start), 20 * int(end))
        assert 0.0 <= float(conf) <= 1.0
    shares = [float(x) for x in re.findall(r"tokens, (\d+\.\d)% correct$", out, re.M)]
    assert len(shares) == 3
    assert shares[2] > shares[0]  # confident tokens are right more often
    assert re.search(r"greedy spans of utterance 0: \d+ tokens", out)
    assert len(re.findall(r"after +\d+ frames: \d+ tokens", out)) == 2
    assert "finish() == decode(): True; spans equal: True" in out


def test_synth_corpus() -> None:
    out = run_guide("synth_corpus.py")
    assert "make_corpus: 12 train, 4 dev, 4 test; wrote 20" in out
    assert re.search(r"train/mfcc/\s+12 \.npy files", out)
    assert re.search(r"test_transcripts/\s+4 \.npy files", out)
    assert re.search(r"manifest\.csv\s+20 rows", out)
    assert re.search(r"float32 \(\d+, 13\)", out)
    assert "<sos> SIL" in out
    assert "PhonemeDataset: 12 utterances" in out
    assert "identical train/mfcc files: 12 of 12" in out
    assert "grown to 14 train: wrote 2 new utterances" in out


def test_distributed_commands() -> None:
    out = run_guide("distributed.py")
    assert "torchrun --standalone --nproc_per_node=2 examples/hw3p2/train.py\n" in out
    assert "--nproc_per_node=4 examples/hw3p2/train.py --data ROOT --preset resnet34_04f" in out
    assert "--resume runs/hw3p2/last.pt" in out


def test_reproduce_table_runs_compare_presets() -> None:
    out = run_guide("reproduce_table.py", "--run")
    assert re.search(r"resnet34_04f\s+7,131,689\s+150\s+5\.49\s+resnet34_04", out)
    flags = "--lr 2e-3 --beam-width 5 --batch-frames 60000"
    assert f"--preset resnet50_03f --epochs 20 {flags} --out runs/resnet50_03f" in out
    assert re.search(r"\| base01 \| 0\.29 M \| 1 \| \d+\.\d+ \| \d+\.\d+ \| \d+ \| 33\.32 \|", out)


def test_words() -> None:
    out = run_guide("words.py", timeout=900)
    assert "150 train and 30 dev texts" in out
    wers = {
        name: float(v) for name, v in re.findall(r"^(.+?)\s+dev WER (\d+\.\d+)", out, flags=re.M)
    }
    assert wers["beam + word LM"] < wers["beam, no LM"], wers  # the LM repairs letters
    assert "same texts as WordBeamSearchDecoder: True" in out
    assert re.search(r"word spans of the first utterance: \[\('\w+', \d+, \d+\)", out)
    for name in ("lexicon, no LM", "lexicon + word LM"):
        line = rf"{re.escape(name)}\s+dev WER \d\.\d+; every word in the lexicon: True"
        assert re.search(line, out), name
    assert wers["lexicon + word LM"] < wers["lexicon, no LM"], wers
    assert re.search(r"torchaudio front door: dev WER \d\.\d+", out)
