r"""Gaussian mixtures fitted from a stream of chunks, through sufficient statistics.

The M-step of a Gaussian mixture needs the data only through three sums per component,

.. math::

    S_k = \Big( \sum_n \gamma_{nk}, \;\; \sum_n \gamma_{nk} x_n, \;\; \sum_n \gamma_{nk} x_n x_n^\top \Big),

the **sufficient statistics** (for ``"diag"`` and ``"spherical"`` covariances only the diagonal of
the last sum). They are sums over the data, so the statistics of a data set are the sum of the
statistics of its chunks: an E-step can run on one chunk at a time, and only :math:`O(KD^2)`
numbers per chunk survive it. Two algorithms use this:

* :class:`IncrementalGaussianMixture`, **incremental EM** (Neal & Hinton 1998): keep each chunk's
  statistics; visit the chunks in turn, and after a chunk's E-step replace its old contribution
  to the total and do an M-step. No step lowers the ELBO
  :math:`F(q, \theta) = \mathbb{E}_q[\log p(X, Z \mid \theta)] + H(q)`, Neal & Hinton's
  :math:`F`, which is the *negative* of the free energy of statistical physics.
* :class:`OnlineGaussianMixture`, **online EM** (Cappé & Moulines 2009): keep one running average
  of the per-sample statistics, :math:`\bar S \leftarrow (1-\gamma_t)\bar S + \gamma_t\, s(\text{chunk})`,
  with step sizes :math:`\gamma_t = (t + t_0)^{-\kappa}`, and read the parameters off it.

The functions below are the pieces: :func:`sufficient_statistics` (the map),
:func:`parameters_from_statistics` (the M-step), :func:`chunk_statistics` (E-step then map), and
:func:`expected_complete_loglik` (the first term of the ELBO :math:`F`, from the statistics alone).
"""

from __future__ import annotations

import itertools
import operator
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.linalg import cho_solve
from scipy.special import entr, logsumexp, xlogy
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.exceptions import ConvergenceWarning

from ._validation import (
    check_data,
    check_fitted_data,
    check_n_samples,
    check_option,
    check_positive_float,
    check_positive_int,
    check_random_state,
)
from .gmm import (
    COVARIANCE_TYPES,
    LOG_2PI,
    MixtureParameters,
    e_step,
    fill_parameters,
    full_covariances,
    given_parameters,
    log_joint,
    m_step,
)
from .kmeans import KMeans

__all__ = [
    "IncrementalGaussianMixture",
    "OnlineGaussianMixture",
    "SufficientStatistics",
    "chunk_statistics",
    "expected_complete_loglik",
    "expected_statistics",
    "parameters_from_statistics",
    "step_size",
    "sufficient_statistics",
]

Chunks = Sequence[ArrayLike] | Callable[[], Iterable[ArrayLike]]


@dataclass(frozen=True, eq=False)
class SufficientStatistics:
    r"""The sums :math:`S = (\sum_n \gamma_{nk}, \sum_n \gamma_{nk} x_n, \sum_n \gamma_{nk} x_n x_n^\top)`.

    They add (``S_a + S_b``, ``S - s_old + s_new``) and scale (``0.5 * S``), so the statistics of
    a stream are combined with ordinary arithmetic.

    Attributes
    ----------
    counts : ndarray of shape (n_components,)
        :math:`N_k = \sum_n \gamma_{nk}`.
    sums : ndarray of shape (n_components, n_features)
        :math:`\sum_n \gamma_{nk} x_n`.
    second_moments : ndarray of shape (n_components, n_features, n_features) or (n_components, n_features)
        :math:`\sum_n \gamma_{nk} x_n x_n^\top` for ``"full"`` and ``"tied"`` covariances; only its
        diagonal, :math:`\sum_n \gamma_{nk} x_n^2`, for ``"diag"`` and ``"spherical"``.
    """

    counts: NDArray
    sums: NDArray
    second_moments: NDArray

    def _combine(self, other: SufficientStatistics, op: Callable[[Any, Any], Any]) -> SufficientStatistics:
        return SufficientStatistics(
            op(self.counts, other.counts), op(self.sums, other.sums), op(self.second_moments, other.second_moments)
        )

    def __add__(self, other: SufficientStatistics) -> SufficientStatistics:
        return self._combine(other, operator.add)

    def __sub__(self, other: SufficientStatistics) -> SufficientStatistics:
        return self._combine(other, operator.sub)

    def __mul__(self, scalar: float) -> SufficientStatistics:
        return SufficientStatistics(scalar * self.counts, scalar * self.sums, scalar * self.second_moments)

    __rmul__ = __mul__


def sufficient_statistics(X: NDArray, responsibilities: NDArray, covariance_type: str = "full") -> SufficientStatistics:
    r"""The sufficient statistics of ``X`` under the responsibilities :math:`\gamma_{nk}`.

    .. math::

        N_k = \sum_n \gamma_{nk}, \qquad
        \sum_n \gamma_{nk} x_n = (\Gamma^\top X)_k, \qquad
        \sum_n \gamma_{nk} x_n x_n^\top = X^\top \operatorname{diag}(\gamma_{\cdot k}) X

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    responsibilities : ndarray of shape (n_samples, n_components)
    covariance_type : {"full", "tied", "diag", "spherical"}
        ``"full"`` and ``"tied"`` keep the full second moments; ``"diag"`` and ``"spherical"``
        only their diagonal, :math:`(\Gamma^\top (X \odot X))_{kd}`.

    Returns
    -------
    SufficientStatistics
    """
    counts = responsibilities.sum(axis=0)
    sums = responsibilities.T @ X
    if covariance_type in ("full", "tied"):  # a loop over components, never over samples
        second = np.stack([(responsibilities[:, k] * X.T) @ X for k in range(responsibilities.shape[1])])
    else:
        second = responsibilities.T @ (X * X)
    return SufficientStatistics(counts, sums, second)


def chunk_statistics(X: NDArray, params: MixtureParameters, covariance_type: str = "full") -> tuple[SufficientStatistics, float]:
    r"""The E-step on one chunk, reduced to its statistics: the *map* of a map-reduce EM iteration.

    Returns
    -------
    statistics : SufficientStatistics
        Of the chunk, under :math:`\gamma_{nk} = p(z_n = k \mid x_n, \theta)`.
    log_likelihood : float
        :math:`\sum_{n \in \text{chunk}} \log p(x_n \mid \theta)`.
    """
    responsibilities, log_likelihood = e_step(X, *params, covariance_type)
    return sufficient_statistics(X, responsibilities, covariance_type), log_likelihood


def parameters_from_statistics(
    stats: SufficientStatistics, covariance_type: str = "full", reg_covar: float = 1e-6
) -> MixtureParameters:
    r"""The M-step, from the sufficient statistics alone.

    .. math::

        \pi_k = \frac{N_k}{\sum_j N_j}, \qquad
        \mu_k = \frac{1}{N_k} \sum_n \gamma_{nk} x_n, \qquad
        \Sigma_k = \frac{1}{N_k} \sum_n \gamma_{nk} x_n x_n^\top - \mu_k \mu_k^\top + \epsilon I

    the same parameters as :func:`emlib.gmm.m_step` (which centres the data first), including its
    :math:`10\,\varepsilon_{\text{mach}}` added to :math:`N_k`. ``"tied"`` pools,
    :math:`\Sigma = (\sum_k \sum_n \gamma_{nk} x_n x_n^\top - \sum_k N_k \mu_k \mu_k^\top) / \sum_k N_k + \epsilon I`;
    ``"diag"`` clips negative round-off at 0; ``"spherical"`` averages the diagonal. The formulas are
    ratios, so statistics scaled by any constant (per-sample averages, say) give the same parameters.

    Subtracting :math:`\mu_k\mu_k^\top` from the raw second moment loses about
    :math:`\log_{10}(\lVert\mu_k\rVert^2/\lambda_{\min}(\Sigma_k))` digits: centre data whose mean is
    far from 0 compared with its spread.

    Parameters
    ----------
    stats : SufficientStatistics
    covariance_type : {"full", "tied", "diag", "spherical"}
    reg_covar : float
        :math:`\epsilon`, added to the diagonal of every covariance.

    Returns
    -------
    MixtureParameters
    """
    Nk = stats.counts + 10 * np.finfo(float).eps
    weights = Nk / Nk.sum()
    means = stats.sums / Nk[:, None]
    n_features = means.shape[1]
    if covariance_type == "full":
        covariances = stats.second_moments / Nk[:, None, None] - means[:, :, None] * means[:, None, :]
        covariances[:, np.arange(n_features), np.arange(n_features)] += reg_covar
    elif covariance_type == "tied":
        covariances = (stats.second_moments.sum(axis=0) - (Nk * means.T) @ means) / Nk.sum()
        covariances.flat[:: n_features + 1] += reg_covar
    else:
        covariances = np.maximum(stats.second_moments / Nk[:, None] - means**2, 0.0) + reg_covar
        if covariance_type == "spherical":
            covariances = covariances.mean(axis=1)
    return MixtureParameters(weights, means, covariances)


def expected_statistics(params: MixtureParameters, covariance_type: str = "full") -> SufficientStatistics:
    r"""The statistics of one sample expected under the model, :math:`\mathbb{E}_\theta[s(x, z)]`.

    .. math::

        \big( \pi_k, \;\; \pi_k \mu_k, \;\; \pi_k (\Sigma_k + \mu_k \mu_k^\top) \big)

    :func:`parameters_from_statistics` maps them back to :math:`\theta` (plus ``reg_covar``). Online
    EM starts its running average here, so that :math:`\theta_0` counts as prior information.
    """
    weights, means, covariances = params
    K, D = means.shape
    if covariance_type in ("full", "tied"):
        moments = full_covariances(covariances, covariance_type, K, D) + means[:, :, None] * means[:, None, :]
    else:
        variances = covariances if covariance_type == "diag" else np.repeat(covariances[:, None], D, axis=1)
        moments = variances + means**2
    return SufficientStatistics(weights.copy(), weights[:, None] * means, weights.reshape((K,) + (1,) * (moments.ndim - 1)) * moments)


def expected_complete_loglik(stats: SufficientStatistics, params: MixtureParameters, covariance_type: str = "full") -> float:
    r"""The expected complete-data log-likelihood :math:`\sum_n \sum_k \gamma_{nk} \log[\pi_k \mathcal{N}(x_n \mid \mu_k, \Sigma_k)]`, from the statistics.

    .. math::

        \sum_k \Big[ N_k \log \pi_k - \tfrac{N_k}{2} \big(D \log 2\pi + \log\lvert\Sigma_k\rvert\big)
        - \tfrac12 \operatorname{tr}\big(\Sigma_k^{-1} C_k\big) \Big],
        \qquad
        C_k = \sum_n \gamma_{nk} x_n x_n^\top - s_k \mu_k^\top - \mu_k s_k^\top + N_k \mu_k \mu_k^\top,

    with :math:`s_k = \sum_n \gamma_{nk} x_n`: the scatter of the data about :math:`\mu_k`. Adding the
    entropy :math:`-\sum_{nk} \gamma_{nk} \log \gamma_{nk}` gives the ELBO :math:`F(q, \theta)` (the
    negative free energy).
    """
    weights, means, covariances = params
    N, S1, S2 = stats.counts, stats.sums, stats.second_moments
    K, D = means.shape
    if covariance_type in ("full", "tied"):
        scatter = S2 - S1[:, :, None] * means[:, None, :] - means[:, :, None] * S1[:, None, :] \
            + N[:, None, None] * means[:, :, None] * means[:, None, :]
        factors = np.linalg.cholesky(full_covariances(covariances, covariance_type, K, D))
        log_det = 2.0 * np.log(np.diagonal(factors, axis1=1, axis2=2)).sum(axis=1)
        trace = np.array([np.trace(cho_solve((factors[k], True), scatter[k])) for k in range(K)])
    else:
        variances = covariances if covariance_type == "diag" else np.repeat(covariances[:, None], D, axis=1)
        log_det = np.log(variances).sum(axis=1)
        trace = ((S2 - 2.0 * S1 * means + N[:, None] * means**2) / variances).sum(axis=1)
    return float(xlogy(N, weights).sum() - 0.5 * (N * (D * LOG_2PI + log_det)).sum() - 0.5 * trace.sum())


def step_size(t: int, exponent: float, offset: float = 0.0) -> float:
    r"""Online EM's step size :math:`\gamma_t = (t + t_0)^{-\kappa}` for step :math:`t = 1, 2, \ldots`

    With :math:`\kappa \in (0.5, 1]`, :math:`\sum_t \gamma_t = \infty` (the average forgets its start)
    and :math:`\sum_t \gamma_t^2 < \infty` (its noise dies out), the conditions under which online EM
    converges (Cappé & Moulines 2009). With :math:`t_0 = 0`, :math:`\gamma_1 = 1`.
    """
    return float((t + offset) ** (-exponent))


class _StreamingGaussianMixture(DensityMixin, BaseEstimator):
    """What both streaming estimators share: the start, the chunk checks, and inference."""

    n_components: int
    covariance_type: str
    reg_covar: float
    weights_init: ArrayLike | None
    means_init: ArrayLike | None
    covariances_init: ArrayLike | None
    random_state: int | np.random.Generator | None

    def _check_common(self) -> None:
        check_positive_int(self.n_components, "n_components")
        check_option(self.covariance_type, "covariance_type", COVARIANCE_TYPES)
        check_positive_float(self.reg_covar, "reg_covar", allow_zero=True)

    def _validated(self, chunks: Iterable[ArrayLike]) -> Iterator[NDArray]:
        """Each chunk checked as it is read: a 2-D array of finite numbers, as wide as the first."""
        if not isinstance(chunks, Iterable):
            raise TypeError(f"chunks must give an iterable of 2-D arrays; got {type(chunks).__name__}.")
        n_features = None
        for i, chunk in enumerate(chunks):
            X = check_data(chunk, f"chunk {i}")
            n_features = X.shape[1] if n_features is None else n_features
            if X.shape[1] != n_features:
                raise ValueError(f"chunk {i} has {X.shape[1]} columns, but chunk 0 has {n_features}.")
            yield X

    def _apply(self, function: Callable[..., Any], X: Any, *args: Any) -> Any:
        """``function(X, *args)``: where a chunk's E-step runs (here; on a Dask worker in :mod:`emlib.dask`)."""
        return function(X, *args)

    def _local(self, X: Any) -> NDArray:
        """The rows of a chunk on this machine, for the start (here they already are)."""
        return X

    def _initial_parameters(self, X: NDArray, rng: np.random.Generator) -> MixtureParameters:
        r"""θ₀: the given initial parameters; the others from a k-means clustering of the first chunk."""
        K = self.n_components
        given = given_parameters(self, K, X.shape[1])
        if all(g is not None for g in given):
            return given
        check_n_samples(X, K, name="the first chunk")  # the start is fitted to it
        labels = KMeans(K, n_init=1, random_state=rng).fit(X).labels_
        start = m_step(X, np.eye(K)[labels], self.covariance_type, self.reg_covar)
        return fill_parameters(given, start)

    @property
    def _params(self) -> MixtureParameters:
        return MixtureParameters(self.weights_, self.means_, self.covariances_)

    def _set_parameters(self, params: MixtureParameters) -> None:
        self.weights_, self.means_, self.covariances_ = params

    def _centred(self, params: MixtureParameters) -> MixtureParameters:
        """θ in the coordinates of the statistics, whose origin is ``origin_``."""
        return MixtureParameters(params.weights, params.means - self.origin_, params.covariances)

    def _from_statistics(self, stats: SufficientStatistics) -> MixtureParameters:
        """The M-step from statistics of the centred data, with the means moved back by ``origin_``."""
        weights, means, covariances = parameters_from_statistics(stats, self.covariance_type, self.reg_covar)
        return MixtureParameters(weights, means + self.origin_, covariances)

    def score_samples(self, X: ArrayLike) -> NDArray:
        r""":math:`\log p(x_n \mid \theta)` for each row of ``X`` (one chunk)."""
        return logsumexp(log_joint(check_fitted_data(self, X), *self._params, self.covariance_type), axis=1)

    def score(self, X: ArrayLike, y: Any = None) -> float:
        """The mean log-likelihood per sample of ``X`` (as scikit-learn's ``score``)."""
        return float(self.score_samples(X).mean())

    def predict_proba(self, X: ArrayLike) -> NDArray:
        r"""The responsibilities :math:`\gamma_{nk} = p(z_n = k \mid x_n, \theta)`."""
        return e_step(check_fitted_data(self, X), *self._params, self.covariance_type)[0]

    def predict(self, X: ArrayLike) -> NDArray[np.intp]:
        """The most responsible component of each row."""
        return np.argmax(self.predict_proba(X), axis=1)


def _chunk_source(chunks: Any) -> Callable[[], Iterable[ArrayLike]]:
    """A function that returns a fresh pass over the chunks, for an algorithm that reads them many times."""
    if callable(chunks):
        return chunks
    if isinstance(chunks, Sequence) and not isinstance(chunks, str | bytes):
        return lambda: chunks
    raise TypeError(
        "chunks must be a sequence of 2-D arrays (a list, say) or a function that returns a new iterable "
        f"of them each time it is called; got {type(chunks).__name__}. Incremental EM reads the data once "
        "per pass, so a generator cannot be used directly: pass the function that creates it. To split "
        "one array, pass np.array_split(X, n_chunks)."
    )


def _entropy(responsibilities: NDArray) -> float:
    r""":math:`H(q) = -\sum_{nk} \gamma_{nk} \log \gamma_{nk}` (with :math:`0 \log 0 = 0`)."""
    return float(entr(responsibilities).sum())


def incremental_e_step(
    X: NDArray, params: MixtureParameters, origin: NDArray, covariance_type: str
) -> tuple[SufficientStatistics, float, float]:
    r"""The E-step of incremental EM on one chunk at :math:`\theta`.

    Returns the chunk's statistics of :math:`x_n - \text{origin}`, the entropy :math:`H(q)` of its
    responsibilities, and its log-likelihood :math:`\sum_n \log p(x_n \mid \theta)`.
    """
    responsibilities, loglik = e_step(X, *params, covariance_type)
    statistics = sufficient_statistics(X - origin, responsibilities, covariance_type)
    return statistics, _entropy(responsibilities), float(loglik)


class IncrementalGaussianMixture(_StreamingGaussianMixture):
    r"""A Gaussian mixture fitted by incremental EM (Neal & Hinton 1998) from re-readable chunks.

    The first pass is a batch E-step over all chunks at :math:`\theta_0`, storing each chunk's
    statistics :math:`s_c`, then one M-step from :math:`S = \sum_c s_c`: exactly one iteration of
    batch EM. On every later pass, for each chunk :math:`c` in turn:

    1. E-step on chunk :math:`c` at the current :math:`\theta`, giving :math:`s_c'`;
    2. :math:`S \leftarrow S - s_c + s_c'`, and store :math:`s_c'` in place of :math:`s_c`;
    3. M-step: :math:`\theta \leftarrow` :func:`parameters_from_statistics` :math:`(S)`.

    No step lowers the ELBO

    .. math::

        F(q, \theta) = \mathbb{E}_q[\log p(X, Z \mid \theta)] + H(q)
        = \log p(X \mid \theta) - \mathrm{KL}\big(q \,\|\, p(Z \mid X, \theta)\big),

    a lower bound on :math:`\log p(X \mid \theta)`, so the parameters improve after every chunk
    rather than once per pass. This :math:`F` is Neal & Hinton's (1998): the evidence lower bound,
    the *negative* of the free energy of statistical physics (the book's convention).

    Memory: one chunk at a time, plus the stored statistics, :math:`O(K D^2)` numbers per chunk for
    full covariances (:math:`O(KD)` for diagonal), independent of the chunk's length. :math:`S` is re-summed from the stored statistics after each pass, so the
    round-off of the running update does not accumulate.

    Parameters
    ----------
    n_components : int, default=1
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
    tol : float, default=1e-3
        Stop when a pass changes the ELBO :math:`F` by less than ``tol`` per sample.
    reg_covar : float, default=1e-6
    max_passes : int, default=100
        Maximum number of passes over the data (the first, batch pass included).
    weights_init, means_init, covariances_init : array-like, optional
        As in :class:`emlib.GaussianMixture`. Those not given come from the M-step of a k-means
        clustering (:class:`emlib.KMeans`) of the **first chunk**.
    random_state : int, numpy.random.Generator or None, default=None

    Attributes
    ----------
    weights_, means_, covariances_ : ndarray
        As in :class:`emlib.GaussianMixture`.
    elbo_history_ : ndarray of shape (n_iter_ + 1,)
        The ELBO :math:`F(q, \theta) = \mathbb{E}_q[\log p(X, Z \mid \theta)] + H(q)` (the negative
        free energy) in nats (total, not per sample) at the end of each pass; entry 0 is
        :math:`F(q_0, \theta_0) = \log p(X \mid \theta_0)`. With ``reg_covar=0`` it never decreases
        (beyond round-off); with ``reg_covar > 0`` the M-step is not the exact maximiser and it can
        drop, by as little as described for :class:`emlib.GaussianMixture`. Each entry is at most :math:`\log p(X \mid \theta)` of that pass's
        parameters. (There is no ``loglik_history_``: the log-likelihood of the parameters at the end
        of a pass would cost one more pass over the data.)
    converged_ : bool
    n_iter_ : int
        Number of passes over the data.
    n_samples_seen_ : int
    n_features_in_ : int
    origin_ : ndarray of shape (n_features,)
        The mean of the first chunk. The statistics are sums over :math:`x_n - \text{origin}`, so that
        :math:`\sum\gamma x x^\top / N_k - \mu\mu^\top` does not cancel for data far from 0.
    """

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        max_passes: int = 100,
        weights_init: ArrayLike | None = None,
        means_init: ArrayLike | None = None,
        covariances_init: ArrayLike | None = None,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_passes = max_passes
        self.weights_init = weights_init
        self.means_init = means_init
        self.covariances_init = covariances_init
        self.random_state = random_state

    def fit(self, chunks: Chunks, y: Any = None) -> IncrementalGaussianMixture:
        """Fit by incremental EM.

        Parameters
        ----------
        chunks : sequence of array-like, or callable
            Either a sequence (list, tuple) of 2-D arrays, or a function with no arguments that
            returns a new iterable of them on every call (a generator function reading a file, say).
            Every call must give the same chunks in the same order. Each chunk is checked as it is
            read, so an error in chunk 7 is raised after chunks 0-6 were used.
        y : ignored

        Returns
        -------
        self
        """
        source = _chunk_source(chunks)
        self._check_common()
        check_positive_float(self.tol, "tol")
        max_passes = check_positive_int(self.max_passes, "max_passes")
        rng = check_random_state(self.random_state)
        stored, entropies, sizes, params, loglik = [], [], [], None, 0.0
        for X in self._validated(source()):  # pass 1: a batch E-step, one chunk at a time
            if params is None:
                first = self._local(X)
                params = self._initial_parameters(first, rng)
                self.origin_ = first.mean(axis=0)
            statistics, entropy, chunk_loglik = self._apply(incremental_e_step, X, params, self.origin_, self.covariance_type)
            stored.append(statistics)
            entropies.append(entropy)
            sizes.append(X.shape[0])
            loglik += chunk_loglik
        if not stored:
            raise ValueError("chunks is empty: it gave no chunk to fit.")
        total = reduce(operator.add, stored)
        params = self._from_statistics(total)
        history = [loglik, self._elbo(total, params, entropies)]
        n_samples = sum(sizes)
        for _ in range(max_passes - 1):
            if abs(history[-1] - history[-2]) < self.tol * n_samples:
                break
            params = self._incremental_pass(source, stored, entropies, sizes, total, params)
            total = reduce(operator.add, stored)
            history.append(self._elbo(total, params, entropies))
        converged = abs(history[-1] - history[-2]) < self.tol * n_samples
        if not converged:
            warnings.warn(
                f"IncrementalGaussianMixture did not converge in max_passes={max_passes} passes; "
                "increase max_passes or tol.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self._set_parameters(params)
        self.elbo_history_ = np.asarray(history)
        self.converged_ = converged
        self.n_iter_ = len(history) - 1
        self.n_samples_seen_ = n_samples
        self.n_features_in_ = self.means_.shape[1]
        return self

    def _elbo(self, total: SufficientStatistics, params: MixtureParameters, entropies: list[float]) -> float:
        r"""The ELBO :math:`F(q, \theta)`: the expected complete-data log-likelihood plus the entropy of :math:`q`."""
        return expected_complete_loglik(total, self._centred(params), self.covariance_type) + sum(entropies)

    def _incremental_pass(
        self,
        source: Callable[[], Iterable[ArrayLike]],
        stored: list[SufficientStatistics],
        entropies: list[float],
        sizes: list[int],
        total: SufficientStatistics,
        params: MixtureParameters,
    ) -> MixtureParameters:
        """One pass: partial E-step, swap of the chunk's statistics, M-step, for each chunk in turn."""
        n_chunks = 0
        for c, X in enumerate(self._validated(source())):
            if c >= len(sizes) or X.shape[0] != sizes[c]:
                raise ValueError("chunks gave different chunks on a later pass; every pass must give the same data.")
            new, entropies[c], _ = self._apply(incremental_e_step, X, params, self.origin_, self.covariance_type)
            total, stored[c] = total - stored[c] + new, new
            params = self._from_statistics(total)
            n_chunks += 1
        if n_chunks != len(sizes):
            raise ValueError("chunks gave fewer chunks on a later pass; every pass must give the same data.")
        return params


class OnlineGaussianMixture(_StreamingGaussianMixture):
    r"""A Gaussian mixture fitted by online EM (Cappé & Moulines 2009) over one pass of a stream.

    The estimator keeps a running average :math:`\bar S` of the per-sample statistics, started at
    :func:`expected_statistics` of :math:`\theta_0`. For the :math:`t`-th chunk (:math:`t = 1, 2, \ldots`),
    of :math:`m` rows:

    .. math::

        \bar S \leftarrow (1 - \gamma_t)\, \bar S + \gamma_t \, \tfrac{1}{m} s(\text{chunk}; \theta),
        \qquad \theta \leftarrow \text{parameters\_from\_statistics}(\bar S),
        \qquad \gamma_t = (t + t_0)^{-\kappa},

    where :math:`s(\text{chunk}; \theta)` is the chunk's statistics after an E-step at the current
    :math:`\theta`. The exponent :math:`\kappa \in (0.5, 1]` makes :math:`\sum\gamma_t = \infty` and
    :math:`\sum\gamma_t^2 < \infty` (see :func:`step_size`); a smaller :math:`\kappa` forgets the
    early, poor parameters faster, a larger one averages the noise more. With :math:`t_0 = 0` the
    first chunk replaces :math:`\bar S` entirely (:math:`\gamma_1 = 1`); :math:`t_0 > 0` keeps
    :math:`\theta_0` as prior information worth about :math:`t_0` chunks. Only :math:`\bar S` and
    :math:`\theta` are kept: the stream is read once and can be endless (``partial_fit``).

    Parameters
    ----------
    n_components : int, default=1
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
    step_exponent : float, default=0.6
        :math:`\kappa`, in (0.5, 1].
    step_offset : float, default=0.0
        :math:`t_0 \ge 0`.
    reg_covar : float, default=1e-6
    weights_init, means_init, covariances_init, random_state
        As in :class:`IncrementalGaussianMixture` (the start comes from the first chunk).

    Attributes
    ----------
    weights_, means_, covariances_ : ndarray
    statistics_ : SufficientStatistics
        :math:`\bar S`, the running average of the per-sample statistics of :math:`x - \text{origin}`.
    origin_ : ndarray of shape (n_features,)
        The mean of the first chunk, subtracted from every chunk before its statistics are taken.
    chunk_loglik_history_ : ndarray of shape (n_steps_,)
        For each chunk, its mean log-likelihood per sample under the parameters *before* the chunk
        was used: an honest (held-out) measure of fit along the stream. It is noisy and need not
        increase; online EM has no monotone objective.
    n_steps_ : int
        :math:`t`, the number of chunks used.
    n_samples_seen_ : int
    n_features_in_ : int
    """

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
        step_exponent: float = 0.6,
        step_offset: float = 0.0,
        reg_covar: float = 1e-6,
        weights_init: ArrayLike | None = None,
        means_init: ArrayLike | None = None,
        covariances_init: ArrayLike | None = None,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.step_exponent = step_exponent
        self.step_offset = step_offset
        self.reg_covar = reg_covar
        self.weights_init = weights_init
        self.means_init = means_init
        self.covariances_init = covariances_init
        self.random_state = random_state

    def _check_hyperparameters(self) -> None:
        self._check_common()
        kappa = check_positive_float(self.step_exponent, "step_exponent")
        if not 0.5 < kappa <= 1.0:
            raise ValueError(f"step_exponent must be in (0.5, 1]; got {kappa}.")
        check_positive_float(self.step_offset, "step_offset", allow_zero=True)

    def fit(self, chunks: Iterable[ArrayLike], y: Any = None) -> OnlineGaussianMixture:
        """Fit by online EM over one pass of ``chunks``.

        Parameters
        ----------
        chunks : iterable of array-like
            2-D arrays with the same number of columns, read once, in order: a list, a generator,
            a file reader. Each is checked as it is read.
        y : ignored

        Returns
        -------
        self
        """
        if isinstance(chunks, np.ndarray | str | bytes) or not isinstance(chunks, Iterable):
            raise TypeError(
                f"chunks must be an iterable of 2-D arrays; got {type(chunks).__name__}. To split one array, "
                "pass np.array_split(X, n_chunks); to add one chunk, call partial_fit(X)."
            )
        self._check_hyperparameters()
        stream = self._validated(chunks)
        first = next(stream, None)
        if first is None:
            raise ValueError("chunks is empty: it gave no chunk to fit.")
        self._start(self._local(first))
        for X in itertools.chain([first], stream):
            self._online_step(X)
        return self

    def partial_fit(self, X: ArrayLike, y: Any = None) -> OnlineGaussianMixture:
        """One online EM step with the chunk ``X`` (the first call also sets θ₀ from it)."""
        if hasattr(self, "statistics_"):
            X = check_fitted_data(self, X)
        else:
            self._check_hyperparameters()
            X = check_data(X)
            self._start(X)
        self._online_step(X)
        return self

    def _start(self, X: NDArray) -> None:
        params = self._initial_parameters(X, check_random_state(self.random_state))
        self._set_parameters(params)
        self.origin_ = X.mean(axis=0)
        self.statistics_ = expected_statistics(self._centred(params), self.covariance_type)
        self.chunk_loglik_history_ = np.empty(0)
        self.n_steps_ = 0
        self.n_samples_seen_ = 0
        self.n_features_in_ = X.shape[1]

    def _online_step(self, X: NDArray) -> None:
        r""":math:`\bar S \leftarrow (1-\gamma_t)\bar S + \gamma_t s(X)/m`, then the M-step."""
        stats, loglik = self._apply(chunk_statistics, X - self.origin_, self._centred(self._params), self.covariance_type)
        self.n_steps_ += 1
        gamma = step_size(self.n_steps_, self.step_exponent, self.step_offset)
        self.statistics_ = (1.0 - gamma) * self.statistics_ + (gamma / X.shape[0]) * stats
        self._set_parameters(self._from_statistics(self.statistics_))
        self.chunk_loglik_history_ = np.append(self.chunk_loglik_history_, loglik / X.shape[0])
        self.n_samples_seen_ += X.shape[0]
