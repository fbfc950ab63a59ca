r"""Semi-supervised EM for a Gaussian mixture: labelled and unlabelled rows together.

Rows with a label :math:`y_n \in \{0, \ldots, K-1\}` have a known component; rows with
``y = -1`` (scikit-learn's convention) do not. EM maximises

.. math::

    \ell_\lambda(\theta) = \sum_{n \in \mathcal{L}} \log\big(\pi_{y_n} \mathcal{N}(x_n \mid \mu_{y_n}, \Sigma_{y_n})\big)
    + \lambda \sum_{n \in \mathcal{U}} \log \sum_k \pi_k \mathcal{N}(x_n \mid \mu_k, \Sigma_k),

the labelled complete-data log-likelihood plus :math:`\lambda` (``unlabeled_weight``) times the
unlabelled observed-data log-likelihood (Nigam et al. 2000). In the E-step the labelled rows keep
one-hot responsibilities (they are *clamped*); in the M-step the unlabelled rows' responsibilities
are multiplied by :math:`\lambda`, which scales their sufficient statistics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import logsumexp

from ._validation import check_data, check_positive_float, check_random_state
from .gmm import GaussianMixture, MixtureParameters, e_step, log_joint, m_step

if TYPE_CHECKING:  # only for the annotation: Tags is new in scikit-learn 1.6
    from sklearn.utils import Tags

__all__ = ["SemiSupervisedGaussianMixture", "weighted_loglik"]


def _one_hot(labels: NDArray[np.intp], n_components: int) -> NDArray:
    resp = np.zeros((labels.size, n_components))
    resp[np.arange(labels.size), labels] = 1.0
    return resp


def weighted_loglik(
    X: NDArray, y: NDArray[np.intp], params: MixtureParameters, covariance_type: str, unlabeled_weight: float
) -> float:
    r"""The objective :math:`\ell_\lambda(\theta)`: labelled complete-data plus λ × unlabelled observed-data log-likelihood."""
    lj = log_joint(X, *params, covariance_type)
    labelled = y >= 0
    complete = lj[labelled, y[labelled]].sum()
    unlabelled = logsumexp(lj[~labelled], axis=1).sum() if (~labelled).any() else 0.0
    return float(complete + unlabeled_weight * unlabelled)


class SemiSupervisedGaussianMixture(GaussianMixture):
    r"""A Gaussian mixture fitted by EM to partly labelled data; ``y = -1`` marks an unlabelled row.

    Parameters
    ----------
    n_components : int, default=1
    unlabeled_weight : float, default=1.0
        :math:`\lambda \ge 0`, the weight of the unlabelled rows. 1 is the joint likelihood of all
        the data; 0 ignores the unlabelled rows (the supervised fit); values in between
        down-weight them.
    covariance_type, tol, reg_covar, max_iter, n_init, init_params, weights_init, means_init, covariances_init, random_state
        As in :class:`emlib.GaussianMixture`. When some rows are labelled and no initial
        parameters are given, EM starts from the supervised fit of the labelled rows (so
        ``n_init`` and ``init_params`` only matter when no row is labelled).

    Attributes
    ----------
    weights_, means_, covariances_, converged_, n_iter_, n_features_in_
        As in :class:`emlib.GaussianMixture`.
    loglik_history_ : ndarray of shape (n_iter_ + 1,)
        The objective :math:`\ell_\lambda(\theta_t)` (see :func:`weighted_loglik`) for each parameter
        set; it never decreases (beyond round-off, with ``reg_covar=0``).
    """

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
        unlabeled_weight: float = 1.0,
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
        super().__init__(
            n_components, covariance_type=covariance_type, tol=tol, reg_covar=reg_covar, max_iter=max_iter,
            n_init=n_init, init_params=init_params, weights_init=weights_init, means_init=means_init,
            covariances_init=covariances_init, random_state=random_state,
        )
        self.unlabeled_weight = unlabeled_weight

    def __sklearn_tags__(self) -> Tags:
        """scikit-learn's estimator tags: ``fit`` requires ``y`` (-1 for the unlabelled rows)."""
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

    def _check_labels(self, y: Any, n_samples: int) -> NDArray[np.intp]:
        if y is None:
            raise ValueError(
                f"y is required: {type(self).__name__} requires y to be passed, but the target y is None; pass -1 "
                "for every unlabelled row (use GaussianMixture if none is labelled)."
            )
        labels = np.asarray(y)
        if labels.shape != (n_samples,):
            raise ValueError(f"y must have shape ({n_samples},), one label per row of X; got {labels.shape}.")
        integral = labels.dtype.kind in "iu" or (
            labels.dtype.kind == "f" and np.all(np.isfinite(labels)) and np.all(labels == np.round(labels))
        )
        if not integral:
            raise TypeError(f"y must hold integer labels (-1 for unlabelled); got dtype {labels.dtype}.")
        K = self.n_components
        outside = np.unique(labels[(labels < -1) | (labels >= K)])  # before the cast, which could wrap around
        if outside.size:
            raise ValueError(f"y must hold labels in -1..{K - 1} (-1 = unlabelled); got {outside.tolist()}.")
        labels = labels.astype(np.intp)
        if (labels >= 0).any():
            unseen = np.setdiff1d(np.arange(K), labels)
            if unseen.size:
                raise ValueError(
                    f"y has no labelled row of class(es) {unseen.tolist()}; every class needs at least one "
                    "labelled row (or label none at all)."
                )
        return labels

    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> SemiSupervisedGaussianMixture:
        """Fit by semi-supervised EM.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of int, shape (n_samples,)
            The class of each row in 0..n_components-1, or -1 if the row is unlabelled.

        Returns
        -------
        self
        """
        X = check_data(X)
        given = self._check_parameters(X)
        labels = self._check_labels(y, X.shape[0])
        check_positive_float(self.unlabeled_weight, "unlabeled_weight", allow_zero=True)
        labelled = labels >= 0
        rng = check_random_state(self.random_state)

        def start() -> MixtureParameters:
            if labelled.any() and all(v is None for v in given):  # the supervised fit
                return m_step(X[labelled], _one_hot(labels[labelled], self.n_components), self.covariance_type,
                              self.reg_covar)
            return self._initial_parameters(X, given, rng)

        return self._keep_best(X, (self._semi_supervised_em(X, labels, start()) for _ in range(self.n_init)))

    def _semi_supervised_em(
        self, X: NDArray, labels: NDArray[np.intp], params: MixtureParameters
    ) -> tuple[MixtureParameters, NDArray, bool]:
        labelled = labels >= 0
        clamped = _one_hot(labels[labelled], self.n_components)
        row_weight = np.where(labelled, 1.0, self.unlabeled_weight)[:, None]
        history = [weighted_loglik(X, labels, params, self.covariance_type, self.unlabeled_weight)]
        converged = False
        for _ in range(self.max_iter):
            resp = e_step(X, *params, self.covariance_type)[0]
            resp[labelled] = clamped
            params = m_step(X, row_weight * resp, self.covariance_type, self.reg_covar)
            history.append(weighted_loglik(X, labels, params, self.covariance_type, self.unlabeled_weight))
            if abs(history[-1] - history[-2]) < self.tol * X.shape[0]:
                converged = True
                break
        return params, np.asarray(history), converged
