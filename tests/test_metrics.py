from __future__ import annotations

import jiwer  # an independent oracle for error rates (empty references included)
import Levenshtein  # GPL-2.0-or-later: used here only as an independent oracle
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from ctckit import hw3p2_vocabulary
from ctckit.errors import InputTypeError, InputValueError
from ctckit.metrics import EditCounts, ErrorRateMeter, edit_distance, mean_edit_distance

seqs = st.lists(st.integers(0, 5), max_size=12)
texts = st.text(alphabet="abcd", max_size=12)


def naive_levenshtein(a: list[int] | str, b: list[int] | str) -> int:
    """Textbook O(nm) dynamic programme: the reference the library must match."""
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1]))
        prev = cur
    return prev[-1]


@given(seqs, seqs)
def test_matches_naive_dynamic_programme(a: list[int], b: list[int]) -> None:
    assert edit_distance(a, b) == naive_levenshtein(a, b)


@given(seqs, seqs)
def test_matches_levenshtein_oracle_on_mapped_strings(a: list[int], b: list[int]) -> None:
    vocab = hw3p2_vocabulary()
    sa, sb = vocab.to_string([x + 1 for x in a]), vocab.to_string([x + 1 for x in b])
    assert edit_distance(sa, sb) == Levenshtein.distance(sa, sb) == edit_distance(a, b)


@given(texts, texts, texts)
def test_metric_axioms(a: str, b: str, c: str) -> None:
    assert edit_distance(a, a) == 0
    assert (edit_distance(a, b) == 0) == (a == b)
    assert edit_distance(a, b) == edit_distance(b, a)
    assert edit_distance(a, c) <= edit_distance(a, b) + edit_distance(b, c)
    assert abs(len(a) - len(b)) <= edit_distance(a, b) <= max(len(a), len(b))


@given(texts, texts)
def test_edit_counts_add_up_to_the_distance(hyp: str, ref: str) -> None:
    counts = EditCounts.between(hyp, ref)
    assert counts.distance == edit_distance(hyp, ref)
    # Every reference label is either kept, substituted or deleted.
    assert counts.substitutions + counts.deletions <= len(ref)
    assert len(hyp) - len(ref) == counts.insertions - counts.deletions


@given(st.lists(st.tuples(texts, texts), min_size=1, max_size=10))
def test_mean_and_meter_agree_with_pairwise_sum(pairs: list[tuple[str, str]]) -> None:
    hyps = [h for h, _ in pairs]
    refs = [r for _, r in pairs]
    expected = sum(naive_levenshtein(h, r) for h, r in pairs) / len(pairs)
    assert mean_edit_distance(hyps, refs) == pytest.approx(expected)
    meter = ErrorRateMeter()
    for h, r in pairs:  # one pair at a time must equal one batch
        meter.update([h], [r])
    assert meter.mean_distance == pytest.approx(expected)
    total_ref = sum(len(r) for r in refs)
    if total_ref:
        assert meter.error_rate == pytest.approx(expected * len(pairs) / total_ref)
    assert ErrorRateMeter.from_counts(meter.counts).counts == meter.counts


def test_accepts_tensors_arrays_and_symbol_lists() -> None:
    assert edit_distance(torch.tensor([1, 2, 3]), np.array([1, 3])) == 1
    assert edit_distance(["AA", "B"], ["AA", "CH"]) == 1
    assert mean_edit_distance([torch.tensor([1, 2])], [[1, 2, 3]]) == 1.0


def test_bad_input_is_reported() -> None:
    with pytest.raises(InputValueError, match="2 hypotheses but 1 references"):
        mean_edit_distance(["a", "b"], ["a"])
    with pytest.raises(InputValueError, match="at least one pair"):
        mean_edit_distance([], [])
    with pytest.raises(InputTypeError, match="got int"):
        edit_distance(3, "abc")  # type: ignore[arg-type]
    with pytest.raises(InputValueError, match="1 hypotheses but 2 references"):
        ErrorRateMeter().update(["a"], ["a", "b"])
    with pytest.raises(InputValueError, match="expected 5 counts"):
        ErrorRateMeter.from_counts([1, 2])


def test_empty_meter_reports_zero_and_resets() -> None:
    meter = ErrorRateMeter()
    assert meter.mean_distance == 0.0
    assert meter.error_rate == 0.0
    meter.update(["ab"], ["b"])
    assert meter.insertions == 1
    assert "utterances=1" in repr(meter)
    meter.reset()
    assert meter.counts == (0, 0, 0, 0, 0)


# jiwer's own empty-reference cases (its tests/test_empty_ref.py): (references, hypotheses, WER)
JIWER_EMPTY_REFERENCE_CASES = [
    ("", "", 0.0),
    ([""] * 3, [""] * 3, 0.0),
    ("", "hello", 1.0),
    *[("", " ".join(str(j) for j in range(i)), float(i)) for i in range(2, 11)],
    ("hello", "", 1.0),
    (["hello world", ""], ["hello world", "done"], 0.5),
    (["hello world", ""], ["hello world", ""], 0.0),
]


def _word_meter(references: str | list[str], hypotheses: str | list[str]) -> ErrorRateMeter:
    refs = [references] if isinstance(references, str) else references
    hyps = [hypotheses] if isinstance(hypotheses, str) else hypotheses
    meter = ErrorRateMeter()
    meter.update([h.split() for h in hyps], [r.split() for r in refs])
    return meter


@pytest.mark.parametrize(("references", "hypotheses", "wer"), JIWER_EMPTY_REFERENCE_CASES)
def test_empty_references_follow_jiwer(
    references: str | list[str], hypotheses: str | list[str], wer: float
) -> None:
    rate = _word_meter(references, hypotheses).error_rate
    assert rate == pytest.approx(wer)
    assert rate == pytest.approx(jiwer.wer(references, hypotheses))


@pytest.mark.parametrize(
    ("reference", "hypothesis", "cer"),
    [("", "", 0.0), ("", "a", 1.0), ("", "abd", 3.0), ("a", "", 1.0), ("abc", "", 1.0)],
)
def test_empty_references_follow_jiwer_on_characters(
    reference: str, hypothesis: str, cer: float
) -> None:
    meter = ErrorRateMeter()
    meter.update([hypothesis], [reference])
    assert meter.error_rate == pytest.approx(cer)
    assert meter.error_rate == pytest.approx(jiwer.cer(reference, hypothesis))


def test_an_output_that_inserts_into_empty_references_never_scores_perfect() -> None:
    meter = ErrorRateMeter()
    meter.update(["ab", ""], ["", ""])
    assert meter.error_rate == 2.0
    assert meter.mean_distance == 1.0


words = st.lists(st.sampled_from(["a", "b", "c", "dd"]), max_size=5)


@given(st.lists(st.tuples(words, words), min_size=1, max_size=6))
def test_error_rate_matches_jiwer(pairs: list[tuple[list[str], list[str]]]) -> None:
    hyps = [" ".join(h) for h, _ in pairs]
    refs = [" ".join(r) for _, r in pairs]
    meter = ErrorRateMeter()
    meter.update([h for h, _ in pairs], [r for _, r in pairs])
    assert meter.error_rate == pytest.approx(jiwer.wer(refs, hyps))
