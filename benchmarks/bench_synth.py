"""Speed of the espeak-ng corpus generator (ctckit.data.synth).

Prints, for one run on this machine:

* the real-time factor (audio seconds / wall seconds) of ``make_corpus`` with
  1 and 2 worker processes (a fresh folder each, process start-up included);
* the cost of each stage per utterance, in milliseconds, over the same
  utterances, with peers where one exists: espeak-ng with a pristine library per
  utterance (what ctckit does, for exact determinism) against one long-lived
  engine; ctckit's polyphase resampler against ``scipy.signal.resample_poly``;
  the phoneme times (closures, vowel onsets, frames), the word spans, and the
  lexicon (per word and accent).

Usage::

    python benchmarks/bench_synth.py [--utterances 400] [--stages 60] [--lexicon-words 400]
"""

from __future__ import annotations

import argparse
import ctypes
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from ctckit.data import _espeak
from ctckit.data._lexicon import build_lexicon, isolated_pronunciations
from ctckit.data._text import VOCABULARY
from ctckit.data._timing import frame_spans, label_spans, segments, word_of_labels
from ctckit.data.synth import (
    ACCENTS,
    SAMPLE_RATE,
    _synthesize,
    _write,
    make_corpus,
    resample,
    utterance_spec,
)
from ctckit.features import mfcc


def _best(fn: Callable[[], object], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _persistent_engine() -> Callable[[str, str, int, int, int], int]:
    """One long-lived espeak-ng (not deterministic across texts): the speed ceiling."""
    library, data, _ = _espeak._private()
    folder = tempfile.mkdtemp(prefix="bench-espeak-")
    copy = os.path.join(folder, "lib.so")
    shutil.copyfile(library, copy)
    lib = ctypes.CDLL(copy)
    _espeak._configure(lib)
    lib.espeak_Initialize(2, 0, data.encode(), 0x8001)
    collector = _espeak._Collector()
    callback = _espeak._Callback(collector)
    lib.espeak_SetSynthCallback(callback)

    def speak(text: str, voice: str, rate: int, pitch: int, pitch_range: int) -> int:
        collector.chunks.clear()
        _espeak._add_variant(voice)
        lib.espeak_SetVoiceByName(voice.encode())
        for parameter, value in ((1, rate), (3, pitch), (4, pitch_range)):
            lib.espeak_SetParameter(parameter, value, 0)
        raw = text.encode()
        lib.espeak_Synth(raw, len(raw) + 1, 0, 1, 0, 1, None, None)
        lib.espeak_Synchronize()
        _ = callback
        return sum(len(c) // 2 for c in collector.chunks)

    return speak


def stages(n: int) -> None:
    specs = [utterance_spec(0, "train", i) for i in range(n)]
    texts = [s.text for s in specs]
    synths = [
        _espeak.synthesize(t, s.voice, s.rate, s.pitch, s.pitch_range, s.noise_seed)
        for t, s in zip(texts, specs)
    ]
    seconds = sum(r.audio.size / r.sample_rate for r in synths)
    waves = [r.audio.astype(np.float32) / 32768 for r in synths]
    resampled = [resample(w, 22050, SAMPLE_RATE) for w in waves]
    persistent = _persistent_engine()
    torch.set_num_threads(1)
    rows: list[tuple[str, float, str]] = []

    def add(name: str, total: float, note: str = "") -> None:
        rows.append((name, total, note))

    pristine = _best(
        lambda: [
            _espeak.synthesize(t, s.voice, s.rate, s.pitch, s.pitch_range, s.noise_seed)
            for t, s in zip(texts, specs)
        ]
    )
    long_lived = _best(
        lambda: [
            persistent(t, s.voice, s.rate, s.pitch, s.pitch_range) for t, s in zip(texts, specs)
        ]
    )
    add("espeak-ng, pristine library per utterance (ctckit)", pristine,
        f"{long_lived / pristine:.2f}x the time of one long-lived engine")  # fmt: skip
    add("espeak-ng, one long-lived engine (peer, not deterministic)", long_lived)
    add("labels from phoneme events", _best(lambda: [label_spans(
        segments(r.phonemes, r.starts, r.audio.size), r.audio.size, 22050) for r in synths]))  # fmt: skip

    def times() -> list[object]:
        out = []
        for r, s in zip(synths, specs):
            segs = segments(r.phonemes, r.starts, r.audio.size, r.word_of, r.audio)
            labels = label_spans(segs, r.audio.size, 22050)
            lead = int(s.lead_s * SAMPLE_RATE)
            out.append(frame_spans([lab.start for lab in labels], 22050, lead, 10**6))
        return out

    add("phoneme times (closures, vowel onsets, frames)", _best(times))
    lexicon = build_lexicon([w for s in specs for w in s.words], ACCENTS)
    labelled = [label_spans(segments(r.phonemes, r.starts, r.audio.size, r.word_of, r.audio),
                            r.audio.size, 22050) for r in synths]  # fmt: skip
    add("word spans (split by events and lexicon)", _best(
        lambda: [word_of_labels(lab, s.words, lexicon) for lab, s in zip(labelled, specs)]))  # fmt: skip
    ours = _best(lambda: [resample(w, 22050, SAMPLE_RATE) for w in waves])
    try:
        from scipy.signal import resample_poly

        peer = _best(lambda: [resample_poly(w, 320, 441) for w in waves])
        add(
            "resample 22050 -> 16000 (ctckit)",
            ours,
            f"scipy.resample_poly / ctckit = {peer / ours:.2f}",
        )
        add("resample 22050 -> 16000 (scipy.signal.resample_poly)", peer)
    except ImportError:
        add("resample 22050 -> 16000 (ctckit)", ours, "scipy not installed")
    add("MFCC (ctckit.features.mfcc, 1 thread)",
        _best(lambda: [mfcc(torch.from_numpy(w), SAMPLE_RATE) for w in resampled]))  # fmt: skip
    add("whole utterance in memory (_synthesize)",
        _best(lambda: [_synthesize(s, lexicon) for s in specs]))  # fmt: skip
    utterances = [_synthesize(s, lexicon) for s in specs]
    with tempfile.TemporaryDirectory() as root, ThreadPoolExecutor(8) as files:
        write = _best(lambda: [_write(Path(root), s, u, files) for s, u in zip(specs, utterances)],
                      repeat=1)  # fmt: skip
    add("atomic writes, 5 files with fsync (4 at once)", write, "overlapped with synthesis")
    print(
        f"\nStages over {n} utterances ({seconds:.1f} s of audio), ms per utterance (best of 3):\n"
    )
    print("| stage | ms / utterance | real time x | note |")
    print("|---|---:|---:|---|")
    for name, total, note in rows:
        print(f"| {name} | {1000 * total / n:.2f} | {seconds / total:.0f} | {note} |")


def lexicon_cost(n_words: int) -> None:
    words = list(VOCABULARY[:n_words])
    total = _best(lambda: [isolated_pronunciations(words, accent) for accent in ACCENTS], 1)
    print(f"\nlexicon: {n_words} words x {len(ACCENTS)} accents in {total:.2f} s, "
          f"{1000 * total / (n_words * len(ACCENTS)):.2f} ms per word and accent")  # fmt: skip


def corpus(n: int) -> None:
    print(f"make_corpus({n} train, 0 dev, 0 test), fresh folder, process start-up included:\n")
    print("| workers | audio s | wall s | real time x |")
    print("|---:|---:|---:|---:|")
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as root:
            info = make_corpus(root, n, 0, 0, seed=0, workers=workers, progress=False)
        print(f"| {workers} | {info.audio_seconds:.1f} | {info.wall_seconds:.2f} | "
              f"{info.real_time_factor:.0f} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utterances", type=int, default=400)
    parser.add_argument("--stages", type=int, default=60)
    parser.add_argument("--lexicon-words", type=int, default=400)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}, cpus: {os.cpu_count()}\n")
    corpus(args.utterances)
    stages(args.stages)
    lexicon_cost(args.lexicon_words)
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
