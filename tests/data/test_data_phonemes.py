"""Tests of the espeak-ng -> HW3P2 phoneme table (ctckit.data._phonemes)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from ctckit.data._phonemes import ESPEAK_TO_ARPABET, UnmappedPhonemeError, to_arpabet
from ctckit.data._text import VOCABULARY as WORDS
from ctckit.errors import InputValueError
from ctckit.vocab import HW3P2_LABELS

_TYPE_STRESS, _TYPE_VIRTUAL, _TYPE_DELETED, _TYPE_INVALID = 1, 9, 14, 15


def _phoneme_tables(data: Path) -> dict[str, list[tuple[str, int]]]:
    """Parse espeak-ng's compiled ``phontab``: table name -> [(mnemonic, type)]."""
    raw = (data / "phontab").read_bytes()
    (n_tables,) = struct.unpack_from("<i", raw, 0)
    offset, tables = 4, {}
    for _ in range(n_tables):
        n_phonemes = raw[offset]
        offset += 4
        name = raw[offset : offset + 32].split(b"\0")[0].decode()
        offset += 32
        entries = []
        for _ in range(n_phonemes):
            mnemonic, _flags, _program, _code, kind = struct.unpack_from("<IIHBB", raw, offset)
            offset += 16  # sizeof(PHONEME_TAB)
            text = mnemonic.to_bytes(4, "little").split(b"\0")[0].decode("latin-1")
            entries.append((text, kind))
        tables[name] = entries
    assert offset == len(raw)
    return tables


def test_every_symbol_is_hw3p2() -> None:
    symbols = set(HW3P2_LABELS[1:])
    for mnemonic, mapped in ESPEAK_TO_ARPABET.items():
        assert set(mapped) <= symbols, mnemonic
        assert len(mapped) <= 2
    # Every HW3P2 symbol can be produced.
    produced = {s for mapped in ESPEAK_TO_ARPABET.values() for s in mapped}
    assert produced == symbols


def test_stress_marks_are_stripped() -> None:
    assert to_arpabet("'aI") == to_arpabet(",aI") == to_arpabet("aI") == ("AY",)
    assert to_arpabet("%I2") == ("IH",)
    assert to_arpabet("_:") == ("SIL",)
    assert to_arpabet(";") == ()


@pytest.mark.parametrize("mnemonic", ["Q", "y:", "'R<", "", "x#3"])
def test_unmapped_phoneme_is_an_error(mnemonic: str) -> None:
    with pytest.raises(UnmappedPhonemeError, match="no HW3P2 mapping") as info:
        to_arpabet(mnemonic)
    assert isinstance(info.value, InputValueError)
    assert repr(mnemonic) in str(info.value)


def test_table_covers_the_english_phoneme_tables() -> None:
    loader = pytest.importorskip("espeakng_loader")
    tables = _phoneme_tables(Path(loader.get_data_path()))
    english = [name for name in tables if name == "en" or name.startswith("en-")]
    assert {"en", "en-us", "en-rp", "en-sc"} <= set(english)
    skip = {_TYPE_STRESS, _TYPE_VIRTUAL, _TYPE_DELETED, _TYPE_INVALID}
    missing = {
        (name, mnemonic)
        for name in english
        for mnemonic, kind in tables[name]
        if mnemonic and kind not in skip and mnemonic not in ESPEAK_TO_ARPABET
    }
    assert not missing


@pytest.mark.slow
def test_every_phoneme_the_english_voices_speak_is_mapped() -> None:
    """Speak the whole word list with every accent; every mnemonic must map."""
    pytest.importorskip("espeakng_loader")
    from ctckit.data._espeak import synthesize
    from ctckit.data.synth import ACCENTS

    seen: set[str] = set()
    for accent in ACCENTS:
        for start in range(0, len(WORDS), 250):
            result = synthesize(" ".join(WORDS[start : start + 250]), accent)
            seen.update(result.phonemes)
    for mnemonic in sorted(seen):
        to_arpabet(mnemonic)  # raises on a gap
    bare = {m.lstrip("',%=") for m in seen}
    # The sample is varied: it exercises most of the table, r-less and rhotic accents.
    assert {"?", "t#", "n-", "@L", "A@", "IR", "VR", "w#", "t[", "_:"} <= bare
    assert len(bare) >= 60
