"""The benchmark scripts run (on a tiny grid), so that ``make bench`` cannot rot between releases."""

from __future__ import annotations

import importlib.util
import sys
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning

ROOT = Path(__file__).resolve().parent.parent


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_bench_fit_prints_a_ratio_for_every_model_and_grid_point(capsys):
    bench = load("bench_fit")
    rows = bench.run(n_samples=3000, features=[2, 5], components=[3], models=list(bench.MODELS), iterations=2,
                     repeats=2)
    assert [(row.model, row.D, row.K) for row in rows] == [(m, D, 3) for m in bench.MODELS for D in (2, 5)]
    for row in rows:
        assert len(row.per_iteration) == len(row.whole_fit) == 2
        assert not np.any(np.isinf(row.per_iteration)) and np.all(np.array(row.whole_fit) > 0)  # noise at N=3000
        assert min(row.iterations) >= 1
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 3 + len(rows)
    assert printed[-1].split()[:3] == ["kmeans", "5", "3"]


def test_bench_fit_starts_both_libraries_from_the_same_parameters():
    """The per-iteration ratio compares equal work: one iteration from the common start gives
    the same log-likelihood (mixtures) or the same centres (k-means) in both libraries."""
    bench = load("bench_fit")
    rng = np.random.default_rng(5)
    X = bench.mixture_data(2000, 3, 4, rng)
    for model in bench.MODELS:
        with warnings.catch_warnings():  # three iterations do not converge, on purpose
            warnings.simplefilter("ignore", ConvergenceWarning)
            ours, theirs = (make(3).fit(X) for make in bench.same_start(model, X, 3, np.random.default_rng(6)))
        if model == "kmeans":
            np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=1e-10)
        else:
            np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-8, atol=1e-10)
