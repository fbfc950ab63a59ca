"""Chapter 7's sampler diagnostics over several seeds: do its asserts hold for more than one?

Runs chapters/07_pymc_sampling.ipynb once per seed (EMLECTURES_SAMPLER_SEED; everything
else as in the book), with convergence asserts turned into records and one extra cell that reports every
sampler's worst diagnostics, and prints a table: largest R-hat, smallest bulk and tail ESS,
divergences, and whether the chapter's convergence asserts would pass; a run that any other
assert stops is reported as FAILED.  About two minutes per seed on two cores.

    .venv/bin/python benchmarks/chapter7_seeds.py            # seeds 1..10
    .venv/bin/python benchmarks/chapter7_seeds.py 11 12 13   # chosen seeds
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

CHAPTER = Path(__file__).resolve().parents[1] / "chapters" / "07_pymc_sampling.ipynb"
# Inserted after the set-up cell (the first code cell, below the title): convergence
# failures are recorded, not raised, so that one run reports every sampler; any other
# assert of the chapter still stops the run.
RECORD = """
convergence_failures = []


def assert_converged(idata, var_names, min_ess=400):
    worst = worst_diagnostics(idata, var_names)
    if not (worst["r_hat"] < 1.01 and min(worst["ess_bulk"], worst["ess_tail"]) >= min_ess
            and worst["divergences"] == 0):
        convergence_failures.append(worst)
    return worst
"""
REPORT = """
import json
checks = {"explicit": explicit_check, "notes' priors": notes_check, "marginal": marginal_check,
          "notes' Poisson": notes_tools_check, **tools_checks}
print("DIAGNOSTICS", json.dumps({k: {m: float(v) for m, v in c.items()} for k, c in checks.items()}))
"""


def run(seed: int) -> tuple[dict | None, str, float]:
    """(diagnostics by sampler or None, first failure, seconds) of one run of the chapter."""
    notebook = nbformat.read(CHAPTER, as_version=4)
    set_up = next(i for i, c in enumerate(notebook.cells) if c.cell_type == "code")
    notebook.cells.insert(set_up + 1, nbformat.v4.new_code_cell(RECORD))
    notebook.cells.append(nbformat.v4.new_code_cell(REPORT))
    os.environ["EMLECTURES_SAMPLER_SEED"] = str(seed)
    client = NotebookClient(notebook, timeout=900, resources={"metadata": {"path": str(CHAPTER.parent)}})
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as error:
        cell = next(line for line in str(error).splitlines() if line and not line.startswith(("-", "#")))
        reason = str(error).strip().splitlines()[-1][:160]
        return None, f"in the cell starting {cell[:50]!r}: {reason}", time.perf_counter() - start
    text = "".join(o.get("text", "") for o in notebook.cells[-1].outputs)
    diagnostics = json.loads(text.split("DIAGNOSTICS", 1)[1])
    return diagnostics, "", time.perf_counter() - start


def main(seeds: list[int]) -> None:
    worst: dict[str, dict[str, float]] = {}
    print(f"{'seed':>5} {'sampler':24s} {'R-hat':>7} {'bulk ESS':>9} {'tail ESS':>9} {'div':>4}  time")
    for seed in seeds:
        diagnostics, failure, seconds = run(seed)
        if diagnostics is None:
            print(f"{seed:5d} FAILED after {seconds:.0f} s: {failure}")
            continue
        for name, d in diagnostics.items():
            passed = d["r_hat"] < 1.01 and min(d["ess_bulk"], d["ess_tail"]) >= 400 and d["divergences"] == 0
            print(f"{seed:5d} {name:24s} {d['r_hat']:7.4f} {d['ess_bulk']:9.0f} {d['ess_tail']:9.0f} "
                  f"{d['divergences']:4.0f}  {seconds:.0f} s{'' if passed else '  FAILS the asserts'}")
            w = worst.setdefault(name, dict(d))
            w["r_hat"] = max(w["r_hat"], d["r_hat"])
            for key in ("ess_bulk", "ess_tail"):
                w[key] = min(w[key], d[key])
            w["divergences"] = max(w["divergences"], d["divergences"])
    print("\nworst over the seeds that ran:")
    for name, w in worst.items():
        print(f"      {name:24s} {w['r_hat']:7.4f} {w['ess_bulk']:9.0f} {w['ess_tail']:9.0f} {w['divergences']:4.0f}")


if __name__ == "__main__":
    main([int(s) for s in sys.argv[1:]] or list(range(1, 11)))
