from __future__ import annotations

import pytest

from ctckit._optional import import_optional
from ctckit.errors import (
    CTCKitError,
    DataError,
    InputTypeError,
    InputValueError,
    MissingDependencyError,
    ShapeError,
)


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (ShapeError, ValueError),
        (InputValueError, ValueError),
        (InputTypeError, TypeError),
        (DataError, ValueError),
        (MissingDependencyError, ImportError),
    ],
)
def test_every_error_is_a_ctckit_error_and_a_builtin(cls: type, builtin: type) -> None:
    assert issubclass(cls, CTCKitError)
    assert issubclass(cls, builtin)


def test_data_error_names_the_path(tmp_path) -> None:  # type: ignore[no-untyped-def]
    err = DataError("truncated .npy file", path=tmp_path / "a.npy")
    assert str(err).startswith(str(tmp_path / "a.npy"))
    assert err.path == str(tmp_path / "a.npy")


def test_missing_optional_dependency_names_the_extra() -> None:
    with pytest.raises(MissingDependencyError, match=r"ctckit\[plot\]") as info:
        import_optional("surely_not_an_installed_module_xyz", extra="plot")
    assert info.value.extra == "plot"
    assert isinstance(info.value, ImportError)
