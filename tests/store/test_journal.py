"""The annotation journal, against SQLite and against the PostgreSQL server."""
from __future__ import annotations

import datetime as dt
import threading

import pandas as pd
import pytest

from labelloop.errors import LabelloopError, LeaseConflict
from labelloop.labeling.tally import Tally
from labelloop.platform.local import LocalPlatform
from labelloop.store.items import TableSource
from labelloop.store.journal import LABELED, SKIPPED, Annotation, Journal, utcnow
from labelloop.store.materialize import Outputs, metadata_frame, write_outputs
from labelloop.store.restore import rebuild, restore_journal


@pytest.fixture
def journal(journal_url):
    journal = Journal(journal_url)
    yield journal
    journal.close()


def label(item, who="ann", value="cat", **extra):
    return Annotation(item_id=item, annotator=who, status=LABELED, label=value, **extra)


def test_every_answer_is_an_event_and_the_latest_one_is_current(journal):
    first = journal.record(label("a", value="cat", session=1, strategy="margin", uncertainty=0.9, query_rank=1))
    second = journal.record(label("a", value="dog", comment="looked again"))
    skipped = journal.record(Annotation("b", "ann", SKIPPED, comment="blurry"))
    assert first < second < skipped
    kinds = journal.events_frame()["kind"].tolist()
    assert kinds == ["label", "label", "skip"]
    history = journal.history("ann")
    assert [(h["item_id"], h["status"], h["label"], h["comment"]) for h in history] == [
        ("a", LABELED, "dog", "looked again"), ("b", SKIPPED, None, "blurry")]
    assert [h["event_id"] for h in history] == [second, skipped]


def test_the_tally_of_a_journal_counts_items_answers_annotators_and_sessions(journal):
    journal.record(label("a", "ann", "cat", session=1))
    journal.record(label("b", "ann", "dog", session=1))
    journal.record(label("c", "bob", "cat", session=2))
    journal.record(Annotation("d", "bob", SKIPPED, session=2))
    journal.record(Annotation("c", "ann", SKIPPED))  # skipped by ann, labeled by bob: labeled
    stats = Tally.of_journal(journal, multi_label=False).stats(total=10)
    assert stats["labeled"] == stats["labeledItems"] == 3 and stats["skipped"] == stats["skippedItems"] == 1
    assert stats["labelAnswers"] == 3 and stats["skipAnswers"] == 2 and stats["remaining"] == 6
    assert stats["perLabel"] == {"cat": 2, "dog": 1}
    assert stats["perAnnotator"] == {"ann": {"labeled": 2, "skipped": 1}, "bob": {"labeled": 1, "skipped": 1}}
    assert stats["sessions"] == {"1": 2, "2": 1}


def test_a_leased_item_is_not_handed_to_another_annotator_until_the_lease_expires(journal):
    now = utcnow()
    assert journal.lease("ann", ["a", "b", "c"], limit=2, seconds=60, now=now) == ["a", "b"]
    assert journal.lease("bob", ["a", "b", "c"], limit=2, seconds=60, now=now) == ["c"]
    assert journal.leased_to_others("bob", now=now) == {"a", "b"}
    with pytest.raises(LeaseConflict):
        journal.record(label("a", "bob"), now=now)
    later = now + dt.timedelta(seconds=61)
    assert journal.lease("bob", ["a"], limit=1, seconds=60, now=later) == ["a"]
    journal.record(label("a", "bob"), now=later)
    assert journal.lease("ann", ["a", "b"], limit=2, seconds=60, now=later) == ["b"]  # a is answered


def test_an_annotator_renews_their_own_lease_and_can_release_it(journal):
    now = utcnow()
    assert journal.lease("ann", ["a"], limit=1, now=now) == ["a"]
    assert journal.lease("ann", ["a"], limit=1, now=now) == ["a"]
    assert journal.release("ann", ["a", "zzz"]) == 1
    assert journal.lease("bob", ["a"], limit=1, now=now) == ["a"]
    assert journal.events_frame(["lease", "release"])["kind"].tolist() == ["lease", "lease", "release", "lease"]


def test_a_search_of_200_replaces_the_last_one_and_each_item_s_lease_and_release_is_an_event(journal):
    now = utcnow()
    first, second = [f"a{i}" for i in range(200)], [f"b{i}" for i in range(200)]
    journal.record(label("b7", "bob"), now=now)
    assert journal.lease("ann", first, limit=200, now=now) == first
    assert journal.lease("ann", second, limit=200, now=now, replacing=first) == [i for i in second if i != "b7"]
    assert journal.lease("bob", first, limit=200, now=now) == first  # ann gave them back
    assert journal.leased_to_others("bob", now=now) == set(second) - {"b7"}
    events = journal.events_frame(["lease", "release"])
    mine = events[events["annotator"] == "ann"]
    assert mine.groupby("kind")["item_id"].apply(set).to_dict() == {
        "lease": set(first) | set(second) - {"b7"}, "release": set(first)}
    assert (events["created_at"] == pd.Timestamp(now)).all()
    assert journal.release("ann", second + ["zzz"]) == 199


def test_unknown_status_is_refused_and_writes_nothing(journal):
    with pytest.raises(LabelloopError):
        journal.record(Annotation("a", "ann", "MAYBE"))
    assert journal.is_empty()


def test_many_answers_are_recorded_at_once_and_later_answers_follow_them(journal):
    journal.record(label("a", "ann", "cat"))
    journal.lease("ann", ["z"], 1)
    imported = [label("a", "old", "dog", strategy="import"), label("b", "old", "cat"), label("z", "old", "cat")]
    assert journal.record_many(imported) == 3  # z is leased to ann: an import is not a claim on it
    later = journal.record(label("c"))
    current = journal.current_frame()
    assert current[["item_id", "annotator", "label"]].values.tolist() == [
        ["a", "ann", "cat"], ["a", "old", "dog"], ["b", "old", "cat"], ["z", "old", "cat"], ["c", "ann", "cat"]]
    assert current["id"].is_monotonic_increasing and later == current["id"].max()
    assert journal.changes(0)[-1].event_id == later  # followers see the import, then what came next
    assert journal.leased_to_others("old") == {"z"}
    journal.record(Annotation("b", "bob", SKIPPED))  # a skip is not a second label
    shared = journal.shared_labels().sort_values("annotator").values.tolist()
    assert shared == [["a", "ann", "cat"], ["a", "old", "dog"]]
    events = journal.event_count()
    with pytest.raises(LabelloopError, match="only one imported answer per annotator"):
        journal.record_many([label("d", "old"), label("d", "old", "dog")])
    assert journal.record_many([]) == 0 and journal.event_count() == events  # the refused import wrote nothing


def test_rebuild_from_metadata_keeps_label_ids_and_new_ids_continue(journal, tmp_path):
    journal.record(label("a", "ann", "cat", session=3, strategy="entropy", uncertainty=0.5, query_rank=2, duration_ms=900))
    journal.record(Annotation("b", "bob", SKIPPED, comment="?"))
    before = metadata_frame(journal.current_frame())
    fresh = Journal(journal.url.replace("journal.sqlite", "other.sqlite")) if journal.url.startswith("sqlite") else None
    if fresh is None:  # PostgreSQL: empty the same database
        with journal.engine.begin() as conn:
            for table in ("leases", "current", "events"):
                conn.exec_driver_sql(f"DELETE FROM {table}")
        fresh = journal
    assert rebuild(fresh, before) == 2
    after = metadata_frame(fresh.current_frame())
    pd.testing.assert_frame_equal(before.drop(columns="date"), after.drop(columns="date"))
    assert (before["date"] - after["date"]).abs().max() < pd.Timedelta(milliseconds=1)
    assert fresh.record(label("c")) > before["label_id"].max()
    with pytest.raises(LabelloopError):
        rebuild(fresh, before)


def test_a_missing_journal_is_restored_from_the_metadata_dataset(tmp_path):
    platform = LocalPlatform(tmp_path)
    source = TableSource(pd.DataFrame({"x": [1, 2, 3]}))
    outputs = Outputs()
    journal = Journal(f"sqlite:///{tmp_path / 'j.sqlite'}")
    journal.record(label(source.ids[0], value="cat"))
    journal.record(label(source.ids[2], value="dog"))
    write_outputs(platform, journal.current_frame(), source, outputs)
    journal.close()
    (tmp_path / "j.sqlite").unlink()
    restored = Journal(f"sqlite:///{tmp_path / 'j.sqlite'}")
    assert restore_journal(platform, restored, outputs) == 2
    assert restore_journal(platform, restored, outputs) == 0  # not empty any more: nothing to do
    assert Tally.of_journal(restored, multi_label=False).stats(total=2)["perLabel"] == {"cat": 1, "dog": 1}


def test_a_missing_journal_gets_the_reviewers_decisions_back_from_the_labels_dataset(tmp_path):
    platform, outputs = LocalPlatform(tmp_path), Outputs(label_column="species")
    source = TableSource(pd.DataFrame({"x": [1, 2, 3]}))
    journal = Journal(f"sqlite:///{tmp_path / 'j.sqlite'}")
    journal.record(label(source.ids[0], value="cat"))
    journal.record(label(source.ids[1], value="cat"))
    journal.review("carol", source.ids[0], "dog")
    write_outputs(platform, journal.current_frame(), source, outputs, journal.reviews_frame())
    decisions = journal.reviews_frame()
    journal.close()
    (tmp_path / "j.sqlite").unlink()
    restored = Journal(f"sqlite:///{tmp_path / 'j.sqlite'}")
    assert restore_journal(platform, restored, outputs) == 3  # two answers, one decision
    pd.testing.assert_frame_equal(restored.reviews_frame(), decisions)
    later = restored.review("carol", source.ids[1], "dog")  # new events continue past the restored ids
    assert later > int(decisions["event_id"].max())

    # a labels dataset written before the reviewer column existed: the decisions, without their reviewer
    platform.write_dataset("labels", platform.read_dataset("labels").drop(columns="reviewer"))
    restored.close()
    (tmp_path / "j.sqlite").unlink()
    older = Journal(f"sqlite:///{tmp_path / 'j.sqlite'}")
    assert restore_journal(platform, older, outputs) == 3
    assert older.reviews_frame()[["item_id", "label", "reviewer"]].values.tolist() == [[source.ids[0], "dog", ""]]


def test_a_reader_following_by_id_misses_no_answer_of_concurrent_writers(journal):
    """Events commit in id order: a follower that remembers the last id it saw never skips one."""
    seen, last = set(), 0

    def write(who: str) -> None:
        for n in range(150):
            journal.record(label(f"{who}-{n}", who))

    writers = [threading.Thread(target=write, args=(f"w{n}",)) for n in range(4)]
    for thread in writers:
        thread.start()
    while any(thread.is_alive() for thread in writers) or last < 600:
        for change in journal.changes(last):
            seen.add(change.item_id)
            last = max(last, change.event_id)
    assert len(seen) == 600


PER_ANNOTATOR = 100


def test_eight_annotators_in_parallel_lose_and_duplicate_nothing(journal, tmp_path):
    """8 threads x 100 labels on one journal, all drawing from the same first items: 800 label events,
    no item held by two people."""
    pool = [f"item-{i:05d}" for i in range(2000)]
    errors = []

    def annotate(who: str) -> None:
        try:
            done = 0
            cursor = 0
            while done < PER_ANNOTATOR:
                answered = journal.unavailable_items(0)
                busy = journal.leased_to_others(who)
                candidates = [i for i in pool[cursor:] if i not in answered and i not in busy][:40]
                for item in journal.lease(who, candidates, limit=5):
                    journal.record(label(item, who, value=f"v{done % 3}"))
                    done += 1
                    if done == PER_ANNOTATOR:
                        break
                cursor = (cursor + 7) % 200
        except Exception as error:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=annotate, args=(f"annotator-{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    labels = journal.events_frame(["label"])
    assert len(labels) == 8 * PER_ANNOTATOR
    assert labels["item_id"].is_unique
    assert labels.groupby("annotator").size().tolist() == [PER_ANNOTATOR] * 8
    leases = journal.events_frame(["lease"])
    holders = leases.groupby("item_id")["annotator"].nunique()
    assert (holders == 1).all(), "an item was leased to two annotators"
    labeled_by = labels.set_index("item_id")["annotator"]
    leased_by = leases.drop_duplicates("item_id").set_index("item_id")["annotator"]
    assert (labeled_by == leased_by[labeled_by.index]).all()

    platform = LocalPlatform(tmp_path / "project")
    source = TableSource(pd.DataFrame({"name": pool}), id_column="name")
    write_outputs(platform, journal.current_frame(), source, Outputs())
    written = platform.read_dataset("labels").sort_values("item_id").reset_index(drop=True)
    expected = labels.sort_values("item_id").reset_index(drop=True)
    assert written["item_id"].tolist() == expected["item_id"].tolist()
    assert written["label"].tolist() == expected["label"].tolist()
    assert written["label_id"].tolist() == expected["id"].tolist()
    assert (written["name"] == written["item_id"]).all()
    assert len(platform.read_dataset("metadata")) == 8 * PER_ANNOTATOR
