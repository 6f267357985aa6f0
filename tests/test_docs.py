"""The documentation builds with warnings as errors, and covers every public module and example.

The build is the documented command, ``python -m sphinx -W --keep-going -b html docs <out>``, run into
a temporary directory (nothing is written under docs/). ~15 s on 2 cores, so it runs by default;
sphinx, myst-parser and numpydoc are in the ``test`` extra.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

import rfdiff

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

# Public modules: the subpackages rfdiff exports, plus the three it uses without exporting by name.
PUBLIC_MODULES = {"rfdiff"} | {
    f"rfdiff.{name}" for name in rfdiff.__all__ if type(getattr(rfdiff, name)).__name__ == "module"
} | {"rfdiff.model", "rfdiff.sweep", "rfdiff.plot"}


@pytest.fixture(scope="module")
def html(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("docs")
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(out / "doctrees"), str(DOCS), str(out / "html")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, f"sphinx build failed:\n{proc.stdout}\n{proc.stderr}"
    return out / "html"


def test_build_has_every_page(html):
    pages = {str(p.relative_to(html)) for p in html.rglob("*.html")}
    for src in [*DOCS.glob("*.md"), *DOCS.glob("*/*.md"), *DOCS.glob("*/*.rst")]:
        rel = src.relative_to(DOCS).with_suffix(".html")
        if src.name == "README.md":
            continue
        assert str(rel) in pages, f"{src.relative_to(ROOT)} was not built"


def test_api_documents_every_public_module(html):
    documented = set()
    for rst in (DOCS / "api").glob("*.rst"):
        documented |= set(re.findall(r"^\.\. automodule:: (\S+)", rst.read_text(), re.M))
    assert PUBLIC_MODULES <= documented, sorted(PUBLIC_MODULES - documented)
    # autodoc really rendered the members (an import failure would leave an empty page)
    for name in ("rfdiff.model.RFModel", "rfdiff.spectrum.Spectrum", "rfdiff.twopoint.learning_curves",
                 "rfdiff.phases.phase_diagram", "rfdiff.simulate.gradient_flow", "rfdiff.plot.spectrum",
                 "rfdiff.sweep.sweep", "rfdiff.constants.compute_constants"):
        module_page = html / "api" / f"{name.split('.')[1]}.html"
        assert f'id="{name}"' in module_page.read_text(), name


def test_every_example_has_a_page_and_its_image(html):
    text = "\n".join(p.read_text() for p in [*DOCS.glob("*.md"), *DOCS.glob("figures/*.md")])
    for script in sorted((ROOT / "examples").glob("*.py")):
        assert f"examples/{script.name}" in text, f"{script.name} is not documented"
    for image in re.findall(r"\]\((?:\.\./)?(img/[\w.]+\.png)\)", text):
        assert (DOCS / image).is_file(), image
        assert (html / "_images" / Path(image).name).is_file(), f"{image} not copied into the site"


def test_build_command_is_documented():
    command = "python -m sphinx -W --keep-going -b html docs docs/_build/html"
    assert command in (DOCS / "index.md").read_text()
    assert command in (DOCS / "README.md").read_text()
