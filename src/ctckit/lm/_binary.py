"""A binary container of named numpy arrays that loads by memory-mapping (private).

Layout: the 8-byte magic ``CTCKITLM``, a little-endian uint32 format version
and uint32 header length, a UTF-8 JSON header (the model's metadata and,
for each array, its dtype, shape and byte offset), then the arrays' bytes,
each starting at a multiple of 64. Loading maps the file read-only and gives
each array as a read-only view of the map: nothing is copied or parsed, and
the pages are read from disk when a query first touches them.
"""

from __future__ import annotations

import json
import mmap
import os
import struct
from typing import Any

import numpy as np
import numpy.typing as npt

from ctckit.errors import DataError
from ctckit.files import atomic_open

__all__: list[str] = []

MAGIC = b"CTCKITLM"
_PREFIX = struct.Struct("<8sII")
_ALIGN = 64
_DTYPES = {"uint8", "int32", "int64", "uint64", "float32", "float64"}


def _aligned(n: int) -> int:
    return -(-n // _ALIGN) * _ALIGN


def save_arrays(
    path: str | os.PathLike[str],
    kind: str,
    version: int,
    meta: dict[str, Any],
    arrays: dict[str, npt.NDArray[Any]],
) -> None:
    """Write ``arrays`` and ``meta`` under ``kind``/``version``, atomically."""
    table: dict[str, list[Any]] = {}
    offset = 0
    for name, arr in arrays.items():
        table[name] = [arr.dtype.name, list(arr.shape), offset]
        offset = _aligned(offset + arr.nbytes)
    header = json.dumps({"kind": kind, "meta": meta, "arrays": table}).encode("utf-8")
    data_start = _aligned(_PREFIX.size + len(header))
    with atomic_open(path, "wb") as f:
        f.write(_PREFIX.pack(MAGIC, version, len(header)))
        f.write(header)
        f.write(b"\0" * (data_start - _PREFIX.size - len(header)))
        written = 0
        for arr in arrays.values():
            f.write(np.ascontiguousarray(arr).tobytes())
            written += arr.nbytes
            pad = _aligned(written) - written
            f.write(b"\0" * pad)
            written += pad


def load_arrays(
    path: str | os.PathLike[str], kind: str, version: int
) -> tuple[dict[str, Any], dict[str, npt.NDArray[Any]]]:
    """Map a file written by :func:`save_arrays`; returns its metadata and read-only arrays.

    Raises:
        DataError: If the file is missing, is not such a file, is of another
            kind or version, or is truncated or inconsistent.
    """
    spath = os.fspath(path)
    try:
        with open(spath, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(_PREFIX.size)
            if len(head) < _PREFIX.size or not head.startswith(MAGIC):
                raise DataError(_not_ours(head), path=spath)
            buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as err:
        raise DataError(f"cannot read the LM file: {err.strerror}", path=spath) from None
    _, file_version, header_len = _PREFIX.unpack(head)
    if file_version != version:
        raise DataError(
            f"format version {file_version}, but this ctckit reads version {version}: "
            "save the model again with this version",
            path=spath,
        )
    try:
        header = json.loads(buf[_PREFIX.size : _PREFIX.size + header_len].decode("utf-8"))
        if header["kind"] != kind:
            raise DataError(f"a ctckit {header['kind']} file, not a {kind} file", path=spath)
        meta, table = header["meta"], header["arrays"]
        data_start = _aligned(_PREFIX.size + header_len)
        arrays: dict[str, npt.NDArray[Any]] = {}
        for name, (dtype, shape, offset) in table.items():
            if dtype not in _DTYPES:
                raise ValueError(f"dtype {dtype!r}")
            dt = np.dtype(dtype)
            count = int(np.prod(shape, dtype=np.int64))
            begin = data_start + int(offset)
            if begin < data_start or begin + count * dt.itemsize > size:
                raise DataError(
                    f"truncated: array {name!r} ends beyond the file's {size} bytes", path=spath
                )
            arrays[name] = np.frombuffer(buf, dtype=dt, count=count, offset=begin).reshape(shape)
    except DataError:
        raise
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as err:
        raise DataError(f"a corrupt header ({err})", path=spath) from None
    return meta, arrays


def _not_ours(head: bytes) -> str:
    if head.startswith(b"mmap lm "):
        return (
            "this is a KenLM binary file (made by build_binary), not a ctckit one; ctckit "
            "reads ARPA (WordNGramLM.from_arpa). KenLM cannot turn a binary file back into "
            "ARPA: use the ARPA file it was built from, or rebuild it with lmplz"
        )
    if head.lstrip().startswith(b"\\data\\") or b"\\data\\" in head:
        return "this looks like an ARPA text file: read it with WordNGramLM.from_arpa"
    return "not a ctckit binary LM file (no CTCKITLM header)"
