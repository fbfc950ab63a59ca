"""Streaming EM (emlib.streaming) against batch EM and against the definitions.

* the sufficient statistics against their definitions written as brute-force sums, and their
  additivity over chunks;
* the M-step from statistics against emlib.gmm.m_step, and the expected complete-data
  log-likelihood against the direct sum of responsibilities times log joint densities;
* incremental EM with one chunk against batch EM iteration by iteration; incremental and online EM on
  many chunks against the batch maximum-likelihood fit (and scikit-learn's);
* the ELBO F of incremental EM never decreases and stays below the log-likelihood;
* peak memory while streaming 10 times more data than one chunk, measured in a subprocess.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings
from functools import reduce
from operator import add

import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn.base import clone
from sklearn.mixture import GaussianMixture as SkGaussianMixture

import emlib
from emlib.gmm import MixtureParameters, e_step, log_joint, m_step
from emlib.streaming import (
    IncrementalGaussianMixture,
    OnlineGaussianMixture,
    chunk_statistics,
    expected_complete_loglik,
    expected_statistics,
    parameters_from_statistics,
    step_size,
    sufficient_statistics,
)

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


@pytest.fixture(scope="module")
def mixture_data() -> np.ndarray:
    """6000 points from three overlapping 2-D Gaussians, shuffled."""
    rng = np.random.default_rng(11)
    means = np.array([[0.0, 0.0], [3.0, 1.0], [1.0, 4.0]])
    covs = [np.array([[1.0, 0.5], [0.5, 1.0]]), np.diag([0.5, 1.5]), np.array([[1.0, -0.3], [-0.3, 0.6]])]
    X = np.vstack([rng.multivariate_normal(m, c, size=n) for m, c, n in zip(means, covs, (3000, 2000, 1000))])
    return rng.permutation(X)


def poor_start(X: np.ndarray, K: int, covariance_type: str, seed: int = 3) -> MixtureParameters:
    """Random data points as means, the data covariance for every component, random weights."""
    rng = np.random.default_rng(seed)
    D = X.shape[1]
    cov = np.cov(X, rowvar=False)
    covariances = {
        "full": np.stack([cov] * K),
        "tied": cov,
        "diag": np.tile(np.diag(cov), (K, 1)),
        "spherical": np.full(K, np.trace(cov) / D),
    }[covariance_type]
    return MixtureParameters(rng.dirichlet(np.full(K, 5.0)), X[rng.choice(len(X), K, replace=False)], covariances)


def init_kwargs(params: MixtureParameters) -> dict:
    return {"weights_init": params.weights, "means_init": params.means, "covariances_init": params.covariances}


# ------------------------------------------------------------------------ statistics
@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_statistics_are_the_defining_sums(mixture_data, covariance_type):
    """N_k, Σ r x, Σ r x xᵀ written as explicit sums over points (a loop, on a small slice)."""
    X = mixture_data[:50]
    resp = np.random.default_rng(0).dirichlet(np.ones(3), size=len(X))
    stats = sufficient_statistics(X, resp, covariance_type)
    for k in range(3):
        outer = sum(r * np.outer(x, x) for r, x in zip(resp[:, k], X, strict=True))
        np.testing.assert_allclose(stats.counts[k], sum(resp[:, k]), rtol=1e-12)
        np.testing.assert_allclose(stats.sums[k], sum(r * x for r, x in zip(resp[:, k], X, strict=True)), rtol=1e-12)
        expected = outer if covariance_type == "full" else np.diag(outer)
        np.testing.assert_allclose(stats.second_moments[k], expected, rtol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_statistics_of_the_chunks_add_up_to_those_of_the_whole(mixture_data, covariance_type):
    resp = e_step(mixture_data, *poor_start(mixture_data, 3, covariance_type), covariance_type)[0]
    whole = sufficient_statistics(mixture_data, resp, covariance_type)
    bounds = [0, 7, 1000, 1001, 4500, len(mixture_data)]  # uneven chunks, one of a single row
    parts = [sufficient_statistics(mixture_data[a:b], resp[a:b], covariance_type) for a, b in zip(bounds, bounds[1:])]
    summed = reduce(add, parts)
    for field in ("counts", "sums", "second_moments"):
        np.testing.assert_allclose(getattr(summed, field), getattr(whole, field), rtol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_m_step_from_statistics_equals_the_batch_m_step(mixture_data, covariance_type):
    resp = e_step(mixture_data, *poor_start(mixture_data, 3, covariance_type), covariance_type)[0]
    ours = parameters_from_statistics(sufficient_statistics(mixture_data, resp, covariance_type), covariance_type, 1e-4)
    batch = m_step(mixture_data, resp, covariance_type, 1e-4)
    for a, b in zip(ours, batch, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_expected_statistics_map_back_to_the_parameters(mixture_data, covariance_type):
    params = poor_start(mixture_data, 3, covariance_type)
    back = parameters_from_statistics(expected_statistics(params, covariance_type), covariance_type, reg_covar=0.0)
    for a, b in zip(back, params, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_expected_complete_loglik_from_statistics_equals_the_direct_sum(mixture_data, covariance_type):
    """Σ_nk r_nk log[π_k N(x_n | μ_k, Σ_k)], the responsibilities from another parameter set."""
    X = mixture_data
    resp = e_step(X, *poor_start(X, 3, covariance_type, seed=1), covariance_type)[0]
    params = poor_start(X, 3, covariance_type, seed=2)
    direct = float((resp * log_joint(X, *params, covariance_type)).sum())
    stats = sufficient_statistics(X, resp, covariance_type)
    np.testing.assert_allclose(expected_complete_loglik(stats, params, covariance_type), direct, rtol=1e-11)


# ------------------------------------------------------------------ incremental EM
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_one_pass_over_one_chunk_is_one_batch_em_iteration(mixture_data, covariance_type):
    start = poor_start(mixture_data, 3, covariance_type)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emlib.ConvergenceWarning)  # max_passes=1 / max_iter=1 on purpose
        inc = IncrementalGaussianMixture(3, covariance_type=covariance_type, max_passes=1, **init_kwargs(start))
        inc.fit([mixture_data])
        batch = emlib.GaussianMixture(3, covariance_type=covariance_type, max_iter=1, tol=1e-300,
                                      **init_kwargs(start)).fit(mixture_data)
    by_hand = m_step(mixture_data, e_step(mixture_data, *start, covariance_type)[0], covariance_type, 1e-6)
    for ours, estimator, pure in zip((inc.weights_, inc.means_, inc.covariances_), (batch.weights_, batch.means_, batch.covariances_), by_hand,
                                     strict=True):
        np.testing.assert_allclose(ours, estimator, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ours, pure, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(inc.elbo_history_[0], batch.loglik_history_[0], rtol=1e-12)


def test_passes_over_one_chunk_follow_batch_em(mixture_data):
    start = poor_start(mixture_data, 3, "full")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emlib.ConvergenceWarning)
        inc = IncrementalGaussianMixture(3, max_passes=6, tol=1e-300, **init_kwargs(start)).fit([mixture_data])
        batch = emlib.GaussianMixture(3, max_iter=6, tol=1e-300, **init_kwargs(start)).fit(mixture_data)
    # with one chunk, q is the exact posterior of the previous parameters: F(q_t, θ_{t+1}) ≤ log p(X|θ_{t+1})
    assert np.all(inc.elbo_history_[1:] <= batch.loglik_history_[1:] + 1e-8)
    np.testing.assert_allclose(inc.means_, batch.means_, rtol=1e-10)
    np.testing.assert_allclose(inc.covariances_, batch.covariances_, rtol=1e-10)


def test_the_first_pass_over_many_chunks_is_one_batch_iteration(mixture_data):
    start = poor_start(mixture_data, 3, "full")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emlib.ConvergenceWarning)
        inc = IncrementalGaussianMixture(3, max_passes=1, **init_kwargs(start)).fit(np.array_split(mixture_data, 9))
    by_hand = m_step(mixture_data, e_step(mixture_data, *start)[0])
    for ours, pure in zip((inc.weights_, inc.means_, inc.covariances_), by_hand, strict=True):
        np.testing.assert_allclose(ours, pure, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_elbo_never_decreases_and_bounds_the_loglik(mixture_data, covariance_type):
    chunks = np.array_split(mixture_data, 12)
    start = poor_start(mixture_data, 3, covariance_type)
    F = []
    for passes in (1, 2, 3, 5, 8):  # refitting with more passes gives the same path, so L(θ) of each pass end
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", emlib.ConvergenceWarning)
            inc = IncrementalGaussianMixture(3, covariance_type=covariance_type, reg_covar=0.0, tol=1e-300,
                                             max_passes=passes, **init_kwargs(start)).fit(chunks)
        F = inc.elbo_history_
        assert F[-1] <= inc.score(mixture_data) * len(mixture_data) + 1e-7
    direct_start = logsumexp(log_joint(mixture_data, *start, covariance_type), axis=1).sum()
    np.testing.assert_allclose(F[0], direct_start, rtol=1e-12)
    assert np.all(np.diff(F) >= -1e-9 * abs(F[-1])), np.diff(F)
    assert F[-1] - F[0] > 100.0  # it did climb


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_incremental_and_online_em_reach_the_batch_mle(mixture_data, covariance_type):
    """Chunks of 500 out of 6000 points; the log-likelihood per sample within 1e-3 of the batch MLE."""
    X = mixture_data
    K = 3
    batch = emlib.GaussianMixture(K, covariance_type=covariance_type, tol=1e-10, max_iter=2000, random_state=0).fit(X)
    sk = SkGaussianMixture(K, covariance_type=covariance_type, tol=1e-10, max_iter=2000, random_state=0).fit(X)
    np.testing.assert_allclose(batch.score(X), sk.score(X), atol=1e-6)  # the batch MLE itself is right
    chunks = np.array_split(X, 12)
    inc = IncrementalGaussianMixture(K, covariance_type=covariance_type, tol=1e-7, random_state=0).fit(chunks)
    assert inc.converged_
    assert abs(inc.score(X) - batch.score(X)) < 1e-3

    rng = np.random.default_rng(5)
    stream = (chunk for _ in range(15) for chunk in np.array_split(rng.permutation(X), 12))  # 15 shuffled epochs
    online = OnlineGaussianMixture(K, covariance_type=covariance_type, random_state=0).fit(stream)
    assert online.n_steps_ == 180
    assert abs(online.score(X) - batch.score(X)) < 1e-3


def test_incremental_em_accepts_a_generator_function_and_a_list_alike(mixture_data):
    chunks = np.array_split(mixture_data, 5)
    a = IncrementalGaussianMixture(3, random_state=1).fit(chunks)
    b = IncrementalGaussianMixture(3, random_state=1).fit(lambda: (c for c in chunks))
    np.testing.assert_array_equal(a.means_, b.means_)
    np.testing.assert_array_equal(a.elbo_history_, b.elbo_history_)
    assert clone(a).get_params()["max_passes"] == 100


# ------------------------------------------------------------------------ online EM
def test_step_sizes():
    assert step_size(1, 0.6) == 1.0
    np.testing.assert_allclose([step_size(t, 1.0) for t in (1, 2, 4)], [1.0, 0.5, 0.25])
    np.testing.assert_allclose(step_size(3, 0.75, 13.0), 16.0**-0.75)


def test_online_em_first_step_and_running_average(mixture_data):
    """γ_1 = 1: the first chunk gives one batch EM iteration; with t0 > 0, the explicit average."""
    X = mixture_data
    start = poor_start(X, 3, "full")
    first, second = X[:3000], X[3000:]
    est = OnlineGaussianMixture(3, step_exponent=1.0, **init_kwargs(start)).partial_fit(first)
    for ours, pure in zip((est.weights_, est.means_, est.covariances_), m_step(first, e_step(first, *start)[0]), strict=True):
        np.testing.assert_allclose(ours, pure, rtol=1e-10, atol=1e-12)

    t0, kappa = 3.0, 0.7
    est = OnlineGaussianMixture(3, step_exponent=kappa, step_offset=t0, **init_kwargs(start))
    est.fit([first, second])
    g1, g2 = (1 + t0) ** -kappa, (2 + t0) ** -kappa
    # the statistics are of x - origin_ (the first chunk's mean), to keep their digits
    origin = first.mean(axis=0)
    np.testing.assert_allclose(est.origin_, origin, rtol=1e-15)
    start_centred = (start[0], start[1] - origin, start[2])
    s0 = expected_statistics(start_centred, "full")
    s1_stats, _ = chunk_statistics(first - origin, start_centred)
    S1 = (1 - g1) * s0 + (g1 / len(first)) * s1_stats
    s2_stats, _ = chunk_statistics(second - origin, parameters_from_statistics(S1))
    S2 = (1 - g2) * S1 + (g2 / len(second)) * s2_stats
    np.testing.assert_allclose(est.statistics_.second_moments, S2.second_moments, rtol=1e-12)
    np.testing.assert_allclose(est.means_, parameters_from_statistics(S2).means + origin, rtol=1e-12)
    assert est.chunk_loglik_history_.shape == (2,)


def test_partial_fit_equals_fit(mixture_data):
    chunks = np.array_split(mixture_data, 6)
    a = OnlineGaussianMixture(2, covariance_type="diag", random_state=4).fit(iter(chunks))
    b = OnlineGaussianMixture(2, covariance_type="diag", random_state=4)
    for c in chunks:
        b.partial_fit(c)
    np.testing.assert_array_equal(a.means_, b.means_)
    np.testing.assert_array_equal(a.chunk_loglik_history_, b.chunk_loglik_history_)


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize("Estimator", [IncrementalGaussianMixture, OnlineGaussianMixture])
def test_bad_chunks_are_reported_by_number(mixture_data, Estimator):
    good = mixture_data[:100]
    with pytest.raises(ValueError, match="chunk 1 has 3 columns, but chunk 0 has 2"):
        Estimator(2).fit([good, np.ones((10, 3))])
    with pytest.raises(ValueError, match="chunk 2 contains NaN"):
        Estimator(2).fit([good, good, np.array([[1.0, np.nan]])])
    with pytest.raises(ValueError, match="chunk 1 must be a 2-D array"):
        Estimator(2).fit([good, good[0]])
    with pytest.raises(ValueError, match="chunks is empty"):
        Estimator(2).fit([])
    with pytest.raises(TypeError, match="chunks must be"):
        Estimator(2).fit(good)  # one array, not chunks of it
    with pytest.raises(ValueError, match="n_components"):
        Estimator(200).fit([good])  # more components than rows in the first chunk
    with pytest.raises(ValueError, match="covariance_type"):
        Estimator(2, covariance_type="ful").fit([good])


def test_incremental_em_needs_re_readable_chunks(mixture_data):
    with pytest.raises(TypeError, match="generator cannot be used directly"):
        IncrementalGaussianMixture(2).fit(c for c in np.array_split(mixture_data, 3))
    with pytest.raises(ValueError, match="max_passes"):
        IncrementalGaussianMixture(2, max_passes=0).fit([mixture_data])


@pytest.mark.parametrize("kappa", [0.5, 1.2, -1.0])
def test_online_step_exponent_range(mixture_data, kappa):
    with pytest.raises(ValueError, match="step_exponent"):
        OnlineGaussianMixture(2, step_exponent=kappa).fit([mixture_data])


def test_online_partial_fit_checks_width(mixture_data):
    est = OnlineGaussianMixture(2, random_state=0).partial_fit(mixture_data[:100])
    with pytest.raises(ValueError, match="features"):
        est.partial_fit(np.ones((5, 3)))


# ------------------------------------------------------------------------- memory
MEMORY_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    from emlib.streaming import IncrementalGaussianMixture, OnlineGaussianMixture

    ROWS, D, K = 50_000, 10, 4

    def peak_bytes():
        with open("/proc/self/status") as status:
            return 1024 * next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))

    def stream(n_chunks, rows=ROWS):
        rng = np.random.default_rng(0)
        centres = rng.normal(scale=5.0, size=(K, D))
        for _ in range(n_chunks):
            chunk = rng.standard_normal((rows, D))
            chunk += centres[rng.integers(K, size=rows)]
            yield chunk

    # warm-up on small chunks: imports, BLAS buffers
    OnlineGaussianMixture(K, random_state=0).fit(stream(2, 1000))
    IncrementalGaussianMixture(K, max_passes=2, random_state=0).fit(lambda: stream(2, 1000))
    before = peak_bytes()
    n_chunks = int(sys.argv[1])
    OnlineGaussianMixture(K, random_state=0).fit(stream(n_chunks))
    IncrementalGaussianMixture(K, max_passes=2, tol=1e-300, random_state=0).fit(lambda: stream(n_chunks))
    print(ROWS * D * 8, peak_bytes() - before)
    """
)


def peak_growth(n_chunks: int) -> tuple[int, int]:
    """(bytes of one chunk, growth of the peak RSS) while streaming ``n_chunks`` chunks, in a fresh process."""
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", MEMORY_SCRIPT, str(n_chunks)],  # max_passes=2 warns: expected
        capture_output=True, text=True, check=True,
        env={"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MALLOC_MMAP_THRESHOLD_": "1048576"},
    )
    chunk_bytes, growth = map(int, result.stdout.split())
    return chunk_bytes, growth


def test_peak_memory_is_bounded_by_a_chunk_not_by_the_data():
    """Streaming 10 chunks (40 MB) raises the peak RSS by a few chunks' worth: the chunk in use, the next
    one being read, and the E-step's temporaries (about 6 on this machine), and by no more than
    streaming 2 chunks does. Holding the data would add 8 more chunks between 2 and 10.
    ``MALLOC_MMAP_THRESHOLD_`` makes glibc return every freed array to the system, so that the
    peak RSS measures live arrays rather than the allocator's reuse of freed ones."""
    chunk_bytes, growth_10 = peak_growth(10)
    _, growth_2 = peak_growth(2)
    assert growth_10 < 8 * chunk_bytes, f"peak RSS grew by {growth_10 / chunk_bytes:.1f} chunks"
    assert growth_10 - growth_2 < 0.5 * chunk_bytes, (
        f"{growth_2 / chunk_bytes:.2f} chunks for 2 chunks streamed, {growth_10 / chunk_bytes:.2f} for 10"
    )
