"""Build the student versions of the assignments and grade submissions, offline and isolated.

Usage (the Makefile's ``make assignments``, ``make grade`` and ``make grade-all`` call these)::

    python assignments/course.py build                        # every master -> _build/assignments/
    python assignments/course.py grade notebook.ipynb [--assignment NAME] [--timeout S] [--json]
    python assignments/course.py grade-all FOLDER --assignment NAME [--timeout S] [--out DIR]

``build`` runs ``otter assign`` on each master notebook ``assignments/aNN_*.ipynb``. It writes
``student/<name>.ipynb`` (solutions replaced by stubs that raise ``NotImplementedError``, hidden
tests removed) and ``autograder/`` (the solution notebook, ``autograder.zip`` with every test and
its SHA-256 checksum), and ``_build/assignments/student-bundle.zip`` for the students.

``grade`` runs one notebook in a sandboxed kernel and the tests in this process
(``assignments/grading.py`` explains how) and prints the score of each question and the total.
``grade-all`` grades every notebook (or otter export zip) of a folder, each in its own process
killed at the timeout, into a CSV gradebook and one feedback file per student. Every failure
(unreadable file, wrong assignment, a cell that hangs, a dead kernel) is a zero with a one-line
reason, never a traceback.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import dataclasses
import functools
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
import grading  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MASTERS = ROOT / "assignments"
BUILD = ROOT / "_build" / "assignments"


def masters(folder: Path = MASTERS) -> list[Path]:
    """The master notebooks, one per assignment: ``aNN_<topic>.ipynb``, whose otter configuration
    names the assignment after its file. Any other notebook there, or a copied master that still
    carries the original's name, is an error rather than silently skipped or graded as another."""
    found = []
    for path in sorted(folder.glob("*.ipynb")):
        if not re.fullmatch(r"a\d\d_\w+", path.stem):
            raise SystemExit(f"{path}: a master is named aNN_<topic>.ipynb (e.g. a07_topic.ipynb)")
        config = nbformat.read(path, as_version=4).cells[0].source
        named = re.search(r"^name:\s*(\S+)", config, re.M)
        if not config.startswith("# ASSIGNMENT CONFIG") or not named or named.group(1) != path.stem:
            raise SystemExit(f"{path}: its first cell, the otter configuration, must say name: {path.stem}")
        found.append(path)
    return found


def build(master: Path) -> Path:
    """Run ``otter assign`` on one master; return its output directory."""
    out = BUILD / master.stem
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run(
        [sys.executable, "-m", "otter", "assign", "--no-pdfs", str(master), str(out)],
        check=True,
        capture_output=True,
        text=True,
    )
    # otter names the zip after the time of the run; give it a fixed name, and a checksum
    (zipped,) = (out / "autograder").glob("*-autograder_*.zip")
    zipped = zipped.rename(out / "autograder" / "autograder.zip")
    self_sufficient(zipped)
    zipped.with_suffix(".zip.sha256").write_text(f"{checksum(zipped)}  autograder.zip\n")
    finds_itself(out / "student" / f"{master.stem}.ipynb")
    return out


FIND_ITSELF = '''# Initialize Otter (the public tests live in this notebook: find it, even if renamed)
import glob
import json

import otter


def assignment_of(path):
    try:
        with open(path, encoding="utf-8") as file:
            return json.load(file)["metadata"]["otter"]["assignment_name"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def this_notebook(assignment):
    found = [path for path in sorted(glob.glob("*.ipynb")) if assignment_of(path) == assignment]
    if not found:
        raise FileNotFoundError(
            f"grader.check needs this notebook ({assignment}) in the folder Jupyter runs it from:"
            " save it there (any file name) and run this cell again")
    return found[0]


grader = otter.Notebook(this_notebook("{name}"))'''


def finds_itself(student: Path) -> None:
    """Make a student notebook's otter cell find the notebook under any name (otter's own cell
    names the file, and a renamed notebook then fails every ``grader.check``)."""
    notebook = nbformat.read(student, as_version=4)
    name = notebook.metadata["otter"]["assignment_name"]
    (cell,) = [c for c in notebook.cells if c.cell_type == "code" and "otter.Notebook(" in c.source]
    cell.source = FIND_ITSELF.replace("{name}", name)
    nbformat.write(notebook, student)


STUDENT_README = """# Assignments for em-lectures

One notebook per assignment, and `emlib`, the book's package, as a wheel.

    python -m pip install emlib-*.whl otter-grader jupyterlab
    jupyter lab

Work in the notebook, run its `grader.check("q1")` cells for the public tests, and hand in the
notebook file (renaming it is fine). The hidden tests that give the points run when your
instructor grades it.
"""


# What a grading image installs besides otter: the packages the notebooks import, pinned as here.
GRADING_PACKAGES = ("numpy", "scipy", "matplotlib", "pandas", "scikit-learn", "threadpoolctl", "otter-grader")


@functools.lru_cache(maxsize=1)
def emlib_wheel() -> Path:
    """A wheel of emlib built from this checkout (offline from .wheelhouse/ when it exists)."""
    out = BUILD / "wheel"
    shutil.rmtree(out, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "source"
        shutil.copytree(ROOT / "emlib", source / "emlib", ignore=shutil.ignore_patterns("__pycache__"))
        for name in ("pyproject.toml", "README.md", "LICENSE"):
            shutil.copy(ROOT / name, source / name)
        wheelhouse = ROOT / ".wheelhouse"
        offline = ["--no-index", "--find-links", str(wheelhouse)] if wheelhouse.is_dir() else []
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", *offline,
                        "-w", str(out), str(source)], check=True, capture_output=True)
    (wheel,) = out.glob("emlib-*.whl")
    return wheel


def self_sufficient(zipped: Path) -> None:
    """Make otter's autograder zip carry its own environment: Python 3.11, the pinned packages of
    constraints.txt and emlib as a wheel inside the zip (otter's own names Python 3.13 and otter
    only, so a grading image built from it could not import emlib)."""
    pins = dict(re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+)$", (ROOT / "constraints.txt").read_text(), re.M))
    wheel = emlib_wheel()
    requirements = [f"{name}=={pins[name]}" for name in GRADING_PACKAGES]
    requirements[-1] = f"otter-grader[grading,plugins]=={pins['otter-grader']}"
    requirements.append(f"emlib @ file:///autograder/source/{wheel.name}")
    environment = ("name: otter-env\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.11\n  - pip\n  - jupyter_server\n"
                   "  - pip:\n" + "".join(f"      - {line}\n" for line in requirements))
    with tempfile.TemporaryDirectory() as tmp:
        rewritten = Path(tmp) / "autograder.zip"
        with zipfile.ZipFile(zipped) as old, zipfile.ZipFile(rewritten, "w", zipfile.ZIP_DEFLATED) as new:
            for member in old.namelist():
                if member != "environment.yml":
                    new.writestr(member, old.read(member))
            new.writestr("environment.yml", environment)
            new.write(wheel, wheel.name)
        shutil.move(rewritten, zipped)


def student_bundle() -> Path:
    """``_build/assignments/student-bundle.zip``: the student notebooks, an emlib wheel built from
    this checkout and a README; no solution and no hidden test."""
    wheel = emlib_wheel()
    bundle = BUILD / "student-bundle.zip"
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("em-lectures-assignments/README.md", STUDENT_README)
        archive.write(wheel, f"em-lectures-assignments/{wheel.name}")
        for master in masters():
            student = BUILD / master.stem / "student" / master.name
            archive.write(student, f"em-lectures-assignments/{master.name}")
    return bundle


def checksum(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def autograder(name: str) -> Path:
    """The autograder zip of an assignment, built on first use, and checked against the checksum
    written when it was built (a changed zip is an error, never silently used)."""
    zipped = BUILD / name / "autograder" / "autograder.zip"
    if not zipped.exists():
        build(MASTERS / f"{name}.ipynb")
    recorded = zipped.with_suffix(".zip.sha256")
    if not recorded.exists() or recorded.read_text().split()[0] != checksum(zipped):
        raise SystemExit(f"{zipped} differs from the one `make assignments` built: rebuild it")
    return zipped


def question_points(zipped: Path) -> dict[str, float]:
    """Points of every question, read from the test files in the autograder zip."""
    return {q: float(re.search(r"^points = (\S+)$", text, re.M).group(1))
            for q, text in grading.read_tests(zipped).items()}


def notebook_from(submission: Path) -> nbformat.NotebookNode:
    """The submitted notebook: an .ipynb, or the one notebook inside otter's export zip."""
    if zipfile.is_zipfile(submission):
        with zipfile.ZipFile(submission) as archive:
            inside = [m for m in archive.namelist() if m.endswith(".ipynb") and not m.startswith("__MACOSX")]
            if len(inside) != 1:
                raise ValueError(f"the zip holds {len(inside)} notebooks, not one")
            return nbformat.reads(archive.read(inside[0]).decode("utf-8"), as_version=4)
    return nbformat.read(submission, as_version=4)


def assignment_of(notebook: nbformat.NotebookNode | None, path: Path) -> str | None:
    """The assignment a notebook belongs to: otter's metadata, else its file name."""
    otter = notebook.metadata.get("otter", {}) if notebook else {}
    name = otter.get("assignment_name") if isinstance(otter, dict) else None
    known = {m.stem for m in masters()}
    if name in known:
        return name
    return path.stem if path.stem in known else None


def grade(submission: Path, name: str | None = None, timeout: float = 300,
          submissions: Path | None = None) -> grading.Result:
    """Grade one submission; every failure is a zero with a one-line reason, never a traceback.

    ``name`` is the assignment being graded (the notebook's metadata or file name otherwise); a
    notebook whose metadata names another assignment scores zero.
    """
    try:
        notebook = notebook_from(submission)
        error = None
    except Exception as failure:  # not JSON, not a notebook, unreadable, a bad zip
        notebook, error = None, f"cannot read it as a notebook ({type(failure).__name__}: {failure})"
    claimed = assignment_of(notebook, Path("-")) if notebook is not None else None
    name = name or assignment_of(notebook, submission)
    if name is None:
        known = ", ".join(m.stem for m in masters())
        raise SystemExit(f"cannot tell which assignment {submission} is for; pass --assignment (one of {known})")
    points = question_points(autograder(name))
    if error:
        return grading.Result(dict.fromkeys(points, 0.0), points, "unreadable", error)
    if claimed is not None and claimed != name:
        return grading.Result(dict.fromkeys(points, 0.0), points, "wrong assignment",
                              f"the notebook is {claimed}, not {name}")
    result = grading.grade_in_sandbox(notebook, name, grading.read_tests(autograder(name)),
                                      timeout=timeout, submissions=submissions)
    result.points = points
    result.scores = {q: result.scores.get(q, 0.0) for q in points}
    return result


def report(result: grading.Result) -> str:
    """The score table a student or instructor reads."""
    lines = [f"{result.status}: {result.reason}"] if result.reason else []
    lines += [f"{'question':<10}{'score':>8}{'out of':>8}"]
    lines += [f"{q:<10}{result.scores[q]:>8.2f}{result.points[q]:>8.2f}" for q in result.points]
    lines += [f"{'total':<10}{sum(result.scores.values()):>8.2f}{sum(result.points.values()):>8.2f}"]
    return "\n".join(lines)


def grade_in_subprocess(submission: Path, name: str, timeout: float, submissions: Path) -> grading.Result:
    """``grade`` in a process of its own, killed (with its kernel) at the timeout."""
    points = question_points(autograder(name))
    command = [sys.executable, __file__, "grade", str(submission), "--assignment", name, "--json",
               "--timeout", str(timeout), "--submissions", str(submissions)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        out, err = process.communicate(timeout=timeout + 60)  # kernel start-up and the tests
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return grading.Result(dict.fromkeys(points, 0.0), points, "timeout",
                              f"grading took longer than {timeout:g} s")
    try:
        data = json.loads(out.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        last = (err.strip().splitlines() or ["no output"])[-1]
        return grading.Result(dict.fromkeys(points, 0.0), points, "error", f"the grader failed: {last}")
    return grading.Result(**data)


def student_id(path: Path, name: str) -> str:
    """The student's id from the file name: ``<id>_<assignment>.ipynb``, ``<id>.ipynb`` or the stem."""
    stem = path.stem
    for suffix in (f"_{name}", f"-{name}"):
        if stem.endswith(suffix):
            return stem[: -len(suffix)]
    return stem


def grade_all(folder: Path, name: str, timeout: float, out: Path, jobs: int = 2) -> Path:
    """Grade every .ipynb and .zip in folder, each in its own process (``jobs`` at a time); write the
    gradebook CSV and one feedback file per submission into ``out``; return the CSV's path."""
    zipped = autograder(name)
    points = question_points(zipped)
    if not grading.namespaces_permitted():
        print("warning: this machine does not permit user namespaces (unshare -rmn): the notebooks run"
              " with your user's files and network in view (teaching.md, 'What this does not do')")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in {".ipynb", ".zip"})
    (out / "feedback").mkdir(parents=True, exist_ok=True)
    gradebook = out / f"{name}-grades.csv"
    emlib_before = {p: checksum(p) for p in sorted((ROOT / "emlib").rglob("*.py"))}
    with gradebook.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "student", *points, "total", "out of", "status", "reason"])
        with concurrent.futures.ThreadPoolExecutor(jobs) as pool:  # each grade is a process
            results = pool.map(lambda path: grade_in_subprocess(path, name, timeout, folder), files)
            for path, result in zip(files, results, strict=True):
                if {p: checksum(p) for p in emlib_before} != emlib_before or checksum(zipped) != \
                        zipped.with_suffix(".zip.sha256").read_text().split()[0]:
                    raise SystemExit(f"grading {path.name} changed emlib or the autograder: stopped")
                total = sum(result.scores.values())
                writer.writerow([path.name, student_id(path, name), *(f"{result.scores[q]:g}" for q in points),
                                 f"{total:g}", f"{sum(points.values()):g}", result.status, result.reason])
                handle.flush()
                (out / "feedback" / f"{path.name}.txt").write_text(
                    f"{path.name} ({name})\n{report(result)}\n\n{result.feedback}\n", encoding="utf-8")
                print(f"{path.name:<40} {total:>6g} / {sum(points.values()):g}  {result.status}"
                      + (f" ({result.reason})" if result.reason else ""))
    return gradebook


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("build", help="student versions and grading material for every master")
    one = commands.add_parser("grade", help="grade one submitted notebook")
    one.add_argument("submission", type=Path)
    one.add_argument("--json", action="store_true", help="print the result as JSON")
    one.add_argument("--submissions", type=Path, help=argparse.SUPPRESS)  # hidden from the kernel
    everyone = commands.add_parser("grade-all", help="grade every notebook in a folder")
    everyone.add_argument("folder", type=Path)
    everyone.add_argument("--out", type=Path, help="where the CSV and feedback/ go (default: FOLDER/graded)")
    everyone.add_argument("--jobs", type=int, default=2, help="notebooks graded at a time (default 2)")
    for command in (one, everyone):
        command.add_argument("--assignment", choices=[m.stem for m in masters()],
                             help="default: the notebook's own (grade), the folder's name (grade-all)")
        command.add_argument("--timeout", type=float, default=300, help="seconds per notebook (default 300)")
    args = parser.parse_args(argv)

    if args.command == "build":
        for master in masters():
            out = build(master)
            print(f"{master.name}: student version {out / 'student' / master.name}, grading material {out / 'autograder'}")
        print(f"for the students: {student_bundle()}")
        return 0
    if args.command == "grade-all":
        if not args.folder.is_dir():
            parser.error(f"no such folder: {args.folder}")
        name = args.assignment or args.folder.resolve().name
        if name not in {m.stem for m in masters()}:
            parser.error(f"{args.folder} is not named after an assignment: pass --assignment")
        gradebook = grade_all(args.folder, name, args.timeout, args.out or args.folder / "graded", args.jobs)
        print(f"gradebook: {gradebook}")
        return 0
    if not args.submission.is_file():
        parser.error(f"no such file: {args.submission}")
    result = grade(args.submission, args.assignment, args.timeout, args.submissions)
    print(json.dumps(dataclasses.asdict(result)) if args.json else report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
