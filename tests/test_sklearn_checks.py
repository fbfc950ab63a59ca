"""scikit-learn's own estimator checks, run on every emlib estimator.

``parametrize_with_checks`` generates scikit-learn's API and legacy checks for each estimator:
get_params/set_params and clone, ``n_features_in_``, fit returning self, no state changed by
predict/score, idempotent and deterministic fits, NotFittedError before fit, clear errors for
bad input, pickling, and more. A check that cannot apply to an estimator is listed in
``EXPECTED_FAILURES`` with the reason; ``xfail_strict=True`` makes such a check fail the suite
as soon as it passes, so the list cannot go stale. Properties that scikit-learn expresses as
estimator tags are declared by the estimators themselves (``MultivariateNormalEM`` allows NaN,
``SemiSupervisedGaussianMixture`` requires ``y``).

Where a check is excluded only because its generated data cannot be fed to the estimator
(non-binary data for ``BernoulliMixture``, arbitrary class labels for
``SemiSupervisedGaussianMixture``), the tests at the end of this file check the same
conventions on data the estimator accepts (``tests/test_hmm_reference.py`` for the symbols of
``CategoricalHMM``). The hidden Markov models take ``lengths`` where scikit-learn passes ``y``;
they are checked through thin subclasses that fit and score ``X`` as one sequence.
"""

from __future__ import annotations

import pickle

import joblib
import numpy as np
import pytest
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, clone
from sklearn.datasets import make_classification
from sklearn.utils.estimator_checks import parametrize_with_checks

import emlib

# ---------------------------------------------------------------- the estimators


def _chunks(X: ArrayLike, rows: int = 10) -> list:
    """Consecutive blocks of ``rows`` rows: the documented way to stream one array."""
    return [X[start : start + rows] for start in range(0, len(X), rows)]


class IncrementalGaussianMixtureOnArrays(emlib.IncrementalGaussianMixture):
    """scikit-learn's checks call ``fit(X)`` with one array; incremental EM takes a sequence of chunks.

    Every method but ``fit`` is emlib's own; ``fit`` streams ``X`` in chunks of 10 rows, so the checks
    run the incremental passes, not just one batch step.
    """

    def fit(self, X: ArrayLike, y: object = None) -> IncrementalGaussianMixtureOnArrays:
        return super().fit(_chunks(X), y)


class OnlineGaussianMixtureOnArrays(emlib.OnlineGaussianMixture):
    """As above, for online EM: ``fit`` streams ``X`` in chunks of 10 rows (``partial_fit`` is emlib's own)."""

    def fit(self, X: ArrayLike, y: object = None) -> OnlineGaussianMixtureOnArrays:
        return super().fit(_chunks(X), y)


class GaussianHMMOnArrays(emlib.GaussianHMM):
    """scikit-learn's checks call ``fit(X, y)`` and ``score(X, y)``; an HMM's second argument is
    ``lengths`` (hmmlearn's convention).

    ``fit`` and ``score`` treat ``X`` as one sequence and ignore ``y``, as ``fit(X)`` and
    ``score(X)`` do; every other method is emlib's own.
    """

    def fit(self, X: ArrayLike, y: object = None) -> GaussianHMMOnArrays:
        return super().fit(X)

    def score(self, X: ArrayLike, y: object = None) -> float:
        return super().score(X)


class CategoricalHMMOnArrays(emlib.CategoricalHMM):
    """As above, for categorical emissions."""

    def fit(self, X: ArrayLike, y: object = None) -> CategoricalHMMOnArrays:
        return super().fit(X)

    def score(self, X: ArrayLike, y: object = None) -> float:
        return super().score(X)


ESTIMATORS = [
    emlib.KMeans(n_clusters=3, random_state=0),
    emlib.GaussianMixture(n_components=2, random_state=0),
    # three components, so that the checks' labels 0, 1, 2 are valid where they are used
    emlib.SemiSupervisedGaussianMixture(n_components=3, random_state=0),
    emlib.MultivariateNormalEM(),
    emlib.BernoulliMixture(n_components=2, random_state=0),
    IncrementalGaussianMixtureOnArrays(n_components=2, random_state=0),
    OnlineGaussianMixtureOnArrays(n_components=2, random_state=0),
    GaussianHMMOnArrays(n_components=2, random_state=0),
    CategoricalHMMOnArrays(n_components=2, random_state=0),
    emlib.MixtureOfLinearRegressions(n_components=2, random_state=0),
    emlib.MixtureOfExperts(n_components=2, random_state=0),
]

# ------------------------------------------------------------- the exclusions

# One of emlib's own conventions, pinned by tests/test_validation.py, differs from scikit-learn's.
COMPLEX = {
    "check_complex_data": (
        "emlib raises TypeError for complex X ('X must contain real numbers; got complex dtype'): the type "
        "is wrong, not a value; scikit-learn's check wants ValueError('Complex data not supported')."
    ),
}

NON_BINARY = (
    "the check fits continuous data; BernoulliMixture accepts only 0/1 data and raises ValueError "
    "('X must contain only 0 and 1'). The same convention is tested on binary data below."
)
BERNOULLI = {
    name: NON_BINARY
    for name in [
        "check_fit_score_takes_y", "check_estimators_overwrite_params", "check_dont_overwrite_parameters",
        "check_estimators_fit_returns_self", "check_readonly_memmap_input", "check_positive_only_tag_during_fit",
        "check_estimators_dtypes", "check_dtype_object", "check_pipeline_consistency", "check_estimators_nan_inf",
        "check_estimators_pickle", "check_f_contiguous_array_estimator", "check_methods_sample_order_invariance",
        "check_methods_subset_invariance", "check_fit2d_1sample", "check_fit2d_1feature", "check_dict_unchanged",
        "check_fit_idempotent", "check_fit_check_is_fitted", "check_n_features_in", "check_fit2d_predict1d",
        "check_array_api_input", "check_n_features_in_after_fitting",
    ]
}

# y holds component indices, -1 for an unlabelled row, and every component needs a labelled row.
ONE_COMPONENT = (
    "the check sets n_components=1 and fits labels 1 and 2; y must hold component indices in "
    "-1..n_components-1 (ValueError 'y must hold labels in -1..0')."
)
CLASS_MISSING = (
    "the check's labels leave a component without a labelled row (or use label 3 of 3 components); "
    "semi-supervised EM starts from the supervised fit, which needs every component labelled "
    "(ValueError 'y has no labelled row of class(es)')."
)
SEMI_SUPERVISED = {
    **dict.fromkeys(
        ["check_dont_overwrite_parameters", "check_methods_sample_order_invariance", "check_methods_subset_invariance",
         "check_fit2d_1sample", "check_fit2d_1feature", "check_fit2d_predict1d"],
        ONE_COMPONENT,
    ),
    **dict.fromkeys(
        ["check_estimators_dtypes", "check_dtype_object", "check_pipeline_consistency", "check_estimators_nan_inf",
         "check_estimators_pickle", "check_fit_idempotent", "check_fit_check_is_fitted", "check_n_features_in",
         "check_array_api_input"],
        CLASS_MISSING,
    ),
}

NOT_SYMBOLS = (
    "the check fits continuous data; CategoricalHMM accepts one column of symbols 0, 1, 2, ... and "
    "raises ValueError ('X must hold symbols' or 'X must have one column of symbols'). "
    "tests/test_hmm_reference.py checks the same conventions on symbols."
)
CATEGORICAL_HMM = dict.fromkeys(
    ["check_fit_score_takes_y", "check_estimators_overwrite_params", "check_dont_overwrite_parameters",
     "check_estimators_fit_returns_self", "check_readonly_memmap_input", "check_n_features_in_after_fitting",
     "check_positive_only_tag_during_fit", "check_estimators_dtypes", "check_dtype_object",
     "check_pipeline_consistency", "check_estimators_nan_inf", "check_estimators_pickle", "check_array_api_input",
     "check_f_contiguous_array_estimator", "check_methods_sample_order_invariance",
     "check_methods_subset_invariance", "check_fit2d_1sample", "check_fit2d_1feature", "check_dict_unchanged",
     "check_fit_idempotent", "check_fit_check_is_fitted", "check_n_features_in", "check_fit2d_predict1d"],
    NOT_SYMBOLS,
)

NEEDS_Y = (
    "a conditional mixture's responsibilities p(z | x, y) and log-likelihood log p(y | x) need the response: "
    "predict_proba(X, y) and score_samples(X, y); the check calls them with X alone (TypeError). "
    "tests/test_experts_reference.py checks the same conventions with y."
)
REGRESSION_MIXTURE = dict.fromkeys(
    ["check_estimators_unfitted", "check_n_features_in_after_fitting", "check_estimators_dtypes",
     "check_estimators_pickle", "check_array_api_input", "check_methods_sample_order_invariance",
     "check_methods_subset_invariance", "check_dict_unchanged", "check_fit_idempotent", "check_fit2d_predict1d"],
    NEEDS_Y,
)

RANDOM_SEEDING_WITH_WEIGHTS = {
    "check_sample_weight_equivalence_on_dense_data": (
        "k-means++ draws its seeds among the rows with probability proportional to w D^2, and a random "
        "draw among N weighted rows is not the same draw as among their repeated copies, so the "
        "fits start elsewhere (scikit-learn marks its own KMeans alike). From the same start, "
        "weights equal repeated rows: test_sample_weight_as_in_scikit_learn_and_as_repeated_rows and "
        "test_integer_sample_weights_are_repeated_rows check it."
    ),
}

EXPECTED_FAILURES = {
    "KMeans": RANDOM_SEEDING_WITH_WEIGHTS,
    "GaussianMixture": RANDOM_SEEDING_WITH_WEIGHTS,
    "SemiSupervisedGaussianMixture": SEMI_SUPERVISED,
    "MultivariateNormalEM": {
        "check_array_api_input": (
            "the check fits make_classification(30, 10, random_state=42), whose 2 redundant features "
            "are exact linear combinations of the 2 informative ones: the MLE's covariance is singular, "
            "and MultivariateNormalEM (reg_covar=0) must raise ValueError('the covariance estimate "
            "became singular'); test_collinear_features_are_singular_on_every_machine checks it."
        ),
    },
    "BernoulliMixture": BERNOULLI,
    "IncrementalGaussianMixtureOnArrays": {},
    "OnlineGaussianMixtureOnArrays": {},
    "GaussianHMMOnArrays": {},
    "CategoricalHMMOnArrays": CATEGORICAL_HMM,
    "MixtureOfLinearRegressions": REGRESSION_MIXTURE,
    "MixtureOfExperts": REGRESSION_MIXTURE,
}


def expected_failures(estimator: object) -> dict[str, str]:
    return COMPLEX | EXPECTED_FAILURES[type(estimator).__name__]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failures, xfail_strict=True)
def test_sklearn_estimator_checks(estimator, check, monkeypatch):
    # The array-API check, with NumPy inputs only (emlib declares no array-API support), checks that
    # results do not change under scikit-learn's array_api_dispatch. It skips itself unless
    # SCIPY_ARRAY_API is set; SciPy reads that variable once, at import, and with NumPy inputs its
    # value changes nothing, so it is set here for the check to run rather than skip.
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    check(estimator)


def test_every_estimator_is_checked():
    exported = {name for name in emlib.__all__ if isinstance(getattr(emlib, name), type)
                and issubclass(getattr(emlib, name), BaseEstimator)}
    assert {type(e).__name__.removesuffix("OnArrays") for e in ESTIMATORS} == exported


# ------------------------------------------- what the excluded checks cover, on valid data


def _binary_data(seed: int = 0) -> tuple[np.ndarray, None]:
    """Two groups of 30 binary rows over 6 pixels, with on-probabilities 0.2 and 0.8."""
    rng = np.random.default_rng(seed)
    p = np.repeat([[0.2] * 3 + [0.8] * 3, [0.8] * 3 + [0.2] * 3], 30, axis=0)
    return (rng.random(p.shape) < p).astype(float), None


def _partly_labelled_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three 2-D Gaussian clusters of 20 rows; 4 rows of each labelled, the rest -1."""
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(loc=c, size=(20, 2)) for c in ([0, 0], [5, 0], [0, 5])])
    y = np.repeat(np.arange(3), 20)
    y[np.arange(60) % 20 >= 4] = -1
    return X, y


VALID = [
    pytest.param(emlib.BernoulliMixture(2, random_state=0), _binary_data, id="BernoulliMixture"),
    pytest.param(emlib.SemiSupervisedGaussianMixture(3, random_state=0), _partly_labelled_data,
                 id="SemiSupervisedGaussianMixture"),
]
INFERENCE = ["predict", "predict_proba", "score_samples"]


def _outputs(estimator: object, X: np.ndarray) -> list[np.ndarray]:
    return [getattr(estimator, method)(X) for method in INFERENCE]


@pytest.mark.parametrize(("estimator", "data"), VALID)
def test_fit_returns_self_keeps_parameters_and_is_idempotent(estimator, data):
    X, y = data()
    model = clone(estimator)
    params = joblib.hash(model.get_params())
    assert model.fit(X, y) is model
    assert joblib.hash(model.get_params()) == params  # fit did not overwrite a parameter
    assert all(key.endswith("_") for key in vars(model) if key not in params and key not in model.get_params())
    first = _outputs(model, X)
    for a, b in zip(first, _outputs(model.fit(X, y), X), strict=True):
        np.testing.assert_array_equal(a, b)  # same random_state, same fit
    assert model.n_features_in_ == X.shape[1]


@pytest.mark.parametrize(("estimator", "data"), VALID)
def test_inference_changes_no_state_and_ignores_row_order_and_batches(estimator, data):
    X, y = data()
    model = clone(estimator).fit(X, y)
    state = joblib.hash(vars(model))
    outputs = _outputs(model, X)
    model.score(X)
    assert joblib.hash(vars(model)) == state
    order = np.random.default_rng(1).permutation(X.shape[0])
    for full, permuted in zip(outputs, _outputs(model, X[order]), strict=True):
        np.testing.assert_allclose(permuted, full[order], rtol=1e-12)
    for full, *halves in zip(outputs, *(_outputs(model, half) for half in np.array_split(X, 2)), strict=True):
        np.testing.assert_allclose(np.concatenate(halves), full, rtol=1e-12)


@pytest.mark.parametrize(("estimator", "data"), VALID)
def test_pickled_estimator_predicts_the_same(estimator, data):
    X, y = data()
    model = clone(estimator).fit(X, y)
    for a, b in zip(_outputs(model, X), _outputs(pickle.loads(pickle.dumps(model)), X), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.int32, object])
@pytest.mark.parametrize(("estimator", "data"), VALID)
def test_other_numeric_dtypes_give_the_float64_fit(estimator, data, dtype):
    X, y = data()
    if estimator.__class__ is emlib.SemiSupervisedGaussianMixture and np.issubdtype(dtype, np.integer):
        X = np.round(X * 10)  # integer data that still has three clusters
    reference = _outputs(clone(estimator).fit(X, y), X)
    converted = X.astype(dtype)
    for a, b in zip(reference, _outputs(clone(estimator).fit(converted, y), converted), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-5)  # float32 rounds the data


@pytest.mark.parametrize(("estimator", "data"), VALID)
def test_one_sample_and_one_feature_fit(estimator, data):
    X, y = data()
    for rows, columns in [(slice(None), slice(0, 1)), (slice(0, 1), slice(None))]:
        labels = None if y is None else np.minimum(y[rows], 0)  # one component: labels 0 and -1
        model = clone(estimator).set_params(n_components=1).fit(X[rows, columns], labels)
        assert model.means_.shape == (1, X[rows, columns].shape[1])
        assert np.isfinite(model.score_samples(X[:, columns])).all()


# --------------------------------------------- n_features_in_, in emlib's own wording


def _fitted(estimator: object, X: np.ndarray) -> object:
    model = clone(estimator)
    if "n_components" in model.get_params():
        model.set_params(n_components=2)
    return model.fit(X, np.arange(X.shape[0]) % 2 if isinstance(model, emlib.SemiSupervisedGaussianMixture) else None)


# CategoricalHMM reads one column of symbols (tests/test_bad_input.py checks its width); the
# regression mixture's methods need y (tests/test_experts_reference.py checks its width).
@pytest.mark.parametrize("estimator", [e for e in ESTIMATORS
                                       if not isinstance(e, emlib.CategoricalHMM | emlib.experts._ConditionalMixture)],
                         ids=lambda e: type(e).__name__)
def test_every_method_checks_the_width(estimator):
    """What check_n_features_in_after_fitting verifies, with emlib's message."""
    rng = np.random.default_rng(0)
    X = (rng.random((40, 4)) < 0.5).astype(float)  # binary, so that every estimator accepts it
    model = _fitted(estimator, X)
    assert model.n_features_in_ == 4
    methods = [m for m in ["predict", "predict_proba", "score_samples", "score", "impute", "bic", "aic", "partial_fit",
                           "decode"]
               if hasattr(model, m)]
    assert methods
    for method in methods:
        with pytest.raises(ValueError, match=f"X has 1 features, but {type(model).__name__} is expecting 4 features as input"):
            getattr(model, method)(X[:, :1])


def test_collinear_features_are_singular_on_every_machine():
    """The data of check_array_api_input have an exactly singular covariance (rank 8 of 10).

    LAPACK's Cholesky alone accepted it on one CPU (a last pivot of rounding size, > 0) and
    rejected it on another; the relative pivot threshold of ``emlib.missing`` makes the answer
    the same everywhere: singular without ``reg_covar``, a fit with it.
    """
    X, _ = make_classification(n_samples=30, n_features=10, random_state=42)
    centred = X - X.mean(axis=0)
    singular_values = np.linalg.svd(centred, compute_uv=False)
    assert np.sum(singular_values > 1e-10 * singular_values[0]) == 8
    with pytest.raises(ValueError, match="covariance estimate became singular"):
        emlib.MultivariateNormalEM().fit(X)
    fitted = emlib.MultivariateNormalEM(reg_covar=1e-6).fit(X)
    np.testing.assert_allclose(fitted.mean_, X.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(fitted.covariance_, np.cov(X, rowvar=False, bias=True) + 1e-6 * np.eye(10),
                               atol=1e-12)


def test_pivot_threshold_separates_singular_from_ill_conditioned():
    """A correlation of 1 - 1e-6 is a legitimate (if ill-conditioned) covariance; 1 is not."""
    for rho, singular in ((1 - 1e-6, False), (1.0, True)):
        covariance = np.array([[1.0, rho], [rho, 1.0]])
        if singular:
            with pytest.raises(ValueError, match="singular"):
                emlib.missing._cholesky(covariance)
        else:
            L = emlib.missing._cholesky(covariance)[0]
            np.testing.assert_allclose(np.tril(L) @ np.tril(L).T, covariance, atol=1e-15)
