r"""Gaussian mixtures fitted by EM on Dask arrays, without collecting the data on the client.

EM is a map and a reduce. For a mixture with responsibilities :math:`\gamma_{nk}`, everything the
M-step needs is the sufficient statistics

.. math::

    N_k = \sum_n \gamma_{nk}, \qquad S_k = \sum_n \gamma_{nk} (x_n - c), \qquad
    M_k = \sum_n \gamma_{nk} (x_n - c)(x_n - c)^\top ,

:math:`K(1 + D + D^2)` numbers (:math:`K(1 + 2D)` for diagonal covariances) whatever the number of
rows. So each iteration **maps** the E-step and these sums over the blocks of the array, on the
workers, **reduces** them by adding (a tree of pairwise sums, as Dask reduces), and runs the
**M-step on the client** from the totals (:func:`emlib.streaming.parameters_from_statistics`).
Only parameters go to the workers and only statistics come back.

Numerical safety. The statistics are taken about a global shift :math:`c`, the mean of the
array's first block, so that :math:`M_k / N_k - \bar x_k \bar x_k^\top` (the covariance) does not
cancel the digits of a mean far from the origin: the relative error of a covariance is then
about :math:`\varepsilon_{\text{mach}} (1 + \lVert \bar x_k - c \rVert^2 / \lambda_{\min}(\Sigma_k))`
times the error of the sums. Within a block NumPy sums pairwise (BLAS in blocks); across
:math:`B` blocks the tree adds :math:`\lceil \log_2 B \rceil` levels, so a sum over :math:`N`
rows in blocks of :math:`b` carries a relative error of order
:math:`\varepsilon_{\text{mach}} (b' + \log_2 (N / b))`, with :math:`b'` NumPy's own pairwise
bound within a block (:math:`\log_2 b` for plain sums): at :math:`N = 10^9` rows in blocks of
:math:`10^5`, about :math:`30\,\varepsilon_{\text{mach}} \approx 10^{-14}`.

Estimators (each is emlib's own, with the same parameters and attributes; ``fit`` takes a Dask
array, or a NumPy array, which it splits into blocks):

* :class:`GaussianMixture`: ``loglik_history_`` and the convergence rule of batch EM (stop when
  the log-likelihood per row rises by less than ``tol``). It starts from ``weights_init``,
  ``means_init`` and ``covariances_init`` when all are given, and otherwise from emlib's batch
  initialisation on a uniform random subsample of at most ``init_sample`` rows: k-means++ seeding
  plus Lloyd's algorithm on the subsample, one read of the sampled rows and never a full pass per
  seed.
* :class:`KMeans`: Lloyd's algorithm as the same map and reduce. The map is
  :func:`emlib.kmeans.lloyd_pass` on a block (labels, then the sums of each cluster's rows about
  the shift, :math:`K(1 + D)` numbers) and the reduce adds them; the new centres are computed on
  the client. It stops by the batch rule: the sums of a pass equal those of the pass before (no
  label changed) or the centres moved by less than ``tol`` times the mean variance. The start is
  k-means++ on the subsample (its cost and quality against dask-ml's k-means‖ are measured in
  ``benchmarks/bench_dask.py``).
* :class:`IncrementalGaussianMixture` and :class:`OnlineGaussianMixture`, the streaming estimators
  of :mod:`emlib.streaming` over the blocks of a Dask array in order: each block's E-step and
  statistics run on a worker, which reads only that block, and only the statistics come back.
  The start comes from the first block, fetched to the client.

Out of core: a Dask array whose blocks are read from disk by the workers (``da.from_zarr``, or
``da.from_npy_stack`` on a directory written by ``da.to_npy_stack``) is fitted without ever being
in memory as a whole. Connect a ``dask.distributed.Client`` first to run on a cluster (a
``LocalCluster`` on one machine, ``Client("tcp://scheduler:8786")`` on many: the code path is the
same); without one Dask uses its local threaded scheduler.
"""

from __future__ import annotations

import math
import operator
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Self

import dask
import dask.array as da
import numpy as np
import psutil  # a dependency of dask.distributed
from numpy.typing import ArrayLike, NDArray

from . import gmm, kmeans, streaming
from ._validation import check_data, check_positive_int, check_random_state
from .gmm import MixtureParameters, e_step
from .kmeans import lloyd_pass
from .streaming import SufficientStatistics, parameters_from_statistics, sufficient_statistics

__all__ = [
    "GaussianMixture",
    "IncrementalGaussianMixture",
    "KMeans",
    "LloydStatistics",
    "MixtureStatistics",
    "OnlineGaussianMixture",
    "block_statistics",
    "lloyd_block_statistics",
    "peak_worker_memory",
    "resident_memory",
    "shifted_parameters",
    "tree_sum",
]


# ----------------------------------------------------------- memory of a worker
def resident_memory() -> int:
    """The resident memory of this process now, in bytes (on the workers: ``client.run(resident_memory)``)."""
    return int(psutil.Process().memory_info().rss)


_SAMPLING: dict[str, Any] = {}  # in each worker process: the sampling thread and the largest value seen


def _start_sampling(interval: float) -> None:
    process, stop = psutil.Process(), threading.Event()
    _SAMPLING.update(peak=process.memory_info().rss, stop=stop)

    def sample() -> None:
        while not stop.wait(interval):
            _SAMPLING["peak"] = max(_SAMPLING["peak"], process.memory_info().rss)

    _SAMPLING["thread"] = threading.Thread(target=sample, daemon=True)
    _SAMPLING["thread"].start()


def _stop_sampling() -> int:
    _SAMPLING["stop"].set()
    _SAMPLING["thread"].join()
    return max(_SAMPLING["peak"], resident_memory())


@contextmanager
def peak_worker_memory(client: Any, interval: float = 0.002) -> Iterator[dict[str, int]]:
    """Each worker's largest resident memory, in bytes, while the ``with`` block runs.

    A thread in every worker process reads its resident memory every ``interval`` seconds
    (psutil, on any operating system); the dictionary, worker address to bytes, is filled when
    the block ends::

        with peak_worker_memory(client) as peaks:
            fit.fit(X)
    """
    peaks: dict[str, int] = {}
    client.run(_start_sampling, interval)
    try:
        yield peaks
    finally:
        peaks.update(client.run(_stop_sampling))


# ------------------------------------------------------------------ the blocks
def row_blocks(X: ArrayLike) -> da.Array:
    """``X`` as a Dask array of whole rows (a NumPy array is split into blocks), checked for shape."""
    X = da.asarray(X)
    if X.ndim != 2 or any(math.isnan(n) or n < 1 for n in X.shape):
        raise ValueError(f"X must be a 2-D array of known, non-zero shape; got shape {X.shape}.")
    return X.rechunk({1: -1})


def subsample(X: da.Array, size: int, rng: np.random.Generator) -> NDArray:
    """At most ``size`` rows drawn uniformly without replacement, in order (one read), checked."""
    n = X.shape[0]
    rows = np.sort(rng.choice(n, size=min(n, size), replace=False))
    return check_data(X[rows].compute())


def first_block_mean(X: da.Array) -> NDArray:
    """The shift :math:`c` of the statistics: the mean of the first block."""
    return np.asarray(X.blocks[0].mean(axis=0).compute(), dtype=float)


def _finite(block: NDArray) -> NDArray:
    block = np.asarray(block, dtype=float)
    if not np.all(np.isfinite(block)):
        raise ValueError("X contains NaN or infinity.")
    return block


def tree_sum(parts: list[Any]) -> Any:
    """The pairwise (tree) sum of delayed parts: ``ceil(log2(len(parts)))`` levels of ``+``."""
    add = dask.delayed(operator.add, pure=True)
    while len(parts) > 1:
        parts = [add(parts[i], parts[i + 1]) if i + 1 < len(parts) else parts[i] for i in range(0, len(parts), 2)]
    return parts[0]


# ------------------------------------------------------------ Gaussian mixtures
@dataclass(frozen=True)
class MixtureStatistics:
    r"""What one EM pass needs from a set of rows (a block, or a sum of blocks): the sufficient
    statistics of :math:`x_n - c` under :math:`\gamma_{nk}` and the log-likelihood
    :math:`\sum_n \log p(x_n \mid \theta)`. Both add over disjoint sets of rows."""

    statistics: SufficientStatistics
    loglik: float

    def __add__(self, other: MixtureStatistics) -> MixtureStatistics:
        return MixtureStatistics(self.statistics + other.statistics, self.loglik + other.loglik)


def block_statistics(
    block: NDArray, params: MixtureParameters, covariance_type: str, shift: NDArray
) -> MixtureStatistics:
    r"""The map: the E-step on one block and its statistics about the shift :math:`c`."""
    block = _finite(block)
    responsibilities, loglik = e_step(block, *params, covariance_type)
    return MixtureStatistics(sufficient_statistics(block - shift, responsibilities, covariance_type), float(loglik))


def shifted_parameters(params: MixtureParameters, shift: NDArray) -> MixtureParameters:
    """Parameters of :math:`x - c` from those of :math:`x` (or back, with ``-shift``): the means move."""
    return MixtureParameters(params.weights, params.means - shift, params.covariances)


class GaussianMixture(gmm.GaussianMixture):
    r"""emlib's Gaussian mixture, fitted by map-reduce EM on a Dask array.

    Parameters
    ----------
    n_components, covariance_type, tol, reg_covar, max_iter, n_init, init_params, weights_init,
    means_init, covariances_init, random_state
        As :class:`emlib.GaussianMixture`.
    init_sample : int, default=10_000
        Rows drawn (uniformly, without replacement) for the initialisation when the initial
        parameters are not all given.

    Attributes
    ----------
    weights_, means_, covariances_, loglik_history_, converged_, n_iter_, n_features_in_
        As :class:`emlib.GaussianMixture`, NumPy arrays on the client.
    """

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        weights_init: ArrayLike | None = None,
        means_init: ArrayLike | None = None,
        covariances_init: ArrayLike | None = None,
        random_state: int | np.random.Generator | None = None,
        init_sample: int = 10_000,
    ) -> None:
        super().__init__(
            n_components, covariance_type=covariance_type, tol=tol, reg_covar=reg_covar, max_iter=max_iter,
            n_init=n_init, init_params=init_params, weights_init=weights_init, means_init=means_init,
            covariances_init=covariances_init, random_state=random_state,
        )
        self.init_sample = init_sample

    def fit(self, X: ArrayLike, y: Any = None) -> Self:
        """Fit by EM from ``n_init`` starts and keep the best; ``X`` stays where it is.

        Parameters
        ----------
        X : dask.array.Array or array-like of shape (n_samples, n_features)
            Rows in blocks of any length; every pass reads each block once.
        y : ignored
        """
        X = row_blocks(X)
        check_positive_int(self.init_sample, "init_sample")
        rng = check_random_state(self.random_state)
        sample = subsample(X, self.init_sample, rng)
        given = self._check_parameters(sample)
        shift = first_block_mean(X)
        runs = (self._em_blocks(X, self._initial_parameters(sample, given, rng), shift) for _ in range(self.n_init))
        self._keep_best(sample, runs)
        self.lower_bound_ = float(self.loglik_history_[-1] / X.shape[0])  # per row of X, not of the sample
        return self

    def _em_blocks(self, X: da.Array, params: MixtureParameters, shift: NDArray) -> tuple[MixtureParameters, NDArray, bool]:
        """Map-reduce EM from θ₀: (final parameters, log-likelihood history, converged), the same
        iterations and stopping rule as :meth:`emlib.GaussianMixture._em`."""
        blocks = X.to_delayed().ravel().tolist()
        statistics = dask.delayed(block_statistics, pure=True)
        history: list[float] = []
        converged = False
        for _ in range(self.max_iter + 1):
            total = dask.compute(tree_sum([statistics(b, params, self.covariance_type, shift) for b in blocks]))[0]
            history.append(total.loglik)
            if len(history) > 1 and abs(history[-1] - history[-2]) < self.tol * X.shape[0]:
                converged = True
                break
            if len(history) == self.max_iter + 1:
                break
            params = shifted_parameters(
                parameters_from_statistics(total.statistics, self.covariance_type, self.reg_covar), -shift
            )
        return params, np.asarray(history), converged


# ---------------------------------------------------------------------- k-means
@dataclass(frozen=True)
class LloydStatistics:
    r"""What one Lloyd pass needs from a set of rows :math:`y_n = x_n - c` (a block, or a sum of blocks).

    Attributes
    ----------
    sums : ndarray of shape (n_clusters, n_features)
        :math:`\sum_{n: z_n = k} y_n`.
    counts : ndarray of shape (n_clusters,)
        :math:`N_k`, the number of rows nearest to centre :math:`k`.
    distortion : float
        :math:`J = \sum_n \lVert y_n - \mu_{z_n} \rVert^2`.
    squares : float
        :math:`\sum_n \lVert y_n \rVert^2` (with the sums, the variance of the data).
    farthest : ndarray of shape (m, n_features)
        The :math:`m \le K` rows farthest from their centres, farthest first, where an empty
        cluster's centre goes (as in :class:`emlib.KMeans`).
    farthest_d2 : ndarray of shape (m,)
    """

    sums: NDArray
    counts: NDArray
    distortion: float
    squares: float
    farthest: NDArray
    farthest_d2: NDArray

    def __add__(self, other: LloydStatistics) -> LloydStatistics:
        d2 = np.concatenate([self.farthest_d2, other.farthest_d2])
        keep = np.argsort(d2, kind="stable")[::-1][: self.sums.shape[0]]  # ties: the later row, as in KMeans
        rows = np.concatenate([self.farthest, other.farthest])
        return LloydStatistics(
            self.sums + other.sums, self.counts + other.counts, self.distortion + other.distortion,
            self.squares + other.squares, rows[keep], d2[keep],
        )


def lloyd_block_statistics(block: NDArray, centers: NDArray, shift: NDArray) -> LloydStatistics:
    r"""The map of a Lloyd pass: :func:`emlib.kmeans.lloyd_pass` on the rows :math:`x_n - c` of one block.

    ``centers`` are in the shifted coordinates.
    """
    Y = np.ascontiguousarray(_finite(block) - shift)
    row_norms = np.einsum("nd,nd->n", Y, Y)
    _, min_d2, sums, counts = lloyd_pass(Y, row_norms, centers, np.ones(Y.shape[0]))
    farthest = _largest(min_d2, centers.shape[0])
    return LloydStatistics(sums, counts, float(min_d2.sum()), float(row_norms.sum()), Y[farthest], min_d2[farthest])


def _largest(values: NDArray, m: int) -> NDArray[np.intp]:
    """The indices of the ``m`` largest values, largest first, the later index first among equals
    (the order of ``np.argsort(values, kind="stable")[::-1]``), in O(n)."""
    n = values.size
    top = np.argpartition(values, n - min(m, n))[n - min(m, n) :]
    return top[np.lexsort((top, values[top]))][::-1]


def _block_labels(block: NDArray, centers: NDArray, shift: NDArray) -> NDArray[np.intp]:
    Y = np.ascontiguousarray(_finite(block) - shift)
    return lloyd_pass(Y, np.einsum("nd,nd->n", Y, Y), centers, np.ones(Y.shape[0]))[0]


class KMeans(kmeans.KMeans):
    r"""emlib's k-means, by Lloyd passes mapped over the blocks of a Dask array.

    Parameters
    ----------
    n_clusters, init, n_init, max_iter, tol, random_state
        As :class:`emlib.KMeans`; ``"k-means++"`` and ``"random"`` draw from the subsample.
    init_sample : int, default=10_000
        Rows drawn (uniformly, without replacement) for the seeding when ``init`` is not an array.

    Attributes
    ----------
    cluster_centers_, inertia_, inertia_history_, n_iter_, n_features_in_
        As :class:`emlib.KMeans`.
    labels_ : dask.array.Array of shape (n_samples,)
        The nearest final centre of each row, lazy: computing it is one more pass.
    """

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        init: str | ArrayLike = "k-means++",
        n_init: int | str = "auto",
        max_iter: int = 300,
        tol: float = 1e-4,
        random_state: int | np.random.Generator | None = None,
        init_sample: int = 10_000,
    ) -> None:
        super().__init__(n_clusters, init=init, n_init=n_init, max_iter=max_iter, tol=tol, random_state=random_state)
        self.init_sample = init_sample

    def fit(self, X: ArrayLike, y: Any = None) -> Self:
        """Run Lloyd's algorithm over the blocks ``n_init`` times and keep the lowest distortion.

        Parameters
        ----------
        X : dask.array.Array or array-like of shape (n_samples, n_features)
        y : ignored
        """
        X = row_blocks(X)
        check_positive_int(self.init_sample, "init_sample")
        rng = check_random_state(self.random_state)
        sample = subsample(X, self.init_sample, rng)
        n_init, given = self._check_parameters(sample)
        shift = first_block_mean(X)
        best = None
        for _ in range(n_init):
            start = given if given is not None else self._initial_centers(sample, rng, None)
            run = self._lloyd_blocks(X, np.ascontiguousarray(start - shift), shift)
            if best is None or run[1][-1] < best[1][-1]:
                best = run
        centers, history, converged = best
        self._warn_unless(converged)
        self.cluster_centers_ = centers + shift
        self.labels_ = X.map_blocks(_block_labels, centers, shift, dtype=np.intp, drop_axis=1)
        self.inertia_history_ = history
        self.inertia_ = float(history[-1])
        self.n_iter_ = len(history) - 1
        self.n_features_in_ = X.shape[1]
        return self

    def _lloyd_blocks(self, X: da.Array, centers: NDArray, shift: NDArray) -> tuple[NDArray, NDArray, bool]:
        """Lloyd's algorithm from ``centers`` (shifted), one map-reduce per pass: (centres, J history,
        converged), the passes and stopping rule of :meth:`emlib.KMeans._lloyd`."""
        blocks = X.to_delayed().ravel().tolist()
        statistics = dask.delayed(lloyd_block_statistics, pure=True)

        def lloyd(centers: NDArray) -> LloydStatistics:
            return dask.compute(tree_sum([statistics(b, centers, shift) for b in blocks]))[0]

        stats = lloyd(centers)
        n = X.shape[0]
        mean_variance = (stats.squares / n - np.sum((stats.sums.sum(axis=0) / n) ** 2)) / X.shape[1]
        history, converged = [stats.distortion], False
        for _ in range(self.max_iter):
            new_centers = self._update_step(stats, centers)
            new_stats = lloyd(new_centers)
            history.append(new_stats.distortion)
            moved = np.sum((new_centers - centers) ** 2)
            unchanged = np.array_equal(new_stats.sums, stats.sums) and np.array_equal(new_stats.counts, stats.counts)
            centers, stats = new_centers, new_stats
            if unchanged or moved <= self.tol * mean_variance:
                converged = True
                break
        return centers, np.asarray(history), converged

    @staticmethod
    def _update_step(stats: LloydStatistics, centers: NDArray) -> NDArray:
        """The means of the clusters; an empty cluster's centre moves to a row farthest from its centre."""
        empty = stats.counts == 0
        new_centers = stats.sums / np.where(empty, 1.0, stats.counts)[:, None]
        new_centers[empty] = stats.farthest[: np.count_nonzero(empty)]
        return np.ascontiguousarray(new_centers)


# -------------------------------------------------------- streaming over blocks
def _on_block(function: Callable[..., Any], block: NDArray, *args: Any) -> Any:
    return function(_finite(block), *args)


class _OverBlocks:
    """Streaming EM over the blocks of a Dask array in order: each block's E-step runs on a worker."""

    def _validated(self, chunks: Any) -> Any:
        yield from chunks  # dask blocks: checked on the worker that reads them

    def _apply(self, function: Callable[..., Any], X: Any, *args: Any) -> Any:
        return dask.delayed(_on_block, pure=True)(function, X, *args).compute()

    def _local(self, X: Any) -> NDArray:
        return check_data(X.compute(), "the first block")


def _blocks(X: ArrayLike) -> list[da.Array]:
    X = row_blocks(X)
    return [X.blocks[i] for i in range(X.numblocks[0])]


class IncrementalGaussianMixture(_OverBlocks, streaming.IncrementalGaussianMixture):
    """:class:`emlib.streaming.IncrementalGaussianMixture` with the blocks of a Dask array as its chunks."""

    def fit(self, X: ArrayLike, y: Any = None) -> Self:
        """Fit by incremental EM, one block after another on the workers; ``X`` stays where it is."""
        return super().fit(_blocks(X))


class OnlineGaussianMixture(_OverBlocks, streaming.OnlineGaussianMixture):
    """:class:`emlib.streaming.OnlineGaussianMixture` with the blocks of a Dask array as its stream."""

    def fit(self, X: ArrayLike, y: Any = None) -> Self:
        """Fit by online EM over one pass of the blocks, each on a worker; ``X`` stays where it is."""
        return super().fit(_blocks(X))
