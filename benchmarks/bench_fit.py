r"""What users wait for: emlib against scikit-learn per EM (or Lloyd) iteration and per whole fit.

For ``GaussianMixture`` with each covariance type and for ``KMeans``, on a grid of D features and
K components (default D in 2, 10, 50 and K in 3, 10, 30, N = 100,000 points), prints the ratio
emlib / scikit-learn (below 1: emlib is faster) of

per iteration
    a fit of ``1 + m`` iterations minus a fit of 1 iteration (each the fastest of 3 runs, the two
    alternating, or of ``3 * (5 // m)`` for ``m < 5``: a window of one or two passes is a small
    difference of two long fits), divided
    by ``m``, both libraries started from the same parameters (mixtures: equal weights, K data
    points as means, the data's covariance; k-means: the same K data points as centres).
    Mixtures: ``m = 5`` (an EM iteration costs the same throughout a fit). k-means: every
    iteration of the fit to convergence but its first and last, ``m = n - 2`` for a fit of ``n``
    iterations. Its iterations differ in cost (emlib's bounds settle more rows as the fit goes
    on, as scikit-learn's ``elkan`` does; its ``lloyd`` does not), and what a user waits for is
    their mean. The last is left out because scikit-learn skips its final relabelling pass only
    when the labels stopped changing: a fit of ``n`` iterations does one pass fewer than a fit
    cut off earlier, which would pass for an iteration done in no time. ``--iterations m`` sets
    ``m`` for every model (at most ``n - 2`` for k-means);
whole fit, same start
    ``fit`` from that common start with each library's default ``tol`` and ``max_iter``: the
    set-up and stopping rule are included, the initialisation is not (the issue's measure for
    k-means). Both libraries stop after the same iterations when their stopping rules agree;
    the iteration counts are printed;
whole fit
    ``fit`` with each library's defaults and the same seed (mixtures: k-means initialisation,
    ``tol=1e-3``, one start; k-means: k-means++ and ``algorithm="lloyd"``, one start): what a
    user waits for, set-up, initialisation and stopping rule included. The two may stop after
    different numbers of iterations; the iteration counts (of the last seed) are printed beside the ratio.
    The two libraries draw different starts from the same seed, so this ratio varies with the seed far
    more than with the timer: it is taken over ``--starts`` seeds (default 9), the first ``--repeats``
    of them within the repeats, the others after them.

The two libraries run alternately, ``--repeats`` times each, in one process on one BLAS thread,
so a busy machine slows both alike; the table gives the median ratio and, in brackets, the
smallest and largest of the repeats. Each grid point's data and common start come from a seed of its own,
``(D, K)``: a run of some models or grid points sees the data and start of the full run (at the same
``--n-samples``).

Not a test (timings vary between machines): run with ``make bench``; ``tests/test_benchmarks.py``
runs it on a tiny grid so that it cannot rot.

Usage: python benchmarks/bench_fit.py [--n-samples N] [--features 2 10 50] [--components 3 10 30]
       [--models full tied diag spherical kmeans] [--iterations M] [--repeats R] [--starts S]

(``--models kmeans --iterations 5`` times k-means's iterations 2 to 6 only: the early ones, where
emlib first sets up its bounds.)
"""

from __future__ import annotations

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.cluster import KMeans as SkKMeans  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.mixture import GaussianMixture as SkGaussianMixture  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import emlib  # noqa: E402

MODELS = ("full", "tied", "diag", "spherical", "kmeans")
MIXTURE_ITERATIONS = 5  # EM iterations timed per mixture fit, by default
TIMINGS_PER_DIFFERENCE = 3  # each of the two fits of a per-iteration difference: the fastest of 3,
SHORT_WINDOW = 5  # or, for a window of m < 5 iterations, of 3 * (5 // m): a small difference of two long fits
WARM_UP_ROWS = 1_000  # the default fits run once on this many rows before timing (kernels compiled)
STARTS = 9  # seeds of the whole fits with defaults: their ratio varies with the start far more than with the timer


@dataclass
class Row:
    """One line of the table: the ratios per repeat and the iteration counts of the whole fits."""

    model: str
    D: int
    K: int
    per_iteration: list[float]
    same_start_fit: list[float]
    whole_fit: list[float]
    same_start_iterations: tuple[int, int]
    iterations: tuple[int, int]

    def __str__(self) -> str:
        def summary(ratios: list[float]) -> str:
            if np.all(np.isnan(ratios)):  # converged in one iteration every time: nothing to time
                return "n/a"
            return f"{np.nanmedian(ratios):5.2f} [{np.nanmin(ratios):.2f}, {np.nanmax(ratios):.2f}]"

        def counts(pair: tuple[int, int]) -> str:
            return f"{pair[0]:>4} / {pair[1]:<4}"

        return (f"{self.model:>9} {self.D:>3} {self.K:>3}  {summary(self.per_iteration):>19}  "
                f"{summary(self.same_start_fit):>19}  {counts(self.same_start_iterations)}  "
                f"{summary(self.whole_fit):>19}  {counts(self.iterations)}")


def mixture_data(N: int, K: int, D: int, rng: np.random.Generator) -> np.ndarray:
    """N points from K Gaussians with random correlated covariances and centres of sd 2."""
    centres = rng.normal(scale=2.0, size=(K, D))
    mixing = rng.normal(size=(K, D, D)) / np.sqrt(D)
    z = rng.integers(K, size=N)
    return centres[z] + np.einsum("nij,nj->ni", mixing[z], rng.standard_normal((N, D))) + 0.5 * rng.standard_normal((N, D))


def seconds(run: Callable[[], object]) -> float:
    """Wall time of one call, with convergence warnings (short timed fits stop early) silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        run()
        return time.perf_counter() - start


def fastest_difference(long: Callable[[], object], short: Callable[[], object], times: int) -> float:
    """The shortest of ``times`` runs of ``long`` minus the shortest of ``times`` runs of ``short``, the two
    alternating (a drift in the machine's speed touches both alike): a difference of two fits is only as good
    as its noisier term."""
    runs = [(seconds(long), seconds(short)) for _ in range(times)]
    return min(run[0] for run in runs) - min(run[1] for run in runs)


def timings_per_difference(m: int) -> int:
    """How many runs of each fit a difference over ``m`` iterations takes the fastest of (see the constants)."""
    return TIMINGS_PER_DIFFERENCE * max(1, SHORT_WINDOW // max(m, 1))


def exactly(max_iter: int | None, tol: float) -> dict:
    """Keywords for ``max_iter`` iterations that ``tol`` cannot stop (emlib needs tol > 0, scikit-learn
    takes 0); none (the library's defaults) when ``max_iter`` is None."""
    return {} if max_iter is None else dict(max_iter=max_iter, tol=tol)


def same_start(model: str, X: np.ndarray, K: int, rng: np.random.Generator) -> tuple[Callable, Callable]:
    """Factories for emlib and scikit-learn from one common start.

    ``make(max_iter)`` runs ``max_iter`` iterations (no tolerance stops it); ``make()`` uses the
    library's default ``tol`` and ``max_iter``.
    """
    means = X[rng.choice(len(X), K, replace=False)]
    if model == "kmeans":
        return (lambda m=None: emlib.KMeans(K, init=means, **exactly(m, 1e-300)),
                lambda m=None: SkKMeans(K, init=means, n_init=1, algorithm="lloyd", **exactly(m, 0.0)))
    data_cov = np.cov(X, rowvar=False)
    covariances = {"full": np.repeat(data_cov[None], K, axis=0), "tied": data_cov,
                   "diag": np.repeat(np.diag(data_cov)[None], K, axis=0),
                   "spherical": np.full(K, np.diag(data_cov).mean())}[model]
    precisions = np.linalg.inv(covariances) if model in ("full", "tied") else 1.0 / covariances
    common = dict(covariance_type=model, weights_init=np.full(K, 1.0 / K), means_init=means)
    return (lambda m=None: emlib.GaussianMixture(K, covariances_init=covariances, **common, **exactly(m, 1e-300)),
            lambda m=None: SkGaussianMixture(K, precisions_init=precisions, **common, **exactly(m, 0.0)))


def defaults(model: str, K: int, seed: int) -> tuple[object, object]:
    """emlib's and scikit-learn's estimators with their default settings and one seed."""
    if model == "kmeans":
        return emlib.KMeans(K, random_state=seed), SkKMeans(K, n_init=1, algorithm="lloyd", random_state=seed)
    return (emlib.GaussianMixture(K, covariance_type=model, random_state=seed),
            SkGaussianMixture(K, covariance_type=model, random_state=seed))


def n_iterations(estimator: object) -> int:
    return int(estimator.n_iter_)


def seconds_fit(estimator: object, X: np.ndarray) -> object:
    """``estimator`` fitted to ``X``, convergence warnings silenced (not timed)."""
    seconds(lambda: estimator.fit(X))
    return estimator


def timed_iterations(model: str, iterations: int | None, converged_iterations: int) -> int:
    """``m``, the iterations timed per fit (see the module's docstring); 0 when there are none."""
    if model != "kmeans":
        return MIXTURE_ITERATIONS if iterations is None else iterations
    every = converged_iterations - 2  # all but the first and the last
    return max(min(every, iterations) if iterations is not None else every, 0)


def measure(model: str, X: np.ndarray, K: int, iterations: int | None, repeats: int,
            rng: np.random.Generator, starts: int | None = None) -> Row:
    """The ratios of one grid point, the two libraries alternating within each repeat; the whole fits with
    defaults from ``starts`` seeds (default ``repeats``), the first ``repeats`` of them within the repeats."""
    ours, theirs = same_start(model, X, K, rng)
    # warm up (compiled kernels, caches, lazily imported modules); k-means: with the fits to convergence,
    # whose length gives m
    warm = [seconds_fit(make() if model == "kmeans" else make(1), X) for make in (ours, theirs)]
    for est in defaults(model, K, seed=0):  # and the default start's kernels (k-means++), on a few rows
        seconds_fit(est, X[:WARM_UP_ROWS])
    m = timed_iterations(model, iterations, min(n_iterations(est) for est in warm))
    per_iteration, same_start_fit, whole_fit = [], [], []
    for seed in range(repeats):
        per_it = []
        for make in (ours, theirs):
            long, short = make(1 + m), make(1)
            elapsed = fastest_difference(lambda est=long: est.fit(X), lambda est=short: est.fit(X),
                                         timings_per_difference(m))
            ran = n_iterations(long) - n_iterations(short)  # m, unless a fit stopped early
            per_it.append(elapsed / ran if ran > 0 else np.nan)
        per_iteration.append(per_it[0] / per_it[1])
        converged = (ours(), theirs())
        times = [seconds(lambda est=est: est.fit(X)) for est in converged]
        same_start_fit.append(times[0] / times[1])
        fits = whole_fit_with_defaults(model, X, K, seed, whole_fit)
    for seed in range(repeats, max(starts or repeats, repeats)):
        fits = whole_fit_with_defaults(model, X, K, seed, whole_fit)
    return Row(model, X.shape[1], K, per_iteration, same_start_fit, whole_fit,
               tuple(n_iterations(est) for est in converged), tuple(n_iterations(est) for est in fits))


def whole_fit_with_defaults(model: str, X: np.ndarray, K: int, seed: int, ratios: list[float]) -> tuple:
    """Fit emlib and scikit-learn with their defaults and ``seed``, the two one after the other; append the
    ratio of their times to ``ratios`` and return the two fitted estimators."""
    fits = defaults(model, K, seed)
    times = [seconds(lambda est=est: est.fit(X)) for est in fits]
    ratios.append(times[0] / times[1])
    return fits


def run(n_samples: int, features: list[int], components: list[int], models: list[str], iterations: int | None,
        repeats: int, starts: int | None = None) -> list[Row]:
    """Print the header and one line per grid point; return the rows."""
    window = ("all but the first and last of the fit" if iterations is None else f"at most {iterations}")
    print(f"N={n_samples}, one BLAS thread, {repeats} repeats alternating emlib and scikit-learn "
          f"(whole fits with defaults: {max(starts or repeats, repeats)} seeds); per iteration = (fit of 1 + m iterations - fit of 1) / m, m = "
          f"{MIXTURE_ITERATIONS if iterations is None else iterations} for mixtures, k-means: {window}")
    print(f"{'model':>9} {'D':>3} {'K':>3}  {'per iteration':>19}  {'whole, same start':>19}  "
          f"{'iterations':>11}  {'whole, defaults':>19}  {'iterations':>11}\n"
          f"{'':>17}  {'median [min, max]':>19}  {'median [min, max]':>19}  {'emlib / sk':>11}  "
          f"{'median [min, max]':>19}  {'emlib / sk':>11}")
    rows = []
    with threadpool_limits(limits=1):
        for model in models:
            for D in features:
                for K in components:
                    rng = np.random.default_rng([D, K])  # a grid point's data and start, whatever else runs
                    X = mixture_data(n_samples, K, D, rng)
                    rows.append(measure(model, X, K, iterations, repeats, rng, starts))
                    print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=100_000)
    parser.add_argument("--features", type=int, nargs="+", default=[2, 10, 50])
    parser.add_argument("--components", type=int, nargs="+", default=[3, 10, 30])
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--iterations", type=int, default=None,
                        help=f"iterations timed per fit (default: {MIXTURE_ITERATIONS} for mixtures; for k-means all "
                             "but the first and last of the fit to convergence)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--starts", type=int, default=STARTS,
                        help=f"seeds of the whole fits with defaults (default {STARTS}; at least --repeats)")
    args = parser.parse_args()
    run(args.n_samples, args.features, args.components, args.models, args.iterations, args.repeats, args.starts)


if __name__ == "__main__":
    main()
