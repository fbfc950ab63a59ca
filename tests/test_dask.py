"""emlib.dask against batch EM, on a multi-process Dask cluster (issue 19, item 4a).

From the same start, map-reduce EM over blocks on two worker processes must follow batch EM's
iterations: the same number of them, each log-likelihood and the final parameters to 1e-10
relative, for every covariance type, on data far from the origin (the statistics are shifted).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import emlib

dask_array = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
from emlib.dask import GaussianMixture as DaskGaussianMixture  # noqa: E402


@pytest.fixture(scope="module")
def client():
    """Two worker processes, one thread each, on this machine (what Client("tcp://...") would be
    on a real cluster: the code path is the same)."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as cluster, distributed.Client(cluster) as client:
        yield client


def three_clusters(n: int = 6000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0, 0.0], [4.0, 1.0, 0.0], [0.0, 5.0, 2.0]])
    X = centres[rng.integers(0, 3, n)] + rng.normal(size=(n, 3)) * [1.0, 0.6, 0.8]
    return X + 1e4  # far from the origin: raw second moments would cancel ~8 digits


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_dask_fit_follows_batch_em_from_the_same_start(client, covariance_type):
    X = three_clusters()
    rng = np.random.default_rng(1)
    start = {"weights_init": np.full(3, 1 / 3), "means_init": X[rng.choice(len(X), 3, replace=False)],
             "covariances_init": emlib.GaussianMixture(3, covariance_type=covariance_type).fit(X[:50]).covariances_}
    options = dict(covariance_type=covariance_type, tol=1e-9, max_iter=40, **start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 40 iterations may stop short of tol: both the same
        batch = emlib.GaussianMixture(3, **options).fit(X)
        blocks = dask_array.from_array(X, chunks=(777, 3))  # uneven blocks, 8 of them
        dask_fit = DaskGaussianMixture(3, **options).fit(blocks)
    assert len(batch.loglik_history_) >= 10  # a real run, not one step
    assert dask_fit.n_iter_ == batch.n_iter_ and dask_fit.converged_ == batch.converged_
    np.testing.assert_allclose(dask_fit.loglik_history_, batch.loglik_history_, rtol=1e-10)
    np.testing.assert_allclose(dask_fit.weights_, batch.weights_, rtol=1e-10)
    np.testing.assert_allclose(dask_fit.means_, batch.means_, rtol=1e-10)
    np.testing.assert_allclose(dask_fit.covariances_, batch.covariances_, rtol=1e-10, atol=1e-10 * np.abs(batch.covariances_).max())


def test_the_passes_run_on_both_worker_processes(client):
    """Each pass maps block_statistics over the blocks on the workers; the history rises."""
    X = dask_array.random.RandomState(3).normal(size=(200_000, 4), chunks=(20_000, 4))
    fit = DaskGaussianMixture(2, max_iter=5, init_sample=2000, random_state=0)
    with warnings.catch_warnings(), distributed.get_task_stream(client) as stream:
        warnings.simplefilter("ignore")
        fit.fit(X)
    assert fit.means_.shape == (2, 4)
    assert np.all(np.diff(fit.loglik_history_) > -1e-9 * abs(fit.loglik_history_[-1]))
    mapped = [task for task in stream.data if "block_statistics" in str(task["key"])]
    assert len(mapped) == 10 * len(fit.loglik_history_)  # every block, every pass, once
    assert len({task["worker"] for task in mapped}) == 2


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="2-D array"):
        DaskGaussianMixture(2).fit(dask_array.zeros(10, chunks=5))
    X = np.random.default_rng(0).normal(size=(1000, 2))
    X[777, 1] = np.nan  # outside the initialisation's subsample: caught in the pass
    with pytest.raises(ValueError, match="NaN"):
        DaskGaussianMixture(2, init_sample=10, random_state=0).fit(dask_array.from_array(X, chunks=250))
