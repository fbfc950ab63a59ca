"""emlib's Bernoulli mixture against references written differently.

scikit-learn has no Bernoulli mixture, so the references are

* a direct implementation on a tiny data set (K=2, D=3) that enumerates the latent label of every
  row by hand, with explicit products and loops (no matrix products, no log space);
* SciPy's ``bernoulli.logpmf`` and ``beta.logpdf`` for the log-likelihood and the log-prior;
* closed forms: with K=1 the MAP mean is the smoothed column mean, reached in one iteration.
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
from scipy.stats import bernoulli, beta
from sklearn.exceptions import ConvergenceWarning

import emlib
from emlib.bernoulli import e_step, log_bernoulli, log_prior

# Six binary rows in three dimensions: two loose groups, (1, 1, 0)-like and (0, 0, 1)-like.
TINY = np.array([[1, 1, 0], [1, 0, 0], [1, 1, 1], [0, 0, 1], [0, 1, 1], [0, 0, 0]], dtype=float)
TINY_WEIGHTS = np.array([0.3, 0.7])
TINY_MEANS = np.array([[0.6, 0.5, 0.4], [0.45, 0.5, 0.55]])


def random_binary(seed: int, N: int, K: int, D: int) -> np.ndarray:
    """Rows drawn from a random Bernoulli mixture with well separated components."""
    rng = np.random.default_rng(seed)
    means = rng.choice([0.1, 0.9], size=(K, D))
    z = rng.integers(K, size=N)
    return (rng.uniform(size=(N, D)) < means[z]).astype(float)


# ------------------------------------------------------------ the direct reference
def direct_joint(x, weights, means) -> list[float]:
    """p(x, z=k) for k = 0..K-1, as explicit products over the D coordinates."""
    joint = []
    for k in range(len(weights)):
        p = weights[k]
        for d in range(len(x)):
            p *= means[k][d] if x[d] == 1 else 1.0 - means[k][d]
        joint.append(p)
    return joint


def direct_loglik(X, weights, means) -> float:
    """log p(X) = sum over rows of log sum over the enumerated labels z of p(x, z)."""
    return sum(math.log(sum(direct_joint(x, weights, means))) for x in X)


def direct_log_prior(means, alpha) -> float:
    return sum(beta(alpha + 1, alpha + 1).logpdf(m) for row in means for m in row)


def direct_em_step(X, weights, means, alpha):
    """One EM iteration written out with loops: Bayes' rule, then the smoothed counts."""
    K, D = len(weights), len(means[0])
    resp = []
    for x in X:
        joint = direct_joint(x, weights, means)
        resp.append([j / sum(joint) for j in joint])
    Nk = [sum(r[k] for r in resp) for k in range(K)]
    new_weights = [Nk[k] / len(X) for k in range(K)]
    new_means = [
        [(sum(r[k] * x[d] for r, x in zip(resp, X)) + alpha) / (Nk[k] + 2 * alpha) for d in range(D)]
        for k in range(K)
    ]
    return np.array(new_weights), np.array(new_means)


def fit_quietly(model, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X)


# ------------------------------------------------------------------------ the tests
@pytest.mark.parametrize("alpha", [1.0, 0.1, 1e-3])
def test_tiny_problem_matches_direct_enumeration_iteration_by_iteration(alpha):
    """Every iterate's objective (log-likelihood + log-prior) and the final parameters equal the direct EM's."""
    n_iter = 15
    ours = fit_quietly(
        emlib.BernoulliMixture(2, alpha=alpha, tol=1e-300, max_iter=n_iter,
                               weights_init=TINY_WEIGHTS, means_init=TINY_MEANS),
        TINY,
    )
    weights, means = TINY_WEIGHTS, TINY_MEANS
    direct = [direct_loglik(TINY, weights, means) + direct_log_prior(means, alpha)]
    for _ in range(n_iter):
        weights, means = direct_em_step(TINY, weights, means, alpha)
        direct.append(direct_loglik(TINY, weights, means) + direct_log_prior(means, alpha))
    assert ours.n_iter_ == n_iter
    np.testing.assert_allclose(ours.loglik_history_, direct, rtol=1e-10)
    np.testing.assert_allclose(ours.weights_, weights, rtol=1e-9)
    np.testing.assert_allclose(ours.means_, means, rtol=1e-9)
    # the path really moved: a test of a fixed point would be vacuous
    assert ours.loglik_history_[-1] - ours.loglik_history_[0] > 0.05
    assert np.abs(ours.means_ - TINY_MEANS).max() > 0.05


def test_likelihood_equals_the_sum_over_all_label_assignments():
    """N*score equals log of the sum of p(X, z) over all K^N label vectors z: full enumeration."""
    model = fit_quietly(emlib.BernoulliMixture(2, max_iter=3, random_state=0), TINY)
    total = 0.0
    for z in itertools.product(range(2), repeat=len(TINY)):
        total += math.prod(direct_joint(x, model.weights_, model.means_)[k] for x, k in zip(TINY, z))
    np.testing.assert_allclose(model.score(TINY) * len(TINY), math.log(total), rtol=1e-12)


def test_log_bernoulli_matches_scipy():
    rng = np.random.default_rng(1)
    X = random_binary(1, 40, 3, 7)
    means = rng.uniform(0.02, 0.98, size=(4, 7))
    scipy = np.stack([bernoulli.logpmf(X, m).sum(axis=1) for m in means], axis=1)
    np.testing.assert_allclose(log_bernoulli(X, means), scipy, rtol=1e-12)


def test_e_step_is_bayes_rule_and_survives_many_features():
    """Responsibilities from SciPy's pmf; and with D=2000 (densities far below 1e-308) no NaN."""
    X = random_binary(2, 30, 2, 5)
    weights, means = np.array([0.4, 0.6]), np.random.default_rng(2).uniform(0.1, 0.9, (2, 5))
    joint = np.stack([w * np.exp(bernoulli.logpmf(X, m).sum(axis=1)) for w, m in zip(weights, means)], axis=1)
    resp, loglik = e_step(X, weights, means)
    np.testing.assert_allclose(resp, joint / joint.sum(axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(loglik, np.log(joint.sum(axis=1)).sum(), rtol=1e-12)

    wide = random_binary(3, 20, 2, 2000)
    resp, loglik = e_step(wide, weights, np.random.default_rng(3).uniform(0.1, 0.9, (2, 2000)))
    assert np.isfinite(resp).all() and np.isfinite(loglik) and loglik < -1e4
    np.testing.assert_allclose(resp.sum(axis=1), 1.0)


@pytest.mark.parametrize(("seed", "K", "D"), [(0, 2, 3), (1, 3, 8), (2, 5, 20), (3, 8, 64), (4, 4, 2)])
@pytest.mark.parametrize("init_params", ["kmeans", "random"])
def test_history_never_decreases(seed, K, D, init_params):
    X = random_binary(seed, 300, K, D)
    model = fit_quietly(
        emlib.BernoulliMixture(K, init_params=init_params, tol=1e-10, max_iter=200, random_state=seed), X
    )
    steps = np.diff(model.loglik_history_)
    assert steps.min() > -1e-9 * np.abs(model.loglik_history_).max()


def test_the_log_likelihood_alone_can_fall_but_the_map_objective_cannot():
    """Why the history records the log-posterior: start one component at the MLE (the column mean).

    The likelihood has its unique maximum there, so the smoothed M-step must lower it; the recorded
    objective (likelihood + log-prior) still rises, as EM for the MAP problem guarantees.
    """
    X = random_binary(5, 40, 1, 6)
    column_mean = X.mean(axis=0)
    assert ((column_mean > 0) & (column_mean < 1)).all()
    model = emlib.BernoulliMixture(1, alpha=2.0, weights_init=[1.0], means_init=column_mean[None]).fit(X)
    likelihood = model.loglik_history_[:2] - [log_prior(column_mean[None], 2.0), log_prior(model.means_, 2.0)]
    np.testing.assert_allclose(likelihood, [direct_loglik(X, [1.0], column_mean[None]),
                                            direct_loglik(X, [1.0], model.means_)], rtol=1e-12)
    assert likelihood[1] < likelihood[0] - 0.1
    assert model.loglik_history_[1] > model.loglik_history_[0] + 0.1


def test_fixed_point_satisfies_the_m_step_equations():
    X = random_binary(6, 400, 3, 12)
    alpha = 0.5
    model = emlib.BernoulliMixture(3, alpha=alpha, tol=1e-12, max_iter=5000, random_state=1).fit(X)
    assert model.converged_
    resp = model.predict_proba(X)
    Nk = resp.sum(axis=0)
    np.testing.assert_allclose(model.weights_, Nk / len(X), atol=1e-6)
    # written as the stationarity condition, not as the update: (N_k + 2a) mu = sum_n r x + a
    np.testing.assert_allclose((Nk[:, None] + 2 * alpha) * model.means_, resp.T @ X + alpha, atol=1e-4)


@pytest.mark.parametrize("alpha", [1.0, 1e-6])
def test_one_component_is_the_smoothed_column_mean(alpha):
    X = random_binary(7, 50, 1, 6)
    X[:, 0] = 0.0  # a pixel that is never on: the MLE would be exactly 0
    model = emlib.BernoulliMixture(1, alpha=alpha).fit(X)
    expected = (X.sum(axis=0) + alpha) / (len(X) + 2 * alpha)
    np.testing.assert_allclose(model.means_[0], expected, rtol=1e-12)
    np.testing.assert_allclose(model.means_[0], X.mean(axis=0), atol=2 * alpha / len(X) + 1e-12)
    assert 0.0 < model.means_[0, 0] < 1e-5 or alpha == 1.0
    np.testing.assert_allclose(model.weights_, [1.0])
    assert model.n_iter_ == 1  # from the k-means start, one M-step reaches the closed form
    # the likelihood of a new row with the never-seen pixel on is small but finite
    assert np.isfinite(model.score_samples(np.ones((1, 6)))).all()


def test_smoothing_keeps_every_mean_inside_the_unit_interval():
    X = np.zeros((20, 4))
    X[:10, :2] = 1.0  # two constant-by-group blocks: unsmoothed means would be exactly 0 and 1
    model = emlib.BernoulliMixture(2, alpha=1e-3, random_state=0).fit(X)
    assert ((model.means_ > 0) & (model.means_ < 1)).all()
    assert np.isfinite(model.loglik_history_).all()
    assert np.isfinite(model.score_samples(1.0 - X)).all()


def test_predictions_scores_and_criteria_by_hand():
    X = random_binary(8, 200, 3, 6)
    model = emlib.BernoulliMixture(3, n_init=3, random_state=0).fit(X)
    per_row = [math.log(sum(direct_joint(x, model.weights_, model.means_))) for x in X]
    np.testing.assert_allclose(model.score_samples(X), per_row, rtol=1e-10)
    np.testing.assert_allclose(model.score(X), np.mean(per_row), rtol=1e-10)
    p = (3 - 1) + 3 * 6
    np.testing.assert_allclose(model.bic(X), -2 * sum(per_row) + p * np.log(200), rtol=1e-10)
    np.testing.assert_allclose(model.aic(X), -2 * sum(per_row) + 2 * p, rtol=1e-10)
    resp = model.predict_proba(X)
    np.testing.assert_allclose(resp.sum(axis=1), 1.0)
    np.testing.assert_array_equal(model.predict(X), resp.argmax(axis=1))
    # the history's last entry is this log-likelihood plus the log-prior
    np.testing.assert_allclose(
        model.loglik_history_[-1], sum(per_row) + direct_log_prior(model.means_, model.alpha), rtol=1e-10
    )


def test_sample_draws_from_the_fitted_mixture():
    model = emlib.BernoulliMixture(2, weights_init=[0.3, 0.7], means_init=[[0.1, 0.8], [0.9, 0.4]],
                                   max_iter=1, random_state=0)
    fit_quietly(model, np.array([[0, 1], [1, 0], [1, 1], [0, 0]], dtype=float))
    Xs, z = model.sample(40_000)
    assert set(np.unique(Xs)) <= {0.0, 1.0}
    np.testing.assert_allclose(np.bincount(z) / len(z), model.weights_, atol=0.01)
    for k in range(2):
        np.testing.assert_allclose(Xs[z == k].mean(axis=0), model.means_[k], atol=0.015)


def test_more_starts_never_end_lower_and_random_state_reproduces():
    X = random_binary(9, 200, 4, 10)
    one = emlib.BernoulliMixture(4, n_init=1, init_params="random", random_state=3).fit(X)
    five = emlib.BernoulliMixture(4, n_init=5, init_params="random", random_state=3).fit(X)
    assert five.loglik_history_[-1] >= one.loglik_history_[-1] - 1e-9
    again = emlib.BernoulliMixture(4, n_init=5, init_params="random", random_state=3).fit(X)
    np.testing.assert_array_equal(five.means_, again.means_)


def test_unconverged_fit_warns():
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        emlib.BernoulliMixture(3, max_iter=1, tol=1e-12, init_params="random", random_state=0).fit(
            random_binary(10, 100, 3, 5)
        )


def test_booleans_are_read_as_zero_and_one():
    X = random_binary(11, 50, 2, 4)
    a = emlib.BernoulliMixture(2, random_state=0).fit(X)
    b = emlib.BernoulliMixture(2, random_state=0).fit(X.astype(bool))
    np.testing.assert_array_equal(a.means_, b.means_)


def test_constructor_only_stores_its_arguments():
    model = emlib.BernoulliMixture(0, alpha=-1.0, tol="x")  # invalid, but nothing is checked yet
    assert model.get_params()["alpha"] == -1.0
    assert not hasattr(model, "means_")


BM = emlib.BernoulliMixture
GOOD = random_binary(12, 30, 2, 3)
BAD_INPUTS = [
    (BM(2), np.array([[0.0, 0.5, 1.0]] * 5), ValueError, "X must contain only 0 and 1"),
    (BM(2), np.array([[0.0, 2.0, 1.0]] * 5), ValueError, "X must contain only 0 and 1"),
    (BM(2), np.array([[0.0, -1.0, 1.0]] * 5), ValueError, "X must contain only 0 and 1"),
    (BM(2), np.array([[0.0, np.nan, 1.0]] * 5), ValueError, "X contains NaN"),
    (BM(2), np.array([[0.0, np.inf, 1.0]] * 5), ValueError, "X contains infinity"),
    (BM(2), GOOD[:, 0], ValueError, "X must be a 2-D array"),
    (BM(2), GOOD[None], ValueError, "X must be a 2-D array"),
    (BM(2), np.empty((0, 3)), ValueError, "X is empty"),
    (BM(2), np.array([["0", "1"]] * 3), TypeError, "X must contain real numbers"),
    (BM(31), GOOD, ValueError, "n_components=31"),
    (BM(0), GOOD, ValueError, "n_components"),
    (BM(2.0), GOOD, TypeError, "n_components"),
    (BM(2, alpha=0.0), GOOD, ValueError, "alpha"),
    (BM(2, alpha=-1.0), GOOD, ValueError, "alpha"),
    (BM(2, alpha=np.inf), GOOD, ValueError, "alpha"),
    (BM(2, alpha="one"), GOOD, TypeError, "alpha"),
    (BM(2, tol=0.0), GOOD, ValueError, "tol"),
    (BM(2, tol=-1.0), GOOD, ValueError, "tol"),
    (BM(2, max_iter=0), GOOD, ValueError, "max_iter"),
    (BM(2, max_iter=2.5), GOOD, TypeError, "max_iter"),
    (BM(2, n_init=0), GOOD, ValueError, "n_init"),
    (BM(2, init_params="kmeans++"), GOOD, ValueError, "init_params"),
    (BM(2, weights_init=[0.5, 0.6]), GOOD, ValueError, "weights_init must sum to 1"),
    (BM(2, weights_init=[1.0]), GOOD, ValueError, "weights_init must have shape (2,)"),
    (BM(2, weights_init=[1.5, -0.5]), GOOD, ValueError, "weights_init must be non-negative"),
    (BM(2, means_init=np.full((2, 4), 0.5)), GOOD, ValueError, "means_init must have shape (2, 3)"),
    (BM(2, means_init=np.full((3, 3), 0.5)), GOOD, ValueError, "means_init must have shape (2, 3)"),
    (BM(2, means_init=[[0.0, 0.5, 0.5], [0.5, 0.5, 0.5]]), GOOD, ValueError, "means_init must lie strictly between 0 and 1"),
    (BM(2, means_init=[[1.0, 0.5, 0.5], [0.5, 0.5, 0.5]]), GOOD, ValueError, "means_init must lie strictly between 0 and 1"),
    (BM(2, means_init=np.full((2, 3), np.nan)), GOOD, ValueError, "means_init must be finite"),
]


@pytest.mark.parametrize(("model", "X", "error", "message"), BAD_INPUTS, ids=[c[3] for c in BAD_INPUTS])
def test_bad_input_is_rejected_with_a_message_naming_the_argument(model, X, error, message, monkeypatch):
    # nothing numeric may run before the checks: break the E-step and the M-step
    def fail(*args, **kwargs):
        raise AssertionError("numeric work before validation")

    monkeypatch.setattr(emlib.bernoulli, "e_step", fail)
    monkeypatch.setattr(emlib.bernoulli, "m_step", fail)
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        model.fit(X)


def test_prediction_checks_binary_input_and_width():
    model = emlib.BernoulliMixture(2, random_state=0).fit(GOOD)
    with pytest.raises(ValueError, match="X must contain only 0 and 1"):
        model.predict(np.full((2, 3), 0.5))
    with pytest.raises(ValueError, match="X has 4 features"):
        model.score_samples(np.zeros((2, 4)))
