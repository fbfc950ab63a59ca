r"""Conditional mixtures fitted by EM: mixtures of linear regressions and mixtures of experts.

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

A **mixture of experts** (:class:`MixtureOfExperts`) replaces the constant weights by a softmax
gate :math:`\alpha_k(x)`; the responsibilities are the same Bayes' rule with :math:`\alpha_k(x_n)`
in place of :math:`\pi_k`. The gate's M-step is a multinomial logistic regression on the soft
targets :math:`\gamma_{nk}`, with no closed form: Newton steps that raise :math:`Q` without
maximising it make each iteration a generalised EM step.
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.linalg import lstsq
from scipy.special import logsumexp
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning

from ._validation import (
    check_data,
    check_fitted_data,
    check_positive_float,
    check_positive_int,
    check_random_state,
)
from .gmm import LOG_2PI, _normalise_log_joint

__all__ = [
    "MixtureOfExperts",
    "MixtureOfLinearRegressions",
    "RegressionMixtureParameters",
    "e_step",
    "gate_design",
    "gate_newton_step",
    "gate_objective",
    "log_expert_densities",
    "log_gate",
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
    if np.ndim(y) not in (1, 2):
        raise ValueError(f"y must be 1-D, one response per row of X; got shape {np.shape(y)}.")
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

    normalised by log-sum-exp as in :func:`emlib.gmm.e_step`. ``params.weights`` may also be an
    (n_samples, n_components) array of per-row weights :math:`\alpha_k(x_n)` (a gate).

    Returns
    -------
    responsibilities : ndarray of shape (n_samples, n_components)
    log_likelihood : float
        The total :math:`\log p(y \mid X, \theta)` in nats.
    """
    with np.errstate(divide="ignore"):  # a weight of exactly 0 gives -inf, which the normalisation handles
        log_weights = np.log(params.weights)
    resp, log_py = _posterior(X, y, log_weights, params)
    return resp, float(log_py.sum())


def _posterior(X: NDArray, y: NDArray, log_weights: NDArray, params: RegressionMixtureParameters) -> tuple[NDArray, NDArray]:
    """Responsibilities (N, K) and :math:`\\log p(y_n \\mid x_n)` (N,) from log weights (per component or per row)."""
    log_joint = log_expert_densities(X, y, params.coef, params.intercept, params.noise_variances) + log_weights
    resp_kn, log_py = _normalise_log_joint(np.ascontiguousarray(log_joint.T))
    return resp_kn.T, log_py


def _weighted_least_squares(X: NDArray, y: NDArray, weights: NDArray) -> tuple[NDArray, float]:
    r""":math:`\arg\min_{\beta, b} \sum_n w_n (y_n - x_n^\top\beta - b)^2` by least squares on rows scaled by :math:`\sqrt{w_n}`.

    The data are first centred at their weighted means :math:`\bar x, \bar y`, which removes the
    intercept from the problem: :math:`\beta` solves the centred problem and
    :math:`b = \bar y - \bar x^\top \beta`. Without centring the design :math:`[X, 1]` of inputs
    far from the origin (a shift :math:`c` times their spread) has a condition number growing like
    :math:`c`, and the slopes lose that many digits.
    """
    total = weights.sum() + 10 * np.finfo(float).eps  # an empty component stays finite
    x_mean = weights @ X / total
    y_mean = float(weights @ y / total)
    root = np.sqrt(weights)
    beta = lstsq((X - x_mean) * root[:, None], (y - y_mean) * root, lapack_driver="gelsd")[0]
    return beta, y_mean - float(x_mean @ beta)


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
    if not np.all(noise_variances > 0):
        raise ValueError(
            "A regression passes exactly through its points (noise variance 0), so the likelihood is "
            "unbounded; use reg_covar > 0 (the default is 1e-6), or check y for exact duplicates of a line."
        )
    return RegressionMixtureParameters(Nk / Nk.sum(), coef, intercept, noise_variances)


class _ConditionalMixture(BaseEstimator):
    """EM for p(y | x) = sum_k w_k(x) N(y | x^T beta_k + b_k, sigma_k^2); subclasses supply the weights."""

    def fit(self, X: ArrayLike, y: ArrayLike) -> Self:
        """Fit by EM from ``n_init`` random starts and keep the best.

        Each start draws random responsibilities (Dirichlet(1) rows) and begins with an M-step.

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
        self._check_weight_options()
        minimum = K * (X.shape[1] + 1)
        if X.shape[0] <= minimum:
            raise ValueError(
                f"X has n_samples={X.shape[0]}, but {K} regressions on {X.shape[1]} features need more "
                f"than n_components * (n_features + 1) = {minimum} rows to be identified."
            )
        rng = check_random_state(self.random_state)
        runs = [self._em(X, y, rng.dirichlet(np.ones(K), size=X.shape[0])) for _ in range(self.n_init)]
        experts, weights, history, converged = max(runs, key=lambda run: run[2][-1])
        if not converged:
            warnings.warn(
                f"{type(self).__name__} did not converge in max_iter={self.max_iter} iterations; "
                "increase max_iter or tol.",
                ConvergenceWarning,
                stacklevel=2,
            )
        _, self.coef_, self.intercept_, self.noise_variances_ = experts
        self._set_weights(weights)
        self.loglik_history_ = np.asarray(history)
        self.n_iter_ = len(history) - 1
        self.converged_ = converged
        self.n_features_in_ = X.shape[1]
        return self

    def _em(self, X: NDArray, y: NDArray, resp: NDArray) -> tuple[RegressionMixtureParameters, Any, list[float], bool]:
        """EM from the M-step of ``resp``: (experts, weights, objective history, converged)."""
        weights = None
        history: list[float] = []
        for _ in range(self.max_iter + 1):
            experts = m_step(X, y, resp, self.reg_covar)
            weights = self._weights_m_step(X, resp, experts, weights)
            resp, log_py = _posterior(X, y, self._log_weights_of(X, weights), experts)
            history.append(float(log_py.sum()) - self._penalty(weights))
            if len(history) > 1 and abs(history[-1] - history[-2]) < self.tol * X.shape[0]:
                return experts, weights, history, True
        return experts, weights, history, False

    def _penalty(self, weights: Any) -> float:
        return 0.0

    # ------------------------------------------------------------ inference
    @property
    def _experts(self) -> RegressionMixtureParameters:
        return RegressionMixtureParameters(None, self.coef_, self.intercept_, self.noise_variances_)

    def _checked(self, X: ArrayLike) -> NDArray:
        return check_fitted_data(self, X)

    def gate_weights(self, X: ArrayLike) -> NDArray:
        r"""The mixture weights at each input, :math:`w_k(x_n)`, shape (n_samples, n_components).

        The gate :math:`\alpha_k(x_n) = \operatorname{softmax}_k(\tilde x_n^\top V)` of a
        :class:`MixtureOfExperts`; the constant :math:`\pi_k` in every row of a
        :class:`MixtureOfLinearRegressions`. Unlike :meth:`predict_proba` they do not look at
        :math:`y`: they are the prior probabilities of the components before the response is seen.
        """
        return np.exp(self._log_weights(self._checked(X)))

    def predict(self, X: ArrayLike) -> NDArray:
        r"""The mixture mean :math:`\mathbb{E}[y \mid x] = \sum_k w_k(x) (x^\top\beta_k + b_k)`."""
        X = self._checked(X)
        weights = np.exp(self._log_weights(X))
        return ((X @ self.coef_.T + self.intercept_) * weights).sum(axis=1)

    def predict_proba(self, X: ArrayLike, y: ArrayLike) -> NDArray:
        r"""The responsibilities :math:`\gamma_{nk} = p(z_n = k \mid x_n, y_n)` (they need :math:`y`)."""
        X = self._checked(X)
        return _posterior(X, check_response(y, X.shape[0]), self._log_weights(X), self._experts)[0]

    def score_samples(self, X: ArrayLike, y: ArrayLike) -> NDArray:
        r""":math:`\log p(y_n \mid x_n, \theta)` for each row."""
        X = self._checked(X)
        return _posterior(X, check_response(y, X.shape[0]), self._log_weights(X), self._experts)[1]

    def score(self, X: ArrayLike, y: ArrayLike) -> float:
        """The mean conditional log-likelihood per sample (not scikit-learn's :math:`R^2`)."""
        return float(self.score_samples(X, y).mean())

    def sample(self, X: ArrayLike, random_state: Any = None) -> tuple[NDArray, NDArray[np.intp]]:
        """Draw one response per row of ``X``: a component :math:`z \\sim w(x)`, then
        :math:`y \\sim \\mathcal{N}(x^\\top\\beta_z + b_z, \\sigma_z^2)`.

        Returns
        -------
        y : ndarray of shape (n_samples,)
        z : ndarray of shape (n_samples,)
        """
        X = self._checked(X)
        rng = check_random_state(self.random_state if random_state is None else random_state)
        cumulative = np.cumsum(np.exp(self._log_weights(X)), axis=1)
        z = np.minimum((rng.uniform(size=(X.shape[0], 1)) > cumulative).sum(axis=1), self.n_components - 1)
        means = np.einsum("nd,nd->n", X, self.coef_[z]) + self.intercept_[z]
        return means + np.sqrt(self.noise_variances_[z]) * rng.standard_normal(X.shape[0]), z


class MixtureOfLinearRegressions(_ConditionalMixture):
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

    def _check_weight_options(self) -> None:
        """No options beyond the shared ones."""

    def _weights_m_step(self, X: NDArray, resp: NDArray, experts: RegressionMixtureParameters, weights: Any) -> NDArray:
        return experts.weights

    def _log_weights_of(self, X: NDArray, weights: NDArray) -> NDArray:
        r""":math:`\log \pi_k` for every row, shape (n_samples, n_components)."""
        with np.errstate(divide="ignore"):
            return np.broadcast_to(np.log(weights), (X.shape[0], len(weights)))

    def _set_weights(self, weights: NDArray) -> None:
        self.weights_ = weights

    def _log_weights(self, X: NDArray) -> NDArray:
        return self._log_weights_of(X, self.weights_)


class MixtureOfExperts(_ConditionalMixture):
    r"""A mixture of linear-regression experts with a softmax gate, fitted by generalised EM.

    .. math::

        p(y \mid x) = \sum_k \alpha_k(x) \, \mathcal{N}(y \mid x^\top\beta_k + b_k, \sigma_k^2),
        \qquad \alpha(x) = \operatorname{softmax}(\tilde x^\top V), \quad \tilde x = (x, 1)

    (Jacobs et al. 1991; Jordan & Jacobs 1994). The experts' M-step is that of
    :class:`MixtureOfLinearRegressions`; the gate's has no closed form, so each iteration makes
    ``gate_steps`` Newton steps on it (:func:`gate_newton_step`), each of which raises the gate's
    part of :math:`Q` without maximising it: generalised EM, whose objective still never decreases.

    Parameters
    ----------
    n_components : int, default=2
    tol, max_iter, n_init, reg_covar, random_state
        As :class:`MixtureOfLinearRegressions`.
    gate_l2 : float, default=0.0
        :math:`\lambda`, an L2 penalty :math:`\frac{\lambda}{2}\lVert V\rVert^2` on the gate's
        weights (MAP estimation of the gate): keeps them finite when the gate can separate the data.
    gate_steps : int, default=1
        Newton steps on the gate per EM iteration.
    gate_uses_inputs : bool, default=True
        ``False``: the gate sees only a constant, :math:`\alpha_k(x) = \pi_k`, and the model is a
        mixture of linear regressions.

    Attributes
    ----------
    gate_coef_ : ndarray of shape (n_features + 1, n_components - 1)
        :math:`V` (the last row multiplies the constant; the last component's column is 0).
    coef_, intercept_, noise_variances_ : ndarray
        The experts, as in :class:`MixtureOfLinearRegressions`.
    loglik_history_ : ndarray of shape (n_iter_ + 1,)
        The objective :math:`\log p(y \mid X, \theta_t) - \frac{\lambda}{2}\lVert V_t\rVert^2`,
        never decreasing with ``reg_covar=0``.
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
        gate_l2: float = 0.0,
        gate_steps: int = 1,
        gate_uses_inputs: bool = True,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.n_components = n_components
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.reg_covar = reg_covar
        self.gate_l2 = gate_l2
        self.gate_steps = gate_steps
        self.gate_uses_inputs = gate_uses_inputs
        self.random_state = random_state

    def _check_weight_options(self) -> None:
        check_positive_float(self.gate_l2, "gate_l2", allow_zero=True)
        check_positive_int(self.gate_steps, "gate_steps")
        if not isinstance(self.gate_uses_inputs, bool | np.bool_):
            raise TypeError(f"gate_uses_inputs must be True or False; got {self.gate_uses_inputs!r}.")

    def _weights_m_step(self, X: NDArray, resp: NDArray, experts: RegressionMixtureParameters, weights: Any) -> NDArray:
        design = gate_design(X, self.gate_uses_inputs)
        gate_coef = np.zeros((design.shape[1], self.n_components - 1)) if weights is None else weights
        for _ in range(self.gate_steps):
            gate_coef = gate_newton_step(design, gate_coef, resp, self.gate_l2)
        return gate_coef

    def _log_weights_of(self, X: NDArray, gate_coef: NDArray) -> NDArray:
        return log_gate(gate_design(X, self.gate_uses_inputs), gate_coef)

    def _penalty(self, gate_coef: NDArray) -> float:
        return 0.5 * self.gate_l2 * float((gate_coef**2).sum())

    def _set_weights(self, gate_coef: NDArray) -> None:
        self.gate_coef_ = gate_coef

    def _log_weights(self, X: NDArray) -> NDArray:
        return self._log_weights_of(X, self.gate_coef_)


# ------------------------------------------------------------------ mixtures of experts
def gate_design(X: NDArray, uses_inputs: bool = True) -> NDArray:
    """The gate's inputs :math:`\\tilde x = (x, 1)`, or the constant column alone."""
    ones = np.ones((X.shape[0], 1))
    return np.hstack([X, ones]) if uses_inputs else ones


def log_gate(design: NDArray, gate_coef: NDArray) -> NDArray:
    r""":math:`\log \alpha_k(x_n) = \log \operatorname{softmax}_k(\tilde x_n^\top V)`, shape (n_samples, n_components).

    ``gate_coef`` :math:`V` has shape (n_gate_features, n_components - 1): the last component's
    column is fixed at 0, since adding one vector to every column leaves the softmax unchanged.
    """
    logits = np.hstack([design @ gate_coef, np.zeros((design.shape[0], 1))])
    return logits - logsumexp(logits, axis=1, keepdims=True)


def gate_objective(design: NDArray, gate_coef: NDArray, responsibilities: NDArray, gate_l2: float) -> float:
    r"""The gate's part of :math:`Q`, :math:`\sum_n \sum_k \gamma_{nk} \log \alpha_k(x_n) - \frac{\lambda}{2}\lVert V \rVert^2`."""
    return float((responsibilities * log_gate(design, gate_coef)).sum() - 0.5 * gate_l2 * (gate_coef**2).sum())


def gate_newton_step(design: NDArray, gate_coef: NDArray, responsibilities: NDArray, gate_l2: float) -> NDArray:
    r"""One Newton step on the gate's part of :math:`Q`, halved until it does not lower it.

    The gradient is :math:`\sum_n \tilde x_n (\gamma_{nk} - \alpha_{nk}) - \lambda v_k` (the soft
    targets minus the gate's prediction, as in multinomial logistic regression) and the Hessian
    :math:`-\sum_n (\operatorname{diag}\alpha_n - \alpha_n\alpha_n^\top) \otimes \tilde x_n \tilde x_n^\top - \lambda I`
    over the free components. The step raises :math:`Q` without maximising it: a generalised EM
    step (Dempster, Laird & Rubin 1977), which is all EM's monotonicity needs.

    Newton's step does not depend on the coordinates it is computed in, so the step and its
    halving work on the inputs standardised to mean 0 and spread 1, :math:`\tilde z = ((x - \bar x)/s, 1)`,
    with :math:`V = M V_z` and :math:`\tilde x^\top M = \tilde z^\top`. There the Hessian is well
    conditioned however far the inputs sit from the origin (in the raw coordinates its condition
    number grows like the shift to the fourth power), and the logits
    :math:`\tilde z^\top V_z` are sums of numbers of order one: in the raw coordinates
    :math:`x^\top w + b` cancels the shift's digits, and rounding noise of about
    :math:`10^{-16}\lvert b\rvert` would decide whether a small step raises :math:`Q`.
    """
    standard, to_raw = _standardised(design)
    coef = np.linalg.solve(to_raw, gate_coef)

    def objective(coef_z: NDArray) -> float:
        penalty = 0.5 * gate_l2 * float(((to_raw @ coef_z) ** 2).sum())
        return gate_objective(standard, coef_z, responsibilities, 0.0) - penalty

    alpha = np.exp(log_gate(standard, coef))[:, :-1]
    P, F = standard.shape[1], alpha.shape[1]
    gradient = standard.T @ (responsibilities[:, :-1] - alpha) - gate_l2 * to_raw.T @ gate_coef
    curvature = np.einsum("nk,kj->nkj", alpha, np.eye(F)) - np.einsum("nk,nj->nkj", alpha, alpha)
    hessian = -np.einsum("nkj,na,nb->akbj", curvature, standard, standard).reshape(P * F, P * F)
    hessian -= gate_l2 * np.kron(to_raw.T @ to_raw, np.eye(F))
    step = np.linalg.lstsq(-hessian, gradient.ravel(), rcond=None)[0].reshape(P, F)
    before = objective(coef)
    for _ in range(30):
        if objective(coef + step) >= before:
            return to_raw @ (coef + step)
        step = step / 2
    return gate_coef


def _standardised(design: NDArray) -> tuple[NDArray, NDArray]:
    r"""The design with its inputs standardised, :math:`[(X - \bar x)/s, 1]`, and the matrix :math:`M`
    with ``design @ M`` equal to it (up to rounding).

    ``design`` is :math:`[X, 1]` (or the constant column alone); a constant input keeps spread 1.
    The standardised inputs are computed from ``X`` directly, not as ``design @ M``, which would
    cancel the digits of the mean.
    """
    inputs = design[:, :-1]
    mean = inputs.mean(axis=0)
    spread = inputs.std(axis=0)
    spread[spread == 0] = 1.0
    M = np.eye(design.shape[1])
    M[:-1, :-1] = np.diag(1 / spread)
    M[-1, :-1] = -mean / spread
    return np.hstack([(inputs - mean) / spread, design[:, -1:]]), M
