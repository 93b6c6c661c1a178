"""Language models for CTC decoding.

* :mod:`ctckit.lm.tables`: the :class:`LanguageModel` protocol, its base
  class :class:`LanguageModelBase` and :class:`LMTables`, the automaton the
  beam-search kernels read;
* :mod:`ctckit.lm.ngram`: :class:`NGramLM`, token n-gram estimation
  (interpolated modified Kneser-Ney, Witten-Bell);
* :mod:`ctckit.lm.arpa`: reading and writing the ARPA format;
* :mod:`ctckit.lm.words`: :class:`WordNGramLM`, a word n-gram store in flat
  hash tables that Numba kernels query, scored exactly like KenLM;
* :mod:`ctckit.lm.lexicon`: :class:`Lexicon`, pronunciations in a model's
  tokens and their token trie.

Example:
    >>> from ctckit.lm import NGramLM
    >>> NGramLM.fit([[1, 2, 1]], order=2, vocab_size=3).tables.vocab_size
    3
"""

from __future__ import annotations

from ctckit.lm.lexicon import Lexicon
from ctckit.lm.ngram import NGramLM
from ctckit.lm.tables import LanguageModel, LanguageModelBase, LMTables, compile_lm
from ctckit.lm.words import WordNGramLM

__all__ = [
    "LMTables",
    "LanguageModel",
    "LanguageModelBase",
    "Lexicon",
    "NGramLM",
    "WordNGramLM",
    "compile_lm",
]
