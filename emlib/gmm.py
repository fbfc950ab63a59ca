r"""Gaussian mixtures fitted by Expectation-Maximization.

The model is :math:`p(x \mid \theta) = \sum_{k=1}^K \pi_k \, \mathcal{N}(x \mid \mu_k, \Sigma_k)`.
EM alternates

* the **E-step**, the responsibilities
  :math:`\gamma_{nk} = \pi_k \mathcal{N}(x_n \mid \mu_k, \Sigma_k) / \sum_j \pi_j \mathcal{N}(x_n \mid \mu_j, \Sigma_j)`,
  computed in log space with log-sum-exp, and
* the **M-step**, the weighted maximum-likelihood estimates
  :math:`N_k = \sum_n \gamma_{nk}`, :math:`\pi_k = N_k / N`,
  :math:`\mu_k = \frac{1}{N_k}\sum_n \gamma_{nk} x_n`,
  :math:`\Sigma_k = \frac{1}{N_k}\sum_n \gamma_{nk} (x_n - \mu_k)(x_n - \mu_k)^\top + \epsilon I`.

``e_step`` and ``m_step`` are the pure functions that :class:`GaussianMixture` calls.
Covariances are stored as scikit-learn stores them: (K, D, D) for ``"full"``, (D, D) for
``"tied"``, (K, D) for ``"diag"`` and (K,) for ``"spherical"``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any, NamedTuple, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.linalg import solve_triangular
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from ._validation import (
    check_data,
    check_fitted_data,
    check_n_samples,
    check_option,
    check_parameter_array,
    check_positive_float,
    check_positive_int,
)
from .kmeans import KMeans, assign_labels, kmeans_plusplus

__all__ = [
    "COVARIANCE_TYPES",
    "GaussianMixture",
    "MixtureParameters",
    "covariance_shape",
    "e_step",
    "full_covariances",
    "log_gaussian_density",
    "log_joint",
    "m_step",
    "n_parameters",
]

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")
LOG_2PI = np.log(2.0 * np.pi)


class MixtureParameters(NamedTuple):
    """The parameters :math:`\\theta = (\\pi, \\mu, \\Sigma)` of a Gaussian mixture."""

    weights: NDArray
    means: NDArray
    covariances: NDArray


def covariance_shape(covariance_type: str, n_components: int, n_features: int) -> tuple[int, ...]:
    """The shape of ``covariances`` for a covariance type, as in scikit-learn."""
    return {
        "full": (n_components, n_features, n_features),
        "tied": (n_features, n_features),
        "diag": (n_components, n_features),
        "spherical": (n_components,),
    }[covariance_type]


def full_covariances(covariances: ArrayLike, covariance_type: str, n_components: int, n_features: int) -> NDArray:
    """Covariances of any type as a stack of (n_components, n_features, n_features) matrices."""
    cov = np.asarray(covariances, dtype=float)
    if covariance_type == "full":
        return cov
    if covariance_type == "tied":
        return np.broadcast_to(cov, (n_components, n_features, n_features))
    if covariance_type == "diag":
        return cov[:, :, None] * np.eye(n_features)
    return cov[:, None, None] * np.eye(n_features)


def n_parameters(covariance_type: str, n_components: int, n_features: int) -> int:
    r"""The number of free parameters, :math:`(K-1) + KD + \#\text{covariance}`, used by BIC and AIC."""
    per_covariance = {
        "full": n_components * n_features * (n_features + 1) // 2,
        "tied": n_features * (n_features + 1) // 2,
        "diag": n_components * n_features,
        "spherical": n_components,
    }[covariance_type]
    return (n_components - 1) + n_components * n_features + per_covariance


def _cholesky(matrix: NDArray, component: str) -> NDArray:
    """Lower Cholesky factor, with an error that says what to do when it does not exist."""
    try:
        return np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        raise ValueError(
            f"the covariance of {component} is not positive definite; increase reg_covar "
            "or use fewer components."
        ) from None


def log_gaussian_density(
    X: NDArray, means: NDArray, covariances: NDArray, covariance_type: str = "full"
) -> NDArray:
    r"""The log density of every point under every component.

    .. math::

        \log \mathcal{N}(x_n \mid \mu_k, \Sigma_k)
        = -\tfrac12 \left[ D \log 2\pi + \log\lvert\Sigma_k\rvert
          + (x_n - \mu_k)^\top \Sigma_k^{-1} (x_n - \mu_k) \right]

    With :math:`\Sigma_k = L_k L_k^\top` (Cholesky), :math:`\log\lvert\Sigma_k\rvert = 2\sum_d \log L_{k,dd}`
    and the Mahalanobis term is :math:`\lVert L_k^{-1}(x_n - \mu_k)\rVert^2`, a triangular
    solve: no matrix is inverted. Diagonal and spherical covariances use matrix products.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray, shape as given by :func:`covariance_shape`
    covariance_type : {"full", "tied", "diag", "spherical"}

    Returns
    -------
    ndarray of shape (n_samples, n_components)
    """
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    if covariance_type in ("full", "tied"):
        maha = np.empty((n_samples, n_components))
        log_det = np.empty(n_components)
        shared = _cholesky(covariances, "the tied covariance") if covariance_type == "tied" else None
        for k in range(n_components):  # a loop over components, never over samples
            L = shared if shared is not None else _cholesky(covariances[k], f"component {k}")
            z = solve_triangular(L, (X - means[k]).T, lower=True, check_finite=False)
            maha[:, k] = np.einsum("dn,dn->n", z, z)
            log_det[k] = 2.0 * np.log(np.diag(L)).sum()
    else:
        variances = covariances if covariance_type == "diag" else np.repeat(covariances[:, None], n_features, axis=1)
        if np.any(variances <= 0):
            raise ValueError("a variance is not positive; increase reg_covar or use fewer components.")
        precisions = 1.0 / variances  # (K, D), elementwise: these are scalars, not a matrix inverse
        maha = (X**2) @ precisions.T - 2.0 * X @ (means * precisions).T + np.sum(means**2 * precisions, axis=1)
        log_det = np.log(variances).sum(axis=1)
    return -0.5 * (n_features * LOG_2PI + log_det + maha)


def log_joint(X: NDArray, weights: NDArray, means: NDArray, covariances: NDArray, covariance_type: str) -> NDArray:
    r""":math:`\log \pi_k + \log \mathcal{N}(x_n \mid \mu_k, \Sigma_k)`, of shape (n_samples, n_components)."""
    with np.errstate(divide="ignore"):  # a weight of exactly 0 gives -inf, which logsumexp handles
        log_weights = np.log(weights)
    return log_gaussian_density(X, means, covariances, covariance_type) + log_weights


def e_step(
    X: NDArray, weights: NDArray, means: NDArray, covariances: NDArray, covariance_type: str = "full"
) -> tuple[NDArray, float]:
    r"""The E-step: responsibilities and the observed-data log-likelihood.

    .. math::

        \log p(x_n \mid \theta) = \operatorname{logsumexp}_k \left[ \log\pi_k + \log\mathcal{N}(x_n \mid \mu_k, \Sigma_k) \right],
        \qquad
        \gamma_{nk} = \exp\!\left( \log\pi_k + \log\mathcal{N}(x_n \mid \mu_k, \Sigma_k) - \log p(x_n \mid \theta) \right)

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    weights : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray, shape as given by :func:`covariance_shape`
    covariance_type : {"full", "tied", "diag", "spherical"}

    Returns
    -------
    responsibilities : ndarray of shape (n_samples, n_components)
        :math:`\gamma_{nk} = p(z_n = k \mid x_n, \theta)`; each row sums to 1.
    log_likelihood : float
        :math:`\sum_n \log p(x_n \mid \theta)`, the total (not per-sample) log-likelihood in nats.
    """
    lj = log_joint(X, weights, means, covariances, covariance_type)
    log_px = logsumexp(lj, axis=1)
    return np.exp(lj - log_px[:, None]), float(log_px.sum())


def m_step(
    X: NDArray, responsibilities: NDArray, covariance_type: str = "full", reg_covar: float = 1e-6
) -> MixtureParameters:
    r"""The M-step: the maximum-likelihood parameters given the responsibilities.

    .. math::

        N_k = \sum_n \gamma_{nk}, \quad
        \pi_k = \frac{N_k}{N}, \quad
        \mu_k = \frac{1}{N_k} \sum_n \gamma_{nk} x_n, \quad
        \Sigma_k = \frac{1}{N_k} \sum_n \gamma_{nk} (x_n - \mu_k)(x_n - \mu_k)^\top + \epsilon I

    ``"tied"`` pools the scatter of all components, :math:`\Sigma = \frac1N \sum_k N_k \Sigma_k`;
    ``"diag"`` keeps the diagonal of :math:`\Sigma_k`; ``"spherical"`` its mean. The
    regulariser :math:`\epsilon` (``reg_covar``) keeps every covariance positive definite, and
    a tiny :math:`10\,\varepsilon_{\text{mach}}` added to :math:`N_k` keeps an empty component finite
    (both as in scikit-learn).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    responsibilities : ndarray of shape (n_samples, n_components)
        :math:`\gamma_{nk}`. A row may be scaled by a weight (its entries then sum to that
        weight, not 1): semi-supervised EM down-weights unlabelled rows this way.
    covariance_type : {"full", "tied", "diag", "spherical"}
    reg_covar : float
        :math:`\epsilon`, added to the diagonal of every covariance.

    Returns
    -------
    MixtureParameters
        ``(weights, means, covariances)``.
    """
    n_samples, n_features = X.shape
    Nk = responsibilities.sum(axis=0) + 10 * np.finfo(float).eps
    weights = Nk / Nk.sum()
    means = responsibilities.T @ X / Nk[:, None]
    if covariance_type == "full":
        covariances = np.empty((means.shape[0], n_features, n_features))
        for k in range(means.shape[0]):
            centred = X - means[k]
            covariances[k] = (responsibilities[:, k] * centred.T) @ centred / Nk[k]
            covariances[k].flat[:: n_features + 1] += reg_covar
    elif covariance_type == "tied":
        row_weights = responsibilities.sum(axis=1)  # 1 in plain EM; not when rows are weighted
        covariances = ((X.T * row_weights) @ X - (Nk * means.T) @ means) / Nk.sum()
        covariances.flat[:: n_features + 1] += reg_covar
    else:
        second_moments = responsibilities.T @ (X * X) / Nk[:, None]
        covariances = np.maximum(second_moments - means**2, 0.0) + reg_covar
        if covariance_type == "spherical":
            covariances = covariances.mean(axis=1)
    return MixtureParameters(weights, means, covariances)


class GaussianMixture(DensityMixin, BaseEstimator):
    r"""A Gaussian mixture fitted by EM, with scikit-learn's interface.

    Parameters
    ----------
    n_components : int, default=1
        The number of components :math:`K`.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
    tol : float, default=1e-3
        Stop when the log-likelihood per sample rises by less than ``tol`` in one iteration.
    reg_covar : float, default=1e-6
        Added to the diagonal of every covariance, so that it stays positive definite.
    max_iter : int, default=100
        Maximum number of EM iterations per initialisation.
    n_init : int, default=1
        Number of initialisations; the fit with the highest final log-likelihood is kept.
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}, default="kmeans"
        How to start when the initial parameters are not all given:

        * ``"kmeans"``: responsibilities are the one-hot labels of a :class:`emlib.KMeans` fit;
        * ``"k-means++"``: one-hot labels of the nearest k-means++ seed;
        * ``"random"``: random responsibilities, each row normalised to sum to 1;
        * ``"random_from_data"``: the lecture notes' start, :math:`\pi_k = 1/K`,
          :math:`\mu_k` = ``K`` distinct random data points, :math:`\Sigma_k` = the covariance of
          the data. (scikit-learn's option of this name instead shrinks every covariance to
          ``reg_covar``.)

        Except for ``"random_from_data"``, the parameters are the M-step of those responsibilities.
    weights_init, means_init, covariances_init : array-like, optional
        Initial parameters; each one given replaces the one from ``init_params``. Weights must be
        non-negative and sum to 1; covariances must be positive definite, with the shape of
        ``covariances_``.
    random_state : int, numpy.random.Generator or None, default=None

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    means_ : ndarray of shape (n_components, n_features)
    covariances_ : ndarray
        (K, D, D) for "full", (D, D) "tied", (K, D) "diag", (K,) "spherical".
    converged_ : bool
    n_iter_ : int
        Number of EM iterations (M-steps) of the kept fit.
    loglik_history_ : ndarray of shape (n_iter_ + 1,)
        The total observed-data log-likelihood :math:`\sum_n \log p(x_n \mid \theta_t)` in nats,
        for :math:`\theta_0, \theta_1, \ldots`. With ``reg_covar=0`` EM guarantees it never
        decreases (beyond round-off). With ``reg_covar > 0`` the covariance update is no longer the
        exact maximiser of the M-step, so drops of the order of ``reg_covar`` are possible; at the
        default 1e-6 they are far below the tolerance of the tests.
    n_features_in_ : int
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
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.covariances_init = covariances_init
        self.random_state = random_state

    # ----------------------------------------------------------------- checks
    def _check_parameters(self, X: NDArray) -> dict[str, NDArray | None]:
        """Validate every hyper-parameter against ``X``; return the checked initial parameters."""
        K = check_positive_int(self.n_components, "n_components")
        check_option(self.covariance_type, "covariance_type", COVARIANCE_TYPES)
        check_option(self.init_params, "init_params", INIT_PARAMS)
        check_positive_float(self.tol, "tol")
        check_positive_float(self.reg_covar, "reg_covar", allow_zero=True)
        check_positive_int(self.max_iter, "max_iter")
        check_positive_int(self.n_init, "n_init")
        check_n_samples(X, K)
        return {
            "weights": None if self.weights_init is None else _check_weights(self.weights_init, "weights_init", K),
            "means": None
            if self.means_init is None
            else check_parameter_array(self.means_init, "means_init", (K, X.shape[1])),
            "covariances": None
            if self.covariances_init is None
            else _check_covariances(self.covariances_init, "covariances_init", self.covariance_type, K, X.shape[1]),
        }

    # -------------------------------------------------------------------- fit
    def fit(self, X: ArrayLike, y: Any = None) -> GaussianMixture:
        """Fit the mixture by EM from ``n_init`` starts and keep the best.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self
        """
        X = check_data(X)
        given = self._check_parameters(X)
        rng = np.random.default_rng(self.random_state)
        runs = (self._em(X, self._initial_parameters(X, given, rng)) for _ in range(self.n_init))
        return self._keep_best(X, runs)

    def _keep_best(self, X: NDArray, runs: Iterable[tuple[MixtureParameters, NDArray, bool]]) -> Self:
        """Set the fitted attributes from the run with the highest final objective."""
        params, history, converged = max(runs, key=lambda run: run[1][-1])
        if not converged:
            warnings.warn(
                f"{type(self).__name__} did not converge in max_iter={self.max_iter} iterations; "
                "increase max_iter or tol, or try another initialisation.",
                ConvergenceWarning,
                stacklevel=3,
            )
        self.weights_, self.means_, self.covariances_ = params
        self.loglik_history_ = history
        self.converged_ = converged
        self.n_iter_ = len(history) - 1
        self.n_features_in_ = X.shape[1]
        return self

    def _initial_parameters(
        self, X: NDArray, given: dict[str, NDArray | None], rng: np.random.Generator
    ) -> MixtureParameters:
        """θ₀: the given initial parameters, the rest from ``init_params``."""
        if all(v is not None for v in given.values()):
            return MixtureParameters(given["weights"], given["means"], given["covariances"])
        K, (N, D) = self.n_components, X.shape
        if self.init_params == "random_from_data":
            data_cov = np.atleast_2d(np.cov(X, rowvar=False, bias=True)) + self.reg_covar * np.eye(D)
            full = np.broadcast_to(data_cov, (K, D, D))
            start = MixtureParameters(
                np.full(K, 1.0 / K),
                X[rng.choice(N, size=K, replace=False)].copy(),
                {
                    "full": full.copy(),
                    "tied": data_cov,
                    "diag": np.diagonal(full, axis1=1, axis2=2).copy(),
                    "spherical": np.diagonal(full, axis1=1, axis2=2).mean(axis=1),
                }[self.covariance_type],
            )
        else:
            start = m_step(X, self._initial_responsibilities(X, rng), self.covariance_type, self.reg_covar)
        return MixtureParameters(*(g if g is not None else s for g, s in zip(given.values(), start, strict=True)))

    def _initial_responsibilities(self, X: NDArray, rng: np.random.Generator) -> NDArray:
        K = self.n_components
        if self.init_params == "random":
            resp = rng.uniform(size=(X.shape[0], K))
            return resp / resp.sum(axis=1, keepdims=True)
        if self.init_params == "kmeans":
            labels = KMeans(K, n_init=1, random_state=rng).fit(X).labels_
        else:  # "k-means++"
            labels = assign_labels(X, kmeans_plusplus(X, K, rng))[0]
        resp = np.zeros((X.shape[0], K))
        resp[np.arange(X.shape[0]), labels] = 1.0
        return resp

    def _em(self, X: NDArray, params: MixtureParameters) -> tuple[MixtureParameters, NDArray, bool]:
        """EM from θ₀ = ``params``: (final parameters, log-likelihood history, converged)."""
        resp, loglik = e_step(X, *params, self.covariance_type)
        history = [loglik]
        converged = False
        for _ in range(self.max_iter):
            params = m_step(X, resp, self.covariance_type, self.reg_covar)
            resp, loglik = e_step(X, *params, self.covariance_type)
            history.append(loglik)
            if abs(history[-1] - history[-2]) < self.tol * X.shape[0]:
                converged = True
                break
        return params, np.asarray(history), converged

    # ------------------------------------------------------------ inference
    def _checked(self, X: ArrayLike) -> NDArray:
        return check_fitted_data(self, X)

    @property
    def _params(self) -> MixtureParameters:
        return MixtureParameters(self.weights_, self.means_, self.covariances_)

    def score_samples(self, X: ArrayLike) -> NDArray:
        r""":math:`\log p(x_n \mid \theta)` for each row of ``X``."""
        return logsumexp(log_joint(self._checked(X), *self._params, self.covariance_type), axis=1)

    def score(self, X: ArrayLike, y: Any = None) -> float:
        """The mean log-likelihood per sample (as scikit-learn's ``score``)."""
        return float(self.score_samples(X).mean())

    def predict_proba(self, X: ArrayLike) -> NDArray:
        r"""The responsibilities :math:`\gamma_{nk} = p(z_n = k \mid x_n, \theta)`."""
        return e_step(self._checked(X), *self._params, self.covariance_type)[0]

    def predict(self, X: ArrayLike) -> NDArray[np.intp]:
        """The most responsible component of each row (the hard assignment)."""
        return np.argmax(self.predict_proba(X), axis=1)

    def _n_parameters(self) -> int:
        return n_parameters(self.covariance_type, self.n_components, self.n_features_in_)

    def bic(self, X: ArrayLike) -> float:
        r"""Bayesian information criterion :math:`-2 \log L + p \log N` (lower is better)."""
        X = self._checked(X)
        return -2.0 * self.score(X) * X.shape[0] + self._n_parameters() * np.log(X.shape[0])

    def aic(self, X: ArrayLike) -> float:
        r"""Akaike information criterion :math:`-2 \log L + 2p` (lower is better)."""
        X = self._checked(X)
        return -2.0 * self.score(X) * X.shape[0] + 2.0 * self._n_parameters()

    def sample(self, n_samples: int = 1) -> tuple[NDArray, NDArray[np.intp]]:
        """Draw ``n_samples`` points by ancestral sampling: first z ~ Cat(π), then x ~ N(μ_z, Σ_z).

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        z : ndarray of shape (n_samples,)
            The component each point was drawn from.
        """
        check_is_fitted(self)
        n_samples = check_positive_int(n_samples, "n_samples")
        rng = np.random.default_rng(self.random_state)
        z = rng.choice(self.n_components, size=n_samples, p=self.weights_)
        covariances = full_covariances(self.covariances_, self.covariance_type, self.n_components, self.n_features_in_)
        factors = np.linalg.cholesky(covariances)
        noise = rng.standard_normal((n_samples, self.n_features_in_))
        X = self.means_[z] + np.einsum("nij,nj->ni", factors[z], noise)
        return X, z


def _check_weights(value: ArrayLike, name: str, n_components: int) -> NDArray:
    weights = check_parameter_array(value, name, (n_components,))
    if np.any(weights < 0):
        raise ValueError(f"{name} must be non-negative; got {weights}.")
    if not np.isclose(weights.sum(), 1.0, rtol=0, atol=1e-6):
        raise ValueError(f"{name} must sum to 1; got a sum of {weights.sum():.6g}.")
    return weights


def _check_covariances(
    value: ArrayLike, name: str, covariance_type: str, n_components: int, n_features: int
) -> NDArray:
    shape = covariance_shape(covariance_type, n_components, n_features)
    covariances = check_parameter_array(value, name, shape)
    if covariance_type in ("full", "tied"):
        matrices = covariances.reshape(-1, n_features, n_features)
        if not np.allclose(matrices, np.swapaxes(matrices, 1, 2)):
            raise ValueError(f"{name} must be symmetric.")
        if np.any(np.linalg.eigvalsh(matrices)[:, 0] <= 0):
            raise ValueError(f"{name} must be positive definite.")
    elif np.any(covariances <= 0):
        raise ValueError(f"{name} must be positive (they are variances).")
    return covariances
