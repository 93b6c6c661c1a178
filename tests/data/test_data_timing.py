"""Tests of the phoneme and word times (ctckit.data._timing) against brute force and signals."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctckit.data._timing import (
    HOP,
    WINDOW,
    Label,
    Segment,
    _closure_start,
    _vowel_onset,
    frame_spans,
    label_spans,
    segments,
    word_of_labels,
    word_spans,
)
from ctckit.errors import InputValueError


@st.composite
def _starts(draw: st.DrawFn) -> tuple[list[int], int, int]:
    gaps = draw(st.lists(st.integers(0, 3000), min_size=1, max_size=30))
    starts = list(np.cumsum([0, *gaps[:-1]]))
    lead = draw(st.integers(0, 4000))
    speech_frames = (lead + starts[-1] * 16000 // 22050) // HOP + 1
    frames = draw(st.integers(len(starts), len(starts) + speech_frames + 40))
    return [int(s) for s in starts], lead, frames


@given(_starts())
def test_frame_spans_are_contiguous_and_cover_the_frames(case: tuple[list[int], int, int]) -> None:
    starts, lead, frames = case
    spans = frame_spans(starts, 22050, lead, frames)
    assert spans.dtype == np.int32
    assert spans.shape == (len(starts), 2)
    assert spans[0, 0] == 0
    assert spans[-1, 1] == frames
    assert (spans[:, 0] < spans[:, 1]).all()
    assert (spans[1:, 0] == spans[:-1, 1]).all()


@given(
    st.lists(st.integers(500, 4000), min_size=1, max_size=25),
    st.integers(0, 4000),
    st.integers(0, 30),
)
def test_frame_spans_follow_window_centres(gaps: list[int], lead: int, extra: int) -> None:
    """Brute force: frame t belongs to the last label that starts at or before its centre.

    Labels at least 500 samples (23 ms) apart never need to borrow a frame.
    """
    starts = [int(s) for s in np.cumsum([0, *gaps[:-1]])]
    last = lead + starts[-1] * 16000 / 22050
    frames = max(int((last - WINDOW / 2) // HOP) + 2, len(starts)) + extra
    spans = frame_spans(starts, 22050, lead, frames)
    owner = np.repeat(np.arange(len(starts)), spans[:, 1] - spans[:, 0])
    begin = [lead + s * 16000 / 22050 for s in starts]
    truth = [max([0] + [i for i, b in enumerate(begin) if b <= HOP * t + WINDOW / 2])
             for t in range(frames)]  # fmt: skip
    assert owner.tolist() == truth


def test_frame_spans_refuse_too_few_frames() -> None:
    with pytest.raises(InputValueError, match="3 labels cannot own a frame each of 2 frames"):
        frame_spans([0, 10, 20], 22050, 0, 2)


def test_closure_moves_to_the_stop() -> None:
    audio = np.ones(1000, np.int16)
    audio[600:800] = 0  # the closure before a stop released at 800
    assert _closure_start(audio, 100, 800) == 600
    audio[790:800] = 0
    audio[600:790] = 1
    assert _closure_start(audio, 100, 800) == 800  # 10 zero samples: a zero crossing
    assert _closure_start(np.zeros(1000, np.int16), 100, 800) == 800  # silent previous phoneme


def test_segments_with_audio_give_the_closure_to_the_stop() -> None:
    audio = (np.sin(np.arange(3000) / 3.0) * 3000).astype(np.int16)
    audio[1500:2000] = 0
    segs = segments(["a", "t", "_:"], [0, 2000, 2900], 3000, [0, 0, 0], audio)
    assert segs == [Segment("AE", 0, 1500, 0), Segment("T", 1500, 2900, 0),
                    Segment("SIL", 2900, 3000, 0)]  # fmt: skip
    # without the audio the events are taken as they are
    assert segments(["a", "t"], [0, 2000], 3000)[1] == Segment("T", 2000, 3000)


def test_vowel_onset_finds_a_step_in_the_signal() -> None:
    rate, t = 22050, np.arange(22050 // 5) / 22050
    nasal = 800 * np.sin(2 * np.pi * 250 * t)
    vowel = 8000 * np.sin(2 * np.pi * 700 * t) + 3000 * np.sin(2 * np.pi * 1900 * t)
    step = int(0.07 * rate)  # the vowel starts 70 ms into the reported nasal
    audio = np.concatenate([nasal[:step], vowel]).astype(np.int16)
    reported = step + int(0.04 * rate)  # espeak-ng reports it 40 ms late
    onset = _vowel_onset(audio, 0, reported)
    assert abs(onset - step) <= 0.003 * rate
    # a steady signal has no onset to find early: nothing earlier than a quarter of the span
    assert _vowel_onset(audio[:step], 0, step) >= step // 4


def test_label_spans_merge_pauses() -> None:
    segs = [Segment("K", 0, 100, 0), Segment("SIL", 100, 200, 0), Segment("AE", 200, 300, 0),
            Segment("SIL", 300, 1000, 0), Segment("SIL", 1000, 2000, 0),
            Segment("T", 2000, 2100, 1), Segment("SIL", 2100, 2150, 1)]  # fmt: skip
    labels = label_spans(segs, 2150, 22050)
    assert labels == [Label("SIL", 0), Label("K", 0, 0), Label("AE", 200, 0), Label("SIL", 300),
                      Label("T", 2000, 1), Label("SIL", 2100)]  # fmt: skip
    assert label_spans([Segment("K", 0, 100)], 100, 22050)[-1] == Label("SIL", 100)


def _labels(spec: str) -> list[Label]:
    """'SIL K|0 AE|0 T|1 SIL': symbol|group."""
    out = []
    for i, item in enumerate(spec.split()):
        symbol, _, group = item.partition("|")
        out.append(Label(symbol, i, int(group) if group else -1))
    return out


LEXICON = {
    "in": [("IH", "N")], "the": [("DH", "AH"), ("DH", "IY")], "house": [("HH", "AW", "S")],
    "huge": [("HH", "Y", "UW", "JH")], "cat": [("K", "AE", "T")], "a": [("AH",), ("EY",)],
}  # fmt: skip


def test_words_follow_word_events() -> None:
    labels = _labels("SIL K|0 AE|0 T|0 SIL AH|1 HH|2 AW|2 S|2 SIL")
    owner = word_of_labels(labels, ["cat", "a", "house"], LEXICON)
    assert owner == [-1, 0, 0, 0, -1, 1, 2, 2, 2, -1]


def test_events_win_over_pronunciations() -> None:
    """Where espeak-ng's events and the lexicon disagree, the events decide."""
    labels = _labels("SIL K|0 AE|0 T|0 HH|0 AW|1 S|1 SIL")  # HH spoken in the event of 'cat'
    assert word_of_labels(labels, ["cat", "house"], LEXICON) == [-1, 0, 0, 0, 0, 1, 1, -1]
    labels = _labels("SIL K|0 AE|0 T|0 AE|1 K|2 AE|2 T|2 SIL")  # 'a' spoken unlike the lexicon
    assert word_of_labels(labels, ["cat", "a", "cat"], LEXICON) == [-1, 0, 0, 0, 1, 2, 2, 2, -1]


def test_words_that_share_an_event_are_split_by_pronunciation() -> None:
    """espeak-ng speaks 'in the' as one dictionary entry with one word event."""
    labels = _labels("SIL IH|0 N|0 DH|0 AH|0 HH|1 AW|1 S|1 SIL")
    owner = word_of_labels(labels, ["in", "the", "house"], LEXICON)
    assert owner == [-1, 0, 0, 1, 1, 2, 2, 2, -1]


def test_a_word_without_its_event() -> None:
    """en-us-nyc drops the h of 'huge' and with it the word event: 'the' took its phonemes."""
    labels = _labels("SIL DH|0 AH|0 Y|0 UW|0 JH|0 SIL")
    assert word_of_labels(labels, ["the", "huge"], LEXICON) == [-1, 0, 0, 1, 1, 1, -1]


def test_word_errors() -> None:
    with pytest.raises(InputValueError, match="2 phonemes cannot spell the 3 words"):
        word_of_labels(_labels("SIL K|0 AE|1 SIL"), ["cat", "a", "cat"], LEXICON)
    with pytest.raises(InputValueError, match="no pronunciation for the words"):
        word_of_labels(_labels("SIL K|0 AE|1 SIL"), ["cat", "dog"], LEXICON)


def test_word_spans_run_from_first_to_last_label() -> None:
    spans = np.array([[0, 3], [3, 5], [5, 6], [6, 9], [9, 12], [12, 15]], np.int32)
    owner = [-1, 0, 0, -1, 1, -1]
    np.testing.assert_array_equal(word_spans(owner, spans, 2), [[3, 6], [9, 12]])
