"""Familiar front doors: the APIs of pyctcdecode and torchaudio's CTC decoder over ctckit.

* :mod:`ctckit.compat.pyctcdecode`: :func:`~ctckit.compat.pyctcdecode.build_ctcdecoder`
  with pyctcdecode's ``decode``, ``decode_beams`` and ``decode_batch``, for
  character and BPE models with a KenLM-style word n-gram (an ARPA file);
* :mod:`ctckit.compat.torchaudio`: :func:`~ctckit.compat.torchaudio.ctc_decoder`,
  torchaudio's (flashlight's) lexicon and lexicon-free decoder, called as
  ``decoder(emissions, lengths)``.

A user switches by changing one import: ``from pyctcdecode import build_ctcdecoder``
becomes ``from ctckit.compat.pyctcdecode import build_ctcdecoder``. Neither peer is
needed: the search is ctckit's :class:`~ctckit.decode.WordBeamSearchDecoder`
(and, for torchaudio's lexicon-free mode with a token LM,
:class:`~ctckit.decode.BeamSearchDecoder`). Each module's docstring lists where
it differs from its peer.

The submodules are imported on first use, not on ``import ctckit.compat``.

Example:
    >>> import ctckit.compat
    >>> sorted(ctckit.compat.__all__)
    ['pyctcdecode', 'torchaudio']
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["pyctcdecode", "torchaudio"]


def __getattr__(name: str) -> ModuleType:
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
