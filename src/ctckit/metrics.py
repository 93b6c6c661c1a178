"""Edit distances and error rates between label sequences.

Distances come from :mod:`rapidfuzz` (MIT), which computes Levenshtein
distance with a bit-parallel algorithm on strings and on sequences of any
hashable items. The HW3P2 score is :func:`mean_edit_distance` over the
one-character strings of :meth:`ctckit.Vocabulary.to_string`.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from rapidfuzz.distance import Levenshtein as _Lev
from rapidfuzz.process import cpdist as _cpdist

from ctckit.errors import InputTypeError, InputValueError

__all__ = ["EditCounts", "ErrorRateMeter", "edit_distance", "mean_edit_distance"]

#: A label sequence: a string or any sequence of hashable items (ids, symbols).
LabelSeq: TypeAlias = str | Sequence[Hashable]

_distance = _Lev.distance


def _as_seq(x: Any, name: str) -> LabelSeq:
    if isinstance(x, (str, list, tuple)):
        return x
    tolist = getattr(x, "tolist", None)  # torch tensors and numpy arrays
    if tolist is not None:
        out = tolist()
        if isinstance(out, list):
            return out
    raise InputTypeError(
        f"{name} must be a string or a 1-D sequence of labels, got {type(x).__name__}"
    )


def edit_distance(hypothesis: LabelSeq, reference: LabelSeq) -> int:
    """Levenshtein distance (unit costs) between two label sequences.

    Args:
        hypothesis: A string or a sequence of hashable labels (ids, symbols,
            a 1-D tensor or array).
        reference: The same kind of sequence.

    Returns:
        The minimum number of substitutions, deletions and insertions that
        turn ``hypothesis`` into ``reference``.

    Example:
        >>> edit_distance("kitten", "sitting")
        3
        >>> edit_distance([1, 2, 3], [1, 3])
        1
    """
    if type(hypothesis) is str and type(reference) is str:  # the hot path: no conversion
        return int(_distance(hypothesis, reference))
    return int(_distance(_as_seq(hypothesis, "hypothesis"), _as_seq(reference, "reference")))


def mean_edit_distance(hypotheses: Sequence[LabelSeq], references: Sequence[LabelSeq]) -> float:
    """Mean edit distance per utterance: the HW3P2 leaderboard score.

    Args:
        hypotheses: ``N`` predicted sequences.
        references: ``N`` reference sequences, in the same order.

    Returns:
        ``sum(edit_distance(h, r)) / N``.

    Raises:
        InputValueError: If the two lists differ in length or are empty.

    Example:
        >>> mean_edit_distance(["abc", "d"], ["abd", ""])
        1.0
    """
    if len(hypotheses) != len(references):
        raise InputValueError(f"got {len(hypotheses)} hypotheses but {len(references)} references")
    if len(hypotheses) == 0:
        raise InputValueError("mean_edit_distance needs at least one pair, got none")
    hyps = [h if type(h) is str else _as_seq(h, "hypothesis") for h in hypotheses]
    refs = [r if type(r) is str else _as_seq(r, "reference") for r in references]
    return float(_cpdist(hyps, refs, scorer=_distance).sum()) / len(hyps)


@dataclass(frozen=True)
class EditCounts:
    """Edit operations that turn one hypothesis into its reference.

    Attributes:
        substitutions: Reference labels replaced by another label.
        deletions: Reference labels the hypothesis missed.
        insertions: Hypothesis labels absent from the reference.

    Example:
        >>> EditCounts.between("axc", "abcd")
        EditCounts(substitutions=1, deletions=1, insertions=0)
    """

    substitutions: int
    deletions: int
    insertions: int

    @property
    def distance(self) -> int:
        """Total edits, equal to :func:`edit_distance`."""
        return self.substitutions + self.deletions + self.insertions

    @classmethod
    def between(cls, hypothesis: LabelSeq, reference: LabelSeq) -> EditCounts:
        """Count one optimal alignment's substitutions, deletions and insertions."""
        ops = _Lev.editops(_as_seq(reference, "reference"), _as_seq(hypothesis, "hypothesis"))
        s = d = i = 0
        for op in ops:
            if op.tag == "replace":
                s += 1
            elif op.tag == "delete":
                d += 1
            else:
                i += 1
        return cls(s, d, i)


class ErrorRateMeter:
    """Accumulates edit statistics over batches of predictions.

    Reports the mean distance per utterance (the HW3P2 score) and the
    label error rate (PER for phonemes): total edits over total reference
    labels, or the number of insertions when the references are all empty
    (as jiwer). :attr:`counts` and :meth:`from_counts` let distributed
    training sum meters across processes.

    Example:
        >>> meter = ErrorRateMeter()
        >>> meter.update(["abc", "d"], ["abd", "de"])
        >>> meter.mean_distance, meter.error_rate
        (1.0, 0.4)
        >>> meter.substitutions, meter.deletions, meter.insertions
        (1, 1, 0)
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget everything seen so far."""
        self.utterances = 0
        self.reference_length = 0
        self.substitutions = 0
        self.deletions = 0
        self.insertions = 0

    def update(self, hypotheses: Sequence[LabelSeq], references: Sequence[LabelSeq]) -> None:
        """Add a batch of ``N`` hypothesis/reference pairs.

        Raises:
            InputValueError: If the two lists differ in length.
        """
        if len(hypotheses) != len(references):
            raise InputValueError(
                f"got {len(hypotheses)} hypotheses but {len(references)} references"
            )
        for hyp, ref in zip(hypotheses, references):
            counts = EditCounts.between(hyp, ref)
            self.substitutions += counts.substitutions
            self.deletions += counts.deletions
            self.insertions += counts.insertions
            self.reference_length += len(ref)
            self.utterances += 1

    @property
    def distance(self) -> int:
        """Total edit distance over all utterances."""
        return self.substitutions + self.deletions + self.insertions

    @property
    def mean_distance(self) -> float:
        """Mean edit distance per utterance (0.0 before any update)."""
        return self.distance / self.utterances if self.utterances else 0.0

    @property
    def error_rate(self) -> float:
        """Total edits over total reference labels (PER, WER, CER).

        When the references seen so far hold no labels at all, the rate is
        the number of inserted labels (jiwer's convention for an empty
        reference): 0.0 when the hypotheses are empty too, and never 0.0
        for an output that inserted something, so an erroneous output
        cannot score as perfect. 0.0 before any update.

        Example:
            >>> meter = ErrorRateMeter()
            >>> meter.update(["ab"], [""])
            >>> meter.error_rate
            2.0
        """
        if self.reference_length == 0:
            return float(self.insertions)
        return self.distance / self.reference_length

    @property
    def counts(self) -> tuple[int, int, int, int, int]:
        """``(utterances, reference_length, substitutions, deletions, insertions)``."""
        return (
            self.utterances,
            self.reference_length,
            self.substitutions,
            self.deletions,
            self.insertions,
        )

    @classmethod
    def from_counts(cls, counts: Sequence[int]) -> ErrorRateMeter:
        """Rebuild a meter from :attr:`counts` (e.g. after an all-reduce).

        Example:
            >>> ErrorRateMeter.from_counts((2, 5, 1, 1, 0)).mean_distance
            1.0
        """
        if len(counts) != 5:
            raise InputValueError(f"expected 5 counts, got {len(counts)}")
        meter = cls()
        (
            meter.utterances,
            meter.reference_length,
            meter.substitutions,
            meter.deletions,
            meter.insertions,
        ) = (int(c) for c in counts)
        return meter

    def __repr__(self) -> str:
        return (
            f"ErrorRateMeter(utterances={self.utterances}, "
            f"mean_distance={self.mean_distance:.4f}, error_rate={self.error_rate:.4f})"
        )
