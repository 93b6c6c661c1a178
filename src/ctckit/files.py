"""Atomic file writing: readers see the old file or the complete new one.

Every file ctckit writes (corpus utterances, checkpoints, metrics logs,
plots, ARPA models, submissions) goes through :func:`atomic_open`: the data
goes to a temporary file in the target's folder, is flushed and fsynced,
and is then renamed over the target, so a crash or a kill never leaves a
half-written file behind.

Example:
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_open(folder / "scores.csv", "w") as fh:
    ...     _ = fh.write("id,predictions\\n")
    >>> (folder / "scores.csv").read_text()
    'id,predictions\\n'
    >>> sorted(p.name for p in folder.iterdir())  # no temporary file left
    ['scores.csv']
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_open", "atomic_write_bytes"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success fsync it and rename it over ``path``.

    The folder is created if needed. The file gets the usual permissions
    (``0o666`` less the umask), not the private mode of a temporary file.
    If the block raises, the temporary file is removed and ``path`` is left
    as it was.

    Args:
        path: The file to (re)write.
        mode: ``"wb"`` for bytes or ``"w"`` for UTF-8 text (newlines written as given).

    Yields:
        The open temporary file.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        binary = "b" in mode
        with os.fdopen(
            fd, mode, encoding=None if binary else "utf-8", newline=None if binary else ""
        ) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(target.parent)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_open`).

    Example:
        >>> import tempfile, pathlib
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "a.bin"
        >>> atomic_write_bytes(target, b"ok")
        >>> target.read_bytes()
        b'ok'
    """
    with atomic_open(path, "wb") as fh:
        fh.write(data)


def _fsync_dir(folder: Path) -> None:
    """Persist the rename itself (a no-op where directories cannot be opened)."""
    try:
        dfd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)
