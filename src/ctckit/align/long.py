"""Long audio: a banded Viterbi that knows when it is exact, and utterance segmentation."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ctckit._checks import check_int, is_tensor
from ctckit.align import _input
from ctckit.align.forced import _prepare
from ctckit.align.spans import _runs, merge_tokens
from ctckit.decode.types import TokenSpan
from ctckit.errors import InputValueError, ShapeError

__all__ = ["LongAlignment", "Segment", "align_long", "segment"]


@dataclass(frozen=True, eq=False)
class LongAlignment:
    """The best path of a long utterance found inside a band of states.

    Attributes:
        alignment: ``(T,)`` int64 frame labels, as a row of
            :func:`~ctckit.align.forced_align`'s output.
        scores: ``(T,)`` log-probability of each frame's label.
        score: ``scores.sum()``: the path's log-probability (float64 sum).
        exact: ``True`` when the path is proven to be the best of *all*
            paths: no path that leaves the band can score more (see
            :func:`align_long`). ``False`` says only that the proof failed;
            the path is still the best inside the band.
        bound: An upper bound of the score of every path that leaves the
            band (``-inf`` when none can); ``exact`` is ``bound <= score``.
        band: The band's width in states.
        blank: The blank's index.

    Example:
        >>> import numpy as np
        >>> lp = np.log(np.full((4, 3), 1 / 3))
        >>> result = align_long(lp, [1, 2])
        >>> result.alignment.shape, result.exact
        ((4,), True)
    """

    alignment: npt.NDArray[np.int64]
    scores: npt.NDArray[np.floating[Any]]
    score: float
    exact: bool
    bound: float
    band: int
    blank: int

    def spans(self) -> list[TokenSpan]:
        """The token spans of the path (:func:`~ctckit.align.merge_tokens`).

        Example:
            >>> import numpy as np
            >>> result = align_long(np.log(np.full((4, 3), 1 / 3)), [1, 2])
            >>> [(s.token, s.start) for s in result.spans()]
            [(1, 0), (2, 1)]
        """
        return merge_tokens(self.alignment, self.scores, self.blank)


def align_long(
    log_probs: Any,
    targets: Any,
    blank: int = 0,
    *,
    band: int = 4096,
    wildcard: int | None = None,
    wildcard_penalty: float = 0.0,
) -> LongAlignment:
    """Align one long transcript to many frames in memory linear in the frames.

    The trellis of an hour of frames (``T = 360,000`` at 100 frames/s) and
    40,000 tokens has ``2.9e10`` cells, too many to search or to keep
    back-pointers for. Like ctc-segmentation's windowing, this search only
    visits, at each frame, a band of ``band`` consecutive states centred on
    the previous frame's best state (kept where the remaining frames can
    still reach the end), and keeps 2-bit back-pointers:
    ``T * band / 4`` bytes (369 MB for an hour at the default band).

    The result is the best path among those that stay inside the band, so it
    is exact whenever the band holds the best path. Whether it does is
    checked: a path that leaves the band at frame ``t`` scored at most the
    best in-band score of a state it left from, and can gain at most the sum
    of the frames' best log-probabilities from ``t`` on. If that bound, over
    every frame, is not above the path found, no path outside the band can
    beat it and ``exact`` is ``True``. Otherwise ``exact`` is ``False``
    (widen the band, or cut the recording with :func:`segment` first). The
    bound is loose where the model often disagrees with the transcript, so
    an exact path may be reported as unproven, never the reverse.

    Args:
        log_probs: ``(T, V)`` float32/float64 log-probabilities (a tensor is
            copied to the CPU). NaN and ``+inf`` are not allowed.
        targets: ``(L,)`` token ids, as for :func:`~ctckit.align.forced_align`.
        blank: The blank's index.
        band: States searched per frame, ``>= 4`` (rounded up to a multiple
            of 4); a band of ``2L + 1`` or more searches every state.
        wildcard, wildcard_penalty: As :func:`~ctckit.align.forced_align`.

    Returns:
        The path, its score and whether it is proven best.

    Raises:
        InputTypeError, ShapeError, InputValueError: As
            :func:`~ctckit.align.forced_align`; also when no path inside the
            band spells the targets (widen the band).

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> lp = np.log(rng.dirichlet(np.ones(5) * 0.3, size=400))  # (T=400, V=5)
        >>> tokens = rng.integers(1, 5, size=100)
        >>> full = align_long(lp, tokens, band=256)  # 2L + 1 = 201 states: all of them
        >>> full.exact, len(full.spans())
        (True, 100)
        >>> narrow = align_long(lp, tokens, band=8)
        >>> narrow.score <= full.score, narrow.exact
        (True, False)
    """
    width = check_int(band, "band", 4)
    width = (width + 3) // 4 * 4
    shape = tuple(log_probs.shape) if hasattr(log_probs, "shape") else ()
    if len(shape) != 2:
        raise ShapeError(f"log_probs must have shape (T, V) (one long utterance), got {shape}")
    p = _prepare(log_probs, targets, None, None, blank, wildcard, wildcard_penalty)
    from ctckit.align import _kernels

    arr = p.x[0].detach().cpu().numpy() if is_tensor(p.x) else p.x[0]
    arr = np.ascontiguousarray(arr)
    n_frames = arr.shape[0]
    length = int(p.target_lengths[0])
    labels = np.full(n_frames, p.blank, np.int64)
    scores = np.zeros(n_frames, arr.dtype)
    if n_frames == 0:
        return LongAlignment(labels, scores, 0.0, True, -math.inf, width, p.blank)
    info = np.zeros(4, np.float64)
    exits = np.empty((n_frames, 6), np.float64)
    cols = np.ascontiguousarray(p.cols[0, :length])
    opts = p.options()
    _kernels.viterbi_banded(arr, n_frames, cols, length, width, opts, labels, scores, exits, info)
    status = int(info[0])
    if status == _kernels.NON_FINITE:
        t, v = int(info[2]), int(info[3])
        raise _input.non_finite_error(0, t, v, float(arr[t, v]), batched=False)
    # blocks of the coarse trellis: about as many per frame as the band has states
    block = max(1, -(-length // width))
    bound, _ = _kernels.exit_bound(arr, n_frames, cols, length, block, opts, exits)
    if status == _kernels.NO_PATH:
        if bound == -math.inf:
            raise _input.no_path_error(0, batched=False)
        raise InputValueError(
            f"no path inside the band of {width} states spells the targets "
            f"({2 * length + 1} states); widen the band"
        )
    # the search's own total of the path (the per-frame scores re-summed may differ in the
    # last bit), so that ``exact`` is exactly ``bound <= score``
    total = float(info[1])
    return LongAlignment(labels, scores, total, bound <= total, float(bound), width, p.blank)


@dataclass(frozen=True)
class Segment:
    """Where one utterance of a long recording lies.

    Attributes:
        start: First frame of the utterance's first token (inclusive).
        end: One past the last frame of its last token.
        confidence: ``exp`` of the lowest mean log-probability of the
            aligned path over any ``window`` consecutive frames of the
            segment (the whole segment when shorter): ctc-segmentation's
            score, in ``(0, 1]``. Low where the text does not match the audio.

    Example:
        >>> Segment(start=10, end=52, confidence=0.8).end
        52
    """

    start: int
    end: int
    confidence: float


def _min_window_mean(values: npt.NDArray[np.float64], window: int) -> float:
    if values.size <= window:
        return float(values.mean())
    cum = np.concatenate([[0.0], np.cumsum(values)])
    return float(((cum[window:] - cum[:-window]) / window).min())


def segment(
    log_probs: Any,
    utterances: Sequence[Sequence[int]],
    blank: int = 0,
    *,
    window: int = 30,
    band: int = 4096,
) -> tuple[list[Segment], LongAlignment]:
    """Find each utterance of a long recording, given the texts in order.

    The utterances' tokens are concatenated and aligned with
    :func:`align_long`; each utterance's segment runs from its first token's
    first frame to its last token's last frame. Gaps between utterances
    (silence, noise) are blank frames of the path.

    Args:
        log_probs: ``(T, V)`` log-probabilities of the whole recording.
        utterances: Each utterance's token ids, in the order spoken (none
            empty).
        blank: The blank's index.
        window: Frames over which the confidence's mean is taken (``>= 1``).
        band: As :func:`align_long`.

    Returns:
        ``(segments, alignment)``: one :class:`Segment` per utterance, and the
        :class:`LongAlignment` they were read from (check its ``exact``).

    Raises:
        InputValueError: An empty utterance, or as :func:`align_long`.

    Example:
        >>> import numpy as np
        >>> probs = np.full((12, 3), 0.05)
        >>> probs[[0, 3, 4, 5, 6, 9, 11], 0] = 0.9    # blanks
        >>> probs[[1, 2, 10], 1] = 0.9                # "a" twice
        >>> probs[[7, 8], 2] = 0.9                    # "b"
        >>> segments, _ = segment(np.log(probs), [[1], [2, 1]], window=2)
        >>> [(s.start, s.end) for s in segments]
        [(1, 3), (7, 11)]
    """
    win = check_int(window, "window", 1)
    tokens: list[int] = []
    counts: list[int] = []
    for i, utt in enumerate(utterances):
        ids = [int(t) for t in utt]
        if not ids:
            raise InputValueError(f"utterance {i} has no tokens; segments need at least one")
        tokens.extend(ids)
        counts.append(len(ids))
    result = align_long(log_probs, np.asarray(tokens, dtype=np.int64), blank, band=band)
    starts, ends, _ = _runs(result.alignment, result.blank)
    path = result.scores.astype(np.float64)
    out: list[Segment] = []
    first = 0
    for n in counts:
        a, e = int(starts[first]), int(ends[first + n - 1])
        conf = math.exp(_min_window_mean(path[a:e], win))
        out.append(Segment(a, e, conf))
        first += n
    return out, result
