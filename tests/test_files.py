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
