"""A chapter downloaded from the website runs on its own (issue 16, item 4).

Each chapter's first code cell (hidden on the site, kept in the downloaded notebook) names, in
``REQUIREMENTS``, what the chapter imports and pip-installs what is missing.  The test gives a
fresh virtual environment exactly those packages, offline: emlib as a wheel built from this
checkout, the rest from ``.wheelhouse/`` (downloaded by ``make install``), plus ipykernel to run
the notebook; then executes a chapter top to bottom in an empty directory outside the repository.
Without myst-nb there, ``emlib.book.glue`` only shows what it would have glued.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WHEELHOUSE = ROOT / ".wheelhouse"
NOTEBOOKS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
# Modules that come with Python, Jupyter's kernel or the book build rather than from REQUIREMENTS.
NOT_REQUIRED = set(sys.stdlib_module_names) | {"IPython", "myst_nb", "matplotlib_inline"}
# A light chapter with emlib, SciPy, scikit-learn and matplotlib figures: about 30 s.
CHAPTER = ROOT / "chapters" / "02_kmeans.ipynb"


def requirements(path: Path) -> dict[str, str]:
    """The REQUIREMENTS dictionary of a chapter's first code cell."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    first = "".join(next(c for c in cells if c["cell_type"] == "code")["source"])
    tree = ast.parse(first)
    assigned = [n.value for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "REQUIREMENTS"]
    assert assigned, f"{path.name}: the first code cell does not define REQUIREMENTS"
    return ast.literal_eval(assigned[0])


def imported_modules(path: Path) -> set[str]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    source = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return {m for m in re.findall(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)", source, re.MULTILINE)} - NOT_REQUIRED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_first_cell_names_every_package_the_chapter_imports(path):
    named = requirements(path)
    assert not imported_modules(path) - set(named), f"{path.name} imports modules its first cell does not install"
    assert named["emlib"].startswith("emlib @ git+https://"), "emlib must come from the repository"


def test_a_downloaded_chapter_runs_in_a_fresh_environment(tmp_path, monkeypatch):
    from nbclient import NotebookClient
    from nbformat import read

    if not (WHEELHOUSE / ".complete").exists():
        pytest.fail(f"{WHEELHOUSE} is missing: `make install` downloads the wheels this test installs offline")
    env_dir, wheels = tmp_path / "venv", tmp_path / "wheels"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = str(env_dir / "bin" / "python")
    offline = ["--no-index", "--find-links", str(WHEELHOUSE)]
    source = tmp_path / "emlib-source"  # built from a copy: a build leaves build/ and *.egg-info behind
    shutil.copytree(ROOT / "emlib", source / "emlib", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ["pyproject.toml", "README.md", "LICENSE"]:
        shutil.copy(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", *offline, "-w", str(wheels), str(source)],
                   check=True)
    named = [("emlib" if module == "emlib" else pip) for module, pip in requirements(CHAPTER).items()]
    subprocess.run([python, "-m", "pip", "install", "--quiet", *offline, "--find-links", str(wheels),
                    "ipykernel", *named], check=True)
    assert subprocess.run([python, "-c", "import myst_nb"], capture_output=True).returncode != 0
    kernels = tmp_path / "kernels"
    subprocess.run([python, "-m", "ipykernel", "install", "--prefix", str(kernels), "--name", "standalone"],
                   check=True, capture_output=True)
    work = tmp_path / "downloads"
    work.mkdir()
    notebook = read(CHAPTER, as_version=4)
    monkeypatch.setenv("JUPYTER_PATH", str(kernels / "share" / "jupyter"))
    NotebookClient(notebook, kernel_name="standalone", timeout=600,
                   resources={"metadata": {"path": str(work)}}).execute()
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    glued = [o for c in notebook.cells for o in c.get("outputs", []) if "scrapbook" in o.get("metadata", {})]
    assert not glued, "myst-nb's glue ran although myst-nb is not installed"
