"""Validation shared by the decoders (private)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from ctckit._checks import check_int, is_tensor
from ctckit.errors import InputTypeError, InputValueError, ShapeError

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))

# Entries above this are refused as log-probabilities: a log-softmax computed in half
# precision and cast can exceed 0 by a rounding error below 1e-3, while a row of
# probabilities passed by mistake has an entry of at least 1/V.
MAX_LOG_PROB = 1e-3


def check_log_probs(log_probs: Any, blank: object) -> tuple[Any, bool, int]:
    """Check type, dtype, rank and vocabulary size.

    Returns:
        ``(x, batched, blank)``: ``x`` is ``(B, T, V)`` (a view when the
        input was ``(T, V)``), of the input's kind (tensor or array).
    """
    if is_tensor(log_probs):
        layout = str(log_probs.layout)
        if layout != "torch.strided":
            raise InputTypeError(
                f"log_probs must be a dense (strided) tensor, got layout {layout}; "
                "call .to_dense() first"
            )
        if log_probs.device.type == "meta":
            raise InputTypeError("log_probs is a meta tensor, which holds no values")
        dtype_ok = str(log_probs.dtype) in ("torch.float32", "torch.float64")
    elif isinstance(log_probs, np.ndarray):
        dtype_ok = log_probs.dtype in _FLOATS
    else:
        raise InputTypeError(
            "log_probs must be a torch.Tensor or numpy.ndarray of shape (B, T, V) or (T, V), "
            f"got {type(log_probs).__name__}"
        )
    if not dtype_ok:
        raise InputTypeError(f"log_probs must be float32 or float64, got {log_probs.dtype}")
    shape = tuple(log_probs.shape)
    if len(shape) not in (2, 3):
        raise ShapeError(f"log_probs must have shape (B, T, V) or (T, V), got {shape}")
    blank_id = check_int(blank, "blank", 0)
    if shape[-1] <= blank_id:
        raise InputValueError(
            f"log_probs has V={shape[-1]} classes, so blank must be in [0, {shape[-1]}), "
            f"got blank={blank_id}"
        )
    batched = len(shape) == 3
    return (log_probs if batched else log_probs[None]), batched, blank_id


def as_log_prob_array(log_probs: Any, blank: int) -> tuple[npt.NDArray[Any], bool]:
    """Check ``log_probs`` and return it as a C-contiguous ``(B, T, V)`` numpy array (a
    CPU tensor or contiguous array is viewed, not copied) and whether it was batched."""
    x, batched, _ = check_log_probs(log_probs, blank)
    arr = x.detach().cpu().numpy() if is_tensor(x) else x
    return np.ascontiguousarray(arr), batched


def kernel_log_prob_array(log_probs: Any, blank: int) -> tuple[npt.NDArray[Any], bool]:
    """:func:`as_log_prob_array` for a decoder whose kernel checks the values itself: a
    C-contiguous float32/float64 array of rank 2 or 3 with more than ``blank`` classes is
    taken after a few attribute reads (the full check costs microseconds a call)."""
    x = log_probs
    if (
        type(x) is np.ndarray
        and x.dtype in _FLOATS
        and x.flags.c_contiguous
        and 2 <= x.ndim <= 3
        and x.shape[-1] > blank
    ):
        return (x if x.ndim == 3 else x[None]), x.ndim == 3
    return as_log_prob_array(log_probs, blank)


def check_lengths(lengths: Any, batch: int, time: int, batched: bool) -> npt.NDArray[np.int64]:
    """Return ``lengths`` as an int64 ``(B,)`` array with values in ``[0, T]``."""
    if lengths is None:
        return np.full(batch, time, dtype=np.int64)
    if is_tensor(lengths):
        arr = lengths.detach().cpu().numpy()
    elif isinstance(lengths, (int, np.integer)) and not isinstance(lengths, (bool, np.bool_)):
        arr = np.asarray([lengths])
    else:
        arr = np.asarray(lengths)
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        if arr.size == 0 and arr.dtype == np.float64:  # an empty list
            arr = arr.astype(np.int64)
        else:
            raise InputTypeError(f"lengths must hold integers, got dtype {arr.dtype}")
    if not batched and arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.shape != (batch,):
        raise ShapeError(f"lengths must have shape ({batch},), got {tuple(arr.shape)}")
    out: npt.NDArray[np.int64] = arr.astype(np.int64, copy=False)
    bad = np.flatnonzero((out < 0) | (out > time))
    if bad.size:
        raise InputValueError(
            f"lengths must lie in [0, T={time}], got lengths[{int(bad[0])}]={int(out[bad[0]])}"
        )
    return out


def invalid_value_error(b: int | None, t: int, value: float) -> InputValueError:
    """The error for an entry that is not a log-probability (NaN, +inf, or above
    ``MAX_LOG_PROB``) at utterance ``b`` (``None``: unbatched input), frame ``t``."""
    where = f"log_probs[{t}]" if b is None else f"log_probs[{b}, {t}]"
    if value == value and value != float("inf"):
        return InputValueError(
            f"log_probs must hold log-probabilities (values <= 0, such as log_softmax "
            f"outputs), got {value} in {where}; were probabilities passed?"
        )
    return InputValueError(
        f"log_probs must hold finite values or -inf within lengths, got {value} in {where}"
    )


def gather_threads(
    parts: list[tuple[Any, ...]],
    order: npt.NDArray[np.int64],
    arr: npt.NDArray[Any],
    batched: bool,
    results: Callable[[tuple[Any, ...]], list[Any]],
) -> list[Any]:
    """Each utterance's results from the parts the kernel's threads returned, each
    ``(utts, ..., bad, where)``: the utterances a thread decoded, its packed output,
    and where it stopped (``bad`` >= 0). ``results(part)``: the part's results, one per
    utterance of ``utts``, in turn. A thread stops at its first invalid utterance; the
    error is for the first in ``order`` that a thread found, the same whatever the
    thread count (every utterance before it was taken, and searched, by some thread)."""
    failed = [(part[-1], part[-2]) for part in parts if part[-2] >= 0]
    if failed:
        rank = np.argsort(order)
        where, bad = min(failed, key=lambda found: rank[found[0]])
        value = float(arr[where].flat[bad])
        raise invalid_value_error(where if batched else None, bad // arr.shape[2], value)
    out: list[Any] = [[] for _ in range(arr.shape[0])]
    for part in parts:
        for b, found in zip(part[0].tolist(), results(part)):
            out[b] = found
    return out
