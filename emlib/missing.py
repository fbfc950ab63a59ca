r"""EM for a multivariate normal with missing entries.

Each row :math:`x_n` splits into an observed block :math:`o` and a missing block :math:`m`.
Under :math:`\mathcal{N}(\mu, \Sigma)` the missing block given the observed one is normal with

.. math::

    \hat x_m = \mu_m + \Sigma_{mo} \Sigma_{oo}^{-1} (x_o - \mu_o), \qquad
    C = \Sigma_{mm} - \Sigma_{mo} \Sigma_{oo}^{-1} \Sigma_{om}.

The **E-step** needs the expected sufficient statistics :math:`\mathbb{E}[x_n]` and
:math:`\mathbb{E}[x_n x_n^\top] = \hat x_n \hat x_n^\top + C_n` (with :math:`C_n` in the missing
block and 0 elsewhere); dropping :math:`C_n` ("impute the conditional mean and refit") is *not*
EM and underestimates the variances. The **M-step** is the complete-data MLE of those statistics:
:math:`\mu = \frac1N \sum_n \mathbb{E}[x_n]`,
:math:`\Sigma = \frac1N \sum_n \mathbb{E}[x_n x_n^\top] - \mu \mu^\top`.

Rows are grouped by their pattern of missing entries, so the work is a loop over patterns,
with matrix operations over all rows of a pattern at once.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.linalg import cho_factor, cho_solve, solve_triangular
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning

from ._validation import check_data, check_fitted_data, check_positive_float, check_positive_int

if TYPE_CHECKING:  # only for the annotation: Tags is new in scikit-learn 1.6
    from sklearn.utils import Tags

__all__ = ["MultivariateNormalEM", "conditional_normal", "observed_loglik"]

LOG_2PI = np.log(2.0 * np.pi)


Patterns = list[tuple[NDArray[np.bool_], NDArray[np.intp]]]


def _patterns(missing: NDArray[np.bool_]) -> Patterns:
    r"""The distinct rows of the missing-value mask, each with the indices of its rows (ascending).

    One sort of the rows by pattern, :math:`O(N \log N)` whatever the number of patterns; a fit
    computes it once.
    """
    unique, inverse, counts = np.unique(missing, axis=0, return_inverse=True, return_counts=True)
    by_pattern = np.argsort(inverse.ravel(), kind="stable")
    return list(zip(unique, np.split(by_pattern, np.cumsum(counts)[:-1]), strict=True))


# Smallest pivot of a covariance's Cholesky factor, relative to its variable's variance, that
# counts as positive definite (see _cholesky).
PIVOT_RTOL = 1e-10


def _cholesky(matrix: NDArray) -> tuple[NDArray, bool]:
    r"""Lower Cholesky factor of a covariance, or a ValueError if it is singular.

    The squared pivot :math:`L_{dd}^2 / \Sigma_{dd}` is the fraction of variable :math:`d`'s
    variance that the variables before it do not explain, :math:`1 - R^2_d`. For a variable that
    is an exact linear function of others it is 0 in exact arithmetic, but rounding leaves
    about 1e-16, with either sign, depending on the processor's BLAS kernels: LAPACK alone
    would succeed on one machine and fail on another. A relative pivot below ``PIVOT_RTOL``
    (1e-10, a correlation within 5e-11 of 1) is therefore singular everywhere.
    """
    singular = ValueError(
        "the covariance estimate became singular: the data cannot identify it (too few rows, or "
        "a variable that is an exact linear function of others); pass reg_covar > 0."
    )
    try:
        factor = cho_factor(matrix, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        raise singular from None
    if np.any(np.diag(factor[0]) ** 2 < PIVOT_RTOL * np.diag(matrix)):
        raise singular
    return factor


def conditional_normal(
    X_obs: NDArray, mean: NDArray, covariance: NDArray, observed: NDArray[np.bool_], factor: Any = None
) -> tuple[NDArray, NDArray]:
    r"""Mean and covariance of the missing block given the observed block, for rows of one pattern.

    .. math::

        \hat x_m = \mu_m + \Sigma_{mo} \Sigma_{oo}^{-1} (x_o - \mu_o), \qquad
        C = \Sigma_{mm} - \Sigma_{mo} \Sigma_{oo}^{-1} \Sigma_{om}

    Parameters
    ----------
    X_obs : ndarray of shape (n_rows, n_observed)
        The observed entries of rows that share the pattern ``observed``.
    mean : ndarray of shape (n_features,)
    covariance : ndarray of shape (n_features, n_features)
    observed : ndarray of bool, shape (n_features,)
    factor : optional
        The Cholesky factor of :math:`\Sigma_{oo}` (``scipy.linalg.cho_factor``'s result), if
        already computed.

    Returns
    -------
    conditional_mean : ndarray of shape (n_rows, n_missing)
    conditional_covariance : ndarray of shape (n_missing, n_missing)
        The same for every row of the pattern.
    """
    o, m = observed, ~observed
    if not o.any():
        return np.broadcast_to(mean[m], (X_obs.shape[0], m.sum())).copy(), covariance[np.ix_(m, m)]
    factor = _cholesky(covariance[np.ix_(o, o)]) if factor is None else factor
    regression = cho_solve(factor, covariance[np.ix_(o, m)], check_finite=False).T  # Σ_mo Σ_oo⁻¹
    conditional_mean = mean[m] + (X_obs - mean[o]) @ regression.T
    conditional_covariance = covariance[np.ix_(m, m)] - regression @ covariance[np.ix_(o, m)]
    return conditional_mean, conditional_covariance


def observed_loglik(X: NDArray, mean: NDArray, covariance: NDArray, patterns: Patterns | None = None) -> float:
    r"""The observed-data log-likelihood :math:`\sum_n \log \mathcal{N}(x_{n,o} \mid \mu_o, \Sigma_{oo})`.

    Each row contributes the marginal density of its observed entries; NaN marks a missing entry.
    ``patterns``, the rows grouped by their missing entries, is computed from ``X`` if not given.
    """
    total = 0.0
    for missing, rows in _patterns(np.isnan(X)) if patterns is None else patterns:
        o = ~missing
        if o.any():
            L = _cholesky(covariance[np.ix_(o, o)])[0]
            total += _log_density_sum(X[np.ix_(rows, o)] - mean[o], L)
    return float(total)


def _log_density_sum(centred: NDArray, L: NDArray) -> float:
    r""":math:`\sum_n \log \mathcal{N}(y_n \mid 0, LL^\top)` for the rows :math:`y_n` of ``centred``."""
    z = solve_triangular(L, centred.T, lower=True, check_finite=False)
    log_det = 2.0 * np.log(np.diag(L)).sum()
    return -0.5 * (centred.shape[0] * (centred.shape[1] * LOG_2PI + log_det) + float(np.sum(z * z)))


def _standardised_change(mean: NDArray, covariance: NDArray, new_mean: NDArray, new_covariance: NDArray) -> float:
    r""":math:`\max\big(\max_d |\Delta\mu_d| / \sigma_d,\; \max_{d,e} |\Delta\Sigma_{de}| / \sigma_d \sigma_e\big)`, with
    :math:`\sigma_d = \sqrt{\Sigma_{dd}}` of the new covariance: the same for data translated or rescaled."""
    sd = np.sqrt(np.diag(new_covariance))
    return float(max(np.max(np.abs(new_mean - mean) / sd), np.max(np.abs(new_covariance - covariance) / np.outer(sd, sd))))


class MultivariateNormalEM(BaseEstimator):
    r"""Maximum-likelihood mean and covariance of a multivariate normal from data with missing entries.

    Parameters
    ----------
    tol : float, default=1e-8
        Stop when no entry of the mean or covariance changes by more than ``tol`` in standardised
        units (:math:`|\Delta\mu_d| / \sigma_d` and :math:`|\Delta\Sigma_{de}| / \sigma_d\sigma_e`) in one
        iteration, a rule unchanged by translating or rescaling the data. A rule on the parameters rather than on the
        log-likelihood, because the log-likelihood is flat at its maximum: a change below
        ``tol`` there leaves the parameters only about ``sqrt(tol)`` from the MLE.
    max_iter : int, default=1000
    reg_covar : float, default=0.0
        Added to the diagonal of the covariance at every M-step. Leave it at 0 for the exact
        MLE; a positive value gives a regularised fit when the sample is too small for the
        covariance (fewer complete-enough rows than variables), where the exact fit raises
        ``ValueError``.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
    covariance_ : ndarray of shape (n_features, n_features)
        The MLE (divides by N, not N - 1).
    loglik_history_ : ndarray of shape (n_iter_ + 1,)
        The total observed-data log-likelihood of each parameter set, starting from θ₀
        (the observed means and variances, zero covariances); it never decreases.
    n_iter_ : int
    converged_ : bool
    n_features_in_ : int

    Notes
    -----
    NaN marks a missing entry; ±inf is an error. A column with no observed value raises
    ``ValueError``. Rows with nothing observed carry no information about the parameters:
    they are dropped with a ``UserWarning`` (``impute`` fills them with ``mean_``).
    """

    def __init__(self, *, tol: float = 1e-8, max_iter: int = 1000, reg_covar: float = 0.0) -> None:
        self.tol = tol
        self.max_iter = max_iter
        self.reg_covar = reg_covar

    def __sklearn_tags__(self) -> Tags:
        """scikit-learn's estimator tags: NaN is allowed in ``X`` (it marks a missing entry)."""
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def fit(self, X: ArrayLike, y: Any = None) -> MultivariateNormalEM:
        """Fit the mean and covariance by EM. NaN entries are missing.

        Returns
        -------
        self
        """
        X = check_data(X, allow_nan=True)
        check_positive_float(self.tol, "tol")
        check_positive_int(self.max_iter, "max_iter")
        check_positive_float(self.reg_covar, "reg_covar", allow_zero=True)
        missing = np.isnan(X)
        empty_columns = np.flatnonzero(missing.all(axis=0))
        if empty_columns.size:
            raise ValueError(f"X has no observed value in column(s) {empty_columns.tolist()}; drop them.")
        empty_rows = missing.all(axis=1)
        if empty_rows.any():
            warnings.warn(
                f"X has {empty_rows.sum()} row(s) with no observed value; they carry no information "
                "and are dropped.",
                UserWarning,
                stacklevel=2,
            )
            X = X[~empty_rows]
        if X.shape[0] < 2:
            raise ValueError(
                f"X needs at least 2 rows with an observed value to estimate a covariance; got n_samples={X.shape[0]}."
            )

        groups = [(missing, rows, X[np.ix_(rows, ~missing)]) for missing, rows in _patterns(np.isnan(X))]
        mean = np.nanmean(X, axis=0)
        covariance = np.diag(np.nanvar(X, axis=0)) + self.reg_covar * np.eye(X.shape[1])
        history = []
        converged = False
        for _ in range(self.max_iter):
            previous = mean, covariance
            filled, conditional, loglik = self._e_step(X, mean, covariance, groups)
            history.append(loglik)
            mean, covariance = self._m_step(filled, conditional)
            if _standardised_change(*previous, mean, covariance) <= self.tol:
                converged = True
                break
        history.append(observed_loglik(X, mean, covariance, [(missing, rows) for missing, rows, _ in groups]))
        if not converged:
            warnings.warn(
                f"MultivariateNormalEM did not converge in max_iter={self.max_iter} iterations.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.mean_, self.covariance_ = mean, covariance
        self.loglik_history_ = np.asarray(history)
        self.n_iter_ = len(history) - 1
        self.converged_ = converged
        self.n_features_in_ = X.shape[1]
        return self

    @staticmethod
    def _e_step(
        X: NDArray, mean: NDArray, covariance: NDArray, groups: list[tuple[NDArray[np.bool_], NDArray[np.intp], NDArray]]
    ) -> tuple[NDArray, NDArray, float]:
        r"""The expectations :math:`\hat x_n = \mathbb{E}[x_n]` (rows of ``X`` with conditional means filled
        in), :math:`\sum_n C_n`, the summed conditional covariances of the missing blocks, and the
        observed-data log-likelihood of :math:`(\mu, \Sigma)` (:func:`observed_loglik`), which needs the
        same Cholesky factor of :math:`\Sigma_{oo}` per pattern. ``groups``: each pattern of missing
        entries with its rows and their observed entries (computed once per fit)."""
        filled = X.copy()
        conditional = np.zeros((X.shape[1], X.shape[1]))
        loglik = 0.0
        for missing, rows, X_observed in groups:
            observed = ~missing
            factor = _cholesky(covariance[np.ix_(observed, observed)])
            loglik += _log_density_sum(X_observed - mean[observed], factor[0])
            if missing.any():
                cond_mean, cond_cov = conditional_normal(X_observed, mean, covariance, observed, factor)
                filled[np.ix_(rows, missing)] = cond_mean
                conditional[np.ix_(missing, missing)] += rows.size * cond_cov
        return filled, conditional, loglik

    def _m_step(self, filled: NDArray, conditional: NDArray) -> tuple[NDArray, NDArray]:
        r""":math:`\mu = \frac1N \sum_n \hat x_n`, :math:`\Sigma = \frac1N \sum_n \big[(\hat x_n - \mu)(\hat x_n - \mu)^\top + C_n\big]`
        (+ ``reg_covar`` on the diagonal): :math:`\frac1N \sum_n \mathbb{E}[x_n x_n^\top] - \mu\mu^\top`, centred so
        that nothing cancels when the data lie far from the origin."""
        n = filled.shape[0]
        mean = filled.mean(axis=0)
        centred = filled - mean
        covariance = (centred.T @ centred + conditional) / n
        covariance = (covariance + covariance.T) / 2.0 + self.reg_covar * np.eye(mean.size)
        return mean, covariance

    def impute(self, X: ArrayLike) -> NDArray:
        r"""``X`` with each missing entry replaced by its conditional mean :math:`\mathbb{E}[x_m \mid x_o]`."""
        X = check_fitted_data(self, X, allow_nan=True)
        filled = X.copy()
        for missing, rows in _patterns(np.isnan(X)):
            if missing.any():
                observed = ~missing
                filled[np.ix_(rows, missing)] = conditional_normal(
                    X[np.ix_(rows, observed)], self.mean_, self.covariance_, observed
                )[0]
        return filled
