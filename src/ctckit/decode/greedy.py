"""Best-path (greedy) CTC decoding."""

from __future__ import annotations

from typing import Any, Literal, overload

import numpy as np
import numpy.typing as npt

from ctckit._checks import is_tensor
from ctckit.decode._input import MAX_LOG_PROB, check_lengths, check_log_probs, invalid_value_error
from ctckit.decode.types import TokenSpan, _new_span
from ctckit.errors import InputTypeError

__all__ = ["greedy_decode"]


@overload
def greedy_decode(
    log_probs: Any, lengths: Any = ..., blank: int = ..., *, spans: Literal[False] = ...
) -> list[list[int]]: ...


@overload
def greedy_decode(
    log_probs: Any, lengths: Any = ..., blank: int = ..., *, spans: Literal[True]
) -> list[tuple[TokenSpan, ...]]: ...


@overload
def greedy_decode(
    log_probs: Any, lengths: Any = ..., blank: int = ..., *, spans: bool
) -> list[list[int]] | list[tuple[TokenSpan, ...]]: ...


def greedy_decode(
    log_probs: Any, lengths: Any = None, blank: int = 0, *, spans: bool = False
) -> list[list[int]] | list[tuple[TokenSpan, ...]]:
    """Best-path decoding: the most likely label per frame, repeats collapsed, blanks dropped.

    The argmax runs over the whole batch at once where the input lives (a
    tensor on an accelerator stays there; CPU tensors and numpy arrays use
    numpy's argmax on a zero-copy view); only the ``(B, T)`` winners travel
    to the CPU to be collapsed.

    Args:
        log_probs: Log-probabilities, ``(B, T, V)`` or ``(T, V)``, a float32 or
            float64 torch tensor (any device) or numpy array. ``-inf`` entries
            are allowed; NaN and ``+inf`` within ``lengths`` are not.
        lengths: Valid frames per utterance, integers in ``[0, T]``, shape
            ``(B,)`` (a tensor, array or sequence); for ``(T, V)`` input an int
            or shape ``(1,)``. ``None`` means every frame is valid. Frames
            beyond an utterance's length are ignored.
        blank: Index of the CTC blank.
        spans: Return where each token lies instead of the label ids (keyword
            only).

    Returns:
        ``B`` label-id lists (one list for ``(T, V)`` input). With
        ``spans=True``, ``B`` tuples of :class:`~ctckit.decode.TokenSpan`
        instead, one per token of those lists: ``[start, end)`` is the token's
        run of frames on the best path (each frame's argmax), and
        ``confidence`` its largest frame posterior there,
        ``max(exp(log_probs[start:end, token]))``, the measure the beam
        search's spans use (see ``docs/benchmarks/confidence.md``).

    Raises:
        InputTypeError: If ``log_probs`` is not a float32/float64 tensor or
            array, or ``lengths`` does not hold integers.
        ShapeError: If ``log_probs`` is not of rank 2 or 3, or ``lengths`` is
            not ``(B,)``.
        InputValueError: If ``blank >= V``, a length is outside ``[0, T]``, or
            a valid frame holds NaN or ``+inf``.

    Example:
        >>> import numpy as np
        >>> frames = [1, 1, 0, 1, 2, 2]  # a, a, blank, a, b, b
        >>> log_probs = np.log(np.eye(3)[frames] * 0.9 + 0.1 / 3)
        >>> greedy_decode(log_probs)
        [[1, 1, 2]]
        >>> greedy_decode(log_probs[None], lengths=[3])
        [[1]]
        >>> [(s.token, s.start, s.end, round(s.confidence, 3)) for s in greedy_decode(
        ...     log_probs, spans=True)[0]]
        [(1, 0, 2, 0.933), (1, 3, 4, 0.933), (2, 4, 6, 0.933)]
    """
    if not isinstance(spans, bool):
        raise InputTypeError(f"spans must be a bool, got {type(spans).__name__}")
    x, batched, blank_id = check_log_probs(log_probs, blank)
    batch, time, _ = x.shape
    lens = check_lengths(lengths, batch, time, batched)
    if is_tensor(x) and x.device.type != "cpu":
        values_t, best_t = x.detach().max(dim=-1)
        values = values_t.cpu().numpy()
        best = best_t.cpu().numpy()
    else:  # numpy's argmax is faster than torch's on the CPU; a CPU tensor is viewed, not copied
        if is_tensor(x):
            x = x.detach().numpy()
        best = x.argmax(axis=-1)
        if x.flags.c_contiguous:  # a flat gather is several times faster than take_along_axis
            flat_index = np.arange(0, x.size, x.shape[-1]) + best.reshape(-1)
            values = x.reshape(-1).take(flat_index).reshape(best.shape)
        else:
            values = np.take_along_axis(x, best[..., None], axis=-1)[..., 0]
    inside = np.arange(time) < lens[:, None]
    # NaN wins argmax/max, so the maxima show every NaN, +inf or probability
    bad = inside & ~(values <= MAX_LOG_PROB)
    if bad.any():
        b, t = (int(i) for i in np.argwhere(bad)[0])
        raise invalid_value_error(b if batched else None, t, float(x[b, t].max()))
    change = np.ones(best.shape, bool)  # a run of the best path starts here
    change[:, 1:] = best[:, 1:] != best[:, :-1]
    keep = inside & (best != blank_id) & change
    if spans:
        return _spans(best, values, keep, change & inside, lens)
    flat = best[keep].tolist()
    out: list[list[int]] = []
    pos = 0
    for count in keep.sum(axis=1).tolist():
        out.append(flat[pos : pos + count])
        pos += count
    return out


def _spans(
    best: npt.NDArray[np.int64],
    values: npt.NDArray[np.floating[Any]],
    keep: npt.NDArray[np.bool_],
    boundary: npt.NDArray[np.bool_],
    lens: npt.NDArray[np.int64],
) -> list[tuple[TokenSpan, ...]]:
    """Spans of the kept run starts ``keep`` ``(B, T)``: each run ends at the next
    ``boundary`` (a run start) of its row or at the row's length."""
    batch, time = best.shape
    ends = np.zeros((batch, time + 1), bool)
    ends[:, :time] = boundary
    ends[np.arange(batch), lens] = True
    ends_flat = np.flatnonzero(ends)
    rows, starts = np.nonzero(keep)
    start_flat = rows * (time + 1) + starts
    stops = ends_flat[np.searchsorted(ends_flat, start_flat, side="right")] - rows * (time + 1)
    # the largest value over each run [start, stop): reduceat over start, stop pairs
    bounds = np.empty(2 * starts.size, np.int64)
    bounds[0::2] = rows * time + starts
    bounds[1::2] = rows * time + stops
    flat_values = np.append(values.reshape(-1), values.dtype.type(0))
    peaks = np.maximum.reduceat(flat_values, bounds)[0::2] if starts.size else flat_values[:0]
    confidence = np.exp(peaks.astype(np.float64)).tolist()
    tokens = best[rows, starts].tolist()
    out: list[tuple[TokenSpan, ...]] = []
    pos = 0
    for count in keep.sum(axis=1).tolist():
        end = pos + count
        out.append(
            tuple(
                map(_new_span, tokens[pos:end], starts[pos:end].tolist(),
                    stops[pos:end].tolist(), confidence[pos:end])
            )
        )  # fmt: skip
        pos = end
    return out
