"""The tally of current answers (labeling/tally.py): started from columns, it answers as if it
had applied the same answers one by one."""
from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from labelloop.labeling.tally import Tally
from labelloop.store.journal import LABELED, SKIPPED, WITHDRAWN, Annotation, Journal

ITEMS, ANNOTATORS, SESSIONS = [str(n) for n in range(6)], ["ada", "bob", "cy"], range(1, 5)

# WITHDRAWN: a label a group's undo took back (store/groups.py)
answer = st.tuples(st.sampled_from(ITEMS), st.sampled_from(ANNOTATORS), st.sampled_from([LABELED, SKIPPED, WITHDRAWN]),
                   st.sampled_from(["x", "y"]), st.sampled_from(list(SESSIONS)))


def _journal_at(events: list, until: int) -> tuple:
    """``(current answers as the journal returns them, skip counts, counted until)`` after ``until`` events."""
    current, skips = {}, {}
    for event_id, (item, who, status, label, session) in enumerate(events[:until], start=1):
        current[item, who] = (item, who, status, label if status == LABELED else None, session, event_id)
        if status == SKIPPED:
            skips[item, who] = skips.get((item, who), 0) + 1
    return sorted(current.values(), key=lambda row: row[-1]), skips, until


def _as_multi_label(row: tuple) -> tuple:
    item, who, status, label, session, event_id = row
    return item, who, status, None if label is None else json.dumps([label, "z"]), session, event_id


def _view(tally: Tally) -> dict:
    """Everything a server asks of a tally."""
    stats = tally.stats(total=10)  # before anything asks about an item (``Tally._touch``)
    held = {(item, session, user): item in tally.held(session, user)
            for item in ITEMS + ["unseen"] for session in range(1, 8) for user in ANNOTATORS + [None]}
    return {"stats": stats, "held": held, "labeled": [tally.labeled_by_anyone(i) for i in ITEMS],
            "shared": sorted(tally.shared_labels()), "disagreements": sorted(tally.disagreements()),
            "shared_changes": tally.shared_changes, "last_event": tally.last_event, "sessions": tally.sessions}


@settings(max_examples=150, deadline=None)
@given(events=st.lists(answer, max_size=40), cut=st.integers(0, 40), lag=st.integers(0, 3), multi_label=st.booleans())
def test_a_tally_loaded_at_start_up_answers_as_one_that_applied_every_answer(events, cut, lag, multi_label):
    """A server starts after ``cut`` answers (``load``) and follows the later ones (``apply``). It
    read the skip counts first: ``lag`` answers may have come between the two reads."""
    cut = min(cut, len(events))
    shape = _as_multi_label if multi_label else (lambda row: row)
    rows = _journal_at(events, cut)[0]
    _, skips, counted_until = _journal_at(events, max(cut - lag, 0))
    needed = lambda item: 2 if int(item) % 3 == 0 else 1  # noqa: E731 - overlap items need two labels
    loaded = Tally(multi_label, dict(skips), counted_until, needed=needed)
    applied = Tally(multi_label, dict(skips), counted_until, needed=needed)
    loaded.load([shape(row) for row in rows])
    applied.apply([shape(row) for row in rows])
    assert _view(loaded) == _view(applied)
    for step in range(cut + 1, len(events) + 1):
        later = [shape(row) for row in _journal_at(events, step)[0] if row[-1] > loaded.last_event]
        loaded.apply(later)
        applied.apply(later)
    assert _view(loaded) == _view(applied)


def test_a_journal_s_tally_counts_items_labels_annotators_and_sessions(journal_url):
    """What ``labelloop status`` reports, on SQLite and PostgreSQL."""
    journal = Journal(journal_url)
    journal.record(Annotation("a", "ann", LABELED, "cat", session=1))
    journal.record(Annotation("b", "ann", LABELED, "dog", session=1))
    journal.record(Annotation("c", "bob", LABELED, "cat", session=2))
    journal.review("rev", "a", "dog")  # a decision changes no count
    journal.record(Annotation("d", "bob", SKIPPED, session=2))
    journal.record(Annotation("c", "ann", SKIPPED))  # skipped by ann, labeled by bob: labeled
    stats = Tally.of_journal(journal, multi_label=False).stats(total=10)
    assert stats["labeled"] == 3 and stats["skipped"] == 1 and stats["remaining"] == 6
    assert stats["perLabel"] == {"cat": 2, "dog": 1}
    assert stats["perAnnotator"] == {"ann": {"labeled": 2, "skipped": 1}, "bob": {"labeled": 1, "skipped": 1}}
    assert stats["sessions"] == {"1": 2, "2": 1}
    journal.close()
