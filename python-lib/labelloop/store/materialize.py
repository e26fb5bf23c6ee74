"""The labels and metadata datasets, rewritten from the journal (DESIGN.md section 3).

The journal is the source of truth; the datasets are views of it for DSS flows and for people.
A ``DebouncedWriter`` writes them in the background at most about a second after a write, so
a burst of labels costs one write, not one per click as in the plugin we replace. Standalone,
with Parquet, a write adds what changed (``PartedMaterializer``); in DSS and with CSV, where a
dataset can only be rewritten whole, ``Materializer`` rewrites them, reading only what changed.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass

import pandas as pd

from labelloop.platform.base import Platform
from labelloop.platform.locks import Lock
from labelloop.store.journal import LABELED, WITHDRAWN, Journal

log = logging.getLogger(__name__)

METADATA_COLUMNS = ("date", "data_id", "comment", "session", "status", "annotator", "label", "label_id",
                    "strategy", "uncertainty", "query_rank", "model_version", "duration_ms",
                    "audited", "suggested", "group", "group_size", "suggested_by")
# beside the label column; ``reviewer`` (empty unless reviewed) lets a rebuild restore the decisions;
# ``group``: the group the final label was given in (empty for a single answer or a decision)
OUTPUT_COLUMNS = ("label_id", "item_id", "annotators", "agreement", "reviewed", "reviewer", "group")


def clashing_column(columns, label_column: str) -> str | None:
    """The first data column the labels dataset would write over (None when there is none)."""
    return next((name for name in (label_column, *OUTPUT_COLUMNS) if name in [str(c) for c in columns]), None)


def metadata_frame(answers: pd.DataFrame, label_column: str = "label") -> pd.DataFrame:
    """One row per current answer (``Journal.current_frame()``), columns as in DESIGN.md; an answer
    a group's undo withdrew is none."""
    answers = answers[answers["status"] != WITHDRAWN]
    return pd.DataFrame({
        "date": pd.to_datetime(answers["created_at"]),
        "data_id": answers["item_id"].astype(object),
        "comment": answers["comment"].astype(object),
        "session": answers["session"].astype("int64"),
        "status": answers["status"].astype(object),
        "annotator": answers["annotator"].astype(object),
        label_column: answers["label"].astype(object),
        "label_id": answers["id"].astype("int64"),
        "strategy": answers["strategy"].astype(object),
        "uncertainty": answers["uncertainty"].astype("float64"),
        "query_rank": answers["query_rank"].astype("Int64"),
        "model_version": answers["model_version"].astype(object),
        "duration_ms": answers["duration_ms"].astype("Int64"),
        # never missing: DSS cannot read a boolean column with a gap; answers older than the audit slice were not in it
        "audited": answers["audited"].astype("boolean").fillna(False).astype(bool),
        "suggested": answers["suggested"].astype(object),
        "group": answers["group_id"].astype(object),
        "group_size": answers["group_size"].astype("Int64"),  # empty for single answers, read like query_rank
        "suggested_by": answers["suggested_by"].astype(object),
    }).reset_index(drop=True)


def labels_frame(answers: pd.DataFrame, source, label_column: str = "label",
                 reviews: pd.DataFrame | None = None) -> pd.DataFrame:
    """The input rows (folders: ``path``) of labeled items, each with its final label.

    An item labeled by several annotators appears once (``final_labels``). Items that are no
    longer in the source (the data changed) stay in the metadata dataset only.
    """
    rows = final_labels(answers, reviews)
    rows = rows[source.known(rows["item_id"].tolist())]
    inputs = source.rows(rows["item_id"].tolist())
    written = pd.DataFrame({label_column: rows["label"].astype(object).to_numpy(),
                            "label_id": rows["id"].astype("int64").to_numpy(),
                            "item_id": rows["item_id"].astype(object).to_numpy(),
                            "annotators": rows["annotators"].astype("int64").to_numpy(),
                            "agreement": rows["agreement"].astype("float64").to_numpy(),
                            "reviewed": rows["reviewed"].astype(bool).to_numpy(),
                            "reviewer": rows["reviewer"].astype(object).to_numpy(),
                            "group": rows["group"].astype(object).to_numpy()}, index=inputs.index)
    return pd.concat([inputs, written], axis=1)  # at once: column inserts into a 10k-column frame copy it each time


def final_labels(answers: pd.DataFrame, reviews: pd.DataFrame | None = None) -> pd.DataFrame:
    """``item_id, label, id, annotators, agreement, reviewed, reviewer, group`` per labeled or reviewed item, by ``id``.

    The label is the reviewer's decision when there is one (``Journal.reviews_frame``), else the
    one most current answers give, the latest of those when labels tie (DESIGN.md section 10).
    ``id`` is the decision's event, else the latest answer giving the label; ``annotators`` how
    many labeled the item and ``agreement`` the share of them who gave the final label (NaN
    when nobody did); ``group`` the group the answer ``id`` was given in (None: a single answer, a decision).
    """
    labeled = answers.loc[answers["status"] == LABELED, ["item_id", "label", "id"]]
    votes = (labeled.groupby(["item_id", "label"], sort=False)["id"].agg(["size", "max"])
             .rename(columns={"size": "votes", "max": "id"}).reset_index())
    best = votes.sort_values(["votes", "id"]).drop_duplicates("item_id", keep="last")  # most votes, then latest
    best = best[["item_id", "label", "id"]].assign(reviewed=False, reviewer=None)
    if reviews is not None and len(reviews):
        decided = (reviews[["item_id", "label", "event_id", "reviewer"]].rename(columns={"event_id": "id"})
                   .assign(reviewed=True))
        best = pd.concat([best[~best["item_id"].isin(decided["item_id"])], decided], ignore_index=True)
    best = best.merge(votes[["item_id", "label", "votes"]], on=["item_id", "label"], how="left")
    answered = labeled.groupby("item_id", sort=False).size().rename("annotators")
    best = best.join(answered, on="item_id").fillna({"votes": 0, "annotators": 0}).sort_values("id")
    agreement = best["votes"] / best["annotators"].where(best["annotators"] > 0)
    group = best["id"].map(answers.set_index("id")["group_id"]) if len(answers) else None
    return best.assign(agreement=agreement, group=group).drop(columns="votes").reset_index(drop=True)


@dataclass
class Outputs:
    """Where the materialised datasets go, and the label column's name."""

    labels: str = "labels"
    metadata: str = "metadata"
    label_column: str = "label"


def write_outputs(platform: Platform, answers: pd.DataFrame, source, outputs: Outputs,
                  reviews: pd.DataFrame | None = None) -> None:
    """Rewrite both datasets from the current answers and the reviewers' decisions."""
    platform.write_dataset(outputs.metadata, metadata_frame(answers, outputs.label_column))
    platform.write_dataset(outputs.labels, labels_frame(answers, source, outputs.label_column, reviews))


def write_journal_outputs(platform: Platform, journal: Journal, source, outputs: Outputs) -> None:
    """Rewrite both datasets from all of the journal (an import, a command)."""
    write_outputs(platform, journal.current_frame(), source, outputs, journal.reviews_frame())


def journal_labels(journal: Journal, source, label_column: str = "label") -> pd.DataFrame:
    """The labels dataset's rows, from all of the journal."""
    return labels_frame(journal.current_frame(), source, label_column, journal.reviews_frame())


class CachedRows:
    """A source's rows for the items seen so far, looked up in the source once per item.

    It answers ``known`` and ``rows`` like a source does, but a rewrite then costs the same for
    a pool of 10k or 1M rows: only newly labeled items are looked up in the pool.
    """

    def __init__(self, source):
        self.source = source
        self._cache = source.rows([]).set_axis(pd.Index([], dtype=object), axis=0)
        self._unknown = set()

    def _ensure(self, item_ids: list) -> pd.Index:
        wanted = pd.Index(item_ids, dtype=object)
        missing = wanted.difference(self._cache.index)
        missing = [i for i in missing if i not in self._unknown]
        if missing:
            known = self.source.known(missing)
            self._unknown.update(i for i, k in zip(missing, known) if not k)
            fresh_ids = [i for i, k in zip(missing, known) if k]
            fresh = self.source.rows(fresh_ids).set_axis(pd.Index(fresh_ids, dtype=object), axis=0)
            self._cache = pd.concat([self._cache, fresh]) if len(self._cache) else fresh
        return wanted

    def known(self, item_ids: list):
        return self._ensure(item_ids).isin(self._cache.index)

    def rows(self, item_ids: list) -> pd.DataFrame:
        self._ensure(item_ids)
        return self._cache.loc[list(item_ids)].reset_index(drop=True)


class Materializer:
    """Rewrites the datasets from the journal, reading only what changed since the last time.

    The current answers stay in memory; each ``write`` fetches the answers newer than the last
    one seen and replaces the rows of the same (item, annotator), so the cost of following the
    journal grows with the changes, not with the number of labels.
    """

    def __init__(self, platform: Platform, journal: Journal, source, outputs: Outputs):
        self.platform, self.journal, self.outputs = platform, journal, outputs
        self.source = CachedRows(source)
        self._answers = journal.current_frame()
        self._reviewed = 0  # the newest review written

    def _seen(self) -> int:
        return int(self._answers["id"].max()) if len(self._answers) else 0

    def behind(self, newest: int) -> bool:
        """Whether the journal's change ``newest`` (an answer or review, perhaps written by another
        process) is newer than what the datasets hold."""
        return newest > max(self._seen(), self._reviewed)

    def answers(self) -> pd.DataFrame:
        """All current answers, refreshed from the journal."""
        changed = self.journal.current_frame(after=self._seen())
        if len(changed):
            key = ["item_id", "annotator"]
            kept = self._answers.merge(changed[key], on=key, how="left", indicator=True)["_merge"] == "left_only"
            self._answers = pd.concat([self._answers[kept.to_numpy()], changed], ignore_index=True)
        return self._answers

    def write(self) -> None:
        reviews = self.journal.reviews_frame()  # few (people settle items one by one): read whole
        write_outputs(self.platform, self.answers(), self.source, self.outputs, reviews)
        self._reviewed = int(reviews["event_id"].max()) if len(reviews) else 0


class PartedMaterializer:
    """Keeps Parquet-parts datasets (platform/parquet_parts.py) current at the cost of what changed.

    Each write reads the answers newer than those the datasets hold (their marks), appends them
    to the metadata dataset, and gives the labels dataset the new final label of each item they,
    or new reviews, touched: a write costs the same at 10k labels or at a million. The first
    write of a server, or one after a crash, writes the datasets whole when their marks are
    missing; otherwise it picks up after the marks.
    """

    METADATA_KEY = ("data_id", "annotator")
    LABELS_KEY = ("item_id",)

    def __init__(self, journal: Journal, source, outputs: Outputs, metadata, labels):
        self.journal, self.source, self.outputs = journal, source, outputs
        self.metadata, self.labels = metadata, labels

    @classmethod
    def of(cls, platform: Platform, journal: Journal, source, outputs: Outputs):
        """The materializer for ``platform``'s datasets when both can be kept as parts, else None."""
        metadata = platform.parted_dataset(outputs.metadata, cls.METADATA_KEY)
        labels = platform.parted_dataset(outputs.labels, cls.LABELS_KEY) if metadata is not None else None
        return cls(journal, source, outputs, metadata, labels) if labels is not None else None

    def _seen(self) -> int:
        marks = [d.marks for d in (self.metadata, self.labels)]
        return min((max(m["seen"], m["reviewed"]) for m in marks if m), default=0) if all(marks) else -1

    def behind(self, newest: int) -> bool:
        return newest > self._seen()

    def write(self) -> None:
        reviews = self.journal.reviews_frame()  # few (people settle items one by one): read whole
        newest_review = int(reviews["event_id"].max()) if len(reviews) else 0
        seen = [d.marks["seen"] if d.marks else 0 for d in (self.metadata, self.labels)]
        changed = self.journal.current_frame(after=min(seen))  # all of it when a dataset is written whole
        marks = {"seen": max(int(changed["id"].max()) if len(changed) else 0, *seen), "reviewed": newest_review}
        self._write_metadata(changed, marks)
        self._write_labels(changed, reviews, marks)

    def _write_metadata(self, changed: pd.DataFrame, marks: dict) -> None:
        label = self.outputs.label_column
        if self.metadata.marks is None:
            self.metadata.replace(metadata_frame(changed, label), marks)  # no marks: all was read
            return
        fresh = changed[changed["id"] > self.metadata.marks["seen"]]
        withdrawn = fresh[fresh["status"] == WITHDRAWN]
        self.metadata.write(metadata_frame(fresh, label), removed=list(zip(withdrawn["item_id"], withdrawn["annotator"])),
                            marks=marks)

    def _write_labels(self, changed: pd.DataFrame, reviews: pd.DataFrame, marks: dict) -> None:
        label = self.outputs.label_column
        if self.labels.marks is None:
            self.labels.replace(labels_frame(changed, self.source, label, reviews), marks)
            return
        touched = set(changed.loc[changed["id"] > self.labels.marks["seen"], "item_id"])
        touched |= set(reviews.loc[reviews["event_id"] > self.labels.marks["reviewed"], "item_id"])
        answers = self.journal.current_frame(item_ids=sorted(touched))
        rows = labels_frame(answers, self.source, label, reviews[reviews["item_id"].isin(touched)])
        self.labels.write(rows, removed=sorted(touched - set(rows["item_id"])), marks=marks)


class DebouncedWriter:
    """Runs ``write`` in a background thread after changes, at most once per ``delay`` seconds.

    ``changed()`` is cheap and never blocks the caller; ``close()`` flushes what is pending. A
    failed write is logged and retried on the next change or at close. It writes once on start:
    a previous server killed before its last write leaves datasets behind the journal.

    Changes other processes make reach it through the journal's feed (``_rewrite_when_behind`` in
    labeling/extensions/datasets.py). A DSS backend that forks a process per request answers each label in
    a child that exits right after: the children only append to the journal, and the process
    that started the writer writes the datasets. Calls from any other process than that one do
    nothing (a forked child has no writer thread).

    A rewrite costs what the datasets hold (2 s at a million labels, mostly holding the GIL), so
    the writer waits at least ``COST_SHARE`` times its last write's cost before the next one:
    the server spends at most a tenth of its time rewriting, and the datasets lag the journal by
    that much more (20 s at a million labels). The journal, not the datasets, is what answers
    are kept in, so nothing waits on them but readers of the datasets.
    """

    COST_SHARE = 10

    def __init__(self, write, delay: float = 0.5):
        self._write = write
        self._delay = delay
        self._owner = os.getpid()
        self._dirty = threading.Event()
        self._dirty.set()
        self._stopping = threading.Event()
        self._lock = Lock(held_long=True)
        self.writes = 0
        self.last_cost = 0.0  # seconds the last write took
        self._thread = threading.Thread(target=self._run, name="labelloop-materialize", daemon=True)
        self._thread.start()

    def _owned(self) -> bool:
        return os.getpid() == self._owner

    def changed(self) -> None:
        if self._owned():
            self._dirty.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            # After a change, wait out the delay (so a burst is one write) unless closing; after
            # a costly write, wait out its share too.
            if self._dirty.wait(timeout=0.2) and not self._stopping.wait(self._delay):
                self.flush()
                self._stopping.wait(max(0.0, self.COST_SHARE * self.last_cost - self._delay))

    def flush(self) -> None:
        """Write now if anything changed since the last write."""
        if not self._owned():
            return
        with self._lock:
            if not self._dirty.is_set():
                return
            self._dirty.clear()
            began = time.perf_counter()
            try:
                self._write()
                self.writes += 1
                self.last_cost = time.perf_counter() - began
            except Exception:  # noqa: BLE001 - keep labeling; the next change retries
                log.exception("Writing the labels and metadata datasets failed; will retry.")
                self._dirty.set()

    def close(self) -> None:
        if not self._owned():
            return
        self._stopping.set()
        self._thread.join()
        self.flush()
