"""Tests for ctckit.lm.arpa and its Numba line readers and writers: numbers, layout, markers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctckit.errors import DataError
from ctckit.lm import NGramLM, WordNGramLM
from ctckit.lm.arpa import parse_arpa


def _parse(text: str) -> tuple[float, int]:
    from ctckit.lm._arpa_kernels import parse_float

    buf = np.frombuffer(text.encode(), dtype=np.uint8)
    value, status = parse_float(buf, 0, buf.shape[0])
    return float(value), int(status)


@given(st.floats(min_value=-1e300, max_value=1e300, allow_nan=False))
def test_numbers_parse_as_python_does(x: float) -> None:
    """To 1e-15 relative (one rounding), from subnormals to 1e300 (log10 values in ARPA
    files are far inside)."""
    for text in (repr(x), f"{x:.6f}", f"{x:e}", f"{x:.3E}", f"{x:.12g}"):
        value, status = _parse(text)
        assert status == 0, text
        assert value == pytest.approx(float(text), rel=1e-15, abs=1e-300), text


@pytest.mark.parametrize(
    ("text", "value", "status"),
    [
        ("-inf", -math.inf, 0),
        ("-Infinity", -math.inf, 0),
        ("inf", math.inf, 2),
        ("nan", math.nan, 2),
        ("-0", -0.0, 0),
        ("+.5", 0.5, 0),
        ("-3.", -3.0, 0),
        ("1e400", math.inf, 2),
        ("-1e-400", -0.0, 0),
        ("1e", 0.0, 1),
        ("-", 0.0, 1),
        (".", 0.0, 1),
        ("1.2.3", 0.0, 1),
        ("0x10", 0.0, 1),
        ("infx", 0.0, 1),
        ("00000000000000000000001.5", 1.5, 0),
        ("123456789012345678901234", 1.2345678901234568e23, 0),
    ],
)
def test_number_edge_cases(text: str, value: float, status: int) -> None:
    got, got_status = _parse(text)
    assert got_status == status
    if status == 0:
        assert got == pytest.approx(value, rel=1e-15)
        assert math.copysign(1.0, got) == math.copysign(1.0, value)


@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False))
def test_written_values_read_back_to_nine_digits(x: float) -> None:
    from ctckit.lm._arpa_kernels import put_float

    out = np.zeros(64, dtype=np.uint8)
    end = put_float(out, 0, x)
    text = out[:end].tobytes().decode()
    assert float(text) == pytest.approx(x, rel=5e-9, abs=1e-300), text
    assert _parse(text) == (pytest.approx(float(text), rel=1e-15, abs=1e-300), 0)
    assert len(text) <= 17


LAYOUT = (
    "made by hand\r\n\\data\\\r\nngram 1=4\r\n ngram 2=2 \r\n\r\n\\1-grams:\r\n"
    "-99 <s>  -2.5e-1\r\n-4e-1\thi\t-1E-1\r\n-.5   yo\r\n-inf </s>\r\n\r\n"
    "\\2-grams:\r\n  -0.2\t<s>   hi\r\n-0.3 hi yo\r\n\r\n\\end\\\r\n"
)


def test_layout_spaces_crlf_and_number_forms(tmp_path: Path) -> None:
    path = tmp_path / "layout.arpa"
    path.write_bytes(LAYOUT.encode())
    arpa = parse_arpa(path)
    assert arpa.words() == ["<s>", "hi", "yo", "</s>"]
    assert arpa.uni_prob.tolist() == [-99.0, -0.4, -0.5, -math.inf]
    assert arpa.uni_backoff.tolist() == [-0.25, -0.1, 0.0, 0.0]
    assert arpa.rows[0].tolist() == [[0, 1], [1, 2]]
    assert (arpa.bos, arpa.eos, arpa.unk) == (0, 3, -1)
    lm = WordNGramLM.from_arpa(path)
    assert lm.score("hi yo", eos=False) == pytest.approx(-0.2 - 0.3)
    assert lm.score("hi") == -math.inf  # </s> has probability 0 here
    token = NGramLM.from_arpa(path, {"hi": 1, "yo": 2}, vocab_size=3)
    assert token.log_prob([1, 2]) == -math.inf


def test_errors_name_the_line_of_the_entry_in_a_big_section(tmp_path: Path) -> None:
    lines = [f"-1.0\tw{i}" for i in range(5000)]
    lines[3210] = "-1.0\tw3210\t-0.5\textra"
    text = (
        "\\data\\\nngram 1=5002\n\n\\1-grams:\n-1\t<s>\n-1\t</s>\n"
        + "\n".join(lines)
        + "\n\n\\end\\\n"
    )
    path = tmp_path / "big.arpa"
    path.write_text(text)
    with pytest.raises(DataError, match=r"line 3217: a 1-gram line needs .* got 4 fields"):
        parse_arpa(path)


def test_utf8_words_and_a_non_utf8_file(tmp_path: Path) -> None:
    lm = WordNGramLM.fit(["naïve café", "café crème"], order=2)
    lm.to_arpa(tmp_path / "u.arpa")
    assert "café" in parse_arpa(tmp_path / "u.arpa").words()
    raw = (tmp_path / "u.arpa").read_bytes().replace("café".encode(), "caf\xe9".encode("latin-1"))
    (tmp_path / "latin1.arpa").write_bytes(raw)
    with pytest.raises(DataError, match="not valid UTF-8"):
        WordNGramLM.from_arpa(tmp_path / "latin1.arpa")
