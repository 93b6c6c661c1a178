"""Open the built documentation in headless Chromium and report problems.

Serves the HTML folder on a loopback port, loads every page, collects the
browser console's errors, and checks that the search page finds results.

Run: python docs/check_site.py docs/_build/html [--query beam]

Exits 1 and lists the problems if any page logs a console error or the
search finds nothing. Needs Debian's ``chromium`` package.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
    "--virtual-time-budget=4000",
]
# Console messages Chromium prints as "CONSOLE" lines; levels other than
# plain log are problems, and so are uncaught exceptions and failed loads.
_CONSOLE = re.compile(r'CONSOLE\(?(\d*)\)?[^"]*"(?P<msg>.*)", source: (?P<src>\S+)')
_BAD = re.compile(r"Uncaught|Failed to load|Error|404|blocked", re.IGNORECASE)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def find_chromium() -> str | None:
    """Path of a Chromium binary, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def load(chromium: str, url: str) -> tuple[str, list[str]]:
    """Render ``url`` and return its DOM and the console problems it logged."""
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    problems = []
    for line in proc.stderr.splitlines():
        match = _CONSOLE.search(line)
        if match and _BAD.search(match["msg"]):
            problems.append(f"{url}: {match['msg']} ({match['src']})")
    return proc.stdout, problems


def check_site(html_dir: Path, query: str = "beam", pages: list[str] | None = None) -> list[str]:
    """Every problem found in the site at ``html_dir`` (empty when all is well).

    ``pages`` limits the pages loaded (paths relative to ``html_dir``); the
    default is every page the build wrote.
    """
    chromium = find_chromium()
    if chromium is None:
        return ["chromium is not installed (apt-get install chromium)"]
    handler = functools.partial(_QuietHandler, directory=str(html_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    problems: list[str] = []
    try:
        if pages is None:
            pages = sorted(
                p.relative_to(html_dir).as_posix()
                for p in html_dir.rglob("*.html")
                if not p.relative_to(html_dir).as_posix().startswith("_")
            )
        for page in pages:
            _, page_problems = load(chromium, f"{base}/{page}")
            problems += page_problems
        dom, search_problems = load(chromium, f"{base}/search.html?q={query}")
        problems += search_problems
        found = re.search(r"found (\d+) page", dom)
        if not found or int(found.group(1)) == 0:
            problems.append(f"search for {query!r} found no pages")
    finally:
        server.shutdown()
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html_dir", type=Path)
    parser.add_argument("--query", default="beam")
    args = parser.parse_args()
    problems = check_site(args.html_dir, args.query)
    for problem in problems:
        print(problem)
    print("site check:", "OK" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
