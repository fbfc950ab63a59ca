"""emlib.dask against emlib's in-memory estimators, on a multi-process Dask cluster (issue 19).

From the same start, map-reduce EM over blocks on two worker processes must follow batch EM's
iterations: the same number of them, each log-likelihood and the final parameters to 1e-10
relative, for every covariance type, on data far from the origin (the statistics are shifted).
Likewise Lloyd's algorithm over blocks follows emlib.KMeans (which scikit-learn's KMeans is
checked against in test_kmeans_reference.py), and the streaming estimators over the blocks of a
Dask array follow the same estimators fed the same rows as NumPy chunks; the blocks can be read
from disk by the workers.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import emlib

dask_array = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
from emlib.dask import GaussianMixture as DaskGaussianMixture  # noqa: E402
from emlib.dask import IncrementalGaussianMixture as DaskIncremental  # noqa: E402
from emlib.dask import KMeans as DaskKMeans  # noqa: E402
from emlib.dask import OnlineGaussianMixture as DaskOnline  # noqa: E402


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
    assert fit.lower_bound_ == pytest.approx(fit.loglik_history_[-1] / 200_000)  # per row of X, not of the sample
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


def five_clusters(n: int = 8000, seed: int = 2) -> np.ndarray:
    """Five overlapping clusters in 4-D far from the origin: Lloyd needs many passes."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=2.0, size=(5, 4))
    return centres[rng.integers(0, 5, n)] + rng.normal(size=(n, 4)) + 1e4


def test_dask_kmeans_follows_emlib_kmeans_from_the_same_centres(client):
    X = five_clusters()
    start = X[np.random.default_rng(3).choice(len(X), 5, replace=False)]
    batch = emlib.KMeans(5, init=start, tol=1e-12).fit(X)
    dask_fit = DaskKMeans(5, init=start, tol=1e-12).fit(dask_array.from_array(X, chunks=(999, 4)))
    assert batch.n_iter_ >= 10  # a real run
    assert dask_fit.n_iter_ == batch.n_iter_
    np.testing.assert_allclose(dask_fit.inertia_history_, batch.inertia_history_, rtol=1e-10)
    np.testing.assert_allclose(dask_fit.cluster_centers_, batch.cluster_centers_, rtol=1e-12, atol=1e-10)
    np.testing.assert_array_equal(dask_fit.labels_.compute(), batch.labels_)


def test_dask_kmeans_moves_an_empty_cluster_as_emlib_kmeans_does(client):
    X = five_clusters(n=3000)
    start = X[:5].copy()
    start[4] = X.mean(axis=0) + 1e3  # far from every point: its cluster is empty after the first pass
    batch = emlib.KMeans(5, init=start).fit(X)
    dask_fit = DaskKMeans(5, init=start).fit(dask_array.from_array(X, chunks=(700, 4)))
    np.testing.assert_allclose(dask_fit.cluster_centers_, batch.cluster_centers_, rtol=1e-12, atol=1e-10)
    assert np.bincount(batch.labels_, minlength=5).min() > 0


def test_dask_kmeans_seeds_on_the_subsample_and_lowers_the_distortion(client):
    X = dask_array.from_array(five_clusters(), chunks=(2000, 4))
    fit = DaskKMeans(5, init_sample=1000, random_state=0).fit(X)
    assert np.all(np.diff(fit.inertia_history_) <= 1e-9 * fit.inertia_history_[0])
    # the final inertia is the distortion of the final centres over all rows
    d2 = ((X.compute()[:, None, :] - fit.cluster_centers_) ** 2).sum(axis=2).min(axis=1)
    assert fit.inertia_ == pytest.approx(d2.sum(), rel=1e-9)


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_incremental_em_over_dask_blocks_equals_incremental_em_over_the_same_chunks(client, covariance_type):
    X = three_clusters(n=4000)
    blocks = dask_array.from_array(X, chunks=(500, 3))
    options = dict(covariance_type=covariance_type, tol=1e-7, random_state=0)
    numpy_fit = emlib.IncrementalGaussianMixture(3, **options).fit(np.split(X, 8))
    dask_fit = DaskIncremental(3, **options).fit(blocks)
    assert numpy_fit.n_iter_ >= 3
    assert dask_fit.n_iter_ == numpy_fit.n_iter_
    np.testing.assert_allclose(dask_fit.elbo_history_, numpy_fit.elbo_history_, rtol=1e-12)
    np.testing.assert_allclose(dask_fit.means_, numpy_fit.means_, rtol=1e-12)
    np.testing.assert_allclose(dask_fit.covariances_, numpy_fit.covariances_, rtol=1e-10)


def test_online_em_over_dask_blocks_equals_online_em_over_the_same_chunks(client):
    X = three_clusters(n=4000)
    numpy_fit = emlib.OnlineGaussianMixture(3, random_state=0).fit(np.split(X, 8))
    dask_fit = DaskOnline(3, random_state=0).fit(dask_array.from_array(X, chunks=(500, 3)))
    assert dask_fit.n_steps_ == 8 and dask_fit.n_samples_seen_ == len(X)
    np.testing.assert_allclose(dask_fit.chunk_loglik_history_, numpy_fit.chunk_loglik_history_, rtol=1e-12)
    np.testing.assert_allclose(dask_fit.means_, numpy_fit.means_, rtol=1e-12)


def test_blocks_read_from_disk_by_the_workers(client, tmp_path):
    """Out of core: the workers read the blocks of an npy stack; the client never holds the array."""
    X = three_clusters(n=6000)
    dask_array.to_npy_stack(tmp_path, dask_array.from_array(X, chunks=(1000, 3)))
    on_disk = dask_array.from_npy_stack(tmp_path, mmap_mode="r")
    start = {"weights_init": np.full(3, 1 / 3), "means_init": X[[0, 1, 2]],
             "covariances_init": np.stack([np.eye(3)] * 3)}
    with warnings.catch_warnings(), distributed.get_task_stream(client) as stream:
        warnings.simplefilter("ignore")
        from_disk = DaskGaussianMixture(3, max_iter=5, **start).fit(on_disk)
        in_memory = emlib.GaussianMixture(3, max_iter=5, **start).fit(X)
        streamed = DaskIncremental(3, max_passes=3, **start).fit(on_disk)
    np.testing.assert_allclose(from_disk.loglik_history_, in_memory.loglik_history_, rtol=1e-10)
    assert streamed.n_samples_seen_ == len(X)
    read = [task for task in stream.data if "from-npy-stack" in str(task["key"])]
    assert len({task["worker"] for task in read}) == 2  # both worker processes read blocks from disk


def test_estimators_keep_their_parameters():
    """Explicit signatures: get_params (and so clone and repr) see every parameter."""
    fit = DaskGaussianMixture(3, covariance_type="diag", init_sample=500)
    assert fit.get_params()["covariance_type"] == "diag" and fit.get_params()["init_sample"] == 500
    assert DaskKMeans(4, tol=1e-3).get_params()["tol"] == 1e-3


def test_dask_kmeans_rejects_bad_input():
    with pytest.raises(ValueError, match="2-D array"):
        DaskKMeans(2).fit(dask_array.zeros(10, chunks=5))
    X = np.random.default_rng(0).normal(size=(1000, 2))
    X[777, 1] = np.inf
    with pytest.raises(ValueError, match="NaN or infinity"):
        DaskKMeans(2, init_sample=10, random_state=0).fit(dask_array.from_array(X, chunks=250))
    with pytest.raises(ValueError, match="init_sample"):
        DaskKMeans(2, init_sample=0).fit(dask_array.zeros((10, 2), chunks=5))
