"""The sampler's two engines on one machine: pandas (chunks in one process) and Spark (local[2]).

Both run the whole sampler on the same Parquet pools (5 features, rows identified by hash, a
small scikit-learn model, top 10,000) in a child process each: wall time, and the peak memory of
the child's whole process tree (for Spark: the driver, its JVM and the Python workers), sampled
from /proc every 0.2 s. The queries of both engines are compared. From the two pool sizes, each
engine's fixed cost and cost per row follow; a table then projects, from those measured costs,
where Spark's fixed cost is paid back when its per-row work is spread over more machines.

    python bench/spark_sampler.py [--rows 1000000,20000000]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from headline import record
from sampler import make_pool

CHILD = """
import json, sys, time
start = time.perf_counter()
from labelloop.platform.local import LocalPlatform
from labelloop.learning.query_sampler import Pool, SamplerSettings, run_sampler
platform, engine = LocalPlatform(sys.argv[1]), sys.argv[2]
settings = SamplerSettings(max_queries=10_000, chunk_size=100_000, seed=0, diversity="none")
if engine == "pandas":
    summary = run_sampler(platform, "clf", Pool("pool"), engine + "_queries", set(), settings)
else:
    from labelloop.learning.spark_sampler import ModelScorer, local_session, parquet_pool, run_spark_sampler
    spark = local_session("local[2]")
    summary = {"session_seconds": time.perf_counter() - start}
    version = platform.active_version("clf")
    scorer = ModelScorer(platform.registry("clf").load(version), version)
    frame = parquet_pool(spark, str(platform.dataset_path("pool")))
    summary.update(run_spark_sampler(spark, platform, Pool("pool"), frame, engine + "_queries", set(), settings,
                                     scorer, "clf"))
summary["seconds"] = time.perf_counter() - start
print(json.dumps(summary))
"""


def _tree_rss_mb(root: int) -> float:
    """Resident memory of a process and all its descendants, from /proc."""
    parents, rss = {}, {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = dict(line.split(":", 1) for line in Path(entry.path, "status").read_text().splitlines() if ":" in line)
        except OSError:
            continue
        parents[int(entry.name)] = int(fields["PPid"])
        rss[int(entry.name)] = int(fields.get("VmRSS", "0 kB").split()[0])
    tree, grew = {root}, True
    while grew:
        found = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree, grew = tree | found, bool(found)
    return sum(rss.get(pid, 0) for pid in tree) / 1024


def run_engine(folder: str, engine: str) -> dict:
    """One engine's whole run in a child, with the peak memory of its process tree."""
    child = subprocess.Popen([sys.executable, "-c", CHILD, folder, engine], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
    peak, done = [0.0], threading.Event()

    def watch():
        while not done.wait(0.2):
            peak[0] = max(peak[0], _tree_rss_mb(child.pid))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    out, _ = child.communicate()
    done.set()
    watcher.join()
    if child.returncode:
        raise SystemExit(f"The {engine} engine failed (exit {child.returncode}).")
    return {**json.loads(out), "peak_mb": peak[0]}


def _same_queries(folder: str) -> bool:
    from labelloop.platform.local import LocalPlatform

    platform = LocalPlatform(folder)
    by_pandas, by_spark = (platform.read_dataset(f"{e}_queries").drop(columns="session") for e in ("pandas", "spark"))
    return by_pandas.equals(by_spark)


def measure(sizes: list) -> dict:
    print("Whole sampler, pandas engine vs Spark engine (local[2]) on this 2-core machine")
    print("| pool rows | pandas s | pandas peak MB | Spark s | of which Spark start-up s | Spark peak MB | Spark / pandas "
          "| same queries |\n|---:|---:|---:|---:|---:|---:|---:|---|")
    runs = {}
    for rows in sizes:
        with tempfile.TemporaryDirectory() as folder:
            make_pool(Path(folder), rows)
            pandas_run, spark_run = run_engine(folder, "pandas"), run_engine(folder, "spark")
            same = _same_queries(folder)
        runs[rows] = pandas_run, spark_run
        print(f"| {rows:,} | {pandas_run['seconds']:.1f} | {pandas_run['peak_mb']:,.0f} | {spark_run['seconds']:.1f} | "
              f"{spark_run['session_seconds']:.1f} | {spark_run['peak_mb']:,.0f} | "
              f"{spark_run['seconds'] / pandas_run['seconds']:.2f}x | {same} |")
        record("spark_sampler", f"whole sampler, {rows:,}-row pool: Spark engine (local[2]) seconds "
               f"(pandas engine: {pandas_run['seconds']:.1f} s; peak MB {spark_run['peak_mb']:,.0f} vs "
               f"{pandas_run['peak_mb']:,.0f})", spark_run["seconds"], None, "s")
    return runs


def project(runs: dict) -> None:
    """Fixed and per-row costs from the two sizes, and where Spark pays across machines."""
    small, large = min(runs), max(runs)
    costs = {}
    for n, engine in enumerate(("pandas", "Spark")):
        per_row = (runs[large][n]["seconds"] - runs[small][n]["seconds"]) / (large - small)
        costs[engine] = runs[small][n]["seconds"] - per_row * small, per_row
    (pandas_fixed, pandas_row), (spark_fixed, spark_row) = costs["pandas"], costs["Spark"]
    print(f"\nMeasured: pandas {pandas_fixed:.1f} s fixed + {pandas_row * 1e6:.2f} s per million rows; "
          f"Spark local[2] {spark_fixed:.1f} s fixed + {spark_row * 1e6:.2f} s per million rows (on 2 cores).")
    print("Projected wall time (s), Spark's per-row cost divided among machines of 2 cores like this one "
          "(its fixed cost and the driver's merge kept):")
    machines = (1, 4, 16, 64)
    print("| pool rows | pandas | " + " | ".join(f"Spark x{m}" for m in machines) + " |\n|---:|---:|" + "---:|" * len(machines))
    for rows in (20_000_000, 100_000_000, 1_000_000_000):
        spark = [spark_fixed + spark_row * rows / m for m in machines]
        print(f"| {rows:,} | {pandas_fixed + pandas_row * rows:,.0f} | " + " | ".join(f"{s:,.0f}" for s in spark) + " |")
    for m in machines:
        gain = pandas_row - spark_row / m
        if gain > 0:
            print(f"With {m} machine(s), Spark is faster from about {max(spark_fixed - pandas_fixed, 0) / gain:,.0f} rows.")
        else:
            print(f"With {m} machine(s), Spark is never faster: its per-row cost is higher than pandas' on one.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1000000,20000000")
    args = parser.parse_args()
    project(measure([int(n) for n in args.rows.split(",")]))


if __name__ == "__main__":
    main()
