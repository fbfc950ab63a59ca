"""MultivariateNormalEM against closed forms and a direct numerical maximisation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.stats import multivariate_normal

import emlib
from emlib.missing import observed_loglik


def bivariate_with_missing_y(seed: int = 0, n: int = 40, n_missing: int = 20) -> np.ndarray:
    """The classic toy: σ1=1, σ2=.75, μ=(1.85, 1), ρ=.82; y missing on the last rows."""
    rng = np.random.default_rng(seed)
    cov = np.array([[1.0, 0.82 * 0.75], [0.82 * 0.75, 0.75**2]])
    X = rng.multivariate_normal([1.85, 1.0], cov, size=n)
    X[n - n_missing :, 1] = np.nan
    return X


def factored_likelihood_mle(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Anderson (1957): the MLE from p(x) p(y | x), each factor fitted on the rows it can use."""
    x_all = X[:, 0]
    complete = ~np.isnan(X[:, 1])
    x, y = X[complete, 0], X[complete, 1]
    mu1, s11 = x_all.mean(), x_all.var()
    beta = np.mean((x - x.mean()) * (y - y.mean())) / x.var()
    alpha = y.mean() - beta * x.mean()
    s22_given_1 = np.mean((y - alpha - beta * x) ** 2)
    mean = np.array([mu1, alpha + beta * mu1])
    s12 = beta * s11
    return mean, np.array([[s11, s12], [s12, s22_given_1 + beta**2 * s11]])


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("n_missing", [5, 20, 30])
def test_matches_factored_likelihood_mle(seed, n_missing):
    X = bivariate_with_missing_y(seed, n_missing=n_missing)
    fit = emlib.MultivariateNormalEM(tol=1e-13, max_iter=10_000).fit(X)
    mean, cov = factored_likelihood_mle(X)
    np.testing.assert_allclose(fit.mean_, mean, rtol=1e-8)
    np.testing.assert_allclose(fit.covariance_, cov, rtol=1e-8)


def test_no_missing_values_gives_sample_mean_and_mle_covariance():
    X = np.random.default_rng(4).normal(size=(50, 3)) @ np.array([[1.0, 0.3, 0.0], [0.0, 2.0, 0.5], [0.0, 0.0, 0.7]])
    fit = emlib.MultivariateNormalEM().fit(X)
    np.testing.assert_allclose(fit.mean_, X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(fit.covariance_, np.cov(X, rowvar=False, bias=True), rtol=1e-10)


def random_missing_3d(seed: int = 5, n: int = 120, fraction: float = 0.25) -> np.ndarray:
    rng = np.random.default_rng(seed)
    cov = np.array([[2.0, 0.8, -0.5], [0.8, 1.0, 0.3], [-0.5, 0.3, 1.5]])
    X = rng.multivariate_normal([1.0, -2.0, 0.5], cov, size=n)
    mask = rng.uniform(size=X.shape) < fraction
    mask[mask.all(axis=1), 0] = False  # keep at least one value per row
    X[mask] = np.nan
    return X


def scipy_observed_loglik(X: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> float:
    """Row by row with SciPy's density of the observed entries: an independent implementation."""
    total = 0.0
    for row in X:
        o = ~np.isnan(row)
        total += multivariate_normal(mean[o], cov[np.ix_(o, o)]).logpdf(row[o])
    return float(total)


def test_matches_direct_numerical_maximisation_3d():
    X = random_missing_3d()
    D = X.shape[1]
    tril = np.tril_indices(D)

    def unpack(theta):
        L = np.zeros((D, D))
        L[tril] = theta[D:]
        L[np.diag_indices(D)] = np.exp(L[np.diag_indices(D)])
        return theta[:D], L @ L.T

    def negative_loglik(theta):
        return -scipy_observed_loglik(X, *unpack(theta))

    start = np.concatenate([np.zeros(D), np.zeros(len(tril[0]))])  # mean 0, covariance I
    result = minimize(negative_loglik, start, method="BFGS", options={"gtol": 1e-9, "maxiter": 2000})
    direct_mean, direct_cov = unpack(result.x)
    fit = emlib.MultivariateNormalEM(tol=1e-13, max_iter=10_000).fit(X)
    np.testing.assert_allclose(fit.loglik_history_[-1], -result.fun, rtol=1e-10)
    np.testing.assert_allclose(fit.mean_, direct_mean, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fit.covariance_, direct_cov, rtol=1e-5, atol=1e-5)


def test_observed_loglik_matches_scipy():
    X = random_missing_3d(seed=8)
    mean, cov = np.array([0.5, -1.0, 0.0]), np.array([[1.5, 0.2, 0.1], [0.2, 1.0, -0.3], [0.1, -0.3, 2.0]])
    np.testing.assert_allclose(observed_loglik(X, mean, cov), scipy_observed_loglik(X, mean, cov), rtol=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_history_never_decreases_and_is_the_observed_loglik(seed):
    X = random_missing_3d(seed=seed, fraction=0.4)
    fit = emlib.MultivariateNormalEM().fit(X)
    history = fit.loglik_history_
    assert history.size == fit.n_iter_ + 1 and fit.converged_
    assert np.all(np.diff(history) >= -1e-10 * np.abs(history[:-1]))
    np.testing.assert_allclose(history[-1], scipy_observed_loglik(X, fit.mean_, fit.covariance_), rtol=1e-10)


def test_impute_gives_conditional_means():
    X = random_missing_3d(seed=9)
    fit = emlib.MultivariateNormalEM().fit(X)
    filled = fit.impute(X)
    observed = ~np.isnan(X)
    np.testing.assert_array_equal(filled[observed], X[observed])
    mu, S = fit.mean_, fit.covariance_
    for i in np.flatnonzero((~observed).any(axis=1))[:10]:
        o, m = observed[i], ~observed[i]
        expected = mu[m] + S[np.ix_(m, o)] @ np.linalg.solve(S[np.ix_(o, o)], X[i, o] - mu[o])
        np.testing.assert_allclose(filled[i, m], expected, rtol=1e-10)


def test_impute_and_refit_is_biased_but_em_is_not():
    """Dropping the conditional variance shrinks σ2: the point chapter 5 makes, in numbers."""
    X = bivariate_with_missing_y(seed=3)
    fit = emlib.MultivariateNormalEM(tol=1e-13, max_iter=10_000).fit(X)
    mean, cov = np.nanmean(X, axis=0), np.diag(np.nanvar(X, axis=0))
    for _ in range(500):
        filled = X.copy()
        rows = np.isnan(X[:, 1])
        filled[rows, 1] = mean[1] + cov[1, 0] / cov[0, 0] * (X[rows, 0] - mean[0])
        mean, cov = filled.mean(axis=0), np.cov(filled, rowvar=False, bias=True)
    assert cov[1, 1] < fit.covariance_[1, 1] - 0.01


# ----------------------------------------------------------------- bad input
def test_column_with_nothing_observed_is_an_error():
    X = np.column_stack([np.arange(5.0), np.full(5, np.nan)])
    with pytest.raises(ValueError, match=r"no observed value in column\(s\) \[1\]"):
        emlib.MultivariateNormalEM().fit(X)


def test_rows_with_nothing_observed_are_dropped_with_a_warning():
    X = bivariate_with_missing_y()
    with_empty = np.vstack([X, [[np.nan, np.nan]] * 3])
    with pytest.warns(UserWarning, match="3 row"):
        fit = emlib.MultivariateNormalEM(tol=1e-13, max_iter=10_000).fit(with_empty)
    np.testing.assert_allclose(fit.mean_, factored_likelihood_mle(X)[0], rtol=1e-8)


@pytest.mark.parametrize(
    ("X", "message"),
    [
        (np.array([[1.0, np.inf], [2.0, 3.0], [0.0, 1.0]]), "X contains infinity"),
        (np.array([[1.0, 2.0]]), "at least 2 rows"),
        (np.array([1.0, 2.0, 3.0]), "X must be a 2-D array"),
    ],
)
def test_bad_data_is_rejected(X, message):
    with pytest.raises(ValueError, match=message):
        emlib.MultivariateNormalEM().fit(X)


@pytest.mark.parametrize(("param", "value", "error"), [("tol", 0.0, ValueError), ("max_iter", 0, ValueError),
                                                        ("reg_covar", -1.0, ValueError), ("tol", "x", TypeError)])
def test_bad_parameters_are_rejected(param, value, error):
    with pytest.raises(error, match=param):
        emlib.MultivariateNormalEM(**{param: value}).fit(bivariate_with_missing_y())


def test_too_small_sample_is_an_error_unless_regularised():
    X = np.random.default_rng(0).normal(size=(3, 4))  # 3 rows cannot fix a 4 x 4 covariance
    with pytest.raises(ValueError, match="singular.*reg_covar"):
        emlib.MultivariateNormalEM().fit(X)
    fit = emlib.MultivariateNormalEM(reg_covar=1e-3).fit(X)
    assert np.isfinite(fit.covariance_).all() and np.all(np.linalg.eigvalsh(fit.covariance_) > 0)
