r"""emlib's Bernoulli mixture and missing-data normal against outside references.

Two estimators that scikit-learn does not have, each against the best maintained Python
package found that fits the same model by EM (``pip install -e ".[bench]"``, which
``make bench`` does):

``emlib.BernoulliMixture`` against ``stepmix.StepMix(measurement="binary")``
    StepMix (Morin et al., 2023, J. Stat. Softw.) fits latent class models with a
    scikit-learn interface; with binary measurements and no structural model it is exactly a
    mixture of multivariate Bernoullis, fitted by plain EM with matrix products, as emlib's.
    emlib runs with ``alpha=1e-10`` (its smoothing is a Beta prior; StepMix maximises the
    likelihood itself), so both maximise the same objective. (pomegranate also has Bernoulli
    mixtures, but pulls in PyTorch.)
``emlib.MultivariateNormalEM`` against ``pystatistics.mvnmle`` (its EM)
    pystatistics' ``mlest(X, method="em")`` is the textbook EM of Little & Rubin, ch. 8, with
    the E-step batched over missingness patterns and SQUAREM acceleration (Varadhan & Roland,
    2008) on by default; its authors validate it against R's ``norm::em.norm``. No other
    maintained Python package was found: scikit-learn's ``IterativeImputer`` and ``impyute``'s
    ``em`` impute and refit (not EM: they drop the conditional covariance), statsmodels has
    MICE and a Bayesian imputer but no EM for this model.

For each case the table gives the ratio emlib / reference (below 1: emlib is faster) of

per iteration
    a fit of ``1 + m`` iterations minus a fit of 1 iteration, divided by the difference of their
    iteration counts, both started from the same parameters: for the mixture, StepMix's own
    random start (uniform weights, the M-step of random responsibilities), given to emlib as
    ``weights_init``/``means_init``; for the normal, emlib's start (observed means and variances,
    zero covariances), given to pystatistics' plain-EM loop (``EMBackend.solve(...,
    accelerate=False)``, the loop ``mlest`` runs) in place of its pairwise-deletion start.
    emlib's fit evaluates the log-likelihood after every iteration (for ``loglik_history_``);
    pystatistics' once at the end: that is part of what each costs per iteration;
whole fit
    ``fit`` as a user calls it, with the same seed and emlib's default start and stopping rule
    given to both, so that they do the same job each in its own way: the mixture starts from
    k-means labels (StepMix's ``init_params="kmeans"``; its default, random responsibilities,
    leaves all components near the data's mean, and the rule below can then stop it after two
    iterations, before they separate) and stops when the log-likelihood per sample rises by less
    than 1e-3 (StepMix's ``abs_tol``, whose default is 1e-10, means the same); the normal starts
    from each library's own start and stops when no parameter moves by more than 1e-8 (emlib in
    standard deviations, pystatistics in absolute terms: the data have unit variances, so the two
    rules agree), pystatistics with its default SQUAREM acceleration.

Beside the ratios: the iteration counts of the whole fits (pystatistics counts EM-step
equivalents), the relative difference of the two log-likelihoods after the same-start fits
(round-off: the two did the same work) and the difference per sample after the whole fits
(positive: emlib's fit is the better one). Both libraries' parameters are scored by one yardstick,
emlib's log-likelihood functions (pystatistics reports its log-likelihood without the
:math:`\log 2\pi` terms, StepMix the one before its last M-step).

The contenders run alternately, ``--repeats`` times each, in one process on one BLAS thread,
so a busy machine slows both alike; a ratio is the median over repeats with the smallest and
largest in brackets. Without a reference installed, emlib's columns are still printed.

Not a test (timings vary between machines): run with ``make bench``; ``tests/test_benchmarks.py``
runs it on tiny cases so that it cannot rot.

Usage: python benchmarks/bench_models.py [--n-samples N] [--features 20 100] [--components 5 20]
       [--mvn-features 3 10] [--missing 0.15] [--models bernoulli mvn] [--iterations M] [--repeats R]
"""

from __future__ import annotations

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from importlib.metadata import version  # noqa: E402
from typing import NamedTuple  # noqa: E402
from unittest import mock  # noqa: E402

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import emlib  # noqa: E402
from emlib.bernoulli import e_step as bernoulli_e_step  # noqa: E402
from emlib.missing import observed_loglik  # noqa: E402

MODELS = ("bernoulli", "mvn")
REFERENCE = {"bernoulli": "stepmix", "mvn": "pystatistics"}
ALPHA = 1e-10  # emlib's Bernoulli smoothing: a vanishing prior, so that both fit the MLE
TOL = {"bernoulli": 1e-3, "mvn": 1e-8}  # emlib's default tolerances, given to both


class Fitted(NamedTuple):
    """What a timed fit hands back: the parameters and the number of iterations it ran."""

    params: tuple[np.ndarray, np.ndarray]
    n_iter: int


Fit = Callable[[], Fitted]


@dataclass
class Case:
    """One data set with, per contender, a fit from the common start and a whole fit."""

    model: str
    label: str
    n_samples: int
    loglik: Callable[[tuple], float]  # the yardstick for both libraries' parameters
    same_start: dict[str, Callable[[int], Fit]]  # contender -> (max_iter -> fit)
    whole: dict[str, Callable[[int], Fit]]  # contender -> (seed -> fit as a user calls it)
    warm_up: Callable[[], object] = lambda: None


@dataclass
class Row:
    """One line of the table."""

    model: str
    label: str
    reference: str | None  # None: not installed
    emlib_ms: list[float]  # per iteration
    per_iteration: list[float]  # ratios emlib / reference, one per repeat
    whole_fit: list[float]
    iterations: tuple[int, int | None]
    same_start_gap: float  # largest |l_emlib - l_ref| / |l_ref| after the same-start fits
    final_gap: float  # median (l_emlib - l_ref) / N after the whole fits

    def __str__(self) -> str:
        ours, theirs = self.iterations
        return (f"{self.model:<9} {self.label:<30} {np.nanmedian(self.emlib_ms):>8.2f}  "
                f"{summary(self.per_iteration):>22}  {summary(self.whole_fit):>22}  "
                f"{ours:>4} / {'-' if theirs is None else theirs:<4}  "
                f"{gap(self.same_start_gap, '.1e'):>9}  {gap(self.final_gap, '+.1e'):>10}")


def summary(ratios: list[float]) -> str:
    if not ratios or np.all(np.isnan(ratios)):
        return "n/a"
    return f"{np.nanmedian(ratios):5.2f} [{np.nanmin(ratios):.2f}, {np.nanmax(ratios):.2f}]"


def gap(value: float, spec: str) -> str:
    return "n/a" if np.isnan(value) else format(value, spec)


def installed(model: str) -> bool:
    return importlib.util.find_spec(REFERENCE[model]) is not None


def timed(fit: Fit) -> tuple[float, Fitted]:
    """Wall time of one fit, with the warnings of deliberately short fits silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        fitted = fit()
        return time.perf_counter() - start, fitted


# ------------------------------------------------------------------ Bernoulli mixtures
def bernoulli_data(N: int, D: int, K: int, rng: np.random.Generator) -> np.ndarray:
    """N binary rows from K components whose pixel probabilities lie in [0.05, 0.95]."""
    means = np.clip(rng.beta(0.5, 0.5, size=(K, D)), 0.05, 0.95)
    z = rng.choice(K, size=N, p=rng.dirichlet(np.full(K, 5.0)))
    return (rng.uniform(size=(N, D)) < means[z]).astype(float)


def stepmix_start(X: np.ndarray, K: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """StepMix's random start (``init_params="random"``): equal weights and the M-step of uniform
    random responsibilities drawn from ``RandomState(seed)``, means clipped to [1e-15, 1 - 1e-15]."""
    resp = np.random.RandomState(seed).uniform(size=(len(X), K))
    resp /= resp.sum(axis=1, keepdims=True)
    means = np.clip(resp.T @ X / resp.sum(axis=0)[:, None], 1e-15, 1 - 1e-15)
    return np.full(K, 1.0 / K), means


def emlib_bernoulli(X: np.ndarray, K: int, **options) -> Fit:
    def fit() -> Fitted:
        model = emlib.BernoulliMixture(K, alpha=ALPHA, **options).fit(X)
        return Fitted((model.weights_, model.means_), model.n_iter_)

    return fit


def stepmix_bernoulli(X: np.ndarray, K: int, **options) -> Fit:
    def fit() -> Fitted:
        from stepmix import StepMix

        model = StepMix(K, measurement="binary", progress_bar=0, verbose=0, **options).fit(X)
        params = model.get_parameters()
        return Fitted((params["weights"], params["measurement"]["pis"]), model.n_iter_)

    return fit


def bernoulli_case(N: int, D: int, K: int, rng: np.random.Generator) -> Case:
    X = bernoulli_data(N, D, K, rng)
    seed = int(rng.integers(2**31))
    weights, means = stepmix_start(X, K, seed)
    same_start = {"emlib": lambda m: emlib_bernoulli(X, K, weights_init=weights, means_init=means, max_iter=m,
                                                     tol=1e-300)}
    whole = {"emlib": lambda s: emlib_bernoulli(X, K, tol=TOL["bernoulli"], random_state=s)}
    if installed("bernoulli"):
        same_start["stepmix"] = lambda m: stepmix_bernoulli(X, K, init_params="random", random_state=seed,
                                                            max_iter=m, abs_tol=0.0)
        whole["stepmix"] = lambda s: stepmix_bernoulli(X, K, init_params="kmeans", abs_tol=TOL["bernoulli"],
                                                          random_state=s)
    return Case("bernoulli", f"N={N} D={D} K={K}", N, lambda p: bernoulli_e_step(X, *p)[1], same_start, whole,
                # compile emlib's k-means kernels (its default initialisation) before timing
                warm_up=lambda: emlib.KMeans(K, n_init=1, random_state=0).fit(X[: 20 * K]))


# ------------------------------------------------------------------ normal with missing values
def mvn_data(N: int, D: int, missing: float, rng: np.random.Generator) -> np.ndarray:
    """N rows of a D-variate normal with unit variances and random correlations, each entry
    missing with probability ``missing`` (MCAR), at least one entry observed per row."""
    A = rng.normal(size=(D, D))
    covariance = A @ A.T + D * np.eye(D)
    sd = np.sqrt(np.diag(covariance))
    X = rng.multivariate_normal(rng.normal(size=D), covariance / np.outer(sd, sd), size=N)
    mask = rng.uniform(size=X.shape) < missing
    mask[mask.all(axis=1), 0] = False
    X[mask] = np.nan
    return X


@contextmanager
def pystatistics_from_emlib_start():
    """pystatistics' EM starts from the pairwise-deletion covariance, emlib's from the observed
    variances with zero covariances: give pystatistics emlib's (for the same-start fits only)."""
    from pystatistics.mvnmle.backends import em

    class EmlibStart(em.MLEObjectiveBase):
        def _compute_sample_covariance(self) -> np.ndarray:
            return np.diag(np.nanvar(self.original_data, axis=0))

    with mock.patch.object(em, "MLEObjectiveBase", EmlibStart):
        yield


def emlib_mvn(X: np.ndarray, **options) -> Fit:
    def fit() -> Fitted:
        model = emlib.MultivariateNormalEM(**options).fit(X)
        return Fitted((model.mean_, model.covariance_), model.n_iter_)

    return fit


def pystatistics_plain_em(X: np.ndarray, max_iter: int) -> Fit:
    def fit() -> Fitted:
        from pystatistics.mvnmle import MVNDesign
        from pystatistics.mvnmle.backends.em import EMBackend

        with pystatistics_from_emlib_start():
            result = EMBackend(device="cpu").solve(MVNDesign.from_array(X), tol=0.0, max_iter=max_iter,
                                                   accelerate=False).params
        return Fitted((result.muhat, result.sigmahat), result.n_iter)

    return fit


def pystatistics_mlest(X: np.ndarray) -> Fit:
    def fit() -> Fitted:
        from pystatistics.mvnmle import mlest

        result = mlest(X, method="em", tol=TOL["mvn"])
        return Fitted((result.muhat, result.sigmahat), result.n_iter)

    return fit


def mvn_case(N: int, D: int, missing: float, rng: np.random.Generator) -> Case:
    X = mvn_data(N, D, missing, rng)
    n_patterns = len(np.unique(np.isnan(X), axis=0))
    same_start = {"emlib": lambda m: emlib_mvn(X, max_iter=m, tol=1e-300)}
    whole = {"emlib": lambda s: emlib_mvn(X, tol=TOL["mvn"])}
    if installed("mvn"):
        same_start["pystatistics"] = lambda m: pystatistics_plain_em(X, m)
        whole["pystatistics"] = lambda s: pystatistics_mlest(X)
    label = f"N={N} D={D} {missing:.0%} ({n_patterns} patterns)"
    return Case("mvn", label, N, lambda p: observed_loglik(X, *p), same_start, whole)


# ------------------------------------------------------------------ measuring
def per_iteration(make: Callable[[int], Fit], iterations: int) -> tuple[float, Fitted]:
    """Seconds per iteration from the common start, and the longer fit's result."""
    long_time, long = timed(make(1 + iterations))
    short_time, short = timed(make(1))
    ran = long.n_iter - short.n_iter
    return (long_time - short_time) / ran if ran > 0 else np.nan, long


def relative_gap(ours: float, theirs: float) -> float:
    return abs(ours - theirs) / abs(theirs)


def measure(case: Case, iterations: int, repeats: int) -> Row:
    """Time the contenders alternately, ``repeats`` times; compare their log-likelihoods."""
    case.warm_up()
    for make in case.same_start.values():  # imports, compiled kernels, caches
        timed(make(1))
    names = list(case.same_start)
    seconds, ratios, whole, same_gaps, final_gaps = [], [], [], [], []
    for seed in range(repeats):
        step = {name: per_iteration(case.same_start[name], iterations) for name in names}
        fits = {name: timed(case.whole[name](seed)) for name in names}
        seconds.append(step["emlib"][0])
        if len(names) == 2:
            ours, theirs = names
            ratios.append(step[ours][0] / step[theirs][0])
            whole.append(fits[ours][0] / fits[theirs][0])
            same_gaps.append(relative_gap(*(case.loglik(step[name][1].params) for name in names)))
            final_gaps.append(np.subtract(*(case.loglik(fits[name][1].params) for name in names)) / case.n_samples)
    reference = names[1] if len(names) == 2 else None
    counts = tuple(fits[name][1].n_iter for name in names) + (None,) * (2 - len(names))
    return Row(case.model, case.label, reference, [1e3 * s for s in seconds], ratios, whole, counts,
               max(same_gaps, default=np.nan), float(np.median(final_gaps)) if final_gaps else np.nan)


def cases(n_samples: int, features: list[int], components: list[int], mvn_features: list[int], missing: float,
          models: list[str], rng: np.random.Generator):
    """The cases of the grid, built one at a time (the data of one case at a time in memory)."""
    if "bernoulli" in models:
        for D in features:
            for K in components:
                yield bernoulli_case(n_samples, D, K, rng)
    if "mvn" in models:
        for D in mvn_features:
            yield mvn_case(n_samples, D, missing, rng)


def references(models: list[str]) -> str:
    described = {"bernoulli": "BernoulliMixture vs stepmix {} StepMix(measurement='binary')",
                 "mvn": "MultivariateNormalEM vs pystatistics {} mvnmle EM"}
    return "; ".join(described[m].format(version(REFERENCE[m])) if installed(m)
                     else f"{REFERENCE[m]} not installed (pip install -e '.[bench]'): emlib only" for m in models)


def run(n_samples: int, features: list[int], components: list[int], mvn_features: list[int], missing: float,
        models: list[str], iterations: int, repeats: int) -> list[Row]:
    """Print the header and one line per case; return the rows."""
    print(f"One BLAS thread, {repeats} repeats alternating emlib and the reference; per iteration = (fit of "
          f"{1 + iterations} iterations - fit of 1) / iterations in between, from the same start")
    print(references(models))
    print(f"{'model':<9} {'case':<30} {'emlib ms':>8}  {'per iteration':>22}  {'whole fit':>22}  "
          f"{'iterations':>11}  {'same start':>9}  {'whole fit':>10}\n"
          f"{'':<40} {'/ it':>8}  {'median [min, max]':>22}  {'median [min, max]':>22}  {'emlib / ref':>11}  "
          f"{'|dl| / |l|':>9}  {'dl / N':>10}")
    rows = []
    rng = np.random.default_rng(0)
    with threadpool_limits(limits=1):
        for case in cases(n_samples, features, components, mvn_features, missing, models, rng):
            rows.append(measure(case, iterations, repeats))
            print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=50_000)
    parser.add_argument("--features", type=int, nargs="+", default=[20, 100], help="Bernoulli mixture: D")
    parser.add_argument("--components", type=int, nargs="+", default=[5, 20], help="Bernoulli mixture: K")
    parser.add_argument("--mvn-features", type=int, nargs="+", default=[3, 10], help="normal: D")
    parser.add_argument("--missing", type=float, default=0.15, help="normal: fraction of entries missing")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--iterations", type=int, default=10, help="iterations timed per fit")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    run(args.n_samples, args.features, args.components, args.mvn_features, args.missing, args.models,
        args.iterations, args.repeats)


if __name__ == "__main__":
    main()
