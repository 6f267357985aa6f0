"""Sphinx configuration of the rfdiff documentation.

Build (warnings are errors, as in ``tests/test_docs.py``)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # autodoc imports rfdiff.plot; never open a window

# Document the rfdiff of this checkout (the repository root), not an installed copy.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rfdiff

project = "rfdiff"
author = "rfdiff developers"
copyright = "2026, rfdiff developers"
release = rfdiff.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "README.md", "Thumbs.db", ".DS_Store"]
templates_path: list[str] = []

# MyST: $...$ and $$...$$ maths in the hand-written pages, heading anchors for [text](#anchor) links.
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3

# autodoc / numpydoc: the API pages list members explicitly (api/*.rst), in source order.
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # the numpydoc "Parameters" sections carry the types
autodoc_default_options = {"members": True, "show-inheritance": False}
autosummary_generate = False
numpydoc_show_class_members = False  # attributes are documented in the class docstrings
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set[str] = set()

html_theme = "alabaster"
html_title = f"rfdiff {release}"
html_static_path: list[str] = []


# The docstrings write maths as plain text, e.g. ``|Im z|`` or ``||sigma||^2``, which
# reStructuredText would read as substitution references (errors under -W). Escape every ``|``
# in prose lines; doctest lines, literal blocks and ``inline literals`` are left untouched.
def _escape_bars(line: str) -> str:
    parts = line.split("``")
    for i in range(0, len(parts), 2):  # even pieces are outside ``...``
        parts[i] = parts[i].replace("\\|", "|").replace("|", "\\|")
    return "``".join(parts)


def _escape_docstring_bars(app, what, name, obj, options, lines: list[str]) -> None:
    literal_indent: int | None = None  # indentation of the paragraph that opened a literal block
    for k, line in enumerate(lines):
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if literal_indent is not None:
            if not stripped or indent > literal_indent:
                continue
            literal_indent = None
        if stripped.startswith((">>>", "...")):
            continue
        if "|" in line:
            lines[k] = _escape_bars(line)
        if stripped.endswith("::"):
            literal_indent = indent


# Markdown pages may link to repository files outside docs/ (e.g. ``[x](../benchmarks/README.md)``),
# which are not part of the site: MyST would warn (myst.xref_missing). Such a link to an existing file
# becomes the link text followed by the file's repository path in code; a broken one still warns.
_DOCS = Path(__file__).resolve().parent
_REPO_LINK = re.compile(r"\[([^\]]+)\]\((\.\./[^)\s#]+)(#[^)\s]*)?\)")


def _unlink_repo_files(app, docname: str, source: list[str]) -> None:
    path = Path(app.env.doc2path(docname))
    if path.suffix != ".md":
        return
    base = path.parent

    def repl(m: re.Match) -> str:
        target = (base / m.group(2)).resolve()
        if target.is_relative_to(_DOCS) or not target.exists():
            return m.group(0)
        return f"{m.group(1)} (`{target.relative_to(_DOCS.parent)}`)"

    source[0] = _REPO_LINK.sub(repl, source[0])


def setup(app):
    app.connect("autodoc-process-docstring", _escape_docstring_bars, priority=400)
    app.connect("source-read", _unlink_repo_files)
