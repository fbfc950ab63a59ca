r"""k-means as hard EM (Lloyd's algorithm), with k-means++ seeding.

k-means minimises the distortion

.. math::

    J(\mu, z) = \sum_{n=1}^{N} \lVert x_n - \mu_{z_n} \rVert^2

by alternating two exact minimisations: the assignment step (each point to its nearest
centre, an E-step with hard responsibilities) and the update step (each centre to the
mean of its points, the M-step). Neither step can raise ``J``, so it never increases.

The pure functions :func:`squared_distances`, :func:`assign_labels` and :func:`update_centers`
are the two steps as chapter 2 writes them, one NumPy expression each. :class:`KMeans` runs the
same two steps fused into one compiled pass over the data (:func:`lloyd_pass`, as scikit-learn's
Lloyd does): per block of rows one matrix product gives the inner products with the centres (or,
for a few centres beside many features, a loop over the rows: :func:`_products_by_rows`), then
each row is assigned and added to its centre's sum while it is in the cache, so that no
:math:`N \times K` distance matrix, :math:`N \times D` temporary or one-hot matrix is formed.
Once few labels change, its passes skip the rows whose nearest centre a bound already settles
(:func:`bounded_lloyd_pass`, Hamerly's algorithm): the same labels, with less work. With few centres
and features, every pass works a column at a time instead (:func:`narrow_pass`), in loops along the
rows that the compiler vectorises.
"""

from __future__ import annotations

import warnings
from typing import Any

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning

from ._validation import (
    check_data,
    check_fitted_data,
    check_n_samples,
    check_option,
    check_parameter_array,
    check_positive_float,
    check_positive_int,
    check_random_state,
    check_sample_weight,
)

__all__ = [
    "KMeans", "assign_labels", "block_sums_pass", "bounded_lloyd_pass", "first_argmin", "kmeans_plusplus", "lloyd_pass",
    "narrow_pass", "relabel_pass", "squared_distances", "update_centers",
]

# Values within this relative distance of a minimum count as tied with it (see first_argmin).
TIE_RTOL = 1e-9
# Rows per block of lloyd_pass: the block and its inner products with the centres stay in the cache.
BLOCK_ROWS = 256
# KMeans tries the bounds of bounded_lloyd_pass once a pass changes fewer than this fraction of the labels,
BOUNDS_BELOW_CHANGED = 0.1
# and only with at least this many clusters, or this many clusters times features (see _bounds_can_pay).
BOUNDS_MIN_CLUSTERS, BOUNDS_MIN_WORK = 10, 100
# A pass computes its products row by row, not by a GEMM, with at most this many centres and at least this many
# features per centre (see _products_by_rows); for the rows a bound leaves unsettled, with at most this many centres.
PRODUCTS_BY_ROWS_MAX_CLUSTERS, PRODUCTS_BY_ROWS_FEATURES_PER_CLUSTER = 16, 3
# KMeans runs every pass a column at a time (narrow_pass) with at most this many clusters and clusters times
# features (see _narrow_can_pay).
NARROW_MAX_CLUSTERS, NARROW_MAX_WORK = 20, 50
# Hamerly's passes compare the rows a bound leaves unsettled a column at a time with at most this many centres and
# features (see _compared_by_columns).
COLUMNS_MAX_CLUSTERS, COLUMNS_MAX_FEATURES = 16, 16
# Hamerly's passes test the bounds of this many rows, then compare those left unsettled BLOCK_ROWS at a time.
BOUNDED_BLOCK_ROWS = 16 * BLOCK_ROWS
# Without bounds, KMeans keeps each block's sums for the next pass from this many features on (_block_sums_can_pay).
BLOCK_SUMS_MIN_FEATURES = 3
# A pass of a fit takes a block's distortion from the expansion where its rounding error is at most this fraction
# of it, and computes it directly elsewhere (see _expansion_trusted),
EXPANSION_RTOL = 2.0**-40
# from this many features on: with fewer, computing the distances directly costs less (see relabel_pass).
EXPANSION_MIN_FEATURES = 4


def squared_distances(X: NDArray, centers: NDArray) -> NDArray:
    r"""Squared Euclidean distance from every point to every centre.

    .. math:: d_{nk} = \lVert x_n \rVert^2 - 2\, x_n^\top \mu_k + \lVert \mu_k \rVert^2

    computed with one matrix product; round-off negatives are clipped to 0. Both ``X`` and the
    centres are first shifted by the mean of the centres (distances do not change), so that the
    three terms do not cancel when the data lie far from the origin compared with their spread.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    centers : ndarray of shape (n_clusters, n_features)

    Returns
    -------
    ndarray of shape (n_samples, n_clusters)
    """
    shift = centers.mean(axis=0)
    X, centers = X - shift, centers - shift
    d2 = np.einsum("nd,nd->n", X, X)[:, None] - 2.0 * X @ centers.T + np.einsum("kd,kd->k", centers, centers)
    return np.maximum(d2, 0.0)


def first_argmin(values: NDArray, axis: int = -1) -> NDArray[np.intp]:
    r"""The lowest index whose value is within a relative ``TIE_RTOL`` (1e-9) of the minimum.

    .. math:: \min\{k : v_k \le \min_j v_j + 10^{-9} \lvert \min_j v_j \rvert\}

    On data with exact ties (binary images, 8-bit pixels, duplicated points) two distances
    can be equal in exact arithmetic and differ only by rounding, which depends on the
    processor's BLAS and SIMD kernels. ``np.argmin`` would then pick a different winner on a
    different machine; treating near-ties as ties, and giving them to the lowest index,
    makes the choice the same everywhere. Rounding errors are about 1e-16 relative, genuine
    differences in these algorithms far above 1e-9.
    """
    values = np.asarray(values)
    smallest = values.min(axis=axis, keepdims=True)
    return np.argmax(values <= smallest + TIE_RTOL * np.abs(smallest), axis=axis)


def assign_labels(X: NDArray, centers: NDArray) -> tuple[NDArray[np.intp], NDArray]:
    r"""The assignment (hard E-) step: :math:`z_n = \arg\min_k \lVert x_n - \mu_k \rVert^2`.

    Ties, and distances equal up to rounding, go to the lowest index (:func:`first_argmin`),
    as exact ties do in scikit-learn.

    Returns
    -------
    labels : ndarray of shape (n_samples,)
    min_sq_dist : ndarray of shape (n_samples,)
        :math:`\lVert x_n - \mu_{z_n} \rVert^2`; its sum is the distortion ``J``.
    """
    d2 = squared_distances(X, centers)
    labels = first_argmin(d2, axis=1)
    return labels, d2[np.arange(X.shape[0]), labels]


def update_centers(X: NDArray, labels: NDArray[np.intp], n_clusters: int) -> tuple[NDArray, NDArray[np.intp]]:
    r"""The update (M-) step: :math:`\mu_k = \frac{1}{N_k} \sum_{n: z_n = k} x_n`.

    This is the Gaussian-mixture M-step for the means with one-hot responsibilities,
    computed as one matrix product with the one-hot matrix.

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features)
        Rows of empty clusters are NaN; :class:`KMeans` relocates them.
    counts : ndarray of shape (n_clusters,)
        :math:`N_k`, the number of points in each cluster.
    """
    one_hot = np.zeros((X.shape[0], n_clusters))
    one_hot[np.arange(X.shape[0]), labels] = 1.0
    counts = np.bincount(labels, minlength=n_clusters)
    sums = one_hot.T @ X
    with np.errstate(invalid="ignore", divide="ignore"):
        centers = sums / counts[:, None]
    return centers, counts


@numba.njit(cache=True, boundscheck=False, fastmath={"reassoc"})
def lloyd_pass(
    X: NDArray, row_norms: NDArray, centers: NDArray, sample_weight: NDArray, tie_rtol: float = TIE_RTOL
) -> tuple[NDArray[np.intp], NDArray, NDArray, NDArray]:
    r"""One pass of Lloyd's algorithm: the assignment step and the sums of the update step, fused.

    For each block of rows, one matrix product gives :math:`x_n^\top \mu_k` (row by row for a few centres
    beside many features, :func:`_block_products`), and the nearest
    centre minimises :math:`\lVert \mu_k \rVert^2 - 2\, x_n^\top \mu_k` (the term
    :math:`\lVert x_n \rVert^2` is the same for every :math:`k`). The row is then added to its
    centre's sum, and its squared distance to that centre is computed directly, as
    :math:`\sum_d (x_{nd} - \mu_{kd})^2`, so the distortion carries no cancellation error. The
    compiler may reorder sums over :math:`d` (this one and :math:`\lVert \mu_k \rVert^2`) into SIMD lanes
    (``fastmath={"reassoc"}``, nothing else), so their last bit can differ between processors: far
    below the tie tolerance below, which decides the labels.

    The expansion's rounding error is at most a few :math:`\varepsilon_{\text{mach}}
    (\lVert x_n \rVert^2 + \lVert \mu_k \rVert^2)`. Centres whose values lie within
    ``tie_rtol`` :math:`\cdot (\lVert x_n \rVert^2 + \max_k \lVert \mu_k \rVert^2)` of the
    smallest, :math:`10^7` times that error, count as tied, and the lowest index wins, so that
    the labels do not depend on how a machine's BLAS rounds (see :func:`first_argmin`). Centre the
    data first (:class:`KMeans` subtracts their mean): the bound is then relative to the spread
    of the data, not to their distance from the origin.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), C-contiguous
        float64, or float32 (the products in float32, as scikit-learn's; the sums in float64).
    row_norms : ndarray of shape (n_samples,)
        :math:`\lVert x_n \rVert^2`, computed once per fit.
    centers : ndarray of shape (n_clusters, n_features)
        In the dtype of ``X``.
    sample_weight : ndarray of shape (n_samples,)
        :math:`w_n`, the weight of each row in the sums (ones for plain k-means).
    tie_rtol : float

    Returns
    -------
    labels : ndarray of shape (n_samples,)
    min_sq_dist : ndarray of shape (n_samples,)
        :math:`\lVert x_n - \mu_{z_n} \rVert^2`.
    sums : ndarray of shape (n_clusters, n_features)
        :math:`\sum_{n: z_n = k} w_n x_n`; the update step divides it by ``cluster_weights``.
    cluster_weights : ndarray of shape (n_clusters,)
        :math:`N_k = \sum_{n: z_n = k} w_n` (the number of points when every weight is 1).
    """
    center_norms, largest_norm, minus_two_centers, products, sums, cluster_weights = _pass_buffers(X, centers)
    labels, min_sq_dist = np.zeros(X.shape[0], dtype=np.intp), np.empty(X.shape[0])
    for start in range(0, X.shape[0], BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, X.shape[0])
        _block_products(X, start, stop, minus_two_centers, products)
        _relabel_block(labels, center_norms, products, row_norms, tie_rtol, largest_norm, start, stop)
        _add_block(sums, cluster_weights, min_sq_dist, X, centers, labels, sample_weight, start, stop)
    return labels, min_sq_dist, sums, cluster_weights


@numba.njit(cache=True, boundscheck=False, fastmath={"reassoc"})
def relabel_pass(
    X: NDArray, row_norms: NDArray, centers: NDArray, sample_weight: NDArray, labels: NDArray[np.intp],
    tie_rtol: float = TIE_RTOL,
) -> tuple[NDArray, NDArray, NDArray, int]:
    r""":func:`lloyd_pass` as a fit needs it: on the labels of the last pass, which it overwrites, and
    with the distortion :math:`J = \sum_n w_n \lVert x_n - \mu_{z_n} \rVert^2` in place of each row's
    distance. Returns ``distortion``, ``sums``, ``cluster_weights`` and the number of labels it changed.

    Each block's comparisons come first, then its sums, in a loop of their own: not waiting on the
    comparisons, they run about 10% faster. With ``EXPANSION_MIN_FEATURES`` features or more, the
    comparisons also add up the block's distortion from the expansion, :math:`\sum_n w_n (\lVert
    x_n \rVert^2 + \lVert \mu_{z_n} \rVert^2 - 2\, x_n^\top \mu_{z_n})`, which costs no distance
    (:func:`_relabel_block_expanded`). Where its rounding error could exceed ``EXPANSION_RTOL`` of it
    (:func:`_expansion_trusted`: rows near their centres, relative to their norms), and with fewer
    features, the block's distances are computed directly with its sums, as :func:`lloyd_pass`
    does. Measured with :math:`N = 10^5` against a pass computing every distance directly, a pass
    took 0.88 to 0.98 of its time at :math:`(D, K) = (4, 3), (5, 3), (10, 3), (50, 3), (10, 10),
    (50, 10), (50, 30)`, 1.00 to 1.02 at :math:`(3, 3)` and 1.03 to 1.05 at :math:`D = 2`, hence
    ``EXPANSION_MIN_FEATURES``. The labels and sums are :func:`lloyd_pass`'s,
    bit for bit, the distortion the sum of its distances to a relative error of about
    ``EXPANSION_RTOL``.
    """
    center_norms, largest_norm, minus_two_centers, products, sums, cluster_weights = _pass_buffers(X, centers)
    n_changed, distortion = 0, 0.0
    for start in range(0, X.shape[0], BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, X.shape[0])
        _block_products(X, start, stop, minus_two_centers, products)
        n_block_changed, expanded, trusted = _relabel_block_maybe_expanded(
            labels, center_norms, products, row_norms, sample_weight, tie_rtol, largest_norm, start, stop, X
        )
        n_changed += n_block_changed
        if trusted:
            distortion += expanded
            _add_block_to_sums(sums, cluster_weights, X, labels, sample_weight, start, stop)
        else:
            distortion += _add_block_with_distortion(sums, cluster_weights, X, centers, labels, sample_weight, start, stop)
    return distortion, sums, cluster_weights, n_changed


@numba.njit(cache=True, boundscheck=False, fastmath={"reassoc"})
def block_sums_pass(
    X: NDArray, row_norms: NDArray, centers: NDArray, sample_weight: NDArray, labels: NDArray[np.intp],
    block_sums: NDArray, block_weights: NDArray, reuse: bool, tie_rtol: float = TIE_RTOL,
) -> tuple[NDArray, NDArray, NDArray, int]:
    r""":func:`relabel_pass` that keeps each block's sums, and reuses the last pass's for a block whose
    labels all stay.

    A block's sums :math:`\sum_{n \in B,\, z_n = k} w_n x_n` depend on its labels and weights, not
    on the centres. A block that keeps every label then costs its products, comparisons and
    distances, not its sums: late in a fit, most blocks. The totals are the blocks' sums added in
    block order: :func:`lloyd_pass`'s up to rounding (the same terms, grouped by block), and the same
    bit for bit whether a block's sums were reused or summed again. The distortion is
    :func:`relabel_pass`'s: a reused block whose expansion is not trusted has its distances computed
    directly, in a loop of their own.

    Parameters
    ----------
    X, row_norms, centers, sample_weight, tie_rtol : as in :func:`lloyd_pass`
    labels : ndarray of shape (n_samples,)
        In: the labels of the last pass. Out: the new labels.
    block_sums : ndarray of shape (n_blocks, n_clusters, n_features)
        The sums of each block of ``BLOCK_ROWS`` rows (``ceil(n_samples / BLOCK_ROWS)`` blocks): in,
        the last pass's (used with ``reuse``); out, this pass's.
    block_weights : ndarray of shape (n_blocks, n_clusters)
        The same for the cluster weights.
    reuse : bool
        Whether ``block_sums`` and ``block_weights`` hold the sums of the labels passed in, for the
        same ``X`` and ``sample_weight``.

    Returns
    -------
    distortion, sums, cluster_weights, n_changed : as in :func:`relabel_pass`
    """
    center_norms, largest_norm, minus_two_centers, products, sums, cluster_weights = _pass_buffers(X, centers)
    n_blocks, (n_clusters, n_features) = _n_blocks(X.shape[0]), centers.shape
    if block_sums.shape != (n_blocks, n_clusters, n_features) or block_weights.shape != (n_blocks, n_clusters):
        raise ValueError("block_sums and block_weights need shapes (n_blocks, n_clusters, n_features) and "
                         "(n_blocks, n_clusters), n_blocks = ceil(n_samples / BLOCK_ROWS)")
    n_changed, distortion = 0, 0.0
    for block in range(n_blocks):
        start, stop = block * BLOCK_ROWS, min((block + 1) * BLOCK_ROWS, X.shape[0])
        _block_products(X, start, stop, minus_two_centers, products)
        n_block_changed, expanded, trusted = _relabel_block_maybe_expanded(
            labels, center_norms, products, row_norms, sample_weight, tie_rtol, largest_norm, start, stop, X
        )
        n_changed += n_block_changed
        block_sum, block_weight = block_sums[block], block_weights[block]
        if reuse and n_block_changed == 0:
            distortion += expanded if trusted else _direct_distortion(X, centers, labels, sample_weight, start, stop)
        else:
            block_sum[:], block_weight[:] = 0.0, 0.0
            if trusted:
                distortion += expanded
                _add_block_to_sums(block_sum, block_weight, X, labels, sample_weight, start, stop)
            else:
                distortion += _add_block_with_distortion(
                    block_sum, block_weight, X, centers, labels, sample_weight, start, stop
                )
        sums += block_sum
        cluster_weights += block_weight
    return distortion, sums, cluster_weights, n_changed


@numba.njit(cache=True, boundscheck=False, fastmath={"reassoc"})
def narrow_pass(
    X: NDArray, row_norms: NDArray, centers: NDArray, sample_weight: NDArray, labels: NDArray[np.intp],
    tie_rtol: float = TIE_RTOL,
) -> tuple[NDArray, NDArray, NDArray, int]:
    r""":func:`relabel_pass` for data with few features, a column at a time: every inner loop runs
    along the rows of a block, so the compiler vectorises it.

    With few features, a matrix product per block runs far below its peak, and a loop over one row's
    :math:`K` centres and :math:`D` features is too short to vectorise. This pass copies each block
    into :math:`D` columns and, one centre at a time, works along the rows: the values :math:`v_{nk} =
    \lVert \mu_k \rVert^2 - 2\, x_n^\top \mu_k` and their minimum (:func:`_block_minimum`), the
    labels by the tie rule of :func:`first_argmin` (:func:`_block_nearest`), then the sums as
    masked sums :math:`\sum_n [z_n = k]\, w_n x_{nd}` (:func:`_add_block_by_columns`). The
    distortion is the expansion's, :math:`\sum_n w_n (\lVert x_n \rVert^2 + v_{n z_n})`, where
    :func:`_expansion_trusted`, else the sum of the distances computed directly
    (:func:`_block_distances`).

    The products :math:`\sum_d x_{nd} (-2 \mu_{kd})` are added up over :math:`d` in order, in the
    dtype of ``X``, as in :func:`_row_products`; they may differ from a GEMM's in the last bits, so a
    label can differ from :func:`lloyd_pass`'s only where two centres' values are one tie tolerance
    apart, to within rounding. The sums are :func:`lloyd_pass`'s up to rounding (the same terms, each
    block's added in another order). :class:`KMeans` uses this pass where :func:`_narrow_can_pay`.

    Parameters and returns are those of :func:`relabel_pass`.
    """
    center_norms, largest_norm, minus_two_centers, _, sums, cluster_weights = _pass_buffers(X, centers)
    n_clusters, n_features = centers.shape
    columns, products = np.empty((n_features, BLOCK_ROWS), X.dtype), np.empty((n_clusters, BLOCK_ROWS), X.dtype)
    block_labels, nearest, scratch = np.empty(BLOCK_ROWS, np.intp), np.empty(BLOCK_ROWS), np.empty(BLOCK_ROWS)
    block_weights = np.empty(n_clusters)
    n_changed, distortion = 0, 0.0
    for start in range(0, X.shape[0], BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, X.shape[0])
        rows = stop - start
        weights, norms, threshold = sample_weight[start:stop], row_norms[start:stop], scratch[:rows]
        for i in range(rows):
            for d in range(n_features):
                columns[d, i] = X[start + i, d]
        _block_minimum(columns, minus_two_centers, center_norms, products, threshold)
        for i in range(rows):  # within the tie tolerance of the minimum: tied (first_argmin)
            threshold[i] += tie_rtol * (norms[i] + largest_norm)
        _block_nearest(center_norms, products, threshold, block_labels[:rows], nearest[:rows])
        n_changed += _store_labels(block_labels[:rows], labels[start:stop])
        block_weights[:] = 0.0
        _add_block_by_columns(sums, block_weights, columns, block_labels[:rows], weights, scratch[:rows])
        cluster_weights += block_weights
        expanded, error_scale = 0.0, 0.0  # as in _relabel_block_expanded
        for i in range(rows):
            expanded += weights[i] * (norms[i] + nearest[i])
            error_scale += weights[i] * norms[i]
        for k in range(n_clusters):
            error_scale += block_weights[k] * center_norms[k]
        if _expansion_trusted(expanded, error_scale, X):
            distortion += expanded
        else:
            _block_distances(columns, centers, block_labels[:rows], nearest[:rows])
            for i in range(rows):
                distortion += weights[i] * nearest[i]
    return distortion, sums, cluster_weights, n_changed


@numba.njit(inline="always")
def _block_minimum(
    columns: NDArray, minus_two_centers: NDArray, center_norms: NDArray, products: NDArray, minimum: NDArray
) -> None:
    r"""``products[k, i]`` :math:`= \sum_d x_{id} (-2 \mu_{kd})` for the first ``minimum.size`` rows of
    ``columns`` (:math:`D \times` ``BLOCK_ROWS``), added up over :math:`d` in order in their dtype, and ``minimum[i]``
    :math:`= \min_k v_{ik}`."""
    for k in range(minus_two_centers.shape[0]):
        _column_products(columns, minus_two_centers, k, products, minimum.size)
        for i in range(minimum.size):
            value = center_norms[k] + products[k, i]
            minimum[i] = value if k == 0 else min(minimum[i], value)


@numba.njit(inline="always")
def _comparison_scratch(X: NDArray, centers: NDArray) -> tuple:
    r"""The buffers of :func:`_compare_rows` for ``BLOCK_ROWS`` rows: the rows as columns (:math:`D \times` rows),
    their products (:math:`K \times` rows), the rows gathered for a GEMM, labels, second values and three
    vectors of values."""
    n_clusters, n_features = centers.shape
    return (np.empty((n_features, BLOCK_ROWS), dtype=X.dtype), np.empty((n_clusters, BLOCK_ROWS), dtype=X.dtype),
            np.empty((BLOCK_ROWS, n_features), dtype=X.dtype), np.empty(BLOCK_ROWS, dtype=np.intp),
            np.empty(BLOCK_ROWS), np.empty(BLOCK_ROWS), np.empty(BLOCK_ROWS), np.empty(BLOCK_ROWS))


@numba.njit(inline="always")
def _compare_rows(
    X: NDArray, row_norms: NDArray, rows: NDArray[np.intp], minus_two_centers: NDArray, center_norms: NDArray,
    products: NDArray, largest_norm: float, tie_rtol: float, scratch: tuple,
) -> tuple[NDArray, NDArray]:
    r"""The labels of the listed ``rows`` (at most ``BLOCK_ROWS``) and the smallest value :math:`v_k` of their other
    centres, as :func:`_two_nearest`: a column at a time where :func:`_compared_by_columns`
    (:func:`_two_nearest_by_columns`), else from one matrix product (:func:`_block_products` where the rows follow
    each other, else :func:`_gathered_products`). ``largest_norm`` is :math:`\max_k \lVert \mu_k \rVert^2`;
    ``scratch``, from :func:`_comparison_scratch`."""
    columns, column_products, gathered, labels, seconds, smallest, nearest, threshold = scratch
    n = rows.size
    for j in range(n):
        threshold[j] = tie_rtol * (row_norms[rows[j]] + largest_norm)  # the tie tolerance, for now
    if _compared_by_columns(minus_two_centers.shape[0], X.shape[1]):
        for j in range(n):
            for d in range(X.shape[1]):
                columns[d, j] = X[rows[j], d]
        _two_nearest_by_columns(columns, minus_two_centers, center_norms, column_products, threshold[:n], labels[:n],
                                seconds[:n], smallest, nearest)
    else:
        if rows[n - 1] - rows[0] == n - 1:  # rows that follow each other: no copy
            _block_products(X, rows[0], rows[0] + n, minus_two_centers, products)
        else:
            _gathered_products(X, rows, minus_two_centers, products, gathered)
        for j in range(n):
            labels[j], seconds[j] = _two_nearest(center_norms, products, j, threshold[j])
    return labels[:n], seconds[:n]


@numba.njit(inline="always")
def _two_nearest_by_columns(
    columns: NDArray, minus_two_centers: NDArray, center_norms: NDArray, products: NDArray, threshold: NDArray,
    labels: NDArray, seconds: NDArray, smallest: NDArray, nearest: NDArray,
) -> None:
    r""":func:`_two_nearest` for the first ``labels.size`` rows of ``columns`` (:math:`D \times` ``BLOCK_ROWS``), a
    centre at a time along the rows, as :func:`_block_minimum`: ``labels[i]``, and ``seconds[i]``, the smallest value
    :math:`v_{ik}` of the other centres. ``threshold``: in, each row's tie tolerance; out, the smallest value plus
    it. ``products``, ``smallest`` and ``nearest``: scratch.

    The smallest and second-smallest values come from one sweep over the centres. The label is the lowest
    :math:`k` within the tolerance of the smallest (:func:`_block_nearest`); the other centres' smallest value is
    then the second-smallest where the label has the smallest value, else the smallest.
    """
    for k in range(minus_two_centers.shape[0]):
        _column_products(columns, minus_two_centers, k, products, labels.size)
        for i in range(labels.size):
            value = center_norms[k] + products[k, i]
            seconds[i] = np.inf if k == 0 else min(seconds[i], max(value, smallest[i]))
            smallest[i] = value if k == 0 else min(smallest[i], value)
    for i in range(labels.size):
        threshold[i] += smallest[i]
    _block_nearest(center_norms, products, threshold, labels, nearest)
    for i in range(labels.size):
        seconds[i] = seconds[i] if nearest[i] == smallest[i] else smallest[i]


@numba.njit(inline="always")
def _column_products(columns: NDArray, minus_two_centers: NDArray, k: int, products: NDArray, n: int) -> None:
    r"""``products[k, i]`` :math:`= \sum_d x_{id} (-2 \mu_{kd})` for the first ``n`` rows of ``columns``
    (:math:`D \times` ``BLOCK_ROWS``), added up over :math:`d` in order, in their dtype (as :func:`_row_products`)."""
    for i in range(n):
        products[k, i] = columns[0, i] * minus_two_centers[k, 0]
    for d in range(1, columns.shape[0]):
        for i in range(n):
            products[k, i] += columns[d, i] * minus_two_centers[k, d]


@numba.njit(inline="always")
def _block_nearest(
    center_norms: NDArray, products: NDArray, threshold: NDArray, labels: NDArray, nearest: NDArray
) -> None:
    r"""For each row :math:`i` of ``products`` (:math:`K \times` rows, see :func:`_block_minimum`), the lowest
    :math:`k` with :math:`v_{ik} \le` ``threshold[i]`` into ``labels[i]`` and its value into ``nearest[i]``: the
    centres are taken from the last to the first, each replacing the one before where its value is within."""
    for k in range(center_norms.shape[0] - 1, -1, -1):
        for i in range(labels.size):
            value = center_norms[k] + products[k, i]
            within = value <= threshold[i]
            labels[i] = k if within else labels[i]
            nearest[i] = value if within else nearest[i]


@numba.njit(inline="always")
def _store_labels(new: NDArray, labels: NDArray) -> int:
    """Copy ``new`` into ``labels``; return how many changed."""
    n_changed = 0
    for i in range(new.size):
        n_changed += new[i] != labels[i]
        labels[i] = new[i]
    return n_changed


@numba.njit(inline="always")
def _add_block_by_columns(
    sums: NDArray, cluster_weights: NDArray, columns: NDArray, labels: NDArray, weights: NDArray, masked: NDArray
) -> None:
    r"""Add the rows of ``columns`` (:math:`D \times` rows) to the sums of their labels as masked sums:
    :math:`\sum_i [z_i = k]\, w_i` and :math:`\sum_i [z_i = k]\, w_i x_{id}` for each :math:`k` (``masked``:
    scratch for :math:`[z_i = k]\, w_i`)."""
    for k in range(sums.shape[0]):
        weight = 0.0
        for i in range(labels.size):
            masked[i] = weights[i] * (labels[i] == k)
            weight += masked[i]
        cluster_weights[k] += weight
        for d in range(columns.shape[0]):
            total = 0.0
            for i in range(labels.size):
                total += masked[i] * columns[d, i]
            sums[k, d] += total


@numba.njit(inline="always")
def _block_distances(columns: NDArray, centers: NDArray, labels: NDArray, distances: NDArray) -> None:
    r"""``distances[i]`` :math:`= \sum_d (x_{id} - \mu_{z_i d})^2` for the rows of ``columns`` (:math:`D \times`
    rows), directly (no cancellation), as :func:`_squared_distance`: for each centre along all rows, kept
    where it is the row's."""
    for k in range(centers.shape[0]):
        for i in range(labels.size):
            sq_dist = 0.0
            for d in range(columns.shape[0]):
                difference = columns[d, i] - centers[k, d]
                sq_dist += difference * difference
            distances[i] = sq_dist if labels[i] == k else distances[i]


@numba.njit(inline="always")
def _n_blocks(n_samples: int) -> int:
    """The number of blocks of ``BLOCK_ROWS`` rows in ``n_samples`` (the last one may be shorter)."""
    return (n_samples + BLOCK_ROWS - 1) // BLOCK_ROWS


@numba.njit(inline="always")
def _relabel_block(
    labels: NDArray, center_norms: NDArray, products: NDArray, row_norms: NDArray, tie_rtol: float,
    largest_norm: float, start: int, stop: int,
) -> int:
    """Label rows ``start`` to ``stop`` by :func:`_relabel_row`; return how many labels changed."""
    n_changed = 0
    for n in range(start, stop):
        n_changed += _relabel_row(labels, center_norms, products, row_norms, tie_rtol, largest_norm, n, n - start)
    return n_changed


@numba.njit(inline="always")
def _relabel_block_expanded(
    labels: NDArray, center_norms: NDArray, products: NDArray, row_norms: NDArray, sample_weight: NDArray,
    tie_rtol: float, largest_norm: float, start: int, stop: int,
) -> tuple[int, float, float]:
    r""":func:`_relabel_block`; also return the block's distortion from the expansion, :math:`\sum_n w_n
    (\lVert x_n \rVert^2 + \lVert \mu_{z_n} \rVert^2 - 2\, x_n^\top \mu_{z_n})`, and the scale of its
    rounding error, :math:`\sum_n w_n (\lVert x_n \rVert^2 + \lVert \mu_{z_n} \rVert^2)`
    (:func:`_expansion_trusted`)."""
    n_changed, expanded, error_scale = 0, 0.0, 0.0
    for n in range(start, stop):
        i = n - start
        n_changed += _relabel_row(labels, center_norms, products, row_norms, tie_rtol, largest_norm, n, i)
        label, weight = labels[n], sample_weight[n]
        expanded += weight * (row_norms[n] + (center_norms[label] + products[i, label]))
        error_scale += weight * (row_norms[n] + center_norms[label])
    return n_changed, expanded, error_scale


@numba.njit(inline="always")
def _relabel_block_maybe_expanded(
    labels: NDArray, center_norms: NDArray, products: NDArray, row_norms: NDArray, sample_weight: NDArray,
    tie_rtol: float, largest_norm: float, start: int, stop: int, X: NDArray,
) -> tuple[int, float, bool]:
    """:func:`_relabel_block_expanded` with ``EXPANSION_MIN_FEATURES`` features or more, else
    :func:`_relabel_block`: how many labels changed, the block's distortion from the expansion, and
    whether it is trusted (never with fewer features)."""
    if X.shape[1] < EXPANSION_MIN_FEATURES:
        return _relabel_block(labels, center_norms, products, row_norms, tie_rtol, largest_norm, start, stop), 0.0, False
    n_changed, expanded, error_scale = _relabel_block_expanded(
        labels, center_norms, products, row_norms, sample_weight, tie_rtol, largest_norm, start, stop
    )
    return n_changed, expanded, _expansion_trusted(expanded, error_scale, X)


@numba.njit(inline="always")
def _relabel_row(
    labels: NDArray, center_norms: NDArray, products: NDArray, row_norms: NDArray, tie_rtol: float,
    largest_norm: float, n: int, i: int,
) -> bool:
    """Label row ``n`` (row ``i`` of the block's ``products``) by :func:`_nearest`; return whether its label changed."""
    label = _nearest(center_norms, products, i, tie_rtol * (row_norms[n] + largest_norm))
    changed = label != labels[n]
    labels[n] = label
    return changed


@numba.njit(inline="always")
def _expansion_trusted(expanded: float, error_scale: float, X: NDArray) -> bool:
    r"""Whether a block's distortion from the expansion (:func:`_relabel_block_expanded`) is within
    ``EXPANSION_RTOL`` of the exact one.

    Each row's three terms :math:`\lVert x_n \rVert^2`, :math:`\lVert \mu_k \rVert^2` and
    :math:`-2\, x_n^\top \mu_k` carry rounding errors of at most :math:`\gamma_D = D u / (1 - D u)`
    times :math:`\lVert x_n \rVert^2`, :math:`\lVert \mu_k \rVert^2` and :math:`2 \lVert x_n \rVert
    \lVert \mu_k \rVert \le \lVert x_n \rVert^2 + \lVert \mu_k \rVert^2` (Higham, 2002, §3.1;
    :math:`u` the unit roundoff of the products, in the dtype of ``X``), and the two additions
    :math:`u` times at most :math:`2 (\lVert x_n \rVert^2 + \lVert \mu_k \rVert^2)` each: to first
    order, :math:`(D + 2)\, \varepsilon\, (\lVert x_n \rVert^2 + \lVert \mu_k \rVert^2)` with
    :math:`\varepsilon = 2u`. Weighted and added up, the block's is at most :math:`(D + 2)\,
    \varepsilon` times ``error_scale``; the expansion is trusted where that is at most
    ``EXPANSION_RTOL`` times its value. Adding up the block's rows rounds as well, by at most
    ``BLOCK_ROWS`` :math:`u` (:math:`2^{-45}`) of the value, as any sum of the distances does.
    Rows far from their centres, relative to their norms (most rows, in data centred once), pass;
    float32 products never do.
    """
    return (X.shape[1] + 2) * np.finfo(X.dtype).eps * error_scale <= EXPANSION_RTOL * expanded


@numba.njit(cache=True, boundscheck=False, fastmath={"reassoc"})
def bounded_lloyd_pass(
    X: NDArray, row_norms: NDArray, centers: NDArray, sample_weight: NDArray, labels: NDArray[np.intp],
    lower: NDArray, other_shift: NDArray, use_bounds: bool, tie_rtol: float = TIE_RTOL,
) -> tuple[NDArray, NDArray, NDArray, int]:
    r""":func:`lloyd_pass` that skips the rows whose label a bound already settles (Hamerly, 2010).

    The labels are those of :func:`lloyd_pass`; only the work differs. Row :math:`n`, labelled
    :math:`a` by the last pass, keeps its label without the products with the other centres when

    .. math:: d_a^2 + 2\tau_n < \max\Bigl(\ell_n^2,\; \tfrac14 \min_{k \ne a} \lVert \mu_a' - \mu_k'
        \rVert^2\Bigr), \qquad \ell_n = \ell_n^{\text{old}} - \max_{k \ne a} \lVert \mu_k' - \mu_k \rVert,

    with :math:`d_a = \lVert x_n - \mu_a' \rVert` computed directly (the row's distortion, if it keeps
    its label), :math:`\ell_n^{\text{old}}` a lower bound on its distance to every other centre of the
    last pass, and :math:`\tau_n` the tie tolerance of :func:`lloyd_pass`. By the triangle
    inequality both terms of the maximum bound :math:`\lVert x_n - \mu_k' \rVert^2` from below for
    every :math:`k \ne a`, so every other centre is farther than the tie tolerance and the full
    comparison would choose :math:`a` too. The margin :math:`2\tau_n` is :math:`10^7` times the
    rounding error of these quantities (for float32 data, whose rounding is above the tie tolerance,
    it is :math:`64\,\varepsilon_{32}` times :math:`\lVert x_n \rVert^2 + \max_k \lVert \mu_k
    \rVert^2`). A row compared with every centre gets
    :math:`\ell_n^2 = v + \lVert x_n \rVert^2 - \tau_n`, from its second-smallest value :math:`v` of
    :math:`\lVert \mu_k \rVert^2 - 2\, x_n^\top \mu_k`.

    The pass tests the bounds of ``BOUNDED_BLOCK_ROWS`` rows, then compares the rows left unsettled
    ``BLOCK_ROWS`` at a time (:func:`_compare_rows`), so that a few unsettled rows per block of ``BLOCK_ROWS``
    do not each pay for a call: with few centres and features (:func:`_compared_by_columns`) gathered into
    columns and compared a centre at a time along them, else from one matrix product (for at most
    ``PRODUCTS_BY_ROWS_MAX_CLUSTERS`` centres, row by row: :func:`_gathered_products`). Products not from a
    GEMM may differ from its in the last bits; a label could then differ from :func:`lloyd_pass`'s only
    where two centres' values are a tie tolerance apart to within rounding. Each row's distance to its centre is
    computed once, directly, as in :func:`lloyd_pass`: by the bound test, or again after the comparison if
    the label changed. Every row is then added to the sums in the order of :func:`lloyd_pass`: with the same
    labels, the distances and sums are its own, bit for bit. It returns their weighted sum, the distortion.

    Parameters
    ----------
    X, row_norms, centers, sample_weight, tie_rtol : as in :func:`lloyd_pass`
    labels : ndarray of shape (n_samples,)
        In: the labels of the last pass. Out: the new labels.
    lower : ndarray of shape (n_samples,)
        In: :math:`\ell_n^{\text{old}}` (unused without ``use_bounds``). Out: :math:`\ell_n` for ``centers``.
    other_shift : ndarray of shape (n_clusters,)
        :math:`\max_{k \ne a} \lVert \mu_k' - \mu_k \rVert` for each label :math:`a`: how far the
        other centres moved since the last pass.
    use_bounds : bool
        Whether ``lower`` holds bounds to try; without, every row is compared with every centre (and
        ``lower`` computed for the next pass).

    Returns
    -------
    distortion, sums, cluster_weights, n_changed : as in :func:`relabel_pass`
    """
    n_samples, n_features = X.shape
    center_norms, largest_norm, minus_two_centers, products, sums, cluster_weights = _pass_buffers(X, centers)
    quarter_gap = _nearest_other_center(centers) ** 2 / 4.0
    sq_dist = np.empty(BOUNDED_BLOCK_ROWS)  # the distance of each row of the block to its centre
    compared = np.empty(BOUNDED_BLOCK_ROWS, dtype=np.intp)  # the rows of the block compared with every centre
    scratch = _comparison_scratch(X, centers)
    n_changed, distortion = 0, 0.0
    # the bounds' margin, relative to ||x||^2 + max ||mu||^2: the tie tolerance, or for float32 data above its rounding
    slack_rtol = max(tie_rtol, 32.0 * np.finfo(X.dtype).eps)
    for start in range(0, n_samples, BOUNDED_BLOCK_ROWS):
        rows = min(BOUNDED_BLOCK_ROWS, n_samples - start)
        n_compared = rows
        if use_bounds:
            n_compared = 0
            for n in range(start, start + rows):
                a = labels[n]
                lower[n] = max(lower[n] - other_shift[a], 0.0)
                sq_dist[n - start] = _squared_distance(X, n, centers, a)
                margin = sq_dist[n - start] + 2.0 * slack_rtol * (row_norms[n] + largest_norm)
                settled = (margin < quarter_gap[a]) | (margin < lower[n] * lower[n])
                # No branch, which would be hard to predict: every row is listed, but kept only if not settled.
                compared[n_compared] = n
                n_compared += not settled
        else:
            for j in range(rows):
                compared[j] = start + j
        for first in range(0, n_compared, BLOCK_ROWS):  # the unsettled rows, BLOCK_ROWS at a time
            chunk = compared[first : min(first + BLOCK_ROWS, n_compared)]
            new_labels, seconds = _compare_rows(X, row_norms, chunk, minus_two_centers, center_norms, products,
                                                largest_norm, tie_rtol, scratch)
            for j in range(chunk.size):
                n, label = chunk[j], new_labels[j]
                lower[n] = np.sqrt(max(seconds[j] + row_norms[n] - slack_rtol * (row_norms[n] + largest_norm), 0.0))
                if label != labels[n]:
                    n_changed += 1
                    labels[n] = label
                    if use_bounds:  # the bound test measured the distance to the old centre
                        sq_dist[n - start] = _squared_distance(X, n, centers, label)
        if use_bounds:
            _add_block_to_sums(sums, cluster_weights, X, labels, sample_weight, start, start + rows)
            for j in range(rows):
                distortion += sample_weight[start + j] * sq_dist[j]
        else:
            distortion += _add_block_with_distortion(
                sums, cluster_weights, X, centers, labels, sample_weight, start, start + rows
            )
    return distortion, sums, cluster_weights, n_changed


@numba.njit(inline="always")
def _pass_buffers(X: NDArray, centers: NDArray) -> tuple:
    r"""What a pass sets up once: :math:`\lVert \mu_k \rVert^2`, its largest value, :math:`-2 M` (in the
    dtype of ``X``, float32 or float64), a block's products and the outputs ``sums`` and
    ``cluster_weights``."""
    center_norms = _center_norms(centers)
    minus_two_centers = centers.copy()  # C-contiguous, in the dtype of the centres
    minus_two_centers *= -2.0
    products = np.empty((BLOCK_ROWS, centers.shape[0]), dtype=X.dtype)
    sums, cluster_weights = np.zeros(centers.shape), np.zeros(centers.shape[0])
    return center_norms, center_norms.max(), minus_two_centers, products, sums, cluster_weights


@numba.njit(inline="always")
def _block_products(X: NDArray, start: int, stop: int, minus_two_centers: NDArray, products: NDArray) -> None:
    r"""Row :math:`i` of ``products``, for row :math:`n = ` ``start`` :math:`+ i` up to ``stop``: :math:`-2\,
    x_n^\top \mu_k` for every :math:`k`, row by row where :func:`_products_by_rows`, else by one matrix product."""
    if _products_by_rows(minus_two_centers.shape[0], X.shape[1]):
        for n in range(start, stop):
            _row_products(X, n, minus_two_centers, products, n - start)
    else:
        np.dot(X[start:stop], minus_two_centers.T, products[: stop - start])


@numba.njit(inline="always")
def _gathered_products(
    X: NDArray, rows: NDArray[np.intp], minus_two_centers: NDArray, products: NDArray, gathered: NDArray
) -> None:
    """:func:`_block_products` for the listed ``rows`` (row ``j`` of ``products`` for ``rows[j]``): row by row with
    at most ``PRODUCTS_BY_ROWS_MAX_CLUSTERS`` centres, whatever the features (a GEMM on a few gathered rows costs
    more to call than to compute: whole fits at :math:`(D, K) = (2, 10)` and :math:`(10, 10)` took 0.91 to 0.97
    of the time in two runs, measured with :math:`N = 10^5` on an AMD EPYC, Zen 5), else by one matrix product on
    the rows copied into ``gathered``. Row by row, each row's values are the same as in a block computed row
    by row; they may differ from a GEMM's in the last bits."""
    if minus_two_centers.shape[0] <= PRODUCTS_BY_ROWS_MAX_CLUSTERS:
        for j in range(rows.size):
            _row_products(X, rows[j], minus_two_centers, products, j)
    elif rows.size > 0:
        for j in range(rows.size):
            gathered[j] = X[rows[j]]
        np.dot(gathered[: rows.size], minus_two_centers.T, products[: rows.size])


@numba.njit(inline="always")
def _row_products(X: NDArray, n: int, minus_two_centers: NDArray, products: NDArray, i: int) -> None:
    r"""Row ``i`` of ``products``: :math:`\sum_d x_{nd} (-2 \mu_{kd})` for every :math:`k`, in the dtype of ``X``."""
    for k in range(minus_two_centers.shape[0]):
        product = X[n, 0] * minus_two_centers[k, 0]
        for d in range(1, X.shape[1]):
            product += X[n, d] * minus_two_centers[k, d]
        products[i, k] = product


@numba.njit(inline="always")
def _products_by_rows(n_clusters: int, n_features: int) -> bool:
    r"""Whether a pass computes its products row by row (:func:`_row_products`) rather than by a matrix product:
    with at most ``PRODUCTS_BY_ROWS_MAX_CLUSTERS`` centres, and at least ``PRODUCTS_BY_ROWS_FEATURES_PER_CLUSTER``
    features per centre.

    For so few centres, a GEMM runs far below its peak rate. Measured with :math:`N = 10^5` on an AMD EPYC
    (Zen 5, OpenBLAS's Haswell kernels), the products of a pass row by row took a third of the GEMM's time at
    :math:`(D, K) = (50, 3)`, 0.74 of it at :math:`(50, 10)`, 0.82 at :math:`(50, 15)`, 0.78 at :math:`(10, 3)` and
    0.71 at :math:`(20, 6)`; but 1.25 at :math:`(20, 8)`, 1.19 at :math:`(50, 20)`, 1.41 at :math:`(10, 4)` and 1.0
    to 1.9 at every :math:`D \le 5`.
    """
    return (n_clusters <= PRODUCTS_BY_ROWS_MAX_CLUSTERS
            and n_features >= PRODUCTS_BY_ROWS_FEATURES_PER_CLUSTER * n_clusters)


@numba.njit(inline="always")
def _compared_by_columns(n_clusters: int, n_features: int) -> bool:
    r"""Whether :func:`bounded_lloyd_pass` compares the rows a bound leaves unsettled a column at a time
    (:func:`_two_nearest_by_columns`), not row by row or by a GEMM: with at most ``COLUMNS_MAX_CLUSTERS`` centres
    and ``COLUMNS_MAX_FEATURES`` features.

    Measured with :math:`N = 10^5` on an AMD EPYC (Zen 5), whole fits from the same start took this fraction of
    scikit-learn's time with it, against without: 0.91 against 1.01 at :math:`(D, K) = (10, 10)`, 0.89 against
    0.99 at :math:`(10, 16)`, 0.79 against 0.93 at :math:`(5, 16)` and 0.82 against 0.85 at :math:`(15, 10)`;
    but 0.72 against 0.69 at :math:`(20, 10)`, 0.77 against 0.63 at :math:`(30, 10)` and 0.67 against 0.47 at
    :math:`(50, 10)`.
    """
    return n_clusters <= COLUMNS_MAX_CLUSTERS and n_features <= COLUMNS_MAX_FEATURES


@numba.njit(inline="always")
def _add_block(
    sums: NDArray, cluster_weights: NDArray, min_sq_dist: NDArray, X: NDArray, centers: NDArray, labels: NDArray,
    sample_weight: NDArray, start: int, stop: int,
) -> None:
    """Add rows ``start`` to ``stop`` to the sums of their labels (:func:`_add_row`), their squared
    distances into ``min_sq_dist``."""
    for n in range(start, stop):
        min_sq_dist[n] = _add_row(sums, cluster_weights, X, n, centers, labels[n], sample_weight[n])


@numba.njit(inline="always")
def _add_block_with_distortion(
    sums: NDArray, cluster_weights: NDArray, X: NDArray, centers: NDArray, labels: NDArray, sample_weight: NDArray,
    start: int, stop: int,
) -> float:
    """:func:`_add_block` returning the distances' weighted sum, the block's distortion, in place of the distances."""
    distortion = 0.0
    for n in range(start, stop):
        distortion += sample_weight[n] * _add_row(sums, cluster_weights, X, n, centers, labels[n], sample_weight[n])
    return distortion


@numba.njit(inline="always")
def _add_block_to_sums(
    sums: NDArray, cluster_weights: NDArray, X: NDArray, labels: NDArray, sample_weight: NDArray, start: int,
    stop: int,
) -> None:
    """:func:`_add_block` without the distances (computed by the bound test of :func:`bounded_lloyd_pass`,
    or not needed)."""
    for n in range(start, stop):
        label, weight = labels[n], sample_weight[n]
        cluster_weights[label] += weight
        for d in range(X.shape[1]):
            sums[label, d] += weight * X[n, d]


@numba.njit(inline="always")
def _add_row(
    sums: NDArray, cluster_weights: NDArray, X: NDArray, n: int, centers: NDArray, label: int, weight: float
) -> float:
    r"""Add row :math:`n` to the update step's sums of centre :math:`k` = ``label`` (:math:`N_k
    \mathrel{+}= w`, :math:`\sum_k \mathrel{+}= w\, x_n`) and return its squared distance to the centre,
    :math:`\sum_d (x_{nd} - \mu_{kd})^2`, computed directly (no cancellation)."""
    cluster_weights[label] += weight
    sq_dist = 0.0
    for d in range(X.shape[1]):
        difference = X[n, d] - centers[label, d]
        sq_dist += difference * difference
        sums[label, d] += weight * X[n, d]
    return sq_dist


@numba.njit(inline="always")
def _direct_distortion(
    X: NDArray, centers: NDArray, labels: NDArray, sample_weight: NDArray, start: int, stop: int
) -> float:
    r""":math:`\sum_n w_n \lVert x_n - \mu_{z_n} \rVert^2` over rows ``start`` to ``stop``, directly."""
    distortion = 0.0
    for n in range(start, stop):
        distortion += sample_weight[n] * _squared_distance(X, n, centers, labels[n])
    return distortion


@numba.njit(inline="always")
def _squared_distance(X: NDArray, n: int, centers: NDArray, k: int) -> float:
    r""":math:`\sum_d (x_{nd} - \mu_{kd})^2`, directly (no cancellation)."""
    sq_dist = 0.0
    for d in range(X.shape[1]):
        difference = X[n, d] - centers[k, d]
        sq_dist += difference * difference
    return sq_dist


@numba.njit(inline="always")
def _center_norms(centers: NDArray) -> NDArray:
    r""":math:`\lVert \mu_k \rVert^2` for each centre."""
    center_norms = np.zeros(centers.shape[0])
    for k in range(centers.shape[0]):
        for d in range(centers.shape[1]):
            center_norms[k] += centers[k, d] * centers[k, d]
    return center_norms


@numba.njit(inline="always")
def _nearest(center_norms: NDArray, products: NDArray, i: int, tie: float) -> int:
    r"""The label of row ``i`` of ``products`` (:math:`-2\, x^\top \mu_k`): the lowest index whose value
    :math:`v_k = \lVert \mu_k \rVert^2 - 2\, x^\top \mu_k` is within ``tie`` of the smallest (as
    :func:`first_argmin`)."""
    best, label, before = center_norms[0] + products[i, 0], 0, np.inf  # before: the smallest at a lower index
    for k in range(1, center_norms.shape[0]):
        value = center_norms[k] + products[i, k]
        if value < best:
            best, label, before = value, k, best
    if before <= best + tie:  # rare: a lower index ties with the minimum
        return _lowest_within(center_norms, products, i, best + tie, label)
    return label


@numba.njit(inline="always")
def _two_nearest(center_norms: NDArray, products: NDArray, i: int, tie: float) -> tuple[int, float]:
    r""":func:`_nearest`, and the smallest value :math:`v_k` of the other centres (``inf`` for one centre)."""
    best, label, second = center_norms[0] + products[i, 0], 0, np.inf
    for k in range(1, center_norms.shape[0]):
        value = center_norms[k] + products[i, k]
        second = min(second, max(value, best))  # without a branch, which would be hard to predict
        if value < best:
            best, label = value, k
    if second <= best + tie:  # rare: another centre ties with the nearest
        lowest = _lowest_within(center_norms, products, i, best + tie, label)
        if lowest < label:  # a lower index wins; the smallest value is then another centre's
            return lowest, best
    return label, second


@numba.njit(inline="always")
def _lowest_within(center_norms: NDArray, products: NDArray, i: int, threshold: float, label: int) -> int:
    r"""The lowest index :math:`k \le` ``label`` whose value :math:`v_k` is at most ``threshold`` (the
    tie rule of :func:`first_argmin`; ``label``, the index of the smallest value, qualifies)."""
    for k in range(label):
        if center_norms[k] + products[i, k] <= threshold:
            return k
    return label


@numba.njit(cache=True, boundscheck=False)
def _nearest_other_center(centers: NDArray) -> NDArray:
    r""":math:`\min_{k \ne a} \lVert \mu_a - \mu_k \rVert` for each centre :math:`a` (``inf`` for one centre)."""
    n_clusters = centers.shape[0]
    nearest = np.full(n_clusters, np.inf)
    for a in range(n_clusters):
        for k in range(a + 1, n_clusters):
            distance = np.sqrt(_squared_distance(centers, a, centers, k))
            nearest[a] = min(nearest[a], distance)
            nearest[k] = min(nearest[k], distance)
    return nearest


def kmeans_plusplus(
    X: NDArray, n_clusters: int, rng: np.random.Generator, n_local_trials: int | None = None,
    sample_weight: NDArray | None = None, *, row_norms: NDArray | None = None,
) -> NDArray:
    r"""k-means++ seeding (Arthur & Vassilvitskii, 2007), in its greedy form.

    The first centre is a uniformly random point; each next one is drawn with probability
    proportional to :math:`w\,D(x)^2`, its weight (1 by default) times the squared distance to the
    nearest centre chosen so far.
    The greedy form (as in scikit-learn) draws ``n_local_trials`` candidates
    (default :math:`2 + \lfloor \ln K \rfloor`) and keeps the one that lowers the distortion most.
    Distances to the candidates are :math:`\lVert y_n \rVert^2 - 2 y_n^\top y_c + \lVert y_c \rVert^2`
    on the data centred once, :math:`y = x - \bar x`, with the row norms computed once.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    n_clusters : int
    rng : numpy.random.Generator
    n_local_trials : int, optional
    sample_weight : ndarray of shape (n_samples,), optional
    row_norms : ndarray of shape (n_samples,), optional
        :math:`\lVert x_n \rVert^2`, given when ``X`` is already centred (as :class:`KMeans` has it):
        ``X`` is then used as it is, without a centred copy.

    Returns
    -------
    ndarray of shape (n_clusters, n_features)
        Centres that are data points.
    """
    n_samples = X.shape[0]
    if n_local_trials is None:
        n_local_trials = 2 + int(np.log(n_clusters))
    Y = X
    if row_norms is None:
        Y = X - X.mean(axis=0)
        row_norms = np.einsum("nd,nd->n", Y, Y)

    weights = np.ones(n_samples) if sample_weight is None else sample_weight

    def distances_and_potentials(candidates: NDArray[np.intp], closest: NDArray) -> tuple[NDArray, NDArray]:
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported below, by name
            products = Y @ Y[candidates].T
        return _candidate_distances(products, row_norms, candidates, closest, weights)

    chosen = np.empty(n_clusters, dtype=np.intp)
    chosen[0] = rng.integers(n_samples) if sample_weight is None else rng.choice(n_samples, p=weights / weights.sum())
    closest = distances_and_potentials(chosen[:1], np.full(n_samples, np.inf))[0][:, 0]
    for k in range(1, n_clusters):
        total = weights @ closest
        if not np.isfinite(total):
            raise ValueError("squared distances overflow (data beyond about 1e154): rescale X, or use KMeans, "
                             "which does.")
        if total <= 0.0:  # every point already sits on a centre (duplicates): any point will do
            candidates = rng.integers(n_samples, size=n_local_trials)
        else:
            candidates = _draw_proportional(weights * closest / total, n_local_trials, rng)
        d2_candidates, potentials = distances_and_potentials(candidates, closest)
        best = first_argmin(potentials)  # the same candidate on every machine
        chosen[k] = candidates[best]
        closest = d2_candidates[:, best]
    return X[chosen]


@numba.njit(cache=True, boundscheck=False)
def _candidate_distances(
    products: NDArray, row_norms: NDArray, candidates: NDArray, closest: NDArray, sample_weight: NDArray
) -> tuple[NDArray, NDArray]:
    r"""Each point's squared distance to its nearest centre if candidate :math:`c` joined, and each candidate's potential.

    .. math::

        d_{nc} = \min\bigl(D(y_n)^2,\; \max(0, \lVert y_n \rVert^2 - 2\, y_n^\top y_c + \lVert y_c \rVert^2)\bigr),
        \qquad \phi_c = \sum_n w_n d_{nc},

    from ``products`` :math:`= Y Y_C^\top`, written over in place (one pass, no temporaries).
    """
    potentials = np.zeros(candidates.size)
    for n in range(products.shape[0]):
        for j in range(candidates.size):
            d2 = products[n, j] * -2.0 + row_norms[n] + row_norms[candidates[j]]
            d2 = min(closest[n], max(d2, 0.0))
            products[n, j] = d2
            potentials[j] += sample_weight[n] * d2
    return products, potentials


def _draw_proportional(p: NDArray, size: int, rng: np.random.Generator) -> NDArray[np.intp]:
    """``size`` indices drawn with probabilities ``p``: the draws of ``rng.choice(len(p), size, p=p)``,
    without its checks of ``p`` (each a pass over the data)."""
    cdf = np.cumsum(p)
    cdf /= cdf[-1]
    return cdf.searchsorted(rng.random(size), side="right")


class KMeans(ClusterMixin, TransformerMixin, BaseEstimator):
    r"""k-means clustering by Lloyd's algorithm: hard EM on a mixture of equal spherical Gaussians.

    Parameters
    ----------
    n_clusters : int, default=8
        The number of clusters :math:`K`.
    init : {"k-means++", "random"} or array-like of shape (n_clusters, n_features), default="k-means++"
        How to choose the initial centres: k-means++ seeding, ``K`` distinct random data
        points, or the given centres.
    n_init : int or "auto", default="auto"
        Number of runs from different seeds; the run with the lowest distortion is kept.
        ``"auto"`` means 1 for ``"k-means++"`` or given centres and 10 for ``"random"``.
    max_iter : int, default=300
        Maximum number of update steps per run.
    tol : float, default=1e-4
        Stop when the centres move less than ``tol`` times the mean feature variance
        (sum of squared shifts), or when no label changes.
    random_state : int, numpy.random.Generator or None, default=None
        Seed for the initialisation.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    labels_ : ndarray of shape (n_samples,)
        The nearest centre of each training point (for the final centres).
    inertia_ : float
        The distortion :math:`J` of the final centres and labels.
    inertia_history_ : ndarray of shape (n_iter_ + 1,)
        :math:`J` after the initial assignment and after each update-and-assign step;
        it never increases.
    n_iter_ : int
        Number of update steps of the kept run.
    n_features_in_ : int

    Notes
    -----
    float32 data are fitted in float32, as by scikit-learn (half the memory): the products with the
    centres in float32, the sums in float64, ``cluster_centers_`` float32. Their rounding (6e-8) is
    above the 1e-9 tie tolerance, so a point within float32 rounding of a boundary between two
    centres may be labelled differently on another machine. Other dtypes are converted to float64.
    After a float32 fit, ``predict``, ``score`` and ``transform`` work on float32 data in float32
    (``transform`` returns float32, as scikit-learn's), and on any other data in float64.
    """

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        init: str | ArrayLike = "k-means++",
        n_init: int | str = "auto",
        max_iter: int = 300,
        tol: float = 1e-4,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def _check_parameters(self, X: NDArray) -> tuple[int, NDArray | None]:
        """Validate the hyper-parameters against ``X``; return (n_init, given initial centres)."""
        n_clusters = check_positive_int(self.n_clusters, "n_clusters")
        check_positive_int(self.max_iter, "max_iter")
        check_positive_float(self.tol, "tol")
        check_n_samples(X, n_clusters, "n_clusters")
        given = None
        if isinstance(self.init, str):
            check_option(self.init, "init", ("k-means++", "random"))
        else:
            given = check_parameter_array(self.init, "init", (n_clusters, X.shape[1]))
        if isinstance(self.n_init, str):
            check_option(self.n_init, "n_init", ("auto",))
            n_init = 10 if isinstance(self.init, str) and self.init == "random" else 1
        else:
            n_init = check_positive_int(self.n_init, "n_init")
        if given is not None and n_init > 1:
            warnings.warn(
                f"Explicit initial centres were given: KMeans runs once from them, not n_init={n_init} times.",
                RuntimeWarning,  # scikit-learn's category for the same case
                stacklevel=3,
            )
        return (1 if given is not None else n_init), given

    def fit(self, X: ArrayLike, y: Any = None, sample_weight: ArrayLike | None = None) -> KMeans:
        r"""Run Lloyd's algorithm ``n_init`` times and keep the run with the lowest distortion.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional
            :math:`w_n \ge 0`: each centre is the weighted mean of its points and the distortion
            is :math:`\sum_n w_n \lVert x_n - \mu_{z_n} \rVert^2` (an integer weight counts as that
            many copies of the row). Default: every row counts once.

        Returns
        -------
        self
        """
        X = check_data(X, keep_float32=True)
        n_init, given = self._check_parameters(X)
        weights = check_sample_weight(sample_weight, X.shape[0])
        rng = check_random_state(self.random_state)
        Z, shift, scale = _centred_and_scaled(X)
        row_norms = np.einsum("nd,nd->n", Z, Z)
        best = None
        for _ in range(n_init):
            centers = (given - shift) / scale if given is not None else self._initial_centers(Z, rng, weights, row_norms)
            run = self._lloyd(Z, row_norms, np.ascontiguousarray(centers, dtype=Z.dtype), weights)
            if best is None or run[2][-1] < best[2][-1]:
                best = run
        centers, labels, history, converged = best
        distinct = np.unique(labels).size
        if distinct < self.n_clusters:  # as scikit-learn warns
            warnings.warn(
                f"Number of distinct clusters ({distinct}) found smaller than n_clusters ({self.n_clusters}): "
                "X has fewer distinct points than clusters.",
                ConvergenceWarning,
                stacklevel=2,
            )
        with np.errstate(over="ignore"):  # a distortion beyond the largest double is inf
            centers, history = centers * scale + shift, history * scale * scale
        self._warn_unless(converged)
        self.cluster_centers_ = centers.astype(X.dtype)  # float32 for float32 data, as in scikit-learn
        self.labels_ = labels
        self.inertia_history_ = history
        self.inertia_ = float(history[-1])
        self.n_iter_ = len(history) - 1
        self.n_features_in_ = X.shape[1]
        return self

    def _warn_unless(self, converged: bool) -> None:
        """The warning of a fit that reached ``max_iter`` before the stopping rule (for ``fit``'s caller)."""
        if not converged:
            warnings.warn(
                f"KMeans did not converge in max_iter={self.max_iter} iterations; increase max_iter or tol.",
                ConvergenceWarning,
                stacklevel=3,
            )

    def _initial_centers(
        self, X: NDArray, rng: np.random.Generator, sample_weight: NDArray | None, row_norms: NDArray | None = None
    ) -> NDArray:
        """Seeds among the rows of ``X``; ``row_norms``: its squared row norms, when ``X`` is centred."""
        if self.init == "k-means++":
            return kmeans_plusplus(X, self.n_clusters, rng, sample_weight=sample_weight, row_norms=row_norms)
        rows = np.flatnonzero(sample_weight > 0) if sample_weight is not None else np.arange(X.shape[0])
        return X[rng.choice(rows, size=self.n_clusters, replace=False)].copy()

    def _lloyd(
        self, X: NDArray, row_norms: NDArray, centers: NDArray, sample_weight: NDArray | None
    ) -> tuple[NDArray, NDArray, NDArray, bool]:
        """One run of Lloyd's algorithm from ``centers``: (centres, labels, J history, converged).

        Each iteration is one pass over the data: it assigns every row to the current centres (whose
        distortion it records) and sums the rows of each cluster for the next centres. Hamerly's
        bounds cost a little per pass and pay once most labels settle, so the passes are
        :func:`relabel_pass` until one changes fewer than ``BOUNDS_BELOW_CHANGED`` of the labels,
        then :func:`bounded_lloyd_pass` if :func:`_bounds_can_pay`; the bounds change the work, not
        the labels (nor the sums). Where they cannot pay, the passes are :func:`block_sums_pass` if
        :func:`_block_sums_can_pay`: it skips the sums of blocks whose labels all stay. With few
        centres and features (:func:`_narrow_can_pay`), every pass is :func:`narrow_pass`.
        ``X`` is centred and scaled (:func:`_centred_and_scaled`), ``row_norms`` its squared rows.
        """
        # the mean variance of the features, (mean_n ||x_n||^2 - ||mean_n x_n||^2) / D, from the row norms
        mean = X.mean(axis=0, dtype=np.float64)
        tol = self.tol * max(float(row_norms.mean(dtype=np.float64) - mean @ mean), 0.0) / X.shape[1]
        weights = np.ones(X.shape[0]) if sample_weight is None else sample_weight
        labels, lower = np.zeros(X.shape[0], dtype=np.intp), np.zeros(X.shape[0])
        bounded = False  # whether lower holds Hamerly's bounds for the current centres
        narrow = _narrow_can_pay(*centers.shape)
        can_pay = _bounds_can_pay(*centers.shape) and not narrow
        # Block sums only where bounds cannot pay (K < 10, K D < 100): K (D + 1) < 110 doubles per 256 rows. The
        # two never mix in one fit, so every pass after the first can reuse the last one's block sums.
        block_sums = block_weights = None
        if keep_block_sums := _block_sums_can_pay(X.shape[1], can_pay) and not narrow:
            n_blocks = _n_blocks.py_func(X.shape[0])  # in Python: no compilation for a number
            block_sums, block_weights = np.empty((n_blocks, *centers.shape)), np.empty((n_blocks, centers.shape[0]))

        def plain_pass(pass_centers: NDArray, reuse: bool) -> tuple[float, NDArray, NDArray, int]:
            if narrow:
                return narrow_pass(X, row_norms, pass_centers, weights, labels)
            if keep_block_sums:
                return block_sums_pass(X, row_norms, pass_centers, weights, labels, block_sums, block_weights, reuse)
            return relabel_pass(X, row_norms, pass_centers, weights, labels)

        distortion, sums, cluster_weights, n_changed = plain_pass(centers, False)
        history = [distortion]
        converged = False
        for _ in range(self.max_iter):
            with np.errstate(invalid="ignore", divide="ignore"):
                new_centers = sums / cluster_weights[:, None]  # the update step; empty clusters are NaN
            if not cluster_weights.all():  # rare: move them onto the rows farthest from their centres
                min_d2 = lloyd_pass(X, row_norms, centers, weights)[1]  # the last pass's labels, so its distances
                new_centers = _relocate_empty_clusters(X, new_centers, cluster_weights, min_d2)
            new_centers = new_centers.astype(X.dtype)
            shifts = np.sum((new_centers.astype(np.float64) - centers) ** 2, axis=1)
            if bounded or (can_pay and n_changed < BOUNDS_BELOW_CHANGED * X.shape[0]):
                distortion, sums, cluster_weights, n_changed = bounded_lloyd_pass(
                    X, row_norms, new_centers, weights, labels, lower, _largest_other(np.sqrt(shifts)), bounded
                )
                bounded = True
            else:
                distortion, sums, cluster_weights, n_changed = plain_pass(new_centers, True)
            history.append(distortion)
            centers = new_centers
            if n_changed == 0 or shifts.sum() <= tol:
                converged = True
                break
        return centers, labels, np.asarray(history), converged

    def _fitted_data(self, X: ArrayLike) -> NDArray:
        """``X`` checked against the fit; float32 only if the centres are float32 too (a fit on float32
        data), else float64 (where scikit-learn raises for the mixed dtypes)."""
        X = check_fitted_data(self, X, keep_float32=True)
        return X if X.dtype == self.cluster_centers_.dtype else X.astype(np.float64)

    def _assign(self, X: NDArray) -> tuple[NDArray[np.intp], NDArray]:
        """Labels and squared distances of ``X`` for the fitted centres, by the pass :meth:`fit` uses."""
        Z, shift, scale = _centred_and_scaled(X)
        centers = np.ascontiguousarray(((self.cluster_centers_.astype(np.float64) - shift) / scale).astype(Z.dtype))
        labels, min_d2, _, _ = lloyd_pass(Z, np.einsum("nd,nd->n", Z, Z), centers, np.ones(Z.shape[0]))
        with np.errstate(over="ignore"):
            return labels, min_d2 * scale * scale  # not scale**2, which may overflow where d2 is 0

    def transform(self, X: ArrayLike) -> NDArray:
        r"""The distance :math:`\lVert x_n - \mu_k \rVert` from every row of ``X`` to every fitted centre,
        shape (n_samples, n_clusters) (as scikit-learn's: ``KMeans`` as a pipeline step); float32 for
        float32 data after a fit on float32 data."""
        X = self._fitted_data(X)
        return np.sqrt(squared_distances(X, self.cluster_centers_.astype(X.dtype)))

    def predict(self, X: ArrayLike) -> NDArray[np.intp]:
        """The index of the nearest fitted centre for each row of ``X``."""
        return self._assign(self._fitted_data(X))[0]

    def score(self, X: ArrayLike, y: Any = None) -> float:
        """Minus the distortion of ``X`` with the fitted centres (higher is better, as in scikit-learn)."""
        return -float(self._assign(self._fitted_data(X))[1].sum())


def _centred_and_scaled(X: NDArray) -> tuple[NDArray, NDArray, np.float64]:
    r"""``(Z, shift, scale)`` with :math:`Z = (X - \bar x) / s`, C-contiguous, in the dtype of ``X``.

    k-means commutes with translations and scalings, so :class:`KMeans` works on :math:`Z` and maps
    the centres back. Centring keeps the expansion of :func:`lloyd_pass` accurate for data far
    from the origin; :math:`s`, the power of two at or above the largest :math:`\lvert x_{nd} -
    \bar x_d \rvert`, keeps squared distances finite for data as large as :math:`10^{300}`. Division
    by a power of two is exact, so for every other input the result is the same, bit for bit.
    """
    shift = X.mean(axis=0, dtype=np.float64).astype(X.dtype)  # float32 data: a float32 shift, subtracted as it is
    Z = np.ascontiguousarray(X - shift)
    largest = max(float(Z.max()), -float(Z.min()))  # max |Z|, without an |Z| temporary
    scale = np.ldexp(1.0, np.frexp(largest)[1]) if largest > 0.0 else np.float64(1.0)
    Z /= scale
    return Z, shift, scale


def _bounds_can_pay(n_clusters: int, n_features: int) -> bool:
    r"""Whether Hamerly's bounds can make passes faster: :math:`K \ge 10` or :math:`K D \ge 100`.

    A settled row costs one distance (:math:`D` terms) instead of :math:`K` products and comparisons,
    and the pass that first computes the bounds costs 1.1 to 2.2 passes without them. Measured with
    :math:`N = 10^5` and 99% of rows settled, a bounded pass took 0.27 to 0.76 of a full one at every
    :math:`(D, K)` with :math:`D \in \{2, 5, 10, 20, 50\}`, :math:`K \in \{2, 3, 5, 10, 30\}` that this
    rule admits, and 0.90 to 1.22 at every one it rejects (where the first pass's cost is not won back).
    """
    return n_clusters >= BOUNDS_MIN_CLUSTERS or n_clusters * n_features >= BOUNDS_MIN_WORK


def _narrow_can_pay(n_clusters: int, n_features: int) -> bool:
    r"""Whether :class:`KMeans` runs every pass by :func:`narrow_pass`: :math:`K \le 20` and :math:`K D \le 50`.

    Its loops along the rows cost about :math:`2 K D` vector operations per row (the products and the masked
    sums), which beats the other passes' loops over each row's centres and features only for small :math:`K`
    and :math:`D`. Measured with :math:`N = 10^5` on an AMD EPYC (Zen 5), whole fits from the same start took
    this fraction of scikit-learn's time with :func:`narrow_pass`, against the other passes:

    - admitted: 0.49 against 0.85 at :math:`(D, K) = (2, 3)`, 0.65 against 1.05 at :math:`(2, 10)`, 0.62
      against 0.83 at :math:`(2, 20)`, 0.63 against 0.69 at :math:`(10, 3)`, 0.70 against 1.07 at
      :math:`(4, 10)`, 0.75 against 1.09 at :math:`(5, 5)`, 0.80 against 0.88 at :math:`(10, 5)` and 0.96
      against 1.01 at :math:`(5, 10)`;
    - rejected: 0.86 against 0.61 at :math:`(2, 30)`, 0.69 against 0.45 at :math:`(1, 30)`, 0.79 against
      0.67 at :math:`(20, 3)` and 2.4 against 0.64 at :math:`(50, 3)`.
    """
    return n_clusters <= NARROW_MAX_CLUSTERS and n_clusters * n_features <= NARROW_MAX_WORK


def _block_sums_can_pay(n_features: int, bounds_can_pay: bool) -> bool:
    r"""Whether :class:`KMeans` uses :func:`block_sums_pass`: without bounds, and with :math:`D \ge 3`.

    Summing by block costs 4 to 9% of a pass in which blocks change (the early passes); a block whose
    labels all stay saves its sums, :math:`D` terms per row. Measured with :math:`N = 10^5` in a late
    pass (few labels change), a pass reusing most blocks took 0.76 to 0.91 of a :func:`relabel_pass`
    at :math:`(D, K) = (3, 3), (4, 3), (5, 3), (10, 3), (20, 3), (3, 5), (5, 5)`, and 1.00 at
    :math:`(2, 3)`. With bounds (:func:`_bounds_can_pay`), a settled row skips its products as well,
    and the passes do not keep block sums.
    """
    return not bounds_can_pay and n_features >= BLOCK_SUMS_MIN_FEATURES


def _largest_other(values: NDArray) -> NDArray:
    r""":math:`\max_{k \ne a} v_k` for each :math:`a` (``0`` for a single value)."""
    order = np.argsort(values)
    largest = np.full(values.shape, values[order[-1]])
    largest[order[-1]] = values[order[-2]] if values.size > 1 else 0.0
    return largest


def _relocate_empty_clusters(X: NDArray, centers: NDArray, cluster_weights: NDArray, min_d2: NDArray) -> NDArray:
    """Move the centre of each empty cluster (no weight) onto one of the points farthest from their centres.

    An empty cluster's centre does not enter ``J``, so moving it cannot raise ``J``; putting
    it on a badly served point lowers ``J`` at the next assignment.
    """
    empty = np.flatnonzero(cluster_weights == 0)
    if empty.size:
        centers = centers.copy()
        farthest = np.argsort(min_d2, kind="stable")[::-1][: empty.size]
        centers[empty] = X[farthest]
    return centers
