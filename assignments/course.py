"""Build the student versions of the assignments and grade submissions, offline, with otter-grader.

Usage (the Makefile's ``make assignments`` and ``make grade SUBMISSION=...`` call these)::

    python assignments/course.py build               # every master -> _build/assignments/<name>/
    python assignments/course.py grade notebook.ipynb [--assignment NAME]

``build`` runs ``otter assign`` on each master notebook ``assignments/aNN_*.ipynb``. It writes
``student/<name>.ipynb`` (solutions replaced by stubs that raise ``NotImplementedError``, hidden
tests removed) and ``autograder/`` (the solution notebook and ``autograder.zip`` with every test).

``grade`` runs the notebook with ``otter run`` (no Docker: the submission runs in this
environment) and prints the score of each question and the total. A file that is not a
notebook, or a notebook whose cells raise, gets a message and zero for the affected
questions, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
MASTERS = ROOT / "assignments"
BUILD = ROOT / "_build" / "assignments"


def masters() -> list[Path]:
    """The master notebooks, one per assignment."""
    return sorted(MASTERS.glob("a[0-9][0-9]_*.ipynb"))


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
    # otter names the zip after the time of the run; give it a fixed name
    (zipped,) = (out / "autograder").glob("*-autograder_*.zip")
    zipped.rename(out / "autograder" / "autograder.zip")
    return out


def autograder(name: str) -> Path:
    """The autograder zip of an assignment, built on first use."""
    zipped = BUILD / name / "autograder" / "autograder.zip"
    if not zipped.exists():
        build(MASTERS / f"{name}.ipynb")
    return zipped


def question_points(zipped: Path) -> dict[str, float]:
    """Points of every question, read from the test files in the autograder zip."""
    points = {}
    with zipfile.ZipFile(zipped) as archive:
        for member in sorted(archive.namelist()):
            if member.startswith("tests/") and member.endswith(".py"):
                text = archive.read(member).decode()
                points[Path(member).stem] = float(re.search(r"^points = (\S+)$", text, re.M).group(1))
    return points


def assignment_of(notebook: nbformat.NotebookNode | None, path: Path) -> str | None:
    """The assignment a notebook belongs to: otter's metadata, else its file name."""
    name = notebook.metadata.get("otter", {}).get("assignment_name") if notebook else None
    known = {m.stem for m in masters()}
    if name in known:
        return name
    return path.stem if path.stem in known else None


@contextlib.contextmanager
def silenced():
    """Silence otter and the kernel it starts (which writes to file descriptor 2 directly)."""
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(io.StringIO()):
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def grade(submission: Path, name: str | None = None) -> tuple[dict[str, float], dict[str, float], str]:
    """Grade one notebook; return (score per question, points per question, message)."""
    try:
        notebook = nbformat.read(submission, as_version=4)
    except Exception as error:  # not JSON, not a notebook, unreadable: say so, score nothing
        notebook, message = None, f"cannot read {submission} as a notebook ({type(error).__name__}: {error})"
    else:
        message = ""
    name = name or assignment_of(notebook, submission)
    if name is None:
        known = ", ".join(m.stem for m in masters())
        raise SystemExit(f"cannot tell which assignment {submission} is for; pass --assignment (one of {known})")
    zipped = autograder(name)
    points = question_points(zipped)
    if notebook is None:
        return dict.fromkeys(points, 0.0), points, message

    from otter.api import grade_submission

    with tempfile.TemporaryDirectory() as tmp:
        # otter wants the submission named like the assignment, in a directory of its own
        copy = Path(tmp) / f"{name}.ipynb"
        nbformat.write(notebook, copy)
        with silenced():
            results = grade_submission(str(copy), str(zipped), quiet=True)
    scores = {q: float(results.get_score(q)) if q in results.results else 0.0 for q in points}
    return scores, points, message


def report(scores: dict[str, float], points: dict[str, float], message: str) -> str:
    """The score table a student or instructor reads."""
    lines = [message] if message else []
    lines += [f"{'question':<10}{'score':>8}{'out of':>8}"]
    lines += [f"{q:<10}{scores[q]:>8.2f}{points[q]:>8.2f}" for q in points]
    lines += [f"{'total':<10}{sum(scores.values()):>8.2f}{sum(points.values()):>8.2f}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("build", help="student versions and grading material for every master")
    grading = commands.add_parser("grade", help="grade one submitted notebook")
    grading.add_argument("submission", type=Path)
    grading.add_argument("--assignment", choices=[m.stem for m in masters()])
    grading.add_argument("--json", action="store_true", help="print the scores as JSON")
    args = parser.parse_args(argv)

    if args.command == "build":
        for master in masters():
            out = build(master)
            print(f"{master.name}: student version {out / 'student' / master.name}, grading material {out / 'autograder'}")
        return 0
    if not args.submission.is_file():
        parser.error(f"no such file: {args.submission}")
    scores, points, message = grade(args.submission, args.assignment)
    if args.json:
        print(json.dumps({"scores": scores, "points": points, "message": message}))
    else:
        print(report(scores, points, message))
    return 0


if __name__ == "__main__":
    sys.exit(main())
