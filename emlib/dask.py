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

The estimator is :class:`GaussianMixture`, emlib's own with the same parameters and attributes
(``loglik_history_``, the same convergence rule: stop when the log-likelihood per row rises by
less than ``tol``); ``fit`` accepts a Dask array (or a NumPy array, which it splits into blocks).
It starts from ``weights_init``, ``means_init`` and ``covariances_init`` when all are given, and
otherwise from emlib's batch initialisation on a uniform random subsample of at most
``init_sample`` rows: k-means++ seeding plus Lloyd's algorithm on the subsample, one read of the
sampled rows and never a full pass per seed. Connect a ``dask.distributed.Client`` first to run
on a cluster; without one Dask uses its local scheduler.
"""

from __future__ import annotations

import math
from typing import Any, Self

import dask
import dask.array as da
import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import gmm
from ._validation import check_data, check_positive_int, check_random_state
from .gmm import MixtureParameters, e_step
from .streaming import SufficientStatistics, parameters_from_statistics, sufficient_statistics

__all__ = ["GaussianMixture", "block_statistics", "shifted_parameters", "tree_sum"]


def block_statistics(
    block: NDArray, params: MixtureParameters, covariance_type: str, shift: NDArray
) -> tuple[SufficientStatistics, float]:
    r"""The map: the E-step on one block and its statistics about the shift :math:`c`.

    Returns the statistics of :math:`x_n - c` under :math:`\gamma_{nk}` and the block's
    log-likelihood :math:`\sum_n \log p(x_n \mid \theta)`.
    """
    block = np.asarray(block, dtype=float)
    if not np.all(np.isfinite(block)):
        raise ValueError("X contains NaN or infinity.")
    responsibilities, loglik = e_step(block, *params, covariance_type)
    return sufficient_statistics(block - shift, responsibilities, covariance_type), float(loglik)


def _add(a: tuple[SufficientStatistics, float], b: tuple[SufficientStatistics, float]) -> tuple[SufficientStatistics, float]:
    return a[0] + b[0], a[1] + b[1]


def tree_sum(parts: list[Any]) -> Any:
    """The pairwise (tree) sum of delayed parts: ``ceil(log2(len(parts)))`` levels of additions."""
    add = dask.delayed(_add, pure=True)
    while len(parts) > 1:
        parts = [add(parts[i], parts[i + 1]) if i + 1 < len(parts) else parts[i] for i in range(0, len(parts), 2)]
    return parts[0]


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

    def __init__(self, n_components: int = 1, *, init_sample: int = 10_000, **options: Any) -> None:
        super().__init__(n_components, **options)
        self.init_sample = init_sample

    def fit(self, X: ArrayLike, y: Any = None) -> Self:
        """Fit by EM from ``n_init`` starts and keep the best; ``X`` stays where it is.

        Parameters
        ----------
        X : dask.array.Array or array-like of shape (n_samples, n_features)
            Rows in blocks of any length; every pass reads each block once.
        y : ignored
        """
        X = da.asarray(X)
        if X.ndim != 2 or any(math.isnan(n) or n < 1 for n in X.shape):
            raise ValueError(f"X must be a 2-D array of known, non-zero shape; got shape {X.shape}.")
        X = X.rechunk({1: -1})  # every block holds whole rows
        check_positive_int(self.init_sample, "init_sample")
        rng = check_random_state(self.random_state)
        sample = self._subsample(X, rng)
        given = self._check_parameters(sample)
        shift = np.asarray(X.blocks[0].mean(axis=0).compute(), dtype=float)
        runs = (self._em_blocks(X, self._initial_parameters(sample, given, rng), shift) for _ in range(self.n_init))
        self._keep_best(sample, runs)
        return self

    def _subsample(self, X: da.Array, rng: np.random.Generator) -> NDArray:
        """At most ``init_sample`` rows drawn uniformly without replacement, in order (one read)."""
        n = X.shape[0]
        rows = np.sort(rng.choice(n, size=min(n, self.init_sample), replace=False))
        return check_data(X[rows].compute())

    def _em_blocks(self, X: da.Array, params: MixtureParameters, shift: NDArray) -> tuple[MixtureParameters, NDArray, bool]:
        """Map-reduce EM from θ₀: (final parameters, log-likelihood history, converged), the same
        iterations and stopping rule as :meth:`emlib.GaussianMixture._em`."""
        blocks = X.to_delayed().ravel().tolist()
        statistics = dask.delayed(block_statistics, pure=True)
        history: list[float] = []
        converged = False
        for _ in range(self.max_iter + 1):
            total, loglik = dask.compute(tree_sum([statistics(b, params, self.covariance_type, shift) for b in blocks]))[0]
            history.append(loglik)
            if len(history) > 1 and abs(history[-1] - history[-2]) < self.tol * X.shape[0]:
                converged = True
                break
            if len(history) == self.max_iter + 1:
                break
            params = shifted_parameters(parameters_from_statistics(total, self.covariance_type, self.reg_covar), -shift)
        return params, np.asarray(history), converged
