"""The suggestion's pull: how often annotators give the model's answer with and without seeing it
(DESIGN.md section 15).

Each answer records what the model suggested for its item when it was served (``suggested``) and
whether the item was in the audit slice, served without it (``audited``). Over the current
labels that had a suggestion to give, ``withSuggestion`` is the share that equal the shown
suggestion and ``audited`` the share that equal the hidden one; the gap between them is the
pull. Both are also given per annotator, per suggested category and per source
(``bySource``: ``model`` or ``llm``, who made the suggestion; answers older than the LLM's are the
model's). Answers given as a group (``/label/bulk``) are left out: one decision on many items is not many decisions on each.
"""
from __future__ import annotations

from collections import defaultdict

import pandas as pd

from labelloop.platform.locks import Lock
from labelloop.store.journal import LABELED, REVIEWED

SHOWN, AUDITED = "withSuggestion", "audited"


def _group(audited) -> str:
    """The answer's group: ``audited`` may be True, 1, False, 0, or missing (answers older than the slice)."""
    return AUDITED if audited is not None and not pd.isna(audited) and bool(audited) else SHOWN


class PullCounts:
    """Agreeing and counted answers per (group, annotator, suggested category), kept up to date one answer at a time."""

    def __init__(self):
        self._counts = defaultdict(lambda: [0, 0])  # (group, annotator, category, source) -> [agree, items]
        self._answers = {}  # (item, annotator) -> its key and whether it agreed, to take back when it changes

    def set(self, item_id: str, annotator: str, status: str, label, suggested, audited, group=None,
            suggested_by=None) -> None:
        """The current answer of ``annotator`` on ``item_id`` (replacing the one before); one
        given in a ``group`` is not counted."""
        before = self._answers.pop((item_id, annotator), None)
        if before is not None:
            counts = self._counts[before[0]]
            counts[0] -= before[1]
            counts[1] -= 1
        if status != LABELED or suggested is None or pd.isna(suggested) or label is None or _given(group):
            return
        source = suggested_by if isinstance(suggested_by, str) else "model"
        key, agrees = (_group(audited), annotator, str(suggested), source), int(str(label) == str(suggested))
        self._answers[(item_id, annotator)] = (key, agrees)
        self._counts[key][0] += agrees
        self._counts[key][1] += 1

    def summary(self) -> dict:
        """``{withSuggestion, audited, byAnnotator, byCategory, bySource}``, each group as ``{agree, items}``
        (``agree``: the share of answers equal to the suggestion, None without answers)."""
        total, annotators, categories, sources = _empty(), defaultdict(_empty), defaultdict(_empty), defaultdict(_empty)
        for (group, annotator, category, source), (agree, items) in self._counts.items():
            for found in (total, annotators[annotator], categories[category], sources[source]):
                found[group][0] += agree
                found[group][1] += items
        pull = _shares(total)
        pull["byAnnotator"] = {name: _shares(found) for name, found in sorted(annotators.items()) if _any(found)}
        pull["byCategory"] = {name: _shares(found) for name, found in sorted(categories.items()) if _any(found)}
        pull["bySource"] = {name: _shares(found) for name, found in sorted(sources.items()) if _any(found)}
        return pull


def _given(value) -> bool:
    """Whether a group id is there (a frame's column holds None or NaN for single answers)."""
    return value is not None and not pd.isna(value)


def _empty() -> dict:
    return {SHOWN: [0, 0], AUDITED: [0, 0]}


def _any(found: dict) -> bool:
    return any(items for _, items in found.values())


def _shares(found: dict) -> dict:
    return {group: {"agree": round(agree / items, 6) if items else None, "items": items}
            for group, (agree, items) in found.items()}


def suggestion_pull(answers: pd.DataFrame) -> dict:
    """The pull over current answers (``Journal.current_frame()``)."""
    counts = PullCounts()
    columns = ["item_id", "annotator", "status", "label", "suggested", "audited", "group_id", "suggested_by"]
    for row in answers.reindex(columns=columns).itertuples(index=False):
        counts.set(*row)
    return counts.summary()


class FollowedPull:
    """The pull of a journal's current answers, kept up to date by the journal's feed
    (``store/journal_feed.py``): ``receive`` takes its changes, ``current`` sums them up."""

    def __init__(self):
        self._counts = PullCounts()
        self._lock = Lock()

    def receive(self, changes: list) -> None:
        """Each answer's latest state replaces its previous one; reviewers' decisions are no answers."""
        with self._lock:
            for change in changes:
                if change.status != REVIEWED:
                    self._counts.set(change.item_id, change.annotator, change.status, change.label,
                                     change.suggested, change.audited, change.group, change.suggested_by)

    def current(self) -> dict:
        with self._lock:
            return self._counts.summary()
