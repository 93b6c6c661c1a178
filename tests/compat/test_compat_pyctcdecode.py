"""ctckit.compat.pyctcdecode: pyctcdecode's own test cases, ported, and the real peer.

The cases of pyctcdecode's ``tests/test_decoder.py`` and ``tests/test_alphabet.py``
(version 0.5) that ``build_ctcdecoder`` / ``decode`` / ``decode_beams`` /
``decode_batch`` cover are reproduced here as facts: the same inputs (the bugs
bunny matrices, the LibriSpeech logits, the bugs_bunny ARPA file from
``../shared/peer_assets/pyctcdecode``) and the expected outputs pyctcdecode's tests
assert. Cases that need pyctcdecode's internals (``LanguageModel`` objects built
by hand, ``MultiLanguageModel``, serialisation, the class-level model container)
are outside this front door. The tests marked ``peers`` run the real pyctcdecode
(the peers environment) and compare outputs on the same inputs.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ctckit.compat.pyctcdecode import (
    UNK_BPE_TOKEN,
    Alphabet,
    OutputBeam,
    build_ctcdecoder,
)
from ctckit.errors import CTCKitError, InputValueError, ShapeError

ASSETS = Path(__file__).resolve().parents[3] / "shared" / "peer_assets" / "pyctcdecode"
KENLM_MODEL_PATH = ASSETS / "bugs_bunny_kenlm.arpa"
LIBRI_PATH = ASSETS / "libri_logits.json"

needs_assets = pytest.mark.skipif(
    not KENLM_MODEL_PATH.is_file() or not LIBRI_PATH.is_file(),
    reason="../shared/peer_assets/pyctcdecode is absent",
)

SAMPLE_LABELS = [" ", "b", "g", "n", "s", "u", "y", ""]
SAMPLE_VOCAB = {c: n for n, c in enumerate(SAMPLE_LABELS)}
LIBRI_LABELS = [" ", *"abcdefghijklmnopqrstuvwxyz", "'"]
LIBRI_TEXT = (
    "i have a good deal of will you remember and what i have set my mind upon no doubt "
    "i shall some day achieve"
)
TEST_UNIGRAMS = ["bugs", "bunny"]


def one_hot(chars: list[str]) -> np.ndarray:
    m = np.zeros((len(chars), len(SAMPLE_VOCAB)))
    for t, c in enumerate(chars):
        m[t, SAMPLE_VOCAB[c]] = 1
    return m


BUGS_PROBS = one_hot(list("bugs"))
BUNNY_PROBS = one_hot(["b", "u", "n", "", "n", "y"])
BLANK_PROBS = one_hot([""])
SPACE_PROBS = one_hot([" "])
# "bugs" and "bunny" nearly tied in the first word; a language model settles it
TEST_PROBS = np.vstack(
    [np.vstack([BUGS_PROBS, BLANK_PROBS, BLANK_PROBS]) * 0.49 + BUNNY_PROBS * 0.51,
     SPACE_PROBS, BUNNY_PROBS]
)  # fmt: skip
TEST_LOGITS = np.log(np.clip(TEST_PROBS, 1e-15, 1))


def libri_logits() -> np.ndarray:
    with open(LIBRI_PATH) as f:
        return np.asarray(json.load(f), dtype=np.float64)


def lm_path() -> str:
    return str(KENLM_MODEL_PATH)


# ----------------------------------------------------------------------------- alphabet


def test_normalize_regular_alphabet() -> None:
    assert Alphabet.build_alphabet([" ", "a", "b", ""]).labels == [" ", "a", "b", ""]
    assert Alphabet.build_alphabet([" ", "a", "b"]).labels == [" ", "a", "b", ""]  # blank added
    assert Alphabet.build_alphabet(["|", "a", "<pad>", "<unk>"]).labels == [" ", "a", "", "⁇"]
    assert Alphabet.build_alphabet(["_", "a", " "]).labels == ["", "a", " "]
    assert not Alphabet.build_alphabet([" ", "a", "b", ""]).is_bpe


def test_normalize_bpe_alphabet() -> None:
    cases = [
        (["▁⁇▁", "▁B", "ugs", "▁", "▁bunny", ""], ["▁⁇▁", "▁B", "ugs", "▁", "▁bunny", ""]),
        (["▁⁇▁", "▁B", "ugs"], ["▁⁇▁", "▁B", "ugs", ""]),
        (["<unk>", "▁B", "ugs"], ["▁⁇▁", "▁B", "ugs", ""]),
        (["B", "##ugs", ""], ["▁B", "ugs", ""]),
        (["B", "##ugs", "▁", ""], ["▁B", "ugs", "▁", ""]),
        (["[PAD]", "##a", "b"], ["", "a", "▁b"]),
    ]
    for labels, expected in cases:
        alphabet = Alphabet.build_alphabet(labels)
        assert alphabet.is_bpe
        assert alphabet.labels == expected, labels


def test_alphabet_errors() -> None:
    with pytest.raises(InputValueError, match="distinct"):
        Alphabet.build_alphabet(["a", "a", " "])
    with pytest.raises(InputValueError, match="space"):
        Alphabet.build_alphabet(["▁a", " ", "b"])
    with pytest.raises(CTCKitError):
        Alphabet.build_alphabet("abc")


# ----------------------------------------------------------------------------- decoding


@needs_assets
def test_decoder_language_model_settings() -> None:
    # pyctcdecode test_decoder: without an LM the acoustics win; with one, the bigram
    assert build_ctcdecoder(SAMPLE_LABELS).decode(TEST_LOGITS) == "bunny bunny"
    assert build_ctcdecoder(SAMPLE_LABELS, lm_path(), alpha=0.0).decode(TEST_LOGITS) == (
        "bunny bunny"
    )
    assert build_ctcdecoder(SAMPLE_LABELS, lm_path(), alpha=1.0).decode(TEST_LOGITS) == (
        "bugs bunny"
    )
    restricted = build_ctcdecoder(
        SAMPLE_LABELS, lm_path(), ["bunny"], alpha=1.0, unk_score_offset=0.0
    )
    assert restricted.decode(TEST_LOGITS) == "bugs bunny"
    penalised = build_ctcdecoder(
        SAMPLE_LABELS, lm_path(), ["bunny"], alpha=1.0, unk_score_offset=-10.0
    )
    assert penalised.decode(TEST_LOGITS) == "bunny bunny"


@needs_assets
def test_build_ctcdecoder() -> None:
    assert build_ctcdecoder(SAMPLE_LABELS, lm_path()).decode(TEST_LOGITS) == "bugs bunny"


@needs_assets
def test_decode_batch() -> None:
    decoder = build_ctcdecoder(SAMPLE_LABELS, lm_path(), TEST_UNIGRAMS)
    assert decoder.decode_batch(None, [TEST_LOGITS] * 5) == ["bugs bunny"] * 5


def test_logit_shape_mismatch() -> None:
    decoder = build_ctcdecoder(SAMPLE_LABELS)
    wrong = np.hstack([TEST_LOGITS] * 2)
    with pytest.raises(ValueError, match=r"\(time, 8\)"):
        decoder.decode(wrong)
    with pytest.raises(ShapeError, match=r"logits_list\[0\]"):
        decoder.decode_batch(None, [wrong] * 5)


@needs_assets
def test_decode_beams_batch() -> None:
    decoder = build_ctcdecoder(SAMPLE_LABELS, lm_path(), TEST_UNIGRAMS)
    out = decoder.decode_beams_batch(None, [TEST_LOGITS] * 5)
    assert len(out) == 5
    for beams in out:
        assert len(beams) == 1
        text, frames, logit_score, lm_score = beams[0]
        assert text == "bugs bunny"
        assert frames == [("bugs", (0, 4)), ("bunny", (7, 13))]
        assert logit_score == pytest.approx(-2.853399551509947, abs=1e-6)
        assert lm_score == pytest.approx(0.14660044849005294, abs=1e-6)


@needs_assets
def test_pruning() -> None:
    decoder = build_ctcdecoder(SAMPLE_LABELS, lm_path())
    assert decoder.decode(TEST_LOGITS) == "bugs bunny"
    # a token threshold of 0 leaves only each frame's most probable token: greedy
    assert decoder.decode(TEST_LOGITS, token_min_logp=0.0) == "bunny bunny"


def test_history_pruning() -> None:
    decoder = build_ctcdecoder(SAMPLE_LABELS)
    add_probs = np.vstack([SPACE_PROBS, BUNNY_PROBS])
    logits = np.log(np.clip(np.vstack([TEST_PROBS] + [add_probs] * 5), 1e-15, 1))
    beams = decoder.decode_beams(logits, prune_history=False)
    beams_pruned = decoder.decode_beams(logits, prune_history=True)
    assert beams[0][0] == beams_pruned[0][0]
    assert len(beams) == 16
    assert len(beams_pruned) == 1


@needs_assets
def test_hotwords() -> None:
    decoder = build_ctcdecoder(SAMPLE_LABELS, lm_path())
    assert decoder.decode(TEST_LOGITS) == "bugs bunny"
    assert decoder.decode(TEST_LOGITS, hotwords=["bunny"], hotword_weight=20) == "bunny bunny"
    assert decoder.decode(TEST_LOGITS, hotwords=["bugs", "bunny"], hotword_weight=20) == (
        "bugs bunny"
    )
    assert decoder.decode(TEST_LOGITS, hotwords=["bugs bunny"], hotword_weight=20) == ("bugs bunny")
    no_lm = build_ctcdecoder(SAMPLE_LABELS)
    assert no_lm.decode(TEST_LOGITS) == "bunny bunny"
    assert no_lm.decode(TEST_LOGITS, hotwords=["bugs"]) == "bugs bunny"


@needs_assets
def test_beam_results() -> None:
    beams = build_ctcdecoder(SAMPLE_LABELS).decode_beams(TEST_LOGITS)
    assert len(beams) == 16
    assert beams[0][0] == "bunny bunny"
    assert beams[-1][0] == "bugs bunny"
    # the LM pushes 'bugs bunny' far enough ahead to prune every other beam
    beams = build_ctcdecoder(SAMPLE_LABELS, lm_path()).decode_beams(TEST_LOGITS)
    assert [b[0] for b in beams] == ["bugs bunny"]
    # no <unk> penalty and a wider prune: all 16 again, bigram first, unigram second
    decoder = build_ctcdecoder(SAMPLE_LABELS, lm_path(), unk_score_offset=0.0)
    beams = decoder.decode_beams(TEST_LOGITS, beam_prune_logp=-20.0)
    assert len(beams) == 16
    assert beams[0][0] == "bugs bunny"
    assert beams[1][0] == "bunny bunny"


def test_frame_annotation() -> None:
    decoder = build_ctcdecoder(SAMPLE_LABELS)
    beams = decoder.decode_beams(TEST_LOGITS)
    assert beams[0][0] == "bunny bunny"
    assert beams[0][2] == [("bunny", (0, 6)), ("bunny", (7, 13))]
    assert beams[-1][0] == "bugs bunny"
    # trailing blanks of a word are not part of its frames
    assert beams[-1][2] == [("bugs", (0, 4)), ("bunny", (7, 13))]
    stretched = one_hot([" ", "", "b", "u", "n", "", "n", "n", "y", "", " ", " "])
    top = decoder.decode_beams(stretched)[0]
    assert top[0] == "bunny"
    assert top[2] == [("bunny", (2, 9))]
    bpe_labels = ["▁bugs", "▁bun", "ny", ""]
    bpe_vocab = {c: n for n, c in enumerate(bpe_labels)}
    out = ["", "▁bugs", "▁bun", "ny", "ny", ""]
    logits = np.zeros((len(out), len(bpe_vocab)))
    for t, c in enumerate(out):
        logits[t, bpe_vocab[c]] = 1
    top = build_ctcdecoder(bpe_labels).decode_beams(logits)[0]
    assert top[0] == "bugs bunny"
    assert top[2] == [("bugs", (1, 2)), ("bunny", (2, 5))]


@needs_assets
def test_realistic_alphabet() -> None:
    logits = libri_logits()
    decoder = build_ctcdecoder(LIBRI_LABELS)
    assert decoder.decode(logits) == LIBRI_TEXT
    beams = decoder.decode_beams(logits)
    assert len(beams[0][0].split()) == len(beams[0][2])  # every word has its frames
    # a fake BPE vocabulary: word starts spoofed with a lone '▁', '##' continuations
    bpe_labels = [UNK_BPE_TOKEN, "▁"] + ["##" + c for c in LIBRI_LABELS[1:]]
    bpe_logits = np.hstack([np.full((logits.shape[0], 1), -100.0), logits])
    assert build_ctcdecoder(bpe_labels).decode(bpe_logits) == LIBRI_TEXT


def _random_logits(rows: int, cols: int, seed: int, normalise: bool) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(rows, cols))
    if normalise:
        p = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
        x = np.log(p)
    return x


@settings(deadline=None)
@given(st.integers(0, 20), st.integers(0, 2**32 - 1), st.booleans())
def test_random_logits_decode_consistently(rows: int, seed: int, normalise: bool) -> None:
    """pyctcdecode's fuzz cases (random log-probabilities, and raw N(0, 1) logits),
    with properties: ``decode`` is the best beam's text, beams are best first and
    within ``-beam_prune_logp`` of the best, and every word has its frames, in order,
    inside the utterance."""
    decoder = build_ctcdecoder(LIBRI_LABELS)
    logits = _random_logits(rows, len(LIBRI_LABELS) + 1, seed, normalise)
    text = decoder.decode(logits)
    beams = decoder.decode_beams(logits)
    assert text == beams[0].text
    scores = [b.lm_score for b in beams]
    assert scores == sorted(scores, reverse=True)
    assert all(s >= scores[0] - 10.0 - 1e-9 for s in scores)
    for b in beams:
        assert [w for w, _ in b.word_frames] == b.text.split()
        ends = [0]
        for _, (start, end) in b.word_frames:
            assert ends[-1] <= start < end <= rows
            ends.append(end)


@needs_assets
@given(
    alpha=st.one_of(st.none(), st.floats(-10, 10)),
    beta=st.one_of(st.none(), st.floats(-10, 10)),
    unk_score_offset=st.one_of(st.none(), st.floats(-20, 0)),
    lm_score_boundary=st.one_of(st.none(), st.booleans()),
)
def test_reset_params(
    alpha: float | None, beta: float | None, unk_score_offset: float | None,
    lm_score_boundary: bool | None,
) -> None:  # fmt: skip
    """pyctcdecode's reset_params fuzz case, on finite floats; resetting to the values
    a fresh decoder was built with gives that decoder's beams."""
    decoder = build_ctcdecoder(SAMPLE_LABELS, lm_path(), alpha=0.0)
    decoder.reset_params(alpha, beta, unk_score_offset, lm_score_boundary)
    decoder.reset_params(alpha=1.0, beta=1.5, unk_score_offset=-10.0, lm_score_boundary=True)
    fresh = build_ctcdecoder(SAMPLE_LABELS, lm_path(), alpha=1.0)
    assert decoder.decode_beams(TEST_LOGITS) == fresh.decode_beams(TEST_LOGITS)


def test_reset_params_refuses_nan() -> None:
    decoder = build_ctcdecoder(SAMPLE_LABELS)
    with pytest.raises(InputValueError, match="alpha"):
        decoder.reset_params(alpha=math.nan)


def test_bad_logits() -> None:
    decoder = build_ctcdecoder(SAMPLE_LABELS)
    bad = TEST_LOGITS.copy()
    bad[3, 2] = np.nan
    with pytest.raises(InputValueError, match=r"\[3, 2\]"):
        decoder.decode(bad)
    with pytest.raises(ShapeError, match="2 dimensions"):
        decoder.decode(TEST_LOGITS[None])


def test_probabilities_and_logits_give_the_same_beams() -> None:
    """pyctcdecode's input rule: rows summing to 1 are probabilities, anything else
    logits; the same distribution either way gives the same beams."""
    decoder = build_ctcdecoder(SAMPLE_LABELS)
    probs = np.clip(TEST_PROBS, 1e-15, 1)
    probs /= probs.sum(axis=1, keepdims=True)
    from_probs = decoder.decode_beams(probs)
    from_logits = decoder.decode_beams(np.log(probs) + 3.0)  # shifted: not normalised
    assert [b.text for b in from_probs] == [b.text for b in from_logits]
    assert [b.logit_score for b in from_probs] == pytest.approx(
        [b.logit_score for b in from_logits], abs=1e-9
    )


def test_output_beam_is_a_tuple() -> None:
    beam = build_ctcdecoder(SAMPLE_LABELS).decode_beams(TEST_LOGITS)[0]
    assert isinstance(beam, OutputBeam)
    assert isinstance(beam, tuple)
    text, lm_state, _, logit_score, lm_score = beam
    assert lm_state is None
    assert text == "bunny bunny"
    assert lm_score == logit_score  # no LM: the two agree


# ----------------------------------------------------------------------------- the peer


def _peer_decoder(*args: object, **kwargs: object) -> object:
    pyctcdecode = pytest.importorskip("pyctcdecode")
    pytest.importorskip("kenlm")
    return pyctcdecode.build_ctcdecoder(*args, **kwargs)


@pytest.mark.peers
@needs_assets
@pytest.mark.parametrize(
    "labels_lm_kwargs",
    [
        ("sample", None, {}),
        ("sample", "bugs", {}),
        ("sample", "bugs", {"alpha": 1.0, "unigrams": ["bunny"]}),
        ("libri", None, {}),
        ("libri", "bugs", {"beta": 0.5}),
    ],
)
def test_same_beams_as_pyctcdecode(labels_lm_kwargs: tuple[str, str | None, dict]) -> None:
    which, lm, kwargs = labels_lm_kwargs
    labels = SAMPLE_LABELS if which == "sample" else LIBRI_LABELS
    logits = TEST_LOGITS if which == "sample" else libri_logits()
    path = lm_path() if lm else None
    ours = build_ctcdecoder(labels, path, **kwargs).decode_beams(logits)
    theirs = _peer_decoder(labels, path, **kwargs).decode_beams(logits)  # type: ignore[attr-defined]
    assert ours[0].text == theirs[0][0]
    # frames: ctckit's come from the best alignment, pyctcdecode's from whichever path
    # its merging kept; they agree to a frame or two
    assert [w for w, _ in ours[0].word_frames] == [w for w, _ in theirs[0][2]]
    for (_, (s1, e1)), (_, (s2, e2)) in zip(ours[0].word_frames, theirs[0][2]):
        assert abs(s1 - s2) <= 2
        assert abs(e1 - e2) <= 2
    assert ours[0].logit_score == pytest.approx(theirs[0][3], abs=1e-3)
    assert ours[0].lm_score == pytest.approx(theirs[0][4], abs=1e-3)
    if which == "sample":  # the same beams (their order below the top differs by 1e-3)
        assert sorted(b.text for b in ours) == sorted(b[0] for b in theirs)


@pytest.mark.peers
@needs_assets
def test_same_hotword_and_batch_results_as_pyctcdecode() -> None:
    ours = build_ctcdecoder(SAMPLE_LABELS, lm_path())
    theirs = _peer_decoder(SAMPLE_LABELS, lm_path())
    for hotwords in (["bunny"], ["bugs"], ["bugs bunny"]):
        kw = {"hotwords": hotwords, "hotword_weight": 20.0}
        assert ours.decode(TEST_LOGITS, **kw) == theirs.decode(TEST_LOGITS, **kw)  # type: ignore[attr-defined]
    batch = [TEST_LOGITS, TEST_LOGITS[:6], np.vstack([TEST_LOGITS, TEST_LOGITS])]
    assert ours.decode_batch(None, batch) == theirs.decode_batch(None, batch)  # type: ignore[attr-defined]
