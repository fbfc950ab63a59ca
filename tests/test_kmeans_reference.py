"""emlib's k-means against scikit-learn's Lloyd algorithm and against brute force."""

from __future__ import annotations

import itertools
import re
import tracemalloc

import numpy as np
import pytest
from sklearn.cluster import KMeans as SkKMeans
from sklearn.exceptions import ConvergenceWarning

import emlib
from emlib.kmeans import (
    EXPANSION_RTOL, _compared_by_columns, _narrow_can_pay, _products_by_rows, assign_labels, block_sums_pass, bounded_lloyd_pass,
    first_argmin, kmeans_plusplus, lloyd_pass, narrow_pass, relabel_pass, squared_distances, update_centers,
)


@pytest.fixture(params=["faithful", "blobs"])
def data(request):
    return request.getfixturevalue(request.param)


@pytest.mark.parametrize("n_clusters", [2, 3, 5])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_same_labels_and_inertia_as_scikit_learn_lloyd(data, n_clusters, seed):
    rng = np.random.default_rng(seed)
    init = data[rng.choice(len(data), n_clusters, replace=False)]
    ours = emlib.KMeans(n_clusters, init=init, tol=1e-10, max_iter=1000).fit(data)
    theirs = SkKMeans(n_clusters, init=init, n_init=1, algorithm="lloyd", tol=1e-10, max_iter=1000).fit(data)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    np.testing.assert_allclose(ours.inertia_, theirs.inertia_, rtol=1e-10)
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(ours.predict(data[:50]), theirs.predict(data[:50]))
    np.testing.assert_allclose(ours.transform(data[:50]), theirs.transform(data[:50]), rtol=1e-9)


def test_squared_distances_match_brute_force(blobs):
    centers = blobs[:4]
    brute = ((blobs[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
    np.testing.assert_allclose(squared_distances(blobs, centers), brute, rtol=1e-9, atol=1e-9)


def test_update_centers_are_cluster_means(blobs):
    labels = np.arange(len(blobs)) % 4
    centers, counts = update_centers(blobs, labels, 4)
    np.testing.assert_array_equal(counts, np.bincount(labels))
    np.testing.assert_allclose(centers, [blobs[labels == k].mean(axis=0) for k in range(4)], rtol=1e-12)


def test_inertia_history_never_increases_and_ends_at_inertia(data):
    fit = emlib.KMeans(6, init="random", n_init=1, random_state=3).fit(data)
    history = fit.inertia_history_
    assert history.size == fit.n_iter_ + 1
    assert np.all(np.diff(history) <= 1e-9 * history[:-1])
    np.testing.assert_allclose(history[-1], fit.inertia_, rtol=0)
    _, d2 = assign_labels(data, fit.cluster_centers_)
    np.testing.assert_allclose(fit.inertia_, d2.sum(), rtol=1e-12)


def test_global_optimum_on_a_tiny_problem():
    """On 8 points Lloyd with restarts reaches the best of all 2^7 two-cluster partitions."""
    X = np.array([[0.0, 0.0], [0.2, 0.1], [0.1, 0.3], [2.0, 2.0], [2.2, 1.9], [1.9, 2.3], [5.0, 0.0], [5.2, 0.1]])
    best = np.inf
    for bits in itertools.product([0, 1], repeat=len(X) - 1):
        labels = np.array((0, *bits))
        if labels.min() == labels.max():
            continue
        best = min(best, sum(((X[labels == k] - X[labels == k].mean(axis=0)) ** 2).sum() for k in (0, 1)))
    fit = emlib.KMeans(2, n_init=10, init="random", random_state=0).fit(X)
    np.testing.assert_allclose(fit.inertia_, best, rtol=1e-12)


def test_kmeans_plusplus_picks_distinct_data_points(blobs):
    centers = kmeans_plusplus(blobs, 5, np.random.default_rng(0))
    assert centers.shape == (5, 3)
    assert len({tuple(c) for c in centers}) == 5
    assert all((blobs == c).all(axis=1).any() for c in centers)


def test_kmeans_plusplus_beats_random_initialisation_on_average(blobs):
    """k-means++ seeds alone give a lower distortion than random seeds (Arthur & Vassilvitskii 2007)."""
    def seed_cost(centers):
        return assign_labels(blobs, centers)[1].sum()
    rng = np.random.default_rng(1)
    plusplus = np.mean([seed_cost(kmeans_plusplus(blobs, 8, rng)) for _ in range(30)])
    uniform = np.mean([seed_cost(blobs[rng.choice(len(blobs), 8, replace=False)]) for _ in range(30)])
    assert plusplus < uniform


def test_more_restarts_never_give_higher_inertia(blobs):
    one = emlib.KMeans(7, init="random", n_init=1, random_state=5).fit(blobs).inertia_
    ten = emlib.KMeans(7, init="random", n_init=10, random_state=5).fit(blobs).inertia_
    assert ten <= one


def test_empty_cluster_is_relocated_not_nan():
    """A centre far from all data gets no points; it is moved onto a data point."""
    X = np.array([[0.0], [0.1], [0.2], [10.0], [10.1]])
    fit = emlib.KMeans(3, init=np.array([[0.0], [10.0], [1000.0]])).fit(X)
    assert np.isfinite(fit.cluster_centers_).all()
    assert len(np.unique(fit.labels_)) == 3
    assert fit.inertia_ < 0.05


def test_exact_ties_go_to_the_lowest_index_as_integer_arithmetic_says():
    """Binary points and 0/1 centres: distances are small integers, with many exact ties.

    Integer arithmetic gives the exact distances; the label must be the lowest index among the
    exact minima, whatever rounding the floating-point matrix product adds (it is what made
    the palette of chapter 2 and the optima of chapter 8 depend on the processor).
    """
    rng = np.random.default_rng(12)
    X = rng.integers(0, 2, size=(500, 16))
    centers = rng.integers(0, 2, size=(6, 16))
    exact = ((X[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)  # integers
    expected = np.argmin(exact, axis=1)  # numpy's argmin on integers: first minimum
    assert np.mean((exact == exact.min(axis=1, keepdims=True)).sum(axis=1) > 1) > 0.1  # many ties
    labels, min_d2 = assign_labels(X.astype(float), centers.astype(float))
    np.testing.assert_array_equal(labels, expected)
    np.testing.assert_allclose(min_d2, exact.min(axis=1), atol=1e-9)


@pytest.mark.parametrize("noise", [0.0, 1e-15, -1e-15])
def test_first_argmin_treats_rounding_differences_as_ties(noise):
    values = np.array([[3.0, 3.0 * (1 + noise), 5.0], [2.0 * (1 + noise), 2.0, 2.0], [4.0, 1.0, 1.0 + 1e-6]])
    np.testing.assert_array_equal(first_argmin(values, axis=1), [0, 0, 1])


@pytest.mark.parametrize(("n_samples", "n_clusters", "n_features", "by_rows"),
                         [(1000, 7, 5, False), (300, 40, 5, False), (257, 3, 5, False), (1000, 3, 12, True),
                          (600, 5, 40, True), (257, 1, 3, True)])
def test_lloyd_pass_is_the_assignment_and_update_steps(n_samples, n_clusters, n_features, by_rows):
    """The compiled pass (blocks of 256 rows, a partial last block; products by a GEMM or row by row) against
    the NumPy steps."""
    assert _products_by_rows.py_func(n_clusters, n_features) == by_rows
    rng = np.random.default_rng(n_clusters)
    X = rng.normal(size=(n_samples, n_features))
    centers = X[rng.choice(n_samples, n_clusters, replace=False)] + 0.01
    labels, min_d2, sums, counts = lloyd_pass(X, np.einsum("nd,nd->n", X, X), centers, np.ones(n_samples))
    brute = ((X[:, None, :] - centers[None]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(labels, brute.argmin(axis=1))
    np.testing.assert_allclose(min_d2, brute.min(axis=1), rtol=1e-13)
    np.testing.assert_array_equal(counts, np.bincount(labels, minlength=n_clusters))
    np.testing.assert_allclose(sums, [X[labels == k].sum(axis=0) for k in range(n_clusters)], rtol=1e-12, atol=1e-12)


def test_lloyd_pass_gives_exact_ties_to_the_lowest_index():
    rng = np.random.default_rng(13)
    X = rng.integers(0, 2, size=(600, 16)).astype(float)
    centers = rng.integers(0, 2, size=(9, 16)).astype(float)
    centers[5] = centers[2]  # a duplicated centre: never chosen
    exact = ((X[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
    row_norms, weights = np.einsum("nd,nd->n", X, X), np.ones(len(X))
    labels, min_d2, _, counts = lloyd_pass(X, row_norms, centers, weights)
    np.testing.assert_array_equal(labels, np.argmin(exact, axis=1))
    assert counts[5] == 0
    np.testing.assert_array_equal(min_d2, exact.min(axis=1))
    narrow_labels = np.zeros(len(X), dtype=np.intp)
    distortion, _, counts, _ = narrow_pass(X, row_norms, centers, weights, narrow_labels)  # a column at a time
    np.testing.assert_array_equal(narrow_labels, np.argmin(exact, axis=1))
    assert counts[5] == 0
    assert distortion == exact.min(axis=1).sum()  # integers: the expansion's and the distances' sums are exact


@pytest.mark.parametrize("make_bounds", [False, True, "narrow"])
def test_lloyd_pass_gives_rounding_ties_to_the_lowest_index(make_bounds):
    """Rows on the bisector of centres 0 and 1 (up to rounding): the compiled pass must treat the
    rounding differences as ties and choose centre 0, with or without computing bounds, and a column at a time."""
    rng = np.random.default_rng(14)
    centers = np.array([[0.3, -0.2, 0.1], [-0.1, 0.4, 0.25], [5.0, 5.0, 5.0]])
    normal = centers[1] - centers[0]
    along = rng.normal(size=(2000, 3))
    along -= np.outer(along @ normal / (normal @ normal), normal)  # perpendicular to the centres' difference
    X = np.ascontiguousarray((centers[0] + centers[1]) / 2 + along)
    values = np.einsum("kd,kd->k", centers, centers) - 2 * X @ centers.T
    assert np.mean(values[:, 1] < values[:, 0]) > 0.1  # a strict argmin would often choose 1
    labels, lower = np.zeros(len(X), dtype=np.intp), np.zeros(len(X))
    row_norms, weights = np.einsum("nd,nd->n", X, X), np.ones(len(X))
    if make_bounds == "narrow":
        narrow_pass(X, row_norms, centers, weights, labels)
    elif make_bounds:
        bounded_lloyd_pass(X, row_norms, centers, weights, labels, lower, np.zeros(3), False)
    else:
        relabel_pass(X, row_norms, centers, weights, labels)
    np.testing.assert_array_equal(labels, 0)
    if make_bounds is True:  # the bound for the other centres is the distance to centre 1, the tied one
        np.testing.assert_allclose(lower, np.sqrt(((X - centers[1]) ** 2).sum(axis=1)), rtol=1e-6)


# The passes of a fit return the distortion to EXPANSION_RTOL, plus the rounding of adding up a block's 256 rows
# (2^-45 of it): within 1e-12.
DISTORTION_RTOL = 1e-12


@pytest.mark.parametrize("n_features", [2, 6])  # distances computed directly; the distortion from the expansion
def test_relabel_pass_is_lloyd_pass_with_the_distortion(n_features):
    """relabel_pass: lloyd_pass's labels and sums bit for bit, its weighted distances summed to DISTORTION_RTOL,
    and the number of labels that changed from the labels passed in."""
    assert 2 < emlib.kmeans.EXPANSION_MIN_FEATURES <= 6
    rng = np.random.default_rng(23)
    X = rng.normal(size=(1000, n_features))
    X += rng.normal(scale=2.0, size=(4, n_features))[rng.integers(4, size=1000)]
    X = np.ascontiguousarray(X - X.mean(axis=0))
    row_norms, weights = np.einsum("nd,nd->n", X, X), rng.uniform(0.5, 2.0, len(X))
    centers = X[:4].copy()
    labels = rng.integers(4, size=len(X))
    before = labels.copy()
    distortion, sums, cluster_weights, n_changed = relabel_pass(X, row_norms, centers, weights, labels)
    expected = lloyd_pass(X, row_norms, centers, weights)
    for ours, theirs in zip((labels, sums, cluster_weights), expected[:1] + expected[2:]):
        np.testing.assert_array_equal(ours, theirs)
    exact = ((X - centers[labels]) ** 2).sum(axis=1)
    np.testing.assert_allclose(distortion, weights @ exact, rtol=DISTORTION_RTOL)
    assert n_changed == np.count_nonzero(labels != before)


@pytest.mark.parametrize(("n_features", "n_clusters", "dtype"),
                         [(1, 3, np.float64), (2, 10, np.float64), (5, 4, np.float64), (2, 3, np.float32)])
def test_narrow_pass_is_relabel_pass_a_column_at_a_time(n_features, n_clusters, dtype):
    """narrow_pass on 1000 rows (a partial last block): lloyd_pass's labels, its sums up to rounding (another
    order), the weighted distances summed to DISTORTION_RTOL (float32: to float32's rounding) and the number of
    labels that changed."""
    rng = np.random.default_rng(24)
    X = rng.normal(size=(1000, n_features)) + rng.normal(scale=2.0, size=(n_clusters, n_features))[
        rng.integers(n_clusters, size=1000)]
    X = np.ascontiguousarray(X - X.mean(axis=0), dtype=dtype)
    row_norms, weights = np.einsum("nd,nd->n", X, X, dtype=np.float64), rng.uniform(0.5, 2.0, len(X))
    centers = X[:n_clusters].copy()
    labels = rng.integers(n_clusters, size=len(X))
    before = labels.copy()
    distortion, sums, cluster_weights, n_changed = narrow_pass(X, row_norms, centers, weights, labels)
    expected_labels, _, expected_sums, expected_weights = lloyd_pass(X, row_norms, centers, weights)
    np.testing.assert_array_equal(labels, expected_labels)
    np.testing.assert_allclose(sums, expected_sums, rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(cluster_weights, expected_weights, rtol=1e-13)
    exact = ((X.astype(np.float64) - centers[labels]) ** 2).sum(axis=1)
    np.testing.assert_allclose(distortion, weights @ exact, rtol=DISTORTION_RTOL if dtype == np.float64 else 1e-6)
    assert n_changed == np.count_nonzero(labels != before) > 0


def test_every_pass_keeps_the_distortion_of_rows_near_their_centre_far_from_the_origin():
    """Rows within 1e-4 of centres at norm 1e3: the expansion ||x||^2 + ||mu||^2 - 2 x.mu loses about all of its
    digits (its error, 1e-10, is their squared distance), so every pass must compute their distances directly,
    and return the distortion to DISTORTION_RTOL."""
    rng = np.random.default_rng(22)
    centers = rng.normal(scale=1e3 / np.sqrt(5), size=(3, 5))
    X = centers[rng.integers(3, size=1000)] + rng.normal(scale=1e-4 / np.sqrt(5), size=(1000, 5))
    row_norms, weights = np.einsum("nd,nd->n", X, X), rng.uniform(0.5, 2.0, len(X))
    labels, min_d2 = lloyd_pass(X, row_norms, centers, weights)[:2]
    exact = ((X - centers[labels]) ** 2).sum(axis=1)
    np.testing.assert_allclose(min_d2, exact, rtol=1e-13)  # lloyd_pass: every distance directly
    expanded = row_norms + np.einsum("kd,kd->k", centers, centers)[labels] - 2.0 * np.einsum("nd,nd->n", X, centers[labels])
    assert abs(weights @ expanded / (weights @ exact) - 1.0) > 1e-3  # the expansion would be far off
    n_blocks = -(-len(X) // emlib.kmeans.BLOCK_ROWS)
    block_sums, block_weights = np.empty((n_blocks, 3, 5)), np.empty((n_blocks, 3))
    distortions = {
        "relabel_pass": relabel_pass(X, row_norms, centers, weights, labels.copy())[0],
        "narrow_pass": narrow_pass(X, row_norms, centers, weights, labels.copy())[0],
        "block_sums_pass, every block summed": block_sums_pass(
            X, row_norms, centers, weights, labels.copy(), block_sums, block_weights, False)[0],
        "block_sums_pass, every block reused": block_sums_pass(
            X, row_norms, centers, weights, labels.copy(), block_sums, block_weights, True)[0],
        "bounded_lloyd_pass, first pass": bounded_lloyd_pass(
            X, row_norms, centers, weights, labels.copy(), np.zeros(len(X)), np.zeros(3), False)[0],
    }
    for name, distortion in distortions.items():
        np.testing.assert_allclose(distortion, weights @ exact, rtol=DISTORTION_RTOL, err_msg=name)


def test_block_sums_passes_reuse_the_sums_of_blocks_whose_labels_stay():
    """Lloyd's iterations with every block's sums kept from the last pass, in passes where some blocks keep
    all their labels and some do not: the labels of full passes, their distances and sums up to rounding
    (each loop may order a sum's terms its own way), and bit for bit the sums of a pass that sums every
    block again."""
    rng = np.random.default_rng(21)
    X = rng.normal(size=(3000, 4)) + rng.normal(scale=3.0, size=(3, 4))[rng.integers(3, size=3000)]
    X = np.ascontiguousarray(X - X.mean(axis=0))
    row_norms, weights = np.einsum("nd,nd->n", X, X), rng.uniform(0.5, 2.0, len(X))
    centers = X[:3].copy()
    edges = range(emlib.kmeans.BLOCK_ROWS, len(X), emlib.kmeans.BLOCK_ROWS)
    block_sums, block_weights = np.empty((len(edges) + 1, 3, 4)), np.empty((len(edges) + 1, 3))
    labels, mixed_passes = np.zeros(len(X), dtype=np.intp), []
    for reuse in [False] + [True] * 9:
        previous = labels.copy()
        fresh = np.full_like(block_sums, np.nan), np.full_like(block_weights, np.nan)  # read if not summed: NaN
        summed_again = block_sums_pass(X, row_norms, centers, weights, labels.copy(), *fresh, False)
        marked = block_sums + 1.0  # the last pass's sums, marked: a reused block keeps the mark
        block_sums_pass(X, row_norms, centers, weights, labels.copy(), marked, block_weights.copy(), reuse)
        old_sums = block_sums.copy()
        distortion, sums, cluster_weights, _ = block_sums_pass(
            X, row_norms, centers, weights, labels, block_sums, block_weights, reuse
        )
        full = lloyd_pass(X, row_norms, centers, weights)
        np.testing.assert_array_equal(labels, full[0])
        np.testing.assert_allclose(distortion, weights @ full[1], rtol=DISTORTION_RTOL)
        for ours, theirs in zip((sums, cluster_weights), full[2:]):
            np.testing.assert_allclose(ours, theirs, rtol=1e-13)
        np.testing.assert_array_equal(distortion, summed_again[0])  # the same blocks' distortions, in order
        for ours, theirs in zip((sums, cluster_weights), summed_again[1:3]):
            np.testing.assert_array_equal(ours, theirs)
        kept = np.array([np.array_equal(ours, before)
                         for ours, before in zip(np.split(labels, edges), np.split(previous, edges))])
        expected_marked = np.where((reuse & kept)[:, None, None], old_sums + 1.0, block_sums)
        np.testing.assert_array_equal(marked, expected_marked)  # reused exactly the blocks whose labels stayed
        mixed_passes.append(reuse and kept.any() and not kept.all())
        centers = sums / cluster_weights[:, None]
    assert any(mixed_passes)  # some pass reused some blocks' sums and summed others again
    for wrong in (block_sums[:-1], block_sums[:, :2]):  # a block too few, a cluster too few
        with pytest.raises(ValueError, match="block_sums and block_weights need shapes"):
            block_sums_pass(X, row_norms, centers, weights, labels, wrong, block_weights, False)
    with pytest.raises(ValueError, match="block_sums and block_weights need shapes"):
        block_sums_pass(X, row_norms, centers, weights, labels, block_sums, block_weights[:-1], False)


def test_kmeans_with_one_cluster_and_block_sums_gives_the_mean():
    """One cluster, D = 3: every label stays 0 from the first pass on, which must still sum every block."""
    X = np.random.default_rng(4).normal(loc=2.0, size=(1000, 3))
    fit = emlib.KMeans(1, random_state=0).fit(X)
    np.testing.assert_allclose(fit.cluster_centers_[0], X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(fit.inertia_, ((X - X.mean(axis=0)) ** 2).sum(), rtol=1e-12)


def _bounded_data(kind: str, rng: np.random.Generator) -> np.ndarray:
    if kind == "ties":  # binary rows: exact ties between centres, and a duplicated centre below
        return rng.integers(0, 2, size=(900, 12)).astype(float)
    n_features, n_samples = 24 if kind == "wide" else 3, 5000 if kind in ("blobs", "many") else 900
    X = rng.normal(size=(n_samples, n_features)) + rng.normal(scale=4.0, size=(6, n_features))[
        rng.integers(6, size=n_samples)]
    return {"far": X + 1e6, "float32": X.astype(np.float32)}.get(kind, X)


@pytest.mark.parametrize("kind", ["blobs", "ties", "far", "float32", "wide", "many"])
def test_bounded_passes_give_the_labels_of_full_passes(kind):
    """Lloyd's iterations with Hamerly's bounds against full comparisons, pass by pass: the same labels,
    distances (summed into the distortion) and sums; the bounds must stay below the true distance to every
    other centre. With 7 centres and at most 16 features, the rows a bound leaves unsettled are compared a
    column at a time; in "wide" (24 features), their products are computed row by row, as are those of whole
    blocks; in "many" (20 centres), by a GEMM. "blobs" and "many" have 5000 rows: the bounds of 4096 rows are
    tested before their unsettled rows are compared, 256 at a time."""
    assert emlib.kmeans.BOUNDED_BLOCK_ROWS == 4096 and emlib.kmeans.BLOCK_ROWS == 256
    rng = np.random.default_rng(7)
    X = _bounded_data(kind, rng)
    n_clusters = 20 if kind == "many" else 7
    assert _products_by_rows.py_func(n_clusters, X.shape[1]) == (kind == "wide")
    assert _compared_by_columns.py_func(n_clusters, X.shape[1]) == (kind not in ("wide", "many"))
    X = np.ascontiguousarray(X - X.mean(axis=0))  # as KMeans centres the data
    row_norms, weights = np.einsum("nd,nd->n", X, X), rng.uniform(0.5, 2.0, len(X))
    centers = X[rng.choice(len(X), n_clusters, replace=False)].copy()
    centers[5] = centers[2]
    labels, lower = np.zeros(len(X), dtype=np.intp), np.zeros(len(X))
    shift, bounded = np.zeros(n_clusters), False
    for _ in range(8):
        expected = lloyd_pass(X, row_norms, centers, weights)
        distortion, sums, cluster_weights, _ = bounded_lloyd_pass(
            X, row_norms, centers, weights, labels, lower, shift, bounded
        )
        for ours, theirs in zip((labels, sums, cluster_weights), expected[:1] + expected[2:]):
            np.testing.assert_array_equal(ours, theirs)  # the same rows, added in the same order
        np.testing.assert_allclose(distortion, weights @ expected[1], rtol=1e-14)  # its distances, summed
        distances = np.sqrt(((X[:, None, :] - centers[None]) ** 2).sum(axis=2))
        distances[np.arange(len(X)), labels] = np.inf
        assert np.all(lower <= distances.min(axis=1) * (1 + (1e-5 if kind == "float32" else 1e-12)))
        new_centers = np.where(cluster_weights[:, None] > 0, sums / np.maximum(cluster_weights, 1e-300)[:, None], centers)
        new_centers = new_centers.astype(X.dtype)
        moved = np.sqrt(((new_centers - centers) ** 2).sum(axis=1))
        shift = np.array([np.delete(moved, k).max() for k in range(n_clusters)])
        centers, bounded = new_centers, True


def test_float32_data_are_fitted_in_float32_as_by_scikit_learn(blobs):
    """float32 data stay float32 (products in float32, sums in float64), as in scikit-learn: the same
    fit but for a point within float32 rounding of a boundary, and half the memory of float64."""
    X = (blobs * 3.0 + 100.0).astype(np.float32)
    init = X[[0, 150, 300, 450]]
    ours = emlib.KMeans(4, init=init, tol=1e-10, max_iter=1000).fit(X)
    theirs = SkKMeans(4, init=init, n_init=1, algorithm="lloyd", tol=1e-10, max_iter=1000).fit(X)
    assert ours.cluster_centers_.dtype == np.float32
    assert np.mean(ours.labels_ != theirs.labels_) <= 2 / len(X)
    np.testing.assert_allclose(ours.inertia_, theirs.inertia_, rtol=1e-5)
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=1e-5)
    data = np.random.default_rng(0).normal(size=(50_000, 8))
    peaks = []
    for dtype in (np.float64, np.float32):
        X = data.astype(dtype)
        emlib.KMeans(5, random_state=0).fit(X[:100])  # compile first: the compiler's memory is not the fit's
        tracemalloc.start()
        emlib.KMeans(5, random_state=0).fit(X)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 0.7 * peaks[0]


def test_float32_predictions_are_float32_as_scikit_learn_s(blobs):
    """After a float32 fit, float32 data are assigned in float32 and ``transform`` returns float32, as
    in scikit-learn; mixing dtypes (where scikit-learn raises) works in float64."""
    X = (blobs * 3.0 + 100.0).astype(np.float32)
    init = X[[0, 150, 300, 450]]
    ours = emlib.KMeans(4, init=init, tol=1e-10, max_iter=1000).fit(X)
    theirs = SkKMeans(4, init=init, n_init=1, algorithm="lloyd", tol=1e-10, max_iter=1000).fit(X)
    distances = ours.transform(X)
    assert distances.dtype == theirs.transform(X).dtype == np.float32
    np.testing.assert_allclose(distances, theirs.transform(X), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(ours.fit_transform(X), distances, rtol=1e-6)
    assert np.mean(ours.predict(X) != theirs.predict(X)) <= 2 / len(X)
    np.testing.assert_allclose(ours.score(X), theirs.score(X), rtol=1e-5)
    widened = X.astype(np.float64)  # the same values in float64: computed in float64
    assert ours.transform(widened).dtype == np.float64
    np.testing.assert_allclose(ours.transform(widened), distances, rtol=1e-4, atol=1e-4)
    double = emlib.KMeans(4, init=init.astype(np.float64), tol=1e-10, max_iter=1000).fit(widened)
    np.testing.assert_array_equal(double.predict(X), double.predict(widened))
    assert double.transform(X).dtype == np.float64


@pytest.mark.parametrize(("n_clusters", "n_features", "bounded"), [(3, 2, False), (3, 10, False), (10, 2, True), (3, 40, True)])
def test_fits_use_bounds_only_where_they_can_pay(monkeypatch, n_clusters, n_features, bounded):
    """Bounded passes for K >= 10 or K D >= 100 only; with or without them, the same fit, bit for bit, but for
    the distortions (the passes without bounds take them from the expansion) within DISTORTION_RTOL."""
    rng = np.random.default_rng(9)
    means = rng.normal(scale=0.5, size=(n_clusters, n_features))  # overlapping: enough passes for bounds
    X = rng.normal(size=(3000, n_features)) + means[rng.integers(n_clusters, size=3000)]
    calls = []
    monkeypatch.setattr(emlib.kmeans, "bounded_lloyd_pass", lambda *args: calls.append(1) or bounded_lloyd_pass(*args))
    monkeypatch.setattr(emlib.kmeans, "_block_sums_can_pay", lambda *args: False)  # the other passes: relabel_pass
    monkeypatch.setattr(emlib.kmeans, "_narrow_can_pay", lambda *args: False)
    fit = emlib.KMeans(n_clusters, random_state=0, tol=1e-12).fit(X)
    assert bool(calls) == bounded
    monkeypatch.setattr(emlib.kmeans, "_bounds_can_pay", lambda n_clusters, n_features: False)
    unbounded = emlib.KMeans(n_clusters, random_state=0, tol=1e-12).fit(X)
    np.testing.assert_array_equal(fit.labels_, unbounded.labels_)
    np.testing.assert_array_equal(fit.cluster_centers_, unbounded.cluster_centers_)
    np.testing.assert_allclose(fit.inertia_history_, unbounded.inertia_history_, rtol=DISTORTION_RTOL)


@pytest.mark.parametrize(("n_clusters", "n_features", "kept"),
                         [(3, 2, False), (3, 3, True), (3, 10, True), (10, 2, False), (10, 3, False), (3, 40, False)])
def test_fits_keep_block_sums_only_without_bounds_and_from_3_features(monkeypatch, n_clusters, n_features, kept):
    """block_sums_pass where the bounds cannot pay and D >= 3; with or without it, the same labels and
    iterations, and centres and distortions equal up to rounding (the sums grouped by block)."""
    rng = np.random.default_rng(9)
    means = rng.normal(scale=0.5, size=(n_clusters, n_features))
    X = rng.normal(size=(3000, n_features)) + means[rng.integers(n_clusters, size=3000)]
    reuses = []  # the reuse argument of each call
    monkeypatch.setattr(emlib.kmeans, "block_sums_pass", lambda *args: reuses.append(args[7]) or block_sums_pass(*args))
    monkeypatch.setattr(emlib.kmeans, "_narrow_can_pay", lambda *args: False)
    fit = emlib.KMeans(n_clusters, random_state=0, tol=1e-12).fit(X)
    assert reuses == ([False] + [True] * fit.n_iter_ if kept else [])
    monkeypatch.setattr(emlib.kmeans, "_block_sums_can_pay", lambda *args: False)
    plain = emlib.KMeans(n_clusters, random_state=0, tol=1e-12).fit(X)
    np.testing.assert_array_equal(fit.labels_, plain.labels_)
    np.testing.assert_allclose(fit.cluster_centers_, plain.cluster_centers_, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(fit.inertia_history_, plain.inertia_history_, rtol=1e-12)


@pytest.mark.parametrize(("n_clusters", "n_features", "narrow"),
                         [(3, 2, True), (10, 2, True), (20, 2, True), (5, 10, True), (30, 1, False), (3, 20, False),
                          (21, 2, False)])
def test_fits_run_every_pass_a_column_at_a_time_where_it_pays(monkeypatch, n_clusters, n_features, narrow):
    """narrow_pass for every pass where K <= 20 and K D <= 50, no other pass beside it; with or without it, the
    same labels and iterations, centres and distortions up to rounding (the sums in another order)."""
    assert _narrow_can_pay(n_clusters, n_features) == narrow
    rng = np.random.default_rng(10)
    means = rng.normal(scale=0.5, size=(n_clusters, n_features))
    X = rng.normal(size=(3000, n_features)) + means[rng.integers(n_clusters, size=3000)]
    calls = []
    for name in ("narrow_pass", "relabel_pass", "block_sums_pass", "bounded_lloyd_pass"):
        monkeypatch.setattr(emlib.kmeans, name, lambda *args, name=name, run=getattr(emlib.kmeans, name):
                            calls.append(name) or run(*args))
    fit = emlib.KMeans(n_clusters, random_state=0, tol=1e-12).fit(X)
    assert len(calls) == fit.n_iter_ + 1  # the first pass, then one per iteration
    assert (set(calls) == {"narrow_pass"}) == narrow
    monkeypatch.setattr(emlib.kmeans, "_narrow_can_pay", lambda *args: False)
    other = emlib.KMeans(n_clusters, random_state=0, tol=1e-12).fit(X)
    np.testing.assert_array_equal(fit.labels_, other.labels_)
    assert fit.n_iter_ == other.n_iter_
    np.testing.assert_allclose(fit.cluster_centers_, other.cluster_centers_, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(fit.inertia_history_, other.inertia_history_, rtol=1e-12)


def test_bounds_settle_most_rows_near_convergence():
    """With the centres unchanged but a claimed shift of 1e-3 for every centre, a settled row's bound
    drops by exactly 1e-3, a compared row's is recomputed: most rows must be settled."""
    rng = np.random.default_rng(8)
    X = np.ascontiguousarray(_bounded_data("blobs", rng))
    row_norms, weights = np.einsum("nd,nd->n", X, X), np.ones(len(X))
    centers = emlib.KMeans(6, random_state=0).fit(X).cluster_centers_
    labels, lower = np.zeros(len(X), dtype=np.intp), np.zeros(len(X))
    bounded_lloyd_pass(X, row_norms, centers, weights, labels, lower, np.zeros(6), False)
    before = lower.copy()
    bounded_lloyd_pass(X, row_norms, centers, weights, labels, lower, np.full(6, 1e-3), True)
    settled = lower == np.maximum(before - 1e-3, 0.0)
    assert settled.mean() > 0.9
    np.testing.assert_array_equal(labels, lloyd_pass(X, row_norms, centers, weights)[0])


def test_fits_scaled_by_a_power_of_two_agree_bit_for_bit(blobs):
    init = blobs[[0, 50, 100, 150]]
    fit = emlib.KMeans(4, init=init).fit(blobs)
    scaled = emlib.KMeans(4, init=init * 2.0**70).fit(blobs * 2.0**70)
    np.testing.assert_array_equal(scaled.labels_, fit.labels_)
    np.testing.assert_array_equal(scaled.cluster_centers_, fit.cluster_centers_ * 2.0**70)
    np.testing.assert_array_equal(scaled.inertia_history_, fit.inertia_history_ * 2.0**140)


def test_data_as_large_as_1e160_fit_without_overflow(blobs):
    """Squared distances of 1e160 overflow; k-means++ then failed inside NumPy ('Probabilities contain
    NaN'). emlib works on centred data scaled by a power of two: the far point gets its own cluster,
    and the centres are right to round-off of the data's range (centring by a mean of 1.7e157 costs
    the small centres their digits, as in scikit-learn, which centres too)."""
    far = np.array([[1e160, 0.0, 0.0]])
    X = np.vstack([blobs, far])
    fit = emlib.KMeans(2, random_state=0).fit(X)
    assert np.all(np.isfinite(fit.cluster_centers_))
    alone = fit.labels_[-1]
    assert np.sum(fit.labels_ == alone) == 1
    np.testing.assert_allclose(fit.cluster_centers_[alone], far[0], rtol=1e-15)
    np.testing.assert_allclose(fit.cluster_centers_[1 - alone], blobs.mean(axis=0), atol=4 * np.finfo(float).eps * 1e160)
    np.testing.assert_array_equal(fit.predict(np.vstack([far, blobs[:3]])), [alone, 1 - alone, 1 - alone, 1 - alone])


def test_fit_transform_is_the_distance_to_every_centre(blobs):
    distances = emlib.KMeans(4, random_state=0).fit_transform(blobs)
    fit = emlib.KMeans(4, random_state=0).fit(blobs)
    brute = np.sqrt(((blobs[:, None, :] - fit.cluster_centers_[None]) ** 2).sum(axis=2))
    np.testing.assert_allclose(distances, brute, rtol=1e-9)
    np.testing.assert_array_equal(distances.argmin(axis=1), fit.labels_)


def test_warnings_as_scikit_learn():
    """Given centres with n_init > 1, and fewer distinct points than clusters, warn in the same category."""
    X = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0], [1.0, 1.0]])
    with pytest.warns(ConvergenceWarning, match="distinct clusters \\(2\\)"):
        emlib.KMeans(3, random_state=0).fit(X)
    with pytest.warns(ConvergenceWarning, match="distinct clusters \\(2\\)"):
        SkKMeans(3, random_state=0, n_init=1).fit(X)
    with pytest.warns(RuntimeWarning, match="once"):
        emlib.KMeans(2, init=X[1:3], n_init=3).fit(X)
    with pytest.warns(RuntimeWarning, match="only one init"):
        SkKMeans(2, init=X[1:3], n_init=3).fit(X)


def test_sample_weight_as_in_scikit_learn_and_as_repeated_rows(blobs):
    rng = np.random.default_rng(21)
    weights = rng.integers(0, 4, size=len(blobs))
    init = blobs[[1, 201, 401, 5]]
    ours = emlib.KMeans(4, init=init, tol=1e-10).fit(blobs, sample_weight=weights)
    theirs = SkKMeans(4, init=init, n_init=1, algorithm="lloyd", tol=1e-10).fit(blobs, sample_weight=weights)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=1e-10)
    np.testing.assert_allclose(ours.inertia_, theirs.inertia_, rtol=1e-10)
    repeated = emlib.KMeans(4, init=init, tol=1e-10).fit(np.repeat(blobs, weights, axis=0))
    np.testing.assert_allclose(repeated.cluster_centers_, ours.cluster_centers_, rtol=1e-10)
    np.testing.assert_allclose(repeated.inertia_history_, ours.inertia_history_, rtol=1e-10)
    # k-means++ never seeds on a row of weight 0
    seeded = emlib.kmeans.kmeans_plusplus(blobs, 6, np.random.default_rng(0), sample_weight=(weights > 0) * 1.0)
    assert all(weights[np.flatnonzero((blobs == c).all(axis=1))[0]] > 0 for c in seeded)


@pytest.mark.parametrize(("sample_weight", "message"), [
    ([1.0, 2.0], "shape (600,)"), (-np.ones(600), ">= 0"), (np.zeros(600), "all zero"),
    (np.full(600, np.nan), "finite"), (np.array(["a"] * 600), "real numbers"),
])
def test_bad_sample_weight_is_rejected(blobs, sample_weight, message):
    with pytest.raises((ValueError, TypeError), match=re.escape(message)):
        emlib.KMeans(3).fit(blobs, sample_weight=sample_weight)


def test_kmeans_plusplus_draws_as_numpy_choice_does():
    """Candidates are drawn by inverting the cumulative probabilities: the draws of rng.choice(p=...)."""
    rng = np.random.default_rng(11)
    for _ in range(200):
        p = rng.random(int(rng.integers(1, 500))) ** 4
        p /= p.sum()
        ours = emlib.kmeans._draw_proportional(p, 5, np.random.default_rng(7))
        np.testing.assert_array_equal(ours, np.random.default_rng(7).choice(p.size, size=5, p=p))


def test_kmeans_plusplus_on_centred_data_with_its_row_norms(blobs):
    """Given the squared row norms of centred data, k-means++ uses the data as they are: the same seeds."""
    Y = blobs - blobs.mean(axis=0)
    given = kmeans_plusplus(Y, 5, np.random.default_rng(3), row_norms=np.einsum("nd,nd->n", Y, Y))
    np.testing.assert_array_equal(given, kmeans_plusplus(Y, 5, np.random.default_rng(3)))
    np.testing.assert_allclose(given + blobs.mean(axis=0), kmeans_plusplus(blobs, 5, np.random.default_rng(3)), rtol=1e-14)


def test_kmeans_plusplus_says_when_squared_distances_overflow():
    X = np.array([[1e160, 0.0], [0.0, 0.0], [1.0, 1.0]])
    with pytest.raises(ValueError, match="overflow"):
        kmeans_plusplus(X, 2, np.random.default_rng(0))
    assert np.isfinite(emlib.KMeans(2, random_state=0).fit(X).cluster_centers_).all()  # KMeans rescales first
