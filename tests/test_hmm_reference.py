"""emlib's hidden Markov models against references nobody here wrote, or written differently.

* hmmlearn 0.3.3, run from the same starting parameters on several sequences: the same
  log-likelihood path and fitted parameters for the four Gaussian covariance types and the
  categorical model, and the same ``score``, posteriors and Viterbi paths;
* brute force on tiny models: every one of the :math:`K^T` state paths enumerated with
  ``itertools.product``, giving the likelihood, the posterior marginals, the expected transition
  counts, the best path and the meaning of the scaled forward/backward quantities;
* a log-space forward recursion written here (no scaling) on sequences of 100 000 steps;
* closed forms for the M-step (normalised counts, weighted frequency tables, per-state sample
  moments when the states are observed) and Monte Carlo standard errors for ``sample``.

scikit-learn's estimator checks run in tests/test_sklearn_checks.py, through thin subclasses
whose ``fit(X, y)`` and ``score(X, y)`` treat ``X`` as one sequence (an HMM's second argument is
``lengths``, not a target ``y``; hmmlearn's estimators do not pass the suite either). There
``CategoricalHMM`` is excluded from the checks that fit continuous data; the same conventions
(clone, NotFittedError, fit returns self and overwrites no parameter, refit and pickle give the
same outputs, inference changes no state) are tested at the end of this file on symbols, with
several sequences, for both models.
"""

from __future__ import annotations

import bisect
import itertools
import pickle

import joblib
import numpy as np
import pytest
from hmmlearn import hmm as hmmlearn_hmm
from scipy.special import logsumexp
from scipy.stats import norm
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

import emlib
from emlib import gmm, hmm

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

COVARIANCE_TYPES = ["full", "diag", "tied", "spherical"]
LENGTHS = [150, 230, 120]
N_ITER = 20

# A three-state chain with overlapping Gaussian states in 2-D, used to make data.
TRUE_STARTPROB = np.array([0.5, 0.3, 0.2])
TRUE_TRANSMAT = np.array([[0.90, 0.05, 0.05], [0.10, 0.80, 0.10], [0.05, 0.15, 0.80]])
TRUE_MEANS = np.array([[0.0, 0.0], [3.0, 1.0], [-1.0, 3.0]])
TRUE_COVARS = np.array([[[1.0, 0.3], [0.3, 0.6]], [[0.8, -0.2], [-0.2, 1.2]], [[0.5, 0.0], [0.0, 0.9]]])
TRUE_EMISSIONPROB = np.array([[0.6, 0.3, 0.05, 0.05], [0.1, 0.2, 0.6, 0.1], [0.25, 0.25, 0.1, 0.4]])


# ------------------------------------------------------------------ data, written without emlib
def markov_chain(startprob, transmat, n, rng):
    """States by inversion of the cumulative probabilities, one step at a time (plain Python)."""
    start, rows = np.cumsum(startprob).tolist(), np.cumsum(transmat, axis=1).tolist()
    K = len(startprob)
    u = rng.uniform(size=n).tolist()
    states = [min(bisect.bisect_right(start, u[0]), K - 1)]
    for t in range(1, n):
        states.append(min(bisect.bisect_right(rows[states[-1]], u[t]), K - 1))
    return np.array(states)


def concatenated_chains(lengths, seed):
    rng = np.random.default_rng(seed)
    return np.concatenate([markov_chain(TRUE_STARTPROB, TRUE_TRANSMAT, n, rng) for n in lengths]), rng


def gaussian_sequences(lengths, seed):
    states, rng = concatenated_chains(lengths, seed)
    noise = rng.standard_normal((len(states), 2))
    factors = np.linalg.cholesky(TRUE_COVARS)
    return TRUE_MEANS[states] + np.einsum("nij,nj->ni", factors[states], noise)


def symbol_sequences(lengths, seed):
    states, rng = concatenated_chains(lengths, seed)
    cumulative = np.cumsum(TRUE_EMISSIONPROB, axis=1)[states]
    return np.minimum((rng.uniform(size=(len(states), 1)) > cumulative).sum(axis=1), 3)[:, None]


def gaussian_start(X, K, covariance_type, seed):
    """A deliberately poor start: Dirichlet start/transition rows, random data points as means."""
    rng = np.random.default_rng(seed)
    D = X.shape[1]
    cov = np.cov(X, rowvar=False)
    startprob = rng.dirichlet(np.ones(K))
    transmat = rng.dirichlet(np.full(K, 3.0), size=K)
    means = X[rng.choice(len(X), K, replace=False)]
    covars = {
        "full": np.stack([cov * s for s in rng.uniform(0.5, 1.5, K)]),
        "tied": cov,
        "diag": np.diag(cov) * rng.uniform(0.5, 1.5, (K, D)),
        "spherical": np.trace(cov) / D * rng.uniform(0.5, 1.5, K),
    }[covariance_type]
    return startprob, transmat, means, covars


def categorical_start(K, M, seed):
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.ones(K)), rng.dirichlet(np.full(K, 3.0), size=K), rng.dirichlet(np.ones(M), size=K)


def with_parameters(model, **fitted):
    """An emlib estimator holding given parameters, as if fitted."""
    for name, value in fitted.items():
        setattr(model, name, value)
    return model


def hmmlearn_gaussian(covariance_type, startprob, transmat, means, covars, n_iter=N_ITER):
    """hmmlearn's GaussianHMM made equivalent to emlib's with reg_covar=0: no priors, no floor."""
    model = hmmlearn_hmm.GaussianHMM(
        len(startprob), covariance_type=covariance_type, n_iter=n_iter, tol=-np.inf, init_params="",
        params="stmc", covars_prior=0, means_weight=0, min_covar=0, implementation="log",
    )
    model.startprob_, model.transmat_, model.means_, model.covars_ = startprob, transmat, means, covars
    model.n_features = means.shape[1]
    return model


def hmmlearn_categorical(startprob, transmat, emissionprob, n_iter=N_ITER):
    model = hmmlearn_hmm.CategoricalHMM(
        len(startprob), n_features=emissionprob.shape[1], n_iter=n_iter, tol=-np.inf, init_params="",
        params="ste", implementation="log",
    )
    model.startprob_, model.transmat_, model.emissionprob_ = startprob, transmat, emissionprob
    return model


def compact_covars(reference, covariance_type):
    """hmmlearn's compact ``_covars_`` in scikit-learn's GaussianMixture shapes (spherical: (K, D) -> (K,))."""
    return reference._covars_[:, 0] if covariance_type == "spherical" else reference._covars_


# ------------------------------------------------------------------ 1. hmmlearn, step for step
@pytest.fixture(scope="module")
def gaussian_data():
    return gaussian_sequences(LENGTHS, seed=101)


@pytest.fixture(scope="module")
def symbol_data():
    return symbol_sequences(LENGTHS, seed=202)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_gaussian_baum_welch_matches_hmmlearn(gaussian_data, covariance_type):
    X = gaussian_data
    start = gaussian_start(X, 3, covariance_type, seed=7)
    reference = hmmlearn_gaussian(covariance_type, *start).fit(X, LENGTHS)
    ours = emlib.GaussianHMM(
        3, covariance_type=covariance_type, n_iter=N_ITER, tol=1e-300, reg_covar=0.0, startprob_init=start[0],
        transmat_init=start[1], means_init=start[2], covars_init=start[3],
    ).fit(X, LENGTHS)
    history = np.array(reference.monitor_.history)
    assert len(history) == N_ITER and len(ours.loglik_history_) == N_ITER + 1
    n = min(len(history), len(ours.loglik_history_))
    np.testing.assert_allclose(ours.loglik_history_[:n], history[:n], rtol=1e-8)
    assert ours.loglik_history_[-1] - ours.loglik_history_[0] > 10.0  # the start was poor: EM moved
    # emlib's extra last entry is the log-likelihood at the parameters it returns
    np.testing.assert_allclose(ours.loglik_history_[-1], reference.score(X, LENGTHS), rtol=1e-10)
    np.testing.assert_allclose(ours.startprob_, reference.startprob_, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(ours.transmat_, reference.transmat_, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(ours.means_, reference.means_, rtol=1e-6, atol=1e-10)
    assert ours.covars_.shape == gmm.covariance_shape(covariance_type, 3, 2)
    np.testing.assert_allclose(ours.covars_, compact_covars(reference, covariance_type), rtol=1e-6, atol=1e-10)
    if covariance_type != "spherical":  # after fit, hmmlearn keeps spherical _covars_ as (K, D), and its
        # public covars_ then has the wrong shape (2K, D, D); the compact comparison above covers it
        full = gmm.full_covariances(ours.covars_, covariance_type, 3, 2)
        np.testing.assert_allclose(full, reference.covars_, rtol=1e-6, atol=1e-10)  # hmmlearn's public (K, D, D)


def test_categorical_baum_welch_matches_hmmlearn(symbol_data):
    S = symbol_data
    start = categorical_start(3, 4, seed=8)
    reference = hmmlearn_categorical(*start).fit(S, LENGTHS)
    ours = emlib.CategoricalHMM(
        3, n_symbols=4, n_iter=N_ITER, tol=1e-300, startprob_init=start[0], transmat_init=start[1],
        emissionprob_init=start[2],
    ).fit(S, LENGTHS)
    history = np.array(reference.monitor_.history)
    n = min(len(history), len(ours.loglik_history_))
    assert n == N_ITER
    np.testing.assert_allclose(ours.loglik_history_[:n], history[:n], rtol=1e-8)
    np.testing.assert_allclose(ours.loglik_history_[-1], reference.score(S, LENGTHS), rtol=1e-10)
    np.testing.assert_allclose(ours.startprob_, reference.startprob_, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(ours.transmat_, reference.transmat_, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(ours.emissionprob_, reference.emissionprob_, rtol=1e-6, atol=1e-10)


NEW_LENGTHS = [80, 200, 45]


def _compare_inference(ours, reference, X, lengths):
    np.testing.assert_allclose(ours.score(X, lengths), reference.score(X, lengths), rtol=1e-10)
    ends = np.cumsum(lengths)
    for stop, n in zip(ends, lengths, strict=True):  # every sequence on its own
        piece = X[stop - n : stop]
        np.testing.assert_allclose(ours.score(piece), reference.score(piece), rtol=1e-10)
    np.testing.assert_allclose(ours.predict_proba(X, lengths), reference.predict_proba(X, lengths), atol=1e-9)
    log_prob, path = ours.decode(X, lengths)
    reference_log_prob, reference_path = reference.decode(X, lengths, algorithm="viterbi")
    np.testing.assert_allclose(log_prob, reference_log_prob, rtol=1e-10)
    np.testing.assert_array_equal(path, reference_path)
    np.testing.assert_array_equal(ours.predict(X, lengths), reference.predict(X, lengths))
    assert len(np.unique(path)) == len(ours.startprob_)  # every state is used: a real decoding test


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_gaussian_inference_matches_hmmlearn(gaussian_data, covariance_type):
    ours = emlib.GaussianHMM(3, covariance_type=covariance_type, n_iter=30, random_state=3).fit(gaussian_data, LENGTHS)
    full = gmm.full_covariances(ours.covars_, covariance_type, 3, 2)
    compact = {"full": full, "tied": ours.covars_, "diag": ours.covars_, "spherical": ours.covars_}[covariance_type]
    reference = hmmlearn_gaussian(covariance_type, ours.startprob_, ours.transmat_, ours.means_, compact)
    for seed in (11, 12):
        X = gaussian_sequences(NEW_LENGTHS, seed)
        _compare_inference(ours, reference, X, NEW_LENGTHS)


def test_categorical_inference_matches_hmmlearn(symbol_data):
    ours = emlib.CategoricalHMM(3, n_iter=30, random_state=3).fit(symbol_data, LENGTHS)
    reference = hmmlearn_categorical(ours.startprob_, ours.transmat_, ours.emissionprob_)
    for seed in (21, 22):
        S = symbol_sequences(NEW_LENGTHS, seed)
        _compare_inference(ours, reference, S, NEW_LENGTHS)


# ------------------------------------------------------------------ 2. brute force over all K^T paths
def all_paths(startprob, transmat, frame_loglik):
    """Every state path and its log p(x, z), by explicit enumeration."""
    T, K = frame_loglik.shape
    paths = np.array(list(itertools.product(range(K), repeat=T)))
    with np.errstate(divide="ignore"):
        log_start, log_trans = np.log(startprob), np.log(transmat)
    log_joint = (
        log_start[paths[:, 0]]
        + log_trans[paths[:, :-1], paths[:, 1:]].sum(axis=1)
        + frame_loglik[np.arange(T), paths].sum(axis=1)
    )
    return paths, log_joint


def tiny_gaussian(K, T, seed, outlier=False):
    rng = np.random.default_rng(seed)
    startprob, transmat = rng.dirichlet(np.ones(K)), rng.dirichlet(np.ones(K), size=K)
    means, sds = rng.normal(scale=2.0, size=K), rng.uniform(0.5, 2.0, size=K)
    x = rng.normal(scale=2.0, size=T)
    if outlier:
        x[T // 2] = 300.0  # log densities near -1e4: the scaled recursion must not underflow
    frame_loglik = norm.logpdf(x[:, None], means, sds)
    model = with_parameters(
        emlib.GaussianHMM(K, covariance_type="diag"), startprob_=startprob, transmat_=transmat,
        means_=means[:, None], covars_=sds[:, None] ** 2, n_features_in_=1,
    )
    return startprob, transmat, frame_loglik, model, x[:, None]


def tiny_categorical(K, T, seed, zeros=False):
    rng = np.random.default_rng(seed)
    M = 3
    startprob, transmat = rng.dirichlet(np.ones(K)), rng.dirichlet(np.ones(K), size=K)
    emissionprob = rng.dirichlet(np.ones(M), size=K)
    symbols = rng.integers(0, M, size=T)
    if zeros:  # impossible transitions and emissions: log 0 = -inf in the sums
        transmat[0, 1] = 0.0
        transmat[0] /= transmat[0].sum()
        emissionprob[1, 0] = 0.0
        emissionprob[1] /= emissionprob[1].sum()
    frame_loglik = np.array([[np.log(emissionprob[k, s]) if emissionprob[k, s] > 0 else -np.inf for k in range(K)]
                             for s in symbols])
    model = with_parameters(
        emlib.CategoricalHMM(K), startprob_=startprob, transmat_=transmat, emissionprob_=emissionprob, n_features_in_=1,
    )
    return startprob, transmat, frame_loglik, model, symbols[:, None]


TINY = [
    pytest.param(lambda: tiny_gaussian(2, 7, seed=31), id="gaussian K=2 T=7"),
    pytest.param(lambda: tiny_gaussian(3, 6, seed=32), id="gaussian K=3 T=6"),
    pytest.param(lambda: tiny_gaussian(3, 5, seed=33, outlier=True), id="gaussian K=3 T=5 outlier"),
    pytest.param(lambda: tiny_categorical(2, 7, seed=34), id="categorical K=2 T=7"),
    pytest.param(lambda: tiny_categorical(3, 7, seed=35), id="categorical K=3 T=7"),
    pytest.param(lambda: tiny_categorical(3, 6, seed=36, zeros=True), id="categorical K=3 T=6 zeros"),
]


@pytest.mark.parametrize("make", TINY)
def test_likelihood_is_the_sum_over_all_paths(make):
    startprob, transmat, frame_loglik, model, X = make()
    _, log_joint = all_paths(startprob, transmat, frame_loglik)
    loglik = logsumexp(log_joint)
    alpha, log_scale = hmm.forward(startprob, transmat, frame_loglik)
    np.testing.assert_allclose(log_scale.sum(), loglik, rtol=1e-12)
    np.testing.assert_allclose(model.score(X), loglik, rtol=1e-12)
    np.testing.assert_allclose(alpha.sum(axis=1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("make", TINY)
def test_viterbi_is_the_best_of_all_paths(make):
    startprob, transmat, frame_loglik, model, X = make()
    paths, log_joint = all_paths(startprob, transmat, frame_loglik)
    best = np.argmax(log_joint)
    assert np.sort(log_joint)[-2] < log_joint[best] - 1e-9  # no tie: the best path is unique
    log_prob, path = hmm.viterbi(startprob, transmat, frame_loglik)
    np.testing.assert_array_equal(path, paths[best])
    np.testing.assert_allclose(log_prob, log_joint[best], rtol=1e-12)
    decoded_log_prob, decoded = model.decode(X)
    np.testing.assert_array_equal(decoded, paths[best])
    np.testing.assert_array_equal(model.predict(X), paths[best])
    np.testing.assert_allclose(decoded_log_prob, log_joint[best], rtol=1e-12)


@pytest.mark.parametrize("make", TINY)
def test_posterior_marginals_and_transition_counts_by_enumeration(make):
    startprob, transmat, frame_loglik, model, X = make()
    paths, log_joint = all_paths(startprob, transmat, frame_loglik)
    T, K = frame_loglik.shape
    weight = np.exp(log_joint - logsumexp(log_joint))  # p(z | x) of every path
    gamma = np.array([[weight[paths[:, t] == k].sum() for k in range(K)] for t in range(T)])
    xi = np.array([[sum(weight[(paths[:, t - 1] == i) & (paths[:, t] == j)].sum() for t in range(1, T))
                    for j in range(K)] for i in range(K)])
    alpha, log_scale = hmm.forward(startprob, transmat, frame_loglik)
    beta = hmm.backward(transmat, frame_loglik, log_scale)
    np.testing.assert_allclose(hmm.state_posteriors(alpha, beta), gamma, atol=1e-12)
    np.testing.assert_allclose(model.predict_proba(X), gamma, atol=1e-12)
    np.testing.assert_allclose(hmm.transition_posteriors(alpha, beta, transmat, frame_loglik, log_scale), xi,
                               atol=1e-12)
    np.testing.assert_allclose(xi.sum(), T - 1, rtol=1e-12)


@pytest.mark.parametrize("make", TINY)
def test_scaled_forward_and_backward_mean_what_the_docstrings_say(make):
    """alpha[t] = p(z_t | x_1..t), log_scale[t] = log p(x_t | x_1..t-1), and
    beta[t, k] = p(x_t+1..T | z_t = k) / p(x_t+1..T | x_1..t), each by enumeration over prefixes."""
    startprob, transmat, frame_loglik, _, _ = make()
    T, K = frame_loglik.shape
    alpha, log_scale = hmm.forward(startprob, transmat, frame_loglik)
    beta = hmm.backward(transmat, frame_loglik, log_scale)
    full_paths, full_joint = all_paths(startprob, transmat, frame_loglik)
    loglik = logsumexp(full_joint)
    previous = 0.0
    for t in range(T):
        paths, log_joint = all_paths(startprob, transmat, frame_loglik[: t + 1])
        prefix = logsumexp(log_joint)  # log p(x_1..t)
        with np.errstate(divide="ignore"):
            log_end = np.array([logsumexp(log_joint[paths[:, t] == k]) for k in range(K)])  # log p(x_1..t, z_t=k)
            log_with_k = np.array([logsumexp(full_joint[full_paths[:, t] == k]) for k in range(K)])  # log p(x, z_t=k)
        np.testing.assert_allclose(alpha[t], np.exp(log_end - prefix), atol=1e-12)
        np.testing.assert_allclose(log_scale[t], prefix - previous, rtol=1e-10, atol=1e-12)
        previous = prefix
        reachable = np.isfinite(log_end)
        log_future_given_k = log_with_k[reachable] - log_end[reachable]  # log p(x_t+1..T | z_t = k)
        log_future = loglik - prefix  # log p(x_t+1..T | x_1..t)
        np.testing.assert_allclose(beta[t, reachable], np.exp(log_future_given_k - log_future), rtol=1e-10)


def test_e_step_over_several_sequences_by_enumeration():
    rng = np.random.default_rng(41)
    K, lengths = 3, np.array([4, 6, 5])
    startprob, transmat = rng.dirichlet(np.ones(K)), rng.dirichlet(np.ones(K), size=K)
    frame_loglik = rng.normal(scale=2.0, size=(lengths.sum(), K))
    stats = hmm.e_step(frame_loglik, lengths, startprob, transmat)
    start, transitions, loglik, gammas = np.zeros(K), np.zeros((K, K)), 0.0, []
    for stop, T in zip(np.cumsum(lengths), lengths, strict=True):
        paths, log_joint = all_paths(startprob, transmat, frame_loglik[stop - T : stop])
        weight = np.exp(log_joint - logsumexp(log_joint))
        loglik += logsumexp(log_joint)
        gammas.append([[weight[paths[:, t] == k].sum() for k in range(K)] for t in range(T)])
        start += gammas[-1][0]
        for t in range(1, T):
            for i, j in itertools.product(range(K), repeat=2):
                transitions[i, j] += weight[(paths[:, t - 1] == i) & (paths[:, t] == j)].sum()
    np.testing.assert_allclose(stats.loglik, loglik, rtol=1e-12)
    np.testing.assert_allclose(stats.posteriors, np.concatenate(gammas), atol=1e-12)
    np.testing.assert_allclose(stats.start, start, atol=1e-12)
    np.testing.assert_allclose(stats.transitions, transitions, atol=1e-12)


def test_one_baum_welch_step_is_the_closed_form_from_enumerated_posteriors():
    """fit(n_iter=1) from θ0 gives the M-step of the enumerated E-step (1-D Gaussian, three sequences)."""
    rng = np.random.default_rng(42)
    K, lengths = 2, [5, 6, 4]
    x = rng.normal(scale=2.0, size=sum(lengths))
    startprob, transmat = np.array([0.3, 0.7]), np.array([[0.8, 0.2], [0.4, 0.6]])
    means, variances = np.array([-1.0, 1.5]), np.array([1.0, 2.0])
    frame_loglik = norm.logpdf(x[:, None], means, np.sqrt(variances))
    gamma, start, counts = [], np.zeros(K), np.zeros((K, K))
    for stop, T in zip(np.cumsum(lengths), lengths, strict=True):
        paths, log_joint = all_paths(startprob, transmat, frame_loglik[stop - T : stop])
        weight = np.exp(log_joint - logsumexp(log_joint))
        g = np.array([[weight[paths[:, t] == k].sum() for k in range(K)] for t in range(T)])
        gamma.append(g)
        start += g[0]
        for t in range(1, T):
            for i, j in itertools.product(range(K), repeat=2):
                counts[i, j] += weight[(paths[:, t - 1] == i) & (paths[:, t] == j)].sum()
    gamma = np.concatenate(gamma)
    new_means = (gamma * x[:, None]).sum(axis=0) / gamma.sum(axis=0)
    new_variances = (gamma * (x[:, None] - new_means) ** 2).sum(axis=0) / gamma.sum(axis=0)
    model = emlib.GaussianHMM(
        K, covariance_type="diag", n_iter=1, tol=1e-300, reg_covar=0.0, startprob_init=startprob,
        transmat_init=transmat, means_init=means[:, None], covars_init=variances[:, None],
    ).fit(x[:, None], lengths)
    np.testing.assert_allclose(model.startprob_, start / len(lengths), rtol=1e-12)
    np.testing.assert_allclose(model.transmat_, counts / counts.sum(axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(model.means_[:, 0], new_means, rtol=1e-12)
    np.testing.assert_allclose(model.covars_[:, 0], new_variances, rtol=1e-12)


# ------------------------------------------------------------------ 3. long sequences
LONG = 100_000


def log_space_forward(startprob, transmat, frame_loglik):
    """log p(x_1..T) by the unscaled forward recursion carried in log space (no normalisation)."""
    log_transmat = np.log(transmat)
    log_alpha = np.log(startprob) + frame_loglik[0]
    for t in range(1, len(frame_loglik)):
        log_alpha = np.logaddexp.reduce(log_alpha[:, None] + log_transmat, axis=0) + frame_loglik[t]
    return np.logaddexp.reduce(log_alpha)


@pytest.fixture(scope="module")
def long_gaussian():
    X = gaussian_sequences([LONG], seed=51)
    model = with_parameters(
        emlib.GaussianHMM(3, covariance_type="full"), startprob_=TRUE_STARTPROB, transmat_=TRUE_TRANSMAT,
        means_=TRUE_MEANS, covars_=TRUE_COVARS, n_features_in_=2,
    )
    frame_loglik = np.stack([
        -0.5 * np.einsum("ni,ij,nj->n", X - m, np.linalg.inv(c), X - m) - 0.5 * np.log(np.linalg.det(2 * np.pi * c))
        for m, c in zip(TRUE_MEANS, TRUE_COVARS, strict=True)
    ], axis=1)
    reference = hmmlearn_gaussian("full", TRUE_STARTPROB, TRUE_TRANSMAT, TRUE_MEANS, TRUE_COVARS)
    return X, model, frame_loglik, reference


@pytest.fixture(scope="module")
def long_symbols():
    S = symbol_sequences([LONG], seed=52)
    model = with_parameters(
        emlib.CategoricalHMM(3), startprob_=TRUE_STARTPROB, transmat_=TRUE_TRANSMAT,
        emissionprob_=TRUE_EMISSIONPROB, n_features_in_=1,
    )
    frame_loglik = np.log(TRUE_EMISSIONPROB).T[S[:, 0]]
    reference = hmmlearn_categorical(TRUE_STARTPROB, TRUE_TRANSMAT, TRUE_EMISSIONPROB)
    return S, model, frame_loglik, reference


@pytest.mark.parametrize("data", ["long_gaussian", "long_symbols"])
def test_a_hundred_thousand_steps(data, request):
    X, model, frame_loglik, reference = request.getfixturevalue(data)
    loglik = model.score(X)
    posteriors = model.predict_proba(X)
    assert np.isfinite(loglik) and loglik < -LONG * 0.5  # a real long-sequence likelihood, far below 1e-300
    assert np.isfinite(posteriors).all()
    np.testing.assert_allclose(posteriors.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(loglik, log_space_forward(TRUE_STARTPROB, TRUE_TRANSMAT, frame_loglik), rtol=1e-9)
    np.testing.assert_allclose(loglik, reference.score(X), rtol=1e-9)
    np.testing.assert_allclose(posteriors, reference.predict_proba(X), atol=1e-8)
    pieces = [30_000, 50_000, 20_000]  # several sequences: the total is the sum of their scores
    ends = np.cumsum(pieces)
    total = sum(model.score(X[end - n : end]) for end, n in zip(ends, pieces, strict=True))
    np.testing.assert_allclose(model.score(X, pieces), total, rtol=1e-12)
    np.testing.assert_allclose(model.score(X, pieces), reference.score(X, pieces), rtol=1e-9)
    log_prob, path = model.decode(X)
    reference_log_prob, reference_path = reference.decode(X, algorithm="viterbi")
    np.testing.assert_allclose(log_prob, reference_log_prob, rtol=1e-10)
    # the path emlib returns has the log joint probability it reports; with discrete symbols two paths
    # can tie exactly (hmmlearn breaks a few ties the other way), so only almost all states must agree
    T = len(path)
    log_joint = (np.log(TRUE_STARTPROB[path[0]]) + np.log(TRUE_TRANSMAT[path[:-1], path[1:]]).sum()
                 + frame_loglik[np.arange(T), path].sum())
    np.testing.assert_allclose(log_joint, log_prob, rtol=1e-10)
    assert np.mean(path == reference_path) > 0.999


def test_fitting_a_hundred_thousand_steps_stays_finite(long_gaussian):
    X = long_gaussian[0]
    model = emlib.GaussianHMM(3, n_iter=3, tol=1e-300, reg_covar=0.0, random_state=0).fit(X)
    assert np.isfinite(model.loglik_history_).all()
    assert np.all(np.diff(model.loglik_history_) > -1e-9 * np.abs(model.loglik_history_[1:]))


# ------------------------------------------------------------------ 4. the log-likelihood never decreases
def _assert_monotone(history):
    assert len(history) > 5
    np.testing.assert_array_less(-1e-9 * np.abs(history[1:]), np.diff(history))  # up to round-off
    assert history[-1] > history[0]


@pytest.mark.parametrize("init", ["random", "kmeans"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_gaussian_loglik_history_is_monotone(gaussian_data, covariance_type, init):
    for seed in (0, 1, 2):
        model = emlib.GaussianHMM(3, covariance_type=covariance_type, init=init, n_iter=40, tol=1e-300,
                                  reg_covar=0.0, random_state=seed).fit(gaussian_data, LENGTHS)
        _assert_monotone(model.loglik_history_)


def test_categorical_loglik_history_is_monotone(symbol_data):
    for seed in (0, 1, 2):
        model = emlib.CategoricalHMM(3, n_iter=40, tol=1e-300, random_state=seed).fit(symbol_data, LENGTHS)
        _assert_monotone(model.loglik_history_)


# ------------------------------------------------------------------ 5. M-step closed forms
def test_m_step_markov_is_normalised_counts():
    rng = np.random.default_rng(61)
    start, transitions = rng.uniform(size=3) * 4, rng.uniform(size=(3, 3)) * 50
    startprob, transmat = hmm.m_step_markov(start, transitions)
    for i in range(3):
        assert startprob[i] == pytest.approx(start[i] / (start[0] + start[1] + start[2]), rel=1e-14)
        for j in range(3):
            assert transmat[i, j] == pytest.approx(transitions[i, j] / sum(transitions[i]), rel=1e-14)
    transitions[1] = 0.0  # a state never left keeps a uniform row (documented)
    np.testing.assert_allclose(hmm.m_step_markov(start, transitions)[1][1], np.full(3, 1 / 3))


def test_categorical_emission_m_step_is_a_weighted_frequency_table():
    rng = np.random.default_rng(62)
    N, K, M = 40, 3, 5
    symbols = rng.integers(0, M - 1, size=N)  # symbol M-1 never occurs
    posteriors = rng.dirichlet(np.ones(K), size=N)
    table = np.zeros((K, M))
    for n in range(N):
        for k in range(K):
            table[k, symbols[n]] += posteriors[n, k]
    for k in range(K):
        table[k] /= sum(posteriors[n, k] for n in range(N))
    np.testing.assert_allclose(hmm.categorical_emission_m_step(symbols, posteriors, M), table, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_observed_states_give_per_state_sample_moments_and_transition_frequencies(covariance_type):
    """With the states revealed (log b_k(x_t) = 0 for the true state, -inf otherwise) the E-step's
    posteriors are one-hot and Baum-Welch's M-step is the complete-data maximum likelihood."""
    lengths = np.array([300, 200])
    states, rng = concatenated_chains(lengths, seed=63)
    X = TRUE_MEANS[states] + rng.standard_normal((len(states), 2)) @ np.array([[1.0, 0.4], [0.0, 0.7]])
    revealing = np.where(np.arange(3) == states[:, None], 0.0, -np.inf)
    stats = hmm.e_step(revealing, lengths, np.full(3, 1 / 3), np.full((3, 3), 1 / 3))
    np.testing.assert_array_equal(stats.posteriors, np.eye(3)[states])
    startprob, transmat = hmm.m_step_markov(stats.start, stats.transitions)
    counts = np.zeros((3, 3))
    first = np.cumsum(lengths) - lengths
    for t in range(len(states)):
        if t not in first:
            counts[states[t - 1], states[t]] += 1
    np.testing.assert_allclose(transmat, counts / counts.sum(axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(startprob, np.bincount(states[first], minlength=3) / 2, rtol=1e-12)
    _, means, covars = gmm.m_step(X, stats.posteriors, covariance_type, 0.0)
    per_state = [np.cov(X[states == k], rowvar=False, bias=True) for k in range(3)]
    sizes = np.bincount(states)
    expected = {
        "full": np.stack(per_state),
        "tied": sum(n * c for n, c in zip(sizes, per_state, strict=True)) / len(states),
        "diag": np.stack([np.diag(c) for c in per_state]),
        "spherical": np.array([np.trace(c) / 2 for c in per_state]),
    }[covariance_type]
    np.testing.assert_allclose(means, np.stack([X[states == k].mean(axis=0) for k in range(3)]), rtol=1e-12)
    np.testing.assert_allclose(covars, expected, rtol=1e-11)


# ------------------------------------------------------------------ 6. sampling
N_SAMPLE = 200_000


def _within_standard_errors(estimate, truth, se, z=5.0):
    assert np.all(se > 0)
    np.testing.assert_array_less(np.abs(estimate - truth), z * se)


def _check_transitions(states, transmat):
    counts = np.zeros_like(transmat)
    np.add.at(counts, (states[:-1], states[1:]), 1)
    visits = counts.sum(axis=1, keepdims=True)
    se = np.sqrt(transmat * (1 - transmat) / visits)  # binomial, given the visits to each state
    _within_standard_errors(counts / visits, transmat, se)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_gaussian_sample_matches_its_parameters(covariance_type):
    covars = {"full": TRUE_COVARS, "tied": TRUE_COVARS[0], "diag": np.array([[1.0, 0.5], [0.8, 1.2], [0.3, 2.0]]),
              "spherical": np.array([0.5, 1.0, 2.0])}[covariance_type]
    model = with_parameters(
        emlib.GaussianHMM(3, covariance_type=covariance_type), startprob_=TRUE_STARTPROB, transmat_=TRUE_TRANSMAT,
        means_=TRUE_MEANS, covars_=covars, n_features_in_=2,
    )
    X, states = model.sample(N_SAMPLE, random_state=71)
    assert X.shape == (N_SAMPLE, 2) and states.shape == (N_SAMPLE,)
    _check_transitions(states, TRUE_TRANSMAT)
    full = {"full": lambda: TRUE_COVARS, "tied": lambda: np.stack([covars] * 3),  # written out, not from emlib
            "diag": lambda: np.stack([np.diag(c) for c in covars]),
            "spherical": lambda: np.stack([c * np.eye(2) for c in covars])}[covariance_type]()
    for k in range(3):
        rows = X[states == k]
        n, sigma = len(rows), full[k]
        _within_standard_errors(rows.mean(axis=0), TRUE_MEANS[k], np.sqrt(np.diag(sigma) / n))
        variance_of_entries = (np.outer(np.diag(sigma), np.diag(sigma)) + sigma**2) / n
        _within_standard_errors(np.cov(rows, rowvar=False), sigma, np.sqrt(variance_of_entries))
    again, again_states = model.sample(N_SAMPLE, random_state=71)  # the same seed, the same sequence
    np.testing.assert_array_equal(again, X)
    np.testing.assert_array_equal(again_states, states)


def test_categorical_sample_matches_its_parameters():
    model = with_parameters(
        emlib.CategoricalHMM(3), startprob_=TRUE_STARTPROB, transmat_=TRUE_TRANSMAT,
        emissionprob_=TRUE_EMISSIONPROB, n_features_in_=1,
    )
    S, states = model.sample(N_SAMPLE, random_state=72)
    assert S.shape == (N_SAMPLE, 1) and set(np.unique(S)) == {0, 1, 2, 3}
    _check_transitions(states, TRUE_TRANSMAT)
    for k in range(3):
        symbols = S[states == k, 0]
        frequencies = np.bincount(symbols, minlength=4) / len(symbols)
        p = TRUE_EMISSIONPROB[k]
        _within_standard_errors(frequencies, p, np.sqrt(p * (1 - p) / len(symbols)))


def test_the_first_sampled_state_follows_startprob():
    model = with_parameters(
        emlib.CategoricalHMM(3), startprob_=TRUE_STARTPROB, transmat_=TRUE_TRANSMAT,
        emissionprob_=TRUE_EMISSIONPROB, n_features_in_=1,
    )
    rng = np.random.default_rng(73)
    n = 4000
    first = np.array([model.sample(1, random_state=rng)[1][0] for _ in range(n)])
    p = TRUE_STARTPROB
    _within_standard_errors(np.bincount(first, minlength=3) / n, p, np.sqrt(p * (1 - p) / n))


# ------------------------------------------------------------------ 7. scikit-learn conventions
METHODS = ["predict", "predict_proba", "score", "decode", "bic", "aic"]


def _outputs(model, X, lengths):
    """Every inference method's output as a flat list of arrays (decode's tuple unpacked)."""
    outputs = []
    for method in METHODS:
        result = getattr(model, method)(X, lengths)
        outputs.extend(np.asarray(r) for r in (result if isinstance(result, tuple) else (result,)))
    return outputs


HMMS = [
    pytest.param(lambda: emlib.GaussianHMM(3, covariance_type="diag", n_iter=15, random_state=5),
                 lambda: gaussian_sequences(LENGTHS, seed=81), id="GaussianHMM"),
    pytest.param(lambda: emlib.CategoricalHMM(3, n_iter=15, random_state=5),
                 lambda: symbol_sequences(LENGTHS, seed=82), id="CategoricalHMM"),
]


@pytest.mark.parametrize(("make", "data"), HMMS)
def test_hmm_estimator_conventions_with_several_sequences(make, data):
    X = data()
    model = make()
    assert clone(model).get_params() == model.get_params()
    assert repr(clone(model)) == repr(model)
    for method in [*METHODS, "sample"]:
        with pytest.raises(NotFittedError):
            getattr(model, method)(X) if method != "sample" else model.sample(5)
    params = joblib.hash(model.get_params())
    assert model.fit(X, LENGTHS) is model
    assert joblib.hash(model.get_params()) == params  # fit overwrote no parameter
    assert not [key for key in vars(model)  # fitted attributes end in "_", private ones start with "_"
                if key not in model.get_params() and not key.endswith("_") and not key.startswith("_")]
    assert model.n_features_in_ == X.shape[1]
    assert len(model.loglik_history_) == model.n_iter_ + 1
    first = _outputs(model, X, LENGTHS)
    state = joblib.hash(vars(model))
    refit = clone(model).fit(X, LENGTHS)  # same random_state, same fit
    for a, b in zip(first, _outputs(refit, X, LENGTHS), strict=True):
        np.testing.assert_array_equal(a, b)
    assert joblib.hash(vars(model)) == state  # inference changed nothing
    unpickled = pickle.loads(pickle.dumps(model))
    for a, b in zip(first, _outputs(unpickled, X, LENGTHS), strict=True):
        np.testing.assert_array_equal(a, b)
    model.fit(X, LENGTHS)  # refitting the same estimator gives the same parameters
    np.testing.assert_array_equal(model.transmat_, refit.transmat_)
    assert model.score(X, LENGTHS) == pytest.approx(model.score(X[:150]) + model.score(X[150:380])
                                                    + model.score(X[380:]), rel=1e-12)
    n_params = model._n_parameters()
    assert model.bic(X, LENGTHS) == pytest.approx(-2 * model.score(X, LENGTHS) + n_params * np.log(len(X)), rel=1e-12)
    assert model.aic(X, LENGTHS) == pytest.approx(-2 * model.score(X, LENGTHS) + 2 * n_params, rel=1e-12)


def test_number_of_free_parameters():
    """(K-1) start + K(K-1) transitions + the emissions', counted by hand for K=3, D=2, M=4."""
    X = gaussian_sequences([200], seed=83)
    expected = {"full": 3 * (2 + 3), "tied": 3 * 2 + 3, "diag": 3 * (2 + 2), "spherical": 3 * (2 + 1)}
    for covariance_type, emission in expected.items():
        model = emlib.GaussianHMM(3, covariance_type=covariance_type, n_iter=2, random_state=0).fit(X)
        assert model._n_parameters() == 2 + 6 + emission
    model = emlib.CategoricalHMM(3, n_symbols=4, n_iter=2, random_state=0).fit(symbol_sequences([200], seed=84))
    assert model._n_parameters() == 2 + 6 + 3 * 3


def test_an_impossible_sequence_is_reported_not_divided_by_zero():
    """Symbols 2 then 0 cannot be emitted by this left-to-right model (every path has a factor 0)."""
    startprob = np.array([1.0, 0.0, 0.0])
    transmat = np.array([[0.8, 0.2, 0.0], [0.0, 0.2, 0.8], [0.0, 0.0, 1.0]])
    emissionprob = np.array([[0.5, 0.5, 0.0], [0.4, 0.2, 0.4], [0.0, 0.5, 0.5]])
    symbols = np.array([[2], [0]])
    paths = itertools.product(range(3), repeat=2)
    assert sum(startprob[a] * emissionprob[a, 2] * transmat[a, b] * emissionprob[b, 0] for a, b in paths) == 0.0
    with np.errstate(divide="ignore"):
        frame_loglik = np.log(emissionprob).T[symbols[:, 0]]
    assert hmm.forward(startprob, transmat, frame_loglik)[1].sum() == -np.inf
    with pytest.raises(ValueError, match="probability 0 under the model"):
        hmm.e_step(frame_loglik, np.array([2]), startprob, transmat)
    model = emlib.CategoricalHMM(3, n_symbols=3, startprob_init=startprob, transmat_init=transmat,
                                 emissionprob_init=emissionprob)
    with pytest.raises(ValueError, match="probability 0 under the model"):
        model.fit(np.r_[symbols, [[1]]])
