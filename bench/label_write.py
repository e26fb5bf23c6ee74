"""Time of one label write: labelloop's journal against the plugin we replace.

The plugin we replace (ML-assisted Labeling 4.x) appended the label to in-memory frames and
rewrote the whole labels and metadata datasets on every click. labelloop appends one event to the
journal and lets a background writer refresh the datasets at most about once a second.

For pools of 10k and 1M items, each with 100k existing labels, this prints p50/p99 of one write
for both approaches (run in the same process, one after the other) and the ratios that matter:
baseline/ours, and our p99 at 1M over our p99 at 10k (a write must not grow with the pool).

Ours is timed twice: the append alone, and the append while the background writer keeps the
datasets current, as ``labelloop serve`` does: Parquet parts, so each write of the datasets adds
what changed (platform/parquet_parts.py; ``bench/flush.py`` times those writes themselves). The writer
competes with label writes for the GIL, which is what the second p99 shows.

    python bench/label_write.py [--writes 2000] [--baseline-writes 25] [--journal URL]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from headline import record

from labelloop.platform.local import LocalPlatform
from labelloop.store.items import TableSource
from labelloop.store.journal import LABELED, Annotation, Journal, utcnow
from labelloop.store.materialize import DebouncedWriter, Outputs, PartedMaterializer, labels_frame, metadata_frame
from labelloop.store.restore import rebuild

EXISTING = 100_000
ANNOTATORS = [f"annotator-{n}" for n in range(10)]


def make_pool(size: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "row": np.arange(size),
        "x1": rng.normal(size=size), "x2": rng.normal(size=size),
        "city": rng.choice(["paris", "lyon", "nantes", "lille"], size=size),
    })


def seed_journal(journal: Journal, source: TableSource) -> None:
    """100k existing labels, bulk-loaded (by 10 annotators when the pool is smaller)."""
    per_annotator = -(-EXISTING // len(source))
    items = [source.ids[i % len(source)] for i in range(EXISTING)]
    who = [ANNOTATORS[i // len(source)] for i in range(EXISTING)] if per_annotator > 1 else ["annotator-0"] * EXISTING
    now = utcnow()
    rebuild(journal, pd.DataFrame({
        "date": now, "data_id": items, "comment": None, "session": 1, "status": LABELED,
        "annotator": who, "label": [("a", "b", "c")[i % 3] for i in range(EXISTING)],
        "label_id": np.arange(1, EXISTING + 1),
    }))


def percentiles(seconds: list) -> tuple:
    ms = np.array(seconds) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def time_ours(folder: Path, source: TableSource, writes: int, journal_url: str | None, background: bool) -> tuple:
    """Our write: one journal append, then a nudge to the background writer (when running)."""
    journal = Journal(journal_url or f"sqlite:///{folder / 'journal.sqlite'}")
    seed_journal(journal, source)
    materializer = PartedMaterializer.of(LocalPlatform(folder), journal, source, Outputs())
    if background:
        materializer.write()  # as an earlier run of the server left them: the writer then adds what changed
    writer = DebouncedWriter(materializer.write) if background else None
    items = source.ids[-writes:] if len(source) > EXISTING else source.ids[:writes]
    timings = []
    try:
        for item in items:
            start = time.perf_counter()
            journal.record(Annotation(item, "annotator-new", LABELED, "a", session=2))
            if writer:
                writer.changed()
            timings.append(time.perf_counter() - start)
    finally:
        if writer:
            writer.close()
        journal.close()
    return percentiles(timings), writer.writes if writer else 0


def time_rewrite_baseline(folder: Path, source: TableSource, writes: int, journal_url: str | None) -> tuple:
    """The 4.x approach: append to the in-memory frames, rewrite both datasets on every label."""
    journal = Journal(journal_url or f"sqlite:///{folder / 'seed.sqlite'}")
    seed_journal(journal, source)
    answers = journal.current_frame()
    labels, metadata = labels_frame(answers, source), metadata_frame(answers)
    journal.close()
    platform = LocalPlatform(folder)
    timings = []
    for n, item in enumerate(source.ids[:writes]):
        start = time.perf_counter()
        row = source.rows([item]).assign(label="a", label_id=EXISTING + n + 1, item_id=item)
        labels = pd.concat([labels, row], ignore_index=True)
        meta_row = metadata.iloc[:1].assign(data_id=item, label_id=EXISTING + n + 1, annotator="bench")
        metadata = pd.concat([metadata, meta_row], ignore_index=True)
        platform.write_dataset("labels", labels)
        platform.write_dataset("metadata", metadata)
        timings.append(time.perf_counter() - start)
    return percentiles(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=2000, help="label writes timed for labelloop")
    parser.add_argument("--baseline-writes", type=int, default=25, help="label writes timed for the baseline")
    parser.add_argument("--journal", help="SQLAlchemy URL of an empty database (default: SQLite files)")
    args = parser.parse_args()
    rows, results = [], {}
    for size in (10_000, 1_000_000):
        source = TableSource(make_pool(size), id_column="row")
        for name, run in [
            ("ours", lambda d, source=source: time_ours(d, source, args.writes, args.journal, background=False)),
            ("ours+writer", lambda d, source=source: time_ours(d, source, args.writes, args.journal, background=True)),
            ("baseline", lambda d, source=source: (time_rewrite_baseline(d, source, args.baseline_writes, args.journal), 0)),
        ]:
            with tempfile.TemporaryDirectory() as folder:
                results[size, name] = run(Path(folder))
            if args.journal:
                _reset(args.journal)
        (o50, o99), _ = results[size, "ours"]
        (w50, w99), rewrites = results[size, "ours+writer"]
        (b50, b99), _ = results[size, "baseline"]
        rows += [
            (size, "labelloop: journal append", args.writes, o50, o99,
             f"baseline/ours p50 {b50 / o50:,.0f}x, p99 {b99 / o99:,.0f}x"),
            (size, "labelloop: append, datasets kept current", args.writes, w50, w99,
             f"{rewrites} background writes; baseline/ours p50 {b50 / w50:,.0f}x, p99 {b99 / w99:,.0f}x"),
            (size, "4.x: rewrite both datasets per label", args.baseline_writes, b50, b99, ""),
        ]
    engine = "SQLite" if not args.journal else args.journal.split(":")[0]
    print(f"One label write with {EXISTING:,} existing labels ({engine} journal)")
    print(f"{'pool':>10}  {'approach':<40} {'writes':>6} {'p50 ms':>8} {'p99 ms':>8}  note")
    for size, approach, writes, p50, p99, note in rows:
        print(f"{size:>10,}  {approach:<40} {writes:>6} {p50:>8.2f} {p99:>8.2f}  {note}")
    for name, label in (("ours", "journal append"), ("ours+writer", "append with the background writer")):
        ratio = results[1_000_000, name][0][1] / results[10_000, name][0][1]
        print(f"p99 at 1M items / p99 at 10k items, {label}: {ratio:.2f}")
    (w50, w99), _ = results[1_000_000, "ours+writer"]
    (b50, b99), _ = results[1_000_000, "baseline"]
    record("label_write", f"one label write, 1M items, 100k labels ({engine}), p50", w50, b50, "ms")
    record("label_write", f"one label write, 1M items, 100k labels ({engine}), p99", w99, b99, "ms")


def _reset(url: str) -> None:
    import sqlalchemy as sa

    from labelloop.store.journal import metadata as tables

    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    tables.drop_all(engine)
    engine.dispose()


if __name__ == "__main__":
    main()
