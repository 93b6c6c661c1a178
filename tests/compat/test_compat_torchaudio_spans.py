"""ctckit.compat.torchaudio.merge_tokens / TokenSpan against a plain reference and against
torchaudio's own ``torchaudio.functional.merge_tokens``.

torchaudio needs its own torch (``/work/venvs/torchaudio``, outside the test
environment): the comparison runs it in a subprocess on the same inputs and skips when
that environment is absent.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from ctckit.compat.torchaudio import TokenSpan, merge_tokens
from ctckit.errors import InputTypeError, ShapeError

TORCHAUDIO_PYTHON = Path(os.environ.get("CTCKIT_TORCHAUDIO_PYTHON",
                                        "/work/venvs/torchaudio/bin/python"))  # fmt: skip


def reference_spans(tokens: list[int], scores: list[float], blank: int) -> list[tuple]:
    """Runs found frame by frame; each run's score the float64 mean of its frames."""
    out = []
    t = 0
    while t < len(tokens):
        end = t
        while end < len(tokens) and tokens[end] == tokens[t]:
            end += 1
        if tokens[t] != blank:
            out.append((tokens[t], t, end, sum(scores[t:end]) / (end - t)))
        t = end
    return out


@given(
    st.lists(st.tuples(st.integers(0, 3), st.floats(-20.0, 5.0)), max_size=40),
    st.integers(0, 3),
)
def test_merge_tokens_equals_a_frame_by_frame_reference(
    frames: list[tuple[int, float]], blank: int
) -> None:
    tokens = [t for t, _ in frames]
    scores = [s for _, s in frames]
    got = merge_tokens(torch.tensor(tokens, dtype=torch.int64),
                       torch.tensor(scores, dtype=torch.float64), blank=blank)  # fmt: skip
    want = reference_spans(tokens, scores, blank)
    assert [(s.token, s.start, s.end) for s in got] == [w[:3] for w in want]
    assert [s.score for s in got] == pytest.approx([w[3] for w in want], rel=1e-12, abs=1e-12)
    assert all(type(s) is TokenSpan and len(s) == s.end - s.start for s in got)
    assert all(type(s.token) is int and type(s.start) is int for s in got)


def test_merge_tokens_takes_arrays_and_lists() -> None:
    spans = merge_tokens(np.array([1, 1, 0, 2], np.int32), [-1.0, -3.0, -0.5, -0.25])
    assert spans == [TokenSpan(1, 0, 2, -2.0), TokenSpan(2, 3, 4, -0.25)]
    assert merge_tokens([], []) == []


def test_merge_tokens_refuses_bad_input() -> None:
    with pytest.raises(ShapeError, match="same length"):
        merge_tokens([1, 2], [0.0])
    with pytest.raises(ShapeError, match="1-D"):
        merge_tokens([[1, 2]], [[0.0, 0.0]])
    with pytest.raises(InputTypeError, match="integers"):
        merge_tokens([1.5, 2.0], [0.0, 0.0])
    with pytest.raises(InputTypeError, match="numbers"):
        merge_tokens([1, 2], ["a", "b"])
    with pytest.raises(ValueError, match="same length"):  # torchaudio's error type
        merge_tokens(torch.zeros(3, dtype=torch.int64), torch.zeros(2))


@pytest.mark.skipif(not TORCHAUDIO_PYTHON.is_file(), reason="no torchaudio environment")
def test_merge_tokens_equals_torchaudios() -> None:
    rng = np.random.default_rng(7)
    cases = []
    for size in (0, 1, 2, 5, 17, 60, 300):
        # peaky runs: a label held a few frames, blanks between
        tokens = np.repeat(rng.integers(0, 5, size), rng.integers(1, 4, size))[:size]
        scores = np.log(rng.uniform(0.05, 1.0, size)).astype(np.float32)
        cases.append({"tokens": tokens.tolist(), "scores": scores.tolist(), "blank": int(size % 3)})
    script = (
        "import json, sys, torch\n"
        "from torchaudio.functional import merge_tokens\n"
        "out = []\n"
        "for c in json.load(sys.stdin):\n"
        "    spans = merge_tokens(torch.tensor(c['tokens'], dtype=torch.int32),\n"
        "                         torch.tensor(c['scores'], dtype=torch.float32), c['blank'])\n"
        "    out.append([[s.token, s.start, s.end, s.score, len(s)] for s in spans])\n"
        "print(json.dumps(out))\n"
    )
    run = subprocess.run(
        [str(TORCHAUDIO_PYTHON), "-c", script], input=json.dumps(cases), capture_output=True,
        text=True, timeout=300, check=False,
    )  # fmt: skip
    if run.returncode != 0:
        pytest.skip(f"torchaudio did not run: {run.stderr.strip().splitlines()[-1:]}")
    theirs = json.loads(run.stdout)
    for case, want in zip(cases, theirs):
        tokens = torch.tensor(case["tokens"], dtype=torch.int32)
        got = merge_tokens(tokens, torch.tensor(case["scores"], dtype=torch.float32), case["blank"])
        assert [[s.token, s.start, s.end, len(s)] for s in got] == [
            [w[0], w[1], w[2], w[4]] for w in want
        ]
        # torchaudio averages in float32, ctckit in float64
        assert [s.score for s in got] == pytest.approx([w[3] for w in want], rel=1e-5, abs=1e-6)
