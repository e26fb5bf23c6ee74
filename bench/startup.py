"""Start-up of the labeling server on a 1M-row dataset, against the approach of the plugin we replace.

Building the served state for a 1M-row table (read the data, give every row its id, build the
queue), beside what 4.x did in the same run: hash every row with ``iterrows`` and
``pd.util.hash_pandas_object``. That takes about ten minutes on 1M rows, so ``--baseline-rows``
times it on fewer rows and scales up linearly (``iterrows`` is linear). The server under load is
``bench/load.py``.

Then the answers: a journal holding ``--labels`` current answers (10 annotators, one item in 20
skipped, one in 97 answered twice) read into the webapp's tally as a server starts, with the
garbage collector paused (``app.paused_gc``, what a server does): by columns (``Tally.load``,
what a server does) and answer by answer (``Tally.apply``, what it did before), in the same run.

    python bench/startup.py [--rows 1000000] [--baseline-rows N] [--labels 1000000]
"""
from __future__ import annotations

import argparse
import gc
import hashlib
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from headline import record

from labelloop.labeling.app import paused_gc
from labelloop.labeling.queue import Queue
from labelloop.labeling.tally import Tally
from labelloop.store.items import TableSource
from labelloop.store.journal import LABELED, SKIPPED, Annotation, Journal


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


def make_journal(url: str, labels: int) -> Journal:
    journal = Journal(url)
    classes = np.random.default_rng(0).choice(["low", "mid", "high"], labels)
    answers = [Annotation(item_id=str(i), annotator=f"annotator-{i % 10}", status=SKIPPED if i % 20 == 0 else LABELED,
                          label=None if i % 20 == 0 else classes[i], session=i // 1000) for i in range(labels)]
    answers += [Annotation(item_id=str(i), annotator="reviewer", status=LABELED, label="low", session=0)
                for i in range(0, labels, 97)]
    journal.record_many(answers)
    return journal


def read_tally(journal: Journal, by_columns: bool) -> tuple:
    """Seconds to read the journal's answers into a tally as a server starts, and the tally."""
    gc.collect()
    with paused_gc():
        start = time.perf_counter()
        tally = Tally(False, *journal.skip_counts())
        rows = journal.changes(0)
        if by_columns:
            tally.load(rows)
        else:
            tally.apply(rows)
        seconds = time.perf_counter() - start
    return seconds, tally


def answers_startup(folder: Path, labels: int) -> None:
    journal = make_journal(f"sqlite:///{folder / 'journal.sqlite'}", labels)
    before, applied = read_tally(journal, by_columns=False)
    stats = applied.stats(total=labels)
    del applied
    after, loaded = read_tally(journal, by_columns=True)
    assert loaded.stats(total=labels) == stats
    print(f"Answers at start-up, {labels:,} labels in the journal: read into the tally by columns {after:.1f} s, "
          f"answer by answer (before) {before:.1f} s: {before / after:.1f}x faster")
    record("startup", f"answers of a journal with {labels:,} labels read at start-up (answer by answer, as "
           f"before: {before:.1f} s)", after, None, "s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--baseline-rows", type=int, help="hash only this many rows for the baseline and scale up")
    parser.add_argument("--labels", type=int, default=1_000_000)
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
        answers_startup(folder, args.labels)


if __name__ == "__main__":
    main()
