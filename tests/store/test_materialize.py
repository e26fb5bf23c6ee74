"""The labels and metadata datasets, and the debounced writer that keeps them current."""
from __future__ import annotations

import json
import threading
import time

import pandas as pd
import pytest
from polling import eventually

from labelloop.platform.local import LocalPlatform
from labelloop.store.items import FolderSource, TableSource
from labelloop.store.journal import LABELED, SKIPPED, Annotation, Journal
from labelloop.store.materialize import DebouncedWriter, Materializer, Outputs, labels_frame, metadata_frame, write_outputs


@pytest.fixture
def journal(tmp_path):
    journal = Journal(f"sqlite:///{tmp_path / 'journal.sqlite'}")
    yield journal
    journal.close()


def test_labels_hold_input_columns_and_the_final_label_per_item(journal):
    source = TableSource(pd.DataFrame({"id": ["r1", "r2", "r3", "r4"], "x": [1.5, 2.5, 3.5, 4.5]}), id_column="id")
    journal.record(Annotation("r1", "ann", LABELED, "cat"))
    journal.record(Annotation("r1", "bob", LABELED, "dog"))  # a second opinion, later: a tie goes to it
    journal.record(Annotation("r2", "ann", SKIPPED))
    journal.record(Annotation("r3", "ann", LABELED, json.dumps(["cat", "dog"])))  # multi-label
    journal.record(Annotation("gone", "ann", LABELED, "cat"))  # no longer in the data
    labels = labels_frame(journal.current_frame(), source, "species")
    assert labels.columns.tolist() == ["id", "x", "species", "label_id", "item_id", "annotators", "agreement", "reviewed",
                                       "reviewer", "group"]
    assert labels[["id", "x", "species", "annotators", "agreement"]].values.tolist() == [
        ["r1", 1.5, "dog", 2, 0.5], ["r3", 3.5, '["cat", "dog"]', 1, 1.0]]
    meta = metadata_frame(journal.current_frame(), "species")
    assert len(meta) == 5 and set(meta["data_id"]) == {"r1", "r2", "r3", "gone"}
    assert meta.loc[meta["status"] == SKIPPED, "species"].isna().all()


def test_the_final_label_is_the_majority_of_the_current_answers(journal):
    source = TableSource(pd.DataFrame({"id": ["r1", "r2"]}), id_column="id")
    first = journal.record(Annotation("r1", "ann", LABELED, "cat"))
    journal.record(Annotation("r2", "ann", LABELED, "dog"))
    second = journal.record(Annotation("r1", "bob", LABELED, "cat"))
    journal.record(Annotation("r1", "eve", LABELED, "dog"))  # the latest, but outvoted
    journal.record(Annotation("r1", "ivy", SKIPPED))  # a skip is no vote
    labels = labels_frame(journal.current_frame(), source)
    assert labels[["item_id", "label", "annotators", "agreement"]].values.tolist() == [
        ["r2", "dog", 1, 1.0], ["r1", "cat", 3, pytest.approx(2 / 3)]]  # in the order of their label ids
    assert labels.loc[labels["item_id"] == "r1", "label_id"].item() == second != first
    journal.record(Annotation("r1", "bob", LABELED, "dog"))  # bob changes his mind: his old answer no longer counts
    labels = labels_frame(journal.current_frame(), source)
    assert labels.loc[labels["item_id"] == "r1", ["label", "agreement"]].values.tolist() == [["dog", pytest.approx(2 / 3)]]


def test_a_reviewers_decision_is_the_label_until_the_next_review(journal):
    source = TableSource(pd.DataFrame({"id": ["r1", "r2"]}), id_column="id")
    journal.record(Annotation("r1", "ann", LABELED, "cat"))
    journal.record(Annotation("r1", "bob", LABELED, "cat"))
    journal.record(Annotation("r2", "ann", LABELED, "dog"))
    decision = journal.review("rev", "r1", "dog", comment="the ears")
    journal.record(Annotation("r1", "eve", LABELED, "cat"))  # a later answer does not undo the decision
    labels = labels_frame(journal.current_frame(), source, reviews=journal.reviews_frame())
    assert labels[["item_id", "label", "label_id", "annotators", "agreement", "reviewed"]].values.tolist() == [
        ["r2", "dog", 3, 1, 1.0, False], ["r1", "dog", decision, 3, 0.0, True]]
    journal.review("rev2", "r1", "cat")  # another review replaces it
    labels = labels_frame(journal.current_frame(), source, reviews=journal.reviews_frame())
    assert labels.loc[labels["item_id"] == "r1", ["label", "agreement", "reviewed"]].values.tolist() == [["cat", 1.0, True]]
    assert journal.reviews_frame()[["item_id", "reviewer"]].values.tolist() == [["r1", "rev2"]]
    reviews = journal.events_frame(["review"])  # both decisions stay in the journal
    assert reviews[["annotator", "label"]].values.tolist() == [["rev", "dog"], ["rev2", "cat"]]
    assert reviews["comment"].iloc[0] == "the ears" and pd.isna(reviews["comment"].iloc[1])
    assert len(journal.current_frame()) == 4  # a review is not an answer


def test_the_writer_follows_reviews_made_by_another_process(journal, tmp_path):
    platform = LocalPlatform(tmp_path)
    source = TableSource(pd.DataFrame({"id": ["r1"]}), id_column="id")
    journal.record(Annotation("r1", "ann", LABELED, "cat"))
    materializer = Materializer(platform, journal, source, Outputs())
    materializer.write()
    assert not materializer.behind(journal.changes()[-1].event_id)
    review = journal.review("rev", "r1", "dog")
    assert journal.changes()[-1].event_id == review and materializer.behind(review)
    materializer.write()
    assert platform.read_dataset("labels")[["label", "reviewed"]].values.tolist() == [["dog", True]]
    assert not materializer.behind(review)


def test_folder_labels_carry_the_path(journal):
    source = FolderSource(["/a.png", "/b/c.png"], "image")
    journal.record(Annotation("b/c.png", "ann", LABELED, "cat"))
    assert labels_frame(journal.current_frame(), source).values.tolist() == [
        ["b/c.png", "cat", 1, "b/c.png", 1, 1.0, False, None, None]]


def test_an_empty_journal_writes_datasets_with_their_columns(journal, tmp_path):
    platform = LocalPlatform(tmp_path)
    write_outputs(platform, journal.current_frame(), TableSource(pd.DataFrame({"x": [1]})), Outputs())
    assert platform.read_dataset("labels").columns.tolist() == ["x", "label", "label_id", "item_id", "annotators",
                                                                "agreement", "reviewed", "reviewer", "group"]
    assert len(platform.read_dataset("metadata").columns) == 18


def test_a_burst_of_labels_is_written_once_shortly_after(journal, tmp_path):
    platform = LocalPlatform(tmp_path)
    source = TableSource(pd.DataFrame({"n": range(100)}), id_column="n")
    writer = DebouncedWriter(Materializer(platform, journal, source, Outputs()).write, delay=0.3)
    try:
        for n in range(50):
            journal.record(Annotation(str(n), "ann", LABELED, "even" if n % 2 == 0 else "odd"))
            writer.changed()
        assert eventually(lambda: platform.dataset_exists("labels") and len(platform.read_dataset("labels")) == 50)
        assert 1 <= writer.writes < 10
    finally:
        writer.close()


def test_close_flushes_what_is_pending(journal, tmp_path):
    platform = LocalPlatform(tmp_path)
    source = TableSource(pd.DataFrame({"n": [1, 2]}), id_column="n")
    writer = DebouncedWriter(Materializer(platform, journal, source, Outputs()).write, delay=60)
    journal.record(Annotation("1", "ann", LABELED, "x"))
    writer.changed()
    writer.close()
    assert platform.read_dataset("labels")["item_id"].tolist() == ["1"]


def test_after_a_costly_write_the_next_waits_its_share_but_close_does_not(monkeypatch):
    """A rewrite costs what the datasets hold: the writer spaces writes by ten times their cost."""
    monkeypatch.setattr(DebouncedWriter, "COST_SHARE", 10_000)  # a write of 1 ms or more: the next waits 10 s
    written = []

    def write():
        written.append(len(written))
        time.sleep(0.002)

    writer = DebouncedWriter(write, delay=0.01)
    assert eventually(lambda: written == [0])  # the first write, at start
    writer.changed()
    time.sleep(0.5)
    assert written == [0] and writer.last_cost >= 0.002  # the change waits, unwritten
    writer.close()  # closing writes it at once
    assert written == [0, 1]


def test_a_new_writer_catches_the_datasets_up_with_the_journal(journal, tmp_path):
    """A server killed before its debounced write left the datasets behind: the next one writes at once."""
    platform = LocalPlatform(tmp_path)
    source = TableSource(pd.DataFrame({"n": [1, 2]}), id_column="n")
    journal.record(Annotation("2", "ann", LABELED, "x"))
    writer = DebouncedWriter(Materializer(platform, journal, source, Outputs()).write, delay=0.3)
    try:
        assert eventually(lambda: platform.dataset_exists("labels"))
        assert platform.read_dataset("labels")["item_id"].tolist() == ["2"]
    finally:
        writer.close()


def test_a_failed_write_is_retried(tmp_path):
    attempts, succeeded = [], threading.Event()

    def flaky_write():
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("disk full")
        succeeded.set()

    writer = DebouncedWriter(flaky_write, delay=0.05)
    writer.changed()
    assert succeeded.wait(timeout=10)
    writer.close()
    assert len(attempts) >= 2 and writer.writes == 1


def test_the_materializer_follows_relabels_and_new_answers_incrementally(journal, tmp_path):
    platform = LocalPlatform(tmp_path)
    source = TableSource(pd.DataFrame({"n": range(10)}), id_column="n")
    materializer = Materializer(platform, journal, source, Outputs())
    journal.record(Annotation("1", "ann", LABELED, "a"))
    journal.record(Annotation("2", "ann", LABELED, "a"))
    materializer.write()
    journal.record(Annotation("1", "ann", LABELED, "b"))  # relabel: replaces the row
    journal.record(Annotation("1", "bob", SKIPPED))       # another annotator: a new row
    journal.record(Annotation("3", "ann", LABELED, "c"))
    materializer.write()
    incremental = materializer.answers().sort_values("id").reset_index(drop=True)
    pd.testing.assert_frame_equal(incremental, journal.current_frame().reset_index(drop=True), check_dtype=False)
    assert platform.read_dataset("labels")[["item_id", "label"]].values.tolist() == [["2", "a"], ["1", "b"], ["3", "c"]]
    assert len(platform.read_dataset("metadata")) == 4
