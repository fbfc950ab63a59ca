"""The chapters are stored as nbval needs them: run top to bottom, with clean outputs.

nbval only compares the cells that have an execution count, so a notebook saved without
outputs would pass it silently; and the website shows the stored outputs (the build does
not execute), so they must be the ones of a clean run, without errors, warnings, memory
addresses or paths from the author's machine.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
NOTEBOOKS = sorted(CHAPTERS.glob("*.ipynb"))
IDS = [nb.name for nb in NOTEBOOKS]

# 64-bit addresses as Python prints them (`<object at 0x7f...>`), or any long hex number.
ADDRESS = re.compile(r"\bat 0x[0-9a-fA-F]+|\b0x[0-9a-fA-F]{8,}\b")
# Absolute paths from someone's machine.
PRIVATE_PATH = re.compile(r"(/root/|/home/|/Users/|[A-Za-z]:\\Users\\)")
# Output data that is text (images are base64 and would match anything).
TEXT_MIME = re.compile(r"^(text/.*|application/(json|javascript)|image/svg\+xml)$")


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def code_cells(nb) -> list[tuple[int, nbformat.NotebookNode]]:
    """(index among all cells, cell) of every non-empty code cell."""
    return [
        (i, cell)
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and cell.source.strip()
    ]


def where(i: int, cell) -> str:
    first = cell.source.strip().splitlines()[0][:70]
    return f"cell {i} [{cell.get('execution_count')}] `{first}`"


def output_texts(output) -> list[tuple[str, str]]:
    """(label, text) of every textual part of one output."""
    kind = output.get("output_type")
    if kind == "stream":
        return [(f"stream {output.get('name')}", output.get("text", ""))]
    if kind == "error":
        return [("error", "\n".join([output.get("ename", ""), output.get("evalue", "")]
                                    + list(output.get("traceback", []))))]
    texts = []
    for mime, value in output.get("data", {}).items():
        if TEXT_MIME.match(mime):
            texts.append((mime, value if isinstance(value, str) else str(value)))
    return texts


def test_chapters_has_notebooks():
    assert NOTEBOOKS, f"no notebook in {CHAPTERS}: the book has no chapter to check"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_kernelspec_is_python3(path):
    spec = read(path).metadata.get("kernelspec", {})
    assert spec.get("name") == "python3", (
        f"{path.name}: kernelspec name is {spec.get('name')!r}, not 'python3' "
        "(nbval --nbval-current-env and the book expect the python3 kernel)"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_code_cell_ran_once_in_order(path):
    cells = code_cells(read(path))
    assert cells, f"{path.name} has no code cell"
    missing = [where(i, c) for i, c in cells if c.get("execution_count") is None]
    assert not missing, (
        f"{path.name}: code cells with no execution count (never run, so nbval would not "
        f"compare them; run `make execute`): {missing}"
    )
    counts = [c.execution_count for _, c in cells]
    in_order = counts[0] == 1 and all(b > a for a, b in zip(counts, counts[1:]))
    assert in_order, (
        f"{path.name}: execution counts {counts} do not increase from 1: the stored outputs "
        "are not those of one clean top-to-bottom run (run `make execute`)"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_errors_or_warnings_stored(path):
    problems = []
    for i, cell in code_cells(read(path)):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                problems.append(f"{where(i, cell)}: {out.get('ename')}: {out.get('evalue')}")
            elif (out.get("output_type") == "stream" and out.get("name") == "stderr"
                  and "warning" in out.get("text", "").lower()):
                problems.append(f"{where(i, cell)}: warning on stderr: {out['text'].strip()[:300]!r}")
    assert not problems, f"{path.name}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_memory_addresses_or_private_paths_stored(path):
    problems = []
    for i, cell in code_cells(read(path)):
        for out in cell.get("outputs", []):
            for label, text in output_texts(out):
                for pattern, what in ((ADDRESS, "memory address"), (PRIVATE_PATH, "absolute path")):
                    match = pattern.search(text)
                    if match:
                        s, e = max(0, match.start() - 40), match.end() + 40
                        problems.append(f"{where(i, cell)} ({label}): {what} in {text[s:e]!r}")
    assert not problems, f"{path.name}:\n  " + "\n  ".join(problems)


IGNORED = "# NBVAL_IGNORE_OUTPUT"
COMMENT = re.compile(r"#.*$", re.MULTILINE)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_cells_whose_output_is_not_compared_assert_what_they_print(path):
    """nbval does not compare the text of a `# NBVAL_IGNORE_OUTPUT` cell (Monte Carlo digits,
    which differ on another processor), so its own asserts are all that holds it, and the
    numbers it glues into the prose, to account: such a cell without an assert is unchecked."""
    unguarded = [
        where(i, cell) for i, cell in code_cells(read(path))
        if cell.source.lstrip().startswith(IGNORED)
        and not re.search(r"\bassert", COMMENT.sub("", cell.source))
    ]
    assert not unguarded, f"{path.name}: cells not compared by nbval that assert nothing: {unguarded}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_ignore_marker_is_the_first_line(path):
    """nbval honours the marker anywhere in the cell; keep it first, where a reader sees it."""
    misplaced = [
        where(i, cell) for i, cell in code_cells(read(path))
        if IGNORED in cell.source and not cell.source.lstrip().startswith(IGNORED)
    ]
    assert not misplaced, f"{path.name}: {IGNORED} not on the first line of {misplaced}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_number_in_the_prose_comes_from_a_cell_whose_output_is_not_compared(path):
    """A glued value is an output: from a `# NBVAL_IGNORE_OUTPUT` cell it would reach the prose
    unchecked. Monte Carlo numbers are glued in compared cells instead, at a precision no rerun
    changes by more than one unit (chapter 7's glue_mc)."""
    glued = [
        where(i, cell) for i, cell in code_cells(read(path))
        if cell.source.lstrip().startswith(IGNORED) and re.search(r"\bglue(_\w+)?\(", COMMENT.sub("", cell.source))
    ]
    assert not glued, f"{path.name}: glue in cells whose output nbval ignores: {glued}"
