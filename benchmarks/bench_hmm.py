r"""Time per Baum–Welch iteration of emlib's hidden Markov models against hmmlearn's.

For each case (Gaussian emissions with full and diagonal covariances, categorical emissions;
K = 3 and K = 10 states; several sequences of total length N), both libraries start from the
same parameters and run the same EM iterations (``emlib`` with ``reg_covar=0``, hmmlearn with
its priors switched off, so the two compute the same numbers: ``tests/test_hmm_reference.py``
checks that). Printed: the time per iteration of each and their **ratio** (emlib / hmmlearn;
below 1 means emlib is faster), for both of hmmlearn's implementations of the recursions,
``"log"`` (its default) and ``"scaling"``.

Time per iteration
    A fit with ``1 + m`` iterations minus a fit with 1 iteration, divided by ``m``: the
    difference cancels the set-up and the first E-step (and numba's one-off compilation, which
    an untimed warm-up fit also triggers). Each fit is repeated and the fastest kept; the
    contenders are interleaved in one process, so a busy machine slows both alike.

Everything runs on one BLAS thread. Not a test: timings vary between machines; the ratio is
what to read. Run with ``make bench``.

Usage: python benchmarks/bench_hmm.py [--n-samples N] [--iterations M] [--repeats R]
"""

from __future__ import annotations

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402
from hmmlearn import hmm as hmmlearn_hmm  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import emlib  # noqa: E402

N_SEQUENCES = 10
CASES = [  # (emission model, number of states, number of features or symbols)
    ("full", 3, 2),
    ("full", 10, 5),
    ("diag", 3, 2),
    ("diag", 10, 5),
    ("categorical", 3, 6),
    ("categorical", 10, 20),
]


def random_start(kind: str, K: int, D: int, X: np.ndarray, rng: np.random.Generator) -> dict:
    """Start probabilities, a transition matrix and emission parameters both libraries accept."""
    start = {"startprob": rng.dirichlet(np.ones(K)), "transmat": rng.dirichlet(np.ones(K) + 5 * np.eye(K)[0], size=K)}
    if kind == "categorical":
        start["emissionprob"] = rng.dirichlet(np.ones(D), size=K)
    else:
        start["means"] = X[rng.choice(len(X), size=K, replace=False)]
        variances = np.tile(X.var(axis=0), (K, 1))
        start["covars"] = variances if kind == "diag" else variances[:, :, None] * np.eye(D)
    return start


def simulated_data(kind: str, K: int, D: int, N: int, rng: np.random.Generator) -> np.ndarray:
    """N rows from a random K-state HMM with sticky transitions."""
    transmat = rng.dirichlet(np.ones(K) + 20 * np.eye(K)[0], size=K)
    transmat = np.roll(transmat, np.arange(K), axis=1) if K > 1 else transmat
    states = np.zeros(N, dtype=int)
    uniforms = rng.uniform(size=N)
    cumulative = np.cumsum(transmat, axis=1)
    for t in range(1, N):
        states[t] = min(np.searchsorted(cumulative[states[t - 1]], uniforms[t]), K - 1)
    if kind == "categorical":
        emission = rng.dirichlet(np.ones(D) * 0.5, size=K)
        return np.array([rng.choice(D, p=emission[k]) for k in states])[:, None]
    return rng.normal(scale=3.0, size=(K, D))[states] + rng.standard_normal((N, D))


def emlib_fit(kind: str, K: int, D: int, start: dict) -> Callable[[np.ndarray, np.ndarray, int], object]:
    def fit(X: np.ndarray, lengths: np.ndarray, n_iter: int) -> object:
        common = dict(n_iter=n_iter, tol=1e-300, startprob_init=start["startprob"], transmat_init=start["transmat"])
        if kind == "categorical":
            model = emlib.CategoricalHMM(K, n_symbols=D, emissionprob_init=start["emissionprob"], **common)
        else:
            model = emlib.GaussianHMM(
                K, covariance_type=kind, reg_covar=0.0, means_init=start["means"], covars_init=start["covars"], **common
            )
        return model.fit(X, lengths)

    return fit


def hmmlearn_fit(kind: str, K: int, D: int, start: dict, implementation: str) -> Callable[[np.ndarray, np.ndarray, int], object]:
    def fit(X: np.ndarray, lengths: np.ndarray, n_iter: int) -> object:
        # hmmlearn's history holds the E-steps it ran; n_iter + 1 of them = n_iter M-steps, as emlib
        common = dict(n_iter=n_iter + 1, tol=-np.inf, init_params="", implementation=implementation)
        if kind == "categorical":
            model = hmmlearn_hmm.CategoricalHMM(K, n_features=D, params="ste", **common)
            model.emissionprob_ = start["emissionprob"]
        else:
            model = hmmlearn_hmm.GaussianHMM(
                K, covariance_type=kind, params="stmc", covars_prior=0.0, means_weight=0.0, min_covar=0.0, **common
            )
            model.means_, model.covars_ = start["means"], start["covars"]
        model.startprob_, model.transmat_ = start["startprob"], start["transmat"]
        return model.fit(X, lengths)

    return fit


def elapsed(fit: Callable, X: np.ndarray, lengths: np.ndarray, n_iter: int) -> float:
    started = time.perf_counter()
    fit(X, lengths, n_iter)
    return time.perf_counter() - started


def time_per_iteration(contenders: dict[str, Callable], X: np.ndarray, lengths: np.ndarray, m: int, repeats: int) -> dict[str, float]:
    """Fastest (1 + m)-iteration fit minus fastest 1-iteration fit, over m, contenders interleaved."""
    long, short = {name: np.inf for name in contenders}, {name: np.inf for name in contenders}
    for name, fit in contenders.items():  # warm-up: numba compiles on first use
        fit(X, lengths, 1)
    for _ in range(repeats):
        for name, fit in contenders.items():
            long[name] = min(long[name], elapsed(fit, X, lengths, 1 + m))
            short[name] = min(short[name], elapsed(fit, X, lengths, 1))
    return {name: (long[name] - short[name]) / m for name in contenders}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-samples", type=int, default=100_000)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    lengths = np.full(N_SEQUENCES, args.n_samples // N_SEQUENCES)
    print(f"N = {lengths.sum():,} rows in {N_SEQUENCES} sequences; {args.iterations} iterations, best of {args.repeats}; one BLAS thread")
    print(f"{'emissions':<12} {'K':>3} {'D/M':>4} {'emlib ms':>9} {'log ms':>8} {'scaling ms':>11} {'ratio log':>10} {'ratio scaling':>14}")
    rng = np.random.default_rng(2024)
    with threadpool_limits(1):
        for kind, K, D in CASES:
            X = simulated_data(kind, K, D, lengths.sum(), rng)
            start = random_start(kind, K, D, X, rng)
            times = time_per_iteration(
                {
                    "emlib": emlib_fit(kind, K, D, start),
                    "log": hmmlearn_fit(kind, K, D, start, "log"),
                    "scaling": hmmlearn_fit(kind, K, D, start, "scaling"),
                },
                X,
                lengths,
                args.iterations,
                args.repeats,
            )
            ms = {name: 1e3 * t for name, t in times.items()}
            print(
                f"{kind:<12} {K:>3} {D:>4} {ms['emlib']:>9.2f} {ms['log']:>8.2f} {ms['scaling']:>11.2f} "
                f"{times['emlib'] / times['log']:>10.2f} {times['emlib'] / times['scaling']:>14.2f}"
            )


if __name__ == "__main__":
    main()
