"""environment.yml, pyproject.toml and constraints.txt describe the same environment.

- environment.yml (conda) lists the same packages as pyproject.toml's dependencies plus its
  `book`, `test` and `bench` extras, with the same version ranges;
- constraints.txt pins every one of them exactly, to a version inside its range.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
EXTRAS = ("book", "test", "bench")
# In environment.yml but not Python packages of pyproject.toml.
NOT_IN_PYPROJECT = {"python", "nodejs", "pip"}


def normalise(name: str) -> str:
    """Lower case, and `_` (and `.`, runs of separators) to `-`, as pip compares names."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pyproject_requirements() -> dict[str, SpecifierSet]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    project = data["project"]
    lines = list(project.get("dependencies", []))
    for extra in EXTRAS:
        lines += project.get("optional-dependencies", {})[extra]
    reqs: dict[str, SpecifierSet] = {}
    for line in lines:
        req = Requirement(line)
        name = normalise(req.name)
        assert name not in reqs, f"pyproject.toml lists {name} twice"
        reqs[name] = req.specifier
    return reqs


def conda_spec(entry: str) -> tuple[str, str]:
    """'jupyter-book>=1.0.4,<2' -> ('jupyter-book', '>=1.0.4,<2') (conda match spec)."""
    match = re.fullmatch(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*?)\s*", entry)
    assert match, f"environment.yml: cannot read the dependency {entry!r}"
    return match.group(1), match.group(2).replace(" ", "")


def environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))


def environment_requirements() -> dict[str, str]:
    """Package name -> version spec, from conda's list and the pip: section."""
    reqs: dict[str, str] = {}
    for entry in environment()["dependencies"]:
        if isinstance(entry, dict):
            assert set(entry) == {"pip"}, f"environment.yml: unexpected entry {entry}"
            for line in entry["pip"]:
                if line.strip() in {"-e .", "-e ./", "--editable ."}:
                    continue  # emlib itself
                req = Requirement(line)
                reqs[normalise(req.name)] = str(req.specifier)
            continue
        name, spec = conda_spec(str(entry))
        name = normalise(name)
        assert name not in reqs, f"environment.yml lists {name} twice"
        reqs[name] = spec
    return reqs


def constraints() -> dict[str, str]:
    pins: dict[str, str] = {}
    for raw in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*(\S+)", line)
        if match:
            pins[normalise(match.group(1))] = match.group(2)
    return pins


def test_environment_yml_is_for_conda_forge_and_installs_emlib():
    env = environment()
    assert env.get("channels") == ["conda-forge"], env.get("channels")
    deps = env["dependencies"]
    conda = dict(conda_spec(d) for d in deps if isinstance(d, str))
    assert conda.get("python") == "=3.11", f"python should be '=3.11', got {conda.get('python')!r}"
    requires_python = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert Version("3.11") in SpecifierSet(requires_python)
    assert "nodejs" in conda, "nodejs (npm installs MathJax for the website) is missing"
    pip = [line for d in deps if isinstance(d, dict) for line in d.get("pip", [])]
    assert "-e ." in pip, f"the pip: section must install emlib itself with '-e .', got {pip}"


def test_environment_yml_lists_the_packages_of_pyproject():
    pyproject = set(pyproject_requirements())
    conda = set(environment_requirements()) - NOT_IN_PYPROJECT
    assert conda == pyproject, (
        f"only in environment.yml: {sorted(conda - pyproject)}; "
        f"only in pyproject.toml: {sorted(pyproject - conda)}"
    )


def test_environment_yml_has_the_version_ranges_of_pyproject():
    env = environment_requirements()
    mismatched = []
    for name, spec in sorted(pyproject_requirements().items()):
        if name not in env:
            continue  # reported by the test above
        try:
            conda = SpecifierSet(env[name])
        except Exception as exc:  # noqa: BLE001 - report every bad spec together
            mismatched.append(f"{name}: environment.yml has {env[name]!r} ({exc})")
            continue
        if conda != spec:
            mismatched.append(f"{name}: pyproject.toml {str(spec)!r} vs environment.yml {env[name]!r}")
    assert not mismatched, "version ranges differ:\n  " + "\n  ".join(mismatched)


def test_constraints_pin_every_package_inside_its_range():
    pins = constraints()
    problems = []
    for name, spec in sorted(pyproject_requirements().items()):
        if name not in pins:
            problems.append(f"{name}: no '==' pin in constraints.txt")
        elif not spec.contains(Version(pins[name]), prereleases=True):
            problems.append(f"{name}=={pins[name]} is outside pyproject.toml's range {str(spec)!r}")
    assert not problems, "constraints.txt:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [("numpy>=1.26", ("numpy", ">=1.26")), ("jupyter-book >=1.0.4, <2", ("jupyter-book", ">=1.0.4,<2")),
     ("python=3.11", ("python", "=3.11")), ("nodejs", ("nodejs", ""))],
)
def test_conda_spec_reader(entry, expected):
    assert conda_spec(entry) == expected
