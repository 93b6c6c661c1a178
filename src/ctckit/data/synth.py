"""An embedded speech corpus: espeak-ng speech as HW3P2-style MFCCs and phoneme labels.

The real HW3P2 data (LibriSpeech MFCCs) cannot be shipped, so
:func:`make_corpus` synthesises a learnable stand-in with espeak-ng (the
``synth`` extra installs the ``espeakng-loader`` wheel, which ships
``libespeak-ng`` and its data; no system package, no network):

1. a random sequence of 3 to 12 common English words (a word list typed out
   for ctckit), with a comma (a pause) after about one word in ten, is spoken
   by one of many espeak-ng English voices (8 accents x 45 voice variants) at
   a random rate, pitch and pitch range;
2. espeak-ng's phoneme events give each phoneme's mnemonic and start sample;
   they are mapped to the 40 HW3P2 symbols (``SIL`` and 39 ARPAbet phonemes)
   by a complete table (see :data:`PHONEME_MAP`); an unmapped phoneme raises
   :class:`~ctckit.errors.InputValueError`. Pauses of at least 30 ms become
   ``SIL``, and every utterance starts and ends with 50 to 300 ms of silence
   labelled ``SIL``;
3. the 22050 Hz audio is resampled to 16 kHz (a Kaiser-windowed sinc
   polyphase filter), white noise is added at a random SNR of 10 to 40 dB, and
   13 MFCCs per 10 ms frame are computed with :func:`ctckit.features.mfcc`.

Layout written under ``root`` (the HW3P2 layout, see ``DESIGN.md``)::

    train/mfcc/000000.npy         float32 (T, 13)
    train/transcript/000000.npy   str array '<sos>' SIL ... SIL '<eos>'
    dev/mfcc, dev/transcript      the same
    test/mfcc/000000.npy
    test/test_order.csv           header 'file', one name a row
    test_transcripts/000000.npy   test labels, kept outside test/ for scoring
    manifest.csv                  partition, file, voice, rate, pitch, SNR, text

Dev and test voices (accent + variant) are held out from train: each accent
gives 3 of its variants to dev, 3 to test and the rest to train, so dev and
test measure generalisation to unseen speakers, not to unseen accents.

Every utterance's parameters come from ``(seed, partition, index)`` alone, so
a corpus is identical whatever the number of workers; files are written
atomically and existing utterances are skipped, so an interrupted run resumes
where it stopped. espeak-ng keeps process-global state, so parallel work runs
in separate processes (``forkserver``/``spawn``), each with its own engine.

Example:
    >>> import tempfile, numpy as np
    >>> info = make_corpus(tempfile.mkdtemp(), 1, 1, 1, progress=False, workers=1)
    >>> info.n_train, info.n_dev, info.n_test, info.written
    (1, 1, 1, 3)
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import io
import itertools
import multiprocessing
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from tqdm.auto import tqdm

from ctckit.data._phonemes import ESPEAK_TO_ARPABET, to_arpabet
from ctckit.data._words import WORDS
from ctckit.errors import InputValueError
from ctckit.files import atomic_write_bytes

__all__ = [
    "ACCENTS",
    "PARTITIONS",
    "PHONEME_MAP",
    "SAMPLE_RATE",
    "VARIANTS",
    "CorpusInfo",
    "UtteranceSpec",
    "ctc_min_frames",
    "main",
    "make_corpus",
    "resample",
    "utterance_spec",
    "voice_split",
]

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
_FRAME = 160  # 10 ms hop at 16 kHz
_MIN_PAUSE_S = 0.03
_HELD_OUT_PER_ACCENT = 3
_SPLIT_SEED = 20240521  # fixed: the voice split does not change with the corpus seed
_MAX_TRIES = 4
_PER_WORKER = 100
_COMMA_PROBABILITY = 0.1


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
        words: The words spoken.
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
    rng = np.random.default_rng(_SPLIT_SEED)
    split: dict[str, list[str]] = {name: [] for name in PARTITIONS}
    for accent in ACCENTS:
        order = rng.permutation(len(VARIANTS))
        names = [f"{accent}+{VARIANTS[i]}" for i in order]
        k = _HELD_OUT_PER_ACCENT
        split["dev"].extend(names[:k])
        split["test"].extend(names[k : 2 * k])
        split["train"].extend(names[2 * k :])
    return {name: tuple(voices) for name, voices in split.items()}


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
    rng = np.random.default_rng([seed, PARTITIONS.index(partition), index])
    voices = voice_split()[partition]
    n_words = int(rng.integers(3, 13))
    words = tuple(WORDS[i] for i in rng.integers(0, len(WORDS), size=n_words))
    commas = rng.random(n_words - 1) < _COMMA_PROBABILITY
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
    audio_seconds: float


def _segments(
    phonemes: Sequence[str], starts: Sequence[int], n_samples: int
) -> list[tuple[str, int, int]]:
    """Turn phoneme events into ``(symbol, start, end)`` segments in audio samples."""
    for mnemonic, start in zip(phonemes, starts):
        if not 0 <= start <= n_samples:
            raise InputValueError(
                f"espeak-ng phoneme {mnemonic!r} starts at sample {start}, outside the "
                f"audio of {n_samples} samples"
            )
    segments: list[tuple[str, int, int]] = []
    bounds = [*starts[1:], n_samples]
    mapped = [to_arpabet(mnemonic) for mnemonic in phonemes]
    for i, (start, end) in enumerate(zip(starts, bounds)):
        end = max(end, start)
        symbols = mapped[i]
        if len(symbols) == 2 and symbols[1] == "R" and mapped[i + 1 : i + 2] == [("R",)]:
            symbols = symbols[:1]  # the accent speaks the r itself ("are" in en-gb-scotland)
        for j, symbol in enumerate(symbols):
            a = start + (end - start) * j // len(symbols)
            b = start + (end - start) * (j + 1) // len(symbols)
            segments.append((symbol, a, b))
    return segments


def _labels(segments: Sequence[tuple[str, int, int]], rate: int) -> list[str]:
    """Merge pauses: drop short internal ones, join neighbours; frame SIL at both ends."""
    min_pause = int(_MIN_PAUSE_S * rate)
    labels: list[str] = ["SIL"]
    pause = 0
    for symbol, start, end in segments:
        if symbol == "SIL":
            pause += end - start
            continue
        if pause >= min_pause and labels[-1] != "SIL":
            labels.append("SIL")
        pause = 0
        labels.append(symbol)
    if labels[-1] != "SIL":
        labels.append("SIL")
    return labels


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


def _synthesize(spec: UtteranceSpec) -> _Utterance:
    import torch

    from ctckit.data._espeak import synthesize
    from ctckit.features import mfcc

    rate = spec.rate
    for _ in range(_MAX_TRIES):
        result = synthesize(spec.text, spec.voice, rate, spec.pitch,
                            spec.pitch_range, seed=spec.noise_seed)  # fmt: skip
        labels = _labels(
            _segments(result.phonemes, result.starts, result.audio.size), result.sample_rate
        )
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
        if array.shape[0] >= ctc_min_frames(labels):
            return _Utterance(array, tuple(labels), signal.size / SAMPLE_RATE)
        rate = max(80, int(rate * 0.8))
    raise InputValueError(
        f"utterance {spec.partition}/{spec.name}: {array.shape[0]} MFCC frames cannot "
        f"align {len(labels)} labels even at rate {rate}"
    )


# --------------------------------------------------------------------------- files


def _npy_bytes(array: npt.NDArray[np.generic]) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _paths(root: Path, spec: UtteranceSpec) -> tuple[Path, Path]:
    if spec.partition == "test":
        return root / "test" / "mfcc" / spec.name, root / "test_transcripts" / spec.name
    part = root / spec.partition
    return part / "mfcc" / spec.name, part / "transcript" / spec.name


def _is_done(root: Path, spec: UtteranceSpec) -> bool:
    return all(path.exists() for path in _paths(root, spec))


def _write(root: Path, spec: UtteranceSpec, utterance: _Utterance) -> None:
    mfcc_path, transcript_path = _paths(root, spec)
    transcript = np.array(["<sos>", *utterance.labels, "<eos>"])
    atomic_write_bytes(transcript_path, _npy_bytes(transcript))
    atomic_write_bytes(mfcc_path, _npy_bytes(utterance.features))  # last: marks the utterance done


def _work(root: str, seed: int, jobs: Sequence[tuple[str, int]]) -> float:
    """Synthesise and write ``jobs``; returns the audio seconds produced (runs in workers).

    Writing (with its fsyncs) runs in a background thread, overlapping the next
    utterance's synthesis; every write has finished when this returns.
    """
    seconds = 0.0
    with concurrent.futures.ThreadPoolExecutor(1) as writer:
        pending = []
        for partition, index in jobs:
            spec = utterance_spec(seed, partition, index)
            utterance = _synthesize(spec)
            pending.append(writer.submit(_write, Path(root), spec, utterance))
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


def _write_manifest(root: Path, seed: int, counts: dict[str, int]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["partition", "file", "voice", "rate", "pitch", "pitch_range", "snr_db",
                     "text"])  # fmt: skip
    for partition in PARTITIONS:
        for index in range(counts[partition]):
            s = utterance_spec(seed, partition, index)
            writer.writerow([partition, s.name, s.voice, s.rate, s.pitch, s.pitch_range,
                             f"{s.snr_db:.2f}", s.text])  # fmt: skip
    atomic_write_bytes(root / "manifest.csv", buffer.getvalue().encode())
    order = "file\n" + "".join(f"{i:06d}.npy\n" for i in range(counts["test"]))
    atomic_write_bytes(root / "test" / "test_order.csv", order.encode())


def make_corpus(
    root: str | os.PathLike[str],
    n_train: int,
    n_dev: int,
    n_test: int,
    seed: int = 0,
    workers: int | None = None,
    progress: bool = True,
    chunk_size: int = 8,
) -> CorpusInfo:
    """Synthesise an HW3P2-layout corpus of espeak-ng speech under ``root``.

    See the module documentation for what is synthesised and the layout.

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

    Returns:
        A :class:`CorpusInfo` with counts, audio seconds and speed.

    Raises:
        InputValueError: On negative counts or seed, ``workers`` or ``chunk_size`` < 1.
        MissingDependencyError: When ``espeakng-loader`` (extra ``synth``) is missing.

    Example:
        >>> import tempfile
        >>> make_corpus(tempfile.mkdtemp(), 2, 0, 0, progress=False, workers=1).n_train
        2
    """
    counts = {"train": n_train, "dev": n_dev, "test": n_test}
    for name, value in (*counts.items(), ("seed", seed)):
        if value < 0:
            raise InputValueError(f"{name} must be >= 0, got {value}")
    if workers is not None and workers < 1:
        raise InputValueError(f"workers must be >= 1 or None, got {workers}")
    if chunk_size < 1:
        raise InputValueError(f"chunk_size must be >= 1, got {chunk_size}")
    from ctckit._optional import import_optional

    import_optional("espeakng_loader", extra="synth")  # fail early, in this process
    start_time = time.perf_counter()
    out = Path(root)
    for folder in ("train/mfcc", "train/transcript", "dev/mfcc", "dev/transcript",
                   "test/mfcc", "test_transcripts"):  # fmt: skip
        (out / folder).mkdir(parents=True, exist_ok=True)
    todo = [
        (partition, index)
        for partition in PARTITIONS
        for index in range(counts[partition])
        if not _is_done(out, utterance_spec(seed, partition, index))
    ]
    # A worker process costs seconds to start (it imports torch): one per
    # _PER_WORKER utterances at most, so small corpora stay in this process.
    n_workers = min(workers or os.cpu_count() or 1, max(1, len(todo) // _PER_WORKER))
    bar = tqdm(total=len(todo), disable=not progress, unit="utt", desc="synthesising")
    audio_seconds = 0.0
    try:
        if n_workers == 1:
            for chunk in _chunks(todo, chunk_size):
                audio_seconds += _work(str(out), seed, chunk)
                bar.update(len(chunk))
        else:
            method = (
                "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
            )
            context = multiprocessing.get_context(method)
            with concurrent.futures.ProcessPoolExecutor(
                n_workers, mp_context=context, initializer=_init_worker
            ) as pool:
                futures = {
                    pool.submit(_work, str(out), seed, chunk): len(chunk)
                    for chunk in _chunks(todo, chunk_size)
                }
                for future in concurrent.futures.as_completed(futures):
                    audio_seconds += future.result()
                    bar.update(futures[future])
    finally:
        bar.close()
    _write_manifest(out, seed, counts)
    wall = time.perf_counter() - start_time
    return CorpusInfo(
        root=str(out),
        n_train=n_train,
        n_dev=n_dev,
        n_test=n_test,
        written=len(todo),
        audio_seconds=audio_seconds,
        wall_seconds=wall,
        real_time_factor=audio_seconds / wall if wall > 0 else 0.0,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``ctckit-synth ROOT --train N --dev N --test N --seed S --workers W``.

    Args:
        argv: Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns:
        The exit status (0).

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
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    args = parser.parse_args(argv)
    info = make_corpus(args.root, args.train, args.dev, args.test, seed=args.seed,
                       workers=args.workers, progress=not args.quiet)  # fmt: skip
    if not args.quiet:
        print(
            f"{info.root}: {info.n_train} train, {info.n_dev} dev, {info.n_test} test; "
            f"wrote {info.written} utterances, {info.audio_seconds:.1f} s of audio in "
            f"{info.wall_seconds:.1f} s ({info.real_time_factor:.0f}x real time)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
