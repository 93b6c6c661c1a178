"""Fixtures of the LM tests: the peer ARPA files and KenLM, the oracle."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from lm_reference import read_unigram_words

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


@pytest.fixture(scope="module")
def unigram_words() -> Callable[[Path], list[str]]:
    return read_unigram_words
