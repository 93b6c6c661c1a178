"""torchaudio's ``ctc_decoder`` (flashlight's lexicon decoder) over ctckit's word decoder.

``from torchaudio.models.decoder import ctc_decoder`` becomes
``from ctckit.compat.torchaudio import ctc_decoder``: the same arguments and
defaults, a decoder called as ``decoder(emissions, lengths)`` that returns, per
utterance, up to ``nbest`` :class:`CTCHypothesis` tuples ``(tokens, words, score,
timesteps)`` laid out as torchaudio's, and ``idxs_to_tokens``. The search is
:class:`~ctckit.decode.WordBeamSearchDecoder`; no flashlight-text, KenLM or
torchaudio install is needed.

What is the same as torchaudio 2.9 (with flashlight-text 0.0.7):

* ``tokens`` is a token file (one index a line; several tokens on a line share the
  index) or a list; ``lexicon`` a file of ``word tok1 tok2 ...`` lines (several
  lines per word for several spellings), or ``None`` for lexicon-free decoding;
* ``score = acoustic + lm_weight * log10 P_LM(words) + word_score * len(words) +
  sil_score * (silence tokens) + unk_score * (unknown words)``, where ``acoustic``
  sums the emissions (any real scores, such as log-softmax outputs) along the best
  alignment (``log_add=False``) or log-adds them over all alignments
  (``log_add=True``), and the search merges a prefix's alignments the same way
  (``WordBeamSearchDecoder(merge="max")`` or ``"sum"``), so it also ranks by that
  score; the LM scores a sentence between ``<s>`` and ``</s>``;
* the hypothesis layout: ``tokens`` are the label ids with repeats merged and
  blanks dropped, wrapped in the silence token the decoder starts and ends with;
  ``timesteps[k]`` is where ``tokens[k]`` starts on that wrapped sequence, so the
  leading silence is at 0, a token starting at frame ``t`` at ``t + 1`` and the
  trailing silence at ``T + 1`` (torchaudio's convention; subtract 1 for frames);
  ``words`` lists the lexicon words.

Where it differs:

* lexicon-free decoding (``lexicon=None``) reads words between ``sil_token``
  delimiters and fuses a *word* LM; ``words`` is filled. (flashlight's lexicon-free
  decoder scores each token as an LM word, so a word LM there sees only unknown
  words, and torchaudio leaves ``words`` empty.) ``sil_score`` is not supported
  there;
* ``lm`` is the path of an ARPA file (or of a saved :class:`~ctckit.lm.WordNGramLM`)
  or a :class:`~ctckit.lm.WordNGramLM`; a KenLM binary file, a custom
  ``CTCDecoderLM`` and ``lm_dict`` are not supported;
* ``emissions`` may be float32 or float64, a tensor on any device or a numpy array;
  its last dimension must equal the number of tokens (flashlight reads what it is
  given); bad input raises a :class:`~ctckit.errors.CTCKitError` (a ``ValueError``
  or ``TypeError``) rather than ``RuntimeError``;
* ``timesteps`` come from the best alignment of the returned tokens
  (:func:`ctckit.align.forced_align`); for word spans use
  :class:`~ctckit.decode.WordBeamSearchDecoder` directly;
* the streaming methods (``decode_begin``/``decode_step``/``decode_end``) are not
  provided.

torchaudio's alignment helpers ``torchaudio.functional.merge_tokens`` and its
``TokenSpan`` are here too (:func:`merge_tokens`, :class:`TokenSpan`: the same
arguments, results and span score, the mean of the frame scores); ctckit's own
:func:`ctckit.align.merge_tokens` returns :class:`ctckit.TokenSpan` with a
posterior confidence instead.

Example:
    >>> import torch
    >>> from ctckit.compat.torchaudio import ctc_decoder
    >>> decoder = ctc_decoder(lexicon=None, tokens=["-", "|", "a", "b"])
    >>> emissions = torch.log(torch.eye(4)[[2, 0, 1, 3, 3]] * 0.97 + 0.01)[None]
    >>> hyp = decoder(emissions)[0][0]
    >>> decoder.idxs_to_tokens(hyp.tokens), hyp.words, hyp.timesteps.tolist()
    (['|', 'a', '|', 'b', '|'], ['a', 'b'], [0, 1, 3, 4, 6])
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import numpy.typing as npt

from ctckit._checks import check_float, check_int, is_tensor
from ctckit.errors import DataError, InputTypeError, InputValueError, ShapeError

if TYPE_CHECKING:
    import torch

    from ctckit.decode import WordHypothesis
    from ctckit.decode.words import WordBeamSearchDecoder
    from ctckit.lm import Lexicon, WordNGramLM

__all__ = ["CTCDecoder", "CTCHypothesis", "TokenSpan", "ctc_decoder", "merge_tokens"]

_LN10 = math.log(10.0)


@dataclass
class TokenSpan:
    """A token with its frames and score, as torchaudio's ``TokenSpan`` (returned by
    :func:`merge_tokens`).

    Attributes:
        token: The token id.
        start: Its first frame (inclusive).
        end: One past its last frame (exclusive); ``len(span)`` is ``end - start``.
        score: The mean of the frame scores over ``[start, end)``.

    Example:
        >>> span = TokenSpan(token=3, start=2, end=5, score=-0.25)
        >>> len(span), span.score
        (3, -0.25)
    """

    token: int
    start: int
    end: int
    score: float

    def __len__(self) -> int:
        return self.end - self.start


def merge_tokens(tokens: Any, scores: Any, blank: int = 0) -> list[TokenSpan]:
    """torchaudio's ``merge_tokens``: the runs of a frame alignment as token spans.

    Each run of equal labels other than ``blank`` becomes one :class:`TokenSpan`, scored
    with the mean of its frames' ``scores`` (torchaudio averages whatever it is given,
    typically :func:`~ctckit.align.forced_align`'s log-probabilities).

    Args:
        tokens: ``(T,)`` integer frame labels, a tensor, array or sequence.
        scores: ``(T,)`` frame scores.
        blank: The blank's id.

    Returns:
        The spans in time order.

    Raises:
        InputTypeError: Non-integer labels or non-numeric scores.
        ShapeError: ``tokens`` or ``scores`` not 1-D, or of different lengths
            (torchaudio raises ``ValueError``, which :class:`~ctckit.errors.ShapeError`
            is).

    Example:
        >>> import torch
        >>> spans = merge_tokens(torch.tensor([0, 3, 3, 0, 5, 5]),
        ...                      torch.tensor([-0.1, -0.2, -0.4, -0.1, -1.0, -0.5]))
        >>> [(s.token, s.start, s.end, round(s.score, 3)) for s in spans]
        [(3, 1, 3, -0.3), (5, 4, 6, -0.75)]
    """
    blank_id = check_int(blank, "blank")
    labels = _frame_array(tokens, "tokens")
    values = _frame_array(scores, "scores")
    if labels.size and (labels.dtype == np.bool_ or labels.dtype.kind not in "iu"):
        raise InputTypeError(f"tokens must hold integers, got dtype {labels.dtype}")
    if values.size and (values.dtype == np.bool_ or values.dtype.kind not in "iuf"):
        raise InputTypeError(f"scores must hold numbers, got dtype {values.dtype}")
    if labels.ndim != 1 or values.ndim != 1:
        raise ShapeError(
            f"tokens and scores must be 1-D, got shapes {tuple(labels.shape)} and "
            f"{tuple(values.shape)}"
        )
    if labels.shape != values.shape:
        raise ShapeError(
            f"tokens and scores must have the same length, got {labels.shape[0]} and "
            f"{values.shape[0]}"
        )
    if not labels.size:
        return []
    labels = labels.astype(np.int64)
    bounds = np.flatnonzero(np.diff(labels, prepend=labels[0] - 1, append=labels[-1] - 1))
    starts, ends = bounds[:-1], bounds[1:]
    means = np.add.reduceat(values.astype(np.float64), starts) / (ends - starts)  # every run
    keep = labels[starts] != blank_id
    starts, ends, means = starts[keep], ends[keep], means[keep].tolist()
    return [
        TokenSpan(t, a, e, m)
        for t, a, e, m in zip(labels[starts].tolist(), starts.tolist(), ends.tolist(), means)
    ]


def _frame_array(x: Any, name: str) -> npt.NDArray[Any]:
    if is_tensor(x):
        return np.asarray(x.detach().cpu().numpy())
    try:
        return np.asarray(x)
    except (TypeError, ValueError) as e:
        raise InputTypeError(
            f"{name} must be a tensor, array or sequence, got {type(x).__name__}"
        ) from e


class CTCHypothesis(NamedTuple):
    """One hypothesis, as torchaudio's ``CTCHypothesis``.

    Attributes:
        tokens: ``(L,)`` int64 tensor of token ids: repeats merged, blanks dropped,
            between the leading and trailing silence token.
        words: The words (lexicon words with a lexicon; the words between silence
            tokens without).
        score: The hypothesis's score (see the module docstring).
        timesteps: ``(L,)`` int32 tensor: where each token starts, counting the
            leading silence as step 0 (frame ``t`` is step ``t + 1``).

    Example:
        >>> import torch
        >>> h = CTCHypothesis(torch.tensor([1, 2, 1]), ["a"], -0.5, torch.tensor([0, 1, 3]))
        >>> tokens, words, score, timesteps = h
        >>> words, score
        (['a'], -0.5)
    """

    tokens: torch.Tensor
    words: list[str]
    score: float
    timesteps: torch.Tensor


def _read_tokens(tokens: str | os.PathLike[str] | Sequence[str]) -> list[list[str]]:
    """The spellings of each token index: a file (one index a line, several
    whitespace-separated spellings sharing it) or a list (one spelling each)."""
    if isinstance(tokens, (str, os.PathLike)):
        path = os.fspath(tokens)
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except FileNotFoundError as err:
            raise DataError("token file not found", path=path) from err
        except UnicodeDecodeError as err:
            raise DataError("token file is not UTF-8 text", path=path) from err
        groups = [line.split() for line in lines if line.strip()]
        if not groups:
            raise DataError("token file lists no tokens", path=path)
        return groups
    if not isinstance(tokens, Sequence):
        raise InputTypeError(
            f"tokens must be a file path or a list of strings, got {type(tokens).__name__}"
        )
    out = []
    for i, tok in enumerate(tokens):
        if not isinstance(tok, str) or not tok:
            raise InputValueError(f"tokens must be non-empty strings, got {tok!r} at index {i}")
        out.append([tok])
    if not out:
        raise InputValueError("tokens is empty")
    return out


def _token_index(groups: list[list[str]], name: str, what: str) -> int:
    for i, group in enumerate(groups):
        if name in group:
            return i
    raise InputValueError(f"{what} {name!r} is not among the tokens")


def _load_lexicon(path: str | os.PathLike[str], labels: Sequence[str]) -> Lexicon:
    from ctckit.lm import Lexicon

    return Lexicon.from_file(path, labels)


def _load_lm(lm: str | os.PathLike[str] | WordNGramLM | None) -> WordNGramLM | None:
    if lm is None:
        return None
    from ctckit.lm import WordNGramLM

    if isinstance(lm, WordNGramLM):
        return lm
    if not isinstance(lm, (str, os.PathLike)):
        raise InputTypeError(
            "lm must be the path of an ARPA file, a ctckit.lm.WordNGramLM or None, got "
            f"{type(lm).__name__} (torchaudio's custom CTCDecoderLM is not supported)"
        )
    path = os.fspath(lm)
    if path.endswith(".arpa") or path.endswith(".arpa.gz"):
        return WordNGramLM.from_arpa(path)
    return WordNGramLM.load(path)


class CTCDecoder:
    """torchaudio's ``CTCDecoder``, made by :func:`ctc_decoder`.

    Args:
        search: The ctckit word decoder doing the search.
        token_groups: The spellings of each token index (the first is the name).
        blank: The blank's index.
        sil: The silence token's index.
        nbest: Hypotheses returned per utterance.
        beam_size_token: Tokens considered per frame (the best ones), or ``None``.
        log_add: Whether the search merged alignments by log-sum-exp (``True``)
            or by their maximum (``False``).

    Example:
        >>> decoder = ctc_decoder(None, ["-", "|", "a"])
        >>> decoder.idxs_to_tokens([1, 2, 1])
        ['|', 'a', '|']
    """

    def __init__(
        self,
        search: WordBeamSearchDecoder,
        token_groups: list[list[str]],
        blank: int,
        sil: int,
        nbest: int,
        beam_size_token: int | None,
        log_add: bool,
    ) -> None:
        self._search = search
        self._groups = token_groups
        self.blank = blank
        self.silence = sil
        self.nbest = nbest
        self._beam_size_token = beam_size_token
        self._log_add = log_add

    def __repr__(self) -> str:
        return (
            f"CTCDecoder({len(self._groups)} tokens, {self._search.mode}, nbest={self.nbest}, "
            f"beam_size={self._search.beam_width}, log_add={self._log_add})"
        )

    def idxs_to_tokens(self, idxs: Any) -> list[str]:
        """The token of each id (a tensor, array or sequence of ints).

        Raises:
            InputValueError: An id outside the tokens.
        """
        ids = idxs.tolist() if hasattr(idxs, "tolist") else list(idxs)
        out = []
        for k, i in enumerate(ids):
            if not isinstance(i, int) or not 0 <= i < len(self._groups):
                raise InputValueError(
                    f"token ids must lie in [0, {len(self._groups)}), got {i!r} at index {k}"
                )
            out.append(self._groups[i][0])
        return out

    def __call__(self, emissions: Any, lengths: Any = None) -> list[list[CTCHypothesis]]:
        """Decode a batch.

        Args:
            emissions: ``(batch, frame, num_tokens)`` float32/float64 scores (such
                as log-softmax outputs), a tensor on any device or a numpy array.
            lengths: ``(batch,)`` valid frames per utterance; ``None``: all.

        Returns:
            Per utterance, up to ``nbest`` hypotheses, best first (none when no
            hypothesis reaches the end, such as a lexicon word cut off by the end).

        Raises:
            InputTypeError: Wrong type or dtype.
            ShapeError: Not 3-D, or ``num_tokens`` not the number of tokens.
            InputValueError: NaN or ``+inf`` within ``lengths``, or a length out of
                ``[0, frame]``.
        """
        import torch

        from ctckit.align import forced_align
        from ctckit.decode._input import check_lengths

        x = _emission_array(emissions, len(self._groups))
        batch, time, _ = x.shape
        lens = check_lengths(lengths, batch, time, True)
        shifted, offsets = _normalise(x, lens, self._beam_size_token, self.blank)
        found = self._search.decode(shifted, lens)
        rows: list[tuple[int, WordHypothesis]] = [
            (b, h)
            for b, hyps in enumerate(found)
            for h in hyps[: self.nbest]
            if h.score > -math.inf
        ]
        out: list[list[CTCHypothesis]] = [[] for _ in range(batch)]
        if not rows:
            return out
        utt = np.asarray([b for b, _ in rows])
        targets = [list(h.tokens) for _, h in rows]
        paths, _ = forced_align(shifted[utt], targets, lens[utt], blank=self.blank, num_threads=1)
        for k, (b, h) in enumerate(rows):
            n = int(lens[b])
            score = h.score + float(offsets[b])
            tokens, steps = _wrapped(paths[k, :n], self.blank, self.silence)
            out[b].append(
                CTCHypothesis(
                    torch.from_numpy(tokens),
                    list(h.words),
                    score,
                    torch.from_numpy(steps),
                )
            )
        return out


def _emission_array(emissions: Any, vocab: int) -> npt.NDArray[np.floating[Any]]:
    if is_tensor(emissions):
        arr = emissions.detach().cpu().numpy()
    elif isinstance(emissions, np.ndarray):
        arr = emissions
    else:
        raise InputTypeError(
            f"emissions must be a torch.Tensor or numpy.ndarray of shape (batch, frame, "
            f"num_tokens), got {type(emissions).__name__}"
        )
    if arr.dtype not in (np.float32, np.float64):
        raise InputTypeError(f"emissions must be float32 or float64, got {arr.dtype}")
    if arr.ndim != 3:
        raise ShapeError(
            f"emissions must be 3-D (batch, frame, num_tokens), got shape {tuple(arr.shape)}"
        )
    if arr.shape[2] != vocab:
        raise ShapeError(
            f"emissions must have num_tokens={vocab} (the number of tokens), got shape "
            f"{tuple(arr.shape)}"
        )
    return np.ascontiguousarray(arr)


def _normalise(
    x: npt.NDArray[np.floating[Any]], lens: npt.NDArray[np.int64], top_k: int | None, blank: int
) -> tuple[npt.NDArray[np.floating[Any]], npt.NDArray[np.float64]]:
    """Emissions the log-probability decoder accepts, and what was taken off.

    Every hypothesis takes exactly one entry per frame, so subtracting a frame's
    maximum from its row shifts every score by the same amount and changes no
    decision; the maxima's sum per utterance is added back to the scores. Tokens
    outside the ``top_k`` of a frame are set to ``-inf``, except the blank (flashlight's
    ``beam_size_token`` limits the new tokens a hypothesis may take; it always tries the
    blank, and also the repeat of a hypothesis's last token, which is pruned here)."""
    _, time, vocab = x.shape
    valid = np.arange(time)[None, :] < lens[:, None]
    bad = np.argwhere(valid[..., None] & (np.isnan(x) | (x == np.inf)))
    if bad.size:
        b, t, v = (int(i) for i in bad[0])
        raise InputValueError(
            f"emissions must be finite or -inf within lengths, got {x[b, t, v]} at [{b}, {t}, {v}]"
        )
    y = np.where(valid[..., None], x, 0.0).astype(x.dtype)
    if top_k is not None and top_k < vocab:
        cut = np.partition(y, vocab - top_k, axis=2)[..., vocab - top_k : vocab - top_k + 1]
        keep = y >= cut
        keep[:, :, blank] = True
        y = np.where(keep, y, -np.inf).astype(x.dtype)
    top = y.max(axis=2, keepdims=True)
    top[~np.isfinite(top)] = 0.0
    y = y - top
    offsets = np.where(valid, top[..., 0], 0.0).astype(np.float64).sum(axis=1)
    return np.ascontiguousarray(y), offsets


def _wrapped(
    path: npt.NDArray[np.int64], blank: int, sil: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32]]:
    """torchaudio's tokens and timesteps of a frame path: the path between two
    silence tokens, runs merged, blanks dropped, each token at the index of its run."""
    raw = np.concatenate([[sil], path, [sil]])
    starts = np.concatenate([[0], np.flatnonzero(raw[1:] != raw[:-1]) + 1])
    starts = starts[raw[starts] != blank]
    return raw[starts].astype(np.int64), starts.astype(np.int32)


def ctc_decoder(
    lexicon: str | os.PathLike[str] | None,
    tokens: str | os.PathLike[str] | Sequence[str],
    lm: str | os.PathLike[str] | WordNGramLM | None = None,
    lm_dict: str | None = None,
    nbest: int = 1,
    beam_size: int = 50,
    beam_size_token: int | None = None,
    beam_threshold: float = 50,
    lm_weight: float = 2,
    word_score: float = 0,
    unk_score: float = float("-inf"),
    sil_score: float = 0,
    log_add: bool = False,
    blank_token: str = "-",
    sil_token: str = "|",
    unk_word: str = "<unk>",
) -> CTCDecoder:
    """Build a :class:`CTCDecoder` as torchaudio's ``ctc_decoder`` does.

    Args:
        lexicon: A lexicon file (``word tok1 tok2 ...`` per line), or ``None`` for
            lexicon-free decoding (words between ``sil_token`` delimiters).
        tokens: A token file or a list of tokens, one per emission column.
        lm: An ARPA file, a saved or loaded :class:`~ctckit.lm.WordNGramLM`, or
            ``None``.
        lm_dict: Not supported (must be ``None``): ctckit's LMs carry their words.
        nbest: Hypotheses returned per utterance.
        beam_size: Hypotheses kept after each frame.
        beam_size_token: Tokens considered per frame (the best, and the blank
            always, as flashlight's); ``None``: all.
        beam_threshold: Hypotheses more than this below the best are dropped.
        lm_weight: Weight of the LM's log10 score.
        word_score: Added per word.
        unk_score: Added per unknown word (``-inf``: none are emitted; with a
            lexicon only).
        sil_score: Added per silence token (with a lexicon only).
        log_add: Merge a prefix's alignments by log-sum-exp (the CTC probability)
            instead of keeping the best one (flashlight's default).
        blank_token: The blank's token.
        sil_token: The silence (word boundary) token.
        unk_word: The word emitted for an unknown spelling.

    Returns:
        The decoder.

    Raises:
        DataError: An unreadable or malformed token, lexicon or LM file.
        InputTypeError, InputValueError: Bad arguments (a blank or silence token
            missing from the tokens, a lexicon token that is not a token, a
            parameter out of range, an unsupported option).

    Example:
        >>> decoder = ctc_decoder(None, ["-", "|", "a", "b"], nbest=2, beam_size=8)
        >>> decoder
        CTCDecoder(4 tokens, characters, nbest=2, beam_size=8, log_add=False)
    """
    from ctckit.decode.words import WordBeamSearchDecoder

    if lm_dict is not None:
        raise InputValueError(
            "lm_dict is not supported: ctckit's word LMs carry their own words (pass lm_dict=None)"
        )
    groups = _read_tokens(tokens)
    labels = [g[0] for g in groups]
    blank = _token_index(groups, blank_token, "blank_token")
    sil = _token_index(groups, sil_token, "sil_token")
    if blank == sil:
        raise InputValueError(f"blank_token and sil_token must differ, both are {blank_token!r}")
    n = check_int(nbest, "nbest", 1)
    width = check_int(beam_size, "beam_size", 1)
    token_k = None if beam_size_token is None else check_int(beam_size_token, "beam_size_token", 1)
    threshold = check_float(beam_threshold, "beam_threshold", 0.0)
    weight = check_float(lm_weight, "lm_weight", 0.0)
    per_word = check_float(word_score, "word_score")
    per_sil = check_float(sil_score, "sil_score")
    if not isinstance(unk_score, (int, float)) or math.isnan(unk_score) or unk_score == math.inf:
        raise InputValueError(f"unk_score must be a float below +inf, got {unk_score!r}")
    if not isinstance(log_add, bool):
        raise InputTypeError(f"log_add must be a bool, got {type(log_add).__name__}")
    word_lm = _load_lm(lm)
    allow_unk = unk_score > -math.inf
    if allow_unk and lexicon is None:
        raise InputValueError("unk_score applies to lexicon decoding only (lexicon=None)")
    if allow_unk and weight == 0.0 and unk_score != 0.0:
        raise InputValueError("a finite unk_score needs lm_weight > 0 (it is scaled by it here)")
    common: dict[str, Any] = {
        "lm": word_lm,
        "alpha": weight / _LN10,  # alpha weighs natural-log LM scores, lm_weight log10 ones
        "beta": 0.0,
        "word_score": per_word,
        "beam_width": width,
        "top_n": min(n, width),
        "token_min_logp": None,
        "beam_prune_logp": -threshold,
        "lm_score_boundary": True,
        "blank": blank,
        "merge": "sum" if log_add else "max",
    }
    if lexicon is None:
        if per_sil != 0.0:
            raise InputValueError(
                "sil_score is not supported in lexicon-free decoding (the silence token is "
                "the word delimiter there; use word_score)"
            )
        search = WordBeamSearchDecoder(
            labels, word_delimiter=labels[sil], unk_score_offset=0.0, **common
        )
    else:
        search = WordBeamSearchDecoder(
            labels,
            lexicon=_load_lexicon(lexicon, labels),
            unk_word=unk_word if allow_unk else None,
            unk_score_offset=(unk_score / weight) if allow_unk and weight > 0 else 0.0,
            sil_token=labels[sil],
            sil_score=per_sil,
            **common,
        )
    return CTCDecoder(search, groups, blank, sil, n, token_k, log_add)
