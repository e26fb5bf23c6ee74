"""The labeling core of a webapp, without HTTP (DESIGN.md sections 4 and 5).

``LabelingService`` hands out batches (leased to the annotator), records labels and skips with
their query provenance and session, walks an annotator's own history and reports statistics.
Input is validated at the edge (``answers.py``); problems raise ``LabelloopError`` (400),
``NotFound`` (404) or ``LeaseConflict`` (409), which the HTTP layer turns into one readable sentence.
"""
from __future__ import annotations

import string
from dataclasses import dataclass, field

from labelloop.errors import LabelloopError, NotFound
from labelloop.labeling.answers import (
    HISTORY_DIRECTIONS,
    batch_size,
    comment_of,
    history_position,
    item_data,
    known_item,
    label_value,
    request_object,
    stored_label,
)
from labelloop.labeling.audit_slice import AuditSlice
from labelloop.labeling.leasing import Leasing
from labelloop.labeling.overlap import Overlap
from labelloop.labeling.project_state import ProjectState
from labelloop.labeling.queue import Queue
from labelloop.labeling.suggestions import Suggestions
from labelloop.labeling.tally import Tally
from labelloop.labeling.team_agreement import TeamAgreement
from labelloop.parameters.numbers import whole_number
from labelloop.platform.locks import Lock
from labelloop.store.journal import LABELED, SKIPPED, Annotation
from labelloop.store.journal_feed import JournalFeed

MAX_DURATION_MS = 24 * 3600 * 1000
SHORTCUTS = list("123456789") + list(string.ascii_lowercase)
OWN_SHORTCUTS = set(SHORTCUTS) | {"0"}  # "0" only for a category named 0
VIEW_KEYS = {"image": {"0"}}  # letters and digits the item's view takes (resource/labelloop/image-view.js)


@dataclass
class LabelingConfig:
    """A labeling webapp's settings (DSS webapp params, or a local project's)."""

    type: str
    categories: list
    multi_label: bool = False
    queries: str | None = None
    model: str | None = None
    text_column: str | None = None
    columns_first: list = field(default_factory=list)
    lease_seconds: float = 600
    seed: int = 0
    online: bool = True  # suggestions from a model that learns from every label (off for multi-label)
    overlap_share: float = 0.0  # the share of items served to several annotators (labeling/overlap.py)
    overlap_annotators: int = 2
    reviewers: list | None = None  # who may review; None: anyone who may label (a one-person server)
    audit_share: float = 0.0  # the share served without suggestion (labeling/audit_slice.py); callers pass the setting
    keys: list = field(init=False)
    overlap: Overlap = field(init=False)
    audit: AuditSlice = field(init=False)

    def __post_init__(self):
        self.keys = [c["key"] for c in self.categories]
        self.overlap = Overlap(self.overlap_share, self.overlap_annotators, self.seed)
        self.audit = AuditSlice(self.audit_share, self.seed)

    def may_review(self, user: str) -> bool:
        return self.reviewers is None or user in self.reviewers


class LabelingService:
    """The labeling core of one webapp: batches leased to an annotator, labels, skips, an
    annotator's own history, and ``/stats``. The optional features (``labeling/extensions/``) add
    their routes and their parts of ``/stats`` around it."""

    def __init__(self, settings, feed: JournalFeed):
        """``settings``: the webapp's ``labeling.app.Settings``; ``feed``: the journal's one follower,
        to which the tally subscribes (the features subscribe their own followers). Nothing is read
        yet: ``start`` does."""
        self.feed = feed
        self.platform, self.journal, self.source = settings.platform, settings.journal, settings.source
        self.config = settings.config
        self.may_review = settings.may_review or self.config.may_review
        self.has_rules = settings.rules is not None
        self.queue = Queue(list(self.source.ids), seed=self.config.seed)
        self.project = ProjectState(self.platform, self.config, self.source, self.queue)
        self.leasing = Leasing(self.journal, self.config, self.queue)
        self.suggestions = Suggestions(self.platform, self.config, self.source, self.project.current)
        self.lock = Lock()  # held while the tally changes
        self._tally = None  # made by start()
        self._agreement = TeamAgreement()
        self.searched = {}  # item -> the search that served it, for the answer's provenance
        self.extensions = []  # the features on (``labeling/app.py``): their parts of /stats
        self.on_change = lambda: None  # called after each answer (``Webapp.changed``)

    def start(self) -> None:
        """Read the answers so far, then run every read path once, so the first annotators pay
        neither for caches nor for SQL compiling."""
        tally = self._tally = Tally(self.config.multi_label, *self.journal.skip_counts(),
                                    needed=self.config.overlap.needed)

        def receive(changes: list) -> None:
            with self.lock:
                tally.receive(changes)
        self.feed.subscribe(receive)
        self.feed.subscribe(self.suggestions.pull.receive)
        self.tally()  # the first read: every answer so far, at once
        self.project.current()
        self.journal.leased_to_others("")
        self.data(list(self.source.ids[:1]))

    def tally(self) -> Tally:
        """The tally, brought up to date with the journal (answers from any process): the feed
        reads the changes since its last read and hands them to every follower, this one first."""
        self.feed.poll()
        return self._tally

    def upcoming(self) -> list:
        """The items the next batches will likely serve, in order (the online model's features are computed ahead for them)."""
        return self.leasing.upcoming(self.tally().held(self.project.current().session))

    # routes
    def config_json(self, user: str) -> dict:
        categories = [{"key": c["key"], "caption": c.get("caption") or c["key"], "shortcut": key}
                      for c, key in zip(self.config.categories,
                                        shortcuts(self.config.keys, VIEW_KEYS.get(self.config.type, set())))]
        project = self.project.current()
        return {"type": self.config.type, "categories": categories, "multiLabel": self.config.multi_label,
                "textColumn": self.config.text_column, "columnsFirst": list(self.config.columns_first),
                "alEnabled": bool(self.config.queries), "session": project.session,
                "modelVersion": project.active, "user": user, "reviewer": self.may_review(user),
                "rules": self.has_rules}

    def batch(self, user: str, size) -> dict:
        """Up to ``size`` items leased to ``user``, empty only when none is left to lease."""
        size = batch_size(size)
        tally, session = self.tally(), self.project.current().session
        answered, done = tally.held(session, user), tally.held(session)

        def propose(proposed: set, count: int) -> list:
            return self.queue.next_items(self.journal.leased_to_others(user) | proposed, answered, count, done=done)

        def query_of(item_id: str):
            query = self.queue.queries.get(item_id)
            return query.as_json() if query else None
        taken = self.leasing.until_full(user, size, propose)
        self.leasing.claimed(user, taken)
        return self.serve(taken, query_of)

    def label(self, user: str, body) -> dict:
        body = request_object(body)
        item_id = known_item(self.source, body)
        return self._record(user, item_id, LABELED, label_value(self.config, body.get("label")), body)

    def skip(self, user: str, body) -> dict:
        body = request_object(body)
        return self._record(user, known_item(self.source, body), SKIPPED, None, body)

    def history(self, user: str, cursor, direction: str) -> dict:
        entries = self.journal.history(user)
        if direction not in HISTORY_DIRECTIONS:
            raise LabelloopError("direction must be back, next, first or last.")
        if not entries:
            raise NotFound("You have not labeled or skipped anything yet.")
        position = history_position(entries, cursor, direction)
        entry = entries[position]
        return {"item": {"id": entry["item_id"], "data": self.data([entry["item_id"]])[0]},
                "annotation": {"label": stored_label(self.config, entry["label"]), "comment": entry["comment"],
                               "status": entry["status"]},
                "labelId": entry["event_id"], "position": position + 1,
                "isFirst": position == 0, "isLast": position == len(entries) - 1}

    def stats(self) -> dict:
        """The core's figures, then each feature's part; a feature's ``fresh_since`` (the end of a
        retrain round) makes the project be read again first."""
        parts = [extension.stats() for extension in self.extensions]  # first: a round they call over is in the project
        since = [t for t in (extension.fresh_since() for extension in self.extensions) if t is not None]
        project = self.project.current(read_since=max(since) if since else None)
        stats = {**self.tally().stats(total=len(self.source)), "modelVersions": project.versions,
                 "stopping": project.stopping, "learningCurve": project.curve, **self.suggestions.stats(),
                 "agreement": self._agreement.current(self._tally, self.lock)}
        for part in parts:
            stats.update(part)
        return stats

    def items_added(self, item_ids: list) -> None:
        """New items of a pool that grows (already in the source): the queue serves them from now on."""
        self.queue.add(item_ids)

    def serve(self, taken: list, query_of) -> dict:
        """The response to a batch or a search: the items with their data, query and suggestion (when shown)."""
        suggestions = self.suggestions.served(taken)
        items = [{"id": i, "data": data, "query": query_of(i), "suggestion": suggestions.get(i)}
                 for i, data in zip(taken, self.data(taken))]
        stats = self.stats()
        return {"items": items, "stats": stats, "done": not items and stats["remaining"] == 0}

    def data(self, item_ids: list) -> list:
        return item_data(self.config, self.source, item_ids)

    def _record(self, user: str, item_id: str, status: str, label, body: dict) -> dict:
        duration = body.get("durationMs")
        duration = None if duration is None else whole_number(duration, "durationMs", 0, MAX_DURATION_MS, text=True)
        label_id = self.journal.record(self.annotation(user, item_id, status, label, comment_of(body), duration))
        self.on_change()
        return {"labelId": label_id, "stats": self.stats()}

    def annotation(self, user: str, item_id: str, status: str, label, comment, duration=None) -> Annotation:
        """``user``'s answer on ``item_id`` with its provenance: the query or search that served
        it, its session, and whether it was served in the audit slice and with which suggestion."""
        searched = item_id in self.searched
        query = None if searched else self.queue.queries.get(item_id)
        audited, suggested, suggested_by = self.suggestions.provenance(item_id)
        return Annotation(
            item_id=item_id, annotator=user, status=status, label=label, comment=comment,
            session=self.project.current().session, duration_ms=duration,
            strategy="search" if searched else query.strategy if query else None,
            uncertainty=query.uncertainty if query else None,
            query_rank=query.rank if query else None, model_version=query.model_version if query else None,
            audited=audited, suggested=suggested, suggested_by=suggested_by,
        )


def shortcuts(keys: list, reserved=frozenset()) -> list:
    """One key per category: a category named by one free letter or digit keeps it ("0" is 0),
    the others take the first free of 1-9 then a-z, in order; None when none is left.
    ``reserved`` keys belong to the item's view (``0`` fits an image)."""
    chosen = {}
    for key in keys:
        own = str(key).lower()
        if len(own) == 1 and own in OWN_SHORTCUTS and own not in reserved and own not in chosen.values():
            chosen[key] = own
    free = iter(k for k in SHORTCUTS if k not in chosen.values())
    return [chosen[key] if key in chosen else next(free, None) for key in keys]
