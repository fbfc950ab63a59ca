"""MAP-EM for Gaussian mixtures (``emlib.gmm.m_step_map``) against SciPy's inverse Wishart.

* the covariance update is the mode of the inverse-Wishart posterior (SciPy's ``invwishart.mode``);
* weights and means are those of the maximum-likelihood M-step;
* no covariance is singular, even for a component on two identical points;
* EM with this M-step never lowers the MAP objective, log-likelihood plus log prior (SciPy's
  ``invwishart.logpdf``), even from a start that sends maximum-likelihood EM into a spike.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import invwishart

from emlib.gmm import e_step, m_step, m_step_map


def data(seed: int = 0, n: int = 120, d: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(0.0, 1.0, (n // 2, d)), rng.normal(3.0, 0.5, (n - n // 2, d))])
    return X


def responsibilities(X: np.ndarray, K: int, seed: int = 1) -> np.ndarray:
    resp = np.random.default_rng(seed).uniform(size=(len(X), K))
    return resp / resp.sum(axis=1, keepdims=True)


def map_objective(X, params, scale, dof) -> float:
    loglik = e_step(X, *params)[1]
    return loglik + sum(invwishart(df=dof, scale=scale).logpdf(c) for c in params.covariances)


@pytest.mark.parametrize("K", [1, 3])
def test_covariance_is_the_inverse_wishart_posterior_mode(K):
    X = data()
    resp = responsibilities(X, K)
    D = X.shape[1]
    scale, dof = 0.3 * np.eye(D) + 0.05, D + 2.0
    weights, means, covariances = m_step_map(X, resp, scale, dof)
    ml = m_step(X, resp, reg_covar=0.0)
    np.testing.assert_allclose(weights, ml.weights, rtol=1e-12)
    np.testing.assert_allclose(means, ml.means, rtol=1e-12, atol=1e-14)
    for k in range(K):
        centred = X - means[k]
        scatter = (resp[:, k, None] * centred).T @ centred
        mode = invwishart.mode(df=dof + resp[:, k].sum(), scale=scale + scatter)
        np.testing.assert_allclose(covariances[k], mode, rtol=1e-10)


def test_never_singular_on_two_identical_points():
    X = data()
    X[:2] = X[0]
    resp = np.zeros((len(X), 2))
    resp[:2, 0] = 1.0  # component 0 owns exactly the two identical points
    resp[2:, 1] = 1.0
    D = X.shape[1]
    scale, dof = 0.1 * np.eye(D), D + 2.0
    covariances = m_step_map(X, resp, scale, dof).covariances
    assert np.linalg.eigvalsh(m_step(X, resp, reg_covar=0.0).covariances[0]).max() < 1e-12
    floor = np.linalg.eigvalsh(scale).min() / (len(X) + dof + D + 1)
    assert np.linalg.eigvalsh(covariances).min() >= floor


def test_map_em_never_lowers_the_map_objective_from_a_spiked_start():
    X = data(seed=3)
    X[1] = X[0]
    D = X.shape[1]
    scale, dof = 0.05 * np.cov(X, rowvar=False), D + 2.0
    params = m_step(X, responsibilities(X, 3, seed=4), reg_covar=0.0)
    params = params._replace(
        means=np.vstack([params.means[:2], X[0]]),
        covariances=np.concatenate([params.covariances[:2], 1e-6 * np.eye(D)[None]]),
    )
    history = [map_objective(X, params, scale, dof)]
    for _ in range(60):
        params = m_step_map(X, e_step(X, *params)[0], scale, dof)
        history.append(map_objective(X, params, scale, dof))
    steps = np.diff(history)
    assert steps.min() > -1e-9 * np.abs(history).max()
    assert np.linalg.eigvalsh(params.covariances).min() > 1e-4


@pytest.mark.parametrize(
    ("scale", "dof", "message"),
    [
        (-np.eye(2), 4.0, "positive definite"),
        (np.array([[1.0, 0.5], [0.0, 1.0]]), 4.0, "symmetric"),
        (np.eye(2), 1.0, "prior_dof"),
        (np.eye(2), np.nan, "prior_dof"),
        (np.eye(3), 4.0, "shape"),
    ],
)
def test_bad_prior_is_rejected(scale, dof, message):
    X = data(d=2)
    with pytest.raises(ValueError, match=message):
        m_step_map(X, responsibilities(X, 2), scale, dof)
