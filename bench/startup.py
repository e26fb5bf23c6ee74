"""Start-up of the labeling server on a 1M-row dataset, against the approach of the plugin we replace.

Building the served state for a 1M-row table (read the data, give every row its id, build the
queue), beside what 4.x did in the same run: hash every row with ``iterrows`` and
``pd.util.hash_pandas_object``. That takes about ten minutes on 1M rows, so ``--baseline-rows``
times it on fewer rows and scales up linearly (``iterrows`` is linear). The server under load is
``bench/load.py``.

    python bench/startup.py [--rows 1000000] [--baseline-rows N]
"""
from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from headline import record

from labelloop.labeling.queue import Queue
from labelloop.store.items import TableSource


def make_data(path: Path, rows: int) -> None:
    rng = np.random.default_rng(0)
    pd.DataFrame({
        "age": rng.integers(18, 90, rows), "income": rng.normal(50_000, 15_000, rows).round(2),
        "city": rng.choice(["paris", "lyon", "nantes", "lille", "nice"], rows),
        "score": rng.random(rows), "visits": rng.integers(0, 40, rows),
    }).to_parquet(path, index=False)


def startup_ours(path: Path) -> float:
    start = time.perf_counter()
    frame = pd.read_parquet(path)
    source = TableSource(frame)
    Queue(list(source.ids))
    return time.perf_counter() - start


def startup_baseline(path: Path, rows: int | None) -> tuple:
    """4.x: ``iterrows`` over the frame, SHA-256 of each row's ``hash_pandas_object``."""
    start = time.perf_counter()
    frame = pd.read_parquet(path)
    if rows:
        frame = frame.head(rows)
    ids = [hashlib.sha256(pd.util.hash_pandas_object(row).values).hexdigest() for _, row in frame.iterrows()]
    return time.perf_counter() - start, len(ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--baseline-rows", type=int, help="hash only this many rows for the baseline and scale up")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        data = folder / "pool.parquet"
        make_data(data, args.rows)
        ours = startup_ours(data)
        base, hashed = startup_baseline(data, args.baseline_rows)
        scaled = base * args.rows / hashed
        note = "" if hashed == args.rows else f" (measured on {hashed:,} rows, scaled to {args.rows:,})"
        print(f"Start-up on {args.rows:,} rows x 5 columns: ours {ours:.1f} s, "
              f"4.x iterrows hashing {scaled:.1f} s{note}: {scaled / ours:.0f}x faster")
        record("startup", f"served state for {args.rows:,} rows", ours, scaled, "s")


if __name__ == "__main__":
    main()
