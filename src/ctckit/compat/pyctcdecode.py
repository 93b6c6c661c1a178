"""pyctcdecode's front door over ctckit's word decoder: change one import, keep the code.

``from pyctcdecode import build_ctcdecoder`` becomes
``from ctckit.compat.pyctcdecode import build_ctcdecoder``. The decoder it returns
has pyctcdecode's :meth:`~BeamSearchDecoderCTC.decode`,
:meth:`~BeamSearchDecoderCTC.decode_beams`, :meth:`~BeamSearchDecoderCTC.decode_batch`
and :meth:`~BeamSearchDecoderCTC.decode_beams_batch`, with the same arguments,
defaults and return shapes; the search underneath is
:class:`~ctckit.decode.WordBeamSearchDecoder` (Numba, exact prefix merging,
threads over a batch), the word LM a :class:`~ctckit.lm.WordNGramLM` read from the
ARPA file (no KenLM build needed).

What is the same as pyctcdecode 0.5:

* labels are normalised as pyctcdecode does: ``"|"`` becomes the space when there is
  none, ``"<pad>"``/``"[pad]"`` (and ``"_"`` when there is no ``""``) the blank
  ``""``, ``"<unk>"``/``"[unk]"`` becomes ``"⁇"`` (``"▁⁇▁"`` for BPE); without a
  blank label one is appended, so ``logits`` then has ``len(labels) + 1`` columns.
  Labels starting with ``"▁"`` or ``"##"`` make a BPE alphabet (``"##"`` style is
  converted to ``"▁"`` style);
* ``logits`` ``(time, vocabulary)`` may hold logits or probabilities, told apart as
  pyctcdecode does (rows summing to 1 on average are probabilities), and become
  log-probabilities clipped at ``log(1e-15)``;
* scores: ``logit_score`` is the acoustic log-probability of the beam, ``lm_score``
  (the last entry) the combined ranking score ``logit_score + alpha * ln p_LM(words)
  + beta * len(words)`` plus hotword bonuses; an out-of-vocabulary word's LM log10
  pays ``unk_score_offset``; ``lm_score_boundary`` scores the sentence between
  ``<s>`` and ``</s>``; with no LM, ``alpha``, ``beta`` and the unigrams play no part;
* a beam is ``(text, lm_state, word_frames, logit_score, lm_score)`` with
  ``word_frames`` a list of ``(word, (start_frame, end_frame))``: the first frame of
  the word's first token to one past the last frame of its last token.

Where it differs (on purpose):

* prefixes are merged exactly (the probability of a labelling summed over all its
  alignments, blank-ending and label-ending apart), where pyctcdecode keys beams on
  their text and last character; scores agree where one alignment dominates;
* ``prune_history=True`` (what :meth:`~BeamSearchDecoderCTC.decode` uses) keeps,
  among the final beams that share their last ``max(1, order - 1)`` words, only the
  best; the search itself is never cut by it, so the best beam is the one
  ``prune_history=False`` finds;
* ``pool`` is accepted and not used: the batch methods decode in ctckit's own
  threads, without pickling;
* ``lm_state`` is ctckit's LM state of the beam's last words, which
  ``lm_start_state`` accepts back;
* an ARPA path's unigrams come from the LM itself when ``unigrams`` is ``None``
  (also for a ctckit binary LM, where pyctcdecode would have none); a KenLM binary
  file is refused with a message saying how to get the ARPA file;
* bad input raises a :class:`~ctckit.errors.CTCKitError` (a ``ValueError`` or
  ``TypeError``) that says what was expected: NaN or ``+inf`` in ``logits``, a NaN
  ``alpha`` in :meth:`~BeamSearchDecoderCTC.reset_params`, duplicate labels;
* a BPE label that ends with ``"▁"`` (``"▁⁇▁"``) starts a word but does not force
  the next label to start one;
* serialisation (``save_to_dir``, ``load_from_dir``, ``load_from_hf_hub``),
  ``MultiLanguageModel`` and the class-level model container are not provided.

Example:
    >>> import numpy as np
    >>> from ctckit.compat.pyctcdecode import build_ctcdecoder
    >>> labels = [" ", "a", "b", ""]
    >>> probs = np.eye(4)[[1, 3, 0, 2, 2, 3, 2]]  # a _ " " b b _ b: "a bb"
    >>> build_ctcdecoder(labels).decode(probs)
    'a bb'
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import numpy.typing as npt

from ctckit._checks import check_float, check_int, is_tensor
from ctckit.errors import InputTypeError, InputValueError, ShapeError

if TYPE_CHECKING:
    from ctckit.decode import WordBeamSearchDecoder, WordHypothesis
    from ctckit.lm import WordNGramLM

__all__ = [
    "BPE_TOKEN",
    "UNK_BPE_TOKEN",
    "UNK_TOKEN",
    "Alphabet",
    "BeamSearchDecoderCTC",
    "OutputBeam",
    "OutputBeamMPSafe",
    "build_ctcdecoder",
]

BPE_TOKEN = "▁"
"""The word-start mark of BPE labels (SentencePiece's ``▁``)."""
UNK_TOKEN = "⁇"
"""What ``"<unk>"`` becomes in a character alphabet."""
UNK_BPE_TOKEN = "▁⁇▁"
"""What ``"<unk>"`` becomes in a BPE alphabet."""

# pyctcdecode's defaults (pyctcdecode/constants.py), so that calls without arguments agree
DEFAULT_ALPHA = 0.5
DEFAULT_BETA = 1.5
DEFAULT_UNK_LOGP_OFFSET = -10.0
DEFAULT_BEAM_WIDTH = 100
DEFAULT_HOTWORD_WEIGHT = 10.0
DEFAULT_PRUNE_LOGP = -10.0
DEFAULT_PRUNE_BEAMS = False
DEFAULT_MIN_TOKEN_LOGP = -5.0
DEFAULT_SCORE_LM_BOUNDARY = True
MIN_TOKEN_CLIP_P = 1e-15
"""Probabilities are clipped here before the log (so log-probabilities at ``-34.5``)."""

_SPECIAL = re.compile(r"^[<\[].+[>\]]$")
_BLANK = re.compile(r"^[<\[]pad[>\]]$", flags=re.IGNORECASE)
_UNK = re.compile(r"^[<\[]unk[>\]]$", flags=re.IGNORECASE)

WordFrames = tuple[str, tuple[int, int]]


class OutputBeam(NamedTuple):
    """One beam of :meth:`BeamSearchDecoderCTC.decode_beams` (a tuple, as pyctcdecode's).

    Attributes:
        text: The words joined by single spaces.
        lm_state: The LM state after the beam's words (``None`` without an LM); pass
            it as ``lm_start_state`` to go on decoding the next chunk.
        word_frames: ``(word, (start, end))`` per word, ``end`` exclusive.
        logit_score: The acoustic log-probability (natural log).
        lm_score: The combined score the beams are ranked by.

    Example:
        >>> text, state, frames, logit, total = OutputBeam("a", None, [("a", (0, 1))], -0.1, -0.1)
        >>> frames
        [('a', (0, 1))]
    """

    text: str
    lm_state: Any
    word_frames: list[WordFrames]
    logit_score: float
    lm_score: float


class OutputBeamMPSafe(NamedTuple):
    """One beam of :meth:`BeamSearchDecoderCTC.decode_beams_batch`: an
    :class:`OutputBeam` without its LM state.

    Example:
        >>> OutputBeamMPSafe("a", [("a", (0, 1))], -0.1, -0.1).text
        'a'
    """

    text: str
    word_frames: list[WordFrames]
    logit_score: float
    lm_score: float


class Alphabet:
    """Labels in pyctcdecode's normalised form, and whether they are BPE pieces.

    Args:
        labels: The normalised labels (one per column of the logits).
        is_bpe: Whether the labels are BPE pieces (``"▁"`` starts a word).

    Example:
        >>> Alphabet.build_alphabet(["|", "a", "<pad>"]).labels
        [' ', 'a', '']
        >>> Alphabet.build_alphabet(["B", "##ugs"]).labels
        ['▁B', 'ugs', '']
    """

    def __init__(self, labels: list[str], is_bpe: bool) -> None:
        self._labels = list(labels)
        self._is_bpe = bool(is_bpe)

    @property
    def labels(self) -> list[str]:
        """A copy of the labels."""
        return list(self._labels)

    @property
    def is_bpe(self) -> bool:
        """True for BPE pieces."""
        return self._is_bpe

    @classmethod
    def build_alphabet(cls, labels: Sequence[str]) -> Alphabet:
        """Normalise ``labels`` as pyctcdecode does (see the module docstring).

        Raises:
            InputTypeError: A label that is not a string.
            InputValueError: Duplicate labels, or a space in a BPE alphabet.
        """
        if isinstance(labels, str) or not isinstance(labels, Sequence):
            raise InputTypeError(f"labels must be a list of strings, got {type(labels).__name__}")
        out = list(labels)
        for i, lab in enumerate(out):
            if not isinstance(lab, str):
                raise InputTypeError(
                    f"labels must be strings, got {type(lab).__name__} {lab!r} at index {i}"
                )
        if len(out) != len(set(out)):
            dup = next(lab for lab in out if out.count(lab) > 1)
            raise InputValueError(f"labels must be distinct, got {dup!r} twice or more")
        is_bpe = any(s.startswith(("##", BPE_TOKEN)) for s in out)
        if is_bpe and any(" " in s for s in out):
            raise InputValueError(
                "labels look like BPE pieces (a label starts with '▁' or '##') but one "
                "holds a space; BPE words start at '▁', not at a space"
            )
        return cls(_normalize_bpe(out) if is_bpe else _normalize_chars(out), is_bpe)


def _replace_first(labels: list[str], pattern: re.Pattern[str], new: str) -> None:
    for i, lab in enumerate(labels):
        if pattern.match(lab):
            labels[i] = new


def _normalize_chars(labels: list[str]) -> list[str]:
    out = list(labels)
    if "|" in out and " " not in out:
        out[out.index("|")] = " "
    _replace_first(out, _BLANK, "")
    if "_" in out and "" not in out:
        out[out.index("_")] = ""
    if "" not in out:
        out.append("")
    _replace_first(out, _UNK, UNK_TOKEN)
    return out


def _bpe_style(token: str) -> str:
    if token.startswith("##"):
        return token[2:]
    if _SPECIAL.match(token) or token in ("", BPE_TOKEN, UNK_BPE_TOKEN):
        return token
    return BPE_TOKEN + token


def _normalize_bpe(labels: list[str]) -> list[str]:
    out = list(labels)
    if any(s.startswith("##") for s in out):
        out = [_bpe_style(s) for s in out]
    _replace_first(out, _BLANK, "")
    if "" not in out:
        out.append("")
    _replace_first(out, _UNK, UNK_BPE_TOKEN)
    return out


def _log_softmax(x: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.floating[Any]]:
    top = np.max(x, axis=1, keepdims=True)
    top[~np.isfinite(top)] = 0
    shifted = x - top
    with np.errstate(divide="ignore"):
        out: npt.NDArray[np.floating[Any]] = shifted - np.log(
            np.sum(np.exp(shifted), axis=1, keepdims=True)
        )
    return out


def _as_log_probs(logits: Any, vocab: int, index: int | None) -> npt.NDArray[np.floating[Any]]:
    """pyctcdecode's input rule: ``(time, vocab)`` logits or probabilities in, clipped
    log-probabilities out (float32 stays float32, anything else becomes float64)."""
    where = "" if index is None else f"logits_list[{index}]: "
    x = logits.detach().cpu().numpy() if is_tensor(logits) else np.asarray(logits)
    if x.dtype == np.bool_ or x.dtype.kind not in "iuf":
        raise InputTypeError(f"{where}logits must hold numbers, got dtype {x.dtype}")
    if x.ndim != 2:
        raise ShapeError(
            f"{where}logits must have shape (time, vocabulary) with 2 dimensions, got "
            f"shape {tuple(x.shape)}"
        )
    if x.shape[1] != vocab:
        raise ShapeError(
            f"{where}logits must have shape (time, {vocab}) for this alphabet of {vocab} "
            f"labels, got shape {tuple(x.shape)}"
        )
    x = x if x.dtype == np.float32 else x.astype(np.float64)
    bad = np.argwhere(np.isnan(x) | (x == np.inf))
    if bad.size:
        t, v = (int(i) for i in bad[0])
        raise InputValueError(f"{where}logits must be finite or -inf, got {x[t, v]} at [{t}, {v}]")
    floor = math.log(MIN_TOKEN_CLIP_P)
    if x.shape[0] and math.isclose(float(x.sum(axis=1).mean()), 1.0):
        with np.errstate(divide="ignore"):
            out = np.log(np.clip(x, MIN_TOKEN_CLIP_P, 1.0))
    else:
        out = np.clip(_log_softmax(x), floor, 0.0)
    return np.ascontiguousarray(out, dtype=x.dtype)


def _unigrams_of(unigrams: Collection[str] | None) -> tuple[str, ...] | None:
    if unigrams is None:
        return None
    if isinstance(unigrams, str):
        raise InputTypeError("unigrams must be a collection of words, got one string")
    out = []
    for i, w in enumerate(unigrams):
        if not isinstance(w, str):
            raise InputTypeError(f"unigrams must be strings, got {type(w).__name__} at {i}")
        out.append(w)
    return tuple(out)


def _hotwords_of(hotwords: Iterable[str] | None) -> tuple[str, ...]:
    if hotwords is None:
        return ()
    if isinstance(hotwords, str):
        raise InputTypeError("hotwords must be a list of words or phrases, got one string")
    out = []
    for i, phrase in enumerate(hotwords):
        if not isinstance(phrase, str):
            raise InputTypeError(
                f"hotwords must be strings, got {type(phrase).__name__} at index {i}"
            )
        out.extend(phrase.split())  # pyctcdecode boosts a phrase's words one by one
    return tuple(dict.fromkeys(out))


def _load_lm(path: str | os.PathLike[str] | WordNGramLM) -> WordNGramLM:
    from ctckit.lm import WordNGramLM

    if isinstance(path, WordNGramLM):
        return path
    if not isinstance(path, (str, os.PathLike)):
        raise InputTypeError(
            f"kenlm_model_path must be a path (str) or a WordNGramLM, got {type(path).__name__}"
        )
    name = os.fspath(path)
    if name.endswith(".arpa") or name.endswith(".arpa.gz"):
        return WordNGramLM.from_arpa(name)
    return WordNGramLM.load(name)


class _Settings(NamedTuple):
    alpha: float
    beta: float
    unk_score_offset: float
    lm_score_boundary: bool


_DEFAULT_SETTINGS = _Settings(
    DEFAULT_ALPHA, DEFAULT_BETA, DEFAULT_UNK_LOGP_OFFSET, DEFAULT_SCORE_LM_BOUNDARY
)


class BeamSearchDecoderCTC:
    """pyctcdecode's decoder object, made by :func:`build_ctcdecoder`.

    Args:
        alphabet: The normalised labels.
        lm: The word LM, or ``None``.
        unigrams: The words partial words are checked against (``None``: the LM's).
        settings: alpha, beta, unk_score_offset and lm_score_boundary.

    Example:
        >>> import numpy as np
        >>> decoder = build_ctcdecoder([" ", "a", "b", ""])
        >>> text, state, frames, logit_score, lm_score = decoder.decode_beams(
        ...     np.eye(4)[[1, 3, 0, 2]])[0]
        >>> text, frames
        ('a b', [('a', (0, 1)), ('b', (3, 4))])
    """

    def __init__(
        self,
        alphabet: Alphabet,
        lm: WordNGramLM | None = None,
        unigrams: tuple[str, ...] | None = None,
        settings: _Settings = _DEFAULT_SETTINGS,
    ) -> None:
        self._alphabet = alphabet
        self._lm = lm
        self._unigrams = unigrams
        self._settings = settings
        self._decoders: dict[tuple[Any, ...], WordBeamSearchDecoder] = {}

    def __repr__(self) -> str:
        s = self._settings
        lm = "no LM" if self._lm is None else f"LM of order {self._lm.order}"
        return (
            f"BeamSearchDecoderCTC({len(self._alphabet.labels)} labels"
            f"{', BPE' if self._alphabet.is_bpe else ''}, {lm}, alpha={s.alpha}, "
            f"beta={s.beta})"
        )

    def reset_params(
        self,
        alpha: float | None = None,
        beta: float | None = None,
        unk_score_offset: float | None = None,
        lm_score_boundary: bool | None = None,
    ) -> None:
        """Change LM parameters in place (no effect without an LM, as in pyctcdecode).

        Raises:
            InputTypeError: A value of the wrong type.
            InputValueError: A NaN or infinite float.
        """
        s = self._settings
        new = _Settings(
            s.alpha if alpha is None else check_float(alpha, "alpha"),
            s.beta if beta is None else check_float(beta, "beta"),
            s.unk_score_offset
            if unk_score_offset is None
            else check_float(unk_score_offset, "unk_score_offset"),
            s.lm_score_boundary
            if lm_score_boundary is None
            else _check_bool(lm_score_boundary, "lm_score_boundary"),
        )
        if self._lm is not None and new != s:
            self._settings = new
            self._decoders.clear()

    # ------------------------------------------------------------------ decoding

    def decode(
        self,
        logits: Any,
        beam_width: int = DEFAULT_BEAM_WIDTH,
        beam_prune_logp: float = DEFAULT_PRUNE_LOGP,
        token_min_logp: float = DEFAULT_MIN_TOKEN_LOGP,
        hotwords: Iterable[str] | None = None,
        hotword_weight: float = DEFAULT_HOTWORD_WEIGHT,
        lm_start_state: Any = None,
    ) -> str:
        """The best text of one utterance.

        Args:
            logits: ``(time, vocabulary)`` logits or probabilities (array or tensor).
            beam_width: Beams kept each frame.
            beam_prune_logp: Beams this far below the best are dropped.
            token_min_logp: Tokens below this log-probability are skipped in a frame
                unless they are its most probable.
            hotwords: Words (or phrases, whose words count one by one) to boost.
            hotword_weight: The bonus per hotword.
            lm_start_state: An ``lm_state`` of a previous beam, to go on from.

        Returns:
            The decoded text.

        Raises:
            ShapeError: ``logits`` not ``(time, vocabulary)``.
            InputValueError: NaN or ``+inf`` in ``logits``; an argument out of range.
        """
        x = _as_log_probs(logits, len(self._alphabet.labels), None)
        beams = self._decode_arrays(
            [x], beam_width, beam_prune_logp, token_min_logp, True, hotwords, hotword_weight,
            lm_start_state, best_only=True,
        )  # fmt: skip
        return beams[0][0].text

    def decode_beams(
        self,
        logits: Any,
        beam_width: int = DEFAULT_BEAM_WIDTH,
        beam_prune_logp: float = DEFAULT_PRUNE_LOGP,
        token_min_logp: float = DEFAULT_MIN_TOKEN_LOGP,
        prune_history: bool = DEFAULT_PRUNE_BEAMS,
        hotwords: Iterable[str] | None = None,
        hotword_weight: float = DEFAULT_HOTWORD_WEIGHT,
        lm_start_state: Any = None,
    ) -> list[OutputBeam]:
        """The final beams of one utterance, best first.

        Args: as :meth:`decode`, and ``prune_history``: keep only the best of the
            final beams that share their last ``max(1, order - 1)`` words.

        Returns:
            :class:`OutputBeam` tuples ``(text, lm_state, word_frames, logit_score,
            lm_score)``: at most ``beam_width``, none more than ``-beam_prune_logp``
            below the best.

        Raises:
            As :meth:`decode`.
        """
        x = _as_log_probs(logits, len(self._alphabet.labels), None)
        return self._decode_arrays(
            [x], beam_width, beam_prune_logp, token_min_logp, prune_history, hotwords,
            hotword_weight, lm_start_state,
        )[0]  # fmt: skip

    def decode_beams_batch(
        self,
        pool: Any,
        logits_list: Sequence[Any],
        beam_width: int = DEFAULT_BEAM_WIDTH,
        beam_prune_logp: float = DEFAULT_PRUNE_LOGP,
        token_min_logp: float = DEFAULT_MIN_TOKEN_LOGP,
        prune_history: bool = DEFAULT_PRUNE_BEAMS,
        hotwords: Iterable[str] | None = None,
        hotword_weight: float = DEFAULT_HOTWORD_WEIGHT,
    ) -> list[list[OutputBeamMPSafe]]:
        """:meth:`decode_beams` for each matrix of ``logits_list``, without LM states.

        ``pool`` (a ``multiprocessing.Pool`` in pyctcdecode) is accepted and not used:
        the utterances are decoded in ctckit's threads.
        """
        arrays = self._arrays(logits_list)
        out = self._decode_arrays(
            arrays, beam_width, beam_prune_logp, token_min_logp, prune_history, hotwords,
            hotword_weight, None,
        )  # fmt: skip
        return [
            [OutputBeamMPSafe(b.text, b.word_frames, b.logit_score, b.lm_score) for b in beams]
            for beams in out
        ]

    def decode_batch(
        self,
        pool: Any,
        logits_list: Sequence[Any],
        beam_width: int = DEFAULT_BEAM_WIDTH,
        beam_prune_logp: float = DEFAULT_PRUNE_LOGP,
        token_min_logp: float = DEFAULT_MIN_TOKEN_LOGP,
        hotwords: Iterable[str] | None = None,
        hotword_weight: float = DEFAULT_HOTWORD_WEIGHT,
    ) -> list[str]:
        """:meth:`decode` for each matrix of ``logits_list`` (``pool`` is not used).

        Example:
            >>> import numpy as np
            >>> decoder = build_ctcdecoder([" ", "a", "b", ""])
            >>> decoder.decode_batch(None, [np.eye(4)[[1, 0, 2]], np.eye(4)[[2]]])
            ['a b', 'b']
        """
        arrays = self._arrays(logits_list)
        out = self._decode_arrays(
            arrays, beam_width, beam_prune_logp, token_min_logp, True, hotwords,
            hotword_weight, None, best_only=True,
        )  # fmt: skip
        return [beams[0].text for beams in out]

    # ------------------------------------------------------------------ internals

    def _arrays(self, logits_list: Sequence[Any]) -> list[npt.NDArray[np.floating[Any]]]:
        listed = isinstance(logits_list, Sequence) and not isinstance(logits_list, str)
        if not (listed or is_tensor(logits_list) or isinstance(logits_list, np.ndarray)):
            raise InputTypeError(
                f"logits_list must be a list of (time, vocabulary) matrices, got "
                f"{type(logits_list).__name__}"
            )
        items = list(logits_list)
        vocab = len(self._alphabet.labels)
        return [_as_log_probs(x, vocab, i) for i, x in enumerate(items)]

    def _decoder(
        self,
        beam_width: int,
        beam_prune_logp: float,
        token_min_logp: float,
        hotwords: tuple[str, ...],
        hotword_weight: float,
        top_n: int,
    ) -> WordBeamSearchDecoder:
        key = (beam_width, beam_prune_logp, token_min_logp, hotwords, hotword_weight, top_n)
        dec = self._decoders.get(key)
        if dec is None:
            if len(self._decoders) > 16:  # many hotword lists: keep the cache small
                self._decoders.clear()
            dec = self._decoders[key] = _word_decoder(
                self._alphabet, self._lm, self._unigrams, self._settings, *key
            )
        return dec

    def _decode_arrays(
        self,
        arrays: list[npt.NDArray[np.floating[Any]]],
        beam_width: int,
        beam_prune_logp: float,
        token_min_logp: float,
        prune_history: bool,
        hotwords: Iterable[str] | None,
        hotword_weight: float,
        lm_start_state: Any,
        *,
        best_only: bool = False,
    ) -> list[list[OutputBeam]]:
        """Decode; ``best_only``: only the best beam is needed (``decode``), so the search
        returns one hypothesis (building a hundred costs more than a short search)."""
        width = check_int(beam_width, "beam_width", 1)
        prune = check_float(beam_prune_logp, "beam_prune_logp", high=0.0)
        token_min = check_float(token_min_logp, "token_min_logp", high=0.0, high_open=False)
        weight = check_float(hotword_weight, "hotword_weight")
        history = _check_bool(prune_history, "prune_history")
        top_n = 1 if best_only else width
        decoder = self._decoder(width, prune, token_min, _hotwords_of(hotwords), weight, top_n)
        if not arrays:
            return []
        lengths = np.asarray([a.shape[0] for a in arrays], dtype=np.int64)
        dtype = np.float32 if all(a.dtype == np.float32 for a in arrays) else np.float64
        batch = np.zeros((len(arrays), int(lengths.max()), arrays[0].shape[1]), dtype=dtype)
        for i, a in enumerate(arrays):
            batch[i, : a.shape[0]] = a
        results = _run(decoder, batch, lengths, lm_start_state)
        order = 1 if self._lm is None else self._lm.order
        return [_beams(hyps, prune, history, order) for hyps in results]


def _check_bool(value: object, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise InputTypeError(f"{name} must be a bool, got {type(value).__name__} {value!r}")
    return bool(value)


def _beams(
    hyps: Sequence[WordHypothesis], prune: float, history: bool, order: int
) -> list[OutputBeam]:
    """pyctcdecode's beams from ctckit's hypotheses: the final prune relative to the best,
    then (``history``) one beam per ending of ``max(1, order - 1)`` words."""
    best = hyps[0].score
    out: list[OutputBeam] = []
    seen: set[tuple[str, ...]] = set()
    keep = max(1, order - 1)
    for h in hyps:
        if not h.score >= best + prune:
            continue
        if history:
            ending = tuple(h.words[-keep:])
            if ending in seen:
                continue
            seen.add(ending)
        frames = [(w, (int(s.start), int(s.end))) for w, s in zip(h.words, h.word_spans)]
        out.append(OutputBeam(h.text, _lm_state(h), frames, h.acoustic_score, h.score))
    if not out:  # nothing decodable (an empty utterance): pyctcdecode's empty beam
        out.append(OutputBeam("", None, [], 0.0, 0.0))
    return out


def _lm_state(h: WordHypothesis) -> Any:
    return getattr(h, "lm_state", None)


def _word_decoder(
    alphabet: Alphabet,
    lm: WordNGramLM | None,
    unigrams: tuple[str, ...] | None,
    settings: _Settings,
    beam_width: int,
    beam_prune_logp: float,
    token_min_logp: float,
    hotwords: tuple[str, ...],
    hotword_weight: float,
    top_n: int,
) -> WordBeamSearchDecoder:
    """ctckit's word decoder for one configuration. Without an LM, pyctcdecode applies
    neither ``alpha``, ``beta`` nor the unigrams (they belong to its LM object)."""
    from ctckit.decode.words import WordBeamSearchDecoder

    labels = alphabet.labels
    if alphabet.is_bpe:  # '▁⁇▁' (bounded on both sides): the decoder takes word-start marks only
        labels = [lab[:-1] if len(lab) > 1 and lab.endswith(BPE_TOKEN) else lab for lab in labels]
    with_lm = lm is not None
    return WordBeamSearchDecoder(
        labels,
        lm=lm,
        word_delimiter=None if alphabet.is_bpe else " ",
        unigrams=unigrams if with_lm else None,
        alpha=settings.alpha if with_lm else 0.0,
        beta=settings.beta if with_lm else 0.0,
        unk_score_offset=settings.unk_score_offset,
        hotwords=hotwords,
        hotword_weight=hotword_weight,
        beam_width=beam_width,
        top_n=top_n,
        token_min_logp=token_min_logp,
        beam_prune_logp=beam_prune_logp,
        lm_score_boundary=settings.lm_score_boundary,
        blank=labels.index(""),
    )


def _run(
    decoder: WordBeamSearchDecoder,
    batch: npt.NDArray[np.floating[Any]],
    lengths: npt.NDArray[np.int64],
    lm_start_state: Any,
) -> list[list[WordHypothesis]]:
    if lm_start_state is not None:
        raise InputValueError(
            "lm_start_state is not supported: ctckit's word decoder starts each utterance "
            "at the start of a sentence (decode the chunks together, or as one batch)"
        )
    return decoder.decode(batch, lengths)


def build_ctcdecoder(
    labels: Sequence[str],
    kenlm_model_path: str | os.PathLike[str] | WordNGramLM | None = None,
    unigrams: Collection[str] | None = None,
    alpha: float = DEFAULT_ALPHA,
    beta: float = DEFAULT_BETA,
    unk_score_offset: float = DEFAULT_UNK_LOGP_OFFSET,
    lm_score_boundary: bool = DEFAULT_SCORE_LM_BOUNDARY,
) -> BeamSearchDecoderCTC:
    """Build a :class:`BeamSearchDecoderCTC` as pyctcdecode's ``build_ctcdecoder`` does.

    Args:
        labels: One label per column of the logits (see the module docstring for
            how they are normalised); ``" "`` (or ``"|"``) separates words, or
            ``"▁"``/``"##"`` pieces make a BPE alphabet.
        kenlm_model_path: An ARPA file (``.arpa``), a file written by
            :meth:`ctckit.lm.WordNGramLM.save`, or a :class:`~ctckit.lm.WordNGramLM`;
            ``None`` for no LM.
        unigrams: The known words; words of it that the LM does not know are
            dropped (as pyctcdecode does). ``None``: the LM's words.
        alpha: LM weight (on natural-log LM scores).
        beta: Bonus per word.
        unk_score_offset: log10 offset for a word outside the unigrams (and, not
            scaled, for a partial word no unigram starts with).
        lm_score_boundary: Score each utterance as a sentence between ``<s>`` and
            ``</s>``.

    Returns:
        The decoder.

    Raises:
        InputTypeError, InputValueError: Bad labels or parameters.
        DataError: An unreadable or malformed LM file (a KenLM binary file among
            them, with how to get the ARPA file).

    Example:
        >>> from pathlib import Path
        >>> arpa = Path("bugs.arpa")
        >>> _ = arpa.write_text(
        ...     "\\\\data\\\\\\nngram 1=4\\n\\n\\\\1-grams:\\n-1.0\\t<unk>\\n0\\t<s>\\n"
        ...     "-0.3\\t</s>\\n-0.2\\tbugs\\n\\n\\\\end\\\\\\n")
        >>> decoder = build_ctcdecoder([" ", "b", "g", "s", "u", ""], str(arpa))
        >>> decoder
        BeamSearchDecoderCTC(6 labels, LM of order 1, alpha=0.5, beta=1.5)
        >>> arpa.unlink()
    """
    alphabet = Alphabet.build_alphabet(labels)
    settings = _Settings(
        check_float(alpha, "alpha"),
        check_float(beta, "beta"),
        check_float(unk_score_offset, "unk_score_offset"),
        _check_bool(lm_score_boundary, "lm_score_boundary"),
    )
    words = _unigrams_of(unigrams)
    lm = None if kenlm_model_path is None else _load_lm(kenlm_model_path)
    if lm is not None and words is not None:
        words = tuple(w for w in words if w in lm)
    return BeamSearchDecoderCTC(alphabet, lm, words if lm is not None else None, settings)
