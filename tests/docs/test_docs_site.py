"""The built documentation opens in headless Chromium without console errors.

Builds the HTML into a temporary folder and loads every page through
``docs/check_site.py``. Skipped where Debian's chromium is not installed
(``.ci/run`` installs it).
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _load_checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_site", DOCS / "check_site.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check_site = _load_checker()
needs_chromium = pytest.mark.skipif(
    check_site.find_chromium() is None, reason="chromium is not installed"
)


@pytest.fixture(scope="module")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sphinx.cmd.build import build_main

    out = tmp_path_factory.mktemp("html")
    assert build_main(["-q", "-b", "html", str(DOCS), str(out)]) == 0
    return out


@needs_chromium
def test_every_page_loads_without_console_errors_and_search_works(built_site: Path) -> None:
    assert check_site.check_site(built_site, query="beam") == []


@needs_chromium
def test_the_check_catches_a_script_error_and_an_empty_search(
    built_site: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "site"
    shutil.copytree(built_site, broken)
    page = broken / "index.html"
    page.write_text(
        page.read_text().replace("</body>", "<script>throw new Error('boom')</script></body>")
    )
    problems = check_site.check_site(broken, query="zzzqqqnotaword", pages=["index.html"])
    assert any("boom" in p for p in problems)
    assert any("found no pages" in p for p in problems)
