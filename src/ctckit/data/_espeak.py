"""A minimal ctypes binding to the libespeak-ng shipped by ``espeakng-loader`` (private).

The library runs in ``AUDIO_OUTPUT_SYNCHRONOUS`` mode with
``espeakINITIALIZE_PHONEME_EVENTS``: :func:`synthesize` returns the 16-bit
audio together with one ``(mnemonic, sample)`` pair per phoneme espeak-ng
spoke, ``sample`` being the phoneme's first sample in the audio, and one
``(position, length, sample)`` triple per word (its characters in the text and
the sample at which espeak-ng starts the word).

espeak-ng keeps its state in process-global C variables, and part of that
state (the glottal phase, the pitch flutter index, ...) carries over from one
text to the next even across ``espeak_Terminate``/``espeak_Initialize``: the
same text spoken twice gives different samples. To make every utterance a pure
function of its arguments, :func:`synthesize` loads a private copy of the
shared library, initialises it, speaks, terminates and unloads it (about
1 ms), so every call starts from the library's pristine state. The private
copy (one per process, in a temporary folder removed at exit) also keeps this
module's state apart from any other user of libespeak-ng in the process; it
holds only the English voices, so only English voices work here.
Calls are serialised by a lock; run several processes for parallelism.
"""

from __future__ import annotations

import _ctypes
import atexit
import ctypes
import multiprocessing.util
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ctckit._optional import import_optional
from ctckit.errors import EspeakError, InputValueError

__all__ = ["EspeakError", "Synthesis", "synthesize", "version"]

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS = 0x0001
_INITIALIZE_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_EVENT_PHONEME = 7
_PARAM_RATE = 1
_PARAM_VOLUME = 2
_PARAM_PITCH = 3
_PARAM_RANGE = 4
_PARAM_WORDGAP = 7
_VOLUME = 80


class _EventId(ctypes.Union):
    _fields_ = [
        ("number", ctypes.c_int),
        ("name", ctypes.c_char_p),
        ("string", ctypes.c_char * 8),
    ]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_Callback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


@dataclass(frozen=True)
class Synthesis:
    """Audio and phoneme events of one synthesised text.

    Attributes:
        audio: int16 samples, shape ``(N,)``.
        sample_rate: Samples per second of ``audio`` (22050 for espeak-ng).
        phonemes: espeak-ng phoneme mnemonics in spoken order (stress marks kept).
        starts: First sample of each phoneme in ``audio``, same length as ``phonemes``.
        words: One ``(position, length, sample)`` per word espeak-ng spoke:
            the word's first character in ``text`` (0-based), its length in
            characters, and the sample at which espeak-ng starts it (before
            the silent closure of a word-initial stop; the phoneme event comes
            after it). Words that espeak-ng's dictionary speaks as one (such
            as "of a") get one event, and the positions espeak-ng reports
            after such a word are not reliable.
        word_of: For each phoneme, the index in ``words`` of the word event
            before it (``-1`` before the first).
    """

    audio: npt.NDArray[np.int16]
    sample_rate: int
    phonemes: tuple[str, ...]
    starts: tuple[int, ...]
    words: tuple[tuple[int, int, int], ...] = ()
    word_of: tuple[int, ...] = ()


class _Collector:
    def __init__(self) -> None:
        self.chunks: list[bytes] = []  # raw int16 samples
        self.phonemes: list[str] = []
        self.starts: list[int] = []
        self.words: list[tuple[int, int, int]] = []
        self.word_of: list[int] = []

    def __call__(self, wav: Any, num_samples: int, events: Any) -> int:
        if num_samples > 0 and wav:
            self.chunks.append(ctypes.string_at(wav, 2 * num_samples))  # a copy, cheaply
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            event = events[i]
            if event.type == _EVENT_PHONEME:
                self.phonemes.append(event.id.string.decode("utf-8", errors="replace"))
                self.starts.append(int(event.sample))
                self.word_of.append(len(self.words) - 1)
            elif event.type == _EVENT_WORD:
                # text_position counts characters from 1
                self.words.append((event.text_position - 1, event.length, int(event.sample)))
            i += 1
        return 0


_LOCK = threading.Lock()
_PRIVATE: tuple[str, str, str] | None = None  # library copy, data folder, source data folder
_DATA_FILES = ("phondata", "phontab", "phonindex", "intonations", "en_dict")


def _private() -> tuple[str, str, str]:
    """Make (once per process) a private copy of libespeak-ng and of its English data.

    The data copy holds only the English voices and the voice variants used so
    far: espeak-ng scans every voice file on each voice change, and scanning the
    ~300 files of the full data takes several milliseconds per utterance.
    """
    global _PRIVATE
    if _PRIVATE is None or not all(os.path.exists(path) for path in _PRIVATE[:2]):
        loader = import_optional("espeakng_loader", extra="synth")
        source_lib = str(loader.get_library_path())
        source_data = str(loader.get_data_path())
        folder = tempfile.mkdtemp(prefix="ctckit-espeak-")
        atexit.register(shutil.rmtree, folder, True)
        # Worker processes leave through os._exit, which skips atexit: also register
        # with multiprocessing's own exit hook.
        multiprocessing.util.Finalize(None, shutil.rmtree, args=(folder, True), exitpriority=0)
        library = os.path.join(folder, os.path.basename(source_lib))
        shutil.copyfile(source_lib, library)
        data = os.path.join(folder, "espeak-ng-data")
        os.makedirs(os.path.join(data, "voices", "!v"))
        os.makedirs(os.path.join(data, "lang", "gmw"))
        for name in _DATA_FILES:
            shutil.copyfile(os.path.join(source_data, name), os.path.join(data, name))
        languages = os.path.join(source_data, "lang", "gmw")
        for name in os.listdir(languages):
            if name.startswith("en"):
                target = os.path.join(data, "lang", "gmw", name)
                shutil.copyfile(os.path.join(languages, name), target)
        _PRIVATE = (library, data, source_data)
    return _PRIVATE


def _add_variant(voice: str) -> None:
    """Copy the variant of ``voice`` (``accent+variant``) into the private data."""
    _, data, source_data = _private()
    if "+" not in voice:
        return
    variant = voice.split("+", 1)[1]
    target = os.path.join(data, "voices", "!v", variant)
    source = os.path.join(source_data, "voices", "!v", variant)
    if os.sep in variant or "/" in variant or not os.path.isfile(source):
        raise EspeakError(f"espeak-ng has no voice variant {variant!r} (in voice {voice!r})")
    if not os.path.exists(target):
        shutil.copyfile(source, target)


def _configure(lib: ctypes.CDLL) -> None:
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_SetSynthCallback.argtypes = [_Callback]
    lib.espeak_SetSynthCallback.restype = None
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetVoiceByName.restype = ctypes.c_int
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_SetParameter.restype = ctypes.c_int
    lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
    lib.espeak_ng_SetRandSeed.restype = None
    lib.espeak_Synth.argtypes = [
        ctypes.c_char_p,
        ctypes.c_size_t,
        ctypes.c_uint,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.c_uint,
        ctypes.c_void_p,
        ctypes.c_void_p,
    ]
    lib.espeak_Synth.restype = ctypes.c_int
    lib.espeak_Synchronize.argtypes = []
    lib.espeak_Synchronize.restype = ctypes.c_int
    lib.espeak_Terminate.argtypes = []
    lib.espeak_Terminate.restype = ctypes.c_int


def _unload(lib: ctypes.CDLL) -> None:
    close = getattr(_ctypes, "dlclose", None) or getattr(_ctypes, "FreeLibrary", None)
    if close is not None:
        close(lib._handle)


def version() -> str:
    """The version of the libespeak-ng that :func:`synthesize` runs, e.g. ``"1.52.0"``.

    Raises:
        MissingDependencyError: When ``espeakng-loader`` (extra ``synth``) is missing.
    """
    with _LOCK:
        library_path, _, _ = _private()
        lib = ctypes.CDLL(library_path)
        try:
            lib.espeak_Info.argtypes = [ctypes.c_void_p]
            lib.espeak_Info.restype = ctypes.c_char_p
            raw: bytes = lib.espeak_Info(None)
        finally:
            _unload(lib)
    return raw.decode("ascii", errors="replace")


def synthesize(
    text: str,
    voice: str,
    rate: int = 175,
    pitch: int = 50,
    pitch_range: int = 50,
    seed: int = 0,
) -> Synthesis:
    """Speak ``text`` with a pristine espeak-ng and return its audio and phoneme events.

    Args:
        text: UTF-8 text to speak.
        voice: Voice name with optional ``+variant``, e.g. ``"en-gb-x-rp+f3"``.
        rate: Words per minute, 80 to 450.
        pitch: Base pitch, 0 to 100.
        pitch_range: Pitch range, 0 to 100.
        seed: Seed of espeak-ng's random generator.

    Returns:
        The :class:`Synthesis` (audio shape ``(N,)`` int16); identical for identical
        arguments.

    Raises:
        InputValueError: On an empty text or out-of-range parameters.
        EspeakError: On an unknown voice or a synthesis failure.
        MissingDependencyError: When ``espeakng-loader`` (extra ``synth``) is missing.
    """
    if not text.strip():
        raise InputValueError("expected a non-empty text to synthesise, got an empty string")
    for what, value, low, high in (
        ("rate", rate, 80, 450),
        ("pitch", pitch, 0, 100),
        ("pitch_range", pitch_range, 0, 100),
    ):
        if not low <= value <= high:
            raise InputValueError(f"{what} must be in [{low}, {high}], got {value}")
    with _LOCK:
        library_path, data_path, _ = _private()
        _add_variant(voice)
        lib = ctypes.CDLL(library_path)
        try:
            _configure(lib)
            options = _INITIALIZE_PHONEME_EVENTS | _INITIALIZE_DONT_EXIT
            sample_rate = lib.espeak_Initialize(
                _AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path.encode(), options
            )
            if sample_rate <= 0:
                raise EspeakError(f"espeak_Initialize failed for data {data_path!r}: {sample_rate}")
            collector = _Collector()
            callback = _Callback(collector)  # must outlive the synthesis
            lib.espeak_SetSynthCallback(callback)
            try:
                if lib.espeak_SetVoiceByName(voice.encode()) != 0:
                    raise EspeakError(f"espeak-ng has no voice {voice!r}")
                lib.espeak_ng_SetRandSeed(seed)
                for parameter, value in (
                    (_PARAM_RATE, rate),
                    (_PARAM_PITCH, pitch),
                    (_PARAM_RANGE, pitch_range),
                    (_PARAM_VOLUME, _VOLUME),
                    (_PARAM_WORDGAP, 0),
                ):
                    lib.espeak_SetParameter(parameter, value, 0)
                data = text.encode("utf-8")
                status = lib.espeak_Synth(
                    data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
                )
                if status != 0:
                    raise EspeakError(f"espeak_Synth failed with status {status} for {text!r}")
                lib.espeak_Synchronize()
            finally:
                lib.espeak_Terminate()
        finally:
            _unload(lib)
    audio = np.frombuffer(b"".join(collector.chunks), dtype=np.int16).copy()
    return Synthesis(
        audio,
        int(sample_rate),
        tuple(collector.phonemes),
        tuple(collector.starts),
        tuple(collector.words),
        tuple(collector.word_of),
    )
