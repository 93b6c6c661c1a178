from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from ctckit.files import atomic_open, atomic_write_bytes


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "model.pt"
    atomic_write_bytes(target, b"old")

    class Boom(Exception):
        pass

    def write_half_then_fail() -> None:
        with atomic_open(target, "wb") as fh:
            fh.write(b"half of the new")
            raise Boom

    with pytest.raises(Boom):
        write_half_then_fail()
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]


def test_creates_folders_writes_text_and_uses_the_umask_mode(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "log.csv"
    old = os.umask(0o022)
    try:
        with atomic_open(target, "w") as fh:
            fh.write("epoch,loss\r\n1,0.5\n")
    finally:
        os.umask(old)
    assert target.read_bytes() == b"epoch,loss\r\n1,0.5\n"  # newlines kept as written
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


_LIMITED_WRITER = """
import resource, signal, sys, torch
from ctckit.errors import StorageError
from ctckit.files import atomic_open, atomic_write_bytes
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead of a signal
resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))
target = sys.argv[1]

def write_torch():
    with atomic_open(target, "wb") as fh:
        torch.save(torch.zeros(50_000), fh)  # torch's zip writer: "unexpected pos"

for name, write in [("bytes", lambda: atomic_write_bytes(target, b"x" * 200_000)),
                    ("torch", write_torch)]:
    try:
        write()
    except StorageError as err:
        print(name, err.errno, err)
    except BaseException as err:
        print(name, "raw", type(err).__name__, err)
"""


def test_a_file_size_limit_is_a_storage_error_naming_the_file(tmp_path: Path) -> None:
    import errno
    import subprocess
    import sys

    target = tmp_path / "model.pt"
    atomic_write_bytes(target, b"old")
    proc = subprocess.run(
        [sys.executable, "-c", _LIMITED_WRITER, str(target)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 2, proc.stdout
    for line, kind in zip(lines, ("bytes", "torch")):
        expected = f"{kind} {errno.EFBIG} file size limit exceeded while writing "
        assert line.startswith(expected), line
        assert str(target) in line
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]
