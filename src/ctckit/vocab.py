"""Label inventories with a CTC blank, and the HW3P2 phoneme set.

A :class:`Vocabulary` maps between three views of a label sequence:

* symbols (``["HH", "AH"]``), what transcripts hold;
* ids (``[17, 4]``), what models and losses use;
* a one-character-per-label string (``"Hh"``), what edit distances and
  HW3P2 submissions use.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ctckit.errors import InputValueError

__all__ = [
    "HW3P2_CHARS",
    "HW3P2_LABELS",
    "SENTENCE_MARKERS",
    "Vocabulary",
    "hw3p2_vocabulary",
    "strip_sentence_markers",
]

#: The 41 HW3P2 classes: blank ``""`` first, then ``SIL`` and 39 ARPAbet phonemes.
HW3P2_LABELS: tuple[str, ...] = (
    "", "SIL", "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY",
    "F", "G", "HH", "IH", "IY", "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S",
    "SH", "T", "TH", "UH", "UW", "V", "W", "Y", "Z", "ZH",
)  # fmt: skip

#: One character per HW3P2 class, in the order of :data:`HW3P2_LABELS`.
HW3P2_CHARS: tuple[str, ...] = tuple(" .aAhowybcdDerEfgHiIjklmnNOYpRsStTuUvW?zZ")

#: Sentence markers that HW3P2 transcripts carry and models never predict.
SENTENCE_MARKERS: tuple[str, str] = ("<sos>", "<eos>")


class Vocabulary:
    """An ordered label inventory that includes a CTC blank.

    Args:
        labels: One symbol per class, in id order. Symbols must be unique.
        chars: Optional one-character code per class (for string edit
            distances and submissions). Defaults to ``labels`` when every
            label is a single character.
        blank: Index of the blank class.

    Raises:
        InputValueError: On duplicate labels or characters, a ``chars`` of the
            wrong length or with multi-character entries, or ``blank`` out of
            range.

    Example:
        >>> v = Vocabulary(["-", "a", "b"])
        >>> v.encode(["a", "b", "b"])
        [1, 2, 2]
        >>> v.to_string([2, 1])
        'ba'
        >>> len(v), v.blank
        (3, 0)
    """

    def __init__(
        self, labels: Sequence[str], chars: Sequence[str] | None = None, blank: int = 0
    ) -> None:
        labels = tuple(labels)
        if len(labels) < 2:
            raise InputValueError(
                f"a vocabulary needs a blank and at least one label, got {len(labels)} labels"
            )
        _reject_duplicates(labels, "label")
        if not 0 <= blank < len(labels):
            raise InputValueError(f"blank must be in [0, {len(labels)}), got {blank}")
        if chars is None and all(len(label) == 1 for label in labels):
            chars = labels
        if chars is not None:
            chars = tuple(chars)
            if len(chars) != len(labels):
                raise InputValueError(
                    f"chars must have one entry per label ({len(labels)}), got {len(chars)}"
                )
            bad = [c for c in chars if len(c) != 1]
            if bad:
                raise InputValueError(f"each char must be one character, got {bad[0]!r}")
            _reject_duplicates(chars, "char")
        self._labels = labels
        self._chars = chars
        self._blank = blank
        self._index = {label: i for i, label in enumerate(labels)}
        self._char_index = None if chars is None else {c: i for i, c in enumerate(chars)}

    @property
    def labels(self) -> tuple[str, ...]:
        """All symbols in id order, blank included."""
        return self._labels

    @property
    def chars(self) -> tuple[str, ...] | None:
        """One character per class, or ``None`` when the vocabulary has none."""
        return self._chars

    @property
    def blank(self) -> int:
        """Index of the blank class."""
        return self._blank

    def __len__(self) -> int:
        return len(self._labels)

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} labels, blank={self._blank})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Vocabulary):
            return NotImplemented
        return (self._labels, self._chars, self._blank) == (
            other._labels,
            other._chars,
            other._blank,
        )

    def __hash__(self) -> int:
        return hash((self._labels, self._chars, self._blank))

    def index(self, symbol: str) -> int:
        """Id of one symbol (the blank included).

        Raises:
            InputValueError: If ``symbol`` is not in the vocabulary.

        Example:
            >>> hw3p2_vocabulary().index("SIL")
            1
        """
        try:
            return self._index[symbol]
        except KeyError:
            raise InputValueError(f"unknown symbol {symbol!r}") from None

    def encode(self, symbols: Iterable[str], *, strip_markers: bool = True) -> list[int]:
        """Map a transcript's symbols to target ids.

        Args:
            symbols: Label symbols, e.g. ARPAbet strings.
            strip_markers: Drop a leading ``<sos>`` and a trailing ``<eos>``.

        Returns:
            One id per symbol; the blank never appears in a target.

        Raises:
            InputValueError: Naming the first unknown symbol (or a blank) and
                its position.

        Example:
            >>> hw3p2_vocabulary().encode(["<sos>", "HH", "AH", "<eos>"])
            [17, 4]
        """
        seq = list(symbols)
        if strip_markers:
            seq = strip_sentence_markers(seq)
        ids = []
        for position, symbol in enumerate(seq):
            i = self._index.get(symbol)
            if i is None or i == self._blank:
                what = "the blank symbol" if i == self._blank else "unknown symbol"
                raise InputValueError(
                    f"{what} {symbol!r} at position {position} cannot be a CTC target "
                    f"(vocabulary of {len(self)} labels)"
                )
            ids.append(i)
        return ids

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Map ids back to symbols.

        Raises:
            InputValueError: Naming the first id outside ``[0, len(self))``.

        Example:
            >>> hw3p2_vocabulary().decode([17, 4])
            ['HH', 'AH']
        """
        return [self._labels[i] for i in self._checked_ids(ids)]

    def to_string(self, ids: Iterable[int]) -> str:
        """Map ids to the one-character code used for distances.

        Raises:
            InputValueError: If the vocabulary has no character map or an id
                is out of range.

        Example:
            >>> hw3p2_vocabulary().to_string([17, 4, 1])
            'Hh.'
        """
        if self._chars is None:
            raise InputValueError("this vocabulary has no one-character map (chars=None)")
        chars = self._chars
        return "".join(chars[i] for i in self._checked_ids(ids))

    def from_string(self, text: str) -> list[int]:
        """Inverse of :meth:`to_string`.

        Raises:
            InputValueError: Naming the first unknown character and its position.

        Example:
            >>> hw3p2_vocabulary().from_string("Hh.")
            [17, 4, 1]
        """
        if self._char_index is None:
            raise InputValueError("this vocabulary has no one-character map (chars=None)")
        out = []
        for position, c in enumerate(text):
            i = self._char_index.get(c)
            if i is None:
                raise InputValueError(f"unknown character {c!r} at position {position}")
            out.append(i)
        return out

    def _checked_ids(self, ids: Iterable[int]) -> list[int]:
        out = [int(i) for i in ids]
        n = len(self._labels)
        for position, i in enumerate(out):
            if not 0 <= i < n:
                raise InputValueError(f"id {i} at position {position} is outside [0, {n})")
        return out


def strip_sentence_markers(symbols: Sequence[str]) -> list[str]:
    """Drop a leading ``<sos>`` and a trailing ``<eos>``.

    Example:
        >>> strip_sentence_markers(["<sos>", "AA", "<eos>"])
        ['AA']
    """
    seq = list(symbols)
    if seq and seq[0] == SENTENCE_MARKERS[0]:
        seq = seq[1:]
    if seq and seq[-1] == SENTENCE_MARKERS[1]:
        seq = seq[:-1]
    return seq


def _reject_duplicates(items: Sequence[str], what: str) -> None:
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        if item in seen:
            raise InputValueError(f"duplicate {what} {item!r} at positions {seen[item]} and {i}")
        seen[item] = i


_HW3P2 = Vocabulary(HW3P2_LABELS, HW3P2_CHARS, blank=0)


def hw3p2_vocabulary() -> Vocabulary:
    """The 41-class HW3P2 phoneme inventory with its character map.

    Returns:
        Blank ``""`` at 0 (character ``" "``), ``SIL`` at 1 (``"."``), then
        the 39 ARPAbet phonemes ``AA`` ... ``ZH``.

    Example:
        >>> v = hw3p2_vocabulary()
        >>> len(v), v.labels[:3], v.chars[:3]
        (41, ('', 'SIL', 'AA'), (' ', '.', 'a'))
    """
    return _HW3P2
