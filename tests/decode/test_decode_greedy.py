"""Tests of greedy_decode against a per-frame loop."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from ctckit.decode import greedy_decode
from ctckit.errors import CTCKitError, InputTypeError, InputValueError, ShapeError


@given(
    seed=st.integers(0, 2**32 - 1),
    batch=st.integers(1, 5),
    time=st.integers(0, 30),
    vocab=st.integers(1, 6),
    blank_pos=st.integers(0, 5),
    peaky=st.booleans(),
    use_torch=st.booleans(),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_matches_per_frame_loop_and_ignores_padding(
    refs: dict[str, Any],
    seed: int,
    batch: int,
    time: int,
    vocab: int,
    blank_pos: int,
    peaky: bool,
    use_torch: bool,
    dtype: type,
) -> None:
    blank = blank_pos % vocab
    rng = np.random.default_rng(seed)
    x = np.stack(
        [refs["random_log_probs"](seed + b, time, vocab, peaky=peaky) for b in range(batch)]
    ).astype(dtype)
    lengths = rng.integers(0, time + 1, size=batch)
    padded = x.copy()
    for b, length in enumerate(lengths):
        padded[b, length:] = np.nan  # never read
    inp: Any = torch.from_numpy(padded) if use_torch else padded
    got = greedy_decode(inp, torch.from_numpy(lengths) if use_torch else lengths, blank=blank)
    assert len(got) == batch
    for b, length in enumerate(lengths):
        want = refs["naive_greedy"](x[b, :length], blank)
        assert got[b] == want
        assert all(type(tok) is int for tok in got[b])
        # no blanks; adjacent equal labels only where the best path has a blank between them
        assert blank not in got[b]
        path = x[b, :length].argmax(axis=1).tolist()
        runs = [tok for i, tok in enumerate(path) if i == 0 or tok != path[i - 1]]
        for i in range(len(runs) - 1):
            assert runs[i] != runs[i + 1]
        assert [tok for tok in runs if tok != blank] == got[b]
    # spans=True: the same tokens, each with its run of argmax frames and its peak posterior
    spans = greedy_decode(inp, lengths, blank=blank, spans=True)
    assert len(spans) == batch
    for b, length in enumerate(lengths):
        assert type(spans[b]) is tuple
        assert [s.token for s in spans[b]] == got[b]
        path = x[b, :length].argmax(axis=1).tolist()
        want = []  # (token, start, end, confidence) of each non-blank run, by a frame loop
        for t, tok in enumerate(path):
            if tok == blank:
                continue
            value = float(x[b, t, tok])
            if t > 0 and path[t - 1] == tok:  # the run goes on
                start, peak = want[-1][1], want[-1][3]
                want[-1] = (tok, start, t + 1, max(peak, value))
            else:
                want.append((tok, t, t + 1, value))
        assert [(s.token, s.start, s.end) for s in spans[b]] == [w[:3] for w in want]
        assert [s.confidence for s in spans[b]] == pytest.approx(
            [math.exp(w[3]) for w in want], rel=1e-6
        )
        assert all(type(s.start) is int and type(s.end) is int for s in spans[b])


def test_single_utterance_gives_one_list() -> None:
    lp = np.log(np.eye(3)[[1, 0, 1]] * 0.9 + 0.05)
    assert greedy_decode(lp) == [[1, 1]]  # a, blank, a -> two a's
    assert greedy_decode(lp, lengths=1) == [[1]]
    assert greedy_decode(torch.from_numpy(lp), lengths=torch.tensor([2])) == [[1]]


def test_all_blank_and_empty() -> None:
    lp = np.log(np.eye(3)[[0, 0, 0, 0]] * 0.9 + 0.05)
    assert greedy_decode(lp) == [[]]
    assert greedy_decode(np.zeros((2, 0, 3))) == [[], []]
    assert greedy_decode(np.zeros((0, 5, 3))) == []


def test_minus_inf_is_allowed_and_other_blank() -> None:
    lp = np.full((4, 3), -np.inf)
    lp[np.arange(4), [2, 2, 1, 0]] = 0.0
    assert greedy_decode(lp) == [[2, 1]]
    assert greedy_decode(lp, blank=2) == [[1, 0]]


@pytest.mark.parametrize(
    ("log_probs", "lengths", "error", "match"),
    [
        (np.zeros((2, 3, 4, 5)), None, ShapeError, r"\(2, 3, 4, 5\)"),
        (np.zeros(3), None, ShapeError, "got"),
        (np.zeros((2, 3), dtype=np.float16), None, InputTypeError, "float16"),
        (torch.zeros((2, 3), dtype=torch.bfloat16), None, InputTypeError, "bfloat16"),
        (np.zeros((2, 3), dtype=np.int32), None, InputTypeError, "int32"),
        ([[0.0, 0.0]], None, InputTypeError, "list"),
        (np.zeros((2, 3, 4)), [3, 4], InputValueError, r"lengths\[1\]=4"),
        (np.zeros((2, 3, 4)), torch.tensor([3, 4]), InputValueError, r"lengths\[1\]=4"),
        (np.zeros((2, 3, 4)), [[3, 3]], ShapeError, r"\(2,\)"),
        (np.zeros((2, 3, 4)), np.array([1.0, 2.0]), InputTypeError, "float"),
        (np.array([[0.0, 0.0], [np.nan, -1.0]]), None, InputValueError, r"log_probs\[1\]"),
        (torch.tensor([[[0.0, 0.0]], [[-np.inf, np.inf]]]), None, InputValueError, r"\[1, 0\]"),
    ],
)
def test_bad_input(log_probs: Any, lengths: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match) as info:
        greedy_decode(log_probs, lengths)
    assert isinstance(info.value, CTCKitError)


@pytest.mark.parametrize(("blank", "error"), [(3, InputValueError), (-1, InputValueError),
                                              (1.0, InputTypeError)])  # fmt: skip
def test_bad_blank(blank: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="blank"):
        greedy_decode(np.zeros((2, 3)), blank=blank)


def test_strided_input_takes_the_general_path(refs: dict[str, Any]) -> None:
    lp = np.stack([refs["random_log_probs"](s, 9, 4, peaky=True) for s in range(3)])
    strided = np.ascontiguousarray(lp.transpose(1, 0, 2)).transpose(1, 0, 2)
    assert not strided.flags.c_contiguous
    assert greedy_decode(strided) == greedy_decode(lp)
    strided[1, 4, 2] = np.nan
    with pytest.raises(InputValueError, match=r"\[1, 4\]"):
        greedy_decode(strided)
