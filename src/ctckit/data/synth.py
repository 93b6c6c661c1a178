"""An embedded speech corpus: espeak-ng speech as HW3P2-style MFCCs, labels, texts and times.

The real HW3P2 data (LibriSpeech MFCCs) cannot be shipped, so
:func:`make_corpus` synthesises a learnable stand-in with espeak-ng (the
``synth`` extra installs the ``espeakng-loader`` wheel, which ships
``libespeak-ng`` and its data; no system package, no network):

1. a sentence of 3 to 12 words (uniform) from a seeded probabilistic
   grammar over word classes of about 1,200 common English words, drawn with
   Zipf weights (see :mod:`ctckit.data._text`), with a comma (a pause) after
   about one word in ten, is spoken by one of many espeak-ng English voices
   (8 accents x 45 voice variants) at a random rate, pitch and pitch range;
2. espeak-ng's phoneme events give each phoneme's mnemonic and start sample;
   they are mapped to the 40 HW3P2 symbols (``SIL`` and 39 ARPAbet phonemes)
   by a complete table (see :data:`PHONEME_MAP`); an unmapped phoneme raises
   :class:`~ctckit.errors.InputValueError`. Pauses of at least 30 ms become
   ``SIL``, and every utterance starts and ends with 50 to 300 ms of silence
   labelled ``SIL``;
3. the 22050 Hz audio is resampled to 16 kHz (a Kaiser-windowed sinc
   polyphase filter), white noise is added at a random SNR of 10 to 40 dB, and
   13 MFCCs per 10 ms frame are computed with :func:`ctckit.features.mfcc`;
4. the phoneme events also give each label's span in MFCC frames and each
   word's (see :mod:`ctckit.data._timing`: a stop's silent closure belongs to
   the stop; a label owns the frames whose window centre falls in its span);
5. every word the corpus speaks is pronounced alone by each of the 8
   accents; the distinct pronunciations make the isolated lexicon, which
   splits a word event that holds several words (step 4);
6. the decoding lexicon adds to it the pronunciations the sentences speak in
   context (weak forms such as "a" ``AH``, linking r): each train word's labels
   (the labels inside its frames), kept when a form occurs at least
   :data:`MIN_CONTEXT_COUNT` times in train. Only train feeds it, so a decoder
   tested on dev or test meets no form learned from them.

Layout written under ``root`` (the HW3P2 layout, see ``DESIGN.md``, plus
annotations)::

    corpus.json                   generation parameters (generator version,
                                  espeak-ng version, seed, sizes)
    manifest.csv                  partition, file, voice, rate, pitch, pitch_range,
                                  snr_db, text (as espeak-ng read it, commas kept)
    lexicon.txt                   'word tok1 tok2 ...', one line per pronunciation:
                                  the decoding lexicon (isolated + in-context forms)
    lexicon_isolated.txt          the same format: each word spoken alone
    train/mfcc/000000.npy         float32 (T, 13)
    train/transcript/000000.npy   str array '<sos>' SIL ... SIL '<eos>' (U + 2 labels)
    train/text/000000.txt         UTF-8 words, lower case, single spaces, no newline
    train/alignment/000000.npy    int32 (U, 2) [start, end) frames of each label
    train/words/000000.npy        int32 (W, 2) [start, end) frames of each word
    dev/...                       the same
    test/mfcc/000000.npy
    test/test_order.csv           header 'file', one name a row
    test_transcripts/, test_text/, test_alignment/, test_words/
                                  the test annotations, kept outside test/

Dev and test voices (accent + variant) are held out from train: each accent
gives 3 of its variants to dev, 3 to test and the rest to train, so dev and
test measure generalisation to unseen speakers, not to unseen accents.

Every utterance's parameters come from ``(seed, partition, index)`` alone, so
a corpus is identical whatever the number of workers; files are written
atomically and existing utterances are skipped, so an interrupted run resumes
where it stopped, and asking for more utterances with the same seed grows a
corpus into exactly the corpus a fresh run of that size makes. A root made
with another seed, generator version or espeak-ng, or with more utterances
than asked for, is refused (``overwrite=True`` regenerates it). The synthesis
reads only ``lexicon_isolated.txt``, so the in-context forms never change how
words are split; ``lexicon.txt`` is rebuilt from the train annotations by every
:func:`make_corpus` call (and by :func:`write_corpus_lexicon`, ``ctckit-synth ROOT
--lexicon-only``), which also upgrades a corpus made before
``lexicon_isolated.txt`` existed: its ``lexicon.txt`` is the isolated lexicon. espeak-ng
keeps process-global state, so parallel work runs in separate processes
(``forkserver``/``spawn``), each with its own engine.

Example:
    >>> import tempfile, numpy as np
    >>> info = make_corpus(tempfile.mkdtemp(), 1, 1, 1, progress=False, workers=1)
    >>> info.n_train, info.n_dev, info.n_test, info.written
    (1, 1, 1, 3)
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import csv
import functools
import io
import itertools
import json
import multiprocessing
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from tqdm.auto import tqdm

from ctckit._checks import check_int
from ctckit._cli import add_debug_flag, run_cli
from ctckit.data._lexicon import (
    Lexicon,
    build_lexicon,
    complete_lexicon,
    context_pronunciations,
    count_forms,
    lexicon_text,
    read_lexicon,
)
from ctckit.data._phonemes import ESPEAK_TO_ARPABET
from ctckit.data._text import pause_allowed, text_model
from ctckit.data._timing import (
    frame_spans,
    label_spans,
    segments,
    word_of_labels,
    word_spans,
)
from ctckit.errors import DataError, InputValueError
from ctckit.files import atomic_write_bytes

__all__ = [
    "ACCENTS",
    "GENERATOR_VERSION",
    "ISOLATED_LEXICON_FILE",
    "LEXICON_FILE",
    "MIN_CONTEXT_COUNT",
    "PARAMETERS_FILE",
    "PARTITIONS",
    "PHONEME_MAP",
    "SAMPLE_RATE",
    "VARIANTS",
    "CorpusInfo",
    "UtteranceSpec",
    "ctc_min_frames",
    "main",
    "make_corpus",
    "read_alignments",
    "read_parameters",
    "read_texts",
    "read_word_spans",
    "resample",
    "split_folder",
    "utterance_spec",
    "voice_split",
    "write_corpus_lexicon",
]

#: Version of what :func:`make_corpus` writes; raised whenever the same seed
#: would give other files, so that an old corpus is never resumed by new code.
#: 1: uniform random words (ctckit 0.1); 2: texts, times, words and lexicon.
GENERATOR_VERSION = 2
#: The file beside the corpus that records its generation parameters.
PARAMETERS_FILE = "corpus.json"
#: The decoding lexicon beside the corpus (torchaudio/flashlight format): the isolated
#: pronunciations and the in-context forms of the train utterances.
LEXICON_FILE = "lexicon.txt"
#: The isolated lexicon (each word spoken alone by every accent): what splits word events.
ISOLATED_LEXICON_FILE = "lexicon_isolated.txt"
#: In-context forms spoken fewer times in train are left out of :data:`LEXICON_FILE`.
MIN_CONTEXT_COUNT = 2

#: espeak-ng English voices (accents) the corpus uses.
ACCENTS: tuple[str, ...] = (
    "en",
    "en-us",
    "en-gb-x-rp",
    "en-029",
    "en-gb-scotland",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-us-nyc",
)

#: espeak-ng voice variants (speaker characteristics) combined with every accent.
VARIANTS: tuple[str, ...] = (
    "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5",
    "klatt", "klatt2", "klatt3", "klatt4", "klatt5", "klatt6", "adam", "Alex", "Andy",
    "Annie", "aunty", "belinda", "benjamin", "david", "ed", "edward", "grandma", "grandpa",
    "ian", "iven", "john", "linda", "max", "michel", "Mike", "norbert", "paul", "quincy",
    "rob", "robert", "shelby", "steph",
)  # fmt: skip

#: espeak-ng English phoneme mnemonic (without stress marks) -> HW3P2 symbols.
PHONEME_MAP: dict[str, tuple[str, ...]] = ESPEAK_TO_ARPABET

#: The partitions :func:`make_corpus` writes.
PARTITIONS: tuple[str, ...] = ("train", "dev", "test")
#: Sample rate of the audio the MFCCs are computed from, in Hz.
SAMPLE_RATE = 16000
_TRASH_PREFIX = ".ctckit-trash-"
_HELD_OUT_PER_ACCENT = 3
_SPLIT_SEED = 20240521  # fixed: the voice split does not change with the corpus seed
_MAX_TRIES = 4
_PER_WORKER = 100
_COMMA_PROBABILITY = 0.21  # of a comma where a pause may fall (about 1 word in 10)


@dataclass(frozen=True)
class CorpusInfo:
    """What :func:`make_corpus` did.

    Attributes:
        root: The corpus folder.
        n_train: Utterances in ``train/``.
        n_dev: Utterances in ``dev/``.
        n_test: Utterances in ``test/``.
        written: Utterances synthesised in this call (the rest were on disk).
        audio_seconds: Seconds of 16 kHz audio synthesised in this call.
        wall_seconds: Wall-clock seconds this call took.
        real_time_factor: ``audio_seconds / wall_seconds`` (higher is faster).

    Example:
        >>> CorpusInfo("c", 1, 0, 0, 1, 3.0, 0.5, 6.0).real_time_factor
        6.0
    """

    root: str
    n_train: int
    n_dev: int
    n_test: int
    written: int
    audio_seconds: float
    wall_seconds: float
    real_time_factor: float


@dataclass(frozen=True)
class UtteranceSpec:
    """The random choices for one utterance (a pure function of seed, partition, index).

    Attributes:
        partition: ``"train"``, ``"dev"`` or ``"test"``.
        index: Utterance number within the partition.
        name: File name, e.g. ``"000007.npy"``.
        words: The words spoken: a sentence of 3 to 12 words of the text
            model (:mod:`ctckit.data._text`).
        text: What espeak-ng reads: the words, with a comma (a pause) after
            about one word in ten.
        voice: espeak-ng voice name with variant, e.g. ``"en-us+f3"``.
        rate: Speaking rate in words per minute.
        pitch: Base pitch (0-100).
        pitch_range: Pitch range (0-100).
        snr_db: Signal-to-noise ratio of the added white noise, in dB.
        lead_s: Silence before the speech, in seconds.
        tail_s: Silence after the speech, in seconds.
        noise_seed: Seed of the noise generator.

    Example:
        >>> spec = utterance_spec(0, "train", 7)
        >>> spec.name, 3 <= len(spec.words) <= 12
        ('000007.npy', True)
    """

    partition: str
    index: int
    name: str
    words: tuple[str, ...]
    text: str
    voice: str
    rate: int
    pitch: int
    pitch_range: int
    snr_db: float
    lead_s: float
    tail_s: float
    noise_seed: int


def voice_split() -> dict[str, tuple[str, ...]]:
    """Return the voices (``accent+variant``) of each partition; dev and test are held out.

    Returns:
        ``{"train": ..., "dev": ..., "test": ...}``, disjoint tuples of voice names.

    Example:
        >>> split = voice_split()
        >>> set(split["train"]) & set(split["dev"]), len(split["dev"]) == len(split["test"])
        (set(), True)
    """
    return dict(_voice_split())


@functools.cache
def _voice_split() -> tuple[tuple[str, tuple[str, ...]], ...]:
    rng = np.random.default_rng(_SPLIT_SEED)
    split: dict[str, list[str]] = {name: [] for name in PARTITIONS}
    for accent in ACCENTS:
        order = rng.permutation(len(VARIANTS))
        names = [f"{accent}+{VARIANTS[i]}" for i in order]
        k = _HELD_OUT_PER_ACCENT
        split["dev"].extend(names[:k])
        split["test"].extend(names[k : 2 * k])
        split["train"].extend(names[2 * k :])
    return tuple((name, tuple(voices)) for name, voices in split.items())


def utterance_spec(seed: int, partition: str, index: int) -> UtteranceSpec:
    """Draw the parameters of one utterance from ``(seed, partition, index)``.

    Args:
        seed: Corpus seed (non-negative).
        partition: ``"train"``, ``"dev"`` or ``"test"``.
        index: Utterance number (non-negative).

    Returns:
        The :class:`UtteranceSpec`; its voice belongs to the partition's voices.

    Raises:
        InputValueError: On an unknown partition or a negative seed or index.

    Example:
        >>> utterance_spec(3, "dev", 1) == utterance_spec(3, "dev", 1)
        True
    """
    if partition not in PARTITIONS:
        raise InputValueError(f"partition must be one of {PARTITIONS}, got {partition!r}")
    if seed < 0 or index < 0:
        raise InputValueError(f"seed and index must be >= 0, got seed={seed}, index={index}")
    return _utterance_spec(seed, partition, index)


@functools.lru_cache(maxsize=8192)
def _utterance_spec(seed: int, partition: str, index: int) -> UtteranceSpec:
    key = [seed, PARTITIONS.index(partition), index]
    rng = np.random.default_rng(key)
    voices = voice_split()[partition]
    n_words = int(rng.integers(3, 13))
    words = text_model().sentence(np.random.default_rng([*key, 1]), n_words)
    commas = (rng.random(n_words - 1) < _COMMA_PROBABILITY) & pause_allowed(words)
    text = words[0] + "".join(("," if c else "") + " " + w for c, w in zip(commas, words[1:]))
    return UtteranceSpec(
        partition=partition,
        index=index,
        name=f"{index:06d}.npy",
        words=words,
        text=text,
        voice=voices[int(rng.integers(0, len(voices)))],
        rate=int(rng.integers(130, 231)),
        pitch=int(rng.integers(25, 76)),
        pitch_range=int(rng.integers(30, 81)),
        snr_db=float(rng.uniform(10.0, 40.0)),
        lead_s=float(rng.uniform(0.05, 0.3)),
        tail_s=float(rng.uniform(0.05, 0.3)),
        noise_seed=int(rng.integers(0, 2**31 - 1)),
    )


# --------------------------------------------------------------------------- resampling

_KERNEL_CACHE: dict[tuple[int, int, int], npt.NDArray[np.float32]] = {}


def _polyphase_kernel(up: int, down: int, half_width: int) -> npt.NDArray[np.float32]:
    key = (up, down, half_width)
    if key not in _KERNEL_CACHE:
        cutoff = 0.5 * min(1.0, up / down) * 0.94  # cycles per input sample
        phases = np.arange(up, dtype=np.float64)[:, None] / up  # fractional input position
        taps = np.arange(-half_width + 1, half_width + 1, dtype=np.float64)[None, :]
        distance = taps - phases  # input tap minus output position, in input samples
        window = np.kaiser(2 * half_width * 64 + 1, 8.6)
        position = np.clip(distance / half_width, -1.0, 1.0)
        w = np.interp(position, np.linspace(-1.0, 1.0, window.size), window)
        kernel = 2 * cutoff * np.sinc(2 * cutoff * distance) * w
        _KERNEL_CACHE[key] = kernel.astype(np.float32)
    return _KERNEL_CACHE[key]


def resample(
    waveform: npt.NDArray[np.floating[Any]], orig_rate: int, new_rate: int, half_width: int = 24
) -> npt.NDArray[np.float32]:
    """Resample a 1-D signal by an exact rational factor with a windowed-sinc filter.

    Output sample ``n`` is the band-limited interpolation of the input at time
    ``n / new_rate``, low-pass filtered at 94% of the lower Nyquist frequency
    (Kaiser window, beta 8.6, ``2 * half_width`` taps per output sample).

    Args:
        waveform: Samples, shape ``(N,)``.
        orig_rate: Sample rate of ``waveform`` in Hz.
        new_rate: Wanted sample rate in Hz.
        half_width: Filter half-length in input samples.

    Returns:
        float32 samples, shape ``(ceil(N * new_rate / orig_rate),)``.

    Raises:
        ShapeError: When ``waveform`` is not 1-D.
        InputValueError: On non-positive rates or ``half_width``.

    Example:
        >>> t = np.arange(22050) / 22050
        >>> y = resample(np.sin(2 * np.pi * 440 * t), 22050, 16000)
        >>> y.shape, bool(abs(y[8000] - np.sin(2 * np.pi * 440 * 0.5)) < 1e-3)
        ((16000,), True)
    """
    from ctckit.errors import ShapeError

    x = np.asarray(waveform, dtype=np.float32)
    if x.ndim != 1:
        raise ShapeError(f"expected a 1-D waveform (N,), got shape {x.shape}")
    if orig_rate <= 0 or new_rate <= 0 or half_width <= 0:
        raise InputValueError(
            f"rates and half_width must be positive, got {orig_rate}, {new_rate}, {half_width}"
        )
    g = int(np.gcd(orig_rate, new_rate))
    up, down = new_rate // g, orig_rate // g
    n_out = -(-x.size * up // down)
    if n_out == 0:
        return np.zeros(0, np.float32)
    # Output n = up * m + r reads inputs down * m + base[r] + (1 - W ... W) with the
    # filter of phase[r]: gather one (up, 2W) block of windows per m and contract.
    base, phase = np.divmod(np.arange(up) * down, up)
    kernel = _polyphase_kernel(up, down, half_width)[phase]  # (up, 2W)
    blocks = -(-n_out // up)
    size = (blocks - 1) * down + int(base.max()) + 2 * half_width + 1
    padded = np.zeros(max(size, half_width + x.size), np.float32)
    padded[half_width : half_width + x.size] = x  # padded[i] = x[i - half_width]
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half_width)
    rows = np.arange(blocks)[:, None] * down + base[None, :] + 1
    out = np.einsum("mrk,rk->mr", windows[rows], kernel).reshape(-1)[:n_out]
    return np.ascontiguousarray(out, dtype=np.float32)


# --------------------------------------------------------------------------- synthesis


@dataclass(frozen=True)
class _Utterance:
    features: npt.NDArray[np.float32]
    labels: tuple[str, ...]
    alignment: npt.NDArray[np.int32]  # (U, 2) frames per label
    word_spans: npt.NDArray[np.int32]  # (W, 2) frames per word
    audio_seconds: float


def ctc_min_frames(labels: Sequence[str]) -> int:
    """Frames CTC needs for ``labels``: their count plus one blank per adjacent repeat.

    Args:
        labels: A label sequence, length ``U``.

    Returns:
        ``U`` plus the number of positions where a label repeats its predecessor.

    Example:
        >>> ctc_min_frames(["SIL", "AH", "AH", "SIL"])
        5
    """
    return len(labels) + sum(a == b for a, b in itertools.pairwise(labels))


def _synthesize(spec: UtteranceSpec, lexicon: Mapping[str, Sequence[Sequence[str]]]) -> _Utterance:
    import torch

    from ctckit.data._espeak import synthesize
    from ctckit.features import mfcc

    rate = spec.rate
    for _ in range(_MAX_TRIES):
        result = synthesize(spec.text, spec.voice, rate, spec.pitch,
                            spec.pitch_range, seed=spec.noise_seed)  # fmt: skip
        segs = segments(result.phonemes, result.starts, result.audio.size, result.word_of,
                        result.audio)  # fmt: skip
        labels = label_spans(segs, result.audio.size, result.sample_rate)
        symbols = [label.symbol for label in labels]
        speech = resample(result.audio.astype(np.float32) / 32768.0, result.sample_rate,
                          SAMPLE_RATE)  # fmt: skip
        lead = np.zeros(int(spec.lead_s * SAMPLE_RATE), np.float32)
        tail = np.zeros(int(spec.tail_s * SAMPLE_RATE), np.float32)
        signal = np.concatenate([lead, speech, tail])
        power = float(np.mean(speech.astype(np.float64) ** 2)) if speech.size else 0.0
        noise_rng = np.random.default_rng(spec.noise_seed)
        noise_std = np.sqrt(max(power, 1e-10) / 10.0 ** (spec.snr_db / 10.0))
        signal += noise_rng.standard_normal(signal.size, dtype=np.float32) * np.float32(noise_std)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # the same arithmetic whatever the worker layout
        try:
            features = mfcc(torch.from_numpy(signal), SAMPLE_RATE, n_mfcc=13)
        finally:
            torch.set_num_threads(threads)
        array = np.ascontiguousarray(features.numpy(), dtype=np.float32)
        if array.shape[0] >= ctc_min_frames(symbols):
            spans = frame_spans([label.start for label in labels], result.sample_rate,
                                lead.size, array.shape[0], SAMPLE_RATE)  # fmt: skip
            owner = word_of_labels(labels, spec.words, lexicon)
            words = word_spans(owner, spans, len(spec.words))
            return _Utterance(array, tuple(symbols), spans, words, signal.size / SAMPLE_RATE)
        rate = max(80, int(rate * 0.8))
    raise InputValueError(
        f"utterance {spec.partition}/{spec.name}: {array.shape[0]} MFCC frames cannot "
        f"align {len(symbols)} labels even at rate {rate}"
    )


# --------------------------------------------------------------------------- files

#: What each utterance has on disk: kind -> file suffix.
_KINDS = {"mfcc": ".npy", "transcript": ".npy", "text": ".txt", "alignment": ".npy",
          "words": ".npy"}  # fmt: skip
#: Where test annotations live: outside test/, so that test/ looks like the real HW3P2 test set.
_TEST_FOLDERS = {"mfcc": "test/mfcc", "transcript": "test_transcripts", "text": "test_text",
                 "alignment": "test_alignment", "words": "test_words"}  # fmt: skip
#: Every path of a corpus root that make_corpus writes (overwrite=True removes exactly these).
_OWNED = ("train", "dev", "test", *(f for f in _TEST_FOLDERS.values() if "/" not in f),
          "manifest.csv", LEXICON_FILE, ISOLATED_LEXICON_FILE, PARAMETERS_FILE)  # fmt: skip
_MANIFEST_HEADER = "partition,file,voice,rate,pitch,pitch_range,snr_db,text"


def split_folder(root: str | os.PathLike[str], split: str, kind: str) -> Path:
    """The folder that holds one kind of file of one partition of a corpus.

    Test annotations are kept outside ``test/`` (as the real HW3P2 test set
    has none): ``test_transcripts/``, ``test_text/``, ``test_alignment/``,
    ``test_words/``.

    Args:
        root: The corpus folder.
        split: ``"train"``, ``"dev"`` or ``"test"``.
        kind: ``"mfcc"``, ``"transcript"``, ``"text"``, ``"alignment"`` or ``"words"``.

    Returns:
        The folder (which may not exist).

    Raises:
        InputValueError: On an unknown split or kind.

    Example:
        >>> split_folder("corpus", "dev", "text").as_posix()
        'corpus/dev/text'
        >>> split_folder("corpus", "test", "alignment").as_posix()
        'corpus/test_alignment'
    """
    if split not in PARTITIONS:
        raise InputValueError(f"split must be one of {PARTITIONS}, got {split!r}")
    if kind not in _KINDS:
        raise InputValueError(f"kind must be one of {tuple(_KINDS)}, got {kind!r}")
    base = Path(root)
    return base / _TEST_FOLDERS[kind] if split == "test" else base / split / kind


def _npy_bytes(array: npt.NDArray[np.generic]) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _paths(root: Path, spec: UtteranceSpec) -> dict[str, Path]:
    stem = Path(spec.name).stem
    return {kind: split_folder(root, spec.partition, kind) / (stem + suffix)
            for kind, suffix in _KINDS.items()}  # fmt: skip


def _is_done(root: Path, spec: UtteranceSpec) -> bool:
    return all(path.exists() for path in _paths(root, spec).values())


def _write(
    root: Path, spec: UtteranceSpec, utterance: _Utterance, files: concurrent.futures.Executor
) -> None:
    """Write one utterance's files: the annotations at once (in ``files``), the MFCCs last."""
    paths = _paths(root, spec)
    transcript = np.array(["<sos>", *utterance.labels, "<eos>"])
    contents = {
        "transcript": _npy_bytes(transcript),
        "text": " ".join(spec.words).encode("utf-8"),
        "alignment": _npy_bytes(utterance.alignment),
        "words": _npy_bytes(utterance.word_spans),
    }
    # fsyncs issued together cost about one: the journal commits them at once
    writes = [files.submit(atomic_write_bytes, paths[k], data) for k, data in contents.items()]
    for write in writes:
        write.result()
    atomic_write_bytes(paths["mfcc"], _npy_bytes(utterance.features))  # last: marks it done


def _work(
    root: str,
    seed: int,
    jobs: Sequence[tuple[str, int]],
    lexicon: Mapping[str, Sequence[Sequence[str]]],
) -> float:
    """Synthesise and write ``jobs``; returns the audio seconds produced (runs in workers).

    Writing (with its fsyncs) runs in background threads, overlapping the next
    utterance's synthesis; every write has finished when this returns.
    """
    seconds = 0.0
    with (
        concurrent.futures.ThreadPoolExecutor(2) as writer,
        concurrent.futures.ThreadPoolExecutor(8) as files,
    ):
        pending = []
        for partition, index in jobs:
            spec = utterance_spec(seed, partition, index)
            utterance = _synthesize(spec, lexicon)
            pending.append(writer.submit(_write, Path(root), spec, utterance, files))
            seconds += utterance.audio_seconds
        for future in pending:
            future.result()
    return seconds


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


def _chunks(items: Sequence[tuple[str, int]], size: int) -> Iterator[list[tuple[str, int]]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _write_if_changed(path: Path, data: bytes) -> None:
    """Write ``data`` atomically unless ``path`` holds it already (a done corpus stays as it is)."""
    try:
        if path.read_bytes() == data:
            return
    except OSError:
        pass
    atomic_write_bytes(path, data)


def _write_manifest(root: Path, seed: int, counts: Mapping[str, int]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(_MANIFEST_HEADER.split(","))
    for partition in PARTITIONS:
        for index in range(counts[partition]):
            s = utterance_spec(seed, partition, index)
            writer.writerow([partition, s.name, s.voice, s.rate, s.pitch, s.pitch_range,
                             f"{s.snr_db:.2f}", s.text])  # fmt: skip
    _write_if_changed(root / "manifest.csv", buffer.getvalue().encode())
    order = "file\n" + "".join(f"{i:06d}.npy\n" for i in range(counts["test"]))
    _write_if_changed(root / "test" / "test_order.csv", order.encode())


# --------------------------------------------------------------------------- parameters


def _parameters(seed: int, counts: Mapping[str, int]) -> dict[str, Any]:
    from ctckit.data._espeak import version

    return {
        "format": "ctckit-synth",
        "generator": GENERATOR_VERSION,
        "espeak_ng": version(),
        "seed": seed,
        "sizes": dict(counts),
    }


def _read_parameters(root: Path) -> dict[str, Any] | None:
    path = root / PARAMETERS_FILE
    if not path.exists():
        return None
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(
            f"unreadable corpus parameters ({err}); regenerate the corpus with "
            "overwrite=True (ctckit-synth --overwrite)",
            path=path,
        ) from None
    sizes = recorded.get("sizes") if isinstance(recorded, dict) else None
    if not isinstance(sizes, dict) or any(not isinstance(sizes.get(p), int) for p in PARTITIONS):
        raise DataError(
            f"expected a JSON object with 'generator', 'seed' and 'sizes' "
            f"{{'train': N, 'dev': N, 'test': N}}, got {recorded!r}; regenerate the corpus "
            "with overwrite=True (ctckit-synth --overwrite)",
            path=path,
        )
    return dict(recorded)


def _differences(recorded: Mapping[str, Any], wanted: Mapping[str, Any]) -> list[str]:
    """What keeps a corpus made with ``recorded`` from being resumed or grown to ``wanted``."""
    names = {"generator": "generator version", "espeak_ng": "espeak-ng", "seed": "seed"}
    out = [
        f"{name} {recorded.get(key)!r} (asked for {wanted[key]!r})"
        for key, name in names.items()
        if recorded.get(key) != wanted[key]
    ]
    for partition in PARTITIONS:
        have, want = recorded["sizes"][partition], wanted["sizes"][partition]
        if want < have:
            out.append(f"{have} {partition} utterances (asked for {want}; a corpus only grows)")
    return out


def _has_corpus_files(root: Path) -> bool:
    return root.is_dir() and any((root / name).exists() for name in _OWNED)


def _made_by_ctckit(root: Path) -> bool:
    """True if ``root`` holds a corpus of this module, of any generator version."""
    if (root / PARAMETERS_FILE).exists():
        return True
    try:
        with open(root / "manifest.csv", encoding="utf-8") as handle:
            return handle.readline().strip() == _MANIFEST_HEADER
    except (OSError, UnicodeDecodeError):
        return False


def _clear(root: Path) -> None:
    """Remove the corpus's own files (nothing else) from ``root``.

    Each path is first renamed into a trash folder (atomic), the parameters
    last, so an interruption leaves either the old parameters beside a part of
    the old corpus (which resumes as the old corpus) or no corpus at all.
    """
    trash = Path(tempfile.mkdtemp(prefix=_TRASH_PREFIX, dir=root))
    for name in _OWNED:  # PARAMETERS_FILE is the last
        if (root / name).exists() or (root / name).is_symlink():
            os.replace(root / name, trash / name)
    shutil.rmtree(trash, ignore_errors=True)


def _prepare_root(root: Path, wanted: dict[str, Any], overwrite: bool) -> None:
    """Check ``root`` against the parameters asked for; clear it when asked; record them."""
    if root.exists() and not root.is_dir():
        raise DataError("is a file, not a folder: give make_corpus a folder for the corpus", root)
    for leftover in root.glob(f"{_TRASH_PREFIX}*") if root.is_dir() else ():
        shutil.rmtree(leftover, ignore_errors=True)  # an interrupted overwrite
    if overwrite and _has_corpus_files(root):
        if not _made_by_ctckit(root):
            raise DataError(
                "holds train/, dev/ or test/ data that ctckit-synth did not make (no "
                f"{PARAMETERS_FILE} or ctckit manifest.csv); not deleting it: choose an empty "
                "folder for the corpus",
                root,
            )
        _clear(root)
    recorded = _read_parameters(root) if root.is_dir() else None
    if recorded is None and _has_corpus_files(root):
        raise DataError(
            f"holds a corpus without {PARAMETERS_FILE} (made by an older ctckit-synth, or not "
            "by ctckit-synth), so it cannot be resumed; regenerate it with overwrite=True "
            "(ctckit-synth --overwrite) or choose an empty folder",
            root,
        )
    if recorded is not None:
        differences = _differences(recorded, wanted)
        if differences:
            raise DataError(
                f"holds a corpus made with {'; '.join(differences)}; regenerate it with "
                "overwrite=True (ctckit-synth --overwrite) or choose another folder",
                root,
            )
    if recorded != wanted:
        text = json.dumps(wanted, indent=2, sort_keys=True) + "\n"
        atomic_write_bytes(root / PARAMETERS_FILE, text.encode("utf-8"))


def read_parameters(root: str | os.PathLike[str]) -> dict[str, Any]:
    """The generation parameters recorded in a corpus's ``corpus.json``.

    Args:
        root: The corpus folder.

    Returns:
        The recorded JSON object: ``format`` (``"ctckit-synth"``),
        ``generator`` (int), ``espeak_ng`` (version string), ``seed`` (int)
        and ``sizes`` (``train``, ``dev`` and ``test`` counts).

    Raises:
        DataError: When the file is missing or malformed.

    Example:
        >>> import tempfile
        >>> root = tempfile.mkdtemp()
        >>> _ = make_corpus(root, 1, 0, 0, seed=3, progress=False, workers=1)
        >>> params = read_parameters(root)
        >>> params["seed"], params["sizes"], params["generator"] == GENERATOR_VERSION
        (3, {'dev': 0, 'test': 0, 'train': 1}, True)
    """
    recorded = _read_parameters(Path(root))
    if recorded is None:
        raise DataError(f"no {PARAMETERS_FILE}: not a corpus made by make_corpus", path=root)
    return recorded


# --------------------------------------------------------------------------- make_corpus


def make_corpus(
    root: str | os.PathLike[str],
    n_train: int,
    n_dev: int,
    n_test: int,
    seed: int = 0,
    workers: int | None = None,
    progress: bool = True,
    chunk_size: int = 8,
    *,
    overwrite: bool = False,
) -> CorpusInfo:
    """Synthesise an HW3P2-layout corpus of espeak-ng speech under ``root``.

    See the module documentation for what is synthesised and the layout.
    ``root/corpus.json`` records the generation parameters. A root that holds
    a corpus is resumed (its missing utterances are made) when it was made
    with the same generator, espeak-ng and seed, and grown when more
    utterances are asked for; anything else is refused unless ``overwrite``.

    Args:
        root: Output folder (created if missing).
        n_train: Utterances in ``train/``.
        n_dev: Utterances in ``dev/`` (voices held out from train).
        n_test: Utterances in ``test/`` (voices held out from train and dev).
        seed: Corpus seed; the same seed gives identical files.
        workers: Worker processes; ``None`` uses every CPU, ``1`` works in this
            process. At most one process per 100 utterances to synthesise is started.
            More than one starts a ``forkserver`` (or ``spawn``) pool, so a script
            must call this under ``if __name__ == "__main__":``.
        progress: Show a tqdm progress bar.
        chunk_size: Utterances per task sent to a worker.
        overwrite: Delete the corpus already in ``root`` (only the files a
            corpus consists of) and make a new one.

    Returns:
        A :class:`CorpusInfo` with counts, audio seconds and speed.

    Raises:
        InputValueError: On negative counts or seed, ``workers`` or ``chunk_size`` < 1.
        InputTypeError: On a count, seed, ``workers`` or ``chunk_size`` that is not an int.
        DataError: When ``root`` is a file, or holds a corpus made with other
            parameters (another seed or generator, more utterances) or by
            something else, and ``overwrite`` is false.
        MissingDependencyError: When ``espeakng-loader`` (extra ``synth``) is missing.

    Example:
        >>> import tempfile
        >>> make_corpus(tempfile.mkdtemp(), 2, 0, 0, progress=False, workers=1).n_train
        2
    """
    counts = {
        "train": check_int(n_train, "n_train", 0),
        "dev": check_int(n_dev, "n_dev", 0),
        "test": check_int(n_test, "n_test", 0),
    }
    seed = check_int(seed, "seed", 0)
    if workers is not None:
        workers = check_int(workers, "workers", 1)
    chunk_size = check_int(chunk_size, "chunk_size", 1)
    from ctckit._optional import import_optional

    import_optional("espeakng_loader", extra="synth")  # fail early, in this process
    start_time = time.perf_counter()
    out = Path(root)
    _prepare_root(out, _parameters(seed, counts), overwrite)
    for partition in PARTITIONS:
        for kind in _KINDS:
            folder = split_folder(out, partition, kind)
            if not folder.is_dir():
                folder.mkdir(parents=True, exist_ok=True)
    specs = [utterance_spec(seed, p, i) for p in PARTITIONS for i in range(counts[p])]
    todo = [(s.partition, s.index) for s in specs if not _is_done(out, s)]
    # A worker process costs seconds to start (it imports torch): one per
    # _PER_WORKER utterances at most, so small corpora stay in this process.
    n_workers = min(workers or os.cpu_count() or 1, max(1, len(todo) // _PER_WORKER))
    audio_seconds = 0.0
    with contextlib.ExitStack() as stack:
        pool = None
        if n_workers > 1:
            method = (
                "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
            )
            pool = stack.enter_context(
                concurrent.futures.ProcessPoolExecutor(
                    n_workers, mp_context=multiprocessing.get_context(method),
                    initializer=_init_worker,
                )
            )  # fmt: skip
        lexicon = _isolated_lexicon(out, [w for s in specs for w in s.words], pool)
        bar = stack.enter_context(
            tqdm(total=len(todo), disable=not progress, unit="utt", desc="synthesising")
        )
        if pool is None:
            for chunk in _chunks(todo, chunk_size):
                audio_seconds += _work(str(out), seed, chunk, lexicon)
                bar.update(len(chunk))
        else:
            futures = {
                pool.submit(_work, str(out), seed, chunk, lexicon): len(chunk)
                for chunk in _chunks(todo, chunk_size)
            }
            for future in concurrent.futures.as_completed(futures):
                audio_seconds += future.result()
                bar.update(futures[future])
    write_corpus_lexicon(out)
    _write_manifest(out, seed, counts)
    wall = time.perf_counter() - start_time
    return CorpusInfo(
        root=str(out),
        n_train=counts["train"],
        n_dev=counts["dev"],
        n_test=counts["test"],
        written=len(todo),
        audio_seconds=audio_seconds,
        wall_seconds=wall,
        real_time_factor=audio_seconds / wall if wall > 0 else 0.0,
    )


def _known_isolated(root: Path) -> Lexicon | None:
    """The isolated lexicon on disk; a corpus older than its file keeps it in ``lexicon.txt``."""
    for name in (ISOLATED_LEXICON_FILE, LEXICON_FILE):
        if (root / name).exists():
            return read_lexicon(root / name)
    return None


def _isolated_lexicon(
    root: Path, words: Sequence[str], pool: concurrent.futures.Executor | None
) -> Lexicon:
    """The isolated lexicon of ``words``: read from the corpus, completed, written if changed.

    The accents are spoken in ``pool`` when one is given.
    """
    known = _known_isolated(root) or {}
    lexicon = build_lexicon(words, ACCENTS, known=known, map_accents=pool.map if pool else map)
    _write_if_changed(root / ISOLATED_LEXICON_FILE, lexicon_text(lexicon).encode("utf-8"))
    return lexicon


def _train_forms(root: Path, n_train: int) -> Iterator[tuple[list[str], list[tuple[str, ...]]]]:
    """Each train utterance's words and their in-context pronunciations, from its files."""
    for index in range(n_train):
        paths = {kind: split_folder(root, "train", kind) / f"{index:06d}{suffix}"
                 for kind, suffix in _KINDS.items()}  # fmt: skip
        arrays = {}
        for kind in ("transcript", "alignment", "words"):
            try:
                arrays[kind] = np.load(paths[kind], allow_pickle=False)
            except (OSError, ValueError) as err:
                raise DataError(f"not a readable .npy array ({err})", paths[kind]) from None
        try:
            words = paths["text"].read_bytes().decode("utf-8").split()
        except (OSError, UnicodeDecodeError) as err:
            raise DataError(f"not a readable UTF-8 text ({err})", paths["text"]) from None
        labels = [str(label) for label in arrays["transcript"][1:-1]]
        source = f"{paths['words']} (with {paths['alignment'].name} of alignment/)"
        yield words, context_pronunciations(words, labels, arrays["alignment"],
                                            arrays["words"], source)  # fmt: skip


def write_corpus_lexicon(
    root: str | os.PathLike[str], min_count: int = MIN_CONTEXT_COUNT
) -> Lexicon:
    """(Re)build a corpus's decoding lexicon ``lexicon.txt`` from its annotations.

    The isolated lexicon (``lexicon_isolated.txt``) plus every pronunciation
    a train word is spoken with (the labels inside its frames) at least
    ``min_count`` times; dev and test are not read. A corpus made before
    ``lexicon_isolated.txt`` existed has its isolated lexicon in
    ``lexicon.txt``: it is first copied to ``lexicon_isolated.txt``. No audio
    is synthesised; the result depends only on the corpus's files, so a grown
    corpus gets the lexicon of a fresh one. :func:`make_corpus` calls this.

    Args:
        root: A corpus made by :func:`make_corpus` (generator 2).
        min_count: Fewest train occurrences of an in-context form that is kept.

    Returns:
        The lexicon written (sorted by word; each word's isolated
        pronunciations first, then its in-context forms, most frequent first).

    Raises:
        DataError: When ``corpus.json`` or the isolated lexicon is missing, or a
            train file is missing or malformed (the message names the file,
            or the line of a lexicon file).

    Example:
        >>> import tempfile
        >>> root = tempfile.mkdtemp()
        >>> _ = make_corpus(root, 2, 0, 0, progress=False, workers=1)
        >>> lexicon = write_corpus_lexicon(root, min_count=1)
        >>> words = read_texts(root, "train")["000000"].split()
        >>> forms = read_lexicon(f"{root}/lexicon.txt")
        >>> lexicon == forms, all(word in lexicon for word in words)
        (True, True)
    """
    min_count = check_int(min_count, "min_count", 1)
    folder = Path(root)
    n_train = read_parameters(folder)["sizes"]["train"]
    isolated = _known_isolated(folder)
    if isolated is None:
        raise DataError(
            f"no {ISOLATED_LEXICON_FILE} or {LEXICON_FILE}: resume the corpus with make_corpus "
            "(ctckit-synth) to speak its words",
            folder,
        )
    _write_if_changed(folder / ISOLATED_LEXICON_FILE, lexicon_text(isolated).encode("utf-8"))
    lexicon = complete_lexicon(isolated, count_forms(_train_forms(folder, n_train)), min_count)
    _write_if_changed(folder / LEXICON_FILE, lexicon_text(lexicon).encode("utf-8"))
    return lexicon


# --------------------------------------------------------------------------- readers


def _read_split(root: str | os.PathLike[str], split: str, kind: str) -> dict[str, Path]:
    folder = split_folder(root, split, kind)
    if not folder.is_dir():
        raise DataError(
            f"no {kind} folder: not a corpus of ctckit-synth generator {GENERATOR_VERSION} or "
            "later (regenerate it with overwrite=True, ctckit-synth --overwrite)",
            path=folder,
        )
    return {path.stem: path for path in sorted(folder.glob("*" + _KINDS[kind]))}


def read_texts(root: str | os.PathLike[str], split: str) -> dict[str, str]:
    """The words of every utterance of a corpus split, as written in ``text/``.

    Args:
        root: A corpus made by :func:`make_corpus`.
        split: ``"train"``, ``"dev"`` or ``"test"`` (read from ``test_text/``).

    Returns:
        ``{utterance id: text}`` in id order; a text is lower-case words
        separated by single spaces, no punctuation.

    Raises:
        DataError: When the folder is missing or a file is not UTF-8.

    Example:
        >>> import tempfile
        >>> root = tempfile.mkdtemp()
        >>> _ = make_corpus(root, 2, 0, 1, progress=False, workers=1)
        >>> texts = read_texts(root, "train")
        >>> list(texts), texts["000000"] == " ".join(utterance_spec(0, "train", 0).words)
        (['000000', '000001'], True)
    """
    out: dict[str, str] = {}
    for stem, path in _read_split(root, split, "text").items():
        try:
            out[stem] = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as err:
            raise DataError(f"not UTF-8 text ({err})", path=path) from None
    return out


def _read_spans(
    root: str | os.PathLike[str], split: str, kind: str
) -> dict[str, npt.NDArray[np.int32]]:
    out: dict[str, npt.NDArray[np.int32]] = {}
    for stem, path in _read_split(root, split, kind).items():
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as err:
            raise DataError(f"not a .npy array ({err})", path=path) from None
        if array.dtype != np.int32 or array.ndim != 2 or array.shape[1] != 2:
            raise DataError(
                f"expected an int32 array of shape (N, 2), got {array.dtype} {array.shape}", path
            )
        out[stem] = array
    return out


def read_alignments(root: str | os.PathLike[str], split: str) -> dict[str, npt.NDArray[np.int32]]:
    """The true phoneme times of every utterance of a corpus split.

    Args:
        root: A corpus made by :func:`make_corpus`.
        split: ``"train"``, ``"dev"`` or ``"test"`` (read from ``test_alignment/``).

    Returns:
        ``{utterance id: spans}``: int32 ``(U, 2)`` ``[start, end)`` MFCC frames
        of each transcript label without ``<sos>``/``<eos>``, contiguous, from
        0 to the utterance's frame count.

    Raises:
        DataError: When the folder is missing or a file is not an int32 ``(N, 2)`` array.

    Example:
        >>> import tempfile
        >>> root = tempfile.mkdtemp()
        >>> _ = make_corpus(root, 1, 0, 0, progress=False, workers=1)
        >>> spans = read_alignments(root, "train")["000000"]
        >>> labels = np.load(f"{root}/train/transcript/000000.npy")
        >>> frames = np.load(f"{root}/train/mfcc/000000.npy").shape[0]
        >>> len(spans) == len(labels) - 2, int(spans[0, 0]), int(spans[-1, 1]) == frames
        (True, 0, True)
    """
    return _read_spans(root, split, "alignment")


def read_word_spans(root: str | os.PathLike[str], split: str) -> dict[str, npt.NDArray[np.int32]]:
    """The frames of each word of every utterance of a corpus split.

    Args:
        root: A corpus made by :func:`make_corpus`.
        split: ``"train"``, ``"dev"`` or ``"test"`` (read from ``test_words/``).

    Returns:
        ``{utterance id: spans}``: int32 ``(W, 2)`` ``[start, end)`` MFCC frames
        of each word of the text, in order; a word runs from its first
        phoneme's start to its last phoneme's end (pauses between words
        belong to no word).

    Raises:
        DataError: When the folder is missing or a file is not an int32 ``(N, 2)`` array.

    Example:
        >>> import tempfile
        >>> root = tempfile.mkdtemp()
        >>> _ = make_corpus(root, 1, 0, 0, progress=False, workers=1)
        >>> words = read_word_spans(root, "train")["000000"]
        >>> len(words) == len(read_texts(root, "train")["000000"].split())
        True
    """
    return _read_spans(root, split, "words")


# --------------------------------------------------------------------------- command line


def _run(args: argparse.Namespace) -> int:
    if args.lexicon_only:
        lexicon = write_corpus_lexicon(args.root)
        if not args.quiet:
            count = sum(len(prons) for prons in lexicon.values())
            print(f"{Path(args.root) / LEXICON_FILE}: {len(lexicon)} words, {count} pronunciations")
        return 0
    info = make_corpus(args.root, args.train, args.dev, args.test, seed=args.seed,
                       workers=args.workers, progress=not args.quiet,
                       overwrite=args.overwrite)  # fmt: skip
    if not args.quiet:
        print(
            f"{info.root}: {info.n_train} train, {info.n_dev} dev, {info.n_test} test; "
            f"wrote {info.written} utterances, {info.audio_seconds:.1f} s of audio in "
            f"{info.wall_seconds:.1f} s ({info.real_time_factor:.0f}x real time)"
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``ctckit-synth ROOT --train N --dev N --test N --seed S --workers W``.

    ``ctckit-synth ROOT --lexicon-only`` only rebuilds ``ROOT/lexicon.txt``
    (:func:`write_corpus_lexicon`), e.g. to upgrade a corpus made before the
    lexicon had in-context forms.

    A user error (a negative count, ``--workers 0``, a root that is a file or
    holds another corpus, a read-only root, ...) prints one line ``error:
    ...`` to stderr and returns 1; ``--debug`` shows the traceback instead.

    Args:
        argv: Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns:
        The exit status: 0, or 1 after a user error.

    Example:
        >>> import tempfile
        >>> main([tempfile.mkdtemp(), "--train", "1", "--dev", "0", "--test", "0",
        ...       "--workers", "1", "--quiet"])
        0
    """
    parser = argparse.ArgumentParser(
        prog="ctckit-synth",
        description="Synthesise an HW3P2-layout speech corpus with espeak-ng.",
    )
    parser.add_argument("root", help="output folder")
    parser.add_argument("--train", type=int, default=1000, help="train utterances")
    parser.add_argument("--dev", type=int, default=100, help="dev utterances")
    parser.add_argument("--test", type=int, default=100, help="test utterances")
    parser.add_argument("--seed", type=int, default=0, help="corpus seed")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: CPUs)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a corpus made with other parameters")  # fmt: skip
    parser.add_argument("--lexicon-only", action="store_true",
                        help=f"only rebuild {LEXICON_FILE} from the corpus's annotations "
                        "(no synthesis; the sizes are read from corpus.json)")  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    add_debug_flag(parser)
    return run_cli(parser, _run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
