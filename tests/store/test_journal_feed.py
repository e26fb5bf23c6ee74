"""The journal's one follower: each change is read once and handed to every consumer."""
from __future__ import annotations

import threading

import pandas as pd
from polling import eventually

from labelloop.labeling.app import Settings, create_app, webapp_of
from labelloop.labeling.extensions.datasets import Datasets
from labelloop.labeling.extensions.online import Online
from labelloop.labeling.rules_book import RulesBook
from labelloop.labeling.service import LabelingConfig
from labelloop.platform.local import LocalPlatform
from labelloop.store.items import TableSource
from labelloop.store.journal import LABELED, REVIEWED, Annotation, Change, Journal
from labelloop.store.journal_feed import JournalFeed
from labelloop.store.materialize import Outputs

CATEGORIES = [{"key": "cat"}, {"key": "dog"}]


class SavedRules:
    """A rules store holding its rules in memory (the webapp's are a file or a DSS dataset)."""

    def __init__(self):
        self.rules = []

    def read(self) -> list:
        return list(self.rules)

    def write(self, rules) -> None:
        self.rules = [rule.as_json() for rule in rules]


def test_one_read_of_the_journal_feeds_the_tally_the_writer_the_online_model_and_the_rules(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'journal.sqlite'}"
    journal, elsewhere = Journal(url), Journal(url)  # ``elsewhere``: another process on the same journal
    journal.record(Annotation("0", "ann", LABELED, "cat"))
    source = TableSource(pd.DataFrame({"n": range(20), "x": [i / 10 for i in range(20)]}), id_column="n")
    platform = LocalPlatform(tmp_path)
    book = RulesBook(SavedRules(), journal, source, ["cat", "dog"])
    app = create_app(Settings(platform, journal, source, LabelingConfig(type="tabular", categories=CATEGORIES),
                              identify=lambda request: "ann", outputs=Outputs(), unlabeled="pool",
                              follow_journal=True, rules=book))
    built = webapp_of(app)
    writer = next(e for e in built.extensions if isinstance(e, Datasets)).writer
    online = next(e for e in built.extensions if isinstance(e, Online)).online
    built.feed.stop()  # from here the journal is read only when a request asks
    assert book.gold_codes(["0", "1"]).tolist() == [0, -1]
    assert eventually(lambda: writer.writes >= 1)  # the writer's first write, of the answers so far
    polling, read, reads = threading.local(), journal.changes, []
    poll = built.feed.poll

    def counted_poll():
        polling.inside = True
        try:
            return poll()
        finally:
            polling.inside = False

    monkeypatch.setattr(built.feed, "poll", counted_poll)
    monkeypatch.setattr(journal, "changes", lambda after=0: reads.append((after, getattr(polling, "inside", False)))
                        or read(after))
    monkeypatch.setattr(journal, "last_change_id", lambda: 1 / 0)  # nobody looks for changes on their own any more
    elsewhere.record(Annotation("1", "bob", LABELED, "dog"))
    elsewhere.review("rev", "0", "dog")

    stats = app.test_client().get("/stats").get_json()  # the request polls the feed once

    assert (stats["labeled"], stats["perAnnotator"]["bob"]) == (2, {"labeled": 1, "skipped": 0})  # the tally
    assert book.gold_codes(["0", "1"]).tolist() == [1, 1]  # the rules' final labels: the review, bob's label
    assert eventually(lambda: online.status()["labels"] == 2, timeout=60)  # the online model learned bob's
    built.stop()  # the feed, then every feature; the writer last: it writes what the feed told it of
    assert "bob" in set(platform.read_dataset("metadata")["annotator"])
    # every read of the changes was a poll of the feed (the online model reads them whole, after=0, once per model)
    assert reads and all(inside for after, inside in reads if after > 0)
    journal.close()
    elsewhere.close()


def test_the_feed_hands_every_subscriber_each_change_once_in_order_from_several_writers(journal_url):
    """Writers with journals of their own (as separate processes are) on SQLite and PostgreSQL."""
    feed = JournalFeed(Journal(journal_url))
    first, second = [], []
    feed.subscribe(first.extend)
    feed.subscribe(second.extend)
    feed.start()

    def write(who: str) -> None:
        journal = Journal(journal_url)
        for n in range(60):
            journal.record(Annotation(f"{who}-{n}", who, LABELED, "cat"))
            if n % 20 == 0:
                journal.review("rev", f"{who}-{n}", "dog")
        journal.close()

    writers = [threading.Thread(target=write, args=(f"w{n}",)) for n in range(4)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    assert eventually(lambda: len(first) == 4 * 60 + 4 * 3, timeout=60)
    feed.stop()
    assert first == second and all(isinstance(change, Change) for change in first)
    assert [c.event_id for c in first] == sorted({c.event_id for c in first})  # in order, each once
    assert sum(c.status == REVIEWED for c in first) == 12 and {c.annotator for c in first} >= {"w0", "w3", "rev"}
    feed.journal.close()


def test_a_failing_subscriber_leaves_the_others_their_changes(tmp_path):
    journal = Journal(f"sqlite:///{tmp_path / 'journal.sqlite'}")
    feed, seen = JournalFeed(journal), []
    feed.subscribe(lambda changes: 1 / 0)
    feed.subscribe(seen.extend)
    journal.record(Annotation("a", "ann", LABELED, "cat"))
    assert feed.poll() == seen[0].event_id and seen[0][:4] == ("a", "ann", LABELED, "cat")
    assert feed.poll() == seen[0].event_id and len(seen) == 1  # nothing new: nothing handed again
    journal.close()
