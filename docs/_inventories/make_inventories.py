"""Write the small intersphinx inventories that keep the docs build offline.

The build machine has no network, so instead of fetching the full
``objects.inv`` of Python, PyTorch and NumPy we ship inventories listing the
names ctckit's documentation links to, with their real URLs. Run this
script after adding a cross-reference to a name not listed here.
"""

from __future__ import annotations

import zlib
from pathlib import Path

HERE = Path(__file__).parent

PYTHON = {
    "py:class": {
        n: f"library/stdtypes.html#{n}" for n in ("str", "int", "float", "list", "tuple", "dict")
    }
    | {
        "bool": "library/functions.html#bool",
        "object": "library/functions.html#object",
        "os.PathLike": "library/os.html#os.PathLike",
        "pathlib.Path": "library/pathlib.html#pathlib.Path",
        "collections.abc.Sequence": "library/collections.abc.html#collections.abc.Sequence",
        "collections.abc.Iterable": "library/collections.abc.html#collections.abc.Iterable",
        "collections.abc.Iterator": "library/collections.abc.html#collections.abc.Iterator",
        "collections.abc.Hashable": "library/collections.abc.html#collections.abc.Hashable",
        "collections.abc.Mapping": "library/collections.abc.html#collections.abc.Mapping",
        "collections.abc.Callable": "library/collections.abc.html#collections.abc.Callable",
        "typing.Protocol": "library/typing.html#typing.Protocol",
        "typing.Any": "library/typing.html#typing.Any",
    },
    "py:exception": {
        n: f"library/exceptions.html#{n}"
        for n in ("Exception", "ValueError", "TypeError", "ImportError", "OSError")
    },
}

TORCH = {
    "py:class": {
        "torch.Tensor": "tensors.html#torch.Tensor",
        "torch.nn.Module": "generated/torch.nn.Module.html#torch.nn.Module",
        "torch.dtype": "tensor_attributes.html#torch.dtype",
        "torch.device": "tensor_attributes.html#torch.device",
        "torch.utils.data.Dataset": "data.html#torch.utils.data.Dataset",
        "torch.utils.data.Sampler": "data.html#torch.utils.data.Sampler",
        "torch.optim.Optimizer": "optim.html#torch.optim.Optimizer",
    },
    "py:function": {
        "torch.nn.functional.ctc_loss": "generated/torch.nn.functional.ctc_loss.html",
        "torch.nn.utils.rnn.pack_padded_sequence": (
            "generated/torch.nn.utils.rnn.pack_padded_sequence.html"
        ),
        "torch.compile": "generated/torch.compile.html",
    },
}

NUMPY = {
    "py:class": {
        "numpy.ndarray": "reference/generated/numpy.ndarray.html#numpy.ndarray",
        "numpy.dtype": "reference/generated/numpy.dtype.html#numpy.dtype",
        "numpy.random.Generator": "reference/random/generator.html#numpy.random.Generator",
    },
}


def write(path: Path, project: str, version: str, entries: dict[str, dict[str, str]]) -> None:
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n# Version: {version}\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    lines = [
        f"{name} {role} 1 {uri} -"
        for role, names in sorted(entries.items())
        for name, uri in sorted(names.items())
    ]
    body = zlib.compress(("\n".join(lines) + "\n").encode())
    path.write_bytes(header.encode() + body)


if __name__ == "__main__":
    write(HERE / "python.inv", "Python", "3", PYTHON)
    write(HERE / "torch.inv", "PyTorch", "2", TORCH)
    write(HERE / "numpy.inv", "NumPy", "1", NUMPY)
