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

For speed, every sum over points is a large matrix product: the E-step projects a block of points
onto the precision factors of all K components at once (:func:`precision_cholesky`, computed once
per iteration, right after the M-step), and keeps the log joint component-major, (K, N), so that
the log-sum-exp over components and the M-step's sums run over long contiguous rows. Blocks of
rows keep the (K·D × rows) work arrays in the cache instead of an N×K×D temporary.
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
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from ._mixture import MixtureScores
from ._validation import (
    check_covariances,
    check_data,
    check_fitted_data,
    check_n_samples,
    check_option,
    check_parameter_array,
    check_positive_float,
    check_positive_int,
    check_random_state,
    check_sample_weight,
    check_weights,
)
from .kmeans import KMeans, assign_labels, kmeans_plusplus

__all__ = [
    "COVARIANCE_TYPES",
    "GaussianMixture",
    "MixtureParameters",
    "covariance_shape",
    "data_covariances",
    "e_step",
    "fill_parameters",
    "full_covariances",
    "given_parameters",
    "log_gaussian_density",
    "log_joint",
    "m_step",
    "m_step_map",
    "n_parameters",
    "precision_cholesky",
]

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")
LOG_2PI = np.log(2.0 * np.pi)
# Row blocks hold about this many doubles (512 KiB) per work array, so that they stay in the cache.
BLOCK_ELEMENTS = 1 << 16
# Below exp(LOG_NEGLIGIBLE) = 1e-300 a responsibility is set to 0 (see _normalise_log_joint).
LOG_NEGLIGIBLE = np.log(1e-300)


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


def _inverse_cholesky_transpose(covariance: NDArray, component: str) -> NDArray:
    r""":math:`U = L^{-\top}` for :math:`\Sigma = L L^\top`, by a triangular solve."""
    L = _cholesky(covariance, component)
    return solve_triangular(L, np.eye(L.shape[0]), lower=True, check_finite=False).T


def precision_cholesky(covariances: ArrayLike, covariance_type: str = "full") -> NDArray:
    r"""Upper-triangular factors of the precisions, :math:`\Sigma_k^{-1} = U_k U_k^\top`.

    With the Cholesky factor :math:`\Sigma_k = L_k L_k^\top`, :math:`U_k = L_k^{-\top}` (a
    triangular solve; :math:`\Sigma_k` itself is never inverted). The E-step needs only these:

    .. math::

        (x - \mu_k)^\top \Sigma_k^{-1} (x - \mu_k) = \lVert U_k^\top (x - \mu_k) \rVert^2,
        \qquad
        \log\lvert\Sigma_k\rvert = -2 \sum_d \log U_{k,dd}.

    The same convention and shapes as scikit-learn's ``precisions_cholesky_``: for ``"diag"`` and
    ``"spherical"`` the factor is :math:`1/\sigma`, elementwise.

    Parameters
    ----------
    covariances : array-like, shape as given by :func:`covariance_shape`
    covariance_type : {"full", "tied", "diag", "spherical"}

    Returns
    -------
    ndarray
        (K, D, D) for ``"full"``, (D, D) ``"tied"``, (K, D) ``"diag"``, (K,) ``"spherical"``.
    """
    cov = np.asarray(covariances, dtype=float)
    if covariance_type == "full":
        return np.stack([_inverse_cholesky_transpose(c, f"component {k}") for k, c in enumerate(cov)])
    if covariance_type == "tied":
        return _inverse_cholesky_transpose(cov, "the tied covariance")
    if np.any(cov <= 0):
        raise ValueError("a variance is not positive; increase reg_covar or use fewer components.")
    return 1.0 / np.sqrt(cov)


def _log_det_precision_cholesky(factors: NDArray, covariance_type: str, n_features: int) -> NDArray:
    r""":math:`\log\lvert U_k\rvert = \sum_d \log U_{k,dd} = -\tfrac12 \log\lvert\Sigma_k\rvert`, one per component."""
    if covariance_type in ("full", "tied"):
        return np.log(np.diagonal(factors, axis1=-2, axis2=-1)).sum(axis=-1)
    if covariance_type == "diag":
        return np.log(factors).sum(axis=1)
    return n_features * np.log(factors)


def _row_blocks(n_samples: int, n_columns: int) -> Iterable[slice]:
    """Blocks of rows whose (n_columns × rows) work array stays in the CPU cache."""
    rows = max(1, BLOCK_ELEMENTS // n_columns)
    return (slice(start, start + rows) for start in range(0, n_samples, rows))


def _squared_mahalanobis_cholesky(X: NDArray, means: NDArray, factors: NDArray) -> NDArray:
    r""":math:`\lVert U_k^\top (x_n - \mu_k) \rVert^2` for every component and point, shape (K, N).

    Stacking the columns of every :math:`U_k` into one (DK × D) matrix :math:`W` (row
    :math:`(d, k)` is column :math:`d` of :math:`U_k`) turns the K projections of a block of rows
    into one matrix product, :math:`Y = W X_b^\top - c` with :math:`c_{(d,k)} = (U_k^\top \mu_k)_d`;
    squaring :math:`Y` and adding its D slabs of shape (K, rows) gives the block's distances. The
    blocks keep :math:`Y` in the cache.
    """
    K, D = means.shape
    stacked = factors.transpose(2, 0, 1).reshape(D * K, D)
    projected_means = np.einsum("kd,kde->ek", means, factors).reshape(D * K, 1)
    out = np.empty((K, X.shape[0]))
    for block in _row_blocks(X.shape[0], D * K):
        Y = stacked @ X[block].T
        Y -= projected_means
        Y *= Y
        np.sum(Y.reshape(D, K, -1), axis=0, out=out[:, block])
    return out


def _squared_mahalanobis_tied(X: NDArray, means: NDArray, factor: NDArray) -> NDArray:
    r""":math:`\lVert U^\top (x_n - \mu_k) \rVert^2` for one shared precision factor :math:`U`, shape (K, N).

    Every point is projected once, :math:`y_n = U^\top (x_n - s)`, and every mean once,
    :math:`m_k = U^\top (\mu_k - s)`, with :math:`s` the mean of the means; then
    :math:`\lVert y_n \rVert^2 - 2\, m_k^\top y_n + \lVert m_k \rVert^2` is one matrix product over
    all components, per block of rows (the shift keeps the expansion from cancelling far from the
    origin).
    """
    shift = means.mean(axis=0)
    projected_means = (means - shift) @ factor
    constant = np.einsum("kd,kd->k", projected_means, projected_means)[:, None]
    out = np.empty((means.shape[0], X.shape[0]))
    for block in _row_blocks(X.shape[0], X.shape[1]):
        Y = (X[block] - shift) @ factor
        maha = -2.0 * (projected_means @ Y.T)
        maha += np.einsum("nd,nd->n", Y, Y)
        maha += constant
        np.maximum(maha, 0.0, out=out[:, block])  # round-off can make a zero distance negative
    return out


class _DiagonalExpansion(NamedTuple):
    r"""What every block of rows shares in :math:`\sum_d \lambda_{kd} (x_{nd} - \mu_{kd})^2`, diagonal
    (:math:`\lambda_k` of shape (D,)) or spherical (:math:`\lambda_k` a scalar).

    With :math:`y_n = x_n - s` and :math:`m_k = \mu_k - s` for the mean :math:`s` of the means, the
    sum is :math:`\lambda_k \cdot y_n^2 - 2 (\lambda_k m_k) \cdot y_n + \lambda_k \cdot m_k^2`. Shifting
    by :math:`s` first keeps the expansion from cancelling for data far from the origin compared
    with their spread.
    """

    shift: NDArray  # s
    precisions: NDArray  # lambda: (K, D), or (K,) for spherical covariances
    weighted_means: NDArray  # lambda_k m_k (diagonal); m_k (spherical: lambda_k multiplies at the end)
    constant: NDArray  # lambda_k . m_k^2 (diagonal); ||m_k||^2 (spherical), shape (K, 1)


def _diagonal_expansion(means: NDArray, precisions: NDArray) -> _DiagonalExpansion:
    """The shared terms of :class:`_DiagonalExpansion`, once per set of parameters."""
    shift = means.mean(axis=0)
    centred_means = means - shift
    weighted_means = precisions * centred_means if precisions.ndim == 2 else centred_means
    constant = np.einsum("kd,kd->k", weighted_means, centred_means)[:, None]
    return _DiagonalExpansion(shift, precisions, weighted_means, constant)


def _centred_squares(Y: NDArray, expansion: _DiagonalExpansion) -> NDArray:
    r""":math:`y_n^2` elementwise (diagonal), or :math:`\lVert y_n \rVert^2` (spherical)."""
    return Y * Y if expansion.precisions.ndim == 2 else np.einsum("nd,nd->n", Y, Y)


def _squared_mahalanobis_centred(expansion: _DiagonalExpansion, Y: NDArray, squares: NDArray) -> NDArray:
    r"""The sum of :class:`_DiagonalExpansion` for a block of centred rows :math:`y_n = x_n - s` and their
    :func:`_centred_squares`, shape (K, rows): two matrix products over all components (diagonal), or
    one and the row norms (spherical, half the products: its :math:`\lambda_k` do not vary along :math:`d`)."""
    if expansion.precisions.ndim == 2:
        maha = expansion.precisions @ squares.T
        maha -= 2.0 * (expansion.weighted_means @ Y.T)
        maha += expansion.constant
        return np.maximum(maha, 0.0, out=maha)  # round-off can make a zero distance negative
    maha = -2.0 * (expansion.weighted_means @ Y.T)
    maha += squares
    maha += expansion.constant
    np.maximum(maha, 0.0, out=maha)
    maha *= expansion.precisions[:, None]
    return maha


def _squared_mahalanobis_diagonal(X: NDArray, means: NDArray, precisions: NDArray) -> NDArray:
    r""":math:`\sum_d \lambda_{kd} (x_{nd} - \mu_{kd})^2` for diagonal (K, D) or spherical (K,) precisions
    :math:`\lambda`, shape (K, N), per block of rows (see :class:`_DiagonalExpansion`)."""
    expansion = _diagonal_expansion(means, precisions)
    out = np.empty((means.shape[0], X.shape[0]))
    for block in _row_blocks(X.shape[0], X.shape[1]):
        Y = X[block] - expansion.shift
        out[:, block] = _squared_mahalanobis_centred(expansion, Y, _centred_squares(Y, expansion))
    return out


def _log_gaussian_density_kn(X: NDArray, means: NDArray, factors: NDArray, covariance_type: str) -> NDArray:
    r""":math:`\log \mathcal{N}(x_n \mid \mu_k, \Sigma_k)` from the precision factors, shape (K, N) (component-major)."""
    D = means.shape[1]
    if covariance_type == "full":
        maha = _squared_mahalanobis_cholesky(X, means, factors)
    elif covariance_type == "tied":
        maha = _squared_mahalanobis_tied(X, means, factors)
    else:
        maha = _squared_mahalanobis_diagonal(X, means, factors**2)
    maha *= -0.5
    maha += _log_normaliser(factors, covariance_type, D)
    return maha


def _log_normaliser(factors: NDArray, covariance_type: str, n_features: int) -> NDArray:
    r""":math:`\log\lvert U_k \rvert - \tfrac{D}{2} \log 2\pi`, the constant of each log density, shape (K, 1)."""
    log_det = _log_det_precision_cholesky(factors, covariance_type, n_features)
    return np.reshape(log_det - 0.5 * n_features * LOG_2PI, (-1, 1))  # tied: one value for every component


def _log_weights(weights: NDArray) -> NDArray:
    r""":math:`\log \pi_k`, shape (K, 1); a weight of exactly 0 gives :math:`-\infty`, which the
    normalisation handles."""
    with np.errstate(divide="ignore"):
        return np.log(weights)[:, None]


def log_gaussian_density(
    X: NDArray, means: NDArray, covariances: NDArray, covariance_type: str = "full"
) -> NDArray:
    r"""The log density of every point under every component.

    .. math::

        \log \mathcal{N}(x_n \mid \mu_k, \Sigma_k)
        = -\tfrac12 \left[ D \log 2\pi + \log\lvert\Sigma_k\rvert
          + (x_n - \mu_k)^\top \Sigma_k^{-1} (x_n - \mu_k) \right]

    With the precision factors :math:`\Sigma_k^{-1} = U_k U_k^\top` of :func:`precision_cholesky`,
    :math:`\log\lvert\Sigma_k\rvert = -2\sum_d \log U_{k,dd}` and the Mahalanobis term is
    :math:`\lVert U_k^\top(x_n - \mu_k)\rVert^2`: :math:`\Sigma_k` is never inverted. The K components are
    computed together, as matrix products over blocks of rows: full and tied covariances through
    the stacked factors, diagonal and spherical ones through the expansion
    :math:`\lambda \cdot y^2 - 2 (\lambda m) \cdot y + \lambda \cdot m^2` of
    :math:`\sum_d \lambda_{kd} (x_{nd} - \mu_{kd})^2`, on data and means shifted by the mean of the
    means (:math:`y = x - s`, :math:`m = \mu - s`) so that it does not cancel for data far from the
    origin compared with their spread.

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
    factors = precision_cholesky(covariances, covariance_type)
    return _log_gaussian_density_kn(X, means, factors, covariance_type).T


def _log_joint_kn(X: NDArray, weights: NDArray, means: NDArray, factors: NDArray, covariance_type: str) -> NDArray:
    r""":math:`\log \pi_k + \log \mathcal{N}(x_n \mid \mu_k, \Sigma_k)` from the precision factors, shape (K, N)."""
    lj = _log_gaussian_density_kn(X, means, factors, covariance_type)
    lj += _log_weights(weights)
    return lj


def log_joint(X: NDArray, weights: NDArray, means: NDArray, covariances: NDArray, covariance_type: str) -> NDArray:
    r""":math:`\log \pi_k + \log \mathcal{N}(x_n \mid \mu_k, \Sigma_k)`, of shape (n_samples, n_components)."""
    factors = precision_cholesky(covariances, covariance_type)
    return _log_joint_kn(X, weights, means, factors, covariance_type).T


def _normalise_log_joint(log_joint_kn: NDArray) -> tuple[NDArray, NDArray]:
    r"""Responsibilities and :math:`\log p(x_n)` from the (K, N) log joint, by log-sum-exp over components.

    .. math::

        m_n = \max_k \ell_{nk}, \qquad
        \log p(x_n) = m_n + \log \sum_k e^{\ell_{nk} - m_n}, \qquad
        \gamma_{nk} = \frac{e^{\ell_{nk} - m_n}}{\sum_j e^{\ell_{nj} - m_n}}

    Every exponent is at most 0 and one of them is 0, so nothing overflows and the sum is at least 1.
    Terms :math:`e^{\ell_{nk} - m_n} < 10^{-300}` are set to exactly 0. They are below round-off in
    every sum they enter (:math:`N_k` carries an added :math:`10\,\varepsilon_{\text{mach}}`), and
    left alone they become subnormal numbers, on which ``exp`` and matrix products run about a
    hundred times slower.

    A point with zero density under every component (:math:`m_n = -\infty`: its squared
    Mahalanobis distance overflows) has :math:`\log p(x_n) = -\infty`, as in scikit-learn, and
    uniform responsibilities, since its posterior is 0/0.
    Returns the (K, N) responsibilities and the (N,) log-likelihoods.
    """
    top = log_joint_kn.max(axis=0)
    nowhere = top == -np.inf
    resp = log_joint_kn - np.where(nowhere, 0.0, top)
    resp[:, nowhere] = 0.0
    negligible = resp < LOG_NEGLIGIBLE
    np.maximum(resp, LOG_NEGLIGIBLE, out=resp)
    np.exp(resp, out=resp)
    resp[negligible] = 0.0
    total = resp.sum(axis=0)
    resp /= total
    log_px = top + np.log(total)
    return resp, log_px


def _posterior_kn(
    X: NDArray, weights: NDArray, means: NDArray, factors: NDArray, covariance_type: str
) -> tuple[NDArray, NDArray]:
    """The (K, N) responsibilities and (N,) log-likelihoods: :func:`_normalise_log_joint` of
    :func:`_log_joint_kn`, per block of rows, so that each block's log joint is normalised while it
    is in the cache."""
    resp_kn, log_px = np.empty((means.shape[0], X.shape[0])), np.empty(X.shape[0])
    for block in _row_blocks(X.shape[0], means.shape[0]):
        resp_kn[:, block], log_px[block] = _normalise_log_joint(
            _log_joint_kn(X[block], weights, means, factors, covariance_type)
        )
    return resp_kn, log_px


def _e_step(
    X: NDArray, weights: NDArray, means: NDArray, factors: NDArray, covariance_type: str
) -> tuple[NDArray, float]:
    """:func:`e_step` from the precision factors of :func:`precision_cholesky`."""
    resp_kn, log_px = _posterior_kn(X, weights, means, factors, covariance_type)
    return resp_kn.T, float(log_px.sum())


def _weighted_e_step(
    X: NDArray, params: MixtureParameters, factors: NDArray, covariance_type: str, sample_weight: NDArray | None
) -> tuple[NDArray, float]:
    r"""The E-step with row weights: :math:`w_n \gamma_{nk}` and :math:`\sum_n w_n \log p(x_n \mid \theta)`
    (:func:`_e_step` when ``sample_weight`` is None)."""
    if sample_weight is None:
        return _e_step(X, params.weights, params.means, factors, covariance_type)
    resp_kn, log_px = _posterior_kn(X, params.weights, params.means, factors, covariance_type)
    resp_kn *= sample_weight
    return resp_kn.T, float(sample_weight @ log_px)


class _DiagonalSums(NamedTuple):
    r"""What the M-step of diagonal and spherical covariances needs of the data, about a shift :math:`s`.

    :math:`N_k = \sum_n \gamma_{nk}`, :math:`\sum_n \gamma_{nk} y_n` and :math:`\sum_n \gamma_{nk}
    y_n^2` (elementwise; spherical: :math:`\lVert y_n \rVert^2`), with :math:`y_n = x_n - s`.
    """

    counts: NDArray
    first: NDArray
    second: NDArray
    shift: NDArray


def _diagonal_e_step(
    X: NDArray, params: MixtureParameters, factors: NDArray, covariance_type: str, sample_weight: NDArray | None
) -> tuple[_DiagonalSums, float]:
    r"""The E-step and the sums of the next M-step in one pass, for diagonal and spherical covariances.

    Each block of rows is centred once, :math:`y_n = x_n - s` about the mean :math:`s` of the current
    means (which keeps the variances from cancelling for data far from the origin), and its squares
    serve both the log densities (:func:`_squared_mahalanobis_centred`) and the sums. The block is
    normalised into responsibilities (times :math:`w_n` with ``sample_weight``) and, while it is in
    the cache, added to the sums of :class:`_DiagonalSums`. No (N, K) array is kept. Returns the sums
    and the (weighted) log-likelihood.
    """
    K, D = params.means.shape
    expansion = _diagonal_expansion(params.means, factors**2)
    log_constant = _log_weights(params.weights) + _log_normaliser(factors, covariance_type, D)
    counts, first = np.zeros(K), np.zeros((K, D))
    second = np.zeros((K, D)) if covariance_type == "diag" else np.zeros(K)
    loglik = 0.0
    for block in _row_blocks(X.shape[0], max(K, D)):
        Y = X[block] - expansion.shift
        squares = _centred_squares(Y, expansion)
        log_joint_kn = _squared_mahalanobis_centred(expansion, Y, squares)
        log_joint_kn *= -0.5
        log_joint_kn += log_constant
        resp_kn, log_px = _normalise_log_joint(log_joint_kn)
        if sample_weight is not None:
            resp_kn *= sample_weight[block]
            log_px *= sample_weight[block]
        loglik += log_px.sum()
        counts += resp_kn.sum(axis=1)
        first += resp_kn @ Y
        second += resp_kn @ squares
    return _DiagonalSums(counts, first, second, expansion.shift), float(loglik)


def _diagonal_m_step(sums: _DiagonalSums, covariance_type: str, reg_covar: float) -> MixtureParameters:
    r""":func:`m_step` for diagonal and spherical covariances from the sums of :func:`_diagonal_e_step`.

    .. math:: \mu_k = s + \frac{\sum_n \gamma_{nk} y_n}{N_k}, \qquad
        \sigma^2_{kd} = \frac{\sum_n \gamma_{nk} y_{nd}^2 - N_k (\mu_{kd} - s_d)^2}{N_k} + \epsilon

    (spherical: the mean over :math:`d`), with :math:`10\,\varepsilon_{\text{mach}}` added to the
    :math:`N_k` that divide, as in :func:`m_step`.
    """
    Nk = sums.counts + 10 * np.finfo(float).eps
    means = (sums.first + sums.counts[:, None] * sums.shift) / Nk[:, None]  # sum_n gamma x_n / N_k
    centred_means = means - sums.shift
    if covariance_type == "diag":
        scatter = sums.second - sums.counts[:, None] * centred_means**2
        covariances = np.maximum(scatter, 0.0) / Nk[:, None] + reg_covar
    else:
        scatter = sums.second - sums.counts * np.einsum("kd,kd->k", centred_means, centred_means)
        covariances = np.maximum(scatter, 0.0) / (means.shape[1] * Nk) + reg_covar
    return MixtureParameters(Nk / Nk.sum(), means, covariances)


def e_step(
    X: NDArray, weights: NDArray, means: NDArray, covariances: NDArray, covariance_type: str = "full"
) -> tuple[NDArray, float]:
    r"""The E-step: responsibilities and the observed-data log-likelihood.

    .. math::

        \log p(x_n \mid \theta) = \operatorname{logsumexp}_k \left[ \log\pi_k + \log\mathcal{N}(x_n \mid \mu_k, \Sigma_k) \right],
        \qquad
        \gamma_{nk} = \exp\!\left( \log\pi_k + \log\mathcal{N}(x_n \mid \mu_k, \Sigma_k) - \log p(x_n \mid \theta) \right)

    Internally the log joint is computed component-major, as a (K, N) array, so that the
    log-sum-exp over components runs over long contiguous rows; the responsibilities are returned
    as an (N, K) view of it.

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
    return _e_step(X, weights, means, precision_cholesky(covariances, covariance_type), covariance_type)


def _weighted_scatter(X: NDArray, resp_kn: NDArray, means: NDArray) -> NDArray:
    r""":math:`S_k = \sum_n \gamma_{nk} (x_n - \mu_k)(x_n - \mu_k)^\top`, shape (K, D, D).

    Centred at :math:`\mu_k`, so no raw second moments cancel. Each block of points is transposed
    once, to (D, rows), so that centring and weighting run along contiguous rows; each component is
    then one (D × rows)(rows × D) product, with the block in the cache.
    """
    K, D = means.shape
    scatter = np.zeros((K, D, D))
    for block in _row_blocks(X.shape[0], D):
        X_block = np.ascontiguousarray(X[block].T)
        for k in range(K):
            centred = X_block - means[k][:, None]
            scatter[k] += (centred * resp_kn[k, block]) @ centred.T
    return scatter


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
    (both as in scikit-learn). The sums over points are matrix products with the (K, N)
    responsibilities.

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
    n_features = X.shape[1]
    resp_kn = np.ascontiguousarray(np.asarray(responsibilities).T)  # a view when it came from e_step
    Nk = resp_kn.sum(axis=1) + 10 * np.finfo(float).eps
    weights = Nk / Nk.sum()
    means = resp_kn @ X / Nk[:, None]
    if covariance_type == "full":
        covariances = _weighted_scatter(X, resp_kn, means) / Nk[:, None, None]
        covariances += reg_covar * np.eye(n_features)
    elif covariance_type == "tied":
        covariances = _pooled_scatter(X, resp_kn, means) / Nk.sum()
        covariances.flat[:: n_features + 1] += reg_covar
    elif covariance_type == "diag":
        covariances = _weighted_diagonal_scatter(X, resp_kn, means) / Nk[:, None] + reg_covar
    else:
        covariances = _weighted_spherical_scatter(X, resp_kn, means) / (n_features * Nk) + reg_covar
    return MixtureParameters(weights, means, covariances)


def _pooled_scatter(X: NDArray, resp_kn: NDArray, means: NDArray) -> NDArray:
    r""":math:`\sum_k \sum_n \gamma_{nk} (x_n - \mu_k)(x_n - \mu_k)^\top`, the tied covariance's scatter, (D, D).

    With :math:`y_n = x_n - s` (:math:`s` the mean of the means) and row weights
    :math:`w_n = \sum_k \gamma_{nk}`, it is :math:`\sum_n w_n y_n y_n^\top - \sum_k N_k (\mu_k - s)(\mu_k - s)^\top`:
    one weighted product :math:`Y^\top W Y` over the data instead of one per component.
    """
    shift = means.mean(axis=0)
    row_weights = resp_kn.sum(axis=0)
    scatter = np.zeros((X.shape[1], X.shape[1]))
    for block in _row_blocks(X.shape[0], X.shape[1]):
        Y = X[block] - shift
        scatter += (Y * row_weights[block, None]).T @ Y
    centred_means = means - shift
    scatter -= (centred_means * resp_kn.sum(axis=1)[:, None]).T @ centred_means
    return (scatter + scatter.T) / 2.0


def _weighted_diagonal_scatter(X: NDArray, resp_kn: NDArray, means: NDArray) -> NDArray:
    r""":math:`\sum_n \gamma_{nk} (x_{nd} - \mu_{kd})^2`, shape (K, D): one matrix product per block of rows.

    With :math:`y_n = x_n - s` for the mean :math:`s` of the means, the scatter is
    :math:`\sum_n \gamma_{nk} y_n^2 - N_k (\mu_k - s)^2` (the weighted mean of :math:`y` is
    :math:`\mu_k - s`), so one product of the responsibilities with the squared rows gives every
    component at once. The shift keeps the difference from cancelling for data far from the origin.
    """
    shift = means.mean(axis=0)
    second_moments = np.zeros_like(means)
    for block in _row_blocks(X.shape[0], X.shape[1]):
        Y = X[block] - shift
        second_moments += resp_kn[:, block] @ (Y * Y)
    Nk = resp_kn.sum(axis=1)
    return np.maximum(second_moments - Nk[:, None] * (means - shift) ** 2, 0.0)


def _weighted_spherical_scatter(X: NDArray, resp_kn: NDArray, means: NDArray) -> NDArray:
    r""":math:`\sum_n \gamma_{nk} \lVert x_n - \mu_k \rVert^2`, shape (K,): the trace of :func:`_weighted_diagonal_scatter`.

    As there, :math:`\sum_n \gamma_{nk} \lVert y_n \rVert^2 - N_k \lVert \mu_k - s \rVert^2` with :math:`y_n = x_n - s`,
    but only the squared row norms enter the product with the responsibilities, not every
    :math:`y_{nd}^2`.
    """
    shift = means.mean(axis=0)
    second_moments = np.zeros(means.shape[0])
    for block in _row_blocks(X.shape[0], X.shape[1]):
        Y = X[block] - shift
        second_moments += resp_kn[:, block] @ np.einsum("nd,nd->n", Y, Y)
    Nk = resp_kn.sum(axis=1)
    return np.maximum(second_moments - Nk * np.einsum("kd,kd->k", means - shift, means - shift), 0.0)


def m_step_map(
    X: NDArray, responsibilities: NDArray, prior_scale: ArrayLike, prior_dof: float
) -> MixtureParameters:
    r"""The M-step of MAP-EM: full covariances with an inverse-Wishart prior :math:`\mathcal{W}^{-1}(\Psi, \nu)`.

    Each :math:`\Sigma_k` has the conjugate prior
    :math:`p(\Sigma_k) \propto \lvert\Sigma_k\rvert^{-(\nu + D + 1)/2} \exp(-\tfrac12 \operatorname{tr} \Psi \Sigma_k^{-1})`;
    the weights and means have flat priors. Maximising the expected complete-data log-likelihood
    plus :math:`\sum_k \log p(\Sigma_k)` gives the ML weights and means of :func:`m_step` and

    .. math::

        \Sigma_k = \frac{S_k + \Psi}{N_k + \nu + D + 1},
        \qquad S_k = \sum_n \gamma_{nk} (x_n - \mu_k)(x_n - \mu_k)^\top,

    the mode of the inverse-Wishart posterior :math:`\mathcal{W}^{-1}(\Psi + S_k, \nu + N_k)`.
    Every eigenvalue of :math:`\Sigma_k` is at least :math:`\lambda_{\min}(\Psi) / (N + \nu + D + 1)`,
    so no covariance can become singular and the MAP objective
    :math:`\log p(X \mid \theta) + \sum_k \log p(\Sigma_k)` is bounded; EM with this M-step never
    lowers it. No ``reg_covar`` is added. The weights, means and scatter are computed as in :func:`m_step`.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    responsibilities : ndarray of shape (n_samples, n_components)
    prior_scale : array-like of shape (n_features, n_features)
        :math:`\Psi`, symmetric positive definite.
    prior_dof : float
        :math:`\nu > D - 1`, the prior's degrees of freedom.

    Returns
    -------
    MixtureParameters
        ``(weights, means, covariances)`` with full (K, D, D) covariances.
    """
    n_features = X.shape[1]
    scale = check_covariances(prior_scale, "prior_scale", "tied", (n_features, n_features))
    if not np.isfinite(prior_dof) or prior_dof <= n_features - 1:
        raise ValueError(f"prior_dof must exceed n_features - 1 = {n_features - 1}; got {prior_dof}.")
    resp_kn = np.ascontiguousarray(np.asarray(responsibilities).T)
    Nk = resp_kn.sum(axis=1) + 10 * np.finfo(float).eps
    means = resp_kn @ X / Nk[:, None]
    scatter = _weighted_scatter(X, resp_kn, means)
    covariances = (scatter + scale) / (Nk + prior_dof + n_features + 1)[:, None, None]
    return MixtureParameters(Nk / Nk.sum(), means, covariances)


def data_covariances(X: NDArray, n_components: int, covariance_type: str, reg_covar: float) -> NDArray:
    r"""The data covariance :math:`\frac1N \sum_n (x_n - \bar x)(x_n - \bar x)^\top + \epsilon I` for every component,
    in the shape of ``covariance_type`` (its diagonal for "diag", the diagonal's mean for "spherical")."""
    D = X.shape[1]
    data_cov = np.atleast_2d(np.cov(X, rowvar=False, bias=True)) + reg_covar * np.eye(D)
    diagonal = np.diagonal(data_cov)
    return {
        "full": np.broadcast_to(data_cov, (n_components, D, D)).copy(),
        "tied": data_cov,
        "diag": np.tile(diagonal, (n_components, 1)),
        "spherical": np.full(n_components, diagonal.mean()),
    }[covariance_type]


def given_parameters(estimator: Any, n_components: int, n_features: int) -> MixtureParameters:
    """An estimator's ``weights_init``, ``means_init`` and ``covariances_init``, checked; None where not given."""
    K, D = n_components, n_features
    return MixtureParameters(
        None if estimator.weights_init is None else check_weights(estimator.weights_init, "weights_init", K),
        None if estimator.means_init is None else check_parameter_array(estimator.means_init, "means_init", (K, D)),
        None
        if estimator.covariances_init is None
        else check_covariances(
            estimator.covariances_init, "covariances_init", estimator.covariance_type,
            covariance_shape(estimator.covariance_type, K, D),
        ),
    )


def fill_parameters(given: MixtureParameters, start: MixtureParameters) -> MixtureParameters:
    """θ₀: each given parameter, and the start's value where none was given."""
    return MixtureParameters(*(g if g is not None else s for g, s in zip(given, start, strict=True)))


class GaussianMixture(MixtureScores, DensityMixin, BaseEstimator):
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
    precisions_, precisions_cholesky_ : ndarray
        :math:`\Sigma_k^{-1}` and its factor :math:`U_k` (:math:`\Sigma_k^{-1} = U_k U_k^\top`), shaped as
        ``covariances_`` (scikit-learn's attributes), computed from ``covariances_`` when read.
    converged_ : bool
    n_iter_ : int
        Number of EM iterations (M-steps) of the kept fit.
    lower_bound_ : float
        The log-likelihood per sample of the fitted parameters, ``loglik_history_[-1] / n_samples``.
        scikit-learn's attribute of this name belongs to the parameters one M-step earlier (it
        stops after the M-step that follows its last E-step), so at the same ``tol`` emlib returns
        the parameters its last recorded log-likelihood belongs to, one M-step short of
        scikit-learn's.
    loglik_history_ : ndarray of shape (n_iter_ + 1,)
        The total observed-data log-likelihood :math:`\sum_n \log p(x_n \mid \theta_t)` in nats,
        for :math:`\theta_0, \theta_1, \ldots`. With ``reg_covar=0`` EM guarantees it never
        decreases (beyond round-off). With ``reg_covar > 0`` the covariance update is no longer the
        exact maximiser of the M-step, so it can drop: by about :math:`N_k (\epsilon / s)^2 / 4` for
        a component with variance :math:`s` along some direction and :math:`\epsilon` = ``reg_covar``
        (the loss in the M-step's objective), negligible while ``reg_covar`` is far below the
        variances, as at the default 1e-6.
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
    def _check_parameters(self, X: NDArray) -> MixtureParameters:
        """Validate every hyper-parameter against ``X``; return the checked initial parameters."""
        K = check_positive_int(self.n_components, "n_components")
        check_option(self.covariance_type, "covariance_type", COVARIANCE_TYPES)
        check_option(self.init_params, "init_params", INIT_PARAMS)
        check_positive_float(self.tol, "tol")
        check_positive_float(self.reg_covar, "reg_covar", allow_zero=True)
        check_positive_int(self.max_iter, "max_iter")
        check_positive_int(self.n_init, "n_init")
        check_n_samples(X, K)
        return given_parameters(self, K, X.shape[1])

    # -------------------------------------------------------------------- fit
    def fit(self, X: ArrayLike, y: Any = None, sample_weight: ArrayLike | None = None) -> GaussianMixture:
        r"""Fit the mixture by EM from ``n_init`` starts and keep the best.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional
            :math:`w_n \ge 0`. EM then maximises :math:`\sum_n w_n \log p(x_n \mid \theta)`: the M-step
            weights each row's responsibilities by :math:`w_n` (an integer weight counts as that
            many copies of the row), ``loglik_history_`` is the weighted sum, and ``tol`` applies
            per unit of weight. The k-means start is weighted too. Default: every row counts once.
            (scikit-learn's ``GaussianMixture`` has no such option.)

        Returns
        -------
        self
        """
        X = check_data(X)
        given = self._check_parameters(X)
        weights = check_sample_weight(sample_weight, X.shape[0])
        rng = check_random_state(self.random_state)
        runs = (self._em(X, self._initial_parameters(X, given, rng, weights), weights) for _ in range(self.n_init))
        return self._keep_best(X, runs, weights)

    def fit_predict(self, X: ArrayLike, y: Any = None) -> NDArray[np.intp]:
        """Fit, then the most responsible component of each row of ``X`` (as scikit-learn's)."""
        return self.fit(X, y).predict(X)

    def _keep_best(
        self, X: NDArray, runs: Iterable[tuple[MixtureParameters, NDArray, bool]], sample_weight: NDArray | None = None
    ) -> Self:
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
        self.lower_bound_ = float(history[-1] / (X.shape[0] if sample_weight is None else sample_weight.sum()))
        self.converged_ = converged
        self.n_iter_ = len(history) - 1
        self.n_features_in_ = X.shape[1]
        return self

    def _initial_parameters(
        self, X: NDArray, given: MixtureParameters, rng: np.random.Generator, sample_weight: NDArray | None = None
    ) -> MixtureParameters:
        """θ₀: the given initial parameters, the rest from ``init_params`` (weighted rows if given)."""
        if all(v is not None for v in given):
            return given
        K, N = self.n_components, X.shape[0]
        if self.init_params == "random_from_data":
            start = MixtureParameters(
                np.full(K, 1.0 / K),
                X[rng.choice(N, size=K, replace=False)].copy(),
                data_covariances(X, K, self.covariance_type, self.reg_covar),
            )
        else:
            resp = self._initial_responsibilities(X, rng, sample_weight)
            if sample_weight is not None:
                resp *= sample_weight[:, None]
            start = m_step(X, resp, self.covariance_type, self.reg_covar)
        return fill_parameters(given, start)

    def _initial_responsibilities(
        self, X: NDArray, rng: np.random.Generator, sample_weight: NDArray | None = None
    ) -> NDArray:
        K = self.n_components
        if self.init_params == "random":
            resp = rng.uniform(size=(X.shape[0], K))
            return resp / resp.sum(axis=1, keepdims=True)
        if self.init_params == "kmeans":
            labels = KMeans(K, n_init=1, random_state=rng).fit(X, sample_weight=sample_weight).labels_
        else:  # "k-means++"
            labels = assign_labels(X, kmeans_plusplus(X, K, rng, sample_weight=sample_weight))[0]
        resp = np.zeros((X.shape[0], K))
        resp[np.arange(X.shape[0]), labels] = 1.0
        return resp

    def _em(
        self, X: NDArray, params: MixtureParameters, sample_weight: NDArray | None = None
    ) -> tuple[MixtureParameters, NDArray, bool]:
        """EM from θ₀ = ``params``: (final parameters, log-likelihood history, converged).

        Each iteration factorises the new covariances once, right after the M-step; the E-step
        works from those precision factors (:func:`precision_cholesky`). With ``sample_weight``
        the responsibilities handed to the M-step and the log-likelihood are weighted by it.
        """
        factors = precision_cholesky(params.covariances, self.covariance_type)
        posterior, loglik = self._e_step(X, params, factors, sample_weight)
        history = [loglik]
        converged = False
        total_weight = X.shape[0] if sample_weight is None else sample_weight.sum()
        for _ in range(self.max_iter):
            params = self._m_step(X, posterior)
            factors = precision_cholesky(params.covariances, self.covariance_type)
            posterior, loglik = self._e_step(X, params, factors, sample_weight)
            history.append(loglik)
            if abs(history[-1] - history[-2]) < self.tol * total_weight:
                converged = True
                break
        return params, np.asarray(history), converged

    def _e_step(
        self, X: NDArray, params: MixtureParameters, factors: NDArray, sample_weight: NDArray | None
    ) -> tuple[NDArray | _DiagonalSums, float]:
        """The E-step, summarised for the M-step: the responsibilities, or, for diagonal and spherical
        covariances, directly the sums their M-step needs (one pass over the data instead of two)."""
        if self.covariance_type in ("diag", "spherical"):
            return _diagonal_e_step(X, params, factors, self.covariance_type, sample_weight)
        return _weighted_e_step(X, params, factors, self.covariance_type, sample_weight)

    def _m_step(self, X: NDArray, posterior: NDArray | _DiagonalSums) -> MixtureParameters:
        """The M-step from what :meth:`_e_step` returned."""
        if isinstance(posterior, _DiagonalSums):
            return _diagonal_m_step(posterior, self.covariance_type, self.reg_covar)
        return m_step(X, posterior, self.covariance_type, self.reg_covar)

    # ------------------------------------------------------------ inference
    def _checked(self, X: ArrayLike) -> NDArray:
        return check_fitted_data(self, X)

    @property
    def precisions_cholesky_(self) -> NDArray:
        r"""The precision factors :math:`U_k`, :math:`\Sigma_k^{-1} = U_k U_k^\top` (:func:`precision_cholesky`)."""
        check_is_fitted(self)
        return precision_cholesky(self.covariances_, self.covariance_type)

    @property
    def precisions_(self) -> NDArray:
        r"""The precisions :math:`\Sigma_k^{-1} = U_k U_k^\top`, shaped as ``covariances_``."""
        factors = self.precisions_cholesky_
        if self.covariance_type == "full":
            return factors @ factors.transpose(0, 2, 1)
        if self.covariance_type == "tied":
            return factors @ factors.T
        return factors**2

    @property
    def _params(self) -> MixtureParameters:
        return MixtureParameters(self.weights_, self.means_, self.covariances_)

    def score_samples(self, X: ArrayLike) -> NDArray:
        r""":math:`\log p(x_n \mid \theta)` for each row of ``X``."""
        X = self._checked(X)
        weights, means, covariances = self._params
        factors = precision_cholesky(covariances, self.covariance_type)
        return _normalise_log_joint(_log_joint_kn(X, weights, means, factors, self.covariance_type))[1]

    def predict_proba(self, X: ArrayLike) -> NDArray:
        r"""The responsibilities :math:`\gamma_{nk} = p(z_n = k \mid x_n, \theta)`."""
        return e_step(self._checked(X), *self._params, self.covariance_type)[0]

    def _n_parameters(self) -> int:
        return n_parameters(self.covariance_type, self.n_components, self.n_features_in_)

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
        rng = check_random_state(self.random_state)
        z = rng.choice(self.n_components, size=n_samples, p=self.weights_)
        covariances = full_covariances(self.covariances_, self.covariance_type, self.n_components, self.n_features_in_)
        factors = np.linalg.cholesky(covariances)
        noise = rng.standard_normal((n_samples, self.n_features_in_))
        X = self.means_[z] + np.einsum("nij,nj->ni", factors[z], noise)
        return X, z
