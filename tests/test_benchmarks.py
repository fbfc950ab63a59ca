"""The benchmark scripts run (on a tiny grid), so that ``make bench`` cannot rot between releases."""

from __future__ import annotations

import importlib.util
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from emlib.bernoulli import e_step

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
                     repeats=2, starts=3)
    assert [(row.model, row.D, row.K) for row in rows] == [(m, D, 3) for m in bench.MODELS for D in (2, 5)]
    for row in rows:
        assert len(row.per_iteration) == len(row.same_start_fit) == 2 and len(row.whole_fit) == 3  # 3 seeds
        assert not np.any(np.isinf(row.per_iteration))  # noise at N=3000
        assert np.all(np.array(row.same_start_fit) > 0) and np.all(np.array(row.whole_fit) > 0)
        assert min(row.iterations) >= 1 and min(row.same_start_iterations) >= 1
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


def test_bench_fit_times_kmeans_iterations_in_which_neither_library_stops():
    """k-means's per-iteration figure times all iterations of the fit to convergence but the first
    and last: cut off there, both libraries run every one of them (scikit-learn would skip its
    final relabelling pass in a fit that converged, making the last iteration look free)."""
    bench = load("bench_fit")
    rng = np.random.default_rng(7)
    X = bench.mixture_data(3000, 4, 3, rng)
    makers = bench.same_start("kmeans", X, 4, rng)
    converged = min(bench.seconds_fit(make(), X).n_iter_ for make in makers)
    m = bench.timed_iterations("kmeans", None, converged)
    assert converged >= 4 and m == converged - 2
    for make in makers:
        assert bench.seconds_fit(make(1 + m), X).n_iter_ == 1 + m
    assert bench.timed_iterations("kmeans", 1, converged) == 1  # --iterations caps it
    assert bench.timed_iterations("kmeans", None, 2) == 0  # nothing to time: the ratio is n/a
    assert bench.timed_iterations("full", None, converged) == bench.MIXTURE_ITERATIONS


# ------------------------------------------------------------------ bench_models.py
# Its references (stepmix, pystatistics) come with the `bench` extra, which `make test` does not
# install: without them the benchmark still times emlib, and these tests check that part.
def bench_models_rows(bench, models=("bernoulli", "mvn"), repeats=2):
    return bench.run(n_samples=1500, features=[6], components=[3], mvn_features=[4], missing=0.2,
                     models=list(models), iterations=2, repeats=repeats)


def test_bench_models_prints_a_row_per_model(capsys):
    bench = load("bench_models")
    rows = bench_models_rows(bench)
    assert [row.model for row in rows] == ["bernoulli", "mvn"]
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 4 + len(rows)
    assert [line.split()[0] for line in printed[-2:]] == ["bernoulli", "mvn"]
    for row in rows:
        assert len(row.emlib_ms) == 2 and np.all(np.isfinite(row.emlib_ms))
        assert row.iterations[0] >= 1
        if not bench.installed(row.model):  # emlib's part only; the next tests say why
            assert row.reference is None and row.per_iteration == [] and np.isnan(row.same_start_gap)
            assert f"{bench.REFERENCE[row.model]} not installed" in printed[1]
            continue
        assert row.reference == bench.REFERENCE[row.model]
        assert len(row.per_iteration) == len(row.whole_fit) == 2
        assert np.all(np.isfinite(row.per_iteration)) and np.all(np.array(row.whole_fit) > 0)
        assert row.iterations[1] >= 1
        # the timed fits did the same work: the same log-likelihood after the same iterations
        assert row.same_start_gap < 1e-10, row
        # the whole fits reach the same optimum or a nearby one (they start differently)
        assert abs(row.final_gap) < 1.0, row


def test_bench_models_times_emlib_without_the_references(monkeypatch):
    """As on a machine without the `bench` extra: emlib's columns, and its fits from the start
    the reference would get move the log-likelihood (so the same-start check is not vacuous)."""
    bench = load("bench_models")
    monkeypatch.setattr(bench, "installed", lambda model: False)
    rows = bench_models_rows(bench, repeats=1)
    assert [(row.model, row.reference) for row in rows] == [("bernoulli", None), ("mvn", None)]
    rng = np.random.default_rng(3)
    for case in (bench.bernoulli_case(800, 5, 3, rng), bench.mvn_case(800, 4, 0.2, rng)):
        assert list(case.same_start) == ["emlib"]
        fits = [bench.timed(case.same_start["emlib"](m))[1] for m in (1, 3)]
        assert [fit.n_iter for fit in fits] == [1, 3]
        first, third = (case.loglik(fit.params) for fit in fits)
        assert third > first + 1e-6 * abs(first), case.label


def test_bench_models_bernoulli_start_is_stepmix_start():
    """emlib's contender starts where StepMix's random initialisation does: one EM step from
    ``stepmix_start`` by hand (StepMix's M-step, the MLE) equals StepMix's fit of one iteration."""
    stepmix = pytest.importorskip("stepmix", reason="the bench extra is not installed")
    bench = load("bench_models")
    X = bench.bernoulli_data(600, 5, 3, np.random.default_rng(4))
    weights, means = bench.stepmix_start(X, 3, seed=11)
    resp, _ = e_step(X, weights, means)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = stepmix.StepMix(3, measurement="binary", init_params="random", random_state=11, max_iter=1,
                                 progress_bar=0).fit(X)
    np.testing.assert_allclose(fitted.get_parameters()["measurement"]["pis"], resp.T @ X / resp.sum(axis=0)[:, None],
                               rtol=1e-12)


def test_bench_dask_times_passes_on_one_and_two_worker_processes(capsys):
    """Part (c) of benchmarks/bench_dask.py on a tiny array (parts (b) and (d) need make bench's
    zarr and dask-ml): three timings, and the two ratios computed from them."""
    import argparse

    import cloudpickle

    bench = load("bench_dask")
    cloudpickle.register_pickle_by_value(bench)  # its block generator runs on the workers
    times = bench.scaling(argparse.Namespace(features=3, components=2, rows=20_000, block_mb=0.1))
    printed = capsys.readouterr().out
    assert sorted(times) == [(1, 20_000), (2, 20_000), (2, 40_000)]
    one, two, weak = times[1, 20_000], times[2, 20_000], times[2, 40_000]
    assert f"{one:.3f} s" in printed
    assert f"{two:.3f} s   strong scaling: {two / one:.2f}" in printed
    assert f"{weak:.3f} s   weak scaling:   {weak / one:.2f}" in printed
