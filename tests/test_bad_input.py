"""Bad input to every estimator: a ValueError or TypeError from emlib that names the argument, raised
before any numeric work. Never an error from deep inside NumPy, a hang, or a silent NaN.

``NO_WORK`` replaces every numeric function the estimators call (the E- and M-steps, distances,
Cholesky factorisations, sufficient statistics, ...) with one that fails the test, so a case passes
only if the input was rejected before any of them ran. tests/test_validation.py holds the first table
(mostly GaussianMixture and KMeans hyper-parameters); this one covers every estimator.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn.base
from sklearn.exceptions import NotFittedError

import emlib
from emlib import bernoulli, experts, gmm, hmm, kmeans, missing, semisupervised, streaming

rng = np.random.default_rng(0)
X = rng.normal(size=(30, 2))
B = (X > 0).astype(float)  # binary data for BernoulliMixture
Y = np.r_[0, 1, np.full(28, -1)]  # semi-supervised labels: one row of each class, the rest unlabelled
NAN = np.array([[1.0, np.nan]] * 6)
INF = np.array([[1.0, np.inf]] * 6)
CUBE = np.zeros((4, 3, 2))
STRINGS = np.array([["a", "b"]] * 6)
OBJECTS = np.array([[1.0, object()]] * 6, dtype=object)
COMPLEX = X + 1j
EMPTY = np.empty((0, 2))
S = rng.integers(0, 3, size=(30, 1))  # symbols 0, 1, 2 for CategoricalHMM
I2 = np.eye(2)
R = X @ np.array([1.0, -2.0]) + np.random.default_rng(1).normal(size=30)  # a response for the regression mixtures

GM = emlib.GaussianMixture
SS = emlib.SemiSupervisedGaussianMixture
KM = emlib.KMeans
BM = emlib.BernoulliMixture
MV = emlib.MultivariateNormalEM
INC = emlib.IncrementalGaussianMixture
ONL = emlib.OnlineGaussianMixture
GH = emlib.GaussianHMM
CH = emlib.CategoricalHMM
MLR = emlib.MixtureOfLinearRegressions
MOE = emlib.MixtureOfExperts


def case(call, error, message):
    return pytest.param(call, error, message, id=f"{message}")


# (the call, the exception, text the message must contain). Every call starts with .fit or a method.
BAD_INPUTS = [
    # ---------------------------------------------------------------- BernoulliMixture
    case(lambda: BM(2).fit(B[:, 0]), ValueError, "X must be a 2-D array"),
    case(lambda: BM(2).fit(CUBE), ValueError, "X must be a 2-D array"),
    case(lambda: BM(2).fit(EMPTY), ValueError, "X is empty"),
    case(lambda: BM(2).fit(STRINGS), TypeError, "X must contain real numbers; got dtype <U1"),
    case(lambda: BM(2).fit(OBJECTS), TypeError, "X must contain real numbers; got objects"),
    case(lambda: BM(2).fit(B + 0j), TypeError, "X must contain real numbers; got complex"),
    case(lambda: BM(2).fit(np.where(B > 0, np.nan, 0.0)), ValueError, "X contains NaN"),
    case(lambda: BM(2).fit(np.where(B > 0, np.inf, 0.0)), ValueError, "X contains infinity"),
    case(lambda: BM(2).fit(X), ValueError, "X must contain only 0 and 1"),
    case(lambda: BM(2).fit(B * 2.0), ValueError, "X must contain only 0 and 1 (binary data); found"),
    case(lambda: BM(2).fit(-B), ValueError, "for example -1"),
    case(lambda: BM(2).fit(B / 2.0), ValueError, "for example 0.5"),
    case(lambda: BM(31).fit(B), ValueError, "n_components=31"),
    case(lambda: BM(0).fit(B), ValueError, "n_components must be an integer >= 1"),
    case(lambda: BM(2, alpha=0.0).fit(B), ValueError, "alpha must be a finite number > 0"),
    case(lambda: BM(2, alpha=-1.0).fit(B), ValueError, "alpha must be a finite number > 0; got -1.0"),
    case(lambda: BM(2, alpha="one").fit(B), TypeError, "alpha must be a real number"),
    case(lambda: BM(2, alpha=np.nan).fit(B), ValueError, "alpha must be a finite number"),
    case(lambda: BM(2, init_params="k-means++").fit(B), ValueError, "init_params must be one of"),
    case(lambda: BM(2, tol=0.0).fit(B), ValueError, "tol must be"),
    case(lambda: BM(2, max_iter=0).fit(B), ValueError, "max_iter must be"),
    case(lambda: BM(2, n_init=1.5).fit(B), TypeError, "n_init must be an integer"),
    case(lambda: BM(2, weights_init=[0.3, 0.3]).fit(B), ValueError, "weights_init must sum to 1"),
    case(lambda: BM(2, means_init=np.full((2, 3), 0.5)).fit(B), ValueError, "means_init must have shape (2, 2)"),
    case(lambda: BM(2, means_init=np.zeros((2, 2))).fit(B), ValueError, "means_init must lie strictly between 0 and 1"),
    case(lambda: BM(2, means_init=np.ones((2, 2))).fit(B), ValueError, "means_init must lie strictly between 0 and 1 "),
    case(lambda: BM(2, means_init=np.full((2, 2), np.nan)).fit(B), ValueError, "means_init must be finite"),
    case(lambda: BM(2, random_state="seed").fit(B), (TypeError, ValueError), "random_state"),
    # ---------------------------------------------------------------- SemiSupervisedGaussianMixture
    case(lambda: SS(2).fit(X[:, 0], Y), ValueError, "X must be a 2-D array"),
    case(lambda: SS(2).fit(CUBE, Y[:4]), ValueError, "X must be a 2-D array"),
    case(lambda: SS(2).fit(STRINGS, Y[:6]), TypeError, "X must contain real numbers"),
    case(lambda: SS(2).fit(NAN, Y[:6]), ValueError, "X contains NaN"),
    case(lambda: SS(2).fit(COMPLEX, Y), TypeError, "X must contain real numbers; got complex"),
    case(lambda: SS(2).fit(X), ValueError, "y is required"),
    case(lambda: SS(2).fit(X, Y[:-1]), ValueError, "y must have shape (30,)"),
    case(lambda: SS(2).fit(X, Y[:, None]), ValueError, "y must have shape (30,), one label per row of X; got (30, 1)"),
    case(lambda: SS(2).fit(X, np.stack([Y, Y])), ValueError, "y must have shape (30,), one label per row of X; got (2, 30)"),
    case(lambda: SS(2).fit(X, 0), ValueError, "y must have shape (30,), one label per row of X; got ()"),
    case(lambda: SS(2).fit(X, Y.astype(str)), TypeError, "y must hold integer labels"),
    case(lambda: SS(2).fit(X, Y + 0.5), TypeError, "y must hold integer labels (-1 for unlabelled); got dtype float64"),
    case(lambda: SS(2).fit(X, np.where(Y < 0, np.nan, Y)), (TypeError, ValueError), "y must hold"),
    case(lambda: SS(2).fit(X, np.r_[0, 2, Y[2:]]), ValueError, "y must hold labels in -1..1"),
    case(lambda: SS(2).fit(X, np.r_[0, -3, Y[2:]]), ValueError, "got [-3]"),
    case(lambda: SS(2).fit(X, np.r_[0, 0, Y[2:]]), ValueError, "y has no labelled row of class(es) [1]"),
    case(lambda: SS(2).fit(X, np.r_[0.0, 1e20, Y[2:]]), ValueError, "y must hold labels in -1..1"),
    case(lambda: SS(2, unlabeled_weight=-0.5).fit(X, Y), ValueError, "unlabeled_weight must be a finite number >= 0"),
    case(lambda: SS(2, unlabeled_weight="all").fit(X, Y), TypeError, "unlabeled_weight must be a real number"),
    case(lambda: SS(2, covariance_type="full ").fit(X, Y), ValueError, "covariance_type must be one of"),
    case(lambda: SS(2, means_init=np.zeros((3, 2))).fit(X, Y), ValueError, "means_init must have shape (2, 2)"),
    case(lambda: SS(2, covariance_type="diag", covariances_init=np.eye(2)[None].repeat(2, 0)).fit(X, Y),
         ValueError, "covariances_init must have shape (2, 2)"),
    # ---------------------------------------------------------------- MultivariateNormalEM
    case(lambda: MV().fit(X[:, 0]), ValueError, "X must be a 2-D array"),
    case(lambda: MV().fit(CUBE), ValueError, "X must be a 2-D array"),
    case(lambda: MV().fit(EMPTY), ValueError, "X is empty"),
    case(lambda: MV().fit(STRINGS), TypeError, "X must contain real numbers"),
    case(lambda: MV().fit(OBJECTS), TypeError, "X must contain real numbers"),
    case(lambda: MV().fit(COMPLEX), TypeError, "X must contain real numbers; got complex"),
    case(lambda: MV().fit(INF), ValueError, "X contains infinity"),
    case(lambda: MV().fit(np.array([[1.0, -np.inf], [2.0, np.nan]] * 3)), ValueError, "X contains infinity"),
    case(lambda: MV().fit(np.c_[X[:, :1], np.full(30, np.nan)]), ValueError, "X has no observed value in column(s) [1]"),
    case(lambda: MV().fit(np.full((5, 2), np.nan)), ValueError, "X has no observed value in column(s) [0, 1]"),
    case(lambda: MV().fit(X[:1]), ValueError, "X needs at least 2 rows"),
    case(lambda: MV(tol=0.0).fit(X), ValueError, "tol must be a finite number > 0"),
    case(lambda: MV(max_iter=0).fit(X), ValueError, "max_iter must be an integer >= 1"),
    case(lambda: MV(max_iter=np.inf).fit(X), TypeError, "max_iter must be an integer"),
    case(lambda: MV(reg_covar=-1e-3).fit(X), ValueError, "reg_covar must be a finite number >= 0"),
    # ---------------------------------------------------------------- IncrementalGaussianMixture
    case(lambda: INC(2).fit(X), TypeError, "chunks must be a sequence of 2-D arrays"),
    case(lambda: INC(2).fit(iter([X])), TypeError, "a generator cannot be used directly"),
    case(lambda: INC(2).fit(None), TypeError, "chunks must be a sequence of 2-D arrays (a list, say)"),
    case(lambda: INC(2).fit("chunks.csv"), TypeError, "got str"),
    case(lambda: INC(2).fit([]), ValueError, "chunks is empty"),
    case(lambda: INC(2).fit(lambda: 5), TypeError, "chunks"),
    case(lambda: INC(2).fit([X[0]]), ValueError, "chunk 0 must be a 2-D array"),
    case(lambda: INC(2).fit([CUBE]), ValueError, "chunk 0 must be a 2-D array"),
    case(lambda: INC(2).fit([EMPTY]), ValueError, "chunk 0 is empty"),
    case(lambda: INC(2).fit([NAN]), ValueError, "chunk 0 contains NaN"),
    case(lambda: INC(2).fit([STRINGS]), TypeError, "chunk 0 must contain real numbers"),
    case(lambda: INC(2).fit([COMPLEX]), TypeError, "chunk 0 must contain real numbers; got complex"),
    case(lambda: INC(2).fit(lambda: iter([INF])), ValueError, "chunk 0 contains infinity"),
    case(lambda: INC(5).fit([X[:3], X[3:]]), ValueError, "the first chunk has n_samples=3, fewer than n_components=5"),
    case(lambda: INC(2, max_passes=0).fit([X]), ValueError, "max_passes must be an integer >= 1"),
    case(lambda: INC(2, tol=-1.0).fit([X]), ValueError, "tol must be a finite number > 0"),
    case(lambda: INC(2, covariance_type="round").fit([X]), ValueError, "covariance_type must be one of"),
    case(lambda: INC(2, reg_covar=-1.0).fit([X]), ValueError, "reg_covar must be"),
    case(lambda: INC(2, means_init=np.zeros((2, 5))).fit([X]), ValueError, "means_init must have shape (2, 2)"),
    case(lambda: INC(2, covariances_init=np.stack([np.eye(2), -np.eye(2)])).fit([X]), ValueError,
         "covariances_init must be positive definite"),
    # ---------------------------------------------------------------- OnlineGaussianMixture
    case(lambda: ONL(2).fit(X), TypeError, "chunks must be an iterable of 2-D arrays; got ndarray"),
    case(lambda: ONL(2).fit(7), TypeError, "chunks must be an iterable of 2-D arrays; got int"),
    case(lambda: ONL(2).fit(b"bytes"), TypeError, "chunks must be an iterable of 2-D arrays; got bytes"),
    case(lambda: ONL(2).fit([]), ValueError, "chunks is empty"),
    case(lambda: ONL(2).fit(iter([])), ValueError, "chunks is empty"),
    case(lambda: ONL(2).fit([X[0]]), ValueError, "chunk 0 must be a 2-D array"),
    case(lambda: ONL(2).fit(c for c in [NAN]), ValueError, "chunk 0 contains NaN"),
    case(lambda: ONL(2).fit([OBJECTS]), TypeError, "chunk 0 must contain real numbers"),
    case(lambda: ONL(2, step_exponent=0.5).fit([X]), ValueError, "step_exponent must be in (0.5, 1]"),
    case(lambda: ONL(2, step_exponent=1.5).fit([X]), ValueError, "step_exponent must be in (0.5, 1]; got 1.5"),
    case(lambda: ONL(2, step_exponent=True).fit([X]), TypeError, "step_exponent must be a real number"),
    case(lambda: ONL(2, step_offset=-1.0).fit([X]), ValueError, "step_offset must be a finite number >= 0"),
    case(lambda: ONL(2, weights_init=[0.9, 0.2]).fit([X]), ValueError, "weights_init must sum to 1"),
    case(lambda: ONL(2, covariance_type="spherical", covariances_init=[1.0, 0.0]).fit([X]), ValueError,
         "covariances_init must be positive"),
    case(lambda: ONL(2).partial_fit(CUBE), ValueError, "X must be a 2-D array"),
    case(lambda: ONL(2).partial_fit(X[:1]), ValueError, "the first chunk has n_samples=1, fewer than n_components=2"),
    case(lambda: ONL(2, step_exponent=0.2).partial_fit(X), ValueError, "step_exponent"),
    # ---------------------------------------------------------------- GaussianMixture and KMeans (beyond test_validation)
    case(lambda: GM(2).fit(X, sample_weight=np.ones(29)), ValueError, "sample_weight must have shape (30,)"),
    case(lambda: GM(2).fit(X, sample_weight=-np.ones(30)), ValueError, "sample_weight must be finite and >= 0"),
    case(lambda: KM(2).fit(X, sample_weight=np.zeros(30)), ValueError, "sample_weight must not be all zero"),
    case(lambda: KM(2).fit(X, sample_weight=["a"] * 30), TypeError, "sample_weight must hold real numbers"),
    case(lambda: GM(2).fit([[1.0, 2.0], [3.0]]), ValueError, "X could not be read as an array"),
    case(lambda: GM(2).fit(None), ValueError, "X must be a 2-D array"),
    case(lambda: GM(2).fit(b"data"), TypeError, "X must be a 2-D array of real numbers; got a string"),
    case(lambda: GM(2).fit(np.zeros((5, 2), dtype="datetime64[D]")), TypeError, "X must contain real numbers"),
    case(lambda: GM(2).fit(pd.DataFrame({"a": ["x"] * 5, "b": [1.0] * 5})), TypeError, "X must contain real numbers"),
    case(lambda: GM(2, covariance_type="tied", covariances_init=np.eye(2) + 0j).fit(X), TypeError,
         "covariances_init must contain real numbers"),
    case(lambda: GM(2, means_init=[["a", "b"], ["c", "d"]]).fit(X), TypeError, "means_init must contain real numbers"),
    case(lambda: GM(2, means_init=[[1.0, 2.0], [3.0]]).fit(X), ValueError, "means_init"),
    case(lambda: GM(2, weights_init=[np.nan, 1.0]).fit(X), ValueError, "weights_init must be finite"),
    case(lambda: GM(True).fit(X), TypeError, "n_components must be an integer"),
    case(lambda: GM(2, tol=np.nan).fit(X), ValueError, "tol must be a finite number > 0; got nan"),
    case(lambda: GM(2, random_state=-1).fit(X), (TypeError, ValueError), "random_state"),
    case(lambda: GM(2, random_state=1.5).fit(X), (TypeError, ValueError), "random_state"),
    case(lambda: KM(2, init=[["a", "b"], ["c", "d"]]).fit(X), TypeError, "init must contain real numbers"),
    case(lambda: KM(2, init=[0.0, 1.0]).fit(X), ValueError, "init must have shape (2, 2); got (2,)"),
    case(lambda: KM(2).fit(COMPLEX), TypeError, "X must contain real numbers; got complex"),
    case(lambda: KM(2).fit(CUBE), ValueError, "X must be a 2-D array"),
    case(lambda: KM(2).fit(EMPTY), ValueError, "X is empty"),
    case(lambda: KM(2, random_state="seed").fit(X), (TypeError, ValueError), "random_state"),
    case(lambda: INC(2, random_state="seed").fit([X]), (TypeError, ValueError), "random_state"),
    # ---------------------------------------------------------------- GaussianHMM
    case(lambda: GH(2).fit(X, [10, 10]), ValueError, "lengths must sum to the number of rows of X, 30; they sum to 20"),
    case(lambda: GH(2).fit(X, [20, 20]), ValueError, "lengths must sum to the number of rows of X, 30; they sum to 40"),
    case(lambda: GH(2).fit(X, [40, -10]), ValueError, "lengths must be positive; got [40, -10]"),
    case(lambda: GH(2).fit(X, [30, 0]), ValueError, "lengths must be positive; got [30, 0]"),
    case(lambda: GH(2).fit(X, [15.5, 14.5]), ValueError, "lengths must be a 1-D sequence of integers"),
    case(lambda: GH(2).fit(X, [15.0, 15.0]), ValueError, "lengths must be a 1-D sequence of integers"),
    case(lambda: GH(2).fit(X, [[15, 15]]), ValueError, "lengths must be a 1-D sequence of integers"),
    case(lambda: GH(2).fit(X, ["15", "15"]), ValueError, "lengths must be a 1-D sequence of integers"),
    case(lambda: GH(2, transmat_init=[[0.5, 0.4], [0.5, 0.5]]).fit(X), ValueError,
         "every row of transmat_init must be a probability distribution summing to 1; row 0 sums to 0.9"),
    case(lambda: GH(2, transmat_init=[[1.5, -0.5], [0.5, 0.5]]).fit(X), ValueError, "transmat_init must be non-negative"),
    case(lambda: GH(2, transmat_init=[[np.nan, 0.5], [0.5, 0.5]]).fit(X), ValueError, "transmat_init must be finite"),
    case(lambda: GH(2, transmat_init=np.full((3, 3), 1 / 3)).fit(X), ValueError,
         "transmat_init must have shape (2, 2); got (3, 3)"),
    case(lambda: GH(2, transmat_init=[0.5, 0.5]).fit(X), ValueError, "transmat_init must have shape (2, 2); got (2,)"),
    case(lambda: GH(2, transmat_init="uniform").fit(X), TypeError, "transmat_init must contain real numbers"),
    case(lambda: GH(2, startprob_init=[1 / 3] * 3).fit(X), ValueError, "startprob_init must have shape (2,); got (3,)"),
    case(lambda: GH(2, startprob_init=[0.3, 0.3]).fit(X), ValueError, "startprob_init must sum to 1"),
    case(lambda: GH(2, startprob_init=[1.5, -0.5]).fit(X), ValueError, "startprob_init must be non-negative"),
    case(lambda: GH(2, means_init=np.zeros((3, 2))).fit(X), ValueError, "means_init must have shape (2, 2); got (3, 2)"),
    case(lambda: GH(2, means_init=np.zeros((2, 3))).fit(X), ValueError, "means_init must have shape (2, 2); got (2, 3)"),
    case(lambda: GH(2, init="random", covars_init=I2).fit(X), ValueError,
         "covars_init must have shape (2, 2, 2); got (2, 2)"),
    case(lambda: GH(2, init="random", covariance_type="diag", covars_init=np.ones(2)).fit(X), ValueError,
         "covars_init must have shape (2, 2); got (2,)"),
    case(lambda: GH(2, init="random", covariance_type="spherical", covars_init=np.ones((2, 2))).fit(X), ValueError,
         "covars_init must have shape (2,); got (2, 2)"),
    case(lambda: GH(2, init="random", covariance_type="tied", covars_init=np.stack([I2, I2])).fit(X), ValueError,
         "covars_init must have shape (2, 2); got (2, 2, 2)"),
    case(lambda: GH(2, init="random", covars_init=np.stack([I2, -I2])).fit(X), ValueError,
         "covars_init must be positive definite"),
    case(lambda: GH(2, init="random", covariance_type="tied", covars_init=[[1, 0.5], [0, 1]]).fit(X), ValueError,
         "covars_init must be symmetric"),
    case(lambda: GH(2, init="random", covariance_type="diag", covars_init=-np.ones((2, 2))).fit(X), ValueError,
         "covars_init must be positive"),
    case(lambda: GH(2, covars_init=I2).fit(X), ValueError, "covars_init must have shape (2, 2, 2)"),  # before k-means
    case(lambda: GH(2).fit(NAN), ValueError, "X contains NaN"),
    case(lambda: GH(2).fit(INF), ValueError, "X contains infinity"),
    case(lambda: GH(2).fit(X[:, 0]), ValueError, "X must be a 2-D array"),
    case(lambda: GH(2).fit(CUBE), ValueError, "X must be a 2-D array"),
    case(lambda: GH(2).fit(EMPTY), ValueError, "X is empty"),
    case(lambda: GH(2).fit(STRINGS), TypeError, "X must contain real numbers"),
    case(lambda: GH(2).fit(COMPLEX), TypeError, "X must contain real numbers; got complex"),
    case(lambda: GH(31).fit(X), ValueError, "X has n_samples=30, fewer than n_components=31"),
    case(lambda: GH(0).fit(X), ValueError, "n_components must be an integer >= 1"),
    case(lambda: GH(2, covariance_type="round").fit(X), ValueError, "covariance_type must be one of"),
    case(lambda: GH(2, init="k-means++").fit(X), ValueError, "init must be one of 'kmeans', 'random'; got 'k-means++'"),
    case(lambda: GH(2, n_iter=0).fit(X), ValueError, "n_iter must be an integer >= 1; got 0"),
    case(lambda: GH(2, n_iter=2.5).fit(X), TypeError, "n_iter must be an integer >= 1"),
    case(lambda: GH(2, tol=-1.0).fit(X), ValueError, "tol must be a finite number > 0; got -1.0"),
    case(lambda: GH(2, reg_covar=-1.0).fit(X), ValueError, "reg_covar must be a finite number >= 0"),
    case(lambda: GH(2, random_state="seed").fit(X), (TypeError, ValueError), "random_state"),
    # ---------------------------------------------------------------- CategoricalHMM
    case(lambda: CH(2).fit(S, [29]), ValueError, "lengths must sum to the number of rows of X, 30; they sum to 29"),
    case(lambda: CH(2).fit(S, [31, -1]), ValueError, "lengths must be positive"),
    case(lambda: CH(2).fit(S, [10.5, 19.5]), ValueError, "lengths must be a 1-D sequence of integers"),
    case(lambda: CH(2, n_symbols=2).fit(S), ValueError, "X holds symbol 2, outside 0 .. n_symbols - 1 = 1"),
    case(lambda: CH(2).fit(np.r_[S, [[-1]]]), ValueError, "X must hold symbols, integers 0, 1, 2, ...; found -1"),
    case(lambda: CH(2).fit(S + 0.5), ValueError, "X must hold symbols, integers 0, 1, 2, ...; found"),
    case(lambda: CH(2).fit(np.array([[0.0], [1e20]] * 3)), ValueError, "X holds symbol 1e+20; symbols index a table"),
    case(lambda: CH(2).fit(np.array([[0.0], [2.0**31]] * 3)), ValueError, "must be below 2,147,483,648. Relabel"),
    case(lambda: CH(2).fit(np.c_[S, S]), ValueError, "X must have one column of symbols, shape (n_samples, 1); got (30, 2)"),
    case(lambda: CH(2).fit(S[:, 0]), ValueError, "X must be a 2-D array"),
    case(lambda: CH(2).fit(np.r_[S, [[np.nan]]]), ValueError, "X contains NaN"),
    case(lambda: CH(2).fit(np.r_[S, [[np.inf]]]), ValueError, "X contains infinity"),
    case(lambda: CH(2).fit(S.astype(str)), TypeError, "X must contain real numbers"),
    case(lambda: CH(2, n_symbols=0).fit(S), ValueError, "n_symbols must be an integer >= 1; got 0"),
    case(lambda: CH(2, n_symbols=2.5).fit(S), TypeError, "n_symbols must be an integer >= 1"),
    case(lambda: CH(2, n_symbols="3").fit(S), TypeError, "n_symbols must be an integer >= 1"),
    case(lambda: CH(2, emissionprob_init=np.full((2, 2), 0.5)).fit(S), ValueError,
         "emissionprob_init must have shape (2, 3); got (2, 2)"),
    case(lambda: CH(2, n_symbols=3, emissionprob_init=np.full((3, 3), 1 / 3)).fit(S), ValueError,
         "emissionprob_init must have shape (2, 3); got (3, 3)"),
    case(lambda: CH(2, emissionprob_init=np.full((2, 3), 0.5)).fit(S), ValueError,
         "every row of emissionprob_init must be a probability distribution summing to 1"),
    case(lambda: CH(2, emissionprob_init=[[1.5, -0.5, 0], [1 / 3] * 3]).fit(S), ValueError,
         "emissionprob_init must be non-negative"),
    case(lambda: CH(2, transmat_init=[[0.2, 0.2], [0.5, 0.5]]).fit(S), ValueError,
         "every row of transmat_init must be a probability distribution summing to 1; row 0 sums to 0.4"),
    case(lambda: CH(2, startprob_init=[0.5, 0.5, 0.0]).fit(S), ValueError, "startprob_init must have shape (2,)"),
    case(lambda: CH(31).fit(S), ValueError, "X has n_samples=30, fewer than n_components=31"),
    case(lambda: CH(2, init="kmeans").fit(S), ValueError, "init must be one of 'random'; got 'kmeans'"),
    case(lambda: CH(2, n_iter=0).fit(S), ValueError, "n_iter must be an integer >= 1; got 0"),
    case(lambda: CH(2, tol=-1.0).fit(S), ValueError, "tol must be a finite number > 0; got -1.0"),
    # ---------------------------------------------------------------- MixtureOfLinearRegressions
    case(lambda: MLR(0).fit(X, R), ValueError, "n_components must be an integer >= 1; got 0"),
    case(lambda: MLR(2.0).fit(X, R), TypeError, "n_components must be an integer >= 1; got 2.0"),
    case(lambda: MLR(True).fit(X, R), TypeError, "n_components must be an integer >= 1; got True"),
    case(lambda: MLR(2, tol=0.0).fit(X, R), ValueError, "tol must be a finite number > 0; got 0.0"),
    case(lambda: MLR(2, tol=np.nan).fit(X, R), ValueError, "tol must be a finite number > 0; got nan"),
    case(lambda: MLR(2, tol="1e-6").fit(X, R), TypeError, "tol must be a real number; got '1e-6'"),
    case(lambda: MLR(2, max_iter=0).fit(X, R), ValueError, "max_iter must be an integer >= 1; got 0"),
    case(lambda: MLR(2, max_iter=np.inf).fit(X, R), TypeError, "max_iter must be an integer >= 1; got inf"),
    case(lambda: MLR(2, n_init=0).fit(X, R), ValueError, "n_init must be an integer >= 1; got 0"),
    case(lambda: MLR(2, n_init=1.5).fit(X, R), TypeError, "n_init must be an integer >= 1; got 1.5"),
    case(lambda: MLR(2, reg_covar=-1e-6).fit(X, R), ValueError, "reg_covar must be a finite number >= 0; got -1e-06"),
    case(lambda: MLR(2, reg_covar=np.inf).fit(X, R), ValueError, "reg_covar must be a finite number >= 0; got inf"),
    case(lambda: MLR(2, reg_covar=None).fit(X, R), TypeError, "reg_covar must be a real number; got None"),
    case(lambda: MLR(2, random_state="seed").fit(X, R), TypeError, "random_state must be None, an integer >= 0"),
    case(lambda: MLR(2, random_state=-1).fit(X, R), ValueError, "random_state must be None, an integer >= 0"),
    case(lambda: MLR(2).fit(X, None), ValueError, "y is required: a mixture of regressions models y given X"),
    case(lambda: MLR(2).fit(X, R[:-1]), ValueError, "y has 29 values, but X has 30 rows"),
    case(lambda: MLR(2).fit(X[:-1], R), ValueError, "y has 30 values, but X has 29 rows"),
    case(lambda: MLR(2).fit(X, np.c_[R, R]), ValueError, "y must be 1-D, one response per row of X; got shape (30, 2)"),
    case(lambda: MLR(2).fit(X, R[None]), ValueError, "y must be 1-D, one response per row of X; got shape (1, 30)"),
    case(lambda: MLR(2).fit(X, R[:0]), ValueError, "y is empty"),
    case(lambda: MLR(2).fit(X, np.r_[R[:-1], np.nan]), ValueError, "y contains NaN"),
    case(lambda: MLR(2).fit(X, np.r_[R[:-1], -np.inf]), ValueError, "y contains infinity"),
    case(lambda: MLR(2).fit(X, R.astype(str)), TypeError, "y must contain real numbers"),
    case(lambda: MLR(2).fit(X, R + 1j), TypeError, "y must contain real numbers; got complex"),
    case(lambda: MLR(2).fit(np.r_[X[:-1], [[np.nan, 0.0]]], R), ValueError, "X contains NaN"),
    case(lambda: MLR(2).fit(np.r_[X[:-1], [[np.inf, 0.0]]], R), ValueError, "X contains infinity"),
    case(lambda: MLR(2).fit(X[:, 0], R), ValueError, "X must be a 2-D array"),
    case(lambda: MLR(2).fit(CUBE, R[:4]), ValueError, "X must be a 2-D array"),
    case(lambda: MLR(2).fit(EMPTY, R[:0]), ValueError, "X is empty"),
    case(lambda: MLR(2).fit(STRINGS, R[:6]), TypeError, "X must contain real numbers"),
    case(lambda: MLR(2).fit(COMPLEX, R), TypeError, "X must contain real numbers; got complex"),
    case(lambda: MLR(10).fit(X, R), ValueError,
         "X has n_samples=30, but 10 regressions on 2 features need more than n_components * (n_features + 1) = 30"),
    case(lambda: MLR(2).fit(X[:6], R[:6]), ValueError, "need more than n_components * (n_features + 1) = 6 rows"),
    case(lambda: MLR(1).fit(X[:3], R[:3]), ValueError, "need more than n_components * (n_features + 1) = 3 rows"),
    # ---------------------------------------------------------------- MixtureOfExperts
    case(lambda: MOE(0).fit(X, R), ValueError, "n_components must be an integer >= 1; got 0"),
    case(lambda: MOE("2").fit(X, R), TypeError, "n_components must be an integer >= 1; got '2'"),
    case(lambda: MOE(2, tol=-1.0).fit(X, R), ValueError, "tol must be a finite number > 0; got -1.0"),
    case(lambda: MOE(2, max_iter=0).fit(X, R), ValueError, "max_iter must be an integer >= 1; got 0"),
    case(lambda: MOE(2, n_init=0).fit(X, R), ValueError, "n_init must be an integer >= 1; got 0"),
    case(lambda: MOE(2, n_init=None).fit(X, R), TypeError, "n_init must be an integer >= 1; got None"),
    case(lambda: MOE(2, reg_covar=-1.0).fit(X, R), ValueError, "reg_covar must be a finite number >= 0; got -1.0"),
    case(lambda: MOE(2, gate_l2=-1.0).fit(X, R), ValueError, "gate_l2 must be a finite number >= 0; got -1.0"),
    case(lambda: MOE(2, gate_l2=np.nan).fit(X, R), ValueError, "gate_l2 must be a finite number >= 0; got nan"),
    case(lambda: MOE(2, gate_l2=np.inf).fit(X, R), ValueError, "gate_l2 must be a finite number >= 0; got inf"),
    case(lambda: MOE(2, gate_l2="strong").fit(X, R), TypeError, "gate_l2 must be a real number; got 'strong'"),
    case(lambda: MOE(2, gate_l2=True).fit(X, R), TypeError, "gate_l2 must be a real number; got True"),
    case(lambda: MOE(2, gate_steps=0).fit(X, R), ValueError, "gate_steps must be an integer >= 1; got 0"),
    case(lambda: MOE(2, gate_steps=-3).fit(X, R), ValueError, "gate_steps must be an integer >= 1; got -3"),
    case(lambda: MOE(2, gate_steps=2.5).fit(X, R), TypeError, "gate_steps must be an integer >= 1; got 2.5"),
    case(lambda: MOE(2, gate_uses_inputs="yes").fit(X, R), TypeError,
         "gate_uses_inputs must be True or False; got 'yes'"),
    case(lambda: MOE(2, gate_uses_inputs=1).fit(X, R), TypeError, "gate_uses_inputs must be True or False; got 1"),
    case(lambda: MOE(2, gate_uses_inputs=None).fit(X, R), TypeError,
         "gate_uses_inputs must be True or False; got None"),
    case(lambda: MOE(2, random_state=1.5).fit(X, R), (TypeError, ValueError), "random_state"),
    case(lambda: MOE(2).fit(X, None), ValueError, "y is required"),
    case(lambda: MOE(2).fit(X, R[:10]), ValueError, "y has 10 values, but X has 30 rows"),
    case(lambda: MOE(2).fit(X, np.c_[R, R, R]), ValueError,
         "y must be 1-D, one response per row of X; got shape (30, 3)"),
    case(lambda: MOE(2).fit(X, np.where(R > 0, np.nan, R)), ValueError, "y contains NaN"),
    case(lambda: MOE(2).fit(X, np.where(R > 0, np.inf, R)), ValueError, "y contains infinity"),
    case(lambda: MOE(2).fit(NAN, R[:6]), ValueError, "X contains NaN"),
    case(lambda: MOE(2).fit(INF, R[:6]), ValueError, "X contains infinity"),
    case(lambda: MOE(2).fit(X[:, 0], R), ValueError, "X must be a 2-D array"),
    case(lambda: MOE(2).fit(OBJECTS, R[:6]), TypeError, "X must contain real numbers"),
    case(lambda: MOE(10).fit(X, R), ValueError, "need more than n_components * (n_features + 1) = 30 rows"),
    case(lambda: MOE(3, gate_uses_inputs=False).fit(X[:9], R[:9]), ValueError,
         "X has n_samples=9, but 3 regressions on 2 features need more than n_components * (n_features + 1) = 9"),
]


def _no_work(*args, **kwargs):
    raise AssertionError("numeric work started before the input was checked")


# Every numeric function the estimators call, by the name each module looks it up under.
NUMERIC = [
    (gmm, ["e_step", "_e_step", "m_step", "precision_cholesky", "_log_joint_kn", "assign_labels", "kmeans_plusplus"]),
    (kmeans, ["assign_labels", "kmeans_plusplus", "update_centers", "squared_distances", "lloyd_pass",
              "relabel_pass", "block_sums_pass", "bounded_lloyd_pass", "narrow_pass"]),
    (bernoulli, ["e_step", "m_step", "log_joint", "log_prior"]),
    (semisupervised, ["e_step", "m_step", "log_joint", "weighted_loglik"]),
    (streaming, ["e_step", "m_step", "log_joint", "sufficient_statistics", "chunk_statistics",
                 "parameters_from_statistics", "expected_statistics", "expected_complete_loglik"]),
    (missing, ["observed_loglik", "conditional_normal", "_cholesky", "_patterns"]),
    (hmm, ["e_step", "forward", "backward", "viterbi", "state_posteriors", "transition_posteriors", "m_step_markov",
           "categorical_emission_m_step", "_forward_scaled", "_backward_scaled", "_viterbi_log", "_markov_chain",
           "_scaled_emission", "_expected_transitions"]),
    (gmm, ["log_gaussian_density", "data_covariances"]),  # the Gaussian HMM's emission densities and start
    (experts, ["e_step", "m_step", "_posterior", "_weighted_least_squares", "log_expert_densities", "gate_design",
               "log_gate", "gate_objective", "gate_newton_step", "_normalise_log_joint", "lstsq", "logsumexp"]),
    (np.linalg, ["cholesky", "inv", "solve"]),
]


@pytest.fixture
def no_numeric_work(monkeypatch):
    for module, names in NUMERIC:
        for name in names:
            monkeypatch.setattr(module, name, _no_work)


def assert_emlib_rejects(call, error, message):
    """``call()`` raises ``error`` whose text contains ``message``, from emlib's own code."""
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)
    # the error is emlib's own, raised from its validation code, not from deep inside NumPy
    assert info.traceback[-1].path.parts[-2] == "emlib", info.traceback[-1].path


@pytest.mark.parametrize(("call", "error", "message"), BAD_INPUTS)
def test_bad_input_is_rejected_before_any_numeric_work(call, error, message, no_numeric_work):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning (overflow, invalid cast) on the way to the error
        assert_emlib_rejects(call, error, message)


def test_the_table_covers_every_estimator_with_forty_cases_or_more():
    assert len(BAD_INPUTS) >= 40
    calls = " ".join(str(p.values[0].__code__.co_names) for p in BAD_INPUTS)
    for short in ("GM", "SS", "KM", "BM", "MV", "INC", "ONL", "GH", "CH", "MLR", "MOE"):
        assert f"'{short}'" in calls, short


# ------------------------------------------------------------------ later chunks: checked as they are read
# A stream is validated chunk by chunk (it may be endless), so a bad chunk 1 is found after chunk 0
# was used. The error must still name the chunk, and nothing fitted may be left half-set.
LATER_CHUNKS = [
    ([X, X[:, :1]], ValueError, "chunk 1 has 1 columns, but chunk 0 has 2"),
    ([X, NAN], ValueError, "chunk 1 contains NaN"),
    ([X, INF], ValueError, "chunk 1 contains infinity"),
    ([X, CUBE], ValueError, "chunk 1 must be a 2-D array"),
    ([X, STRINGS], TypeError, "chunk 1 must contain real numbers"),
    ([X, EMPTY], ValueError, "chunk 1 is empty"),
]


@pytest.mark.parametrize("make", [lambda: INC(2, random_state=0), lambda: ONL(2, random_state=0)], ids=["incremental", "online"])
@pytest.mark.parametrize(("chunks", "error", "message"), LATER_CHUNKS, ids=[c[2] for c in LATER_CHUNKS])
def test_a_bad_later_chunk_is_named(make, chunks, error, message):
    model = make()
    with pytest.raises(error, match=message.replace("(", r"\(")):
        model.fit(chunks)
    for name in ("weights_", "means_", "covariances_"):  # whatever a failed fit left behind is finite
        if hasattr(model, name):
            assert np.isfinite(getattr(model, name)).all(), name


def test_incremental_em_rejects_a_source_that_changes_between_passes():
    passes = iter([[X[:15], X[15:]], [X[:10], X[10:]]])
    with pytest.raises(ValueError, match="every pass must give the same data"):
        INC(2, random_state=0, max_passes=5, tol=1e-12).fit(lambda: next(passes))


# ------------------------------------------------------------------ fitted estimators, bad X at inference
def _fitted():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emlib.ConvergenceWarning)
        return {
            "GaussianMixture": (GM(2, random_state=0).fit(X), X),
            "SemiSupervisedGaussianMixture": (SS(2, random_state=0).fit(X, Y), X),
            "KMeans": (KM(2, random_state=0).fit(X), X),
            "BernoulliMixture": (BM(2, random_state=0).fit(B), B),
            "MultivariateNormalEM": (MV().fit(X), X),
            "IncrementalGaussianMixture": (INC(2, random_state=0).fit([X[:15], X[15:]]), X),
            "OnlineGaussianMixture": (ONL(2, random_state=0).fit([X[:15], X[15:]]), X),
            "GaussianHMM": (GH(2, random_state=0).fit(X, [15, 15]), X),
            "CategoricalHMM": (CH(2, random_state=0).fit(S, [15, 15]), S),
            "MixtureOfLinearRegressions": (MLR(2, random_state=0).fit(X, R), X),
            "MixtureOfExperts": (MOE(2, random_state=0).fit(X, R), X),
        }


FITTED = _fitted()
METHODS = {
    "GaussianMixture": ["predict", "predict_proba", "score", "score_samples", "bic", "aic"],
    "SemiSupervisedGaussianMixture": ["predict", "predict_proba", "score", "score_samples", "bic", "aic"],
    "KMeans": ["predict", "score"],
    "BernoulliMixture": ["predict", "predict_proba", "score", "score_samples", "bic", "aic"],
    "MultivariateNormalEM": ["impute"],
    "IncrementalGaussianMixture": ["predict", "predict_proba", "score", "score_samples"],
    "OnlineGaussianMixture": ["predict", "predict_proba", "score", "score_samples", "partial_fit"],
    "GaussianHMM": ["predict", "predict_proba", "score", "decode", "bic", "aic"],
    "CategoricalHMM": ["predict", "predict_proba", "score", "decode", "bic", "aic"],
    "MixtureOfLinearRegressions": ["predict", "predict_proba", "score", "score_samples", "sample", "gate_weights"],
    "MixtureOfExperts": ["predict", "predict_proba", "score", "score_samples", "sample", "gate_weights"],
}
SYMBOLS = {"CategoricalHMM"}  # one column of integer symbols: their own bad inputs, below
# Methods of the regression mixtures that model y given X, so take both: (X, y) with a y of X's length.
RESPONSES = {"MixtureOfLinearRegressions": R, "MixtureOfExperts": R}
NEEDS_Y = {"predict_proba", "score", "score_samples"}


def _call(name: str, estimator, method: str, X_in):
    """``estimator.method(X_in)``, with a y of matching length where the method needs one."""
    if name in RESPONSES and method in NEEDS_Y:
        return getattr(estimator, method)(X_in, RESPONSES[name][: len(X_in)])
    return getattr(estimator, method)(X_in)


def _bad_inference_inputs(good: np.ndarray, allows_nan: bool):
    with_nan = good[:5].copy()
    with_nan[0, 0] = np.nan
    cases = [
        (np.hstack([good, good[:, :1]]), ValueError, "X has 3 features, but"),
        (good[:, :1], ValueError, "X has 1 features, but"),
        (good[:, 0], ValueError, "X must be a 2-D array"),
        (np.zeros((0, 2)), ValueError, "X is empty"),
        (good.astype(str), TypeError, "X must contain real numbers"),
        (good[:5] + 0j, TypeError, "X must contain real numbers; got complex"),
        (np.where(good[:5] > -1, np.inf, good[:5]), ValueError, "X contains infinity"),
    ]
    if not allows_nan:
        cases.append((with_nan, ValueError, "X contains NaN"))
    return cases


INFERENCE = [
    pytest.param(name, method, bad, error, message, id=f"{name}.{method}: {message}")
    for name, methods in METHODS.items()
    if name not in SYMBOLS
    for method in methods
    for bad, error, message in _bad_inference_inputs(FITTED[name][1], allows_nan=method == "impute")
]


@pytest.mark.parametrize(("name", "method", "bad", "error", "message"), INFERENCE)
def test_fitted_estimators_reject_bad_X(name, method, bad, error, message, no_numeric_work):
    assert_emlib_rejects(lambda: _call(name, FITTED[name][0], method, bad), error, message)


UNFITTED = [
    pytest.param(name, method, id=f"{name}.{method}")
    for name, methods in METHODS.items()
    for method in methods
    if method != "partial_fit"  # the first partial_fit call is a fit
]


@pytest.mark.parametrize(("name", "method"), UNFITTED)
def test_unfitted_estimators_raise_not_fitted_error(name, method, no_numeric_work):
    unfitted = sklearn.base.clone(FITTED[name][0])
    with pytest.raises(NotFittedError):
        _call(name, unfitted, method, FITTED[name][1])


def test_bernoulli_inference_rejects_non_binary_X(no_numeric_work):
    fitted = FITTED["BernoulliMixture"][0]
    for method in METHODS["BernoulliMixture"]:
        with pytest.raises(ValueError, match="X must contain only 0 and 1"):
            getattr(fitted, method)(X)


# ------------------------------------------------------------------ regression mixtures: bad y at inference
BAD_RESPONSES = [
    (None, ValueError, "y is required: a mixture of regressions models y given X"),
    (R[:-1], ValueError, "y has 29 values, but X has 30 rows"),
    (np.r_[R, R], ValueError, "y has 60 values, but X has 30 rows"),
    (np.c_[R, R], ValueError, "y must be 1-D, one response per row of X; got shape (30, 2)"),
    (R[None], ValueError, "y must be 1-D, one response per row of X; got shape (1, 30)"),
    (np.r_[R[:-1], np.nan], ValueError, "y contains NaN"),
    (np.r_[R[:-1], np.inf], ValueError, "y contains infinity"),
    (R.astype(str), TypeError, "y must contain real numbers"),
    (R + 1j, TypeError, "y must contain real numbers; got complex"),
]


@pytest.mark.parametrize("name", sorted(RESPONSES))
@pytest.mark.parametrize("method", sorted(NEEDS_Y))
@pytest.mark.parametrize(("bad", "error", "message"), BAD_RESPONSES, ids=[m for _, _, m in BAD_RESPONSES])
def test_fitted_regression_mixtures_reject_bad_y(name, method, bad, error, message, no_numeric_work):
    fitted, good = FITTED[name]
    assert_emlib_rejects(lambda: getattr(fitted, method)(good, bad), error, message)


@pytest.mark.parametrize("name", sorted(RESPONSES))
@pytest.mark.parametrize(("random_state", "error"), [("seed", TypeError), (-1, ValueError), (1.5, TypeError)])
def test_regression_mixture_sample_rejects_a_bad_random_state(name, random_state, error, no_numeric_work):
    with pytest.raises(error, match="random_state must be None, an integer >= 0 or a numpy.random.Generator"):
        FITTED[name][0].sample(X, random_state=random_state)


# ------------------------------------------------------------------ hidden Markov models: symbols, lengths, sample
BAD_SYMBOLS = [
    (np.c_[S, S], ValueError, "X must have one column of symbols, shape (n_samples, 1); got (30, 2)"),
    (S[:, 0], ValueError, "X must be a 2-D array"),
    (S + 3, ValueError, "X holds symbol 5, outside 0 .. n_symbols - 1 = 2"),
    (-S - 1, ValueError, "X must hold symbols, integers 0, 1, 2, ...; found -"),
    (S + 0.5, ValueError, "X must hold symbols, integers 0, 1, 2, ...; found"),
    (np.r_[S, [[np.nan]]], ValueError, "X contains NaN"),
    (np.zeros((0, 1)), ValueError, "X is empty"),
    (S.astype(str), TypeError, "X must contain real numbers"),
]


@pytest.mark.parametrize("method", METHODS["CategoricalHMM"])
@pytest.mark.parametrize(("bad", "error", "message"), BAD_SYMBOLS, ids=[m for _, _, m in BAD_SYMBOLS])
def test_fitted_categorical_hmm_rejects_bad_symbols(method, bad, error, message, no_numeric_work):
    assert_emlib_rejects(lambda: getattr(FITTED["CategoricalHMM"][0], method)(bad), error, message)


BAD_LENGTHS = [
    ([10, 10], ValueError, "lengths must sum to the number of rows of X, 30; they sum to 20"),
    ([31, -1], ValueError, "lengths must be positive; got [31, -1]"),
    ([0, 30], ValueError, "lengths must be positive; got [0, 30]"),
    ([15.5, 14.5], ValueError, "lengths must be a 1-D sequence of integers"),
]


@pytest.mark.parametrize("name", ["GaussianHMM", "CategoricalHMM"])
@pytest.mark.parametrize("method", METHODS["GaussianHMM"])
@pytest.mark.parametrize(("lengths", "error", "message"), BAD_LENGTHS, ids=[m for _, _, m in BAD_LENGTHS])
def test_fitted_hmms_reject_bad_lengths(name, method, lengths, error, message, no_numeric_work):
    fitted, good = FITTED[name]
    assert_emlib_rejects(lambda: getattr(fitted, method)(good, lengths), error, message)


@pytest.mark.parametrize("name", ["GaussianHMM", "CategoricalHMM"])
@pytest.mark.parametrize(("n_samples", "error", "message"), [
    (0, ValueError, "n_samples must be an integer >= 1; got 0"),
    (-5, ValueError, "n_samples must be an integer >= 1; got -5"),
    (2.5, TypeError, "n_samples must be an integer >= 1"),
    ("a", TypeError, "n_samples must be an integer >= 1"),
])
def test_hmm_sample_rejects_bad_n_samples(name, n_samples, error, message, no_numeric_work):
    with pytest.raises(error, match=message.replace("(", r"\(")):
        FITTED[name][0].sample(n_samples)
    with pytest.raises(NotFittedError):
        sklearn.base.clone(FITTED[name][0]).sample(5)
