"""emlib's mixture of linear regressions against references nobody here wrote.

* one component is ordinary least squares: ``numpy.linalg.lstsq`` and scikit-learn's
  ``LinearRegression`` (coefficients, intercept; the noise variance is the mean squared residual);
* EM's answer is a local maximum of the same likelihood maximised directly: L-BFGS (SciPy) on an
  unconstrained parameterisation (log-odds of the weights, log-variances), started from EM's
  answer, gains nothing beyond round-off;
* the E-step's responsibilities are Bayes' rule computed here with SciPy's normal density;
* the M-step is weighted least squares, checked against scikit-learn's ``LinearRegression`` with
  ``sample_weight``;
* the log-likelihood history never decreases; and the conventions scikit-learn's checks cannot
  test because ``predict_proba`` and ``score_samples`` need ``y`` (tests/test_sklearn_checks.py);
* a published fit on real data: the 2-component ``regmixEM`` fit of CO2 on GNP printed in the
  vignette of the R package mixtools (Benaglia, Chauveau, Hunter & Young).
"""

from __future__ import annotations

import pickle
import re

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import logsumexp, softmax
from scipy.stats import norm
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression, LogisticRegression

import emlib
from emlib import experts

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

TRUE_COEF = np.array([[1.0, -2.0], [-1.0, 0.5]])
TRUE_INTERCEPT = np.array([0.0, 3.0])
TRUE_SD = np.array([0.5, 1.0])


def two_lines(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two regression planes in two features, half of the rows each on average."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-3, 3, size=(n, 2))
    z = rng.integers(0, 2, n)
    y = np.einsum("nd,nd->n", X, TRUE_COEF[z]) + TRUE_INTERCEPT[z] + TRUE_SD[z] * rng.standard_normal(n)
    return X, y, z


def test_one_component_is_ordinary_least_squares():
    X, y, _ = two_lines()
    model = emlib.MixtureOfLinearRegressions(1, reg_covar=0.0, n_init=1).fit(X, y)
    design = np.column_stack([X, np.ones(len(X))])
    solution, *_ = np.linalg.lstsq(design, y, rcond=None)
    np.testing.assert_allclose(model.coef_[0], solution[:2], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.intercept_[0], solution[2], rtol=1e-10, atol=1e-12)
    sklearn_fit = LinearRegression().fit(X, y)
    np.testing.assert_allclose(model.coef_[0], sklearn_fit.coef_, rtol=1e-10)
    np.testing.assert_allclose(model.intercept_[0], sklearn_fit.intercept_, rtol=1e-10, atol=1e-12)
    residuals = y - design @ solution
    np.testing.assert_allclose(model.noise_variances_[0], np.mean(residuals**2), rtol=1e-10)
    # the log-likelihood of the Gaussian linear model at its MLE
    np.testing.assert_allclose(model.loglik_history_[-1], norm.logpdf(residuals, scale=residuals.std()).sum(),
                               rtol=1e-10)


def negative_loglik(theta: np.ndarray, X: np.ndarray, y: np.ndarray, K: int) -> float:
    """-log p(y | X) of a K-component mixture of regressions, written independently of emlib:
    theta = (K - 1 weight logits against the last component, K x D coefficients, K intercepts,
    K log-variances)."""
    D = X.shape[1]
    logits = np.r_[theta[: K - 1], 0.0]
    log_weights = logits - logsumexp(logits)
    coef = theta[K - 1 : K - 1 + K * D].reshape(K, D)
    intercept = theta[K - 1 + K * D : K - 1 + K * D + K]
    sd = np.exp(0.5 * theta[-K:])
    log_joint = norm.logpdf(y[:, None], loc=X @ coef.T + intercept, scale=sd) + log_weights
    return -logsumexp(log_joint, axis=1).sum()


def test_em_answer_is_a_local_maximum_of_the_likelihood():
    X, y, _ = two_lines()
    K = 2
    model = emlib.MixtureOfLinearRegressions(K, reg_covar=0.0, tol=1e-12, max_iter=5000, random_state=0).fit(X, y)
    assert model.converged_
    theta = np.r_[np.log(model.weights_[:-1] / model.weights_[-1]), model.coef_.ravel(), model.intercept_,
                  np.log(model.noise_variances_)]
    np.testing.assert_allclose(-negative_loglik(theta, X, y, K), model.loglik_history_[-1], rtol=1e-12)
    direct = minimize(negative_loglik, theta, args=(X, y, K), method="L-BFGS-B")
    assert -direct.fun - model.loglik_history_[-1] < 1e-6
    # and the fit found the two true planes (up to the order of the components)
    order = np.argsort(model.intercept_)
    np.testing.assert_allclose(model.coef_[order], TRUE_COEF, atol=0.15)
    np.testing.assert_allclose(np.sqrt(model.noise_variances_[order]), TRUE_SD, atol=0.15)


def test_e_step_is_bayes_rule():
    X, y, _ = two_lines(50, seed=1)
    params = experts.RegressionMixtureParameters(np.array([0.3, 0.7]), TRUE_COEF, TRUE_INTERCEPT, TRUE_SD**2)
    resp, loglik = experts.e_step(X, y, params)
    joint = params.weights * norm.pdf(y[:, None], loc=X @ TRUE_COEF.T + TRUE_INTERCEPT, scale=TRUE_SD)
    np.testing.assert_allclose(resp, joint / joint.sum(axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(loglik, np.log(joint.sum(axis=1)).sum(), rtol=1e-12)


def test_m_step_is_weighted_least_squares():
    X, y, _ = two_lines(80, seed=2)
    resp = np.random.default_rng(3).dirichlet(np.ones(2), size=len(X))
    params = experts.m_step(X, y, resp, reg_covar=0.0)
    for k in range(2):
        reference = LinearRegression().fit(X, y, sample_weight=resp[:, k])
        np.testing.assert_allclose(params.coef[k], reference.coef_, rtol=1e-9)
        np.testing.assert_allclose(params.intercept[k], reference.intercept_, rtol=1e-9, atol=1e-12)
        residuals = y - reference.predict(X)
        np.testing.assert_allclose(params.noise_variances[k], np.average(residuals**2, weights=resp[:, k]),
                                   rtol=1e-9)
    np.testing.assert_allclose(params.weights, resp.mean(axis=0), rtol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("K", [2, 3])
def test_history_never_decreases(seed, K):
    X, y, _ = two_lines(200, seed=seed)
    model = emlib.MixtureOfLinearRegressions(K, reg_covar=0.0, n_init=1, tol=1e-10, max_iter=300,
                                             random_state=seed).fit(X, y)
    history = model.loglik_history_
    assert np.diff(history).min() > -1e-9 * np.abs(history).max()
    assert len(history) == model.n_iter_ + 1


def test_inference_conventions_with_y():
    """What scikit-learn's checks cannot call: methods that need y."""
    X, y, _ = two_lines(120, seed=4)
    model = emlib.MixtureOfLinearRegressions(2, random_state=0)
    for call in (lambda: model.predict(X), lambda: model.predict_proba(X, y), lambda: model.score(X, y),
                 lambda: model.score_samples(X, y), lambda: model.sample(X)):
        with pytest.raises(NotFittedError):
            call()
    params = model.get_params()
    assert model.fit(X, y) is model and model.get_params() == params
    outputs = [model.predict(X), model.predict_proba(X, y), model.score_samples(X, y)]
    refit = clone(model).fit(X, y)
    for a, b in zip(outputs, [refit.predict(X), refit.predict_proba(X, y), refit.score_samples(X, y)], strict=True):
        np.testing.assert_array_equal(a, b)
    unpickled = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(unpickled.predict_proba(X, y), outputs[1])
    order = np.random.default_rng(5).permutation(len(X))  # rows are independent given x
    np.testing.assert_allclose(model.predict_proba(X[order], y[order]), outputs[1][order], rtol=1e-12)
    np.testing.assert_allclose(model.score_samples(X[order], y[order]), outputs[2][order], rtol=1e-12)
    np.testing.assert_allclose(model.predict(X), (X @ model.coef_.T + model.intercept_) @ model.weights_)
    assert model.score(X, y) == pytest.approx(model.loglik_history_[-1] / len(X), rel=1e-6)
    with pytest.raises(ValueError, match="X has 1 features, but MixtureOfLinearRegressions is expecting 2"):
        model.predict(X[:, :1])
    with pytest.raises(ValueError, match="y has 119 values, but X has 120 rows"):
        model.predict_proba(X, y[:-1])


def test_sample_follows_the_fitted_model():
    X, y, _ = two_lines(400, seed=6)
    model = emlib.MixtureOfLinearRegressions(2, random_state=0).fit(X, y)
    rng = np.random.default_rng(7)
    X_new = np.repeat(X[:1], 20_000, axis=0)
    draws, z = model.sample(X_new, random_state=rng)
    n = len(z)
    frequencies = np.bincount(z, minlength=2) / n
    assert np.all(np.abs(frequencies - model.weights_) < 5 * np.sqrt(model.weights_ * (1 - model.weights_) / n))
    for k in range(2):
        mean = X[0] @ model.coef_[k] + model.intercept_[k]
        on = z == k
        assert abs(draws[on].mean() - mean) < 5 * np.sqrt(model.noise_variances_[k] / on.sum())


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda X, y: emlib.MixtureOfLinearRegressions(2).fit(X, None), "y is required"),
        (lambda X, y: emlib.MixtureOfLinearRegressions(2).fit(X, y[:-1]), "y has 29 values, but X has 30 rows"),
        (lambda X, y: emlib.MixtureOfLinearRegressions(2).fit(X, np.c_[y, y]), "y must be 1-D"),
        (lambda X, y: emlib.MixtureOfLinearRegressions(2).fit(X, np.r_[y[:-1], np.nan]), "y contains NaN"),
        (lambda X, y: emlib.MixtureOfLinearRegressions(2).fit(np.r_[X[:-1], [[np.nan, 0]]], y), "X contains NaN"),
        (lambda X, y: emlib.MixtureOfLinearRegressions(10).fit(X, y), "need more than n_components * (n_features + 1) = 30"),
        (lambda X, y: emlib.MixtureOfLinearRegressions(0).fit(X, y), "n_components must be an integer >= 1"),
        (lambda X, y: emlib.MixtureOfLinearRegressions(2, reg_covar=-1.0).fit(X, y), "reg_covar must be a finite number >= 0"),
        (lambda X, y: emlib.MixtureOfLinearRegressions(2, tol=0.0).fit(X, y), "tol must be a finite number > 0"),
        (lambda X, y: emlib.MixtureOfLinearRegressions(2).fit(X, 0.0), "y must be 1-D, one response per row of X; got shape ()"),
        (lambda X, y: emlib.MixtureOfLinearRegressions(2).fit(X, y[:, None, None]), "y must be 1-D"),
        # noise-free data: with no variance floor every line can pass exactly through its points
        (lambda X, y: emlib.MixtureOfLinearRegressions(2, reg_covar=0.0).fit(X, X @ [1.0, 2.0]), "passes exactly through its points"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_bad_input_is_rejected_with_a_clear_message(call, message):
    X, y, _ = two_lines(30, seed=8)
    with pytest.raises(ValueError, match=re.escape(message)):
        call(X, y)


# ------------------------------------------------------------------ mixtures of experts
def broken_line(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """y = 1 + 2x for x < 0 and y = 1 - x for x >= 0, with noise: which line applies depends on x."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, size=n)
    y = np.where(x < 0, 1 + 2 * x, 1 - x) + 0.2 * rng.standard_normal(n)
    return x[:, None], y


def test_constant_gate_is_the_mixture_of_regressions():
    """A gate that sees only a constant is a softmax of K - 1 free logits, maximised by pi_k = N_k / N:
    with enough Newton steps per iteration, the same path as MixtureOfLinearRegressions."""
    X, y, _ = two_lines(200, seed=9)
    common = dict(n_init=1, reg_covar=0.0, tol=1e-10, max_iter=40, random_state=3)
    moe = emlib.MixtureOfExperts(2, gate_uses_inputs=False, gate_steps=25, **common).fit(X, y)
    molr = emlib.MixtureOfLinearRegressions(2, **common).fit(X, y)
    n = min(len(moe.loglik_history_), len(molr.loglik_history_))
    np.testing.assert_allclose(moe.loglik_history_[:n], molr.loglik_history_[:n], rtol=1e-9)
    np.testing.assert_allclose(moe.coef_, molr.coef_, rtol=1e-7, atol=1e-9)
    weights = np.exp(experts.log_gate(np.ones((1, 1)), moe.gate_coef_))[0]
    np.testing.assert_allclose(weights, molr.weights_, rtol=1e-8)
    np.testing.assert_allclose(moe.predict(X), molr.predict(X), rtol=1e-7, atol=1e-9)


def test_gate_newton_steps_reach_the_weighted_logistic_regression():
    """The gate's M-step maximises sum_nk gamma_nk log alpha_k(x_n): multinomial logistic regression
    with soft targets, i.e. with every row repeated K times, labelled k, weighted gamma_nk.
    scikit-learn's LogisticRegression (no penalty) solves that; the predicted probabilities agree."""
    rng = np.random.default_rng(10)
    X = rng.normal(size=(150, 2))
    logits = X @ np.array([[1.0, -0.5, 0.0], [0.5, 1.0, 0.0]])
    resp = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    resp = 0.7 * resp + 0.3 * rng.dirichlet(np.ones(3), size=150)  # soft targets, not a logistic model
    design = experts.gate_design(X)
    gate_coef = np.zeros((3, 2))
    objective = [experts.gate_objective(design, gate_coef, resp, 0.0)]
    for _ in range(30):
        gate_coef = experts.gate_newton_step(design, gate_coef, resp, 0.0)
        objective.append(experts.gate_objective(design, gate_coef, resp, 0.0))
    # Every step raises Q (generalised EM): exactly in the standardised coordinates where the step is
    # judged, so here, in the raw ones, up to the rounding of evaluating Q (a few ulps of |Q|).
    assert np.diff(objective).min() >= -4 * np.finfo(float).eps * np.abs(objective).max()
    reference = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(
        np.tile(X, (3, 1)), np.repeat(np.arange(3), 150), sample_weight=resp.T.ravel())
    np.testing.assert_allclose(np.exp(experts.log_gate(design, gate_coef)), reference.predict_proba(X), atol=1e-6)


@pytest.mark.parametrize("gate_l2", [0.0, 1.0])
@pytest.mark.parametrize("seed", [0, 1])
def test_generalised_em_never_decreases_its_objective(seed, gate_l2):
    X, y = broken_line(seed=seed)
    model = emlib.MixtureOfExperts(2, gate_l2=gate_l2, reg_covar=0.0, n_init=1, tol=1e-10, max_iter=200,
                                   random_state=seed).fit(X, y)
    history = model.loglik_history_
    assert np.diff(history).min() > -1e-9 * np.abs(history).max()
    penalty = 0.5 * gate_l2 * (model.gate_coef_**2).sum()
    np.testing.assert_allclose(history[-1], model.score(X, y) * len(X) - penalty, rtol=1e-9)


def moe_negative_loglik(theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
    """-log p(y | x) of a two-expert, one-feature mixture of experts, written independently:
    theta = (gate slope, gate intercept, 2 slopes, 2 intercepts, 2 log-variances)."""
    gate = theta[0] * X[:, 0] + theta[1]
    log_alpha = np.column_stack([gate, np.zeros(len(X))])
    log_alpha -= logsumexp(log_alpha, axis=1, keepdims=True)
    means = X[:, :1] * theta[2:4] + theta[4:6]
    return -logsumexp(log_alpha + norm.logpdf(y[:, None], means, np.exp(0.5 * theta[6:8])), axis=1).sum()


def test_mixture_of_experts_answer_is_a_local_maximum_and_beats_the_mixture_of_regressions():
    X, y = broken_line()
    model = emlib.MixtureOfExperts(2, reg_covar=0.0, tol=1e-12, max_iter=2000, random_state=0).fit(X, y)
    assert model.converged_
    theta = np.r_[model.gate_coef_[:, 0], model.coef_[:, 0], model.intercept_, np.log(model.noise_variances_)]
    np.testing.assert_allclose(-moe_negative_loglik(theta, X, y), model.loglik_history_[-1], rtol=1e-12)
    direct = minimize(moe_negative_loglik, theta, args=(X, y), method="L-BFGS-B")
    assert -direct.fun - model.loglik_history_[-1] < 1e-6
    order = np.argsort(model.coef_[:, 0])  # the two true lines: slopes -1 and 2, intercepts 1
    np.testing.assert_allclose(model.coef_[order, 0], [-1.0, 2.0], atol=0.1)
    np.testing.assert_allclose(model.intercept_, [1.0, 1.0], atol=0.1)
    molr = emlib.MixtureOfLinearRegressions(2, reg_covar=0.0, random_state=0).fit(X, y)
    assert model.score(X, y) > molr.score(X, y) + 0.1  # the gate knows which line applies where


def test_mixture_of_experts_inference_conventions_with_y():
    X, y = broken_line(120, seed=4)
    model = emlib.MixtureOfExperts(2, random_state=0)
    with pytest.raises(NotFittedError):
        model.predict(X)
    assert model.fit(X, y) is model
    outputs = [model.predict(X), model.predict_proba(X, y), model.score_samples(X, y)]
    refit = clone(model).fit(X, y)
    for a, b in zip(outputs, [refit.predict(X), refit.predict_proba(X, y), refit.score_samples(X, y)], strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).predict_proba(X, y), outputs[1])
    order = np.random.default_rng(5).permutation(len(X))
    np.testing.assert_allclose(model.score_samples(X[order], y[order]), outputs[2][order], rtol=1e-12)
    alpha = np.exp(experts.log_gate(experts.gate_design(X), model.gate_coef_))
    np.testing.assert_allclose(model.predict(X), ((X @ model.coef_.T + model.intercept_) * alpha).sum(axis=1))
    with pytest.raises(ValueError, match="X has 2 features, but MixtureOfExperts is expecting 1"):
        model.predict(np.c_[X, X])


def test_gate_weights_are_the_softmax_of_the_gate_and_the_constant_weights():
    """gate_weights(X): SciPy's softmax of x~ V with the last logit 0 for a mixture of experts, the
    weights in every row for a mixture of regressions; probabilities that ignore y."""
    X, y = broken_line(120, seed=4)
    moe = emlib.MixtureOfExperts(2, gate_l2=0.1, random_state=0).fit(X, y)
    logits = np.c_[X @ moe.gate_coef_[:-1] + moe.gate_coef_[-1], np.zeros(len(X))]
    np.testing.assert_allclose(moe.gate_weights(X), softmax(logits, axis=1), rtol=1e-12)
    assert moe.gate_weights(X)[:, 0].max() > 0.9 and moe.gate_weights(X)[:, 0].min() < 0.1
    molr = emlib.MixtureOfLinearRegressions(2, random_state=0).fit(X, y)
    np.testing.assert_allclose(molr.gate_weights(X[:7]), np.tile(molr.weights_, (7, 1)), rtol=1e-12)
    with pytest.raises(NotFittedError):
        emlib.MixtureOfExperts(2).gate_weights(X)
    with pytest.raises(ValueError, match="X has 2 features, but MixtureOfExperts is expecting 1"):
        moe.gate_weights(np.c_[X, X])


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"gate_l2": -1.0}, ValueError, "gate_l2 must be a finite number >= 0"),
        ({"gate_steps": 0}, ValueError, "gate_steps must be an integer >= 1"),
        ({"gate_uses_inputs": "yes"}, TypeError, "gate_uses_inputs must be True or False"),
    ],
)
def test_mixture_of_experts_options_are_checked(options, error, message):
    X, y = broken_line(60)
    with pytest.raises(error, match=message):
        emlib.MixtureOfExperts(2, **options).fit(X, y)


# --------------------------------------------------------------- a published fit on real data
# The vignette of R package mixtools ("mixtools: An R Package for Analyzing Finite Mixture Models",
# Benaglia, Chauveau, Hunter & Young; an updated J. Stat. Softw. 32(6), 2009), section 5.2, p. 21
# of inst/doc/mixtools.pdf in the CRAN mirror cran/mixtools at commit ead45058670f (mixtools
# 2.0.0.1; identical output in 1.0.0 and 1.2.0), runs
#     regmixEM(CO2, GNP, lambda = c(1, 3) / 4, beta = matrix(c(8, -1, 1, 1), 2, 2), sigma = c(2, 1))
# and prints "number of iterations= 10" and
#                comp 1    comp 2
#     lambda   0.754921  0.245079
#     sigma    2.049315  0.809389      (standard deviations, not variances)
#     beta1    8.678987  1.415150      (intercepts)
#     beta2   -0.023344  0.676596      (slopes on GNP)
#     loglik at estimate: -66.93977
# The 0.4.4 vignette (inst/doc/vignette.pdf, commit a3992f6826aa) prints comp 1 to 7 decimals:
# 0.7549214, 2.0493151, 8.6789866, -0.0233440.
GNP_CO2_START = experts.RegressionMixtureParameters(
    np.array([0.25, 0.75]), np.array([[-1.0], [1.0]]), np.array([8.0, 1.0]), np.array([2.0, 1.0]) ** 2
)
GNP_CO2_PUBLISHED = {
    "weights": [0.754921, 0.245079],
    "sd": [2.049315, 0.809389],
    "intercept": [8.678987, 1.415150],
    "slope": [-0.023344, 0.676596],
}
GNP_CO2_PUBLISHED_LOGLIK = -66.93977


def test_published_fit_on_gnp_co2():
    df = emlib.datasets.gnp_co2()
    X, y = df[["GNP"]].to_numpy(), df.CO2.to_numpy()

    # 1. mixtools' own run, by emlib's EM steps. regmixEM stops when an iteration raises the
    # log-likelihood by less than epsilon = 1e-8 (R/regmixEM.R), so what it printed is EM's
    # 10th iterate from its start, not the limit: the parameters still move by ~1e-6 per step.
    # Each EM step here is an E-step then an M-step, as in regmixEM; mixtools has no variance floor.
    params, gains = GNP_CO2_START, []
    loglik = experts.e_step(X, y, params)[1]
    for _ in range(10):
        params = experts.m_step(X, y, experts.e_step(X, y, params)[0], reg_covar=0.0)
        gains.append(experts.e_step(X, y, params)[1] - loglik)
        loglik += gains[-1]
    assert min(gains[:9]) > 1e-8 > gains[9] > 0  # mixtools' stopping rule stops exactly here
    # Printed to 6 decimals, so half a unit in the 6th decimal (the log-likelihood: the 5th).
    np.testing.assert_allclose(params.weights, GNP_CO2_PUBLISHED["weights"], rtol=0, atol=5e-7)
    np.testing.assert_allclose(np.sqrt(params.noise_variances), GNP_CO2_PUBLISHED["sd"], rtol=0, atol=5e-7)
    np.testing.assert_allclose(params.intercept, GNP_CO2_PUBLISHED["intercept"], rtol=0, atol=5e-7)
    np.testing.assert_allclose(params.coef[:, 0], GNP_CO2_PUBLISHED["slope"], rtol=0, atol=5e-7)
    assert loglik == pytest.approx(GNP_CO2_PUBLISHED_LOGLIK, abs=5e-6)
    # Component 1 as printed by mixtools 0.4.4, to 7 decimals: half a unit in the 7th.
    first = [params.weights[0], np.sqrt(params.noise_variances[0]), params.intercept[0], params.coef[0, 0]]
    np.testing.assert_allclose(first, [0.7549214, 2.0493151, 8.6789866, -0.0233440], rtol=0, atol=5e-8)

    # 2. emlib's estimator from its own random starts reaches the same maximum: the published
    # log-likelihood to its printed precision, and the limit of mixtools' run (continued here
    # until a step gains less than 1e-14) to 1e-6. The likelihood is so flat along the
    # intercepts that EM stopped by a gain below tol * n = 2.8e-13 still sits ~2e-7 from the
    # limit there (a few 1e-6 with tol=1e-12), so 1e-6 is what such stops allow. The fitted
    # parameters differ from the printed ones by up to 1.6e-5 (the intercept of component 1)
    # because the printed ones are the 10th iterate (part 1), not the maximum.
    for _ in range(200):
        previous = loglik
        params = experts.m_step(X, y, experts.e_step(X, y, params)[0], reg_covar=0.0)
        loglik = experts.e_step(X, y, params)[1]
        if loglik - previous < 1e-14:
            break
    model = emlib.MixtureOfLinearRegressions(2, tol=1e-14, max_iter=10_000, n_init=10, reg_covar=0.0, random_state=0)
    model.fit(X, y)
    order = np.argsort(-model.weights_)  # mixtools' component 1 is the heavier one
    assert model.loglik_history_[-1] == pytest.approx(GNP_CO2_PUBLISHED_LOGLIK, abs=5e-6)
    assert model.loglik_history_[-1] == pytest.approx(loglik, abs=1e-9)
    np.testing.assert_allclose(model.weights_[order], params.weights, rtol=0, atol=1e-6)
    np.testing.assert_allclose(model.noise_variances_[order], params.noise_variances, rtol=0, atol=1e-6)
    np.testing.assert_allclose(model.intercept_[order], params.intercept, rtol=0, atol=1e-6)
    np.testing.assert_allclose(model.coef_[order], params.coef, rtol=0, atol=1e-6)


@pytest.mark.parametrize("shift", [1e4, 1e9])
@pytest.mark.parametrize("make", [
    lambda: emlib.MixtureOfLinearRegressions(2, n_init=1, max_iter=15, tol=1e-300, random_state=0),
    lambda: emlib.MixtureOfExperts(2, n_init=1, max_iter=15, tol=1e-300, gate_l2=0.0, random_state=0),
])
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # 15 iterations exactly
def test_inputs_far_from_the_origin_give_the_same_fit(make, shift):
    # Moving x by `shift` spreads changes only the intercepts (b -> b - beta * shift, and the gate's
    # constant likewise): both M-steps centre the inputs first. Uncentred, the weighted least squares
    # lost the slope at 1e8 and the gate's Newton step at 1e4 (its Hessian's condition ~ shift^4);
    # with the gate's step halving judged on raw logits x w + b, rounding noise of ~1e-16 |b| rejected
    # steps at 1e9 on some CPUs. The inputs are multiples of 2^-20, so x + shift is exact: the two fits
    # see the same data and differ only by rounding inside the estimator.
    rng = np.random.default_rng(5)
    x = np.round(rng.uniform(-1, 1, 300) * 2**20) / 2**20
    y = np.where(rng.uniform(size=300) < 1 / (1 + np.exp(-4 * x)), 1 + 2 * x, -1 - x) + 0.2 * rng.normal(size=300)
    assert np.array_equal(x + shift - shift, x)
    near, far = make().fit(x[:, None], y), make().fit(x[:, None] + shift, y)
    np.testing.assert_allclose(far.coef_, near.coef_, rtol=1e-6)
    np.testing.assert_allclose(far.intercept_ + far.coef_[:, 0] * shift, near.intercept_, atol=1e-6 * shift)
    if hasattr(near, "gate_coef_"):
        np.testing.assert_allclose(far.gate_coef_[0], near.gate_coef_[0], rtol=1e-6)
    # The log-likelihood of the far fit is evaluated on residuals y - x beta - b (and logits x w + b)
    # that cancel the shift's digits: each carries an error of about eps * shift * |beta| (|w|), which
    # moves a point's log-density by |d log p / d residual| = sum_k gamma_k |r_k| / sigma_k^2 times it
    # (by at most 1 per unit of logit). Summed with no cancellation, that bounds the difference.
    gamma = near.predict_proba(x[:, None], y)
    residuals = y[:, None] - (x[:, None] * near.coef_[:, 0] + near.intercept_)
    per_residual = (gamma * np.abs(residuals) / near.noise_variances_).sum() * np.abs(near.coef_).max()
    per_logit = len(x) * np.abs(getattr(near, "gate_coef_", np.zeros(1))[0]).max()
    bound = np.finfo(float).eps * shift * (per_residual + per_logit)
    np.testing.assert_allclose(far.loglik_history_, near.loglik_history_, rtol=0, atol=bound)
