"""Tests of ctckit.data.synth against real espeak-ng speech (a tiny corpus made here)."""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("espeakng_loader")

from ctckit.data import PhonemeDataset, UnlabeledDataset, _espeak, synth
from ctckit.data._espeak import synthesize
from ctckit.data._lexicon import build_lexicon, lexicon_text, read_lexicon
from ctckit.data._timing import Segment, label_spans, segments
from ctckit.data.synth import (
    ACCENTS,
    SAMPLE_RATE,
    CorpusInfo,
    _synthesize,
    ctc_min_frames,
    main,
    make_corpus,
    read_alignments,
    read_texts,
    read_word_spans,
    resample,
    utterance_spec,
    voice_split,
    write_corpus_lexicon,
)
from ctckit.errors import (
    DataError,
    InputTypeError,
    InputValueError,
    MissingDependencyError,
    ShapeError,
)
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
    assert sorted(p.name for p in (root / "test").iterdir()) == ["mfcc", "test_order.csv"]
    test_names = sorted(p.name for p in (root / "test" / "mfcc").glob("*.npy"))
    assert test_names == ["000000.npy", "000001.npy"]
    for folder, suffix in (("test_transcripts", ".npy"), ("test_text", ".txt"),
                           ("test_alignment", ".npy"), ("test_words", ".npy")):  # fmt: skip
        hidden = sorted(p.name for p in (root / folder).iterdir())
        assert hidden == [f"00000{i}{suffix}" for i in range(2)], folder
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
    n = result.audio.size
    labels = label_spans(segments(result.phonemes, result.starts, n, audio=result.audio), n, 22050)
    assert [label.symbol for label in labels] == ["SIL", *expected.split(), "SIL"]


def test_short_pauses_dropped_long_pauses_kept() -> None:
    segs = [Segment("K", 0, 100), Segment("SIL", 100, 200), Segment("AE", 200, 300),
            Segment("SIL", 300, 2000), Segment("T", 2000, 2100)]  # fmt: skip
    labels = [label.symbol for label in label_spans(segs, 2100, 22050)]
    assert labels == ["SIL", "K", "AE", "SIL", "T", "SIL"]


def test_segments_reject_events_outside_audio() -> None:
    with pytest.raises(InputValueError, match="outside the audio"):
        segments(["k", "a"], [0, 500], 400)


def test_ctc_min_frames_counts_repeats() -> None:
    assert ctc_min_frames(["A", "A", "A", "B"]) == 6
    assert ctc_min_frames([]) == 0


def test_synthesized_utterance_is_pure() -> None:
    spec, other = utterance_spec(3, "train", 5), utterance_spec(3, "dev", 0)
    lexicon = build_lexicon([*spec.words, *other.words], ACCENTS)
    first = _synthesize(spec, lexicon)
    _synthesize(other, lexicon)  # something else in between
    second = _synthesize(spec, lexicon)
    np.testing.assert_array_equal(first.features, second.features)
    np.testing.assert_array_equal(first.alignment, second.alignment)
    np.testing.assert_array_equal(first.word_spans, second.word_spans)
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


# --------------------------------------------------------------------------- texts, times, words


def test_texts_are_the_words_spoken(corpus: tuple[Path, CorpusInfo]) -> None:
    root, _ = corpus
    for partition in ("train", "dev", "test"):
        texts = read_texts(root, partition)
        assert list(texts) == [f"{i:06d}" for i in range(COUNTS[partition])]
        for index, text in enumerate(texts.values()):
            spec = utterance_spec(0, partition, index)
            assert text == " ".join(spec.words)
            assert re.fullmatch(r"[a-z]+( [a-z]+)*", text), text
            # what espeak-ng read: the same words, with pause commas
            assert spec.text.replace(",", "").split() == text.split()
    assert not (root / "test" / "text").exists()


def _clean_signal(spec: synth.UtteranceSpec, rate: int) -> tuple[np.ndarray, object]:
    """The utterance's 16 kHz signal before noise, and espeak-ng's result."""
    result = synthesize(spec.text, spec.voice, rate, spec.pitch, spec.pitch_range,
                        seed=spec.noise_seed)  # fmt: skip
    speech = resample(result.audio.astype(np.float32) / 32768.0, result.sample_rate, SAMPLE_RATE)
    lead = np.zeros(int(spec.lead_s * SAMPLE_RATE), np.float32)
    tail = np.zeros(int(spec.tail_s * SAMPLE_RATE), np.float32)
    return np.concatenate([lead, speech, tail]), result


def test_alignment_spans_cover_the_frames(corpus: tuple[Path, CorpusInfo]) -> None:
    root, _ = corpus
    for partition in ("train", "dev", "test"):
        spans = read_alignments(root, partition)
        assert list(spans) == [f"{i:06d}" for i in range(COUNTS[partition])]
        transcripts = "test_transcripts" if partition == "test" else f"{partition}/transcript"
        for stem, span in spans.items():
            labels = np.load(root / transcripts / f"{stem}.npy")
            frames = np.load(root / partition / "mfcc" / f"{stem}.npy").shape[0]
            assert span.dtype == np.int32
            assert span.shape == (len(labels) - 2, 2)
            assert span[0, 0] == 0
            assert span[-1, 1] == frames
            assert (span[:, 0] < span[:, 1]).all()
            assert (span[1:, 0] == span[:-1, 1]).all()
    assert not (root / "test" / "alignment").exists()


def test_alignment_matches_the_audio(corpus: tuple[Path, CorpusInfo]) -> None:
    """SIL spans are silent, the speech is in the other spans, and starts follow espeak-ng."""
    root, _ = corpus
    silent, spoken, shifted, late, total = [], [], 0, 0, 0
    for partition in ("train", "dev"):
        for index in range(COUNTS[partition]):
            spec = utterance_spec(0, partition, index)
            signal, result = _clean_signal(spec, spec.rate)
            labels = list(np.load(root / partition / "transcript" / spec.name)[1:-1])
            span = np.load(root / partition / "alignment" / spec.name)
            power = np.array([np.mean(signal[160 * t + 120 : 160 * t + 280] ** 2)
                              for t in range(span[-1, 1])])  # fmt: skip
            for label, (a, b) in zip(labels, span):
                inner = power[a + 1 : b - 1] if b - a > 2 else power[a:a]
                (silent if label == "SIL" else spoken).extend(inner)
            # each phoneme starts at espeak-ng's event, or earlier by its closure or onset
            lead = int(spec.lead_s * SAMPLE_RATE)
            mapped = [synth.PHONEME_MAP[p.lstrip("',%=")] for p in result.phonemes]
            events = []  # the event of each non-SIL label's phoneme (None: a phoneme's 2nd half)
            for i, (sample, symbols) in enumerate(zip(result.starts, mapped)):
                if symbols in ((), ("SIL",)):
                    continue
                if len(symbols) == 2 and symbols[1] == "R" and mapped[i + 1 : i + 2] == [("R",)]:
                    symbols = symbols[:1]
                events += [lead + sample * 320 / 441, *[None] * (len(symbols) - 1)]
            starts = [a for label, (a, _) in zip(labels, span) if label != "SIL"]
            assert len(starts) == len(events)
            for start, event in zip(starts, events):
                if event is not None:
                    early = event - (160 * start + 200)
                    # < a frame late (3 where a short neighbour took a frame), <= 130 ms early
                    assert -3 * 160 < early <= 0.13 * SAMPLE_RATE
                    shifted += early > 160
                    late += early <= -160
                    total += 1
    assert np.mean(silent) < 1e-3 * np.mean(spoken)
    assert np.percentile(silent, 99) < 1e-2 * np.mean(spoken)
    assert 0 < shifted < total / 2  # closures and onsets move some starts, not most
    assert late < 0.05 * total


def test_word_spans_hold_their_phonemes(corpus: tuple[Path, CorpusInfo]) -> None:
    root, _ = corpus
    lexicon = read_lexicon(root / "lexicon.txt")
    matched = words_seen = 0
    for partition in ("train", "dev", "test"):
        texts = read_texts(root, partition)
        alignments = read_alignments(root, partition)
        transcripts = "test_transcripts" if partition == "test" else f"{partition}/transcript"
        for stem, spans in read_word_spans(root, partition).items():
            words = texts[stem].split()
            labels = list(np.load(root / transcripts / f"{stem}.npy")[1:-1])
            phones = alignments[stem]
            assert spans.dtype == np.int32
            assert spans.shape == (len(words), 2)
            assert (spans[:, 0] < spans[:, 1]).all()
            assert (spans[1:, 0] >= spans[:-1, 1]).all()
            assert spans[0, 0] >= phones[1, 0]  # after the leading SIL
            assert spans[-1, 1] <= phones[-1, 0]  # before the trailing SIL
            # every non-SIL label lies in exactly one word; word edges are label edges
            for label, (a, b) in zip(labels, phones):
                inside = [(s <= a and b <= e) for s, e in spans]
                assert sum(inside) == (label != "SIL"), (stem, label, a, b)
            edges = set(phones.ravel().tolist())
            assert set(spans.ravel().tolist()) <= edges
            for word, (s, e) in zip(words, spans):
                pron = tuple(lab for lab, (a, b) in zip(labels, phones)
                             if s <= a and b <= e and lab != "SIL")  # fmt: skip
                matched += pron in lexicon[word]
                words_seen += 1
    assert matched > 0.7 * words_seen


def test_lexicon_covers_every_word_spoken(corpus: tuple[Path, CorpusInfo]) -> None:
    root, _ = corpus
    text = (root / "lexicon.txt").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert text.endswith("\n")
    symbols = set(HW3P2_LABELS[1:]) - {"SIL"}
    for line in lines:
        word, *tokens = line.split(" ")
        assert re.fullmatch("[a-z]+", word)
        assert tokens
        assert set(tokens) <= symbols, line  # never SIL
    assert len(set(lines)) == len(lines)  # distinct pronunciations
    words = [line.split(" ")[0] for line in lines]
    assert words == sorted(words)
    spoken = {w for p in ("train", "dev", "test") for t in read_texts(root, p).values()
              for w in t.split()}  # fmt: skip
    assert set(words) == spoken


def _spoken_forms(root: Path) -> list[tuple[str, tuple[str, ...]]]:
    """Every train word token with the labels inside its frames (computed here, not by synth)."""
    out = []
    texts, alignments = read_texts(root, "train"), read_alignments(root, "train")
    for stem, spans in read_word_spans(root, "train").items():
        labels = list(np.load(root / "train" / "transcript" / f"{stem}.npy")[1:-1])
        for word, (s, e) in zip(texts[stem].split(), spans):
            pron = tuple(str(lab) for lab, (a, b) in zip(labels, alignments[stem])
                         if s <= a and b <= e and lab != "SIL")  # fmt: skip
            out.append((word, pron))
    return out


def test_lexicon_holds_every_train_word_as_spoken(corpus: tuple[Path, CorpusInfo]) -> None:
    """lexicon.txt = the isolated lexicon + the in-context forms seen MIN_CONTEXT_COUNT times."""
    root, _ = corpus
    isolated = read_lexicon(root / "lexicon_isolated.txt")
    words = sorted({w for p in ("train", "dev", "test") for t in read_texts(root, p).values()
                    for w in t.split()})  # fmt: skip
    assert isolated == build_lexicon(words, ACCENTS)  # each word spoken alone, as before
    lexicon = read_lexicon(root / "lexicon.txt")
    tokens = _spoken_forms(root)
    counts = {form: tokens.count(form) for form in tokens}
    for word, pron in tokens:
        assert (pron in lexicon[word]) == (
            pron in isolated[word] or counts[(word, pron)] >= synth.MIN_CONTEXT_COUNT
        ), (word, pron)
    for word, prons in lexicon.items():
        assert prons[: len(isolated[word])] == isolated[word]  # isolated forms first
        assert set(prons) == set(isolated[word]) | {
            p for (w, p), n in counts.items() if w == word and n >= synth.MIN_CONTEXT_COUNT
        }
    assert any(pron not in isolated[word] for word, pron in tokens)  # context adds forms
    # the weak form the sentences speak and the isolated lexicon lacks
    assert ("AH",) not in isolated["a"]
    assert ("a", ("AH",)) in counts


def test_lexicon_without_the_filter_spells_every_train_word(
    corpus: tuple[Path, CorpusInfo], tmp_path: Path
) -> None:
    root, _ = corpus
    shutil.copytree(root, tmp_path / "c")
    lexicon = write_corpus_lexicon(tmp_path / "c", min_count=1)
    assert read_lexicon(tmp_path / "c" / "lexicon.txt") == lexicon
    for word, pron in _spoken_forms(root):
        assert pron in lexicon[word], (word, pron)
    assert _files(tmp_path / "c").keys() == _files(root).keys()
    assert len(lexicon_text(lexicon)) > len((root / "lexicon.txt").read_text())


def test_lexicon_rebuild_is_deterministic(corpus: tuple[Path, CorpusInfo], tmp_path: Path) -> None:
    root, _ = corpus
    shutil.copytree(root, tmp_path / "c")
    for _ in range(2):
        (tmp_path / "c" / "lexicon.txt").unlink()
        write_corpus_lexicon(tmp_path / "c")
        assert _files(tmp_path / "c") == _files(root)


def test_decoding_lexicon_never_splits_words(
    corpus: tuple[Path, CorpusInfo], tmp_path: Path
) -> None:
    """Growth splits word events with the isolated lexicon, whatever lexicon.txt holds."""
    root, _ = corpus
    make_corpus(tmp_path, 2, 1, 0, workers=1, progress=False)
    words = read_lexicon(tmp_path / "lexicon_isolated.txt")
    (tmp_path / "lexicon.txt").write_text("".join(f"{w} AA\n" for w in sorted(words)))
    make_corpus(tmp_path, COUNTS["train"], COUNTS["dev"], COUNTS["test"], workers=1,
                progress=False)  # fmt: skip
    assert _files(tmp_path) == _files(root)  # word spans too; lexicon.txt rebuilt


def _as_old_corpus(root: Path) -> None:
    """What a generator-2 corpus looked like before lexicon_isolated.txt: the isolated lexicon
    in lexicon.txt (the annotation hash test shows the other files are unchanged)."""
    os.replace(root / "lexicon_isolated.txt", root / "lexicon.txt")


def test_old_corpus_gets_the_complete_lexicon(
    corpus: tuple[Path, CorpusInfo], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = corpus
    for upgrade in ("function", "cli", "make_corpus"):
        shutil.rmtree(tmp_path / "c", ignore_errors=True)
        shutil.copytree(root, tmp_path / "c")
        _as_old_corpus(tmp_path / "c")
        mfcc = {p: p.stat().st_mtime_ns for p in (tmp_path / "c").rglob("*.npy")}
        if upgrade == "function":
            write_corpus_lexicon(tmp_path / "c")
        elif upgrade == "cli":
            assert main([str(tmp_path / "c"), "--lexicon-only"]) == 0
            words, prons = capsys.readouterr().out.split(": ")[1].split(", ")
            lexicon = read_lexicon(root / "lexicon.txt")
            assert words == f"{len(lexicon)} words"
            assert prons == f"{sum(map(len, lexicon.values()))} pronunciations\n"
        else:
            info = make_corpus(tmp_path / "c", COUNTS["train"], COUNTS["dev"], COUNTS["test"],
                               workers=1, progress=False)  # fmt: skip
            assert info.written == 0
        assert _files(tmp_path / "c") == _files(root), upgrade
        assert {p: p.stat().st_mtime_ns for p in mfcc} == mfcc  # no utterance rewritten


def test_lexicon_rebuild_reports_bad_files(corpus: tuple[Path, CorpusInfo], tmp_path: Path) -> None:
    root, _ = corpus
    c = tmp_path / "c"

    def fresh() -> None:
        shutil.rmtree(c, ignore_errors=True)
        shutil.copytree(root, c)

    fresh()
    text = (c / "lexicon_isolated.txt").read_text().splitlines()
    text[3] = text[3].split()[0]  # a word without tokens
    (c / "lexicon_isolated.txt").write_text("\n".join(text) + "\n")
    with pytest.raises(DataError, match=r"lexicon_isolated\.txt: line 4: expected 'word tok1"):
        write_corpus_lexicon(c)
    fresh()
    spans = np.load(c / "train" / "words" / "000002.npy")
    np.save(c / "train" / "words" / "000002.npy", spans[:-1])
    with pytest.raises(DataError, match=r"words/000002\.npy .*word spans"):
        write_corpus_lexicon(c)
    spans[0, 0] += 1 if spans[0, 1] - spans[0, 0] > 1 else 0
    spans[0, 1] -= 1
    np.save(c / "train" / "words" / "000002.npy", spans)
    with pytest.raises(DataError, match="not label edges"):
        write_corpus_lexicon(c)
    (c / "train" / "alignment" / "000001.npy").write_bytes(b"garbage")
    with pytest.raises(DataError, match=r"alignment/000001\.npy: not a readable \.npy"):
        write_corpus_lexicon(c)
    (c / "train" / "text" / "000000.txt").unlink()
    with pytest.raises(DataError, match=r"text/000000\.txt: not a readable UTF-8"):
        write_corpus_lexicon(c)
    fresh()
    (c / "lexicon_isolated.txt").unlink()
    (c / "lexicon.txt").unlink()
    with pytest.raises(DataError, match=r"no lexicon_isolated\.txt or lexicon\.txt"):
        write_corpus_lexicon(c)
    assert main([str(c), "--lexicon-only", "--quiet"]) == 1
    (c / "corpus.json").unlink()
    with pytest.raises(DataError, match=r"no corpus\.json"):
        write_corpus_lexicon(c)


# --------------------------------------------------------------------------- resume, parameters


def test_skips_existing_and_resumes(tmp_path: Path) -> None:
    make_corpus(tmp_path, 3, 1, 1, workers=1, progress=False)
    before = _files(tmp_path)
    again = make_corpus(tmp_path, 3, 1, 1, workers=1, progress=False)
    assert again.written == 0
    assert again.audio_seconds == 0.0
    (tmp_path / "train" / "mfcc" / "000001.npy").unlink()  # interrupted: mfcc not yet written
    (tmp_path / "test_transcripts" / "000000.npy").unlink()
    (tmp_path / "dev" / "alignment" / "000000.npy").unlink()
    resumed = make_corpus(tmp_path, 3, 1, 1, workers=1, progress=False)
    assert resumed.written == 3
    assert _files(tmp_path) == before


def test_grown_corpus_equals_a_fresh_one(corpus: tuple[Path, CorpusInfo], tmp_path: Path) -> None:
    root, _ = corpus
    make_corpus(tmp_path, 2, 1, 0, workers=1, progress=False)
    grown = make_corpus(tmp_path, COUNTS["train"], COUNTS["dev"], COUNTS["test"], workers=1,
                        progress=False)  # fmt: skip
    assert grown.written == 10 - 3
    assert _files(tmp_path) == _files(root)  # lexicon, corpus.json and test_order.csv too
    assert (tmp_path / "manifest.csv").read_bytes() == (root / "manifest.csv").read_bytes()


#: sha256 of the corpus fixture's files but the MFCCs (floats), per generator version
#: (the isolated lexicon hashed under its old name, lexicon.txt; the decoding lexicon,
#: rebuilt from these files by every make_corpus call, left out).
_ANNOTATIONS_SHA256 = {2: "e1ba5bf47a86aaabe2cb7e5d5d64edc71c6c370c0819dd9af240c260ae7505ca"}


def test_output_changes_only_with_the_generator_version(corpus: tuple[Path, CorpusInfo]) -> None:
    """If this fails, the generator's output changed: raise GENERATOR_VERSION (and this hash)."""
    if _espeak.version() != "1.52.0":
        pytest.skip(f"hash recorded with espeak-ng 1.52.0, this is {_espeak.version()}")
    root, _ = corpus
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        name = str(path.relative_to(root))
        if path.is_file() and "mfcc" not in path.parts and name != "lexicon.txt":
            digest.update(name.replace("lexicon_isolated.txt", "lexicon.txt").encode())
            digest.update(path.read_bytes())
    assert digest.hexdigest() == _ANNOTATIONS_SHA256[synth.GENERATOR_VERSION]


def test_parameters_recorded(corpus: tuple[Path, CorpusInfo]) -> None:
    root, _ = corpus
    params = json.loads((root / "corpus.json").read_text())
    assert params == synth.read_parameters(root)
    assert params["format"] == "ctckit-synth"
    assert params["generator"] == synth.GENERATOR_VERSION
    assert params["espeak_ng"] == _espeak.version()
    assert params["seed"] == 0
    assert params["sizes"] == COUNTS


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seed": 1}, "seed 0 \\(asked for 1\\)"),
        ({"n_train": 1}, "2 train utterances \\(asked for 1; a corpus only grows\\)"),
        ({"n_test": 0}, "1 test utterances"),
    ],
)
def test_other_parameters_are_refused(tmp_path: Path, kwargs: dict[str, int], message: str) -> None:
    make_corpus(tmp_path, 2, 0, 1, workers=1, progress=False)
    before = _files(tmp_path)
    args = {"n_train": 2, "n_dev": 0, "n_test": 1, **kwargs}
    with pytest.raises(DataError, match=message) as info:
        make_corpus(tmp_path, workers=1, progress=False, **args)
    assert "overwrite=True" in str(info.value)
    assert str(tmp_path) in str(info.value)
    assert _files(tmp_path) == before  # nothing touched


def test_other_generator_or_espeak_is_refused(tmp_path: Path) -> None:
    make_corpus(tmp_path, 1, 0, 0, workers=1, progress=False)
    params = json.loads((tmp_path / "corpus.json").read_text())
    for key, value, message in (("generator", 1, "generator version 1"),
                                ("espeak_ng", "1.0", "espeak-ng '1.0'")):  # fmt: skip
        (tmp_path / "corpus.json").write_text(json.dumps({**params, key: value}))
        with pytest.raises(DataError, match=message):
            make_corpus(tmp_path, 1, 0, 0, workers=1, progress=False)
    (tmp_path / "corpus.json").write_text("{not json")
    with pytest.raises(DataError, match="unreadable corpus parameters"):
        make_corpus(tmp_path, 1, 0, 0, workers=1, progress=False)


def test_overwrite_regenerates_and_keeps_other_files(
    corpus: tuple[Path, CorpusInfo], tmp_path: Path
) -> None:
    root, _ = corpus
    make_corpus(tmp_path, 7, 3, 3, seed=5, workers=1, progress=False)
    (tmp_path / "notes.txt").write_text("mine")
    info = make_corpus(tmp_path, 6, 2, 2, seed=0, workers=1, progress=False, overwrite=True)
    assert info.written == 10
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert _files(tmp_path) == {**_files(root), "notes.txt": b"mine"}
    assert not list(tmp_path.glob(".ctckit-trash-*"))


def test_old_corpus_without_parameters(tmp_path: Path) -> None:
    """A corpus of generator 1 (no corpus.json) is refused, and overwrite replaces it."""
    make_corpus(tmp_path, 1, 0, 0, workers=1, progress=False)
    (tmp_path / "corpus.json").unlink()
    with pytest.raises(DataError, match=r"without corpus\.json"):
        make_corpus(tmp_path, 1, 0, 0, workers=1, progress=False)
    assert make_corpus(tmp_path, 1, 0, 0, workers=1, progress=False, overwrite=True).written == 1


def test_foreign_data_is_never_deleted(tmp_path: Path) -> None:
    (tmp_path / "train" / "mfcc").mkdir(parents=True)
    (tmp_path / "train" / "mfcc" / "real.npy").write_bytes(b"data")
    for overwrite in (False, True):
        with pytest.raises(DataError, match="choose an empty folder"):
            make_corpus(tmp_path, 1, 0, 0, workers=1, progress=False, overwrite=overwrite)
    assert (tmp_path / "train" / "mfcc" / "real.npy").read_bytes() == b"data"


def test_root_that_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "corpus"
    target.write_text("x")
    with pytest.raises(DataError, match="is a file, not a folder") as info:
        make_corpus(target, 1, 0, 0, workers=1, progress=False)
    assert str(target) in str(info.value)


def test_finished_corpus_is_not_rewritten(tmp_path: Path) -> None:
    make_corpus(tmp_path, 2, 1, 1, workers=1, progress=False)
    stamps = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    assert make_corpus(tmp_path, 2, 1, 1, workers=1, progress=False).written == 0
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")} == stamps


# --------------------------------------------------------------------------- errors, CLI


@pytest.mark.parametrize(
    "kwargs",
    [{"n_train": -1}, {"seed": -2}, {"workers": 0}, {"chunk_size": 0}],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict[str, int]) -> None:
    args = {"n_train": 1, "n_dev": 0, "n_test": 0, **kwargs}
    with pytest.raises(InputValueError):
        make_corpus(tmp_path, progress=False, **args)
    assert not list(tmp_path.iterdir())  # checked before anything is written


def test_bad_argument_types(tmp_path: Path) -> None:
    with pytest.raises(InputTypeError, match="n_train must be an int"):
        make_corpus(tmp_path, 1.5, 0, 0, progress=False)  # type: ignore[arg-type]


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
    # another seed: refused, then --overwrite
    assert main([str(tmp_path), "--train", "1", "--dev", "1", "--test", "1", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert "--overwrite" in err
    assert main([str(tmp_path), "--train", "1", "--dev", "1", "--test", "1", "--quiet",
                 "--overwrite"]) == 0  # fmt: skip
    assert synth.read_parameters(tmp_path)["seed"] == 0


def _file(tmp_path: Path) -> str:
    (tmp_path / "file").write_text("x")
    return str(tmp_path / "file")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--train", "-1"], "n_train must be >= 0, got -1"),
        (["--dev", "-3"], "n_dev must be >= 0, got -3"),
        (["--seed", "-1"], "seed must be >= 0, got -1"),
        (["--workers", "0"], "workers must be >= 1, got 0"),
        (["FILE"], "is a file, not a folder"),
        (["FILE/sub"], "Not a directory"),
    ],
)
def test_cli_user_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    root = str(tmp_path / "corpus")
    if args[0].startswith("FILE"):
        root, args = args[0].replace("FILE", _file(tmp_path)), []
    assert main([root, "--train", "1", "--dev", "0", "--test", "0", *args]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("error: ")
    assert captured.err.count("\n") == 1  # one line, no traceback
    assert message in captured.err
    assert "Traceback" not in captured.err
    assert not (tmp_path / "corpus").exists()  # checked before any work


def test_cli_debug_shows_the_traceback(tmp_path: Path) -> None:
    with pytest.raises(InputValueError, match="workers"):
        main([str(tmp_path), "--workers", "0", "--debug"])


def test_cli_usage_errors_keep_status_2(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as info:
        main([str(tmp_path), "--train", "many"])
    assert info.value.code == 2


def test_cli_read_only_root(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A folder the user cannot write to: one line, status 1."""
    folder = tmp_path / "locked"
    folder.mkdir()
    if os.geteuid() == 0:  # root writes through permissions: make the folder immutable
        if (
            shutil.which("chattr") is None
            or subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode
        ):
            pytest.skip("running as root without chattr +i: cannot make a read-only folder")
        unlock = ["chattr", "-i", str(folder)]
    else:
        folder.chmod(0o555)
        unlock = ["chmod", "755", str(folder)]
    try:
        status = main([str(folder), "--train", "1", "--dev", "0", "--test", "0", "--quiet"])
    finally:
        subprocess.run(unlock, check=True)
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert re.search("Permission denied|Operation not permitted", err)
    assert str(folder) in err
    assert not list(folder.iterdir())


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
