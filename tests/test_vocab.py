from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctckit import Vocabulary, hw3p2_vocabulary
from ctckit.errors import InputValueError
from ctckit.vocab import HW3P2_CHARS, HW3P2_LABELS, strip_sentence_markers

PHONEMES = HW3P2_LABELS[1:]


def test_hw3p2_inventory_is_exactly_the_design() -> None:
    v = hw3p2_vocabulary()
    assert len(v) == 41
    assert v.blank == 0
    assert v.labels[0] == ""
    assert v.chars is not None
    assert v.chars[0] == " "
    assert " ".join(v.labels[1:]) == (
        "SIL AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY "
        "P R S SH T TH UH UW V W Y Z ZH"
    )
    assert "".join(v.chars) == " .aAhowybcdDerEfgHiIjklmnNOYpRsStTuUvW?zZ"
    assert len(set(HW3P2_CHARS)) == 41


@given(st.lists(st.sampled_from(PHONEMES), max_size=50))
def test_symbol_id_char_round_trips(symbols: list[str]) -> None:
    v = hw3p2_vocabulary()
    ids = v.encode(symbols)
    assert v.decode(ids) == symbols
    text = v.to_string(ids)
    assert len(text) == len(symbols)
    assert v.from_string(text) == ids


def test_sentence_markers_are_stripped_only_at_the_ends() -> None:
    v = hw3p2_vocabulary()
    assert v.encode(["<sos>", "AA", "B", "<eos>"]) == [2, 8]
    assert strip_sentence_markers(["<sos>", "<eos>"]) == []
    with pytest.raises(InputValueError, match=r"'<sos>' at position 1"):
        v.encode(["AA", "<sos>", "B"])
    with pytest.raises(InputValueError, match="unknown symbol '<sos>'"):
        v.encode(["<sos>", "AA"], strip_markers=False)


def test_unknown_symbol_names_symbol_and_position() -> None:
    with pytest.raises(InputValueError, match=r"unknown symbol 'XX' at position 2"):
        hw3p2_vocabulary().encode(["AA", "B", "XX"])


def test_blank_is_never_a_target() -> None:
    with pytest.raises(InputValueError, match="blank symbol"):
        hw3p2_vocabulary().encode(["AA", ""])


def test_out_of_range_ids_and_unknown_chars() -> None:
    v = hw3p2_vocabulary()
    with pytest.raises(InputValueError, match=r"id 41 at position 1"):
        v.decode([3, 41])
    with pytest.raises(InputValueError, match=r"id -1 at position 0"):
        v.to_string([-1])
    with pytest.raises(InputValueError, match=r"unknown character '#' at position 1"):
        v.from_string("a#")


def test_construction_errors() -> None:
    with pytest.raises(InputValueError, match=r"duplicate label 'a' at positions 1 and 2"):
        Vocabulary(["-", "a", "a"])
    with pytest.raises(InputValueError, match="duplicate char"):
        Vocabulary(["-", "aa", "bb"], chars=["-", "x", "x"])
    with pytest.raises(InputValueError, match="one entry per label"):
        Vocabulary(["-", "aa"], chars=["-"])
    with pytest.raises(InputValueError, match="one character"):
        Vocabulary(["-", "aa"], chars=["-", "xy"])
    with pytest.raises(InputValueError, match="blank must be in"):
        Vocabulary(["-", "a"], blank=2)
    with pytest.raises(InputValueError, match="at least one label"):
        Vocabulary(["-"])


def test_vocabulary_without_chars() -> None:
    v = Vocabulary(["<b>", "hello", "world"])
    assert v.chars is None
    assert v.encode(["world", "hello"]) == [2, 1]
    with pytest.raises(InputValueError, match="no one-character map"):
        v.to_string([1])


def test_equality_and_custom_blank() -> None:
    v = Vocabulary(["a", "b", "-"], blank=2)
    assert v == Vocabulary(["a", "b", "-"], blank=2)
    assert v != Vocabulary(["a", "b", "-"], blank=0)
    assert hash(v) == hash(Vocabulary(["a", "b", "-"], blank=2))
    assert v.encode(["a", "b"]) == [0, 1]
    assert v.index("-") == 2
    assert "blank=2" in repr(v)
