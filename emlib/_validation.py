"""Input checks shared by the estimators.

Every check raises before any numeric work, with a message that names the argument
and says what was wrong, so a student sees ``X must be a 2-D array`` instead of an
error from deep inside NumPy.
"""

from __future__ import annotations

import numbers
from collections.abc import Collection
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import issparse
from sklearn.utils.validation import check_is_fitted


def check_data(X: ArrayLike, name: str = "X", *, allow_nan: bool = False, keep_float32: bool = False) -> NDArray:
    """Return ``X`` as a 2-D float64 array of real, finite numbers (float32 kept if ``keep_float32``).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    name : str
        The argument's name, used in error messages.
    allow_nan : bool
        Whether ``np.nan`` is allowed (it marks a missing entry); ±inf never is.
    keep_float32 : bool
        Whether float32 input stays float32 (for an algorithm that is stable in it).

    Raises
    ------
    TypeError
        If ``X`` does not hold real numbers (strings, objects, complex numbers) or is a sparse matrix.
    ValueError
        If ``X`` is not 2-D, is empty, or holds NaN (unless allowed) or ±inf.
    """
    if isinstance(X, str | bytes):
        raise TypeError(f"{name} must be a 2-D array of real numbers; got a string.")
    if issparse(X):
        raise TypeError(f"{name} is a sparse matrix, but emlib needs a dense array; convert it with .toarray().")
    try:
        array = np.asarray(X)
    except Exception as exc:  # ragged nested lists, for example
        raise ValueError(f"{name} could not be read as an array: {exc}") from None
    if array.dtype.kind == "O":
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must contain real numbers; got objects that are not numbers ({exc}).") from None
    if array.dtype.kind == "c":
        raise TypeError(f"{name} must contain real numbers; got complex dtype {array.dtype}.")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must contain real numbers; got dtype {array.dtype}.")
    if array.ndim != 2:
        hint = " Reshape your data: .reshape(-1, 1) for a single feature, .reshape(1, -1) for a single sample."
        raise ValueError(
            f"{name} must be a 2-D array of shape (n_samples, n_features); got {array.ndim}-D "
            f"with shape {array.shape}.{hint if array.ndim < 2 else ''}"
        )
    for axis, what in enumerate(("sample", "feature")):
        if array.shape[axis] == 0:
            raise ValueError(f"{name} is empty: 0 {what}(s) (shape={array.shape}) while a minimum of 1 is required.")
    array = array.astype(np.float32 if keep_float32 and array.dtype == np.float32 else np.float64, copy=False)
    if np.isinf(array).any():
        raise ValueError(f"{name} contains infinity; every entry must be finite.")
    if not allow_nan and np.isnan(array).any():
        raise ValueError(f"{name} contains NaN; every entry must be a finite number.")
    return array


def check_n_samples(X: NDArray, n_components: int, parameter: str = "n_components", name: str = "X") -> None:
    """Raise ``ValueError`` if ``X`` has fewer samples than ``parameter`` (components or clusters)."""
    if X.shape[0] < n_components:
        raise ValueError(
            f"{name} has n_samples={X.shape[0]}, fewer than {parameter}={n_components}; "
            "each component needs at least one sample."
        )


def check_n_features(X: NDArray, n_features: int, estimator: str = "the estimator", name: str = "X") -> None:
    """Raise ``ValueError`` if ``X`` does not have the ``n_features`` seen in ``fit`` (scikit-learn's wording)."""
    if X.shape[1] != n_features:
        raise ValueError(f"{name} has {X.shape[1]} features, but {estimator} is expecting {n_features} features as input.")


def check_fitted_data(estimator: Any, X: ArrayLike, *, allow_nan: bool = False, keep_float32: bool = False) -> NDArray:
    """For ``predict`` and friends: the estimator is fitted, and ``X`` is valid data of its width
    (float64, or float32 kept if ``keep_float32``, as in :func:`check_data`)."""
    check_is_fitted(estimator)
    X = check_data(X, allow_nan=allow_nan, keep_float32=keep_float32)
    check_n_features(X, estimator.n_features_in_, type(estimator).__name__)
    return X


def check_positive_int(value: Any, name: str) -> int:
    """Return ``value`` if it is an integer >= 1, else raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer >= 1; got {value!r} of type {type(value).__name__}.")
    if value < 1:
        raise ValueError(f"{name} must be an integer >= 1; got {value}.")
    return int(value)


def check_random_state(value: Any, name: str = "random_state") -> np.random.Generator:
    """Return ``np.random.default_rng(value)``, else raise naming ``name`` (not from inside NumPy's seeding)."""
    expected = f"{name} must be None, an integer >= 0 or a numpy.random.Generator"
    if isinstance(value, bool):
        raise TypeError(f"{expected}; got {value!r}.")
    try:
        return np.random.default_rng(value)
    except TypeError:
        raise TypeError(f"{expected}; got {value!r} of type {type(value).__name__}.") from None
    except ValueError:
        raise ValueError(f"{expected}; got {value!r}.") from None


def check_positive_float(value: Any, name: str, *, allow_zero: bool = False) -> float:
    """Return ``value`` if it is a real number > 0 (or >= 0), else raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {value!r} of type {type(value).__name__}.")
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}; got {value}.")
    return float(value)


def check_option(value: Any, name: str, allowed: Collection[str]) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise naming ``name`` and the options."""
    if not isinstance(value, str) or value not in allowed:
        options = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{name} must be one of {options}; got {value!r}.")
    return value


def check_parameter_array(value: ArrayLike, name: str, shape: tuple[int, ...]) -> NDArray[np.float64]:
    """Return ``value`` as a finite float array of exactly ``shape``, else raise naming ``name``."""
    try:
        array = np.asarray(value)
    except Exception as exc:  # ragged nested lists, for example
        raise ValueError(f"{name} could not be read as an array: {exc}") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must contain real numbers; got dtype {array.dtype}.")
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}; got {array.shape}.")
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite; it contains NaN or infinity.")
    return array


def check_sample_weight(sample_weight: Any, n_samples: int) -> NDArray | None:
    """Return ``sample_weight`` as a float64 vector of ``n_samples`` finite weights >= 0 that do not
    all vanish, or None if it is None (every row counts once)."""
    if sample_weight is None:
        return None
    try:
        weights = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"sample_weight must hold real numbers; got {type(sample_weight).__name__}.") from None
    if weights.shape != (n_samples,):
        raise ValueError(f"sample_weight must have shape ({n_samples},), one weight per row of X; got {weights.shape}.")
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError("sample_weight must be finite and >= 0.")
    if not weights.sum() > 0:
        raise ValueError("sample_weight must not be all zero.")
    return weights


def check_weights(value: Any, name: str, n_components: int) -> NDArray:
    """Return mixture weights of shape (n_components,), non-negative and summing to 1, else raise naming ``name``."""
    weights = check_parameter_array(value, name, (n_components,))
    if np.any(weights < 0):
        raise ValueError(f"{name} must be non-negative; got {weights}.")
    if not np.isclose(weights.sum(), 1.0, rtol=0, atol=1e-6):
        raise ValueError(f"{name} must sum to 1; got a sum of {weights.sum():.6g}.")
    return weights


def check_stochastic_matrix(value: Any, name: str, shape: tuple[int, int]) -> NDArray:
    """Return a matrix of ``shape`` whose rows are probability distributions, else raise naming ``name``."""
    matrix = check_parameter_array(value, name, shape)
    if np.any(matrix < 0):
        raise ValueError(f"{name} must be non-negative; got {matrix}.")
    sums = matrix.sum(axis=1)
    bad = np.flatnonzero(~np.isclose(sums, 1.0, rtol=0, atol=1e-6))
    if bad.size:
        raise ValueError(
            f"every row of {name} must be a probability distribution summing to 1; "
            f"row {bad[0]} sums to {sums[bad[0]]:.6g}."
        )
    return matrix


def check_covariances(value: Any, name: str, covariance_type: str, shape: tuple[int, ...]) -> NDArray:
    """Return covariances of ``shape``: symmetric positive definite matrices for "full" and
    "tied", positive variances for "diag" and "spherical"; else raise naming ``name``."""
    covariances = check_parameter_array(value, name, shape)
    if covariance_type in ("full", "tied"):
        matrices = covariances.reshape(-1, shape[-1], shape[-1])
        if not np.allclose(matrices, np.swapaxes(matrices, 1, 2)):
            raise ValueError(f"{name} must be symmetric.")
        if np.any(np.linalg.eigvalsh(matrices)[:, 0] <= 0):
            raise ValueError(f"{name} must be positive definite.")
    elif np.any(covariances <= 0):
        raise ValueError(f"{name} must be positive (they are variances).")
    return covariances
