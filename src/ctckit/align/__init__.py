"""CTC forced alignment: token spans, phone timestamps, long audio, segmentation.

* :func:`forced_align`: the most probable CTC path that spells each target,
  for a whole batch (Numba on the CPU, torch on any device).
* :func:`merge_tokens`, :func:`align`: the token spans of an alignment, with
  a confidence each (:class:`~ctckit.decode.TokenSpan`).
* :func:`align_long`, :func:`segment`: an hour of frames in bounded memory,
  with a proof of exactness when it holds; utterance boundaries in a long
  recording.

Example:
    >>> import numpy as np
    >>> from ctckit.align import align
    >>> log_probs = np.log(np.eye(3)[[0, 1, 1, 0, 2]] * 0.9 + 0.1 / 3)  # (T=5, V=3)
    >>> [(s.token, s.start, s.end) for s in align(log_probs, [1, 2])[0]]
    [(1, 1, 3), (2, 4, 5)]
"""

from __future__ import annotations

from ctckit.align.forced import forced_align
from ctckit.align.long import LongAlignment, Segment, align_long, segment
from ctckit.align.spans import align, merge_tokens
from ctckit.decode.types import TokenSpan

__all__ = [
    "LongAlignment",
    "Segment",
    "TokenSpan",
    "align",
    "align_long",
    "forced_align",
    "merge_tokens",
    "segment",
]
