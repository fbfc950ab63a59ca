r"""Time per EM iteration of emlib against scikit-learn, from the same starting values.

For full and diagonal covariances at N=100,000 points, K=10 components and D = 2, 10, 50
features, prints

* the time per EM iteration (one M-step and one E-step) of ``emlib.GaussianMixture`` and of
  ``sklearn.mixture.GaussianMixture``, both started from the same weights, means and covariances
  (scikit-learn is given the inverse covariances as ``precisions_init``), and their **ratio**
  (emlib / scikit-learn; below 1 means emlib is faster). Both are measured in the same run, so
  the ratio is fair even on a busy machine;
* the **achieved GFLOP/s** of each, from the flop count below, against the rate of a large
  square ``numpy`` matrix product on the same machine and thread (the practical limit), and
  against the rate of the skinny product :math:`(N \times D)(D \times KD)` that dominates the full
  case (what the shape allows).

Everything runs on **one BLAS thread** (set here with ``threadpoolctl``, and in the environment
before NumPy is imported).

Time per iteration
    A fit with ``max_iter = 1 + m`` minus a fit with ``max_iter = 1``, divided by ``m``: the
    difference cancels the set-up, the first E-step and scikit-learn's final E-step. Each fit is
    repeated and the fastest kept (the least disturbed by other work on the machine).

Flop count of one EM iteration (one multiply or add = 1 flop; ``exp`` and ``log`` count 1)
    Only terms proportional to N are counted; the K·D³ factorisations are negligible.

    full covariances, :math:`4NKD^2 + 7NKD + 9NK`:

    * E-step: the projections :math:`U_k^\top x_n` of every point and component, a product
      :math:`2NKD^2`; subtracting :math:`U_k^\top\mu_k`, squaring and summing over d, :math:`3NKD`;
      scaling the distances and adding the log-determinant and log-weight terms, :math:`3NK`;
      log-sum-exp and normalisation (max, subtract, exp, sum, divide), :math:`5NK`;
    * M-step: :math:`N_k`, :math:`NK`; the weighted means, a product :math:`2NKD`; the centred
      weighted scatter: :math:`x_n - \mu_k` and :math:`\gamma_{nk}(x_n - \mu_k)`, :math:`2NKD`, and
      the product, :math:`2NKD^2`.

    diagonal covariances, :math:`8NKD + 2ND + 11NK`:

    * E-step: :math:`x^2`, :math:`ND`; two products :math:`(K \times D)(D \times N)`, :math:`4NKD`;
      combining them with the constant, :math:`2NK`; the log joint, :math:`3NK`; log-sum-exp and
      normalisation, :math:`5NK`;
    * M-step: :math:`N_k`, :math:`NK`; the weighted means and second moments, two products,
      :math:`4NKD`; :math:`x^2` again, :math:`ND`.

    scikit-learn's algorithm does the same arithmetic to leading order (its E-step projects one
    component at a time, its M-step centres one component at a time), so the same count is used
    for both.

Not a test: timings vary between machines; the ratio is what to read. Run with ``make bench``.

Usage: python benchmarks/bench_gmm.py [--n-samples N] [--iterations M] [--repeats R] [--centre-scale S]
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
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.mixture import GaussianMixture as SkGaussianMixture  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

import emlib  # noqa: E402

N_COMPONENTS = 10
FEATURES = (2, 10, 50)


def flops_per_iteration(covariance_type: str, N: int, K: int, D: int) -> int:
    """The analytic flop count of one EM iteration (see the module docstring)."""
    if covariance_type == "full":
        return 4 * N * K * D**2 + 7 * N * K * D + 9 * N * K
    return 8 * N * K * D + 2 * N * D + 11 * N * K


def best_seconds(run: Callable[[], object], repeats: int) -> float:
    """The fastest of ``repeats`` calls of ``run``."""
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def gemm_gflops(m: int, k: int, n: int, repeats: int = 5) -> float:
    """The rate of an (m × k)(k × n) ``numpy`` matrix product, in GFLOP/s (2mkn flops)."""
    rng = np.random.default_rng(1)
    A, B = rng.standard_normal((m, k)), rng.standard_normal((k, n))
    return 2 * m * k * n / best_seconds(lambda: A @ B, repeats) / 1e9


def mixture_data(N: int, K: int, D: int, rng: np.random.Generator, centre_scale: float) -> np.ndarray:
    """N points from K Gaussians with random correlated covariances, centres drawn with sd ``centre_scale``."""
    centres = rng.normal(scale=centre_scale, size=(K, D))
    mixing = rng.normal(size=(K, D, D)) / np.sqrt(D)
    z = rng.integers(K, size=N)
    correlated = np.einsum("nij,nj->ni", mixing[z], rng.standard_normal((N, D)))
    return centres[z] + correlated + 0.5 * rng.standard_normal((N, D))


def starting_values(X: np.ndarray, K: int, covariance_type: str, rng: np.random.Generator):
    """A common start: equal weights, K random data points as means, the data covariance for each component."""
    data_cov = np.cov(X, rowvar=False)
    means = X[rng.choice(len(X), K, replace=False)]
    if covariance_type == "full":
        covariances = np.repeat(data_cov[None], K, axis=0)
        precisions = np.repeat(np.linalg.inv(data_cov)[None], K, axis=0)
    else:
        covariances = np.repeat(np.diag(data_cov)[None], K, axis=0)
        precisions = 1.0 / covariances
    return np.full(K, 1.0 / K), means, covariances, precisions


def seconds_per_iteration(make: Callable[[int], object], X: np.ndarray, iterations: int, repeats: int) -> float:
    """(time of a fit of 1 + ``iterations`` iterations - time of a fit of 1) / ``iterations``."""

    def fit(max_iter: int) -> Callable[[], object]:
        def run() -> object:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                return make(max_iter).fit(X)

        return run

    return (best_seconds(fit(1 + iterations), repeats) - best_seconds(fit(1), repeats)) / iterations


def final_loglik_gap(X: np.ndarray, make_ours, make_theirs, iterations: int) -> float:
    """Relative difference of the two log-likelihoods after the same iterations (a check that both did the same work)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = make_ours(iterations).fit(X).loglik_history_[-1]
        theirs = make_theirs(iterations).fit(X).score(X) * len(X)
    return abs(ours - theirs) / abs(theirs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=100_000)
    parser.add_argument("--iterations", type=int, default=5, help="EM iterations timed per fit")
    parser.add_argument("--repeats", type=int, default=3, help="fits per measurement; the fastest is kept")
    parser.add_argument(
        "--centre-scale",
        type=float,
        default=1.0,
        help="sd of the component centres (noise sd about 1); at 4 the clusters separate so far that many "
        "responsibilities fall below 1e-300, where subnormal arithmetic slows scikit-learn down",
    )
    args = parser.parse_args()
    N, K, m = args.n_samples, N_COMPONENTS, args.iterations
    with threadpool_limits(limits=1):
        blas = [f"{p['internal_api']} {p['version']} ({p['num_threads']} thread)" for p in threadpool_info()]
        peak = gemm_gflops(2000, 2000, 2000)
        print(
            f"N={N}, K={K}, centre scale {args.centre_scale}; "
            f"time per iteration = (fit of {1 + m} iterations - fit of 1) / {m}, best of {args.repeats}"
        )
        print(f"BLAS: {', '.join(blas)}; numpy GEMM 2000x2000x2000: {peak:.1f} GFLOP/s (the practical limit)")
        print(
            f"{'covariance':>10} {'D':>3} {'emlib ms/it':>11} {'sklearn ms/it':>13} {'ratio':>6} "
            f"{'GFLOP/it':>8} {'emlib GF/s':>10} {'sklearn GF/s':>12} {'%peak':>6} {'skinny GEMM GF/s':>16} {'loglik gap':>10}"
        )
        rng = np.random.default_rng(0)
        for covariance_type in ("full", "diag"):
            for D in FEATURES:
                X = mixture_data(N, K, D, rng, args.centre_scale)
                weights, means, covariances, precisions = starting_values(X, K, covariance_type, rng)
                common = dict(covariance_type=covariance_type, weights_init=weights, means_init=means)

                def make_ours(max_iter: int, common=common, covariances=covariances) -> emlib.GaussianMixture:
                    return emlib.GaussianMixture(K, max_iter=max_iter, tol=1e-300, covariances_init=covariances, **common)

                def make_theirs(max_iter: int, common=common, precisions=precisions) -> SkGaussianMixture:
                    return SkGaussianMixture(
                        K, max_iter=max_iter, tol=0.0, init_params="random_from_data", precisions_init=precisions, **common
                    )

                ours = seconds_per_iteration(make_ours, X, m, args.repeats)
                theirs = seconds_per_iteration(make_theirs, X, m, args.repeats)
                flops = flops_per_iteration(covariance_type, N, K, D)
                skinny = gemm_gflops(N, D, K * D, repeats=3)
                gap = final_loglik_gap(X, make_ours, make_theirs, m)
                print(
                    f"{covariance_type:>10} {D:>3} {1e3 * ours:>11.1f} {1e3 * theirs:>13.1f} {ours / theirs:>6.2f} "
                    f"{flops / 1e9:>8.3f} {flops / ours / 1e9:>10.2f} {flops / theirs / 1e9:>12.2f} "
                    f"{100 * flops / ours / 1e9 / peak:>5.0f}% {skinny:>16.1f} {gap:>10.1e}",
                    flush=True,
                )
        print(f"numpy GEMM 2000x2000x2000 measured again at the end: {gemm_gflops(2000, 2000, 2000):.1f} GFLOP/s")


if __name__ == "__main__":
    main()
