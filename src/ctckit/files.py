"""Atomic file writing: readers see the old file or the complete new one.

Every file ctckit writes (corpus utterances, checkpoints, metrics logs,
plots, ARPA models, submissions) goes through :func:`atomic_open`: the data
goes to a temporary file in the target's folder, is flushed and fsynced,
and is then renamed over the target, so a crash or a kill never leaves a
half-written file behind. A write that fails for lack of room (a full disk
or quota, a file-size limit, or torch's zip writer failing on one) raises
:class:`~ctckit.errors.StorageError` naming the file, the previous version
intact.

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
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from ctckit.errors import StorageError

__all__ = ["atomic_open", "atomic_write_bytes"]

#: Below this many free bytes, a failed write is taken for a full device.
_NEARLY_FULL = 1 << 20
_NO_ROOM = {errno.ENOSPC: "no space left on device", errno.EFBIG: "file size limit exceeded"}
if hasattr(errno, "EDQUOT"):
    _NO_ROOM[errno.EDQUOT] = "disk quota exceeded"


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

    Raises:
        StorageError: If the device is full (``ENOSPC``, ``EDQUOT``), the
            process's file-size limit is reached (``EFBIG``), or torch's
            writer fails on a nearly full device ("unexpected pos");
            ``path`` keeps its previous content.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as err:
        reason = _no_room(err, target.parent)
        if reason is None:
            raise
        raise _storage_error(reason, target, "nothing was changed") from err
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
    except BaseException as err:
        reason = _no_room(err, target.parent)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if reason is None:
            raise
        raise _storage_error(reason, target, "its previous content is intact") from err
    _fsync_dir(target.parent)


def _storage_error(reason: tuple[int, str], target: Path, note: str) -> StorageError:
    failure = StorageError(f"{reason[1]} while writing {target}; {note}")
    failure.errno = reason[0]  # (setting filename too would change str(failure))
    return failure


def _no_room(err: BaseException, folder: Path) -> tuple[int, str] | None:
    """Why a write failed for lack of room, or ``None`` if it did not.

    torch's zip writer reports a failed ``write`` as a ``RuntimeError``
    ("unexpected pos ...") with the ``OSError`` only in the exception
    context, so the whole chain is searched.
    """
    seen: set[int] = set()
    link: BaseException | None = err
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        if isinstance(link, OSError) and link.errno in _NO_ROOM:
            return link.errno, _NO_ROOM[link.errno]
        link = link.__cause__ or link.__context__
    if isinstance(err, RuntimeError) and "unexpected pos" in str(err):
        with contextlib.suppress(OSError):
            fs = os.statvfs(folder)  # measured before the temporary file is removed
            if fs.f_bavail * fs.f_frsize < _NEARLY_FULL:
                return errno.ENOSPC, _NO_ROOM[errno.ENOSPC]
    return None


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
