r"""Mixtures of multivariate Bernoulli distributions fitted by Expectation-Maximization.

The model, for binary vectors :math:`x \in \{0, 1\}^D`, is (Bishop 2006, §9.3.3)

.. math::

    p(x \mid \theta) = \sum_{k=1}^K \pi_k \prod_{d=1}^D \mu_{kd}^{x_d} (1 - \mu_{kd})^{1 - x_d}.

EM alternates

* the **E-step**, the responsibilities :math:`\gamma_{nk} \propto \pi_k\, p(x_n \mid \mu_k)`, computed in
  log space, where the log-likelihood of every row under every component is one pair of matrix
  products, :math:`\log p(x_n \mid \mu_k) = x_n^\top \log\mu_k + (1 - x_n)^\top \log(1 - \mu_k)`, and
* the **M-step**, :math:`N_k = \sum_n \gamma_{nk}`, :math:`\pi_k = N_k / N` and the *smoothed* means

  .. math:: \mu_{kd} = \frac{\sum_n \gamma_{nk} x_{nd} + \alpha}{N_k + 2\alpha}.

**Smoothing and the objective.** With :math:`\alpha = 0` the M-step can return :math:`\mu_{kd} = 0`
or 1 (a pixel that is off in every image a component owns), and the next E-step would take
:math:`\log 0`: a new image with that pixel on gets probability 0 under the component, and
:math:`0 \cdot \log 0` is NaN in floating point. Adding :math:`\alpha > 0` pseudo-counts of a one
and of a zero to every pixel keeps every mean in the open interval
:math:`[\alpha / (N_k + 2\alpha),\; (N_k + \alpha) / (N_k + 2\alpha)] \subset (0, 1)`.
This update is the exact maximiser of the M-step for the **MAP** objective with an independent
:math:`\mathrm{Beta}(\alpha + 1, \alpha + 1)` prior on every :math:`\mu_{kd}` (and a flat prior
on :math:`\pi`), so what EM provably never decreases is the log-posterior up to the constant
:math:`\log p(X)`,

.. math::

    \mathcal{J}(\theta) = \sum_{n=1}^N \log p(x_n \mid \theta)
    + \sum_{k=1}^K \sum_{d=1}^D \log \mathrm{Beta}(\mu_{kd} \mid \alpha + 1, \alpha + 1),

and that is what :class:`BernoulliMixture` records in ``loglik_history_``. The log-likelihood
alone (``score``, ``score_samples``, ``bic``, ``aic``) can fall slightly in a MAP iteration.
As :math:`\alpha \to 0` the prior becomes uniform (its log density is 0) and
:math:`\mathcal{J}` becomes the log-likelihood.
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import betaln, logsumexp
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from ._mixture import MixtureScores
from ._validation import (
    check_data,
    check_n_features,
    check_n_samples,
    check_option,
    check_parameter_array,
    check_positive_float,
    check_positive_int,
    check_random_state,
    check_weights,
)
from .kmeans import KMeans

__all__ = [
    "BernoulliMixture",
    "BernoulliParameters",
    "check_binary",
    "e_step",
    "log_bernoulli",
    "log_joint",
    "log_prior",
    "m_step",
    "n_parameters",
]

INIT_PARAMS = ("kmeans", "random")


class BernoulliParameters(NamedTuple):
    """The parameters :math:`\\theta = (\\pi, \\mu)` of a Bernoulli mixture."""

    weights: NDArray
    means: NDArray


def check_binary(X: ArrayLike, name: str = "X") -> NDArray[np.float64]:
    """Return ``X`` as a 2-D float64 array of zeros and ones, else raise naming ``name``.

    The checks of :func:`emlib._validation.check_data` come first (2-D, real, finite, no NaN);
    booleans are accepted and read as 0 and 1.

    Raises
    ------
    ValueError
        If an entry is anything other than 0 or 1 (0.5, 2, -1, ...).
    """
    X = check_data(X, name)
    not_binary = (X != 0.0) & (X != 1.0)
    if not_binary.any():
        bad = X[not_binary][0]
        raise ValueError(
            f"{name} must contain only 0 and 1 (binary data); found {int(not_binary.sum())} other "
            f"value(s), for example {bad:g}. Threshold the data first, e.g. (X > t).astype(float)."
        )
    return X


def n_parameters(n_components: int, n_features: int) -> int:
    r"""The number of free parameters, :math:`(K - 1) + KD`, used by BIC and AIC."""
    return (n_components - 1) + n_components * n_features


def log_bernoulli(X: NDArray, means: NDArray) -> NDArray:
    r"""The log-probability of every binary row under every component, as two matrix products.

    .. math::

        \log p(x_n \mid \mu_k) = \sum_{d=1}^D \left[ x_{nd} \log \mu_{kd} + (1 - x_{nd}) \log(1 - \mu_{kd}) \right]
        = \big(X \log\mu^\top + (1 - X) \log(1 - \mu)^\top\big)_{nk}

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Zeros and ones.
    means : ndarray of shape (n_components, n_features)
        :math:`\mu_{kd} \in (0, 1)`; an entry of exactly 0 or 1 gives ``-inf`` or NaN.

    Returns
    -------
    ndarray of shape (n_samples, n_components)
    """
    return X @ np.log(means).T + (1.0 - X) @ np.log1p(-means).T


def log_joint(X: NDArray, weights: NDArray, means: NDArray) -> NDArray:
    r""":math:`\log \pi_k + \log p(x_n \mid \mu_k)`, of shape (n_samples, n_components)."""
    with np.errstate(divide="ignore"):  # a weight of exactly 0 gives -inf, which logsumexp handles
        log_weights = np.log(weights)
    return log_bernoulli(X, means) + log_weights


def e_step(X: NDArray, weights: NDArray, means: NDArray) -> tuple[NDArray, float]:
    r"""The E-step: responsibilities and the observed-data log-likelihood.

    .. math::

        \log p(x_n \mid \theta) = \operatorname{logsumexp}_k \left[ \log\pi_k + \log p(x_n \mid \mu_k) \right],
        \qquad
        \gamma_{nk} = \exp\!\left( \log\pi_k + \log p(x_n \mid \mu_k) - \log p(x_n \mid \theta) \right)

    Returns
    -------
    responsibilities : ndarray of shape (n_samples, n_components)
        :math:`\gamma_{nk} = p(z_n = k \mid x_n, \theta)`; each row sums to 1.
    loglik : float
        :math:`\sum_n \log p(x_n \mid \theta)`, the total log-likelihood (without the prior).
    """
    lj = log_joint(X, weights, means)
    log_px = logsumexp(lj, axis=1)
    return np.exp(lj - log_px[:, None]), float(log_px.sum())


def m_step(X: NDArray, responsibilities: NDArray, alpha: float = 1.0) -> BernoulliParameters:
    r"""The M-step with additive smoothing: the MAP estimate under a Beta(α+1, α+1) prior.

    .. math::

        N_k = \sum_n \gamma_{nk}, \qquad \pi_k = \frac{N_k}{N}, \qquad
        \mu_{kd} = \frac{\sum_n \gamma_{nk} x_{nd} + \alpha}{N_k + 2\alpha}

    A tiny :math:`10\,\varepsilon_{\text{mach}}` is added to :math:`N_k`, as in
    :func:`emlib.gmm.m_step`, so that an empty component stays finite.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    responsibilities : ndarray of shape (n_samples, n_components)
    alpha : float
        :math:`\alpha > 0`, the pseudo-count of ones and of zeros added to every mean.

    Returns
    -------
    BernoulliParameters
        ``(weights, means)``; every mean lies strictly between 0 and 1.
    """
    Nk = responsibilities.sum(axis=0) + 10 * np.finfo(float).eps
    weights = Nk / Nk.sum()
    means = (responsibilities.T @ X + alpha) / (Nk[:, None] + 2.0 * alpha)
    return BernoulliParameters(weights, means)


def log_prior(means: NDArray, alpha: float) -> float:
    r""":math:`\sum_{k,d} \log \mathrm{Beta}(\mu_{kd} \mid \alpha + 1, \alpha + 1)`, the log-prior of the means.

    .. math:: \log \mathrm{Beta}(\mu \mid \alpha + 1, \alpha + 1) = \alpha \log \mu + \alpha \log(1 - \mu) - \log B(\alpha + 1, \alpha + 1)
    """
    return float(alpha * (np.log(means) + np.log1p(-means)).sum() - means.size * betaln(alpha + 1.0, alpha + 1.0))


class BernoulliMixture(MixtureScores, DensityMixin, BaseEstimator):
    r"""A mixture of multivariate Bernoulli distributions fitted by EM, with scikit-learn's interface.

    Parameters
    ----------
    n_components : int, default=1
        The number of components :math:`K`.
    tol : float, default=1e-3
        Stop when the objective per sample rises by less than ``tol`` in one iteration.
    max_iter : int, default=100
        Maximum number of EM iterations per initialisation.
    n_init : int, default=1
        Number of initialisations; the fit with the highest final objective is kept.
    alpha : float, default=1.0
        :math:`\alpha > 0`, the smoothing pseudo-count: every M-step adds :math:`\alpha` ones and
        :math:`\alpha` zeros to every pixel of every component (Laplace smoothing for
        :math:`\alpha = 1`). Equivalently, the means get a :math:`\mathrm{Beta}(\alpha+1, \alpha+1)`
        prior and EM finds a MAP estimate. It keeps every mean strictly inside (0, 1), so that
        :math:`\log 0` never occurs.
    init_params : {"kmeans", "random"}, default="kmeans"
        How to start when the initial parameters are not both given: the one-hot labels of a
        :class:`emlib.KMeans` fit, or random responsibilities (each row normalised to sum to 1);
        the parameters are then the M-step of those responsibilities.
    weights_init : array-like of shape (n_components,), optional
        Non-negative, summing to 1.
    means_init : array-like of shape (n_components, n_features), optional
        Every entry strictly between 0 and 1.
    random_state : int, numpy.random.Generator or None, default=None

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    means_ : ndarray of shape (n_components, n_features)
        :math:`\mu_{kd} = p(x_d = 1 \mid z = k)`.
    converged_ : bool
    n_iter_ : int
        Number of EM iterations (M-steps) of the kept fit.
    loglik_history_ : ndarray of shape (n_iter_ + 1,)
        The MAP objective :math:`\mathcal{J}(\theta_t) = \sum_n \log p(x_n \mid \theta_t) +
        \sum_{k,d} \log \mathrm{Beta}(\mu_{kd} \mid \alpha + 1, \alpha + 1)` in nats, for
        :math:`\theta_0, \theta_1, \ldots`: the total observed-data log-likelihood plus the
        log-prior of the means (see :func:`log_prior`). EM guarantees that it never decreases
        (beyond round-off); the log-likelihood part alone need not. Subtract
        ``log_prior(means, alpha)`` to get the log-likelihood.
    n_features_in_ : int

    Notes
    -----
    ``X`` must hold only zeros and ones; booleans are read as 0/1, anything else raises
    ``ValueError``. See Bishop (2006), §9.3.3.
    """

    def __init__(
        self,
        n_components: int = 1,
        *,
        tol: float = 1e-3,
        max_iter: int = 100,
        n_init: int = 1,
        alpha: float = 1.0,
        init_params: str = "kmeans",
        weights_init: ArrayLike | None = None,
        means_init: ArrayLike | None = None,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.n_components = n_components
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.alpha = alpha
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.random_state = random_state

    def _check_parameters(self, X: NDArray) -> BernoulliParameters:
        """Validate every hyper-parameter against ``X``; return the checked initial parameters (or None)."""
        K = check_positive_int(self.n_components, "n_components")
        check_positive_float(self.tol, "tol")
        check_positive_int(self.max_iter, "max_iter")
        check_positive_int(self.n_init, "n_init")
        check_positive_float(self.alpha, "alpha")
        check_option(self.init_params, "init_params", INIT_PARAMS)
        check_n_samples(X, K)
        return BernoulliParameters(
            None if self.weights_init is None else check_weights(self.weights_init, "weights_init", K),
            None if self.means_init is None else _check_means(self.means_init, "means_init", (K, X.shape[1])),
        )

    def fit(self, X: ArrayLike, y: Any = None) -> BernoulliMixture:
        """Fit the mixture by EM from ``n_init`` starts and keep the best.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Zeros and ones (or booleans).
        y : ignored

        Returns
        -------
        self
        """
        X = check_binary(X)
        given = self._check_parameters(X)
        rng = check_random_state(self.random_state)
        runs = (self._em(X, self._initial_parameters(X, given, rng)) for _ in range(self.n_init))
        params, history, converged = max(runs, key=lambda run: run[1][-1])
        if not converged:
            warnings.warn(
                f"BernoulliMixture did not converge in max_iter={self.max_iter} iterations; "
                "increase max_iter or tol, or try another initialisation.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.weights_, self.means_ = params
        self.loglik_history_ = history
        self.converged_ = converged
        self.n_iter_ = len(history) - 1
        self.n_features_in_ = X.shape[1]
        return self

    def _initial_parameters(
        self, X: NDArray, given: BernoulliParameters, rng: np.random.Generator
    ) -> BernoulliParameters:
        """θ₀: the given initial parameters, the rest from the M-step of ``init_params``' responsibilities."""
        if given.weights is not None and given.means is not None:
            return given
        K, N = self.n_components, X.shape[0]
        if self.init_params == "random":
            resp = rng.uniform(size=(N, K))
            resp /= resp.sum(axis=1, keepdims=True)
        else:
            resp = np.zeros((N, K))
            resp[np.arange(N), KMeans(K, n_init=1, random_state=rng).fit(X).labels_] = 1.0
        start = m_step(X, resp, self.alpha)
        return BernoulliParameters(*(g if g is not None else s for g, s in zip(given, start, strict=True)))

    def _objective(self, loglik: float, means: NDArray) -> float:
        return loglik + log_prior(means, self.alpha)

    def _em(self, X: NDArray, params: BernoulliParameters) -> tuple[BernoulliParameters, NDArray, bool]:
        """EM from θ₀ = ``params``: (final parameters, objective history, converged)."""
        resp, loglik = e_step(X, *params)
        history = [self._objective(loglik, params.means)]
        converged = False
        for _ in range(self.max_iter):
            params = m_step(X, resp, self.alpha)
            resp, loglik = e_step(X, *params)
            history.append(self._objective(loglik, params.means))
            if abs(history[-1] - history[-2]) < self.tol * X.shape[0]:
                converged = True
                break
        return params, np.asarray(history), converged

    # ------------------------------------------------------------ inference
    def _checked(self, X: ArrayLike) -> NDArray:
        check_is_fitted(self)
        X = check_binary(X)
        check_n_features(X, self.n_features_in_, type(self).__name__)
        return X

    def score_samples(self, X: ArrayLike) -> NDArray:
        r""":math:`\log p(x_n \mid \theta)` for each row of ``X`` (the likelihood, without the prior)."""
        return logsumexp(log_joint(self._checked(X), self.weights_, self.means_), axis=1)

    def predict_proba(self, X: ArrayLike) -> NDArray:
        r"""The responsibilities :math:`\gamma_{nk} = p(z_n = k \mid x_n, \theta)`."""
        return e_step(self._checked(X), self.weights_, self.means_)[0]

    def _n_parameters(self) -> int:
        return n_parameters(self.n_components, self.n_features_in_)

    def sample(self, n_samples: int = 1) -> tuple[NDArray, NDArray[np.intp]]:
        """Draw ``n_samples`` rows by ancestral sampling: z ~ Cat(π), then x_d ~ Bernoulli(μ_zd) independently.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Zeros and ones (float64).
        z : ndarray of shape (n_samples,)
            The component each row was drawn from.
        """
        check_is_fitted(self)
        n_samples = check_positive_int(n_samples, "n_samples")
        rng = check_random_state(self.random_state)
        z = rng.choice(self.n_components, size=n_samples, p=self.weights_)
        X = (rng.uniform(size=(n_samples, self.n_features_in_)) < self.means_[z]).astype(np.float64)
        return X, z


def _check_means(value: ArrayLike, name: str, shape: tuple[int, int]) -> NDArray:
    means = check_parameter_array(value, name, shape)
    if np.any((means <= 0.0) | (means >= 1.0)):
        raise ValueError(f"{name} must lie strictly between 0 and 1 (they are probabilities whose logs are taken).")
    return means
