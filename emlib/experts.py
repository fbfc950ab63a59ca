r"""Conditional mixtures fitted by EM: mixtures of linear regressions.

The model is a mixture over the *conditional* distribution of a response :math:`y` given inputs
:math:`x`,

.. math::

    p(y \mid x, \theta) = \sum_{k=1}^K \pi_k \, \mathcal{N}\big(y \mid x^\top \beta_k + b_k, \sigma_k^2\big),

one regression line (an "expert") per component. EM alternates

* the **E-step**, the responsibilities by Bayes' rule, exactly as for a Gaussian mixture but with
  each component's density evaluated at its own prediction,
  :math:`\gamma_{nk} \propto \pi_k \mathcal{N}(y_n \mid x_n^\top \beta_k + b_k, \sigma_k^2)`, and
* the **M-step**, one weighted least-squares fit per component,

  .. math::

      (\beta_k, b_k) = \arg\min_{\beta, b} \sum_n \gamma_{nk} (y_n - x_n^\top\beta - b)^2, \qquad
      \sigma_k^2 = \frac{1}{N_k} \sum_n \gamma_{nk} (y_n - x_n^\top\beta_k - b_k)^2, \qquad
      \pi_k = \frac{N_k}{N}.

The weighted least-squares problem is solved by :func:`scipy.linalg.lstsq` on the rows scaled by
:math:`\sqrt{\gamma_{nk}}`, not through the normal equations :math:`Z^\top \Gamma_k Z`, whose
condition number is the square of the scaled design's.
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.linalg import lstsq
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from ._validation import (
    check_data,
    check_n_features,
    check_positive_float,
    check_positive_int,
    check_random_state,
)
from .gmm import LOG_2PI, _normalise_log_joint

__all__ = [
    "MixtureOfLinearRegressions",
    "RegressionMixtureParameters",
    "e_step",
    "log_expert_densities",
    "m_step",
]


class RegressionMixtureParameters(NamedTuple):
    r"""The parameters :math:`\theta = (\pi, \beta, b, \sigma^2)` of a mixture of linear regressions."""

    weights: NDArray
    coef: NDArray
    intercept: NDArray
    noise_variances: NDArray


def check_response(y: ArrayLike, n_samples: int) -> NDArray[np.float64]:
    """The response as a 1-D float array of ``n_samples`` finite numbers, else a clear error."""
    if y is None:
        raise ValueError("y is required: a mixture of regressions models y given X.")
    array = check_data(np.asarray(y).reshape(-1, 1) if np.ndim(y) == 1 else y, "y")
    if array.shape[1] != 1:
        raise ValueError(f"y must be 1-D, one response per row of X; got shape {np.shape(y)}.")
    if array.shape[0] != n_samples:
        raise ValueError(f"y has {array.shape[0]} values, but X has {n_samples} rows.")
    return array[:, 0]


def log_expert_densities(
    X: NDArray, y: NDArray, coef: NDArray, intercept: NDArray, noise_variances: NDArray
) -> NDArray:
    r""":math:`\log \mathcal{N}(y_n \mid x_n^\top \beta_k + b_k, \sigma_k^2)`, shape (n_samples, n_components)."""
    residuals = y[:, None] - (X @ coef.T + intercept)
    return -0.5 * (LOG_2PI + np.log(noise_variances) + residuals**2 / noise_variances)


def e_step(X: NDArray, y: NDArray, params: RegressionMixtureParameters) -> tuple[NDArray, float]:
    r"""The E-step: responsibilities and the conditional log-likelihood.

    .. math::

        \gamma_{nk} = \frac{\pi_k \mathcal{N}(y_n \mid x_n^\top\beta_k + b_k, \sigma_k^2)}
                           {\sum_j \pi_j \mathcal{N}(y_n \mid x_n^\top\beta_j + b_j, \sigma_j^2)},
        \qquad
        \log p(y \mid X, \theta) = \sum_n \log \sum_k \pi_k \mathcal{N}(y_n \mid x_n^\top\beta_k + b_k, \sigma_k^2),

    normalised by log-sum-exp as in :func:`emlib.gmm.e_step`.

    Returns
    -------
    responsibilities : ndarray of shape (n_samples, n_components)
    log_likelihood : float
        The total :math:`\log p(y \mid X, \theta)` in nats.
    """
    with np.errstate(divide="ignore"):  # a weight of exactly 0 gives -inf, which the normalisation handles
        log_weights = np.log(params.weights)
    log_joint = log_expert_densities(X, y, params.coef, params.intercept, params.noise_variances) + log_weights
    resp_kn, log_py = _normalise_log_joint(np.ascontiguousarray(log_joint.T))
    return resp_kn.T, float(log_py.sum())


def _weighted_least_squares(X: NDArray, y: NDArray, weights: NDArray) -> tuple[NDArray, float]:
    r""":math:`\arg\min_{\beta, b} \sum_n w_n (y_n - x_n^\top\beta - b)^2` by least squares on rows scaled by :math:`\sqrt{w_n}`."""
    root = np.sqrt(weights)
    design = np.column_stack([X, np.ones(len(X))]) * root[:, None]
    solution = lstsq(design, y * root, lapack_driver="gelsd")[0]
    return solution[:-1], float(solution[-1])


def m_step(X: NDArray, y: NDArray, responsibilities: NDArray, reg_covar: float = 1e-6) -> RegressionMixtureParameters:
    r"""The M-step: weighted least squares per component, then the weighted residual variance.

    .. math::

        N_k = \sum_n \gamma_{nk}, \quad \pi_k = \frac{N_k}{N}, \quad
        (\beta_k, b_k) = \arg\min_{\beta, b} \sum_n \gamma_{nk}(y_n - x_n^\top\beta - b)^2, \quad
        \sigma_k^2 = \frac{1}{N_k}\sum_n \gamma_{nk}(y_n - x_n^\top\beta_k - b_k)^2 + \epsilon

    The regulariser :math:`\epsilon` (``reg_covar``) keeps a variance positive when a component
    passes exactly through its points; :math:`10\,\varepsilon_{\text{mach}}` added to :math:`N_k`
    keeps an empty component finite (both as in :func:`emlib.gmm.m_step`).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    responsibilities : ndarray of shape (n_samples, n_components)
    reg_covar : float
        :math:`\epsilon`.

    Returns
    -------
    RegressionMixtureParameters
    """
    resp = np.asarray(responsibilities)
    Nk = resp.sum(axis=0) + 10 * np.finfo(float).eps
    fits = [_weighted_least_squares(X, y, resp[:, k]) for k in range(resp.shape[1])]
    coef = np.array([beta for beta, _ in fits])
    intercept = np.array([b for _, b in fits])
    residuals = y[:, None] - (X @ coef.T + intercept)
    noise_variances = (resp * residuals**2).sum(axis=0) / Nk + reg_covar
    return RegressionMixtureParameters(Nk / Nk.sum(), coef, intercept, noise_variances)


class MixtureOfLinearRegressions(BaseEstimator):
    r"""A mixture of linear regressions fitted by EM, with scikit-learn's interface.

    Parameters
    ----------
    n_components : int, default=2
        The number of regression lines :math:`K`.
    tol : float, default=1e-6
        Stop when the log-likelihood per sample rises by less than ``tol`` in one iteration.
    max_iter : int, default=500
    n_init : int, default=5
        Number of random starts; the fit with the highest final log-likelihood is kept.
    reg_covar : float, default=1e-6
        Added to every noise variance in the M-step (0: the exact M-step).
    random_state : int, numpy.random.Generator or None, default=None
        Each start draws random responsibilities (Dirichlet(1) rows) and begins with an M-step.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    coef_ : ndarray of shape (n_components, n_features)
    intercept_ : ndarray of shape (n_components,)
    noise_variances_ : ndarray of shape (n_components,)
    loglik_history_ : ndarray of shape (n_iter_ + 1,)
        The total conditional log-likelihood :math:`\log p(y \mid X, \theta_t)` of the kept start,
        never decreasing with ``reg_covar=0`` (beyond round-off).
    n_iter_ : int
    converged_ : bool
    n_features_in_ : int
    """

    def __init__(
        self,
        n_components: int = 2,
        *,
        tol: float = 1e-6,
        max_iter: int = 500,
        n_init: int = 5,
        reg_covar: float = 1e-6,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.n_components = n_components
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.reg_covar = reg_covar
        self.random_state = random_state

    def fit(self, X: ArrayLike, y: ArrayLike) -> Self:
        """Fit by EM from ``n_init`` random starts and keep the best.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        self
        """
        X = check_data(X)
        y = check_response(y, X.shape[0])
        K = check_positive_int(self.n_components, "n_components")
        check_positive_float(self.tol, "tol")
        check_positive_int(self.max_iter, "max_iter")
        check_positive_int(self.n_init, "n_init")
        check_positive_float(self.reg_covar, "reg_covar", allow_zero=True)
        minimum = K * (X.shape[1] + 1)
        if X.shape[0] <= minimum:
            raise ValueError(
                f"X has n_samples={X.shape[0]}, but {K} regressions on {X.shape[1]} features need more "
                f"than n_components * (n_features + 1) = {minimum} rows to be identified."
            )
        rng = check_random_state(self.random_state)
        runs = [self._em(X, y, rng.dirichlet(np.ones(K), size=X.shape[0])) for _ in range(self.n_init)]
        params, history, converged = max(runs, key=lambda run: run[1][-1])
        if not converged:
            warnings.warn(
                f"{type(self).__name__} did not converge in max_iter={self.max_iter} iterations; "
                "increase max_iter or tol.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.weights_, self.coef_, self.intercept_, self.noise_variances_ = params
        self.loglik_history_ = np.asarray(history)
        self.n_iter_ = len(history) - 1
        self.converged_ = converged
        self.n_features_in_ = X.shape[1]
        return self

    def _em(self, X: NDArray, y: NDArray, resp: NDArray) -> tuple[RegressionMixtureParameters, list[float], bool]:
        """EM from the M-step of ``resp``: (parameters, log-likelihood history, converged)."""
        params = m_step(X, y, resp, self.reg_covar)
        resp, loglik = e_step(X, y, params)
        history = [loglik]
        for _ in range(self.max_iter):
            params = m_step(X, y, resp, self.reg_covar)
            resp, loglik = e_step(X, y, params)
            history.append(loglik)
            if abs(history[-1] - history[-2]) < self.tol * X.shape[0]:
                return params, history, True
        return params, history, False

    # ------------------------------------------------------------ inference
    @property
    def _params(self) -> RegressionMixtureParameters:
        return RegressionMixtureParameters(self.weights_, self.coef_, self.intercept_, self.noise_variances_)

    def _checked(self, X: ArrayLike) -> NDArray:
        check_is_fitted(self)
        X = check_data(X)
        check_n_features(X, self.n_features_in_, type(self).__name__)
        return X

    def predict(self, X: ArrayLike) -> NDArray:
        r"""The mixture mean :math:`\mathbb{E}[y \mid x] = \sum_k \pi_k (x^\top\beta_k + b_k)`."""
        X = self._checked(X)
        return (X @ self.coef_.T + self.intercept_) @ self.weights_

    def predict_proba(self, X: ArrayLike, y: ArrayLike) -> NDArray:
        r"""The responsibilities :math:`\gamma_{nk} = p(z_n = k \mid x_n, y_n)` (they need :math:`y`)."""
        X = self._checked(X)
        return e_step(X, check_response(y, X.shape[0]), self._params)[0]

    def score_samples(self, X: ArrayLike, y: ArrayLike) -> NDArray:
        r""":math:`\log p(y_n \mid x_n, \theta)` for each row."""
        X = self._checked(X)
        y = check_response(y, X.shape[0])
        log_joint = log_expert_densities(X, y, self.coef_, self.intercept_, self.noise_variances_)
        with np.errstate(divide="ignore"):
            log_joint = log_joint + np.log(self.weights_)
        return _normalise_log_joint(np.ascontiguousarray(log_joint.T))[1]

    def score(self, X: ArrayLike, y: ArrayLike) -> float:
        """The mean conditional log-likelihood per sample (not scikit-learn's :math:`R^2`)."""
        return float(self.score_samples(X, y).mean())

    def sample(self, X: ArrayLike, random_state: Any = None) -> tuple[NDArray, NDArray[np.intp]]:
        """Draw one response per row of ``X``: a component :math:`z \\sim \\pi`, then :math:`y \\sim \\mathcal{N}(x^\\top\\beta_z + b_z, \\sigma_z^2)`.

        Returns
        -------
        y : ndarray of shape (n_samples,)
        z : ndarray of shape (n_samples,)
        """
        X = self._checked(X)
        rng = check_random_state(self.random_state if random_state is None else random_state)
        z = rng.choice(self.n_components, size=X.shape[0], p=self.weights_)
        means = np.einsum("nd,nd->n", X, self.coef_[z]) + self.intercept_[z]
        return means + np.sqrt(self.noise_variances_[z]) * rng.standard_normal(X.shape[0]), z
