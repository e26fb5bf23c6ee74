"""The labeling webapp's tally of the current answers: counts for ``/stats``, and what each
annotator may still be served (``held``), kept in memory and moved by the journal's changes.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from itertools import chain

import numpy as np
import pandas as pd

from labelloop.store.journal import LABELED, REVIEWED, SKIPPED, WITHDRAWN
from labelloop.store.skips import held_back


class Tally:
    """Statistics of the current answers, updated from the journal's changes only.

    Each answer is remembered per (item, annotator) so a changed answer moves its counts instead
    of adding to them. This is the one definition of the project's numbers, for the page, ``/stats``
    and ``labelloop status``: an *item* counts as labeled when anyone labeled it, as skipped when it
    was only skipped; an *answer* is one annotator's current answer on one item, so with a team the
    answers outnumber the items (``perLabel`` and ``perAnnotator`` count answers).
    """

    def __init__(self, multi_label: bool, skip_counts: dict | None = None, counted_until: int = 0, needed=None):
        """``skip_counts``: ``Journal.skip_counts()``, skips up to event ``counted_until``; later
        skips are counted as they arrive (the journal's current rows only show the latest).
        ``needed(item)``: how many labels an item needs (``Overlap.needed``; default 1)."""
        self.multi_label = multi_label
        self.needed = needed or (lambda item: 1)
        self.shared = set()  # items two annotators or more answered
        self.shared_changes = 0  # answers that changed a shared item: agreement is recomputed only after one
        self.last_event = 0
        self.skips, self._counted_until = dict(skip_counts or {}), counted_until
        self.answerers = {}  # item -> annotators with a current answer
        self.answers = {}
        self.items = {}  # item -> [annotators who labeled it, annotators who skipped it]
        self.labeled = self.skipped = 0
        self.per_label, self.sessions = Counter(), Counter()
        self.per_annotator = {}
        self._loaded = pd.Index([], dtype=object)  # items only one annotator answered before ``load``
        self._loaded_answers = None  # and their answers, by position in ``_loaded``

    def receive(self, changes: list) -> None:
        """Follow the journal's changes (``JournalFeed``): all of them at once into an empty
        tally, then as they come; reviewers' decisions change no count here, and an answer a
        group's undo withdrew is no answer (``apply`` takes it back)."""
        answers = [change[:6] for change in changes if change.status != REVIEWED]  # up to event_id: what counts
        if self.last_event or self.items or len(self._loaded):
            self.apply(answers)
        else:
            self.load(answers)

    def load(self, rows) -> None:
        """Start an empty tally from the journal's current answers all at once (a server's start-up).

        The counts are computed by columns. An item only one annotator answered (most of them) gets
        its entries in the per-item dicts when something first asks about it (``_touch``): building
        three Python objects per answer was most of a start-up at a million labels.
        """
        if self.last_event or self.items or len(self._loaded):
            raise ValueError("Tally.load starts an empty tally.")
        if not rows:
            return
        self.last_event = int(max(row[5] for row in rows))
        rows = [row for row in rows if row[2] != WITHDRAWN]  # a label a group's undo took back: no answer
        if not rows:
            return
        items, annotators, statuses, labels, sessions, events = (np.array(c, dtype=object) for c in zip(*rows))
        labeled = statuses == LABELED
        codes, _ = pd.factorize(items)
        answerers = np.bincount(codes)[codes]  # per answer: how many annotators answered its item
        self._count_loaded(codes, labeled, annotators, labels[labeled], sessions[labeled])
        late = ~labeled & (events > self._counted_until)
        self._count_late_skips(items[late], annotators[late])
        for row in np.flatnonzero(answerers >= 2):  # shared items: few, kept in the dicts as ``apply`` keeps them
            self._enter(items[row], annotators[row], statuses[row], labels[row], sessions[row])
            self.shared_changes += len(self.answerers[items[row]]) >= 2
        self.shared.update(self.answerers)  # only the shared items are in the dicts yet
        single = answerers == 1
        self._loaded = pd.Index(items[single], dtype=object)
        self._loaded_answers = np.column_stack([annotators[single], statuses[single], labels[single], sessions[single]])

    def _count_loaded(self, codes, labeled, annotators, labels, sessions) -> None:
        """``load``'s counts of items, labels, sessions and annotators (an item is labeled when
        anyone labeled it, else skipped)."""
        by_item = np.bincount(codes, weights=labeled) > 0
        self.labeled, self.skipped = int(by_item.sum()), int((~by_item).sum())
        labels = labels.tolist()
        self.per_label = Counter(chain.from_iterable(map(json.loads, labels)) if self.multi_label else labels)
        self.sessions = Counter(map(str, sessions.tolist()))
        who, names = pd.factorize(annotators)
        answers, labels_given = np.bincount(who), np.bincount(who, weights=labeled).astype(int)
        for annotator, total, given in zip(names, answers.tolist(), labels_given.tolist()):
            self.per_annotator[annotator] = {"labeled": given, "skipped": total - given}

    def _count_late_skips(self, items, annotators) -> None:
        """Skips newer than the skip counts the tally started with (``apply`` counts them the same way)."""
        for item, annotator in zip(items.tolist(), annotators.tolist()):
            self.skips[item, annotator] = self.skips.get((item, annotator), 0) + 1

    def _touch(self, item) -> None:
        """Give an item ``load`` left in columns its entries in the per-item dicts, once."""
        if item in self.items or item not in self._loaded:
            return
        self._enter(item, *self._loaded_answers[self._loaded.get_loc(item)])

    def _enter(self, item, annotator, status, label, session) -> None:
        """An answer in the per-item dicts, without moving the counts (``load`` counted it)."""
        self.answers[item, annotator] = (status, label, session)
        self.answerers.setdefault(item, set()).add(annotator)
        self.items.setdefault(item, [0, 0])[0 if status == LABELED else 1] += 1

    def apply(self, rows) -> None:
        for item, annotator, status, label, session, event_id in rows:
            before = self._item_state(item)
            old = self.answers.get((item, annotator))
            if old is not None:
                self._count(item, annotator, *old, -1)
            if status == WITHDRAWN:
                self._forget(item, annotator)
            else:
                self._remember(item, annotator, status, label, session, event_id)
            after = self._item_state(item)
            self.labeled += (after == LABELED) - (before == LABELED)
            self.skipped += (after == SKIPPED) - (before == SKIPPED)
            self.last_event = max(self.last_event, event_id)

    def _remember(self, item, annotator, status, label, session, event_id) -> None:
        """``apply`` of an answer: the (item, annotator)'s answer now, counted."""
        self.answers[item, annotator] = (status, label, session)
        who = self.answerers.setdefault(item, set())
        who.add(annotator)
        if len(who) == 2:
            self.shared.add(item)
        if len(who) >= 2:
            self.shared_changes += 1
        if status == SKIPPED and event_id > self._counted_until:
            self.skips[item, annotator] = self.skips.get((item, annotator), 0) + 1
        self._count(item, annotator, status, label, session, 1)

    def _forget(self, item, annotator) -> None:
        """``apply`` of an answer a group's undo withdrew (its counts are taken back already): no answer now."""
        self.answers.pop((item, annotator), None)
        who = self.answerers.get(item, set())
        if annotator in who and item in self.shared:  # a shared item's labels changed (never seen: nothing did)
            self.shared_changes += 1
        who.discard(annotator)
        if len(who) < 2:
            self.shared.discard(item)

    def _item_state(self, item):
        self._touch(item)
        counts = self.items.get(item)
        if not counts:
            return None
        return LABELED if counts[0] else SKIPPED if counts[1] else None

    def _count(self, item, annotator, status, label, session, sign) -> None:
        self.items.setdefault(item, [0, 0])[0 if status == LABELED else 1] += sign
        mine = self.per_annotator.setdefault(annotator, {"labeled": 0, "skipped": 0})
        mine[status.lower()] += sign
        if status == LABELED:
            for key in (json.loads(label) if self.multi_label else [label]):
                self.per_label[key] += sign
            self.sessions[str(session)] += sign

    def shared_labels(self) -> list:
        """``(item, annotator, label)`` of the labels on items that two annotators or more answered."""
        return [(item, annotator, self.answers[item, annotator][1]) for item in self.shared
                for annotator in self.answerers[item] if self.answers[item, annotator][0] == LABELED]

    def disagreements(self) -> list:
        """Items whose current labels differ (two annotators or more gave different ones)."""
        return [item for item in self.shared
                if len({self.answers[item, a][1] for a in self.answerers[item] if self.answers[item, a][0] == LABELED}) > 1]

    def labeled_by_anyone(self, item_id) -> bool:
        return self._item_state(item_id) == LABELED

    def held(self, session: int, user: str | None = None) -> _Held:
        """The items not to serve ``user`` in ``session`` (without a user: to anyone), as a
        container: ``item in tally.held(s, user)``."""
        return _Held(self, session, user)

    def is_held(self, item_id, session: int, user: str | None = None) -> bool:
        """Labeled by as many annotators as it needs, or by ``user``; or skipped by everyone who
        answered it (an overlap item: by ``user``) and still held back (store/skips.py)."""
        state = self._item_state(item_id)
        if state is None:
            return False
        if state == LABELED:
            return self.items[item_id][0] >= self.needed(item_id) or self._held_for(item_id, session, user)
        skips = [(self.answers[item_id, a][2], self.skips.get((item_id, a), 1)) for a in self.answerers[item_id]]
        return held_back(skips, session)

    def _held_for(self, item_id, session: int, user: str | None) -> bool:
        """An overlap item that still needs labels: held for an annotator who answered it already."""
        mine = self.answers.get((item_id, user)) if user is not None else None
        if mine is None:
            return False
        return mine[0] == LABELED or held_back([(mine[2], self.skips.get((item_id, user), 1))], session)

    @classmethod
    def of_journal(cls, journal, multi_label: bool, needed=None) -> Tally:
        """The tally of a journal's current answers at once (``labelloop status``; a webapp's tally follows its feed)."""
        tally = cls(multi_label, *journal.skip_counts(), needed=needed)
        tally.receive(journal.changes())
        return tally

    def stats(self, total: int) -> dict:
        """The counts: ``labeledItems``/``skippedItems`` count items (``labeled``/``skipped`` are
        the same numbers under their first names), ``labelAnswers``/``skipAnswers`` count answers."""
        answers = [sum(c[kind] for c in self.per_annotator.values()) for kind in ("labeled", "skipped")]
        return {"labeled": self.labeled, "skipped": self.skipped, "labeledItems": self.labeled,
                "skippedItems": self.skipped, "labelAnswers": answers[0], "skipAnswers": answers[1],
                "perLabel": +self.per_label,
                "perAnnotator": {a: dict(c) for a, c in self.per_annotator.items() if any(c.values())},
                "sessions": dict(sorted((+self.sessions).items(), key=lambda kv: int(kv[0]))),
                "total": total, "remaining": max(total - self.labeled - self.skipped, 0)}


@dataclass(frozen=True)
class _Held:
    tally: Tally
    session: int
    user: str | None = None

    def __contains__(self, item_id) -> bool:
        return self.tally.is_held(item_id, self.session, self.user)
