"""Sphinx configuration of glassnet's documentation site (built by ``python docs/build.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import glassnet  # noqa: E402

project = "glassnet"
author = "the glassnet developers"
release = version = glassnet.__version__
extensions = [
    "myst_nb",  # Markdown pages and executed notebooks
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",  # the numpydoc docstrings
    "sphinx.ext.viewcode",
]
exclude_patterns = ["_build", "images/**/*.md", "make_*.py", "build.py"]
# The pages link to the repository's source files (../glassnet/..., ../README.md) for readers on
# GitHub; the site does not hold those files, so those links are not site cross-references.
suppress_warnings = ["myst.xref_missing", "myst.header"]
myst_heading_anchors = 3
nb_execution_mode = "off"  # build.py runs the notebooks (or reuses the tests' runs) before Sphinx
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": False}
napoleon_numpy_docstring = True
napoleon_google_docstring = False
html_theme = "pydata_sphinx_theme"
html_title = "glassnet"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
