"""docs/presets.md is generated from ctckit.nn.presets and must be up to date."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "_generate_presets.py"


@pytest.mark.skipif(not SCRIPT.exists(), reason="docs are not part of this checkout")
def test_presets_page_is_up_to_date() -> None:
    spec = importlib.util.spec_from_file_location("_generate_presets", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = module.render()
    assert "| `resnet34_04f` |" in text
    assert "7,131,689" in text  # the seed's best model, parameters counted from the code
    assert module.PAGE.read_text(encoding="utf-8") == text, (
        "docs/presets.md is stale: run python docs/_generate_presets.py"
    )
