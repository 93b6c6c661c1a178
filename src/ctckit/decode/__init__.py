"""CTC decoders: best-path (greedy) and an exact prefix beam search with LM fusion.

* :func:`greedy_decode`: argmax per frame over a whole batch, repeats
  collapsed, blanks dropped.
* :class:`BeamSearchDecoder`: CTC prefix beam search in log space, compiled
  with Numba, threads over the utterances of a batch, optional shallow fusion
  with a token language model (:class:`NGramLM` or any
  :class:`~ctckit.lm.LanguageModel`).
* :class:`Hypothesis`: one result of the beam search.
* :class:`DecoderStream` (:meth:`BeamSearchDecoder.stream`) and
  :class:`GreedyStream` (:func:`greedy_stream`): the same decoders fed frames
  as they arrive, with the same results for any chunking.
* :class:`WordBeamSearchDecoder`: the beam search to words, with a word LM,
  hotwords, or a pronunciation lexicon; its results are :class:`WordHypothesis`
  with a :class:`WordSpan` per word.

Numba is imported on the first beam search, not on ``import ctckit.decode``.

Example:
    >>> import numpy as np
    >>> from ctckit.decode import BeamSearchDecoder, greedy_decode
    >>> log_probs = np.log(np.eye(3)[[1, 0, 1, 2]] * 0.9 + 0.1 / 3)  # (T=4, V=3)
    >>> greedy_decode(log_probs)
    [[1, 1, 2]]
    >>> BeamSearchDecoder(beam_width=4).decode(log_probs)[0][0].tokens
    (1, 1, 2)
"""

from __future__ import annotations

from typing import Any

from ctckit.decode.beam import BeamSearchDecoder
from ctckit.decode.greedy import greedy_decode
from ctckit.decode.stream import DecoderStream, GreedyStream, greedy_stream
from ctckit.decode.types import Hypothesis, TokenSpan, WordHypothesis, WordSpan
from ctckit.decode.words import WordBeamSearchDecoder

__all__ = [
    "BeamSearchDecoder",
    "DecoderStream",
    "GreedyStream",
    "Hypothesis",
    "LMTables",
    "LanguageModel",
    "NGramLM",
    "TokenSpan",
    "WordBeamSearchDecoder",
    "WordHypothesis",
    "WordSpan",
    "greedy_decode",
    "greedy_stream",
]

_LAZY = {"NGramLM", "LMTables", "LanguageModel", "compile_lm"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from ctckit import lm

        return getattr(lm, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
