"""espeak-ng English phoneme mnemonics -> HW3P2 ARPAbet symbols (private).

espeak-ng names the phonemes it speaks with ASCII mnemonics (``"aI"``,
``"dZ"``, ``"@L"``, ...) drawn from its phoneme tables. English voices use the
``en`` table and the accent tables that inherit from it (``en-us``,
``en-us-nyc``, ``en-rp``, ``en-sc``, ``en-n``, ``en-wm``, ``en-wi``), plus a few
consonants and pauses of the shared base tables. :data:`ESPEAK_TO_ARPABET`
holds every mnemonic of the ``en`` table and every base-table mnemonic the
English voices emit (checked by synthesising the whole word list with every
English voice).

The mapping is phonemic, in the style of the CMU pronouncing dictionary from
which the HW3P2 labels come, not phonetic:

* stress marks (``'`` ``,`` ``%`` ``=``) are removed first;
* allophones map to their phoneme: the flap ``t#`` and the glottal stop ``?``
  to ``T``, the flap ``d#`` to ``D``, the Caribbean dental stops ``t[``/``d[``
  to ``T``/``D`` (they replace ``TH``/``DH`` there), Scottish ``w#`` to ``W``;
* reduced vowels (``@``, ``@2``, ``a#``, ``V``, ...) map to ``AH``, r-coloured
  ``3``/``3:`` and the Scottish ``IR``/``VR`` to ``ER``;
* vowels with a written r in their lexical set map to two symbols, as CMU
  spells them, also where the accent drops the r: ``A@`` -> ``AA R``, ``e@``
  -> ``EH R``, ``o@``/``O@`` -> ``AO R``, ``U@`` -> ``UH R``, ``i@3`` -> ``IH
  R``, ``aI@``/``aI3`` -> ``AY ER``, ``aU@`` -> ``AW ER``; ``i@`` (as in
  "area") -> ``IY AH``;
* syllabic consonants map to schwa plus consonant: ``@L`` and ``l-`` -> ``AH
  L``, ``n-`` -> ``AH N``, ``m-`` -> ``AH M``; linking ``r-`` -> ``R``;
* the hiatus glide ``;`` (between the vowels of "being") and the language
  switch marker ``_^_`` map to nothing;
* pauses (``_``, ``_:``, ``_!``, ``_|``, ``_!_``) map to ``SIL``.
"""

from __future__ import annotations

from ctckit.errors import InputValueError
from ctckit.vocab import HW3P2_LABELS

__all__ = ["ESPEAK_TO_ARPABET", "PAUSES", "UnmappedPhonemeError", "to_arpabet"]

#: Stress and emphasis marks espeak-ng prefixes to a phoneme mnemonic.
STRESS_MARKS = "',%="

#: Pause mnemonics; they map to ``SIL``.
PAUSES: frozenset[str] = frozenset({"_", "_:", "_!", "_|", "_!_"})

_CONSONANTS: dict[str, tuple[str, ...]] = {
    "p": ("P",), "b": ("B",), "t": ("T",), "d": ("D",), "k": ("K",), "g": ("G",),
    "f": ("F",), "v": ("V",), "T": ("TH",), "D": ("DH",), "s": ("S",), "z": ("Z",),
    "S": ("SH",), "Z": ("ZH",), "h": ("HH",), "x": ("K",), "tS": ("CH",), "dZ": ("JH",),
    "m": ("M",), "n": ("N",), "N": ("NG",), "l": ("L",), "r": ("R",), "w": ("W",),
    "j": ("Y",),
    # allophones and accent variants
    "t#": ("T",), "t2": ("T",), "?": ("T",), "t[": ("T",), "d#": ("D",), "d[": ("D",),
    "z#": ("Z",), "z/2": ("Z",), "r/": ("R",), "r-": ("R",), "l/2": ("L",), "w#": ("W",),
    # syllabic consonants
    "@L": ("AH", "L"), "l-": ("AH", "L"), "n-": ("AH", "N"), "m-": ("AH", "M"),
}  # fmt: skip

_VOWELS: dict[str, tuple[str, ...]] = {
    # schwa and reduced vowels
    "@": ("AH",), "@2": ("AH",), "@5": ("AH",), "@-": ("AH",), "@#": ("AH",),
    "a#": ("AH",), "a#2": ("AH",), "a2": ("AH",), "V": ("AH",),
    # r-coloured
    "3": ("ER",), "3:": ("ER",), "IR": ("ER",), "VR": ("ER",),
    # monophthongs
    "a": ("AE",), "aa": ("AE",), "a/": ("AE",), "A#": ("AE",),
    "A:": ("AA",), "0": ("AA",), "0#": ("AA",), "02": ("AA",), "A~": ("AA",),
    "O:": ("AO",), "O": ("AO",), "O2": ("AO",), "O~": ("AO",),
    "E": ("EH",), "E#": ("EH",), "E2": ("EH",), "e#": ("EH",),
    "I": ("IH",), "I2": ("IH",), "I#": ("IH",), "I2#": ("IH",),
    "i": ("IY",), "i:": ("IY",),
    "U": ("UH",), "u:": ("UW",),
    "e:": ("EY",), "o:": ("OW",),
    # diphthongs
    "aI": ("AY",), "aI2": ("AY",), "aU": ("AW",), "eI": ("EY",), "oU": ("OW",),
    "oU#": ("OW",), "OI": ("OY",),
    # vowel + r (CMU spelling, also in non-rhotic accents)
    "A@": ("AA", "R"), "e@": ("EH", "R"), "o@": ("AO", "R"), "O@": ("AO", "R"),
    "U@": ("UH", "R"), "i@3": ("IH", "R"), "i@": ("IY", "AH"),
    "aI@": ("AY", "ER"), "aI3": ("AY", "ER"), "aU@": ("AW", "ER"),
}  # fmt: skip

_OTHER: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(PAUSES, ("SIL",)),
    ";": (),
    "_^_": (),
}

#: Every espeak-ng English mnemonic (stress marks removed) and its HW3P2 symbols.
ESPEAK_TO_ARPABET: dict[str, tuple[str, ...]] = {**_CONSONANTS, **_VOWELS, **_OTHER}

_KNOWN = frozenset(HW3P2_LABELS[1:])
_bad = {m: s for m, s in ESPEAK_TO_ARPABET.items() if not set(s) <= _KNOWN}
if _bad:  # pragma: no cover - guards the table itself
    raise RuntimeError(f"mapping table has non-HW3P2 symbols: {_bad}")


class UnmappedPhonemeError(InputValueError):
    """espeak-ng emitted a phoneme mnemonic the mapping table does not know."""


def to_arpabet(mnemonic: str) -> tuple[str, ...]:
    """Map one espeak-ng mnemonic (stress marks allowed) to HW3P2 symbols.

    Args:
        mnemonic: A phoneme name from an espeak-ng phoneme event, e.g. ``"'aI"``.

    Returns:
        Zero, one or two HW3P2 symbols.

    Raises:
        UnmappedPhonemeError: When the mnemonic is not in :data:`ESPEAK_TO_ARPABET`.

    Example:
        >>> to_arpabet("'aI"), to_arpabet("@L"), to_arpabet("_:")
        (('AY',), ('AH', 'L'), ('SIL',))
    """
    key = mnemonic.lstrip(STRESS_MARKS) or mnemonic
    try:
        return ESPEAK_TO_ARPABET[key]
    except KeyError:
        raise UnmappedPhonemeError(
            f"espeak-ng phoneme {mnemonic!r} has no HW3P2 mapping; expected one of "
            f"{len(ESPEAK_TO_ARPABET)} known English mnemonics (a non-English voice?)"
        ) from None
