"""The labels and metadata datasets, rewritten from the journal (DESIGN.md section 3).

The journal is the source of truth; the datasets are views of it for DSS flows and for people.
A ``DebouncedWriter`` rewrites them in the background at most about a second after a write, so
a burst of labels costs one rewrite, not one per click as in the plugin we replace.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import pandas as pd

from labelloop.journal import LABELED, Journal
from labelloop.platform.base import Platform

log = logging.getLogger(__name__)

METADATA_COLUMNS = ("date", "data_id", "comment", "session", "status", "annotator", "label", "label_id",
                    "strategy", "uncertainty", "query_rank", "model_version", "duration_ms")
OUTPUT_COLUMNS = ("label_id", "item_id")


def metadata_frame(journal: Journal, label_column: str = "label") -> pd.DataFrame:
    """One row per (item, annotator) current answer, columns as in DESIGN.md."""
    rows = journal.current_frame()
    frame = pd.DataFrame({
        "date": pd.to_datetime(rows["created_at"]),
        "data_id": rows["item_id"].astype(object),
        "comment": rows["comment"].astype(object),
        "session": rows["session"].astype("int64"),
        "status": rows["status"].astype(object),
        "annotator": rows["annotator"].astype(object),
        label_column: rows["label"].astype(object),
        "label_id": rows["id"].astype("int64"),
        "strategy": rows["strategy"].astype(object),
        "uncertainty": rows["uncertainty"].astype("float64"),
        "query_rank": rows["query_rank"].astype("Int64"),
        "model_version": rows["model_version"].astype(object),
        "duration_ms": rows["duration_ms"].astype("Int64"),
    })
    return frame.reset_index(drop=True)


def labels_frame(journal: Journal, source, label_column: str = "label") -> pd.DataFrame:
    """The input rows (folders: ``path``) of labeled items with their latest label.

    An item labeled by several annotators appears once, with the most recent label. Items that
    are no longer in the source (the data changed) stay in the metadata dataset only.
    """
    rows = journal.current_frame()
    rows = rows[rows["status"] == LABELED].sort_values("id").drop_duplicates("item_id", keep="last")
    rows = rows[rows["item_id"].map(source.__contains__).astype(bool)]
    inputs = source.rows(rows["item_id"].tolist())
    inputs[label_column] = rows["label"].astype(object).to_numpy()
    inputs["label_id"] = rows["id"].astype("int64").to_numpy()
    inputs["item_id"] = rows["item_id"].astype(object).to_numpy()
    return inputs


@dataclass
class Outputs:
    """Where the materialised datasets go, and the label column's name."""

    labels: str = "labels"
    metadata: str = "metadata"
    label_column: str = "label"


def write_outputs(platform: Platform, journal: Journal, source, outputs: Outputs) -> None:
    """Rewrite both datasets from the journal."""
    platform.write_dataset(outputs.metadata, metadata_frame(journal, outputs.label_column))
    platform.write_dataset(outputs.labels, labels_frame(journal, source, outputs.label_column))


def restore_journal(platform: Platform, journal: Journal, outputs: Outputs) -> int:
    """Rebuild an empty journal from the metadata dataset, if there is one; returns rows restored."""
    if not journal.is_empty() or not platform.dataset_exists(outputs.metadata):
        return 0
    frame = platform.read_dataset(outputs.metadata)
    if frame.empty:
        return 0
    frame = frame.rename(columns={outputs.label_column: "label"})
    restored = journal.rebuild(frame)
    log.warning("The journal was missing: restored %d annotations from dataset '%s'.", restored, outputs.metadata)
    return restored


class DebouncedWriter:
    """Runs ``write`` in a background thread after changes, at most once per ``delay`` seconds.

    ``changed()`` is cheap and never blocks the caller; ``close()`` flushes what is pending. A
    failed write is logged and retried on the next change or at close.
    """

    def __init__(self, write, delay: float = 0.5):
        self._write = write
        self._delay = delay
        self._dirty = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self.writes = 0
        self._thread = threading.Thread(target=self._run, name="labelloop-materialize", daemon=True)
        self._thread.start()

    def changed(self) -> None:
        self._dirty.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            # After a change, wait out the delay (so a burst is one write) unless closing.
            if self._dirty.wait(timeout=0.2) and not self._stopping.wait(self._delay):
                self.flush()

    def flush(self) -> None:
        """Write now if anything changed since the last write."""
        with self._lock:
            if not self._dirty.is_set():
                return
            self._dirty.clear()
            try:
                self._write()
                self.writes += 1
            except Exception:  # noqa: BLE001 - keep labeling; the next change retries
                log.exception("Writing the labels and metadata datasets failed; will retry.")
                self._dirty.set()

    def close(self) -> None:
        self._stopping.set()
        self._thread.join()
        self.flush()
