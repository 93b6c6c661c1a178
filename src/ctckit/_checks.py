"""Argument checks shared by every package (private): integers, floats, lengths, devices.

Each check returns the value converted to a plain Python type (or an int64
array) and raises :class:`~ctckit.errors.InputTypeError` for a wrong type and
:class:`~ctckit.errors.InputValueError` for a value out of range, naming the
argument, the range and what came.
"""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ctckit.errors import InputTypeError, InputValueError, ShapeError

if TYPE_CHECKING:
    import torch

__all__ = [
    "check_device",
    "check_float",
    "check_int",
    "check_length_array",
    "check_probability",
    "is_tensor",
]


def is_tensor(x: object) -> bool:
    """True if ``x`` is a torch tensor (without importing torch)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def check_int(value: object, name: str, low: int | None = None, high: int | None = None) -> int:
    """``value`` as an ``int`` in ``[low, high]`` (either bound may be ``None``).

    ``bool`` is refused although it subclasses ``int``; numpy integers are
    accepted.

    Example:
        >>> check_int(3, "beam_width", 1)
        3
        >>> check_int(0, "beam_width", 1)
        Traceback (most recent call last):
        ...
        ctckit.errors.InputValueError: beam_width must be >= 1, got 0
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise InputTypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    out = int(value)
    if (low is not None and out < low) or (high is not None and out > high):
        if high is None:
            span = f">= {low}"
        elif low is None:
            span = f"<= {high}"
        else:
            span = f"in [{low}, {high}]"
        raise InputValueError(f"{name} must be {span}, got {out}")
    return out


def check_float(
    value: object,
    name: str,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """``value`` as a finite ``float`` within the given bounds.

    Args:
        value: An int, float or numpy number (not ``bool``).
        name: The argument's name, for the message.
        low, high: Bounds, inclusive unless ``low_open`` / ``high_open``.

    Example:
        >>> check_float(0.5, "p", 0.0, 1.0, high_open=True)
        0.5
        >>> check_float(float("nan"), "lr", 0.0, low_open=True)
        Traceback (most recent call last):
        ...
        ctckit.errors.InputValueError: lr must be a finite float > 0.0, got nan
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise InputTypeError(f"{name} must be a float, got {type(value).__name__} {value!r}")
    out = float(value)
    too_low = low is not None and (out <= low if low_open else out < low)
    too_high = high is not None and (out >= high if high_open else out > high)
    if not math.isfinite(out) or too_low or too_high:
        parts = []
        if low is not None:
            parts.append(f"{'>' if low_open else '>='} {low}")
        if high is not None:
            parts.append(f"{'<' if high_open else '<='} {high}")
        raise InputValueError(
            f"{name} must be a finite float{' ' if parts else ''}{' and '.join(parts)}, "
            f"got {value!r}"
        )
    return out


def check_probability(value: object, name: str) -> float:
    """``value`` as a float in ``[0, 1)`` (a dropout or masking probability).

    Example:
        >>> check_probability(0.3, "dropout")
        0.3
    """
    out = check_float(value, name)
    if not 0.0 <= out < 1.0:
        raise InputValueError(f"{name} must lie in [0, 1), got {value!r}")
    return out


def check_length_array(lengths: Any, name: str = "lengths") -> npt.NDArray[np.int64]:
    """A 1-D sequence, array or tensor of non-negative integers as an int64 array.

    Example:
        >>> check_length_array([3, 0, 5]).tolist()
        [3, 0, 5]
        >>> check_length_array([3, -1])
        Traceback (most recent call last):
        ...
        ctckit.errors.InputValueError: lengths must be >= 0, got -1 at index 1
    """
    arr = lengths.detach().cpu().numpy() if is_tensor(lengths) else np.asarray(lengths)
    if arr.ndim != 1:
        raise ShapeError(f"{name} must be 1-D, got shape {tuple(arr.shape)}")
    if arr.size and (arr.dtype == np.bool_ or arr.dtype.kind not in "iu"):
        raise InputTypeError(f"{name} must hold integers, got dtype {arr.dtype}")
    out: npt.NDArray[np.int64] = arr.astype(np.int64)
    if out.size and int(out.min()) < 0:
        i = int(out.argmin())
        raise InputValueError(f"{name} must be >= 0, got {int(out[i])} at index {i}")
    return out


def check_device(device: object, name: str = "device") -> torch.device:
    """``device`` (a string, an index or a ``torch.device``) as a device this torch build can use.

    Raises :class:`~ctckit.errors.InputValueError` for a name torch does not
    know or a device that is not there (``"cuda"`` on a CPU-only build or a
    machine without a GPU, ``"cuda:3"`` with one GPU).

    Example:
        >>> check_device("cpu")
        device(type='cpu')
        >>> check_device("gpu")
        Traceback (most recent call last):
        ...
        ctckit.errors.InputValueError: device must name a torch device such as 'cpu', 'cuda' ...
    """
    import torch

    if isinstance(device, torch.device):
        dev = device
    elif isinstance(device, (str, int)) and not isinstance(device, bool):
        try:
            dev = torch.device(device)
        except (RuntimeError, ValueError) as err:
            raise InputValueError(
                f"{name} must name a torch device such as 'cpu', 'cuda' or 'cuda:1', got {device!r}"
            ) from err
    else:
        raise InputTypeError(
            f"{name} must be a str, int or torch.device, got {type(device).__name__} {device!r}"
        )
    if dev.type in ("cpu", "meta"):
        return dev
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            why = (
                "this torch build has no CUDA"
                if torch.version.cuda is None
                else "no GPU is visible"
            )
            raise InputValueError(f"{name} {str(dev)!r} is not available: {why}; use 'cpu'")
        if dev.index is not None and dev.index >= count:
            raise InputValueError(
                f"{name} {str(dev)!r} is not available: {count} CUDA device(s) visible"
            )
        return dev
    try:
        torch.empty(0, device=dev)
    except (RuntimeError, AssertionError, ValueError) as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0][:160]
        raise InputValueError(f"{name} {str(dev)!r} is not available here ({first})") from err
    return dev
