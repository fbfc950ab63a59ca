r"""Hidden Markov models fitted by Expectation-Maximization (the Baum–Welch algorithm).

The model replaces a mixture's independent labels by a Markov chain,

.. math::

    p(x_{1:T}, z_{1:T} \mid \theta) = \pi_{z_1} \, b_{z_1}(x_1) \prod_{t=2}^T A_{z_{t-1} z_t} \, b_{z_t}(x_t),

with start probabilities :math:`\pi`, transition matrix :math:`A` (rows sum to 1) and emission
densities :math:`b_k(x) = p(x \mid z = k)`: Gaussian (:class:`GaussianHMM`) or categorical
(:class:`CategoricalHMM`). EM alternates

* the **E-step**, the posteriors :math:`\gamma_t(k) = p(z_t = k \mid x_{1:T})` and the expected
  transition counts :math:`\sum_t \xi_t(i, j) = \sum_t p(z_{t-1} = i, z_t = j \mid x_{1:T})`,
  computed by the forward–backward recursions in :math:`O(TK^2)` instead of a sum over all
  :math:`K^T` paths, and
* the **M-step**, normalised expected counts for :math:`\pi` and :math:`A`, and the emission
  M-step of the matching mixture with :math:`\gamma` as responsibilities.

The recursions are the *scaled* ones (Rabiner 1989, in the convention of Bishop 2006, §13.2.4:
:math:`c_t = p(x_t \mid x_{1:t-1})`, and the backward pass divides by :math:`c_{t+1}`): every
forward vector is normalised to sum to 1, so no probability underflows however long the sequence,
and the normalisers multiply to the likelihood. Emission log densities are shifted by their maximum over states before ``exp``, so an
outlier far from every state cannot underflow either. The loop over time cannot be vectorised (each
step needs the one before); it is compiled with numba, and each step is a vector–matrix product
over states. Everything else (emission densities, transition counts, M-step) is a matrix product
over the whole sequence.

Several sequences are concatenated row-wise in ``X`` with their ``lengths``, as in hmmlearn.
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple, Self

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from . import gmm
from ._validation import (
    check_covariances,
    check_data,
    check_n_features,
    check_n_samples,
    check_option,
    check_parameter_array,
    check_positive_float,
    check_positive_int,
    check_random_state,
    check_stochastic_matrix,
    check_weights,
)
from .kmeans import KMeans

__all__ = [
    "CategoricalHMM",
    "GaussianHMM",
    "HMMStatistics",
    "backward",
    "categorical_emission_m_step",
    "check_lengths",
    "e_step",
    "forward",
    "m_step_markov",
    "state_posteriors",
    "transition_posteriors",
    "viterbi",
]

# Below 1e-300 a scaled emission probability is set to 0, as in emlib.gmm: left alone it could
# be a subnormal number, on which arithmetic runs about a hundred times slower.
NEGLIGIBLE = 1e-300
# Symbols are row indices of the emission table: a larger alphabet would not fit in memory anyway.
MAX_SYMBOLS = 2**31


class HMMStatistics(NamedTuple):
    """What the E-step gives the M-step: posteriors, expected counts and the log-likelihood."""

    posteriors: NDArray
    start: NDArray
    transitions: NDArray
    loglik: float


# ------------------------------------------------------------------ input checks
def check_lengths(lengths: ArrayLike | None, n_samples: int) -> NDArray[np.intp]:
    """The lengths of the sequences concatenated in ``X``; ``None`` means one sequence.

    Raises
    ------
    ValueError
        If ``lengths`` are not positive integers or do not sum to ``n_samples``.
    """
    if lengths is None:
        return np.array([n_samples], dtype=np.intp)
    array = np.atleast_1d(np.asarray(lengths))
    if array.ndim != 1 or array.dtype.kind not in "iu":
        raise ValueError(f"lengths must be a 1-D sequence of integers; got {np.asarray(lengths)!r}.")
    if np.any(array < 1):
        raise ValueError(f"lengths must be positive; got {array.tolist()}.")
    if array.sum() != n_samples:
        raise ValueError(
            f"lengths must sum to the number of rows of X, {n_samples}; they sum to {array.sum()}."
        )
    return array.astype(np.intp)


def check_symbols(X: ArrayLike, n_symbols: int | None = None, name: str = "X") -> NDArray[np.intp]:
    """Categorical observations as an (N, 1) integer array with values in ``0 .. n_symbols - 1``."""
    array = check_data(X, name)
    if array.shape[1] != 1:
        raise ValueError(f"{name} must have one column of symbols, shape (n_samples, 1); got {array.shape}.")
    not_symbols = (array != np.round(array)) | (array < 0)
    if np.any(not_symbols):
        raise ValueError(f"{name} must hold symbols, integers 0, 1, 2, ...; found {array[not_symbols][0]}.")
    if array.max() >= MAX_SYMBOLS:
        raise ValueError(
            f"{name} holds symbol {array.max():.6g}; symbols index a table and must be below {MAX_SYMBOLS:,}. "
            "Relabel them 0 .. M-1 first: np.unique(X, return_inverse=True)[1]."
        )
    if n_symbols is not None and array.max() >= n_symbols:
        raise ValueError(f"{name} holds symbol {int(array.max())}, outside 0 .. n_symbols - 1 = {n_symbols - 1}.")
    return array.astype(np.intp)


def _sequences(lengths: NDArray[np.intp]) -> list[slice]:
    ends = np.cumsum(lengths)
    return [slice(end - length, end) for end, length in zip(ends, lengths, strict=True)]


# -------------------------------------------------------- the compiled recursions
@numba.njit(cache=True)
def _forward_scaled(startprob: NDArray, transmat: NDArray, emission: NDArray) -> tuple[NDArray, NDArray]:
    """Scaled forward recursion on emission probabilities ``emission[t, k]`` (any positive scale).

    Step t computes ``alpha[t] = (alpha[t - 1] @ transmat) * emission[t]`` and normalises it; the
    vector-matrix product is written out as loops, which numba compiles without the allocation
    and BLAS call per step that dominate for a few states.
    """
    T, K = emission.shape
    alpha = np.empty((T, K))
    scale = np.empty(T)
    for t in range(T):
        total = 0.0
        for j in range(K):
            if t == 0:
                predicted = startprob[j]
            else:
                predicted = 0.0
                for i in range(K):
                    predicted += alpha[t - 1, i] * transmat[i, j]
            alpha[t, j] = predicted * emission[t, j]
            total += alpha[t, j]
        scale[t] = total
        if total > 0.0:  # 0: the sequence is impossible; the caller sees log c_t = -inf
            for j in range(K):
                alpha[t, j] /= total
    return alpha, scale


@numba.njit(cache=True)
def _backward_scaled(transmat: NDArray, emission: NDArray, scale: NDArray) -> NDArray:
    """Scaled backward recursion, with the forward pass's normalisers ``scale``.

    Step t computes ``beta[t] = transmat @ (emission[t + 1] * beta[t + 1]) / scale[t + 1]``,
    written out as loops like :func:`_forward_scaled`.
    """
    T, K = emission.shape
    beta = np.empty((T, K))
    beta[T - 1] = 1.0
    weighted = np.empty(K)
    for t in range(T - 2, -1, -1):
        for j in range(K):
            weighted[j] = emission[t + 1, j] * beta[t + 1, j] / scale[t + 1]
        for i in range(K):
            total = 0.0
            for j in range(K):
                total += transmat[i, j] * weighted[j]
            beta[t, i] = total
    return beta


@numba.njit(cache=True)
def _viterbi_log(log_startprob: NDArray, log_transmat: NDArray, frame_loglik: NDArray) -> tuple[float, NDArray]:
    """Max-product recursion in log space with back-pointers; ties go to the lowest state."""
    T, K = frame_loglik.shape
    delta = log_startprob + frame_loglik[0]
    pointers = np.zeros((T, K), dtype=np.intp)
    for t in range(1, T):
        new = np.empty(K)
        for j in range(K):
            best = 0
            for i in range(1, K):
                if delta[i] + log_transmat[i, j] > delta[best] + log_transmat[best, j]:
                    best = i
            pointers[t, j] = best
            new[j] = delta[best] + log_transmat[best, j] + frame_loglik[t, j]
        delta = new
    path = np.empty(T, dtype=np.intp)
    path[T - 1] = np.argmax(delta)
    for t in range(T - 1, 0, -1):
        path[t - 1] = pointers[t, path[t]]
    return delta[path[T - 1]], path


@numba.njit(cache=True)
def _markov_chain(cumulative_start: NDArray, cumulative_transmat: NDArray, uniforms: NDArray) -> NDArray:
    """States :math:`z_t` drawn by inversion: the first state whose cumulative probability exceeds :math:`u_t`."""
    K = cumulative_start.shape[0]
    states = np.empty(uniforms.shape[0], dtype=np.intp)
    states[0] = min(np.searchsorted(cumulative_start, uniforms[0], side="right"), K - 1)
    for t in range(1, uniforms.shape[0]):
        row = cumulative_transmat[states[t - 1]]
        states[t] = min(np.searchsorted(row, uniforms[t], side="right"), K - 1)
    return states


# ------------------------------------------------------------------ the E-step
def _scaled_emission(frame_loglik: NDArray) -> tuple[NDArray, NDArray]:
    r"""Emission probabilities divided by their maximum over states, and that log maximum.

    :math:`\tilde b_t(k) = \exp(\log b_k(x_t) - m_t)` with :math:`m_t = \max_k \log b_k(x_t)`:
    every row has a largest entry of exactly 1, so nothing underflows to an all-zero row.
    """
    top = frame_loglik[:, 0].copy()
    for column in frame_loglik.T[1:]:  # 20x faster than .max(axis=1) over a few columns
        np.maximum(top, column, out=top)
    emission = np.exp(frame_loglik - top[:, None])
    emission[emission < NEGLIGIBLE] = 0.0
    return emission, top


def forward(startprob: NDArray, transmat: NDArray, frame_loglik: NDArray) -> tuple[NDArray, NDArray]:
    r"""The scaled forward recursion for one sequence.

    .. math::

        \hat\alpha_1(k) \propto \pi_k b_k(x_1), \qquad
        \hat\alpha_t(j) = \frac{1}{c_t} \Big[\sum_i \hat\alpha_{t-1}(i) A_{ij}\Big] b_j(x_t),

    with :math:`c_t` the normaliser that makes :math:`\sum_j \hat\alpha_t(j) = 1`. Then
    :math:`\hat\alpha_t(k) = p(z_t = k \mid x_{1:t})`, :math:`c_t = p(x_t \mid x_{1:t-1})`, and
    :math:`\log p(x_{1:T}) = \sum_t \log c_t`.

    Parameters
    ----------
    startprob : ndarray of shape (n_components,)
    transmat : ndarray of shape (n_components, n_components)
    frame_loglik : ndarray of shape (n_samples, n_components)
        :math:`\log b_k(x_t)`.

    Returns
    -------
    alpha : ndarray of shape (n_samples, n_components)
        :math:`\hat\alpha_t(k)`; each row sums to 1.
    log_scale : ndarray of shape (n_samples,)
        :math:`\log c_t`; their sum is the log-likelihood of the sequence.
    """
    emission, top = _scaled_emission(frame_loglik)
    alpha, scale = _forward_scaled(startprob, transmat, emission)
    with np.errstate(divide="ignore"):
        return alpha, np.log(scale) + top


def backward(transmat: NDArray, frame_loglik: NDArray, log_scale: NDArray) -> NDArray:
    r"""The scaled backward recursion for one sequence, with the forward pass's :math:`c_t`.

    .. math::

        \hat\beta_T(k) = 1, \qquad
        \hat\beta_t(i) = \frac{1}{c_{t+1}} \sum_j A_{ij} \, b_j(x_{t+1}) \, \hat\beta_{t+1}(j),

    so that :math:`\hat\beta_t(k) = p(x_{t+1:T} \mid z_t = k) / p(x_{t+1:T} \mid x_{1:t})`.

    Returns
    -------
    beta : ndarray of shape (n_samples, n_components)
    """
    emission, top = _scaled_emission(frame_loglik)
    return _backward_scaled(transmat, emission, np.exp(log_scale - top))


def state_posteriors(alpha: NDArray, beta: NDArray) -> NDArray:
    r""":math:`\gamma_t(k) = p(z_t = k \mid x_{1:T}) = \hat\alpha_t(k)\,\hat\beta_t(k)` (the scales cancel)."""
    return alpha * beta


def _expected_transitions(alpha: NDArray, beta: NDArray, transmat: NDArray, emission: NDArray, scale: NDArray) -> NDArray:
    """:func:`transition_posteriors` from scaled emissions and their normalisers: one matrix product."""
    return transmat * (alpha[:-1].T @ (emission[1:] * beta[1:] / scale[1:, None]))


def transition_posteriors(
    alpha: NDArray, beta: NDArray, transmat: NDArray, frame_loglik: NDArray, log_scale: NDArray
) -> NDArray:
    r"""Expected transition counts of one sequence.

    .. math::

        \sum_{t=2}^T \xi_t(i, j) = \sum_{t=2}^T p(z_{t-1} = i, z_t = j \mid x_{1:T})
        = A_{ij} \sum_{t=2}^T \hat\alpha_{t-1}(i) \, \frac{b_j(x_t) \, \hat\beta_t(j)}{c_t},

    a single :math:`(K \times T)(T \times K)` matrix product, multiplied entrywise by :math:`A`.

    Returns
    -------
    ndarray of shape (n_components, n_components)
    """
    emission, top = _scaled_emission(frame_loglik)
    return _expected_transitions(alpha, beta, transmat, emission, np.exp(log_scale - top))


def e_step(frame_loglik: NDArray, lengths: NDArray, startprob: NDArray, transmat: NDArray) -> HMMStatistics:
    r"""The E-step over every sequence: forward–backward, posteriors and expected counts.

    Parameters
    ----------
    frame_loglik : ndarray of shape (n_samples, n_components)
        :math:`\log b_k(x_t)` for all sequences, concatenated.
    lengths : ndarray of shape (n_sequences,)
    startprob, transmat : ndarray
        :math:`\pi` and :math:`A`.

    Returns
    -------
    HMMStatistics
        ``posteriors`` :math:`\gamma` (N, K); ``start``, the sum over sequences of
        :math:`\gamma_1`; ``transitions``, the sum of :math:`\xi`; ``loglik``, the total
        :math:`\sum_{\text{sequences}} \log p(x_{1:T})`.

    Raises
    ------
    ValueError
        If some sequence has probability 0 under the model.
    """
    emission, top = _scaled_emission(frame_loglik)
    posteriors = np.empty_like(frame_loglik)
    transitions = np.zeros_like(transmat)
    loglik = 0.0
    for rows in _sequences(lengths):
        alpha, scale = _forward_scaled(startprob, transmat, emission[rows])
        if not np.all(scale > 0.0):
            raise ValueError(
                "a sequence has probability 0 under the model: a start, transition or emission "
                "probability of 0 rules out every path that could explain it."
            )
        beta = _backward_scaled(transmat, emission[rows], scale)
        posteriors[rows] = state_posteriors(alpha, beta)
        transitions += _expected_transitions(alpha, beta, transmat, emission[rows], scale)
        loglik += np.log(scale).sum() + top[rows].sum()
    start = posteriors[np.cumsum(lengths) - lengths].sum(axis=0)
    return HMMStatistics(posteriors, start, transitions, float(loglik))


# ------------------------------------------------------------------ the M-step
def _normalise_rows(counts: NDArray) -> NDArray:
    """Each row divided by its sum; a row of zero counts becomes uniform."""
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.full_like(counts, 1.0 / counts.shape[1]), where=totals > 0)


def m_step_markov(start: NDArray, transitions: NDArray) -> tuple[NDArray, NDArray]:
    r"""Start and transition probabilities from expected counts.

    .. math::

        \pi_k = \frac{\sum_s \gamma^{(s)}_1(k)}{S}, \qquad
        A_{ij} = \frac{\sum_t \xi_t(i, j)}{\sum_{j'} \sum_t \xi_t(i, j')}

    A state with no expected transitions out of it (a row of zero counts: it is never occupied
    before the last step) gets a uniform row.
    """
    return start / start.sum(), _normalise_rows(transitions)


def categorical_emission_m_step(symbols: NDArray[np.intp], posteriors: NDArray, n_symbols: int) -> NDArray:
    r"""Emission probabilities :math:`B_{km} = \sum_t \gamma_t(k) [x_t = m] / \sum_t \gamma_t(k)`.

    Parameters
    ----------
    symbols : ndarray of shape (n_samples,)
        Integers in ``0 .. n_symbols - 1``.
    posteriors : ndarray of shape (n_samples, n_components)

    Returns
    -------
    ndarray of shape (n_components, n_symbols)
    """
    counts = np.stack([np.bincount(symbols, weights=g, minlength=n_symbols) for g in posteriors.T])
    return _normalise_rows(counts)


# ------------------------------------------------------------------ decoding
def viterbi(startprob: NDArray, transmat: NDArray, frame_loglik: NDArray) -> tuple[float, NDArray[np.intp]]:
    r"""The most probable state path of one sequence (Viterbi decoding).

    .. math::

        \delta_1(k) = \log\pi_k + \log b_k(x_1), \qquad
        \delta_t(j) = \max_i \big[\delta_{t-1}(i) + \log A_{ij}\big] + \log b_j(x_t),

    then back-tracking from :math:`\arg\max_k \delta_T(k)`. The same recursion as
    :func:`forward` with the sum replaced by a maximum, in log space (a maximum of logs needs no
    scaling).

    Returns
    -------
    log_prob : float
        :math:`\log p(x_{1:T}, z^*_{1:T})` of the best path :math:`z^*`.
    path : ndarray of shape (n_samples,)
    """
    with np.errstate(divide="ignore"):
        log_startprob, log_transmat = np.log(startprob), np.log(transmat)
    log_prob, path = _viterbi_log(log_startprob, log_transmat, np.ascontiguousarray(frame_loglik))
    return float(log_prob), path


# ------------------------------------------------------------------ estimators
class _BaseHMM(BaseEstimator):
    """Baum–Welch and inference shared by the HMMs; subclasses supply the emission model."""

    _emission_names: tuple[str, ...] = ()

    def fit(self, X: ArrayLike, lengths: ArrayLike | None = None) -> Self:
        """Fit by Baum–Welch (EM) from one start.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Several sequences concatenated row-wise.
        lengths : array-like of int, optional
            The length of each sequence; they sum to ``n_samples``. ``None``: one sequence.

        Returns
        -------
        self
        """
        X = self._checked_data(X, fitted=False)
        lengths = check_lengths(lengths, X.shape[0])
        K = check_positive_int(self.n_components, "n_components")
        check_positive_int(self.n_iter, "n_iter")
        check_positive_float(self.tol, "tol")
        check_n_samples(X, K)
        self._check_emission_options(X)
        rng = check_random_state(self.random_state)
        startprob, transmat, emission = self._initial_parameters(X, rng)
        stats = e_step(self._frame_loglik(X, emission), lengths, startprob, transmat)
        history = [stats.loglik]
        converged = False
        for _ in range(self.n_iter):
            startprob, transmat = m_step_markov(stats.start, stats.transitions)
            emission = self._emission_m_step(X, stats.posteriors)
            stats = e_step(self._frame_loglik(X, emission), lengths, startprob, transmat)
            history.append(stats.loglik)
            if history[-1] - history[-2] < self.tol:
                converged = True
                break
        if not converged:
            warnings.warn(
                f"{type(self).__name__} did not converge in n_iter={self.n_iter} iterations; "
                "increase n_iter or tol, or try another start.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.startprob_, self.transmat_ = startprob, transmat
        for name, value in zip(self._emission_names, emission, strict=True):
            setattr(self, name, value)
        self.loglik_history_ = np.asarray(history)
        self.n_iter_ = len(history) - 1
        self.converged_ = converged
        self.n_features_in_ = X.shape[1]
        return self

    def _initial_parameters(self, X: NDArray, rng: np.random.Generator) -> tuple[NDArray, NDArray, tuple]:
        """θ₀: the given ``startprob_init`` and ``transmat_init``, else uniform (``init="kmeans"``)
        or Dirichlet(1) draws (``init="random"``); emissions from the subclass."""
        K = self.n_components
        if self.init == "random":
            startprob, transmat = rng.dirichlet(np.ones(K)), rng.dirichlet(np.ones(K), size=K)
        else:
            startprob, transmat = np.full(K, 1.0 / K), np.full((K, K), 1.0 / K)
        if self.startprob_init is not None:
            startprob = check_weights(self.startprob_init, "startprob_init", K)
        if self.transmat_init is not None:
            transmat = check_stochastic_matrix(self.transmat_init, "transmat_init", (K, K))
        return startprob, transmat, self._initial_emission(X, rng)

    # ------------------------------------------------------------ inference
    def _inference_input(self, X: ArrayLike, lengths: ArrayLike | None) -> tuple[NDArray, NDArray[np.intp]]:
        check_is_fitted(self)
        X = self._checked_data(X, fitted=True)
        check_n_features(X, self.n_features_in_, type(self).__name__)
        return X, check_lengths(lengths, X.shape[0])

    def _emission(self) -> tuple:
        return tuple(getattr(self, name) for name in self._emission_names)

    def score(self, X: ArrayLike, lengths: ArrayLike | None = None) -> float:
        r"""The total log-likelihood :math:`\sum_{\text{sequences}} \log p(x_{1:T} \mid \theta)` (as hmmlearn);
        ``-inf`` if a sequence has probability 0 under the model."""
        X, lengths = self._inference_input(X, lengths)
        frame_loglik = self._frame_loglik(X, self._emission())
        return float(
            sum(forward(self.startprob_, self.transmat_, frame_loglik[rows])[1].sum() for rows in _sequences(lengths))
        )

    def predict_proba(self, X: ArrayLike, lengths: ArrayLike | None = None) -> NDArray:
        r"""Posterior state marginals :math:`\gamma_t(k) = p(z_t = k \mid x_{1:T})`, shape (N, K)."""
        X, lengths = self._inference_input(X, lengths)
        return e_step(self._frame_loglik(X, self._emission()), lengths, self.startprob_, self.transmat_).posteriors

    def decode(self, X: ArrayLike, lengths: ArrayLike | None = None) -> tuple[float, NDArray[np.intp]]:
        """The Viterbi path of every sequence and the total :math:`\\log p(x, z^*)` of those paths."""
        X, lengths = self._inference_input(X, lengths)
        frame_loglik = self._frame_loglik(X, self._emission())
        decoded = [viterbi(self.startprob_, self.transmat_, frame_loglik[rows]) for rows in _sequences(lengths)]
        return float(sum(lp for lp, _ in decoded)), np.concatenate([path for _, path in decoded])

    def predict(self, X: ArrayLike, lengths: ArrayLike | None = None) -> NDArray[np.intp]:
        """The most probable state path (Viterbi), concatenated over sequences."""
        return self.decode(X, lengths)[1]

    def bic(self, X: ArrayLike, lengths: ArrayLike | None = None) -> float:
        r"""Bayesian information criterion :math:`-2 \log L + p \log N` (lower is better)."""
        return -2.0 * self.score(X, lengths) + self._n_parameters() * np.log(len(X))

    def aic(self, X: ArrayLike, lengths: ArrayLike | None = None) -> float:
        r"""Akaike information criterion :math:`-2 \log L + 2p` (lower is better)."""
        return -2.0 * self.score(X, lengths) + 2.0 * self._n_parameters()

    def _n_parameters(self) -> int:
        """Free parameters: :math:`(K - 1)` start, :math:`K(K - 1)` transition, plus the emissions'."""
        K = self.n_components
        return (K - 1) + K * (K - 1) + self._n_emission_parameters()

    def sample(self, n_samples: int = 1, random_state: Any = None) -> tuple[NDArray, NDArray[np.intp]]:
        """One sequence by ancestral sampling: :math:`z_1 \\sim \\pi`, :math:`z_t \\sim A_{z_{t-1}}`, :math:`x_t \\sim b_{z_t}`.

        Parameters
        ----------
        n_samples : int
            The length of the sequence.
        random_state : int, numpy.random.Generator or None
            Defaults to the estimator's ``random_state``.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        states : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        n_samples = check_positive_int(n_samples, "n_samples")
        rng = check_random_state(self.random_state if random_state is None else random_state)
        uniforms = rng.uniform(size=n_samples)
        states = _markov_chain(np.cumsum(self.startprob_), np.cumsum(self.transmat_, axis=1), uniforms)
        return self._sample_emissions(states, rng), states


class GaussianHMM(_BaseHMM):
    r"""A hidden Markov model with Gaussian emissions, fitted by Baum–Welch, with scikit-learn's interface.

    Parameters
    ----------
    n_components : int, default=1
        The number of hidden states :math:`K`.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
    n_iter : int, default=100
        Maximum number of EM iterations.
    tol : float, default=1e-2
        Stop when the total log-likelihood rises by less than ``tol`` (hmmlearn's rule).
    reg_covar : float, default=1e-6
        Added to the diagonal of every covariance in the M-step (``0``: the exact M-step).
    init : {"kmeans", "random"}, default="kmeans"
        How to start when initial parameters are not given: ``"kmeans"`` takes the means of an
        :class:`emlib.KMeans` fit, the data covariance for every state, uniform :math:`\pi` and
        :math:`A`; ``"random"`` takes K distinct data points as means and Dirichlet(1) draws for
        :math:`\pi` and the rows of :math:`A`.
    startprob_init, transmat_init, means_init, covars_init : array-like, optional
        Initial parameters; each one given replaces the one from ``init``.
    random_state : int, numpy.random.Generator or None, default=None

    Attributes
    ----------
    startprob_ : ndarray of shape (n_components,)
    transmat_ : ndarray of shape (n_components, n_components)
    means_ : ndarray of shape (n_components, n_features)
    covars_ : ndarray
        As ``emlib.GaussianMixture.covariances_``: (K, D, D) "full", (D, D) "tied", (K, D) "diag",
        (K,) "spherical". (hmmlearn's public ``covars_`` is always (K, D, D).)
    loglik_history_ : ndarray of shape (n_iter_ + 1,)
        The total log-likelihood at :math:`\theta_0, \theta_1, \ldots`, never decreasing with
        ``reg_covar=0`` (beyond round-off).
    n_iter_ : int
    converged_ : bool
    n_features_in_ : int
    """

    _emission_names = ("means_", "covars_")

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
        n_iter: int = 100,
        tol: float = 1e-2,
        reg_covar: float = 1e-6,
        init: str = "kmeans",
        startprob_init: ArrayLike | None = None,
        transmat_init: ArrayLike | None = None,
        means_init: ArrayLike | None = None,
        covars_init: ArrayLike | None = None,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.n_iter = n_iter
        self.tol = tol
        self.reg_covar = reg_covar
        self.init = init
        self.startprob_init = startprob_init
        self.transmat_init = transmat_init
        self.means_init = means_init
        self.covars_init = covars_init
        self.random_state = random_state

    def _checked_data(self, X: ArrayLike, fitted: bool) -> NDArray:
        return check_data(X)

    def _check_emission_options(self, X: NDArray) -> None:
        """Validate the emission model's hyper-parameters (before any numeric work)."""
        check_option(self.covariance_type, "covariance_type", gmm.COVARIANCE_TYPES)
        check_option(self.init, "init", ("kmeans", "random"))
        check_positive_float(self.reg_covar, "reg_covar", allow_zero=True)

    def _initial_emission(self, X: NDArray, rng: np.random.Generator) -> tuple[NDArray, NDArray]:
        K, (N, D) = self.n_components, X.shape
        given_means = None if self.means_init is None else check_parameter_array(self.means_init, "means_init", (K, D))
        shape = gmm.covariance_shape(self.covariance_type, K, D)
        given_covars = (
            None
            if self.covars_init is None
            else check_covariances(self.covars_init, "covars_init", self.covariance_type, shape)
        )
        if given_means is not None:
            means = given_means
        elif self.init == "random":
            means = X[rng.choice(N, size=K, replace=False)].copy()
        else:
            means = KMeans(K, n_init=1, random_state=rng).fit(X).cluster_centers_
        if given_covars is not None:
            covars = given_covars
        else:
            covars = gmm.data_covariances(X, K, self.covariance_type, self.reg_covar)
        return means, covars

    def _frame_loglik(self, X: NDArray, emission: tuple[NDArray, NDArray]) -> NDArray:
        means, covars = emission
        return gmm.log_gaussian_density(X, means, covars, self.covariance_type)

    def _emission_m_step(self, X: NDArray, posteriors: NDArray) -> tuple[NDArray, NDArray]:
        _, means, covars = gmm.m_step(X, posteriors, self.covariance_type, self.reg_covar)
        return means, covars

    def _n_emission_parameters(self) -> int:
        K, D = self.n_components, self.n_features_in_
        return gmm.n_parameters(self.covariance_type, K, D) - (K - 1)

    def _sample_emissions(self, states: NDArray[np.intp], rng: np.random.Generator) -> NDArray:
        K, D = self.n_components, self.n_features_in_
        factors = np.linalg.cholesky(gmm.full_covariances(self.covars_, self.covariance_type, K, D))
        noise = rng.standard_normal((len(states), D))
        return self.means_[states] + np.einsum("nij,nj->ni", factors[states], noise)


class CategoricalHMM(_BaseHMM):
    r"""A hidden Markov model with categorical emissions (symbols ``0 .. M-1``), fitted by Baum–Welch.

    Parameters
    ----------
    n_components : int, default=1
        The number of hidden states :math:`K`.
    n_symbols : int, optional
        The number of symbols :math:`M`; by default one more than the largest symbol in ``fit``.
    n_iter : int, default=100
    tol : float, default=1e-2
        Stop when the total log-likelihood rises by less than ``tol``.
    init : {"random"}, default="random"
        Dirichlet(1) draws for :math:`\pi`, the rows of :math:`A` and the rows of :math:`B`
        where they are not given.
    startprob_init, transmat_init, emissionprob_init : array-like, optional
    random_state : int, numpy.random.Generator or None, default=None

    Attributes
    ----------
    startprob_, transmat_ : ndarray
    emissionprob_ : ndarray of shape (n_components, n_symbols)
        :math:`B_{km} = p(x_t = m \mid z_t = k)`.
    n_symbols_ : int
        :math:`M`.
    loglik_history_ : ndarray of shape (n_iter_ + 1,)
        The total log-likelihood at :math:`\theta_0, \theta_1, \ldots`, never decreasing.
    n_iter_ : int
    converged_ : bool
    n_features_in_ : int
        Always 1: ``X`` is one column of symbols.
    """

    _emission_names = ("emissionprob_",)

    def __init__(
        self,
        n_components: int = 1,
        *,
        n_symbols: int | None = None,
        n_iter: int = 100,
        tol: float = 1e-2,
        init: str = "random",
        startprob_init: ArrayLike | None = None,
        transmat_init: ArrayLike | None = None,
        emissionprob_init: ArrayLike | None = None,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.n_components = n_components
        self.n_symbols = n_symbols
        self.n_iter = n_iter
        self.tol = tol
        self.init = init
        self.startprob_init = startprob_init
        self.transmat_init = transmat_init
        self.emissionprob_init = emissionprob_init
        self.random_state = random_state

    @property
    def n_symbols_(self) -> int:
        """The number of symbols :math:`M` of the fitted model."""
        return self.emissionprob_.shape[1]

    def _checked_data(self, X: ArrayLike, fitted: bool) -> NDArray[np.intp]:
        """Symbols in range: of ``n_symbols`` in ``fit``, of the fitted ``n_symbols_`` afterwards."""
        if fitted:
            return check_symbols(X, self.n_symbols_)
        return check_symbols(X, None if self.n_symbols is None else check_positive_int(self.n_symbols, "n_symbols"))

    def _check_emission_options(self, X: NDArray[np.intp]) -> None:
        """Validate ``init``; the number of symbols of this fit is ``n_symbols`` or the largest symbol + 1."""
        check_option(self.init, "init", ("random",))
        self._n_symbols_in_fit = int(X.max()) + 1 if self.n_symbols is None else self.n_symbols

    def _initial_emission(self, X: NDArray, rng: np.random.Generator) -> tuple[NDArray]:
        K, M = self.n_components, self._n_symbols_in_fit
        if self.emissionprob_init is None:
            return (rng.dirichlet(np.ones(M), size=K),)
        return (check_stochastic_matrix(self.emissionprob_init, "emissionprob_init", (K, M)),)

    def _frame_loglik(self, X: NDArray[np.intp], emission: tuple[NDArray]) -> NDArray:
        with np.errstate(divide="ignore"):  # a probability of 0 gives -inf: that state cannot emit x_t
            return np.log(emission[0]).T[X[:, 0]]

    def _emission_m_step(self, X: NDArray[np.intp], posteriors: NDArray) -> tuple[NDArray]:
        return (categorical_emission_m_step(X[:, 0], posteriors, self._n_symbols_in_fit),)

    def _n_emission_parameters(self) -> int:
        return self.n_components * (self.n_symbols_ - 1)

    def _sample_emissions(self, states: NDArray[np.intp], rng: np.random.Generator) -> NDArray:
        cumulative = np.cumsum(self.emissionprob_[states], axis=1)
        draws = rng.uniform(size=(len(states), 1))
        return np.minimum((draws > cumulative).sum(axis=1), self.n_symbols_ - 1)[:, None]
