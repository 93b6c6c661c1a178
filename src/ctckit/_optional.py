"""Import optional dependencies with an error that names the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from ctckit.errors import MissingDependencyError


def import_optional(module: str, extra: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming ``extra``.

    Example:
        >>> import_optional("math", extra="none").sqrt(4.0)
        2.0
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise MissingDependencyError(module.split(".")[0], extra=extra) from err
