"""The one top-level handler of ctckit's command lines (private).

A user error (:class:`~ctckit.errors.CTCKitError`, or an ``OSError`` such as
a read-only output folder) prints one line ``error: ...`` to stderr and exits
with status 1; argparse's usage errors keep their status 2. ``--debug`` shows
the traceback instead.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from ctckit.errors import CTCKitError

__all__ = ["add_debug_flag", "run_cli"]


def add_debug_flag(parser: argparse.ArgumentParser) -> None:
    """Add ``--debug`` (show tracebacks) to ``parser``.

    Example:
        >>> p = argparse.ArgumentParser()
        >>> add_debug_flag(p)
        >>> p.parse_args(["--debug"]).debug
        True
    """
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")


def run_cli(
    parser: argparse.ArgumentParser,
    body: Callable[[argparse.Namespace], int],
    argv: Sequence[str] | None = None,
) -> int:
    """Parse ``argv`` with ``parser`` and run ``body``, turning user errors into one line.

    Args:
        parser: The program's parser; :func:`add_debug_flag` is applied if it
            has no ``--debug`` yet.
        body: The program, given the parsed arguments; returns the exit status.
        argv: Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns:
        ``body``'s status, or 1 after a :class:`~ctckit.errors.CTCKitError` or
        ``OSError`` (130 after Ctrl-C).

    Example:
        >>> from ctckit.errors import DataError
        >>> def body(args):
        ...     raise DataError("no train/mfcc folder", path="/data")
        >>> import contextlib, io
        >>> err = io.StringIO()
        >>> with contextlib.redirect_stderr(err):
        ...     status = run_cli(argparse.ArgumentParser(prog="demo"), body, [])
        >>> status, err.getvalue()
        (1, 'error: /data: no train/mfcc folder\\n')
    """
    if not any("--debug" in action.option_strings for action in parser._actions):
        add_debug_flag(parser)
    args = parser.parse_args(argv)
    try:
        return body(args)
    except (CTCKitError, OSError) as err:
        if args.debug:
            raise
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("error: interrupted", file=sys.stderr)
        return 130
