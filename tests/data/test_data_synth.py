"""Tests of ctckit.data.synth against real espeak-ng speech (a tiny corpus made here)."""

from __future__ import annotations

import csv
import itertools
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("espeakng_loader")

from ctckit.data import PhonemeDataset, UnlabeledDataset, synth
from ctckit.data._espeak import synthesize
from ctckit.data.synth import (
    ACCENTS,
    SAMPLE_RATE,
    CorpusInfo,
    _labels,
    _segments,
    _synthesize,
    ctc_min_frames,
    main,
    make_corpus,
    resample,
    utterance_spec,
    voice_split,
)
from ctckit.errors import InputValueError, MissingDependencyError, ShapeError
from ctckit.features import num_frames
from ctckit.vocab import HW3P2_LABELS

COUNTS = {"train": 6, "dev": 2, "test": 2}


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "manifest.csv"
    }


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, CorpusInfo]:
    root = tmp_path_factory.mktemp("corpus")
    info = make_corpus(root, COUNTS["train"], COUNTS["dev"], COUNTS["test"], seed=0,
                       workers=1, progress=False)  # fmt: skip
    return root, info


def _manifest(root: Path) -> list[dict[str, str]]:
    with open(root / "manifest.csv", newline="") as handle:
        return list(csv.DictReader(handle))


# --------------------------------------------------------------------------- layout


def test_info_counts_and_speed(corpus: tuple[Path, CorpusInfo]) -> None:
    root, info = corpus
    assert (info.n_train, info.n_dev, info.n_test, info.written) == (6, 2, 2, 10)
    assert info.root == str(root)
    assert info.audio_seconds > 10 * 1.0  # ten utterances of 3+ words
    assert info.real_time_factor == pytest.approx(info.audio_seconds / info.wall_seconds)


def test_hw3p2_layout_and_dtypes(corpus: tuple[Path, CorpusInfo]) -> None:
    root, _ = corpus
    symbols = set(HW3P2_LABELS[1:])
    for partition in ("train", "dev"):
        mfccs = sorted((root / partition / "mfcc").glob("*.npy"))
        transcripts = sorted((root / partition / "transcript").glob("*.npy"))
        assert [p.name for p in mfccs] == [p.name for p in transcripts]
        assert len(mfccs) == COUNTS[partition]
        for mfcc_path, transcript_path in zip(mfccs, transcripts):
            features = np.load(mfcc_path)
            labels = np.load(transcript_path)  # no pickle needed
            assert features.dtype == np.float32
            assert features.ndim == 2
            assert features.shape[1] == 13
            assert np.isfinite(features).all()
            assert labels.dtype.kind == "U"
            assert labels[0] == "<sos>"
            assert labels[-1] == "<eos>"
            inner = list(labels[1:-1])
            assert set(inner) <= symbols
            assert inner[0] == "SIL"
            assert inner[-1] == "SIL"
            assert all(not (a == b == "SIL") for a, b in itertools.pairwise(inner))
    assert not (root / "test" / "transcript").exists()
    test_names = sorted(p.name for p in (root / "test" / "mfcc").glob("*.npy"))
    hidden = sorted(p.name for p in (root / "test_transcripts").glob("*.npy"))
    assert test_names == hidden == ["000000.npy", "000001.npy"]
    with open(root / "test" / "test_order.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows == [["file"], ["000000.npy"], ["000001.npy"]]
    assert not list(root.rglob("*.tmp"))


def test_dataset_reads_the_corpus(corpus: tuple[Path, CorpusInfo]) -> None:
    root, _ = corpus
    train = PhonemeDataset(root, "train")
    assert len(train) == 6
    item = train[0]
    raw = np.load(root / "train" / "transcript" / "000000.npy")
    assert item.targets.numel() == len(raw) - 2  # <sos>/<eos> stripped
    assert len(UnlabeledDataset(root)) == 2


# --------------------------------------------------------------------------- alignment


def test_labels_align_with_audio(corpus: tuple[Path, CorpusInfo]) -> None:
    root, _ = corpus
    for partition in ("train", "dev"):
        for index in range(COUNTS[partition]):
            spec = utterance_spec(0, partition, index)
            result = synthesize(spec.text, spec.voice, spec.rate, spec.pitch,
                                spec.pitch_range, seed=spec.noise_seed)  # fmt: skip
            starts = np.array(result.starts)
            assert len(starts) == len(result.phonemes) > 0
            assert (starts >= 0).all()
            assert (starts <= result.audio.size).all()
            assert (np.diff(starts) >= 0).all()
            features = np.load(root / partition / "mfcc" / spec.name)
            labels = list(np.load(root / partition / "transcript" / spec.name)[1:-1])
            assert features.shape[0] >= ctc_min_frames(labels)
            # The features cover exactly the padded, resampled audio.
            speech = -(-result.audio.size * 320 // 441)
            samples = int(spec.lead_s * SAMPLE_RATE) + speech + int(spec.tail_s * SAMPLE_RATE)
            assert features.shape[0] == num_frames(samples, SAMPLE_RATE)


@pytest.mark.parametrize(
    ("word", "voice", "expected"),
    [
        ("cat", "en-us", "K AE T"),
        ("ship", "en-us", "SH IH P"),
        ("measure", "en-us", "M EH ZH ER"),
        ("voice", "en", "V OY S"),
        ("button", "en-us", "B AH T AH N"),
        ("are", "en-gb-scotland", "AA R"),
        ("are", "en-gb-x-rp", "AA R"),
        ("judge", "en-029", "JH AH JH"),
        ("cat, dog", "en-us", "K AE T SIL D AA G"),  # a comma is a pause
    ],
)
def test_labels_are_the_spoken_phonemes(word: str, voice: str, expected: str) -> None:
    result = synthesize(word, voice)
    labels = _labels(_segments(result.phonemes, result.starts, result.audio.size), 22050)
    assert labels == ["SIL", *expected.split(), "SIL"]


def test_short_pauses_dropped_long_pauses_kept() -> None:
    segments = [("K", 0, 100), ("SIL", 100, 200), ("AE", 200, 300), ("SIL", 300, 2000),
                ("T", 2000, 2100)]  # fmt: skip
    assert _labels(segments, 22050) == ["SIL", "K", "AE", "SIL", "T", "SIL"]


def test_segments_reject_events_outside_audio() -> None:
    with pytest.raises(InputValueError, match="outside the audio"):
        _segments(["k", "a"], [0, 500], 400)


def test_ctc_min_frames_counts_repeats() -> None:
    assert ctc_min_frames(["A", "A", "A", "B"]) == 6
    assert ctc_min_frames([]) == 0


def test_synthesized_utterance_is_pure() -> None:
    spec = utterance_spec(3, "train", 5)
    first = _synthesize(spec)
    _synthesize(utterance_spec(3, "dev", 0))  # something else in between
    second = _synthesize(spec)
    np.testing.assert_array_equal(first.features, second.features)
    assert first.labels == second.labels


# --------------------------------------------------------------------------- determinism


@pytest.mark.slow
def test_same_seed_identical_across_worker_counts(
    corpus: tuple[Path, CorpusInfo], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _ = corpus
    monkeypatch.setattr(synth, "_PER_WORKER", 1)  # a real 2-process pool for 10 utterances
    info = make_corpus(tmp_path, 6, 2, 2, seed=0, workers=2, progress=False, chunk_size=3)
    assert info.written == 10
    assert _files(tmp_path) == _files(root)
    assert (tmp_path / "manifest.csv").read_bytes() == (root / "manifest.csv").read_bytes()


def test_different_seed_differs(corpus: tuple[Path, CorpusInfo], tmp_path: Path) -> None:
    root, _ = corpus
    make_corpus(tmp_path, 2, 0, 0, seed=1, workers=1, progress=False)
    name = "train/transcript/000000.npy"
    assert (tmp_path / name).read_bytes() != (root / name).read_bytes()


def test_spec_depends_only_on_seed_partition_index() -> None:
    assert utterance_spec(0, "train", 3) == utterance_spec(0, "train", 3)
    assert utterance_spec(0, "train", 3) != utterance_spec(0, "train", 4)
    assert utterance_spec(0, "train", 3) != utterance_spec(1, "train", 3)
    commas = 0
    for index in range(50):
        spec = utterance_spec(7, "train", index)
        assert 3 <= len(spec.words) <= 12
        assert spec.text.replace(",", "").split() == list(spec.words)
        commas += spec.text.count(",")
        assert 10.0 <= spec.snr_db <= 40.0
    assert 0 < commas < 100


# --------------------------------------------------------------------------- voices


def test_dev_and_test_voices_held_out(corpus: tuple[Path, CorpusInfo]) -> None:
    root, _ = corpus
    split = voice_split()
    train, dev, test = (set(split[p]) for p in ("train", "dev", "test"))
    assert not train & dev
    assert not train & test
    assert not dev & test
    for voices in (train, dev, test):  # every accent in every partition
        assert {v.split("+")[0] for v in voices} == set(ACCENTS)
    assert len(train) > 4 * len(dev)
    for row in _manifest(root):
        assert row["voice"] in split[row["partition"]]
    for index in range(200):
        assert utterance_spec(0, "dev", index).voice in dev
        assert utterance_spec(0, "test", index).voice in test
    assert voice_split() == split  # fixed, not drawn from the corpus seed


# --------------------------------------------------------------------------- resume


def test_skips_existing_and_resumes(corpus: tuple[Path, CorpusInfo], tmp_path: Path) -> None:
    root, _ = corpus
    make_corpus(tmp_path, 3, 1, 1, workers=1, progress=False)
    before = _files(tmp_path)
    again = make_corpus(tmp_path, 3, 1, 1, workers=1, progress=False)
    assert again.written == 0
    assert again.audio_seconds == 0.0
    (tmp_path / "train" / "mfcc" / "000001.npy").unlink()  # interrupted: mfcc not yet written
    (tmp_path / "test_transcripts" / "000000.npy").unlink()
    resumed = make_corpus(tmp_path, 3, 1, 1, workers=1, progress=False)
    assert resumed.written == 2
    assert _files(tmp_path) == before
    grown = make_corpus(tmp_path, 4, 1, 1, workers=1, progress=False)
    assert grown.written == 1
    assert (tmp_path / "train/mfcc/000003.npy").read_bytes() == (
        root / "train/mfcc/000003.npy"
    ).read_bytes()


# --------------------------------------------------------------------------- errors, CLI


@pytest.mark.parametrize(
    "kwargs",
    [{"n_train": -1}, {"seed": -2}, {"workers": 0}, {"chunk_size": 0}],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict[str, int]) -> None:
    args = {"n_train": 1, "n_dev": 0, "n_test": 0, **kwargs}
    with pytest.raises(InputValueError):
        make_corpus(tmp_path, progress=False, **args)


def test_bad_partition_and_voice() -> None:
    with pytest.raises(InputValueError, match="partition"):
        utterance_spec(0, "valid", 0)
    with pytest.raises(Exception, match="no voice"):
        synthesize("hello", "en-us+nosuchvariant")
    with pytest.raises(InputValueError, match="rate"):
        synthesize("hello", "en-us", rate=10)
    with pytest.raises(InputValueError, match="non-empty"):
        synthesize("  ", "en-us")


def test_missing_espeakng_loader(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "espeakng_loader", None)  # import now fails
    with pytest.raises(MissingDependencyError, match=r"ctckit\[synth\]"):
        make_corpus(tmp_path, 1, 0, 0, progress=False)


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main([str(tmp_path), "--train", "1", "--dev", "1", "--test", "1", "--seed", "4",
                   "--workers", "1"])  # fmt: skip
    assert status == 0
    assert "1 train, 1 dev, 1 test" in capsys.readouterr().out
    assert (tmp_path / "dev" / "transcript" / "000000.npy").exists()


# --------------------------------------------------------------------------- resampling


@pytest.mark.parametrize("frequency", [100.0, 1000.0, 3500.0, 6000.0])
def test_resample_matches_analytic_sine(frequency: float) -> None:
    t = np.arange(22050) / 22050
    y = resample(np.sin(2 * np.pi * frequency * t), 22050, 16000)
    reference = np.sin(2 * np.pi * frequency * np.arange(16000) / 16000)
    assert y.shape == (16000,)
    assert y.dtype == np.float32
    assert np.abs(y - reference)[100:-100].max() < 1e-3


def test_resample_removes_content_above_new_nyquist() -> None:
    t = np.arange(22050) / 22050
    y = resample(np.sin(2 * np.pi * 9000.0 * t), 22050, 16000)
    assert np.abs(y)[100:-100].max() < 1e-3  # would alias to 7 kHz


@pytest.mark.parametrize("n", [0, 1, 440, 441, 442, 10001])
def test_resample_length(n: int) -> None:
    assert resample(np.zeros(n), 22050, 16000).shape == (-(-n * 320 // 441),)
    assert resample(np.ones(n), 16000, 16000).shape == (n,)


def test_resample_rejects_bad_input() -> None:
    with pytest.raises(ShapeError):
        resample(np.zeros((2, 3)), 22050, 16000)
    with pytest.raises(InputValueError):
        resample(np.zeros(3), 0, 16000)
