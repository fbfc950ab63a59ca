"""The course assignments: masters score full marks, student versions score zero and hide the answers.

``assignments/course.py`` builds the student versions and grading material with otter-grader and
grades notebooks offline in a sandbox; these tests build every master afresh and grade it, its
student version and broken submissions (tests/test_grading.py grades a whole class).
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "assignments"))
import course  # noqa: E402

MASTERS = course.masters()
NAMES = [m.stem for m in MASTERS]


@pytest.fixture(scope="module")
def built() -> dict[str, Path]:
    """Every assignment built from its master, as ``make assignments`` does."""
    return {master.stem: course.build(master) for master in MASTERS}


def solution_lines(master: Path) -> tuple[list[str], set[str]]:
    """The answer lines of a master (inside BEGIN/END SOLUTION, or ending in ``# SOLUTION``),
    and the set of all its other code lines."""
    lines, others, inside = [], set(), False
    for cell in nbformat.read(master, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        for line in cell.source.splitlines():
            if line.strip().startswith("# BEGIN SOLUTION"):
                inside = True
            elif line.strip() == "# END SOLUTION":
                inside = False
            elif inside or line.rstrip().endswith("# SOLUTION"):
                lines.append(line.split("# SOLUTION")[0].strip())
            else:
                others.add(line.strip())
    return [line for line in lines if line and not line.startswith("#")], others


def hidden_test_names(master: Path) -> list[str]:
    """The function names of the hidden tests in a master."""
    cells = nbformat.read(master, as_version=4).cells
    sources = [c.source for c in cells if c.cell_type == "code" and "\nhidden: true\n" in c.source]
    return [re.search(r"^def (\w+)", s, re.M).group(1) for s in sources]


def run_course(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "assignments" / "course.py"), *args],
        capture_output=True, text=True, timeout=600,
    )


def test_there_are_masters_for_chapters_2_to_6_and_10():
    assert {name[:3] for name in NAMES} >= {"a02", "a03", "a04", "a05", "a06", "a10"}


@pytest.mark.parametrize("name", NAMES)
def test_master_scores_full_marks(built, name):
    result = course.grade(built[name] / "autograder" / f"{name}.ipynb")
    assert (result.status, result.reason) == ("graded", "")
    assert len(result.points) >= 5
    assert result.scores == result.points, result.feedback


@pytest.mark.parametrize("name", NAMES)
def test_untouched_student_version_scores_zero(built, name):
    result = course.grade(built[name] / "student" / f"{name}.ipynb")
    assert set(result.scores) == set(result.points)
    assert all(score == 0.0 for score in result.scores.values()), result.scores


@pytest.mark.parametrize("name", NAMES)
def test_student_version_holds_no_solution_and_no_hidden_test(built, name):
    master = ROOT / "assignments" / f"{name}.ipynb"
    student = (built[name] / "student" / f"{name}.ipynb").read_text()
    answers, scaffolding = solution_lines(master)
    assert len(answers) >= 10
    # an answer line may also occur in the given code (a test calling the function, say)
    leaked = [line for line in answers if len(line) >= 8 and line not in scaffolding and line in student]
    assert not leaked
    for test in hidden_test_names(master):
        assert test not in student
    # the answers live in emlib: the student version must not import them
    modules = "gmm|kmeans|missing|semisupervised|hmm"
    assert not re.search(rf"import emlib\.({modules})|from emlib(\.({modules}))? import", student)
    assert student.count("NotImplementedError") >= 3


@pytest.mark.parametrize("name", NAMES)
def test_student_version_runs_until_it_reaches_a_stub(built, name):
    student = built[name] / "student" / f"{name}.ipynb"
    notebook = nbformat.read(student, as_version=4)
    NotebookClient(notebook, timeout=300, allow_errors=True, resources={"metadata": {"path": str(student.parent)}}).execute()
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors, "the stubs were never reached"
    assert {e.ename for e in errors} == {"NotImplementedError"}, [(e.ename, e.evalue) for e in errors]


def test_not_a_notebook_gets_a_message_and_zero(built, tmp_path):
    bad = tmp_path / "a02_kmeans.ipynb"
    bad.write_text("{ this is not json")
    result = run_course("grade", str(bad))
    assert result.returncode == 0
    assert "Traceback" not in result.stdout + result.stderr
    assert "cannot read" in result.stdout and "not appear to be JSON" in result.stdout
    assert re.search(r"^total\s+0\.00\s+17\.00$", result.stdout, re.M), result.stdout


def test_notebook_that_raises_on_import_gets_zero_not_a_crash(built, tmp_path):
    notebook = nbformat.read(built["a02_kmeans"] / "autograder" / "a02_kmeans.ipynb", as_version=4)
    first = next(c for c in notebook.cells if c.cell_type == "code" and "import numpy" in c.source)
    first.source = "import a_module_that_does_not_exist\n" + first.source
    nbformat.write(notebook, tmp_path / "broken.ipynb")
    result = run_course("grade", str(tmp_path / "broken.ipynb"), "--assignment", "a02_kmeans", "--json")
    assert result.returncode == 0
    assert "Traceback" not in result.stdout + result.stderr
    scores = json.loads(result.stdout)["scores"]
    # the code questions need the failed imports; the multiple-choice answers do not
    assert [scores[q] for q in ("q1", "q2", "q3", "q4")] == [0.0] * 4
    assert scores["q5"] == scores["q6"] == 2.0


def test_unknown_assignment_is_a_clear_error(tmp_path):
    stray = tmp_path / "homework.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), stray)
    result = run_course("grade", str(stray))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "cannot tell which assignment" in result.stderr


def test_a_misnamed_or_copied_master_is_an_error_not_skipped(tmp_path):
    master = nbformat.read(MASTERS[0], as_version=4)
    nbformat.write(master, tmp_path / f"{MASTERS[0].stem}.ipynb")
    assert course.masters(tmp_path) == [tmp_path / f"{MASTERS[0].stem}.ipynb"]
    nbformat.write(master, tmp_path / "a99_copy.ipynb")  # still says the original's name
    with pytest.raises(SystemExit, match="must say name: a99_copy"):
        course.masters(tmp_path)
    (tmp_path / "a99_copy.ipynb").unlink()
    nbformat.write(master, tmp_path / "homework4.ipynb")
    with pytest.raises(SystemExit, match="named aNN_<topic>"):
        course.masters(tmp_path)



def test_student_bundle_holds_the_student_versions_and_emlib_only(built):
    """What teaching.md tells instructors to hand out: no master, no autograder, no hidden test."""
    with zipfile.ZipFile(course.student_bundle()) as bundle:
        names = sorted(bundle.namelist())
        wheels = [n for n in names if n.endswith(".whl")]
        assert len(wheels) == 1 and "/emlib-" in wheels[0]
        assert names == sorted(["em-lectures-assignments/README.md", *wheels,
                                *(f"em-lectures-assignments/{name}.ipynb" for name in NAMES)])
        for name in NAMES:  # byte for byte the student versions checked above
            assert bundle.read(f"em-lectures-assignments/{name}.ipynb") == \
                (built[name] / "student" / f"{name}.ipynb").read_bytes()
        with zipfile.ZipFile(io.BytesIO(bundle.read(wheels[0]))) as wheel:
            assert any(n == "emlib/gmm.py" for n in wheel.namelist())
            assert not any("assignments" in n or n.startswith("tests/") for n in wheel.namelist())


@pytest.mark.parametrize("name", NAMES)
def test_autograder_zip_carries_its_environment(built, name):
    """Python 3.11, the pinned packages of constraints.txt and emlib's wheel, inside the zip."""
    zipped = built[name] / "autograder" / "autograder.zip"
    with zipfile.ZipFile(zipped) as archive:
        environment = archive.read("environment.yml").decode()
        wheels = [n for n in archive.namelist() if re.fullmatch(r"emlib-[\d.]+-py3-none-any\.whl", n)]
    assert "- python=3.11\n" in environment and len(wheels) == 1
    assert f"emlib @ file:///autograder/source/{wheels[0]}" in environment
    pins = dict(re.findall(r"^([\w.\-]+)==(\S+)$", (ROOT / "constraints.txt").read_text(), re.M))
    for package in ("numpy", "scipy", "matplotlib", "otter-grader"):
        assert re.search(rf"- {package}(\[[\w,]+\])?=={re.escape(pins[package])}\n", environment), package


def test_otter_run_grades_with_the_autograder_zip_offline(built, tmp_path):
    """otter's own runner (as on Gradescope, without the container) accepts the zip: full marks for
    the solution, with em graded through the injected reference steps on plain functions."""
    name = "a03_gmm_em"
    submission = tmp_path / "submission.ipynb"
    submission.write_bytes((built[name] / "autograder" / f"{name}.ipynb").read_bytes())
    (tmp_path / "out").mkdir()
    subprocess.run([sys.executable, "-m", "otter", "run", "-a", str(built[name] / "autograder" / "autograder.zip"),
                    "-o", str(tmp_path / "out"), str(submission)],
                   cwd=tmp_path, capture_output=True, text=True, timeout=600, check=True)
    results = json.loads((tmp_path / "out" / "results.json").read_text())["tests"]
    scores = {t["name"]: t["score"] for t in results if "score" in t}
    points = course.question_points(built[name] / "autograder" / "autograder.zip")
    assert scores == points
