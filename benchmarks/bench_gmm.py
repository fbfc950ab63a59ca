"""Time per EM iteration of emlib against scikit-learn, from the same starting values.

Prints, for each case, both times and their ratio (emlib / scikit-learn; below 1 means emlib
is faster), measured in the same run. Not a test: timings vary between machines; the ratio is
what to read. Run with ``make bench`` (one BLAS thread).

Usage: python benchmarks/bench_gmm.py [--n-samples N] [--repeats R]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGaussianMixture

import emlib

N_ITER = 10


def seconds_per_iteration(make, X: np.ndarray, repeats: int) -> float:
    """Best of ``repeats`` fits of ``N_ITER`` iterations, divided by ``N_ITER``."""
    best = np.inf
    for _ in range(repeats):
        model = make()
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X)
        best = min(best, time.perf_counter() - start)
    return best / N_ITER


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    K = 10
    print(f"N={args.n_samples}, K={K}, {N_ITER} EM iterations per fit, best of {args.repeats}")
    print(f"{'covariance':>10} {'D':>4} {'emlib ms/it':>12} {'sklearn ms/it':>14} {'ratio':>7}")
    for covariance_type in ("full", "diag"):
        for D in (2, 10, 50):
            X = rng.standard_normal((args.n_samples, D)) + rng.integers(0, 5, size=(args.n_samples, 1))
            means = X[rng.choice(len(X), K, replace=False)]
            weights = np.full(K, 1.0 / K)
            variances = np.ones((K, D))
            covariances = np.stack([np.eye(D)] * K) if covariance_type == "full" else variances
            precisions = covariances.copy()  # identity: its own inverse
            common = dict(covariance_type=covariance_type, max_iter=N_ITER, weights_init=weights, means_init=means)
            ours = seconds_per_iteration(
                lambda: emlib.GaussianMixture(K, covariances_init=covariances, tol=1e-300, **common), X, args.repeats
            )
            theirs = seconds_per_iteration(
                lambda: SkGaussianMixture(K, precisions_init=precisions, tol=0.0, **common), X, args.repeats
            )
            print(f"{covariance_type:>10} {D:>4} {1e3 * ours:>12.2f} {1e3 * theirs:>14.2f} {ours / theirs:>7.2f}")


if __name__ == "__main__":
    main()
