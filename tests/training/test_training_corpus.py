"""The embedded corpus of a run without --data: where it lives, made once."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctckit.errors import InputTypeError, InputValueError
from ctckit.training import default_corpus_root, ensure_corpus


def test_the_cache_folder_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CTCKIT_CACHE", "/data/cache")
    assert default_corpus_root() == Path("/data/cache/hw3p2-synth-v2")
    monkeypatch.delenv("CTCKIT_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", "/xdg")
    assert default_corpus_root() == Path("/xdg/ctckit/hw3p2-synth-v2")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_corpus_root() == Path.home() / ".cache" / "ctckit" / "hw3p2-synth-v2"


def test_bad_sizes_are_refused_before_anything_is_made(tmp_path: Path) -> None:
    with pytest.raises(InputValueError, match="three counts"):
        ensure_corpus(tmp_path / "c", (3, 2))
    with pytest.raises(InputValueError, match="dev must be >= 1, got 0"):
        ensure_corpus(tmp_path / "c", (3, 0, 2))
    with pytest.raises(InputTypeError, match="train must be an int"):
        ensure_corpus(tmp_path / "c", ("3", 1, 1))  # type: ignore[arg-type]
    assert not (tmp_path / "c").exists()


def test_the_corpus_is_made_once(tmp_path: Path) -> None:
    pytest.importorskip("espeakng_loader")
    root, written = ensure_corpus(tmp_path / "c", (3, 2, 2), progress=False)
    assert (root, written) == (tmp_path / "c", 7)
    assert len(list((root / "train" / "mfcc").glob("*.npy"))) == 3
    assert ensure_corpus(root, (3, 2, 2), progress=False) == (root, 0)
