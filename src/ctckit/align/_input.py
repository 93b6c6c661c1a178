"""Validation of the aligners' inputs (private)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ctckit._checks import check_int, is_tensor
from ctckit.errors import InputTypeError, InputValueError, ShapeError

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def check_log_probs(log_probs: Any) -> tuple[Any, bool]:
    """Type, dtype and rank of ``log_probs``: returns ``(x, batched)`` with ``x`` of shape
    ``(B, T, V)`` (a view for ``(T, V)`` input), of the input's kind."""
    if is_tensor(log_probs):
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
    if len(shape) not in (2, 3) or shape[-1] == 0:
        raise ShapeError(f"log_probs must have shape (B, T, V) or (T, V) with V >= 1, got {shape}")
    batched = len(shape) == 3
    return (log_probs if batched else log_probs[None]), batched


def _as_int_array(x: Any, name: str) -> npt.NDArray[np.int64]:
    arr = x.detach().cpu().numpy() if is_tensor(x) else np.asarray(x)
    if arr.size == 0 and arr.dtype == np.float64:  # an empty list
        arr = arr.astype(np.int64)
    if arr.dtype == np.bool_ or arr.dtype.kind not in "iu":
        raise InputTypeError(f"{name} must hold integers, got dtype {arr.dtype}")
    out: npt.NDArray[np.int64] = arr.astype(np.int64, copy=False)
    return out


def check_lengths(
    lengths: Any, name: str, batch: int, high: int, batched: bool
) -> npt.NDArray[np.int64]:
    """``lengths`` as an int64 ``(B,)`` array with values in ``[0, high]``; ``None`` gives
    ``high`` for every utterance."""
    if lengths is None:
        return np.full(batch, high, dtype=np.int64)
    if isinstance(lengths, (int, np.integer)) and not isinstance(lengths, (bool, np.bool_)):
        lengths = [lengths]
    arr = _as_int_array(lengths, name)
    if not batched and arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.shape != (batch,):
        raise ShapeError(f"{name} must have shape ({batch},), got {tuple(arr.shape)}")
    bad = np.flatnonzero((arr < 0) | (arr > high))
    if bad.size:
        i = int(bad[0])
        raise InputValueError(f"{name} must lie in [0, {high}], got {name}[{i}]={int(arr[i])}")
    return arr


def check_targets(
    targets: Any,
    target_lengths: Any,
    batch: int,
    batched: bool,
    vocab: int,
    blank: int,
    wildcard: int | None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Targets as emission columns ``(B, L)`` (the wildcard as column ``V``, zeros beyond
    the lengths) and their lengths ``(B,)``.

    ``targets`` is a ``(B, L)`` integer tensor or array (``(L,)`` for unbatched
    log-probabilities), or a sequence of ``B`` integer sequences (then
    ``target_lengths`` must be ``None``).
    """
    ragged = (
        not is_tensor(targets)
        and not isinstance(targets, np.ndarray)
        and isinstance(targets, Sequence)
        and len(targets) > 0
        and all(not isinstance(t, (int, np.integer)) for t in targets)
    )
    if ragged and batched:
        if target_lengths is not None:
            raise InputValueError("target_lengths must be None when targets is a list of sequences")
        if len(targets) != batch:
            raise ShapeError(f"targets must hold {batch} sequences, got {len(targets)}")
        rows = [_as_int_array(t, f"targets[{i}]") for i, t in enumerate(targets)]
        for i, r in enumerate(rows):
            if r.ndim != 1:
                raise ShapeError(f"targets[{i}] must be 1-D, got shape {tuple(r.shape)}")
        lens = np.array([r.size for r in rows], dtype=np.int64)
        arr = np.zeros((batch, int(lens.max(initial=0))), dtype=np.int64)
        for i, r in enumerate(rows):
            arr[i, : r.size] = r
    else:
        arr = _as_int_array(targets, "targets")
        if not batched and arr.ndim == 1:
            arr = arr[None]
        if arr.ndim != 2 or arr.shape[0] != batch:
            want = f"({batch}, L)" if batched else "(L,) or (1, L)"
            raise ShapeError(f"targets must have shape {want}, got {tuple(arr.shape)}")
        lens = check_lengths(target_lengths, "target_lengths", batch, arr.shape[1], batched)
        arr = arr.copy()
    valid = np.arange(arr.shape[1])[None, :] < lens[:, None]
    is_wild = (arr == wildcard) & valid if wildcard is not None else np.zeros_like(valid)
    bad = valid & ~is_wild & ((arr < 0) | (arr >= vocab) | (arr == blank))
    if bad.any():
        b, k = (int(i) for i in np.argwhere(bad)[0])
        where = f"targets[{b}, {k}]" if batched else f"targets[{k}]"
        value = int(arr[b, k])
        why = "is the blank" if value == blank else f"is outside [0, V={vocab})"
        raise InputValueError(
            f"targets must be non-blank label ids in [0, {vocab})"
            f"{'' if wildcard is None else f' or the wildcard {wildcard}'}, "
            f"got {where}={value}, which {why}"
        )
    arr[is_wild] = vocab
    arr[~valid] = 0
    return arr, lens


def _int_array_or_none(x: Any, ndims: tuple[int, ...]) -> npt.NDArray[np.int64] | None:
    """``x`` as int64 when it is an integer array or tensor of one of ``ndims`` dimensions,
    else ``None`` (for :func:`checked_batch`'s fallback)."""
    if is_tensor(x):
        x = x.detach().cpu().numpy()
    if not isinstance(x, np.ndarray) or x.dtype.kind not in "iu" or x.ndim not in ndims:
        return None
    out: npt.NDArray[np.int64] = x.astype(np.int64, copy=False)
    return out


def checked_batch(
    input_lengths: Any,
    targets: Any,
    target_lengths: Any,
    batch: int,
    time: int,
    batched: bool,
    vocab: int,
    blank: int,
    wildcard: int | None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]] | None:
    """The input lengths, the target columns and the target lengths, as
    :func:`check_lengths`, :func:`check_targets` and :func:`check_fit` give them, when the
    arguments are arrays or tensors (or ``None``) that pass them all: checked in one Numba
    pass. ``None`` when they do not (a list, a wrong shape, a failing check): the caller
    then runs those checks, which raise the errors."""
    if not batched and getattr(targets, "ndim", None) == 1:
        targets = targets[None]
    arr = _int_array_or_none(targets, (2,))
    if arr is None or arr.shape[0] != batch:
        return None
    lengths = (
        np.full(batch, time, dtype=np.int64)
        if input_lengths is None
        else _int_array_or_none(input_lengths, (1,))
    )
    lens = (
        np.full(batch, arr.shape[1], dtype=np.int64)
        if target_lengths is None
        else _int_array_or_none(target_lengths, (1,))
    )
    if lengths is None or lens is None or lengths.shape != (batch,) or lens.shape != (batch,):
        return None
    from ctckit.align._input_kernel import targets_fit

    cols = np.empty(arr.shape, np.int64)
    wild = -1 if wildcard is None else wildcard
    if not targets_fit(arr, lens, lengths, time, vocab, blank, wild, wildcard is not None, cols):
        return None
    return lengths, cols, lens


def check_wildcard(wildcard: object, vocab: int) -> int | None:
    """The wildcard id: ``None`` or an int outside ``[0, V)`` (a column log_probs lacks)."""
    if wildcard is None:
        return None
    out = check_int(wildcard, "wildcard")
    if 0 <= out < vocab:
        raise InputValueError(
            f"wildcard must be an id outside the V={vocab} classes of log_probs "
            f"(for example {vocab} or -1), got {out}"
        )
    return out


def needed_frames(
    cols: npt.NDArray[np.int64], lens: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Frames each target needs: one per token and one blank between equal neighbours."""
    if cols.shape[1] < 2:
        copy: npt.NDArray[np.int64] = lens.copy()
        return copy
    same = cols[:, 1:] == cols[:, :-1]
    inside = np.arange(1, cols.shape[1])[None, :] < lens[:, None]
    out: npt.NDArray[np.int64] = lens + (same & inside).sum(axis=1)
    return out


def check_fit(
    cols: npt.NDArray[np.int64],
    lens: npt.NDArray[np.int64],
    input_lengths: npt.NDArray[np.int64],
    batched: bool,
) -> None:
    """Raise when a target cannot be spelled in its frames."""
    need = needed_frames(cols, lens)
    short = np.flatnonzero(need > input_lengths)
    if short.size == 0:
        return
    b = int(short[0])
    repeats = int(need[b] - lens[b])
    who = f"utterance {b}" if batched else "the utterance"
    more = f" ({short.size - 1} more utterance(s) too short)" if short.size > 1 else ""
    raise InputValueError(
        f"{who}: its {int(lens[b])} target token(s) with {repeats} repeat(s) (each needs a "
        f"blank between) need {int(need[b])} frames, but it has {int(input_lengths[b])}: "
        f"{int(need[b] - input_lengths[b])} frame(s) short{more}"
    )


def non_finite_error(b: int, t: int, v: int, value: float, batched: bool) -> InputValueError:
    """The error for a NaN or +inf entry."""
    where = f"log_probs[{b}, {t}, {v}]" if batched else f"log_probs[{t}, {v}]"
    return InputValueError(
        f"log_probs must hold finite values or -inf within input_lengths, got {value} at {where}"
    )


def no_path_error(b: int, batched: bool) -> InputValueError:
    """The error for targets whose every alignment has probability 0 (``-inf`` entries)."""
    who = f"utterance {b}" if batched else "the utterance"
    return InputValueError(
        f"{who}: every alignment of its targets has probability 0 (log_probs is -inf on "
        "every path that spells them)"
    )
