"""CTC forced alignment: token spans, phone timestamps, long audio, segmentation.

* :func:`forced_align`: the most probable CTC path that spells each target,
  for a whole batch (Numba on the CPU, torch on any device).
* :func:`merge_tokens`, :func:`align`: the token spans of an alignment, with
  a confidence each (:class:`~ctckit.decode.TokenSpan`).
"""

from __future__ import annotations

from ctckit.align.forced import forced_align
from ctckit.align.spans import align, merge_tokens
from ctckit.decode.types import TokenSpan

__all__ = ["TokenSpan", "align", "forced_align", "merge_tokens"]
