"""What one flush of the labels and metadata datasets costs at 10k, 100k and 1M existing labels.

A flush follows 100 new answers, as a busy minute brings them: 95 new labels and 5 changed answers
among the last 200 (an annotator walking back). Before: the whole datasets rewritten as one
Parquet file each (``Materializer``, as on 1d322cc, which already read only the changed answers
from the journal). After: Parquet parts (``PartedMaterializer``): the new rows appended as a
part, the parts holding changed rows rewritten, small parts merged now and then; the merges are
counted in the flushes they happen in, so the mean is the cost over time. Last, the cost of one
flush that changes an answer given long ago, which rewrites one full part (``MAX_PART_ROWS``).

    python bench/flush.py [--sizes 10000,100000,1000000] [--flushes 30]
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
from labelloop.store.materialize import Materializer, Outputs, PartedMaterializer
from labelloop.store.restore import rebuild

BATCH, CHANGED, RECENT = 100, 5, 200


def make_source(rows: int) -> TableSource:
    rng = np.random.default_rng(0)
    return TableSource(pd.DataFrame({"row": np.arange(rows), "x1": rng.normal(size=rows), "x2": rng.normal(size=rows),
                                     "city": rng.choice(["paris", "lyon", "nantes", "lille"], size=rows)}),
                       id_column="row")


def seed(journal: Journal, source: TableSource, labels: int) -> None:
    rebuild(journal, pd.DataFrame({
        "date": utcnow(), "data_id": source.ids[:labels], "comment": None, "session": 1, "status": LABELED,
        "annotator": "annotator-0", "label": [("a", "b", "c")[i % 3] for i in range(labels)],
        "label_id": np.arange(1, labels + 1)}))


def answer_batch(journal: Journal, source: TableSource, labeled: int, rng) -> int:
    """95 new labels after the first ``labeled`` items, 5 changed answers among the latest; returns the new count."""
    fresh = [Annotation(i, "annotator-0", LABELED, "b", session=2) for i in source.ids[labeled:labeled + BATCH - CHANGED]]
    again = rng.choice(np.arange(labeled - RECENT, labeled), CHANGED, replace=False)
    journal.record_many(fresh)
    journal.record_many([Annotation(source.ids[i], "annotator-0", LABELED, "c", session=2) for i in again])
    return labeled + len(fresh)


def flush_costs(kind, labels: int, flushes: int) -> list:
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        source = make_source(labels + flushes * BATCH + 1)
        journal = Journal(f"sqlite:///{folder / 'journal.sqlite'}")
        seed(journal, source, labels)
        platform = LocalPlatform(folder)
        outputs = Outputs()
        writer = (PartedMaterializer.of(platform, journal, source, outputs) if kind == "parts"
                  else Materializer(platform, journal, source, outputs))
        writer.write()  # the first write of a server is whole either way
        rng, labeled, costs = np.random.default_rng(1), labels, []
        for _ in range(flushes):
            labeled = answer_batch(journal, source, labeled, rng)
            began = time.perf_counter()
            writer.write()
            costs.append(time.perf_counter() - began)
        metadata = pd.read_parquet(folder / "datasets" / "metadata.parquet")
        assert len(metadata) == labeled, (len(metadata), labeled)  # every answer, once
        if kind == "parts":
            journal.record(Annotation(source.ids[0], "annotator-0", LABELED, "c", session=2))  # the very first item
            began = time.perf_counter()
            writer.write()
            costs.append(-(time.perf_counter() - began))  # negative: told apart by the caller
        journal.close()
        return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--flushes", type=int, default=30)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"One flush after {BATCH} answers ({CHANGED} of them changed answers among the latest {RECENT})\n")
    print("| labels | whole rewrite: median ms | parts: median ms | parts: mean ms (merges included) | "
          "parts: max ms | whole / parts (median) | parts: an answer from long ago changed, ms |")
    print("|---|---|---|---|---|---|---|")
    medians = {}
    for size in sizes:
        whole = np.array(flush_costs("whole", size, max(5, args.flushes // 6))) * 1000
        measured = flush_costs("parts", size, args.flushes)
        parts, old = np.array([c for c in measured if c >= 0]) * 1000, -measured[-1] * 1000
        medians[size] = np.median(parts)
        print(f"| {size:,} | {np.median(whole):.1f} | {np.median(parts):.1f} | {parts.mean():.1f} | {parts.max():.1f} | "
              f"{np.median(whole) / np.median(parts):.1f}x | {old:.1f} |")
        record("flush", f"one flush after 100 answers at {size:,} labels, median (whole rewrite in the same run)",
               round(float(np.median(parts)), 2), round(float(np.median(whole)), 2), "ms")
    smallest, largest = min(sizes), max(sizes)
    growth = medians[largest] / medians[smallest]
    print(f"\nparts: the median flush grows {growth:.2f}x from {smallest:,} to {largest:,} labels")
    record("flush", f"growth of the parts flush from {smallest:,} to {largest:,} labels", round(float(growth), 2), None, "x")


if __name__ == "__main__":
    main()
