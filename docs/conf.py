"""Sphinx configuration for ctckit."""

from __future__ import annotations

import ctckit

project = "ctckit"
author = "ctckit developers"
copyright = "2026, ctckit developers"
release = ctckit.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.intersphinx",
    "sphinx.ext.doctest",
    "sphinx.ext.viewcode",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
html_theme = "furo"
html_title = f"ctckit {release}"
html_static_path = ["_static"]

napoleon_google_docstring = True
napoleon_numpy_docstring = False
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
myst_heading_anchors = 3

# The stored inventories keep the build offline; no network at build time.
intersphinx_mapping = {
    "python": ("https://docs.python.org/3", "_inventories/python.inv"),
    "torch": ("https://pytorch.org/docs/stable", "_inventories/torch.inv"),
    "numpy": ("https://numpy.org/doc/stable", "_inventories/numpy.inv"),
}
nitpicky = False

doctest_global_setup = """
import torch
import numpy as np
"""
# Docstring examples run under pytest --doctest-modules, in their module's
# namespace; the doctest builder checks the guides' explicit doctest blocks.
doctest_test_doctest_blocks = ""
