"""Token spans of a forced alignment, with a confidence per span."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ctckit._checks import check_float, check_int, is_tensor
from ctckit._threads import run_together
from ctckit.align.forced import _best_paths, _check_run_options, _prepare
from ctckit.decode.types import TokenSpan
from ctckit.errors import InputTypeError, InputValueError, ShapeError

__all__ = ["align", "merge_tokens"]

_SCORE_SLACK = 1e-5  # log-probabilities a little above 0 from float32 rounding are accepted


def _as_numpy(x: Any) -> npt.NDArray[Any]:
    return x.detach().cpu().numpy() if is_tensor(x) else np.asarray(x)


def _runs(labels: npt.NDArray[np.int64], blank: int) -> tuple[npt.NDArray[np.int64], ...]:
    """Start, end and label of each run of equal non-blank labels."""
    if labels.size == 0:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty
    change = np.flatnonzero(np.diff(labels)) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [labels.size]])
    keep = labels[starts] != blank
    return starts[keep], ends[keep], labels[starts[keep]]


def _frame_confidence(
    scores: npt.NDArray[np.floating[Any]],
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
) -> npt.NDArray[np.float64]:
    """Mean posterior ``exp(score)`` of the frames of each span."""
    if starts.size == 0:
        return np.zeros(0)
    cum = np.concatenate([[0.0], np.cumsum(np.exp(scores.astype(np.float64)))])
    out: npt.NDArray[np.float64] = (cum[ends] - cum[starts]) / (ends - starts)
    return out


def merge_tokens(alignment: Any, scores: Any, blank: int = 0) -> list[TokenSpan]:
    """Merge a frame alignment into token spans (torchaudio's ``merge_tokens``).

    Each run of equal non-blank labels becomes one span. Its confidence is
    the mean posterior of its frames, ``mean(exp(scores[start:end]))``.

    Args:
        alignment: ``(T,)`` integer frame labels (from :func:`forced_align`),
            a tensor, array or sequence.
        scores: ``(T,)`` log-probability of each frame's label.
        blank: The blank's id.

    Returns:
        The spans in time order.

    Raises:
        InputTypeError: Non-integer labels or non-float scores.
        ShapeError: Not 1-D, or of different lengths.
        InputValueError: A score above 0 (``scores`` must be log-probabilities,
            not probabilities) or NaN.

    Example:
        >>> import numpy as np
        >>> spans = merge_tokens([0, 3, 3, 0, 0, 5], np.log([0.9, 0.8, 0.6, 0.9, 0.9, 0.5]))
        >>> [(s.token, s.start, s.end, round(s.confidence, 3)) for s in spans]
        [(3, 1, 3, 0.7), (5, 5, 6, 0.5)]
    """
    blank_id = check_int(blank, "blank")
    labels = _as_numpy(alignment)
    values = _as_numpy(scores)
    if labels.size and (labels.dtype == np.bool_ or labels.dtype.kind not in "iu"):
        raise InputTypeError(f"alignment must hold integers, got dtype {labels.dtype}")
    if values.size and values.dtype.kind != "f":
        raise InputTypeError(f"scores must hold floats, got dtype {values.dtype}")
    if labels.ndim != 1 or values.shape != labels.shape:
        raise ShapeError(
            f"alignment and scores must both have shape (T,), got {tuple(labels.shape)} and "
            f"{tuple(values.shape)}"
        )
    high = np.flatnonzero(~(values <= _SCORE_SLACK))
    if high.size:
        i = int(high[0])
        raise InputValueError(
            f"scores must be log-probabilities (<= 0, not NaN), got scores[{i}]={values[i]}"
        )
    starts, ends, tokens = _runs(labels.astype(np.int64), blank_id)
    conf = _frame_confidence(values, starts, ends)
    return [
        TokenSpan(int(k), int(a), int(e), float(c))
        for k, a, e, c in zip(tokens.tolist(), starts.tolist(), ends.tolist(), conf.tolist())
    ]


def align(
    log_probs: Any,
    targets: Any,
    input_lengths: Any = None,
    target_lengths: Any = None,
    blank: int = 0,
    *,
    confidence: Literal["posterior", "frame"] = "posterior",
    blank_penalty: float = 0.0,
    wildcard: int | None = None,
    wildcard_penalty: float = 0.0,
    num_threads: int | None = None,
    backend: str = "auto",
) -> list[list[TokenSpan]]:
    """Force-align a batch and return each target token's span with a confidence.

    The spans are those of :func:`forced_align`'s best path: span ``k`` of an
    utterance is target token ``k`` (each token occupies one run of frames),
    ``end - start >= 1``.

    Confidence:

    * ``"posterior"`` (default): the share of the token's posterior occupancy
      that falls inside its span. Forward-backward over the same trellis
      gives, for every frame, the probability (over all paths that spell the
      targets, weighted by their probability) that the frame belongs to token
      ``k``; the confidence is the sum over the span's frames divided by the
      sum over all frames. It is high when the model is sure *where* the
      token lies, low when other placements are about as likely.
    * ``"frame"``: the mean frame posterior ``mean(exp(log_prob))`` of the
      span's frames (as :func:`merge_tokens` and torchaudio): how sure the
      model is of *what* it hears there.

    Args:
        log_probs: As :func:`forced_align`, and so are ``targets``,
            ``input_lengths``, ``target_lengths``, ``blank``, ``wildcard``,
            ``wildcard_penalty``, ``num_threads`` and ``backend``.
        confidence: ``"posterior"`` or ``"frame"``.
        blank_penalty: Subtracted from the blank's log-probability in every
            frame before aligning (``>= 0``). CTC models emit a label in a
            spike of a frame or two, often after the sound has begun, and
            blanks elsewhere, so spans read from the plain best path start
            late. A large penalty (say 20, nats per frame) leaves blanks only
            where repeats need them: the spans then tile the frames, and each
            boundary falls where the model's posterior moves from one label to
            the next, much nearer the true phone boundaries (measured in
            ``docs/benchmarks/align.md``). ``0``: the plain best path.

    Returns:
        ``B`` lists (one for ``(T, V)`` input) of ``target_lengths[b]`` spans,
        in target order.

    Raises:
        InputTypeError, ShapeError, InputValueError: As :func:`forced_align`,
            and for an unknown ``confidence``.

    Example:
        >>> import numpy as np
        >>> lp = np.log(np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.8, 0.1],
        ...                       [0.8, 0.1, 0.1], [0.1, 0.1, 0.8]]))
        >>> spans = align(lp, [1, 2])[0]  # (T, V) input: one utterance
        >>> [(s.token, s.start, s.end) for s in spans]
        [(1, 1, 3), (2, 4, 5)]
        >>> frame = align(lp, [1, 2], confidence="frame")[0]
        >>> round(spans[1].confidence, 3), round(frame[1].confidence, 3)
        (0.872, 0.8)
    """
    if confidence not in ("posterior", "frame"):
        raise InputValueError(f"confidence must be 'posterior' or 'frame', got {confidence!r}")
    threads = _check_run_options(backend, num_threads)
    penalty = check_float(blank_penalty, "blank_penalty", 0.0)
    p = _prepare(log_probs, targets, input_lengths, target_lengths, blank, wildcard,
                 wildcard_penalty)  # fmt: skip
    if penalty > 0:
        x = p.x.clone() if is_tensor(p.x) else p.x.copy()
        x[..., p.blank] -= penalty
        p = dataclasses.replace(p, x=x)
    best_labels, best_scores = _best_paths(p, backend, threads)
    labels, scores = _as_numpy(best_labels), _as_numpy(best_scores)
    batch = labels.shape[0]
    runs = [_runs(labels[b, : p.lengths[b]], p.blank) for b in range(batch)]
    if confidence == "frame":
        conf = [_frame_confidence(scores[b], r[0], r[1]) for b, r in enumerate(runs)]
    else:
        conf = _posterior_confidence(p, runs, threads)
    out = [
        [
            TokenSpan(int(k), int(a), int(e), float(c))
            for a, e, k, c in zip(r[0].tolist(), r[1].tolist(), r[2].tolist(), cb.tolist())
        ]
        for r, cb in zip(runs, conf)
    ]
    for b, spans in enumerate(out):
        if len(spans) != int(p.target_lengths[b]):  # the trellis gives one run per token
            raise ShapeError(f"internal: {len(spans)} spans for {p.target_lengths[b]} tokens")
    return out


def _posterior_confidence(
    p: Any, runs: list[tuple[npt.NDArray[np.int64], ...]], threads: int
) -> list[npt.NDArray[np.float64]]:
    from ctckit.align import _kernels

    arr = p.x.detach().cpu().numpy() if is_tensor(p.x) else p.x
    arr = np.ascontiguousarray(arr)
    batch = arr.shape[0]
    width = max(1, p.cols.shape[1])
    starts = np.zeros((batch, width), np.int64)
    ends = np.zeros((batch, width), np.int64)
    for b, (a, e, _) in enumerate(runs):
        starts[b, : a.size] = a
        ends[b, : e.size] = e
    inside = np.zeros((batch, width))
    total = np.zeros((batch, width))
    opts = p.options()

    utts = np.arange(batch, dtype=np.int64)
    taken = np.zeros(1, np.int64)  # the threads take the utterances from it in turn

    def work() -> None:
        _kernels.posterior_many(
            arr, p.lengths, p.cols, p.target_lengths, utts, opts, starts, ends, inside, total,
            taken,
        )  # fmt: skip

    run_together(work, min(batch, threads))
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.clip(inside / total, 0.0, 1.0)
    return [share[b, : p.target_lengths[b]] for b in range(batch)]
