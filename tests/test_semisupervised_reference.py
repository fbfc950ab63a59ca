"""SemiSupervisedGaussianMixture against the closed-form supervised MLE and plain EM."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

import emlib

SSGM = emlib.SemiSupervisedGaussianMixture
COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


@pytest.fixture(scope="module")
def three_classes():
    rng = np.random.default_rng(12)
    means = np.array([[0.0, 0.0], [3.0, 1.0], [0.5, 3.5]])
    X = np.vstack([rng.normal(size=(80, 2)) @ np.array([[1.0, 0.4], [0.0, 0.8]]) + m for m in means])
    y = np.repeat(np.arange(3), 80)
    return X, y


def gda_mle(X, y, K, covariance_type, reg):
    """The supervised (Gaussian discriminant analysis) MLE, written out class by class."""
    weights = np.array([np.mean(y == k) for k in range(K)])
    means = np.array([X[y == k].mean(axis=0) for k in range(K)])
    covs = np.array([np.cov(X[y == k], rowvar=False, bias=True) for k in range(K)])
    D = X.shape[1]
    return weights, means, {
        "full": covs + reg * np.eye(D),
        "tied": np.einsum("k,kij->ij", weights, covs) + reg * np.eye(D),
        "diag": np.diagonal(covs, axis1=1, axis2=2) + reg,
        "spherical": np.diagonal(covs, axis1=1, axis2=2).mean(axis=1) + reg,
    }[covariance_type]


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_all_labelled_equals_supervised_mle(three_classes, covariance_type):
    X, y = three_classes
    fit = SSGM(3, covariance_type=covariance_type).fit(X, y)
    weights, means, covs = gda_mle(X, y, 3, covariance_type, reg=1e-6)
    np.testing.assert_allclose(fit.weights_, weights, rtol=1e-12)
    np.testing.assert_allclose(fit.means_, means, rtol=1e-12)
    np.testing.assert_allclose(fit.covariances_, covs, rtol=1e-10)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_zero_weight_equals_fit_on_labelled_rows_alone(three_classes, covariance_type):
    X, y = three_classes
    partial = y.copy()
    partial[np.random.default_rng(1).uniform(size=y.size) < 0.8] = -1
    labelled = partial >= 0
    fit = SSGM(3, covariance_type=covariance_type, unlabeled_weight=0.0).fit(X, partial)
    alone = SSGM(3, covariance_type=covariance_type).fit(X[labelled], partial[labelled])
    for ours, theirs in [(fit.weights_, alone.weights_), (fit.means_, alone.means_), (fit.covariances_, alone.covariances_)]:
        np.testing.assert_allclose(ours, theirs, rtol=1e-9)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_no_labels_equals_gaussian_mixture_from_the_same_start(three_classes, covariance_type):
    X, _ = three_classes
    rng = np.random.default_rng(2)
    start = dict(
        weights_init=np.array([0.2, 0.5, 0.3]),
        means_init=X[rng.choice(len(X), 3, replace=False)],
        covariances_init={"full": np.stack([np.eye(2)] * 3), "tied": np.eye(2), "diag": np.ones((3, 2)),
                          "spherical": np.ones(3)}[covariance_type],
    )
    semi = SSGM(3, covariance_type=covariance_type, tol=1e-8, max_iter=500, **start).fit(X, np.full(len(X), -1))
    plain = emlib.GaussianMixture(3, covariance_type=covariance_type, tol=1e-8, max_iter=500, **start).fit(X)
    np.testing.assert_allclose(semi.loglik_history_, plain.loglik_history_, rtol=1e-12)
    np.testing.assert_allclose(semi.means_, plain.means_, rtol=1e-10)


def test_objective_is_labelled_complete_plus_weighted_unlabelled(three_classes):
    """loglik_history_[-1] from SciPy's densities: Σ_L log π_y N(x|y) + λ Σ_U log Σ_k π_k N(x|k)."""
    X, y = three_classes
    partial = np.where(np.arange(y.size) % 3 == 0, y, -1)
    lam = 0.4
    fit = SSGM(3, unlabeled_weight=lam).fit(X, partial)
    log_joint = np.column_stack([np.log(w) + multivariate_normal(m, c).logpdf(X)
                                 for w, m, c in zip(fit.weights_, fit.means_, fit.covariances_, strict=True)])
    labelled = partial >= 0
    expected = log_joint[labelled, partial[labelled]].sum() + lam * logsumexp(log_joint[~labelled], axis=1).sum()
    np.testing.assert_allclose(fit.loglik_history_[-1], expected, rtol=1e-12)


@pytest.mark.parametrize("unlabeled_weight", [0.1, 0.5, 1.0])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_history_never_decreases(three_classes, unlabeled_weight, covariance_type):
    X, y = three_classes
    partial = np.where(np.arange(y.size) % 10 == 0, y, -1)
    fit = SSGM(3, covariance_type=covariance_type, unlabeled_weight=unlabeled_weight, tol=1e-8, max_iter=1000).fit(X, partial)
    h = fit.loglik_history_
    assert np.all(np.diff(h) >= -1e-10 * np.abs(h[:-1]))


def test_unlabelled_rows_help_a_well_specified_model():
    """Five labels per class: adding 2,000 unlabelled points (λ=1) classifies held-out data better."""
    rng = np.random.default_rng(7)
    means = np.array([[0.0, 0.0], [2.0, 0.5]])

    def draw(n):
        y = rng.integers(0, 2, n)
        return rng.normal(size=(n, 2)) * [1.0, 0.6] + means[y], y

    X, y = draw(2010)
    y_partial = np.full(y.size, -1)
    for k in range(2):
        y_partial[np.flatnonzero(y == k)[:5]] = k
    X_test, y_test = draw(5000)
    # The default tol=1e-3 can stop on a plateau of this overlapping mixture; converge fully.
    semi = SSGM(2, covariance_type="diag", tol=1e-8, max_iter=2000).fit(X, y_partial)
    supervised = SSGM(2, covariance_type="diag", unlabeled_weight=0.0).fit(X, y_partial)
    assert semi.converged_
    semi_accuracy = np.mean(semi.predict(X_test) == y_test)
    assert semi_accuracy > np.mean(supervised.predict(X_test) == y_test) + 0.05
    assert semi_accuracy > 0.84  # the Bayes rate with the true parameters is about 0.86


# ----------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("y", "error", "message"),
    [
        (np.r_[np.zeros(239, int), 3], ValueError, r"labels in -1..2.*\[3\]"),
        (np.r_[np.zeros(239, int), -2], ValueError, r"labels in -1..2.*\[-2\]"),
        (np.r_[np.zeros(120, int), np.ones(120, int)], ValueError, r"no labelled row of class\(es\) \[2\]"),
        (np.zeros(10, int), ValueError, r"y must have shape \(240,\)"),
        (np.zeros((240, 1), int), ValueError, r"y must have shape \(240,\)"),
        (np.full(240, 0.5), TypeError, "y must hold integer labels"),
        (np.array(["a"] * 240), TypeError, "y must hold integer labels"),
        (None, ValueError, "y is required"),
    ],
)
def test_bad_labels_are_rejected(three_classes, y, error, message):
    X, _ = three_classes
    with pytest.raises(error, match=message):
        SSGM(3).fit(X, y)


def test_negative_unlabeled_weight_is_rejected(three_classes):
    X, y = three_classes
    with pytest.raises(ValueError, match="unlabeled_weight"):
        SSGM(3, unlabeled_weight=-0.5).fit(X, y)


def test_integral_float_labels_are_accepted(three_classes):
    X, y = three_classes
    fit = SSGM(3).fit(X, y.astype(float))
    np.testing.assert_allclose(fit.means_, SSGM(3).fit(X, y).means_)
