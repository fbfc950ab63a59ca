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


# The reading experience (issue 13): what the website shows a reader is the story; the test
# plumbing (glue calls, asserts, reference checks) runs in cells the website hides.
HIDDEN_INPUT = {"hide-input", "hide-cell", "remove-input", "remove-cell"}
REMOVED_INPUT = {"remove-input", "remove-cell"}
REMOVED_OUTPUT = {"remove-output", "remove-cell"}
MAX_VISIBLE_LINES = 30
MAX_LINE = 88
GLUE_CALL = re.compile(r"\bglue(_\w+)?\(")


def tags(cell) -> set[str]:
    return set(cell.metadata.get("tags", []))


def shown_texts(output) -> list[str]:
    """The text of one output as the website shows it (HTML and images are not text lines)."""
    if output.get("output_type") == "stream":
        return [output.get("text", "")]
    data = output.get("data", {})
    if output.get("metadata", {}).get("scrapbook") or "text/html" in data:
        return []
    if any(mime.startswith("image/") for mime in data):
        return []
    return [data.get("text/plain", "")]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_visible_code_cells_are_short(path):
    """A visible cell shows one idea; checks and glue go into hidden cells after it."""
    long = [
        f"{where(i, cell)}: {len(cell.source.splitlines())} lines"
        for i, cell in code_cells(read(path))
        if not tags(cell) & HIDDEN_INPUT and len(cell.source.splitlines()) > MAX_VISIBLE_LINES
    ]
    assert not long, (
        f"{path.name}: visible code cells over {MAX_VISIBLE_LINES} lines (split them, or move "
        f"checks into a cell tagged remove-input or hide-input): {long}"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_glue_call_in_a_visible_cell(path):
    visible = [
        where(i, cell) for i, cell in code_cells(read(path))
        if not tags(cell) & HIDDEN_INPUT and GLUE_CALL.search(COMMENT.sub("", cell.source))
    ]
    assert not visible, f"{path.name}: glue calls in cells the website shows: {visible}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_shown_line_is_wider_than_the_page(path):
    """The book's code column holds 88 characters; longer lines are cut off on the website."""
    wide = []
    for i, cell in code_cells(read(path)):
        if not tags(cell) & REMOVED_INPUT:
            wide += [f"{where(i, cell)} code: {line[:60]!r}..." for line in
                     cell.source.splitlines() if len(line) > MAX_LINE]
        if not tags(cell) & REMOVED_OUTPUT:
            for out in cell.get("outputs", []):
                for text in shown_texts(out):
                    wide += [f"{where(i, cell)} output: {line[:60]!r}..." for line in
                             text.splitlines() if len(line) > MAX_LINE]
    assert not wide, f"{path.name}: lines over {MAX_LINE} characters:\n  " + "\n  ".join(wide)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_figure_is_captioned_and_described(path):
    """Figures are numbered and captioned (myst-nb's mystnb.figure metadata) and carry alt
    text for screen readers that describes them in full."""
    problems = []
    for i, cell in code_cells(read(path)):
        if tags(cell) & REMOVED_OUTPUT:
            continue
        images = [o for o in cell.get("outputs", [])
                  if any(m.startswith("image/") for m in o.get("data", {}))]
        if not images:
            continue
        mystnb = cell.metadata.get("mystnb", {})
        caption = str(mystnb.get("figure", {}).get("caption", "")).strip()
        alt = str(mystnb.get("image", {}).get("alt", "")).strip()
        if not caption:
            problems.append(f"{where(i, cell)}: no mystnb.figure.caption")
        if not mystnb.get("figure", {}).get("name"):
            problems.append(f"{where(i, cell)}: no mystnb.figure.name to refer to it by")
        if not alt or "…" in alt or "..." in alt:
            problems.append(f"{where(i, cell)}: alt text missing or elided: {alt[:60]!r}")
    assert not problems, f"{path.name}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_set_up_cell_comes_after_the_title(path):
    """The hidden set-up cell's toggle belongs under the chapter's title, not above it."""
    nb = read(path)
    first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    title = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"
                 and re.search(r"^# \S", c.source, re.MULTILINE))
    assert title < first_code, f"{path.name}: a code cell (cell {first_code}) precedes the title"


GLUE_ROLE = re.compile(r"\{glue:text\}`([^`]+)`")
NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def glued_values(nb) -> dict[str, str]:
    """key -> the text/plain of every value glued in a notebook."""
    values = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            record = out.get("metadata", {}).get("scrapbook")
            if record:
                values[record["name"]] = out["data"].get(
                    record.get("mime_prefix", "") + "text/plain", "")
    return values


def as_number(text: str) -> float:
    """The number a format spec printed (thousands separators and percent signs read back)."""
    scale = 0.01 if text.endswith("%") else 1.0
    return float(text.replace(",", "").rstrip("%")) * scale


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_prose_formats_never_round_a_glued_number_again(path):
    """A glued number is rounded once, as the prose shows it. A format spec in the prose
    that dropped digits would round it twice (chapter 1 once showed 2.55 as 2.5), so every
    `{glue:text}`key:spec`` must print the glued value exactly."""
    nb = read(path)
    values = glued_values(nb)
    problems = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for role in GLUE_ROLE.findall(cell.source):
            key, _, spec = role.partition(":")
            if "::" in role or not spec:
                continue
            assert key in values, f"{path.name}: {{glue:text}}`{role}` names no glued value"
            match = NUMBER.fullmatch(values[key].strip())
            if match is None:
                problems.append(f"`{role}`: format applied to a non-number {values[key]!r}")
                continue
            value = float(values[key])
            shown = format(value, spec)
            if as_number(shown) != value:
                problems.append(f"`{role}` shows {shown} of the glued {values[key]}")
    assert not problems, f"{path.name}: prose formats that round again:\n  " + "\n  ".join(problems)


PACKAGE_FILES = re.compile(r"^emlib/([a-z_]+\.py|data/([a-z0-9_]+\.csv|README\.md|__init__\.py))$")
STRAY = re.compile(r"(\.orig|\.rej|\.bak|\.swp|~|\.DS_Store|\.pyc)$|\.ipynb_checkpoints/")


def tracked_files() -> list[str]:
    import subprocess
    listing = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if listing.returncode != 0:
        pytest.skip("not a git checkout: the tracked files cannot be listed")
    return listing.stdout.splitlines()


def test_no_stray_files_in_the_package_or_the_repository():
    files = tracked_files()
    stray = [f for f in files if STRAY.search(f)]
    unexpected = [f for f in files if f.startswith("emlib/") and not PACKAGE_FILES.match(f)]
    assert not stray, f"backup or editor files committed: {stray}"
    assert not unexpected, f"files in the package that are neither modules nor data: {unexpected}"
