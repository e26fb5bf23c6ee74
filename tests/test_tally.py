"""The webapp's tally read at once at start-up equals the one built answer by answer (labeling/tally.py)."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelloop.labeling.tally import Tally
from labelloop.store.journal import LABELED, SKIPPED

ANSWER = st.tuples(st.sampled_from(["i1", "i2", "i3", "i4", "i5"]), st.sampled_from(["ann", "bob", "cy"]),
                   st.sampled_from([LABELED, SKIPPED]), st.sampled_from(["cat", "dog", "owl"]), st.integers(0, 4))


def current_rows(answers: list, multi_label: bool) -> list:
    """Rows as ``Journal.answers_since(0)`` gives them: the latest answer per item and annotator, by event id."""
    latest = {}
    for event_id, (item, annotator, status, label, session) in enumerate(answers, start=1):
        value = None if status == SKIPPED else json.dumps([label, "extra"]) if multi_label else label
        latest[item, annotator] = (item, annotator, status, value, session, event_id)
    return sorted(latest.values(), key=lambda row: row[-1])


def state(tally: Tally) -> dict:
    return {"answers": tally.answers, "answerers": tally.answerers, "items": tally.items, "shared": tally.shared,
            "shared_changes": tally.shared_changes, "skips": tally.skips, "last_event": tally.last_event,
            "stats": tally.stats(total=10), "disagreements": sorted(tally.disagreements()),
            "held": {(i, s, u): tally.is_held(i, s, u) for i in tally.items for s in (0, 3, 9) for u in (None, "ann")}}


@settings(max_examples=200, deadline=None)
@given(answers=st.lists(ANSWER, max_size=25), multi_label=st.booleans(), counted_until=st.integers(0, 12))
def test_loading_the_current_answers_at_once_gives_the_tally_applying_them_gives(answers, multi_label, counted_until):
    rows = current_rows(answers, multi_label)
    skips = {("i1", "ann"): 2}
    loaded, applied = Tally(multi_label, skips, counted_until), Tally(multi_label, skips, counted_until)
    loaded.load(rows)
    applied.apply(rows)
    assert state(loaded) == state(applied)
    later = [("i1", "cy", LABELED, json.dumps(["owl"]) if multi_label else "owl", 5, 100)]
    loaded.apply(later)  # and it moves on with changes as before
    applied.apply(later)
    assert state(loaded) == state(applied)


def test_load_only_fills_an_empty_tally():
    tally = Tally(False)
    tally.load([("i1", "ann", LABELED, "cat", 0, 1)])
    with pytest.raises(ValueError):
        tally.load([("i2", "ann", LABELED, "cat", 0, 2)])
