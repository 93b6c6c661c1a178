"""Exceptions raised by ctckit.

Every error the library raises on bad input is a :class:`CTCKitError`, so one
``except CTCKitError`` catches them all. Each subclass also derives from the
built-in exception a caller would expect (``ValueError``, ``TypeError``,
``ImportError``), so generic handlers keep working.

Example:
    >>> from ctckit.errors import CTCKitError, ShapeError
    >>> try:
    ...     raise ShapeError("expected log_probs of shape (B, T, V), got (3,)")
    ... except ValueError as err:
    ...     print(isinstance(err, CTCKitError), err)
    True expected log_probs of shape (B, T, V), got (3,)
"""

from __future__ import annotations

import os

__all__ = [
    "CTCKitError",
    "DataError",
    "EspeakError",
    "InputTypeError",
    "InputValueError",
    "MissingDependencyError",
    "ShapeError",
    "StorageError",
]


class CTCKitError(Exception):
    """Base class of every error ctckit raises on purpose.

    Example:
        >>> issubclass(ShapeError, CTCKitError)
        True
    """


class ShapeError(CTCKitError, ValueError):
    """A tensor or array has the wrong rank or size.

    Example:
        >>> isinstance(ShapeError("bad"), ValueError)
        True
    """


class InputValueError(CTCKitError, ValueError):
    """An argument has the right type and shape but an invalid value.

    Examples: NaN in log-probabilities, a length beyond the tensor, a symbol
    missing from the vocabulary, a negative beam width.

    Example:
        >>> isinstance(InputValueError("bad"), ValueError)
        True
    """


class InputTypeError(CTCKitError, TypeError):
    """An argument has the wrong type or dtype.

    Example:
        >>> isinstance(InputTypeError("bad"), TypeError)
        True
    """


class DataError(CTCKitError, ValueError):
    """A file or folder on disk is missing, malformed or inconsistent.

    Args:
        message: What was expected and what was found.
        path: The offending file or folder; prefixed to the message.

    Example:
        >>> err = DataError("not a float32 array", path="train/mfcc/a.npy")
        >>> str(err)
        'train/mfcc/a.npy: not a float32 array'
        >>> err.path
        'train/mfcc/a.npy'
    """

    def __init__(self, message: str, path: str | os.PathLike[str] | None = None) -> None:
        self.path = None if path is None else os.fspath(path)
        super().__init__(message if self.path is None else f"{self.path}: {message}")


class StorageError(CTCKitError, OSError):
    """Writing a file failed for lack of room: a full device, a quota, a file-size limit.

    The file being written is left as it was (writes are atomic). ``errno``
    holds the operating system's code (``ENOSPC``, ``EDQUOT``, ``EFBIG``) when
    one was reported.

    Example:
        >>> err = StorageError("no space left on device while writing runs/last.pt")
        >>> isinstance(err, OSError), str(err)
        (True, 'no space left on device while writing runs/last.pt')
    """


class MissingDependencyError(CTCKitError, ImportError):
    """An optional dependency is not installed.

    Args:
        package: The import name that failed.
        extra: The ``ctckit`` extra that installs it.

    Example:
        >>> print(MissingDependencyError("matplotlib", extra="plot"))
        matplotlib is required for this feature: pip install 'ctckit[plot]'
    """

    def __init__(self, package: str, extra: str) -> None:
        self.package = package
        self.extra = extra
        super().__init__(
            f"{package} is required for this feature: pip install 'ctckit[{extra}]'", name=package
        )


class EspeakError(CTCKitError, RuntimeError):
    """libespeak-ng reported a failure (a bad voice name, a synthesis error).

    Example:
        >>> isinstance(EspeakError("espeak-ng has no voice 'xx'"), RuntimeError)
        True
    """
