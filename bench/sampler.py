"""Scoring and ranking speed, and the whole sampler's memory on a large pool.

1. Scores and ranks 1M rows x 10 classes with ``sampling.scores`` + ``sampling.top(k=10000)``,
   beside the approach of the plugin we replace in the same run: per-strategy formulas on fully
   sorted rows (``scipy.stats.entropy`` for entropy) and a full descending argsort.
2. Runs the whole sampler (``labelloop.learning.query_sampler.run_sampler``) on a 5M-row Parquet
   pool with a small scikit-learn model, in a child process, and reports that process's peak
   memory (max RSS); then again with diverse queries (``diversity = cluster``), for their cost.
3. Runs the plain sampler on pools of 1M, 5M and 20M rows: the pool is read in chunks, so peak
   memory must stay about flat as the pool grows.

    python bench/sampler.py [--rows 1000000] [--pool-rows 5000000] [--flat-rows 1000000,5000000,20000000]
                            [--repeats 5]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.stats
from headline import record

from labelloop.sampling import scores, top

K = 10_000


def baseline(probabilities: np.ndarray, strategy: str) -> np.ndarray:
    """The 4.x sampler: score every row, then sort the whole pool, most uncertain first."""
    if strategy == "confidence":
        uncertainty = 1 - probabilities.max(axis=1)
    elif strategy == "margin":
        ordered = np.sort(probabilities, axis=1)
        uncertainty = 1 - (ordered[:, -1] - ordered[:, -2])
    else:
        uncertainty = scipy.stats.entropy(probabilities, axis=1)
    return np.argsort(-uncertainty)[:K]


def ours(probabilities: np.ndarray, strategy: str) -> np.ndarray:
    return top(scores(probabilities, strategy), K)


def best_of(function, repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        timings.append(time.perf_counter() - start)
    return min(timings)


def scoring_table(rows: int, repeats: int) -> None:
    probabilities = np.random.default_rng(0).dirichlet(np.ones(10), size=rows)
    print(f"Scoring + ranking {rows:,} rows x 10 classes, top {K:,} (best of {repeats})")
    print(f"{'strategy':<12} {'4.x ms':>9} {'ours ms':>9} {'speed-up':>9}  same top {K:,}")
    for strategy in ("confidence", "margin", "entropy"):
        base = best_of(lambda strategy=strategy: baseline(probabilities, strategy), repeats)
        mine = best_of(lambda strategy=strategy: ours(probabilities, strategy), repeats)
        same = np.array_equal(np.sort(baseline(probabilities, strategy)), np.sort(ours(probabilities, strategy)))
        print(f"{strategy:<12} {base * 1000:>9.1f} {mine * 1000:>9.1f} {base / mine:>8.1f}x  {same}")
        record("sampler", f"score and rank {rows:,} rows x 10 classes, {strategy}", mine * 1000, base * 1000, "ms")


CHILD = """
import json, resource, sys, time
from labelloop.platform.local import LocalPlatform
from labelloop.learning.query_sampler import Pool, SamplerSettings, run_sampler
platform = LocalPlatform(sys.argv[1])
start = time.perf_counter()
summary = run_sampler(platform, "clf", Pool("pool"), "queries", set(),
                      SamplerSettings(max_queries=10_000, chunk_size=100_000, seed=0, diversity=sys.argv[2]))
summary["seconds"] = time.perf_counter() - start
summary["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(summary))
"""


def make_pool(folder: Path, rows: int) -> None:
    """A Parquet pool written in slices (so this process stays small too), and a model."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from sklearn.linear_model import LogisticRegression

    from labelloop.platform.local import LocalPlatform

    rng = np.random.default_rng(1)
    (folder / "datasets").mkdir(parents=True)
    with pq.ParquetWriter(folder / "datasets" / "pool.parquet", pa.schema([(f"x{i}", pa.float64()) for i in range(5)])) as out:
        for start in range(0, rows, 500_000):
            size = min(500_000, rows - start)
            out.write_table(pa.table({f"x{i}": rng.normal(size=size) for i in range(5)}))
    import pandas as pd

    train = pd.DataFrame({f"x{i}": rng.normal(size=2000) for i in range(5)})
    labels = np.select([train["x0"] < -0.4, train["x0"] > 0.4], ["a", "c"], "b")
    LocalPlatform(folder).registry("clf").save(LogisticRegression().fit(train, labels), {})


def memory_run(pool_rows: int) -> None:
    """The whole sampler, plain then with diverse queries, each in its own process."""
    print(f"\nWhole sampler on a {pool_rows:,}-row Parquet pool (5 features, rows identified by hash, "
          "chunks of 100,000, top 10,000)")
    print(f"{'diversity':<10} {'seconds':>8} {'peak MB':>8}")
    runs = {}
    with tempfile.TemporaryDirectory() as folder:
        make_pool(Path(folder), pool_rows)
        for diversity in ("none", "cluster"):
            result = subprocess.run([sys.executable, "-c", CHILD, folder, diversity], capture_output=True, text=True,
                                    check=True)
            runs[diversity] = json.loads(result.stdout)
            print(f"{diversity:<10} {runs[diversity]['seconds']:>8.1f} {runs[diversity]['peak_mb']:>8,.0f}")
    plain, diverse = runs["none"], runs["cluster"]
    print(f"Diverse queries (k-means over the 90,000 most uncertain rows) add "
          f"{diverse['seconds'] - plain['seconds']:.1f} s ({diverse['seconds'] / plain['seconds']:.2f}x) and "
          f"{diverse['peak_mb'] - plain['peak_mb']:,.0f} MB.")
    record("sampler", f"whole sampler, {pool_rows:,}-row pool: peak memory", plain["peak_mb"], None, "MB")
    record("sampler", f"whole sampler, {pool_rows:,}-row pool, top 10,000: seconds with diverse queries "
           f"(plain: {plain['seconds']:.1f} s)", diverse["seconds"], None, "s")


def flat_run(sizes: list) -> None:
    """The plain sampler on pools of growing size: its peak memory, which chunks keep about flat."""
    print("\nPlain sampler (hashed ids, chunks of 100,000, top 10,000) on pools of growing size")
    print("| pool rows | seconds | peak MB |\n|---:|---:|---:|")
    peaks = {}
    for rows in sizes:
        with tempfile.TemporaryDirectory() as folder:
            make_pool(Path(folder), rows)
            result = subprocess.run([sys.executable, "-c", CHILD, folder, "none"], capture_output=True, text=True,
                                    check=True)
        run = json.loads(result.stdout)
        peaks[rows] = run["peak_mb"]
        print(f"| {rows:,} | {run['seconds']:.1f} | {run['peak_mb']:,.0f} |")
    smallest, largest = min(sizes), max(sizes)
    print(f"Peak memory at {largest:,} rows is {peaks[largest] / peaks[smallest]:.2f}x that at {smallest:,} "
          f"rows, for {largest // smallest}x the rows.")
    record("sampler", f"whole sampler, {largest:,}-row pool: peak memory ({smallest:,} rows: {peaks[smallest]:,.0f} MB)",
           peaks[largest], None, "MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pool-rows", type=int, default=5_000_000)
    parser.add_argument("--flat-rows", default="1000000,5000000,20000000")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    scoring_table(args.rows, args.repeats)
    memory_run(args.pool_rows)
    flat_run([int(n) for n in args.flat_rows.split(",")])


if __name__ == "__main__":
    main()
