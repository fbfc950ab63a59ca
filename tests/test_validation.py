"""Bad input gets a clear error naming the argument, before any work; degenerate data stays finite."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

import emlib
from emlib.gmm import COVARIANCE_TYPES

GOOD = np.random.default_rng(0).normal(size=(30, 2))
GM = emlib.GaussianMixture
KM = emlib.KMeans

# (make estimator, X, exception, text the message must contain)
BAD_INPUTS = [
    # X itself
    (lambda: GM(2), GOOD[:, 0], ValueError, "X must be a 2-D array"),
    (lambda: GM(2), GOOD[None], ValueError, "X must be a 2-D array"),
    (lambda: GM(2), np.empty((0, 2)), ValueError, "X is empty"),
    (lambda: GM(2), np.empty((5, 0)), ValueError, "X is empty"),
    (lambda: GM(2), np.array([["a", "b"], ["c", "d"]]), TypeError, "X must contain real numbers"),
    (lambda: GM(2), "not an array", TypeError, "X must be a 2-D array"),
    (lambda: GM(2), GOOD + 1j, TypeError, "X must contain real numbers"),
    (lambda: GM(2), np.array([[1.0, np.nan]] * 5), ValueError, "X contains NaN"),
    (lambda: GM(2), np.array([[1.0, np.inf]] * 5), ValueError, "X contains infinity"),
    (lambda: GM(2), np.array([[1.0, -np.inf]] * 5), ValueError, "X contains infinity"),
    (lambda: GM(2), np.array([[1.0, object()]] * 5, dtype=object), TypeError, "X must contain real numbers"),
    (lambda: GM(31), GOOD, ValueError, "n_components=31"),
    (lambda: KM(2), GOOD[:, 0], ValueError, "X must be a 2-D array"),
    (lambda: KM(2), np.array([[np.nan, 1.0]] * 5), ValueError, "X contains NaN"),
    (lambda: KM(2), np.array([[np.inf, 1.0]] * 5), ValueError, "X contains infinity"),
    (lambda: KM(2), np.array([["x"]] * 5), TypeError, "X must contain real numbers"),
    (lambda: KM(40), GOOD, ValueError, "n_clusters=40"),
    # hyper-parameters
    (lambda: GM(0), GOOD, ValueError, "n_components"),
    (lambda: GM(2.5), GOOD, TypeError, "n_components"),
    (lambda: GM(2, covariance_type="ful"), GOOD, ValueError, "covariance_type"),
    (lambda: GM(2, init_params="kmeans++"), GOOD, ValueError, "init_params"),
    (lambda: GM(2, tol=0.0), GOOD, ValueError, "tol"),
    (lambda: GM(2, tol=-1e-3), GOOD, ValueError, "tol"),
    (lambda: GM(2, tol="small"), GOOD, TypeError, "tol"),
    (lambda: GM(2, max_iter=0), GOOD, ValueError, "max_iter"),
    (lambda: GM(2, max_iter=-5), GOOD, ValueError, "max_iter"),
    (lambda: GM(2, max_iter=10.0), GOOD, TypeError, "max_iter"),
    (lambda: GM(2, n_init=0), GOOD, ValueError, "n_init"),
    (lambda: GM(2, reg_covar=-1.0), GOOD, ValueError, "reg_covar"),
    (lambda: KM(0), GOOD, ValueError, "n_clusters"),
    (lambda: KM(2, init="kmeans"), GOOD, ValueError, "init"),
    (lambda: KM(2, tol=0), GOOD, ValueError, "tol"),
    (lambda: KM(2, max_iter=0), GOOD, ValueError, "max_iter"),
    (lambda: KM(2, n_init=0), GOOD, ValueError, "n_init"),
    (lambda: KM(2, n_init="always"), GOOD, ValueError, "n_init"),
    # initial parameters
    (lambda: KM(2, init=np.zeros((3, 2))), GOOD, ValueError, "init must have shape (2, 2)"),
    (lambda: KM(2, init=np.array([[0.0, np.nan], [1.0, 1.0]])), GOOD, ValueError, "init must be finite"),
    (lambda: GM(2, weights_init=[0.5, 0.6]), GOOD, ValueError, "weights_init must sum to 1"),
    (lambda: GM(2, weights_init=[1.5, -0.5]), GOOD, ValueError, "weights_init must be non-negative"),
    (lambda: GM(2, weights_init=[1.0]), GOOD, ValueError, "weights_init must have shape (2,)"),
    (lambda: GM(2, means_init=np.zeros((2, 3))), GOOD, ValueError, "means_init must have shape (2, 2)"),
    (lambda: GM(2, means_init=np.full((2, 2), np.inf)), GOOD, ValueError, "means_init must be finite"),
    (lambda: GM(2, covariances_init=np.ones((2, 2))), GOOD, ValueError, "covariances_init must have shape (2, 2, 2)"),
    (lambda: GM(2, covariances_init=np.stack([np.eye(2), -np.eye(2)])), GOOD, ValueError, "covariances_init must be positive definite"),
    (lambda: GM(2, covariances_init=np.stack([np.eye(2), [[1.0, 0.5], [0.0, 1.0]]])), GOOD, ValueError, "covariances_init must be symmetric"),
    (lambda: GM(2, covariance_type="diag", covariances_init=np.array([[1.0, 1.0], [0.0, 1.0]])), GOOD, ValueError, "covariances_init must be positive"),
    (lambda: GM(2, covariance_type="spherical", covariances_init=np.ones((2, 2))), GOOD, ValueError, "covariances_init must have shape (2,)"),
    (lambda: GM(2, covariance_type="tied", covariances_init=np.ones((2, 2, 2))), GOOD, ValueError, "covariances_init must have shape (2, 2)"),
]


@pytest.mark.parametrize(("make", "X", "error", "message"), BAD_INPUTS, ids=[case[3] for case in BAD_INPUTS])
def test_bad_input_is_rejected_with_a_message_naming_the_argument(make, X, error, message, monkeypatch):
    import emlib.gmm
    import emlib.kmeans

    def no_work(*args, **kwargs):
        raise AssertionError("numeric work started before the input was checked")

    # The check must come before any numeric work: fail if either step or the seeding runs.
    for module, name in [(emlib.gmm, "e_step"), (emlib.gmm, "m_step"), (emlib.kmeans, "assign_labels"),
                         (emlib.gmm, "kmeans_plusplus"), (emlib.kmeans, "kmeans_plusplus")]:
        monkeypatch.setattr(module, name, no_work)
    with pytest.raises(error) as info:
        make().fit(X)
    assert message in str(info.value)


def test_the_table_covers_at_least_forty_cases():
    assert len(BAD_INPUTS) >= 40


@pytest.mark.parametrize("make", [lambda: GM(2), lambda: KM(2)])
def test_unfitted_estimator_refuses_to_predict(make):
    with pytest.raises(NotFittedError):
        make().predict(GOOD)


@pytest.mark.parametrize("make", [lambda: GM(2, random_state=0), lambda: KM(2, random_state=0)])
def test_predict_checks_the_number_of_features(make):
    fitted = make().fit(GOOD)
    expected = f"X has 3 features, but {type(fitted).__name__} is expecting 2 features as input"
    with pytest.raises(ValueError, match=expected):
        fitted.predict(np.zeros((4, 3)))


def test_constructor_only_stores_its_arguments():
    """scikit-learn's rule: no validation in __init__, so bad values surface in fit."""
    model = GM(n_components=-3, covariance_type="nonsense")
    assert model.get_params()["n_components"] == -3


def test_dataframes_and_integer_data_are_accepted():
    df = emlib.datasets.old_faithful()
    fit = GM(2, random_state=0).fit(df)
    assert fit.means_.shape == (2, 2)
    ints = np.random.default_rng(1).integers(0, 50, size=(40, 2))
    assert np.isfinite(KM(3, random_state=0).fit(ints).inertia_)
    assert isinstance(df, pd.DataFrame)


# ------------------------------------------------------------ degenerate data
def _degenerate_cases():
    rng = np.random.default_rng(3)
    duplicates = np.repeat(rng.normal(size=(3, 2)), 10, axis=0)  # 30 rows, 3 distinct points
    constant = np.column_stack([rng.normal(size=40), np.full(40, 7.0)])  # a constant column
    near_n = rng.normal(size=(6, 2))  # K = 5 components for 6 points
    identical = np.ones((10, 3))  # every row the same
    return {"duplicates": (duplicates, 4), "constant column": (constant, 3), "K close to N": (near_n, 5),
            "all rows equal": (identical, 2)}


@pytest.mark.parametrize("case", list(_degenerate_cases()))
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("init_params", ["kmeans", "random", "random_from_data"])
def test_degenerate_data_gives_finite_mixture(case, covariance_type, init_params):
    X, K = _degenerate_cases()[case]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no NaN or overflow produced on the way
        warnings.simplefilter("ignore", emlib.ConvergenceWarning)
        fit = GM(K, covariance_type=covariance_type, init_params=init_params, random_state=0).fit(X)
        resp = fit.predict_proba(X)
    for value in (fit.weights_, fit.means_, fit.covariances_, fit.loglik_history_, resp):
        assert np.isfinite(value).all()
    np.testing.assert_allclose(resp.sum(axis=1), 1.0)
    np.testing.assert_allclose(fit.weights_.sum(), 1.0)


@pytest.mark.parametrize("case", list(_degenerate_cases()))
@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_degenerate_data_gives_finite_kmeans(case, init):
    X, K = _degenerate_cases()[case]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("always", emlib.ConvergenceWarning)
        fit = KM(K, init=init, random_state=0).fit(X)
    # scikit-learn's warning, exactly when X has fewer distinct rows than clusters
    warned = any("distinct clusters" in str(w.message) for w in caught)
    assert warned == (np.unique(X, axis=0).shape[0] < K)
    assert np.isfinite(fit.cluster_centers_).all() and np.isfinite(fit.inertia_)
    assert fit.labels_.shape == (X.shape[0],)
