r"""emlib on Dask: out of core, scaling over worker processes, and dask-ml's KMeans (issue 19, item 4).

Runs on this machine with ``dask.distributed.LocalCluster(processes=True)``, one thread per worker
process and one BLAS thread, and prints three tables:

(b) out of core
    A Gaussian mixture (``emlib.dask.GaussianMixture``, full covariances) fitted to a Zarr array
    on disk (``--gigabytes``, default 6) at least 3 times larger than the workers' total memory
    limit (``--workers 2`` x ``--memory-limit 1GB``). The fit runs on fresh workers (the array is
    written by others); each worker's peak resident memory during the fit, sampled every 2 ms by
    ``emlib.dask.peak_worker_memory``, is printed beside its limit, with the time per EM pass and
    the passes run. (The operating system's page cache may hold parts of the file: it is not the
    workers' memory.)
(c) scaling
    Time per EM pass (``tol`` = 0, the same start, a fixed number of passes, the difference of two
    fits divided by the difference of their passes) on data held by the workers: with 1 and 2
    worker processes on the same data (strong scaling: ideal ratio 0.5) and with 2 workers on
    twice the data against 1 worker (weak scaling: ideal ratio 1.0).
(d) dask-ml
    ``emlib.dask.KMeans`` against ``dask_ml.cluster.KMeans`` (the existing distributed k-means),
    on the same data held by the workers: time per Lloyd pass from the same centres, and whole
    fits with each library's own start (emlib: k-means++ on a subsample of ``init_sample`` rows,
    one read; dask-ml: k-means‖, Bahmani et al. 2012, several passes), with the time of each
    start, the passes and the final inertia: the sum of squared distances from every row to its
    nearest final centre, computed here for both (lower is better). dask-ml's own ``inertia_`` is
    not that number when its loop stops short of a shift below 1e-7: it then sums distances, not
    squared distances (dask_ml.cluster.k_means._kmeans_single_lloyd, 2025.1.0).

Not a test (timings vary between machines): run with ``make bench`` or alone. A smaller run:
``python benchmarks/bench_dask.py --gigabytes 1.2 --memory-limit 400MB --block-mb 8 --rows 200000``.

Usage: python benchmarks/bench_dask.py [--gigabytes G] [--memory-limit 1GB] [--workers 2]
       [--rows N] [--features D] [--components K] [--block-mb MB] [--store DIR] [--parts bcd]
"""

from __future__ import annotations

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import dask  # noqa: E402
import dask.array as da  # noqa: E402
import numpy as np  # noqa: E402
from dask.distributed import Client, LocalCluster  # noqa: E402
from dask.utils import parse_bytes  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

import emlib.dask  # noqa: E402

SEED = 19  # the data and every start


def cluster(workers: int, memory_limit: str | int = "auto") -> tuple[LocalCluster, Client]:
    """Worker processes with one thread each (what Client("tcp://...") would be on many machines)."""
    local = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, memory_limit=memory_limit,
                         dashboard_address=None, silence_logs=40)
    return local, Client(local)


def mixture_block(block_id: tuple[int, int], rows: int, D: int, K: int, separation: float) -> np.ndarray:
    """Rows of a K-component mixture in D dimensions (unit covariances, means drawn with standard
    deviation ``separation``), the same for a block wherever it is computed."""
    centres = np.random.default_rng(SEED).normal(scale=separation, size=(K, D))
    rng = np.random.default_rng([SEED, block_id[0]])
    return centres[rng.integers(0, K, rows)] + rng.normal(size=(rows, D))


def mixture_array(n_rows: int, D: int, K: int, block_mb: float, separation: float = 3.0) -> da.Array:
    """A lazy (n_rows, D) mixture sample in blocks of about ``block_mb`` MiB, generated where it is used."""
    block_rows = max(1, int(block_mb * 2**20) // (8 * D))
    chunks = (tuple(min(block_rows, n_rows - s) for s in range(0, n_rows, block_rows)), (D,))
    return da.map_blocks(lambda block_id=None: mixture_block(block_id, chunks[0][block_id[0]], D, K, separation),
                         chunks=chunks, dtype=float, meta=np.empty((0, D)))


def same_start(X: da.Array, K: int, covariance_type: str = "full") -> dict:
    """Equal weights, K rows of the first block as means, unit covariances: one start for everyone."""
    first = X.blocks[0].compute()
    means = first[np.random.default_rng(SEED).choice(len(first), K, replace=False)]
    D = X.shape[1]
    covariances = {"full": np.stack([np.eye(D)] * K), "diag": np.ones((K, D))}[covariance_type]
    return {"weights_init": np.full(K, 1.0 / K), "means_init": means, "covariances_init": covariances}


def seconds(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def seconds_per_pass(fit: Callable[[int], object], passes: tuple[int, int] = (2, 6)) -> float:
    """(time of a fit of ``b`` passes - time of a fit of ``a``) / (b - a): set-up and start cancel."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        short, long = (seconds(lambda p=p: fit(p)) for p in passes)
    return (long - short) / (passes[1] - passes[0])


def inertia(X: da.Array, centres: np.ndarray) -> float:
    """The sum over rows of the squared distance to the nearest of ``centres``, on the workers."""
    d2 = ((X[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    return float(d2.min(axis=1).sum().compute())


def gmm_passes(X: da.Array, start: dict) -> Callable[[int], object]:
    """A fit of exactly ``passes`` E-steps from ``start`` (tol too small to stop earlier)."""
    return lambda passes: emlib.dask.GaussianMixture(len(start["weights_init"]), max_iter=passes - 1,
                                                     tol=1e-300, **start).fit(X)


# ----------------------------------------------------------------- (b) out of core
def out_of_core(args: argparse.Namespace) -> None:
    import zarr  # noqa: F401  (the bench extra; a clear ImportError if it is missing)

    D, K = args.features, args.components
    n_rows = int(args.gigabytes * 1e9 / (8 * D))
    store = Path(args.store or tempfile.mkdtemp(prefix="emlib-bench-")) / "mixture.zarr"
    limit = parse_bytes(args.memory_limit)
    local, client = cluster(args.workers)  # writing: no limit (generating a block takes 3 times its size)
    with local, client:
        started = time.perf_counter()
        da.to_zarr(mixture_array(n_rows, D, K, args.block_mb), str(store), overwrite=True, compressors=None)
        written = time.perf_counter() - started
    local, client = cluster(args.workers, limit)  # fresh worker processes: ru_maxrss counts the fit only
    try:
        X = da.from_zarr(str(store))
        fit = emlib.dask.GaussianMixture(K, tol=1e-3, max_iter=30, random_state=SEED, init_sample=20_000)
        started = time.perf_counter()
        with warnings.catch_warnings(), emlib.dask.peak_worker_memory(client) as peaks:
            warnings.simplefilter("ignore", ConvergenceWarning)
            fit.fit(X)
        elapsed = time.perf_counter() - started
    finally:
        client.close()
        local.close()
        shutil.rmtree(store, ignore_errors=True)
    size = n_rows * D * 8
    print(f"\n(b) out of core: a {K}-component full-covariance mixture fitted to a Zarr array on disk")
    print(f"  data: {n_rows:,} x {D} float64 = {size / 1e9:.2f} GB in {X.numblocks[0]} blocks "
          f"(written in {written:.0f} s); workers: {args.workers} x {limit / 1e9:.2f} GB = "
          f"{args.workers * limit / 1e9:.2f} GB, so the data are {size / (args.workers * limit):.1f}x the limit")
    print(f"  fit: {elapsed:.0f} s for {len(fit.loglik_history_)} passes ({elapsed / len(fit.loglik_history_):.1f} s per pass"
          f" incl. the start), converged: {fit.converged_}")
    print("  peak resident memory per worker: " + ", ".join(f"{p / 1e9:.2f} GB ({p / limit:.0%} of its limit)" for p in peaks.values()))


# ---------------------------------------------------------------------- (c) scaling
def scaling(args: argparse.Namespace) -> dict[tuple[int, int], float]:
    D, K, N = args.features, args.components, args.rows
    times = {}
    for workers, n_rows in ((1, N), (2, N), (2, 2 * N)):
        local, client = cluster(workers)
        try:
            X = mixture_array(n_rows, D, K, args.block_mb).persist()
            start = same_start(X, K)
            seconds_per_pass(gmm_passes(X, start), passes=(2, 3))  # warm-up: the workers' imports
            times[workers, n_rows] = seconds_per_pass(gmm_passes(X, start))
        finally:
            client.close()
            local.close()
    one, two, weak = times[1, N], times[2, N], times[2, 2 * N]
    print(f"\n(c) scaling: time per EM pass, full covariances, D = {D}, K = {K}, data held by the workers")
    print(f"  1 worker,  N = {N:>11,}: {one:.3f} s")
    print(f"  2 workers, N = {N:>11,}: {two:.3f} s   strong scaling: {two / one:.2f} (ideal 0.50)")
    print(f"  2 workers, N = {2 * N:>11,}: {weak:.3f} s   weak scaling:   {weak / one:.2f} (ideal 1.00)")
    return times


# ---------------------------------------------------------------------- (d) dask-ml
def against_dask_ml(args: argparse.Namespace) -> None:
    from dask_ml.cluster import KMeans as DaskMLKMeans
    from dask_ml.cluster.k_means import k_init

    D, K, N = args.features, args.components, args.rows
    local, client = cluster(args.workers)
    try:
        X = mixture_array(N, D, K, args.block_mb, separation=1.0).persist()  # overlapping: many passes
        centres = same_start(X, K)["means_init"]

        def emlib_passes(passes: int) -> object:
            return emlib.dask.KMeans(K, init=centres, max_iter=passes - 1, tol=1e-300).fit(X)

        def dask_ml_passes(passes: int) -> object:
            return DaskMLKMeans(K, init=centres, max_iter=passes, tol=1e-300).fit(X)

        seconds_per_pass(emlib_passes, (2, 3)), seconds_per_pass(dask_ml_passes, (2, 3))  # warm-up
        per_pass = {"emlib": seconds_per_pass(emlib_passes), "dask-ml": seconds_per_pass(dask_ml_passes)}
        init_time = {
            "emlib": seconds(lambda: emlib.dask.KMeans(K, random_state=SEED)._initial_centers(
                emlib.dask.subsample(X, 10_000, np.random.default_rng(SEED)), np.random.default_rng(SEED), None)),
            "dask-ml": seconds(lambda: k_init(X, K, init="k-means||", random_state=SEED)),
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fits = {"emlib": emlib.dask.KMeans(K, random_state=SEED), "dask-ml": DaskMLKMeans(K, random_state=SEED)}
            whole = {name: seconds(lambda f=f: f.fit(X)) for name, f in fits.items()}
        final = {name: inertia(X, f.cluster_centers_) for name, f in fits.items()}
    finally:
        client.close()
        local.close()
    print(f"\n(d) emlib.dask.KMeans against dask_ml.cluster.KMeans: N = {N:,}, D = {D}, K = {K}, "
          f"{args.workers} workers, data held by the workers")
    print(f"  per Lloyd pass from the same centres: emlib {per_pass['emlib']:.3f} s, dask-ml {per_pass['dask-ml']:.3f} s,"
          f" ratio {per_pass['emlib'] / per_pass['dask-ml']:.2f}")
    print(f"  {'':8} {'start':>24} {'start (s)':>10} {'whole fit (s)':>14} {'passes':>7} {'inertia':>16}")
    starts = {"emlib": "k-means++ on 10,000 rows", "dask-ml": "k-means||"}
    for name, f in fits.items():
        print(f"  {name:8} {starts[name]:>24} {init_time[name]:>10.2f} {whole[name]:>14.2f} {f.n_iter_:>7} {final[name]:>16.6e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gigabytes", type=float, default=6.0, help="size of the on-disk array of (b)")
    parser.add_argument("--memory-limit", default="1GB", help="memory limit per worker in (b)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rows", type=int, default=2_000_000, help="N of (c) and (d)")
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--components", type=int, default=5)
    parser.add_argument("--store", default=None, help="folder for the Zarr array of (b) (default: a temporary one)")
    parser.add_argument("--block-mb", type=float, default=32.0,
                        help="MiB per block: the E-step's temporaries take several times a block's size")
    parser.add_argument("--parts", default="bcd", help="which tables to print")
    args = parser.parse_args()
    print(f"emlib.dask on a LocalCluster of worker processes, {os.cpu_count()} cores, dask {dask.__version__}")
    for part, run in (("b", out_of_core), ("c", scaling), ("d", against_dask_ml)):
        if part in args.parts:
            run(args)


if __name__ == "__main__":
    main()
