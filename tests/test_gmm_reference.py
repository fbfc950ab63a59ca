"""emlib's Gaussian mixture against references nobody here wrote.

* scikit-learn's ``GaussianMixture`` run from the same starting values, one iteration at a time;
* SciPy's multivariate normal density and NumPy's weighted covariance for the two steps;
* the published maximum-likelihood fit of Old Faithful's waiting times (Benaglia et al. 2009).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGaussianMixture

import emlib
from emlib.gmm import covariance_shape, e_step, log_gaussian_density, log_joint, m_step, precision_cholesky

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
N_ITER = 25


def start_values(X: np.ndarray, K: int, covariance_type: str, seed: int):
    """A deliberately poor start: random data points as means, the data covariance for every component."""
    rng = np.random.default_rng(seed)
    D = X.shape[1]
    cov = np.cov(X, rowvar=False)
    weights = rng.dirichlet(np.full(K, 5.0))
    means = X[rng.choice(len(X), K, replace=False)]
    covariances = {
        "full": np.stack([cov * s for s in rng.uniform(0.5, 1.5, K)]),
        "tied": cov,
        "diag": np.diag(cov) * rng.uniform(0.5, 1.5, (K, D)),
        "spherical": np.full(K, np.trace(cov) / D) * rng.uniform(0.5, 1.5, K),
    }[covariance_type]
    return weights, means, covariances


def precisions(covariances: np.ndarray, covariance_type: str) -> np.ndarray:
    """scikit-learn is initialised with precision matrices, the inverses of our covariances."""
    if covariance_type in ("full", "tied"):
        return np.linalg.inv(covariances)
    return 1.0 / covariances


def full_covariances(covariances, covariance_type, K, D):
    return {
        "full": lambda c: c,
        "tied": lambda c: np.broadcast_to(c, (K, D, D)),
        "diag": lambda c: np.stack([np.diag(v) for v in c]),
        "spherical": lambda c: np.stack([v * np.eye(D) for v in c]),
    }[covariance_type](covariances)


def scipy_loglik(X, weights, means, covariances, covariance_type) -> float:
    """The mixture log-likelihood from SciPy's density: an independent implementation."""
    K, D = means.shape
    full = full_covariances(covariances, covariance_type, K, D)
    density = sum(w * multivariate_normal(m, c).pdf(X) for w, m, c in zip(weights, means, full, strict=True))
    return float(np.log(density).sum())


@pytest.fixture(params=["faithful", "blobs"])
def data(request):
    return request.getfixturevalue(request.param)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_same_path_as_scikit_learn_from_the_same_start(data, covariance_type):
    """Every iteration's log-likelihood, and the final parameters, equal scikit-learn's."""
    K = 3
    weights, means, covariances = start_values(data, K, covariance_type, seed=7)
    ours = emlib.GaussianMixture(
        K, covariance_type=covariance_type, max_iter=N_ITER, tol=1e-300,
        weights_init=weights, means_init=means, covariances_init=covariances,
    )
    theirs = SkGaussianMixture(
        K, covariance_type=covariance_type, max_iter=1, tol=0.0, warm_start=True,
        weights_init=weights, means_init=means, precisions_init=precisions(covariances, covariance_type),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.fit(data)
        sklearn_path = []
        for _ in range(N_ITER):  # warm start: each fit() is one more EM iteration
            theirs.fit(data)
            sklearn_path.append(theirs.score(data) * len(data))

    assert ours.n_iter_ == N_ITER
    assert ours.loglik_history_.shape == (N_ITER + 1,)
    np.testing.assert_allclose(ours.loglik_history_[0], scipy_loglik(data, weights, means, covariances, covariance_type), rtol=1e-10)
    np.testing.assert_allclose(ours.loglik_history_[1:], sklearn_path, rtol=1e-8)
    np.testing.assert_allclose(ours.weights_, theirs.weights_, rtol=1e-8)
    np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ours.covariances_, theirs.covariances_, rtol=1e-8, atol=1e-12)
    # The path really moved: the start was poor, so a test of a fixed point would be vacuous.
    assert ours.loglik_history_[-1] - ours.loglik_history_[0] > 1.0


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_predictions_and_criteria_equal_scikit_learn(faithful, covariance_type):
    """With the same parameters, responsibilities, densities, BIC and AIC equal scikit-learn's."""
    K = 2
    weights, means, covariances = start_values(faithful, K, covariance_type, seed=3)
    kwargs = dict(covariance_type=covariance_type, max_iter=60, weights_init=weights, means_init=means)
    with warnings.catch_warnings():  # both run exactly max_iter iterations, so they stop at the same θ
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = emlib.GaussianMixture(K, covariances_init=covariances, tol=1e-300, **kwargs).fit(faithful)
        theirs = SkGaussianMixture(K, precisions_init=precisions(covariances, covariance_type), tol=0.0, **kwargs).fit(faithful)
    grid = np.array([[2.0, 50.0], [3.5, 70.0], [4.5, 85.0], [6.0, 100.0]])
    np.testing.assert_allclose(ours.predict_proba(grid), theirs.predict_proba(grid), rtol=1e-6, atol=1e-10)
    np.testing.assert_array_equal(ours.predict(faithful), theirs.predict(faithful))
    np.testing.assert_allclose(ours.score_samples(grid), theirs.score_samples(grid), rtol=1e-8)
    np.testing.assert_allclose(ours.score(faithful), theirs.score(faithful), rtol=1e-10)
    np.testing.assert_allclose(ours.bic(faithful), theirs.bic(faithful), rtol=1e-10)
    np.testing.assert_allclose(ours.aic(faithful), theirs.aic(faithful), rtol=1e-10)
    np.testing.assert_allclose(ours.precisions_, theirs.precisions_, rtol=1e-6)
    np.testing.assert_allclose(ours.precisions_cholesky_, theirs.precisions_cholesky_, rtol=1e-6)
    # lower_bound_: emlib's is the log-likelihood of the parameters it returns, scikit-learn's that of
    # the parameters one M-step earlier (the documented difference), on the same path
    N = len(faithful)
    np.testing.assert_allclose(ours.lower_bound_, theirs.score(faithful), rtol=1e-10)
    np.testing.assert_allclose(theirs.lower_bound_, ours.loglik_history_[-2] / N, rtol=1e-10)


def test_published_old_faithful_waiting_fit():
    """Benaglia et al. (2009), mixtools ``normalmixEM`` on ``waiting``: λ=(0.361, 0.639),
    μ=(54.61, 80.09), σ=(5.87, 5.87)."""
    waiting = emlib.datasets.old_faithful()[["waiting"]].to_numpy()
    fit = emlib.GaussianMixture(2, tol=1e-10, max_iter=1000, random_state=0).fit(waiting)
    order = np.argsort(fit.means_[:, 0])
    np.testing.assert_allclose(fit.weights_[order], [0.361, 0.639], atol=0.001)
    np.testing.assert_allclose(fit.means_[order, 0], [54.61, 80.09], atol=0.01)
    np.testing.assert_allclose(np.sqrt(fit.covariances_[order, 0, 0]), [5.87, 5.87], atol=0.01)


def test_old_faithful_has_the_published_shape():
    df = emlib.datasets.old_faithful()
    assert list(df.columns) == ["eruptions", "waiting"]
    assert df.shape == (272, 2)
    # Known summary of R's faithful: waiting ranges 43..96 minutes, eruptions 1.6..5.1.
    assert (df.waiting.min(), df.waiting.max()) == (43, 96)
    assert (df.eruptions.min(), df.eruptions.max()) == (1.6, 5.1)


# -------------------------------------------------------------- the two steps
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_e_step_matches_scipy_and_bayes_rule(blobs, covariance_type):
    weights, means, covariances = start_values(blobs, 3, covariance_type, seed=1)
    resp, loglik = e_step(blobs, weights, means, covariances, covariance_type)
    full = full_covariances(covariances, covariance_type, 3, 3)
    joint = np.column_stack([w * multivariate_normal(m, c).pdf(blobs) for w, m, c in zip(weights, means, full, strict=True)])
    np.testing.assert_allclose(resp, joint / joint.sum(axis=1, keepdims=True), rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(loglik, np.log(joint.sum(axis=1)).sum(), rtol=1e-12)


def test_e_step_survives_points_far_from_every_component():
    """Densities of exp(-5000) underflow to 0; log-sum-exp keeps the responsibilities exact."""
    X = np.array([[100.0], [-100.0]])
    resp, loglik = e_step(X, np.array([0.5, 0.5]), np.array([[-1.0], [1.0]]), np.ones((2, 1, 1)))
    assert np.isfinite(loglik)
    # The log-odds of component 2 at x is 2x (difference of two quadratics), so at ±100 it is ±200.
    np.testing.assert_allclose(np.log(resp[:, 1] / resp[:, 0]), [200.0, -200.0], rtol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_m_step_is_the_weighted_mle(blobs, covariance_type):
    rng = np.random.default_rng(5)
    resp = rng.dirichlet(np.ones(3), size=len(blobs))
    reg = 1e-6
    weights, means, covariances = m_step(blobs, resp, covariance_type, reg)
    np.testing.assert_allclose(weights, resp.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(means, [np.average(blobs, axis=0, weights=r) for r in resp.T], rtol=1e-12)
    weighted = np.stack([np.cov(blobs, rowvar=False, aweights=r, bias=True) for r in resp.T])
    expected = {
        "full": weighted + reg * np.eye(3),
        "tied": np.einsum("k,kij->ij", weights, weighted) + reg * np.eye(3),
        "diag": np.diagonal(weighted, axis1=1, axis2=2) + reg,
        "spherical": np.diagonal(weighted, axis1=1, axis2=2).mean(axis=1) + reg,
    }[covariance_type]
    assert covariances.shape == covariance_shape(covariance_type, 3, 3)
    np.testing.assert_allclose(covariances, expected, rtol=1e-10)


def test_estimator_calls_the_published_steps(faithful):
    """One iteration of the estimator is exactly m_step followed by e_step."""
    weights, means, covariances = start_values(faithful, 2, "full", seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit = emlib.GaussianMixture(2, max_iter=1, weights_init=weights, means_init=means,
                                    covariances_init=covariances).fit(faithful)
    resp, ll0 = e_step(faithful, weights, means, covariances)
    params = m_step(faithful, resp)
    _, ll1 = e_step(faithful, *params)
    np.testing.assert_array_equal(fit.means_, params.means)
    np.testing.assert_array_equal(fit.loglik_history_, [ll0, ll1])


@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
@pytest.mark.parametrize("weighted", [False, True])
def test_one_pass_diagonal_em_is_m_step_then_e_step(blobs, covariance_type, weighted, monkeypatch):
    """Diagonal and spherical fits add the next M-step's sums during the E-step, block by block
    (here blocks of 7 rows and an uneven last block, far from the origin): the same path as
    alternating the published m_step and e_step."""
    monkeypatch.setattr(emlib.gmm, "BLOCK_ELEMENTS", 7 * 3)
    X = blobs + 1e4
    w = np.random.default_rng(3).integers(0, 4, len(X)).astype(float) if weighted else np.ones(len(X))
    params = start_values(X, 3, covariance_type, seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit = emlib.GaussianMixture(
            3, covariance_type=covariance_type, max_iter=3, tol=1e-300, weights_init=params[0], means_init=params[1],
            covariances_init=params[2],
        ).fit(X, sample_weight=w if weighted else None)
    history = [w @ logsumexp(log_joint(X, *params, covariance_type), axis=1)]
    for _ in range(3):
        resp, _ = e_step(X, *params, covariance_type)
        params = m_step(X, resp * w[:, None], covariance_type)
        history.append(w @ logsumexp(log_joint(X, *params, covariance_type), axis=1))
    np.testing.assert_allclose(fit.loglik_history_, history, rtol=1e-12)
    np.testing.assert_allclose(fit.weights_, params.weights, rtol=1e-10)
    np.testing.assert_allclose(fit.means_, params.means, rtol=1e-12)
    np.testing.assert_allclose(fit.covariances_, params.covariances, rtol=1e-8)


# ------------------------------------------------------------ the estimator
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
def test_loglik_history_never_decreases(data, covariance_type, init_params):
    fit = emlib.GaussianMixture(4, covariance_type=covariance_type, init_params=init_params,
                                tol=1e-7, max_iter=2000, random_state=11).fit(data)
    history = fit.loglik_history_
    assert history.ndim == 1 and history.size == fit.n_iter_ + 1
    np.testing.assert_allclose(history[-1], fit.score(data) * len(data), rtol=1e-12)
    assert np.all(np.diff(history) >= -1e-9 * np.abs(history[:-1])), np.diff(history).min()


def test_more_starts_never_end_lower(blobs):
    single = [emlib.GaussianMixture(5, init_params="random", random_state=s, max_iter=300).fit(blobs) for s in range(3)]
    best_of_three = emlib.GaussianMixture(5, init_params="random", n_init=3, random_state=0, max_iter=300).fit(blobs)
    assert best_of_three.loglik_history_[-1] >= min(f.loglik_history_[-1] for f in single) - 1e-9


def test_random_state_makes_fits_reproducible(blobs):
    a = emlib.GaussianMixture(3, init_params="random", random_state=4).fit(blobs)
    b = emlib.GaussianMixture(3, init_params="random", random_state=4).fit(blobs)
    np.testing.assert_array_equal(a.means_, b.means_)


def test_unconverged_fit_warns(blobs):
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        fit = emlib.GaussianMixture(3, max_iter=2, tol=1e-12, init_params="random", random_state=0).fit(blobs)
    assert not fit.converged_


def test_given_initial_parameters_are_theta_zero(faithful):
    weights, means, covariances = start_values(faithful, 2, "diag", seed=9)
    fit = emlib.GaussianMixture(2, covariance_type="diag", weights_init=weights, means_init=means,
                                covariances_init=covariances, max_iter=5, tol=1e-300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit.fit(faithful)
    np.testing.assert_allclose(fit.loglik_history_[0], scipy_loglik(faithful, weights, means, covariances, "diag"), rtol=1e-10)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_sample_draws_from_the_fitted_mixture(faithful, covariance_type):
    fit = emlib.GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(faithful)
    X, z = fit.sample(40_000)
    assert X.shape == (40_000, 2) and z.shape == (40_000,)
    np.testing.assert_allclose(np.bincount(z) / z.size, fit.weights_, atol=0.01)
    for k in range(2):
        np.testing.assert_allclose(X[z == k].mean(axis=0), fit.means_[k], rtol=0.01)
    full = full_covariances(fit.covariances_, covariance_type, 2, 2)
    # Each entry of a sample covariance has standard error about sqrt((S_ii S_jj + S_ij^2) / n).
    n0 = np.sum(z == 0)
    standard_error = np.sqrt((np.outer(np.diag(full[0]), np.diag(full[0])) + full[0] ** 2) / n0)
    assert np.all(np.abs(np.cov(X[z == 0], rowvar=False) - full[0]) < 5 * standard_error)


def test_bic_prefers_the_true_number_of_components(blobs):
    bics = [emlib.GaussianMixture(k, random_state=0, n_init=2).fit(blobs).bic(blobs) for k in range(1, 6)]
    assert int(np.argmin(bics)) + 1 == 3


# ------------------------------------------------- the batched, blocked kernels
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_precision_cholesky_equals_scikit_learn_and_inverts_the_covariance(faithful, covariance_type):
    """The factors U_k satisfy U_k U_k^T = Σ_k^{-1}, are upper triangular, and equal scikit-learn's."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = SkGaussianMixture(3, covariance_type=covariance_type, max_iter=5, random_state=0).fit(faithful)
    factors = precision_cholesky(theirs.covariances_, covariance_type)
    np.testing.assert_allclose(factors, theirs.precisions_cholesky_, rtol=1e-10)
    full = full_covariances(theirs.covariances_, covariance_type, 3, 2)
    U = full_covariances(factors, covariance_type, 3, 2)  # the factors have the covariances' shapes
    np.testing.assert_allclose(U @ np.swapaxes(U, 1, 2), np.linalg.inv(full), rtol=1e-10)
    np.testing.assert_array_equal(np.tril(U, -1), 0.0)


def test_precision_cholesky_names_the_component_that_is_not_positive_definite():
    covariances = np.stack([np.eye(2), np.array([[1.0, 2.0], [2.0, 1.0]])])
    with pytest.raises(ValueError, match="component 1 is not positive definite"):
        precision_cholesky(covariances, "full")


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_log_density_in_blocks_of_rows_matches_scipy(blobs, covariance_type, monkeypatch):
    """Blocks of 7 rows (600 = 85 x 7 + 5, an uneven last block) give SciPy's densities."""
    monkeypatch.setattr(emlib.gmm, "BLOCK_ELEMENTS", 7 * 3 * 3)  # K·D = 9 columns per row in the E-step
    weights, means, covariances = start_values(blobs, 3, covariance_type, seed=4)
    full = full_covariances(covariances, covariance_type, 3, 3)
    expected = np.column_stack([multivariate_normal(m, c).logpdf(blobs) for m, c in zip(means, full, strict=True)])
    np.testing.assert_allclose(log_gaussian_density(blobs, means, covariances, covariance_type), expected, rtol=1e-12)
    np.testing.assert_allclose(log_joint(blobs, weights, means, covariances, covariance_type), expected + np.log(weights), rtol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_m_step_in_blocks_of_rows_is_the_weighted_mle(blobs, covariance_type, monkeypatch):
    """Blocks of 7 rows in the scatter sums give NumPy's weighted covariances."""
    monkeypatch.setattr(emlib.gmm, "BLOCK_ELEMENTS", 7 * 3)  # D = 3 columns per row in the M-step
    resp = np.random.default_rng(8).dirichlet(np.ones(3), size=len(blobs))
    weighted = np.stack([np.cov(blobs, rowvar=False, aweights=r, bias=True) for r in resp.T])
    covariances = m_step(blobs, resp, covariance_type, 0.0).covariances
    expected = {
        "full": weighted,
        "tied": np.einsum("k,kij->ij", resp.mean(axis=0), weighted),
        "diag": np.diagonal(weighted, axis1=1, axis2=2),
        "spherical": np.diagonal(weighted, axis1=1, axis2=2).mean(axis=1),
    }[covariance_type]
    np.testing.assert_allclose(covariances, expected, rtol=1e-10)


def test_m_step_accepts_responsibilities_in_either_memory_order(blobs):
    """e_step returns an (N, K) view of a (K, N) array; a C-ordered copy gives the same M-step."""
    resp, _ = e_step(blobs, *start_values(blobs, 3, "full", seed=6))
    assert resp.flags.f_contiguous
    for a, b in zip(m_step(blobs, resp), m_step(blobs, np.ascontiguousarray(resp)), strict=True):
        np.testing.assert_array_equal(a, b)


def test_negligible_responsibilities_are_exactly_zero_and_change_nothing():
    """At distance sqrt(1400) a component's relative density is exp(-700) ≈ 1e-304, below 1e-300:
    stored as exactly 0, with the log-likelihood and the other responsibilities as SciPy gives them."""
    far = np.sqrt(1400.0)
    X = np.array([[0.0], [far / 2], [far]])
    weights, means, covariances = np.array([0.5, 0.5]), np.array([[0.0], [far]]), np.ones((2, 1, 1))
    resp, loglik = e_step(X, weights, means, covariances)
    log_joint_ref = np.column_stack([np.log(0.5) + multivariate_normal(m, 1.0).logpdf(X[:, 0]) for m in (0.0, far)])
    resp_ref = np.exp(log_joint_ref - logsumexp(log_joint_ref, axis=1, keepdims=True))
    assert 0.0 < resp_ref[0, 1] < 1e-300 and resp[0, 1] == 0.0 and resp[2, 0] == 0.0
    np.testing.assert_allclose(resp, resp_ref, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(loglik, logsumexp(log_joint_ref, axis=1).sum(), rtol=1e-14)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_a_point_with_zero_density_everywhere_scores_minus_infinity_as_in_scikit_learn(faithful, covariance_type):
    """At 1e160 the squared distance overflows: the density is 0 under every component. scikit-learn
    gives log p = -inf (and BIC, AIC = +inf); emlib gave NaN from -inf - (-inf)."""
    ours = emlib.GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(faithful)
    theirs = SkGaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(faithful)
    far = np.array([[1e160, 70.0], [3.5, 70.0]])
    with np.errstate(over="ignore", invalid="ignore"):
        assert ours.score_samples(far)[0] == theirs.score_samples(far)[0] == -np.inf
        assert ours.score(far) == theirs.score(far) == -np.inf
        assert ours.bic(far) == theirs.bic(far) == np.inf
        assert ours.aic(far) == theirs.aic(far) == np.inf
        resp, loglik = e_step(far, ours.weights_, ours.means_, ours.covariances_, covariance_type)
    assert loglik == -np.inf
    np.testing.assert_array_equal(resp[0], [0.5, 0.5])  # 0/0: uniform, not NaN
    np.testing.assert_allclose(resp[1], ours.predict_proba(far[1:])[0], rtol=1e-12)  # the other rows unharmed


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fit_predict_equals_scikit_learn_and_precisions_invert_the_covariances(faithful, covariance_type):
    K = 3
    weights, means, covariances = start_values(faithful, K, covariance_type, seed=4)
    kwargs = dict(covariance_type=covariance_type, max_iter=40, weights_init=weights, means_init=means)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = emlib.GaussianMixture(K, covariances_init=covariances, tol=1e-300, **kwargs)
        theirs = SkGaussianMixture(K, precisions_init=precisions(covariances, covariance_type), tol=0.0, **kwargs)
        np.testing.assert_array_equal(ours.fit_predict(faithful), theirs.fit_predict(faithful))
    full = emlib.gmm.full_covariances(ours.covariances_, covariance_type, K, 2)
    full_precisions = emlib.gmm.full_covariances(ours.precisions_, covariance_type, K, 2)
    np.testing.assert_allclose(full_precisions @ full, np.broadcast_to(np.eye(2), (K, 2, 2)), atol=1e-10)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_integer_sample_weights_are_repeated_rows(faithful, covariance_type):
    """scikit-learn's GaussianMixture has no sample_weight: the reference is the data with each row
    repeated w_n times, from the same start (the weighted objective is the same sum)."""
    K = 2
    weights, means, covariances = start_values(faithful, K, covariance_type, seed=7)
    repeats = np.random.default_rng(8).integers(0, 4, size=len(faithful))
    kwargs = dict(covariance_type=covariance_type, weights_init=weights, means_init=means,
                  covariances_init=covariances, max_iter=30, tol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = emlib.GaussianMixture(K, **kwargs).fit(faithful, sample_weight=repeats)
        repeated = emlib.GaussianMixture(K, **kwargs).fit(np.repeat(faithful, repeats, axis=0))
    np.testing.assert_allclose(weighted.loglik_history_, repeated.loglik_history_, rtol=1e-10)
    np.testing.assert_allclose(weighted.means_, repeated.means_, rtol=1e-9)
    np.testing.assert_allclose(weighted.covariances_, repeated.covariances_, rtol=1e-8)
    np.testing.assert_allclose(weighted.lower_bound_, repeated.lower_bound_, rtol=1e-10)


def test_weighted_kmeans_start_is_the_m_step_of_the_weighted_kmeans_labels(faithful):
    repeats = np.random.default_rng(9).integers(1, 3, size=len(faithful))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit = emlib.GaussianMixture(2, max_iter=1, random_state=3).fit(faithful, sample_weight=repeats)
    labels = emlib.KMeans(2, n_init=1, random_state=np.random.default_rng(3)).fit(faithful, sample_weight=repeats).labels_
    start = emlib.gmm.m_step(faithful, np.eye(2)[labels] * repeats[:, None], "full", 1e-6)
    density = np.exp(emlib.gmm.log_joint(faithful, *start, "full")).sum(axis=1)
    np.testing.assert_allclose(fit.loglik_history_[0], repeats @ np.log(density), rtol=1e-10)
