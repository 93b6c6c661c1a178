"""Fixtures of the LM tests: the peer ARPA files and KenLM, the oracle."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

PEER_ASSETS = Path(__file__).resolve().parents[2].parent / "shared" / "peer_assets"
PEER_ARPAS = sorted(PEER_ASSETS.glob("**/*.arpa"))


@pytest.fixture(
    scope="module", params=PEER_ARPAS or [None], ids=lambda p: "none" if p is None else p.name
)
def peer_arpa(request: pytest.FixtureRequest) -> Path:
    """Each ARPA file of the peers' test suites (skips when the folder is absent)."""
    if request.param is None:
        pytest.skip(f"no ARPA files under {PEER_ASSETS}")
    path: Path = request.param
    return path


@pytest.fixture(scope="module")
def kenlm() -> ModuleType:
    """The kenlm module (the `test` extra); skips when it is not installed."""
    return pytest.importorskip("kenlm")


def read_unigram_words(path: Path) -> list[str]:
    """The words of an ARPA file's 1-grams section, markers excluded (plain line reading)."""
    words: list[str] = []
    inside = False
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if text == "\\1-grams:":
            inside = True
        elif inside and (not text or text.startswith("\\")):
            break
        elif inside:
            word = text.split()[1]
            if word not in ("<s>", "</s>", "<unk>"):
                words.append(word)
    return words


@pytest.fixture(scope="module")
def unigram_words() -> Callable[[Path], list[str]]:
    return read_unigram_words
