"""Grading a class: ``make grade-all`` on sixteen synthetic submissions to assignment 3.

The class holds correct, partial and blank work, each way intake can fail (a hanging cell, a
dead kernel, an unknown kernel, broken metadata, the wrong assignment, a file that is not a
notebook, otter's export zip, a renamed file) and each attack an issue found: reading the hidden
tests or the masters, reaching the network, forging the score by patching otter, replacing
emlib's reference functions, and rewriting the autograder for the next student. Every row of the
gradebook is checked against the score that work deserves. The capability attacks answer the
last question (``q6 = "b"``, 2 points) only if the capability worked, so a 0 there proves that
it did not.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "assignments"))
import course  # noqa: E402
import grading  # noqa: E402

NAME = "a03_gmm_em"
FULL = {"q1": 3, "q2": 4, "q3": 4, "q4": 3, "q5": 2, "q6": 2}
TIMEOUT = 30

# The M-step with the classic wrong normaliser: means divided by N instead of N_k.
WRONG_M_STEP = '''
def m_step(X, responsibilities):
    Nk = responsibilities.sum(axis=0)
    means = (responsibilities.T @ X) / X.shape[0]
    covariances = np.array(
        [((r[:, None] * (X - mu)).T @ (X - mu)) / n for r, mu, n in zip(responsibilities.T, means, Nk)]
    )
    return Nk / X.shape[0], means, covariances
'''
# Each attack records success in q6 (the right answer is "b", worth 2 points).
READ_TESTS = f'''
import glob, os
found = [p for pattern in ("{ROOT}/_build/**/autograder.zip", "{ROOT}/_build/**/tests/*.py",
                           "{ROOT}/assignments/a0*.ipynb", "/tmp/**/autograder.zip", "/tmp/**/q6.py",
                           "{Path.home()}/**/autograder.zip")
         for p in glob.glob(pattern, recursive=True)]
q6 = "b" if found else "none"
'''
NETWORK = '''
import socket
try:
    socket.create_connection(("pypi.org", 443), timeout=3).close()
    q6 = "b"
except OSError:
    q6 = "none"
'''
OTHER_STUDENTS = '''
import glob
q6 = "b" if glob.glob("{folder}/*.ipynb") else "none"
'''
PATCH_OTTER = '''
import otter.test_files.abstract_test as abstract
import otter.test_files.exception_test as exception
abstract.TestFile.score = property(lambda self: self.possible)
abstract.TestFile.passed_all = property(lambda self: True)
exception.ExceptionTestFile.run = lambda self, env: None
q6 = "none"
'''
PATCH_EMLIB = '''
import emlib.gmm
emlib.gmm.e_step = lambda *args, **kwargs: (None, 0.0)
emlib.gmm.m_step = lambda *args, **kwargs: None
'''
REWRITE_AUTOGRADER = f'''
import zipfile
q6 = "none"
for path in __import__("glob").glob("{ROOT}/_build/assignments/**/autograder.zip", recursive=True):
    try:
        with zipfile.ZipFile(path, "w") as forged:
            forged.writestr("tests/q1.py", "name = 'q1'\\npoints = 99\\n")
        q6 = "b"
    except OSError:
        pass
'''


def with_cells(notebook: nbformat.NotebookNode, *sources: str) -> nbformat.NotebookNode:
    notebook = nbformat.from_dict(notebook)
    notebook.cells += [nbformat.v4.new_code_cell(s) for s in sources]
    return notebook


def replaced(notebook: nbformat.NotebookNode, startswith: str, source: str) -> nbformat.NotebookNode:
    notebook = nbformat.from_dict(notebook)
    (cell,) = [c for c in notebook.cells if c.cell_type == "code" and c.source.startswith(startswith)]
    cell.source = source
    return notebook


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> tuple[dict[str, dict[str, str]], float, Path]:
    """The class, graded by ``make grade-all``: (gradebook rows by file, seconds, folder)."""
    built = course.build(ROOT / "assignments" / f"{NAME}.ipynb")
    solution = nbformat.read(built / "autograder" / f"{NAME}.ipynb", as_version=4)
    blank = nbformat.read(built / "student" / f"{NAME}.ipynb", as_version=4)
    other = course.build(ROOT / "assignments" / "a02_kmeans.ipynb")
    folder = tmp_path_factory.mktemp("class") / NAME
    folder.mkdir()

    def write(name: str, notebook: nbformat.NotebookNode) -> None:
        nbformat.write(notebook, folder / name)

    write(f"alice_{NAME}.ipynb", solution)
    write(f"bob_{NAME}.ipynb", replaced(solution, "def m_step(", WRONG_M_STEP))
    write(f"carol_{NAME}.ipynb", blank)
    write(f"dave_{NAME}.ipynb", with_cells(solution, "while True:\n    pass"))
    write(f"erin_{NAME}.ipynb", with_cells(solution, "import os\nos._exit(1)"))
    unknown_kernel = nbformat.from_dict(solution)
    unknown_kernel.metadata["kernelspec"] = {"name": "python2-gone", "display_name": "?", "language": "python"}
    write(f"frank_{NAME}.ipynb", unknown_kernel)
    bad_metadata = nbformat.from_dict(solution)
    bad_metadata.metadata["otter"] = "not a dictionary"
    write(f"grace_{NAME}.ipynb", bad_metadata)
    nbformat.write(nbformat.read(other / "autograder" / "a02_kmeans.ipynb", as_version=4),
                   folder / f"heidi_{NAME}.ipynb")
    (folder / f"ivan_{NAME}.ipynb").write_text("{ not json")
    with zipfile.ZipFile(folder / f"judy_{NAME}.zip", "w") as export:  # otter's export zip
        export.writestr(f"{NAME}.ipynb", nbformat.writes(solution))
        export.writestr("notebook.pdf", b"%PDF-1.4")
    write("kim.ipynb", solution)  # renamed: the metadata says which assignment it is
    write(f"mallory1_{NAME}.ipynb", with_cells(blank, READ_TESTS))
    write(f"mallory2_{NAME}.ipynb", with_cells(blank, NETWORK))
    write(f"mallory3_{NAME}.ipynb", with_cells(blank, OTHER_STUDENTS.format(folder=folder)))
    write(f"mallory4_{NAME}.ipynb", with_cells(blank, PATCH_OTTER))
    write(f"mallory5_{NAME}.ipynb", with_cells(solution, PATCH_EMLIB))
    write(f"mallory6_{NAME}.ipynb", with_cells(blank, REWRITE_AUTOGRADER))
    write(f"zed_{NAME}.ipynb", blank)  # graded after mallory6: a forged autograder would show here

    started = time.perf_counter()
    result = subprocess.run(["make", "--no-print-directory", "grade-all", f"SUBMISSIONS={folder}",
                             f"TIMEOUT={TIMEOUT}"], cwd=ROOT, capture_output=True, text=True, timeout=1800)
    seconds = time.perf_counter() - started
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    with (folder / "graded" / f"{NAME}-grades.csv").open() as handle:
        rows = {row["file"]: row for row in csv.DictReader(handle)}
    print(f"graded {len(rows)} submissions in {seconds:.0f} s")
    return rows, seconds, folder


EXPECTED = {  # file: (total, status, reason contains)
    f"alice_{NAME}.ipynb": (18, "graded", ""),
    # the wrong M-step costs q3 only: em is graded with the book's steps, q5 on the own fit
    f"bob_{NAME}.ipynb": (14, "graded", ""),
    f"carol_{NAME}.ipynb": (0, "graded", "raised errors"),
    f"dave_{NAME}.ipynb": (0, "timeout", f"{TIMEOUT} s"),
    f"erin_{NAME}.ipynb": (0, "dead kernel", "kernel died"),
    f"frank_{NAME}.ipynb": (18, "graded", ""),
    f"grace_{NAME}.ipynb": (18, "graded", ""),
    f"heidi_{NAME}.ipynb": (0, "wrong assignment", "a02_kmeans"),
    f"ivan_{NAME}.ipynb": (0, "unreadable", "cannot read"),
    f"judy_{NAME}.zip": (18, "graded", ""),
    "kim.ipynb": (18, "graded", ""),
    f"mallory1_{NAME}.ipynb": (0, "graded", ""),
    f"mallory2_{NAME}.ipynb": (0, "graded", ""),
    f"mallory3_{NAME}.ipynb": (0, "graded", ""),
    f"mallory4_{NAME}.ipynb": (0, "graded", ""),
    f"mallory5_{NAME}.ipynb": (18, "graded", ""),
    f"mallory6_{NAME}.ipynb": (0, "graded", ""),
    f"zed_{NAME}.ipynb": (0, "graded", ""),
}


def test_every_submission_gets_the_score_its_work_deserves(graded):
    rows, seconds, _ = graded
    assert set(rows) == set(EXPECTED)
    wrong = []
    for file, (total, status, reason) in EXPECTED.items():
        row = rows[file]
        if float(row["total"]) != total or row["status"] != status or reason not in row["reason"]:
            wrong.append(f"{file}: {row['total']} {row['status']} ({row['reason']}); expected {total} {status}")
    assert not wrong, "\n".join(wrong)
    assert seconds < 20 * 60


def test_gradebook_has_students_questions_and_feedback(graded):
    rows, _, folder = graded
    assert rows[f"alice_{NAME}.ipynb"]["student"] == "alice" and rows["kim.ipynb"]["student"] == "kim"
    assert {q: float(rows[f"alice_{NAME}.ipynb"][q]) for q in FULL} == FULL
    bob = {q: float(rows[f"bob_{NAME}.ipynb"][q]) for q in FULL}
    assert bob == {**FULL, "q3": 0.0}
    feedback = (folder / "graded" / "feedback" / f"bob_{NAME}.ipynb.txt").read_text()
    assert "q3: 0 of 4 points" in feedback and "hidden test" in feedback and "AssertionError" in feedback
    assert "q4: 3 of 3 points" in feedback


def test_the_autograder_and_emlib_are_untouched_after_the_class(graded):
    zipped = ROOT / "_build" / "assignments" / NAME / "autograder" / "autograder.zip"
    assert course.checksum(zipped) == zipped.with_suffix(".zip.sha256").read_text().split()[0]
    assert "points = 99" not in grading.read_tests(zipped)["q1"]


def test_a_renamed_student_notebook_still_checks_itself(tmp_path):
    from nbclient import NotebookClient

    built = course.build(ROOT / "assignments" / f"{NAME}.ipynb")
    notebook = nbformat.read(built / "student" / f"{NAME}.ipynb", as_version=4)
    nbformat.write(notebook, tmp_path / "my homework (1).ipynb")
    NotebookClient(notebook, timeout=300, allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = {o.ename for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"}
    assert errors == {"NotImplementedError"}, errors
    checks = [o for c in notebook.cells if c.cell_type == "code" and "grader.check" in c.source for o in c.outputs]
    assert checks, "grader.check produced no result"


def test_sandbox_confines_the_kernel_where_namespaces_are_permitted():
    if not grading.namespaces_permitted():
        pytest.skip("this machine does not permit user namespaces (unshare -rmn): no file-system isolation")
    script = grading.sandbox_script(Path("/tmp/x/work"), grading.hidden_paths(None), [Path("/tmp/x/work"), ROOT],
                                    10, 1024)
    assert script.startswith("set -e") and f"mount -o remount,bind,ro '{ROOT}'" in script
    assert f"'{ROOT / '_build'}'" in script and f"'{ROOT / 'assignments'}'" in script
