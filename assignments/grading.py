"""Grade one notebook without letting the student's code near the tests, the scores or the machine.

The design, in two processes that never share memory:

* **The sandbox** is a Jupyter kernel that runs the student's notebook. It starts in an empty
  temporary directory holding only the notebook, with the network cut, a memory limit and a
  CPU-time limit. Where the machine permits user namespaces (``unshare -rmn``, as in CI), it
  also gets a private view of the file system: the repository read-only, and empty in place of
  the built assignments (the hidden tests), the masters (the solutions), the git history, the
  submissions, ``/tmp`` and the home directory.
* **The grader** (this process) never runs student code. It reads the hidden tests from the
  autograder zip (checked against the checksum written when it was built) into memory and runs
  them here, with otter's own test runner. A test that asks for ``e_step`` receives a *proxy*:
  calling it sends the arguments to the kernel, runs the student's function there, and brings
  back the result as plain data (numbers, strings, lists, dicts and NumPy arrays, decoded with
  ``json`` and ``numpy.load(allow_pickle=False)``, never unpickled). A test that asks for data
  (``X``) gets the data. So whatever the student's code does to otter, to emlib or to NumPy
  inside the kernel, the comparison with the reference happens here, with this process's own,
  untouched emlib.

A hidden test can call a later question with the reference implementation of earlier ones
injected (``em.with_globals(e_step=reference)`` on a proxy, a copy of the function with those
globals on a plain one), so that one bug costs points once: see :func:`with_globals`.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

ROOT = Path(__file__).resolve().parent.parent
MEMORY_LIMIT_MB = 4096

# ---------------------------------------------------------------- data across the boundary
# The same few lines encode on both sides; the kernel gets them as source (KERNEL_HELPERS).
CODEC = r'''
def _grader_encode(value):
    import base64, io
    import numpy
    if isinstance(value, numpy.ndarray) or isinstance(value, numpy.generic):
        buffer = io.BytesIO()
        numpy.save(buffer, numpy.asarray(value), allow_pickle=False)
        return {"__ndarray__": base64.b64encode(buffer.getvalue()).decode("ascii")}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return {"__" + type(value).__name__ + "__": [_grader_encode(v) for v in value]}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"__dict__": {k: _grader_encode(v) for k, v in value.items()}}
    raise TypeError(f"cannot send a {type(value).__name__} between the grader and the notebook")


def _grader_decode(value):
    import base64, io
    import numpy
    if isinstance(value, dict):
        if "__ndarray__" in value:
            array = numpy.load(io.BytesIO(base64.b64decode(value["__ndarray__"])), allow_pickle=False)
            return array[()] if array.ndim == 0 else array
        if "__list__" in value:
            return [_grader_decode(v) for v in value["__list__"]]
        if "__tuple__" in value:
            return tuple(_grader_decode(v) for v in value["__tuple__"])
        if "__dict__" in value:
            return {k: _grader_decode(v) for k, v in value["__dict__"].items()}
        raise ValueError("unknown encoding")
    return value
'''
_codec: dict[str, Any] = {}
exec(CODEC, _codec)  # noqa: S102 -- our own source, the same the kernel gets
encode, decode = _codec["_grader_encode"], _codec["_grader_decode"]

KERNEL_HELPERS = CODEC + r'''
def _grader_call(name, payload, replacements):
    import importlib, json, types
    func = globals()[name]
    if replacements:  # references in place of the student's own earlier answers
        # reloaded from the (read-only) source: whatever the notebook did to the module
        swapped = {key: getattr(importlib.reload(importlib.import_module(module)), attr)
                   for key, (module, attr) in replacements.items()}
        func = types.FunctionType(func.__code__, {**func.__globals__, **swapped}, func.__name__,
                                  func.__defaults__, func.__closure__)
    args, kwargs = _grader_decode(json.loads(payload))
    try:
        result = {"value": _grader_encode(func(*args, **kwargs))}
    except Exception as error:
        result = {"error": f"{type(error).__name__}: {error}"}
    print(json.dumps(result))


def _grader_fetch(name):
    import json, types
    if name not in globals():
        answer = {"kind": "missing"}
    elif isinstance(globals()[name], types.ModuleType):
        answer = {"kind": "module"}
    elif callable(globals()[name]):
        answer = {"kind": "function"}
    else:
        try:
            answer = {"kind": "data", "value": _grader_encode(globals()[name])}
        except Exception as error:
            answer = {"kind": "data", "error": f"{type(error).__name__}: {error}"}
    print(json.dumps(answer))
'''


class StudentError(Exception):
    """An exception raised by the student's code in the kernel, as the test sees it."""


# ---------------------------------------------------------------- the sandbox
@functools.lru_cache(maxsize=1)
def namespaces_permitted() -> bool:
    """Whether this machine lets an unprivileged user create user, mount and network namespaces."""
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-rmn", "true"], capture_output=True).returncode == 0


def sandbox_script(sandbox: Path, hidden: list[Path], keep: list[Path], cpu_seconds: int, memory_mb: int) -> str:
    """The shell lines that confine the kernel before it starts (inside ``unshare -rmn``).

    ``/tmp`` and every ``hidden`` directory are replaced by empty ones; the directories in
    ``keep`` (the sandbox, the repository, the Python installation) that lie inside them are
    parked on a fresh ``/mnt`` first and put back at their own paths; the repository is made
    read-only. Every line must succeed (``set -e``): a kernel that cannot be confined does not
    start.
    """
    lines = ["set -e", f"ulimit -v {memory_mb * 1024}", f"ulimit -t {cpu_seconds}"]
    if not namespaces_permitted():
        return "; ".join(lines)
    covers = [Path("/tmp"), *hidden]
    keep = [k for k in dict.fromkeys(keep) if any(k.is_relative_to(c) for c in covers)]
    # a bind mount does not carry the mounts below it: hide what lies inside the repository or a
    # kept directory only after those are back in place and the repository is read-only
    later = [ROOT, *keep]
    outer = [h for h in hidden if h.is_dir() and not any(h.is_relative_to(k) for k in later)
             and not h.is_relative_to("/tmp")]
    inner = [h for h in hidden if h.is_dir() and any(h.is_relative_to(k) for k in later)]
    lines.append("mount -t tmpfs tmpfs /mnt")
    for i, path in enumerate(keep):
        lines += [f"mkdir /mnt/{i}", f"mount --bind '{path}' /mnt/{i}"]
    lines.append("mount -t tmpfs tmpfs /tmp")
    lines += [f"mount -t tmpfs -o size=1m tmpfs '{path}'" for path in outer]
    for i, path in enumerate(keep):
        lines += [f"mkdir -p '{path}'", f"mount --bind /mnt/{i} '{path}'"]
    lines += [f"mount --bind '{ROOT}' '{ROOT}'", f"mount -o remount,bind,ro '{ROOT}'"]
    lines += [f"mount -t tmpfs -o size=1m tmpfs '{path}'" for path in inner]
    return "; ".join(lines)


@functools.lru_cache(maxsize=1)
def kernel_python() -> tuple[str, Path]:
    """The interpreter the kernel runs (the project's .venv) and its installation's prefix."""
    python = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").is_dir() else sys.executable
    prefix = subprocess.run([python, "-c", "import sys; print(sys.base_prefix)"],
                            capture_output=True, text=True, check=True).stdout.strip()
    return python, Path(prefix)


def hidden_paths(submissions: Path | None) -> list[Path]:
    """What the kernel must not see: tests, solutions, history, other students' work, home."""
    paths = [ROOT / "_build", ROOT / "assignments", ROOT / ".git"]
    home = Path.home()
    if home.is_dir() and not ROOT.is_relative_to(home):
        paths.append(home)
    if submissions is not None and not ROOT.is_relative_to(submissions.resolve()):
        paths.append(submissions.resolve())
    return paths


@dataclass
class Sandbox:
    """A kernel confined as described in the module docstring, and a client to talk to it."""

    timeout: float
    submissions: Path | None = None
    memory_mb: int = MEMORY_LIMIT_MB
    directory: Path = field(init=False)

    @contextlib.contextmanager
    def started(self, notebook: nbformat.NotebookNode, filename: str) -> Iterator[Sandbox]:
        from jupyter_client import AsyncKernelManager
        from jupyter_core.utils import run_sync
        from jupyter_client.kernelspec import KernelSpecManager
        from nbclient import NotebookClient

        with tempfile.TemporaryDirectory(prefix="em-grade-") as tmp:
            self.directory = Path(tmp) / "work"
            specs = Path(tmp) / "kernels" / "sandbox"
            self.directory.mkdir()
            specs.mkdir(parents=True)
            nbformat.write(notebook, self.directory / filename)
            python, prefix = kernel_python()
            script = sandbox_script(self.directory, hidden_paths(self.submissions),
                                    [self.directory, ROOT, prefix], int(self.timeout) + 5, self.memory_mb)
            launcher = f"{script}; exec '{python}' -m ipykernel_launcher -f {{connection_file}}"
            argv = (["unshare", "-rmn", "sh", "-c", launcher] if namespaces_permitted()
                    else ["sh", "-c", launcher])
            (specs / "kernel.json").write_text(json.dumps(
                {"argv": argv, "display_name": "sandbox", "language": "python"}))
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.directory),
                   "IPYTHONDIR": str(self.directory / ".ipython"),
                   "MPLCONFIGDIR": str(self.directory / ".matplotlib"), "MPLBACKEND": "Agg",
                   "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1",
                   "JUPYTER_RUNTIME_DIR": str(self.directory)}
            manager = AsyncKernelManager(kernel_name="sandbox", transport="ipc",
                                    ip=str(self.directory / "kernel"),
                                    connection_file=str(self.directory / "connection.json"),
                                    kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(specs.parent)]))
            self.client = NotebookClient(notebook, km=manager, timeout=int(self.timeout),
                                         allow_errors=True, kernel_name="sandbox",
                                         resources={"metadata": {"path": str(self.directory)}})
            try:
                with self.client.setup_kernel(env=env, cwd=str(self.directory), cleanup_kc=True):
                    yield self
            finally:
                if manager.has_kernel:
                    run_sync(manager.shutdown_kernel)(now=True)

    def run_cell(self, source: str, index: int = 0) -> list[dict]:
        """Execute source in the kernel; return the cell's outputs."""
        cell = nbformat.v4.new_code_cell(source)
        self.client.execute_cell(cell, index)
        return cell.outputs

    def request(self, source: str) -> dict:
        """Run helper code that prints one JSON line, and read it back."""
        outputs = self.run_cell(source)
        text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream"
                       and o.get("name") == "stdout")
        errors = [o for o in outputs if o.get("output_type") == "error"]
        if errors or not text.strip():
            detail = f"{errors[0]['ename']}: {errors[0]['evalue']}" if errors else "no answer"
            raise StudentError(f"the notebook's kernel could not answer ({detail})")
        return json.loads(text.strip().splitlines()[-1])


class RemoteFunction:
    """A student's function that runs in the sandbox; arguments and results travel as data."""

    def __init__(self, sandbox: Sandbox, name: str, replacements: dict[str, tuple[str, str]] | None = None):
        self._sandbox, self.__name__, self._replacements = sandbox, name, replacements or {}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        payload = json.dumps(encode((list(args), kwargs)))
        answer = self._sandbox.request(
            f"_grader_call({self.__name__!r}, {payload!r}, {self._replacements!r})")
        if "error" in answer:
            raise StudentError(f"{self.__name__} raised {answer['error']}")
        return decode(answer["value"])

    def with_globals(self, **replacements: Any) -> RemoteFunction:
        """The same function with some of its globals replaced by importable reference functions."""
        where = {key: (value.__module__, value.__name__) for key, value in replacements.items()}
        return RemoteFunction(self._sandbox, self.__name__, {**self._replacements, **where})


class RemoteNamespace(dict):
    """The notebook's global names as the grader's tests see them (otter calls ``.get``); each
    name is fetched once, data as a copy, functions as :class:`RemoteFunction`."""

    def __init__(self, sandbox: Sandbox):
        super().__init__()
        self._sandbox = sandbox
        self._fetched: dict[str, dict] = {}

    def get(self, name: str, default: Any = None) -> Any:
        if name not in self._fetched:
            self._fetched[name] = self._sandbox.request(f"_grader_fetch({name!r})")
        answer = self._fetched[name]
        if answer["kind"] == "missing":
            return default
        if answer["kind"] == "function":
            return RemoteFunction(self._sandbox, name)
        if answer["kind"] == "module":
            raise StudentError(f"{name} is a module in the notebook; the test expected an answer")
        if "error" in answer:
            raise StudentError(f"{name} cannot be read: {answer['error']}")
        return decode(answer["value"])

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name, KeyError) is not KeyError


def with_globals(func: Any, **replacements: Any) -> Any:
    """``func`` calling ``replacements`` where it names them: reference steps in place of the
    student's own, so that a later question is graded on its own merits."""
    if isinstance(func, RemoteFunction):
        return func.with_globals(**replacements)
    import types

    return types.FunctionType(func.__code__, {**func.__globals__, **replacements}, func.__name__,
                              func.__defaults__, func.__closure__)


# ---------------------------------------------------------------- grading
@dataclass
class Result:
    """The outcome of grading one notebook."""

    scores: dict[str, float]
    points: dict[str, float]
    status: str = "graded"
    reason: str = ""
    feedback: str = ""


def read_tests(zipped: Path) -> dict[str, str]:
    """The test files of an autograder zip, by question, read into memory."""
    with zipfile.ZipFile(zipped) as archive:
        return {Path(m).stem: archive.read(m).decode() for m in sorted(archive.namelist())
                if m.startswith("tests/") and m.endswith(".py")}


def run_tests(tests: dict[str, str], namespace: dict) -> tuple[dict[str, float], dict[str, float], str]:
    """Run every test file against the namespace here, with otter's runner; scores and feedback."""
    from otter.test_files import ExceptionTestFile

    scores, points, feedback = {}, {}, []
    for question, source in tests.items():
        test_file = ExceptionTestFile.from_string(source, path=f"tests/{question}.py")
        with contextlib.redirect_stdout(io.StringIO()):
            test_file.run(namespace)
        scores[question], points[question] = float(test_file.score), float(test_file.possible)
        feedback.append(f"{question}: {test_file.score:g} of {test_file.possible:g} points")
        for result in test_file.test_case_results:
            kind = "hidden" if result.test_case.hidden else "public"
            feedback.append(f"  {kind} test {result.test_case.name}: " + result.message.replace("\n", "\n    "))
    return scores, points, "\n".join(feedback)


def grade_in_sandbox(notebook: nbformat.NotebookNode, name: str, tests: dict[str, str],
                     timeout: float, submissions: Path | None = None) -> Result:
    """Run the notebook in a sandbox, then the tests here against its namespace."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    notebook = nbformat.from_dict(notebook)
    notebook.metadata["kernelspec"] = {"name": "sandbox", "display_name": "sandbox", "language": "python"}
    failed: list[str] = []
    zero = Result(scores={}, points={})
    try:
        with Sandbox(timeout=timeout, submissions=submissions).started(notebook, f"{name}.ipynb") as box:
            for index, cell in enumerate(notebook.cells):
                if cell.cell_type == "code":
                    box.client.execute_cell(cell, index)
                    if any(o.get("output_type") == "error" for o in cell.outputs):
                        failed.append(str(index))
            box.run_cell(KERNEL_HELPERS)
            scores, points, feedback = run_tests(tests, RemoteNamespace(box))
    except CellTimeoutError:
        zero.status, zero.reason = "timeout", f"a cell ran longer than the {timeout:g} s allowed"
        return zero
    except DeadKernelError:
        zero.status, zero.reason = "dead kernel", "the notebook's kernel died (a crash, os._exit or the memory limit)"
        return zero
    reason = f"cells {', '.join(failed)} raised errors" if failed else ""
    return Result(scores, points, "graded", reason, feedback)
