"""What a labeling webapp does, without HTTP (DESIGN.md sections 4 and 5).

``LabelingService`` hands out batches (leased to the annotator), records labels and skips with
their query provenance and session, walks an annotator's own history and reports statistics.
Input is validated here; problems raise ``LabelloopError`` (400), ``NotFound`` (404) or
``LeaseConflict`` (409), which the HTTP layer turns into one readable sentence.
"""
from __future__ import annotations

import json
import logging
import math
import string
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import quote

import numpy as np
import pandas as pd

from labelloop.errors import Forbidden, LabelloopError, NotFound
from labelloop.labeling.media import MediaFile, MediaStore
from labelloop.labeling.online_suggestions import OnlineSuggestions
from labelloop.labeling.overlap import Overlap
from labelloop.labeling.project_state import ProjectState
from labelloop.labeling.queue import Queue
from labelloop.labeling.search import check_query, find, searched_columns
from labelloop.labeling.tally import Tally
from labelloop.params import whole_number
from labelloop.platform.base import Platform
from labelloop.quality.agreement import agreement
from labelloop.store.items import FOLDER_TYPES
from labelloop.store.journal import LABELED, SKIPPED, Annotation, Journal
from labelloop.store.journal_feed import JournalFeed

log = logging.getLogger(__name__)

# The suggestion of an item the model's preprocessing dropped (a DSS model may drop rows).
UNSCORED = {"label": None, "probabilities": {}, "unscored": True}
MAX_COMMENT = 10_000
MAX_BATCH = 100
LEASE_CAP = 2 * MAX_BATCH  # the most items one annotator holds: a batch and the next, whatever they ask
UPCOMING_ITEMS = 200  # items past the leased ones whose online features are computed ahead (a few seconds of batches)
MAX_DURATION_MS = 24 * 3600 * 1000
SEARCH_MODES = ("text", "semantic")
AGREEMENT_CPU_SHARE = 0.1  # while answers keep coming, agreement takes at most this share of a core
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
    keys: list = field(init=False)
    overlap: Overlap = field(init=False)

    def __post_init__(self):
        self.keys = [c["key"] for c in self.categories]
        self.overlap = Overlap(self.overlap_share, self.overlap_annotators, self.seed)

    def may_review(self, user: str) -> bool:
        return self.reviewers is None or user in self.reviewers


def _json_value(value):
    """A cell as JSON: NaN and missing as null, numpy scalars as numbers, anything else as text."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return _json_value(value.item())
    if pd.api.types.is_scalar(value) and pd.isna(value):
        return None
    return str(value)


class LabelingService:
    """One labeling webapp over a journal and an item source."""

    def __init__(self, platform: Platform, journal: Journal, source, config: LabelingConfig, on_change=None,
                 media: MediaStore | None = None, loop=None, suspects=None, may_review=None, rules=None,
                 pool_watch=None, meaning=None, features=None, online_features=None, feed=None):
        """``loop``: the standalone retrain loop, when the server runs one (``/stats`` reports it).
        ``suspects()``: the suspected label errors found so far (``quality/suspects.py``), or None.
        ``may_review(user)``: who may review and change rules (default ``config.may_review``; DSS: logins
        or groups). ``rules``: the project's labeling rules (``labeling/rules_book.py``), or None.
        ``pool_watch``: what adds a growing pool's new items (standalone ``PoolWatcher``; ``/stats``
        reports it), calling ``items_added``. ``meaning``: search by meaning (``MeaningSearch``), when the
        project has sentence embeddings. ``features()``: the text features, for ``/stats``.
        ``online_features()``: the online model's sentence-embedding features once every text has
        its vector (``OnlineSuggestions``'s ``embedded``), else None. ``feed``: the journal's one
        follower (``JournalFeed``; default: one of this service's own, read on each request), to
        which the tally, the online model and the rules subscribe. Nothing here starts a thread:
        whoever builds the webapp starts the feed and ``online``."""
        self.platform, self.journal, self.source, self.config = platform, journal, source, config
        self.may_review = may_review or config.may_review
        self._rules = rules
        self._media = media
        self._suspects = suspects or (lambda: None)
        self._on_change = on_change or (lambda: None)
        self.loop, self.pool_watch = loop, pool_watch
        self._meaning, self._features = meaning, features
        self._model_problem = None  # why the saved model gives no suggestions (one sentence), for /stats
        self.queue = Queue(list(source.ids), seed=config.seed)
        self.project = ProjectState(platform, config, source, self.queue)
        self._lock = threading.Lock()
        self._tally = Tally(config.multi_label, *journal.skip_counts(), needed=config.overlap.needed)
        self.feed = feed or JournalFeed(journal)
        self.feed.subscribe(self._tally.receive)
        self._agreement = None  # (last event, when, agreement)
        self._searched = {}  # item -> the search that served it, for the answer's provenance
        self._search_leases = {}  # annotator -> what their last search leased
        self.online = None
        if config.online and not config.multi_label:
            self.online = OnlineSuggestions(platform, journal, source, config, self._model_version,
                                            upcoming=self._upcoming, embedded=online_features)
            self.feed.subscribe(self.online.receive)
        if rules is not None:
            self.feed.subscribe(rules.receive)
        self._warm_up()

    def _warm_up(self) -> None:
        """Run every read path once, so the first annotators do not pay for caches and SQL compiling."""
        self.project.current()
        self._sync()
        self.journal.leased_to_others("")
        self._data(list(self.source.ids[:1]))

    def _sync(self) -> Tally:
        """Bring the tally (and every other follower of the feed) up to date with the journal:
        answers from any process."""
        self.feed.poll()
        return self._tally

    def labeled_in_session(self, session: int) -> int:
        """LABELED answers stamped with ``session`` (what the retrain rule counts)."""
        return self._sync().sessions[str(session)]

    # routes
    def config_json(self, user: str) -> dict:
        categories = [{"key": c["key"], "caption": c.get("caption") or c["key"], "shortcut": key}
                      for c, key in zip(self.config.categories,
                                        shortcuts(self.config.keys, VIEW_KEYS.get(self.config.type, set())))]
        return {"type": self.config.type, "categories": categories, "multiLabel": self.config.multi_label,
                "textColumn": self.config.text_column, "columnsFirst": list(self.config.columns_first),
                "alEnabled": bool(self.config.queries), "session": self.project.current().session,
                "modelVersion": self._model_version(), "user": user, "reviewer": self.may_review(user),
                "rules": self._rules is not None}

    def batch(self, user: str, size) -> dict:
        """Up to ``size`` items leased to ``user``, empty only when none is left to lease.

        Annotators asking at the same moment are proposed the same first items, and only one
        gets each: the others are proposed the next ones, until their batch is full or the
        queue has nothing more (each round leaves out what it proposed, so this ends)."""
        size = whole_number(size, "size", 1, MAX_BATCH, text=True)
        tally, session = self._sync(), self.project.current().session
        answered, done = tally.held(session, user), tally.held(session)

        def propose(proposed: set, count: int) -> list:
            return self.queue.next_items(self.journal.leased_to_others(user) | proposed, answered, count, done=done)
        return self._serve(self._lease_until_full(user, size, propose), self._query_json)

    def _lease_until_full(self, user: str, size: int, propose, replacing=()) -> list:
        """Lease ``size`` items of those ``propose(proposed, count)`` proposes, asking again for
        others while some were lost to another annotator; ``replacing``: leases given back first."""
        taken, proposed = [], set()
        while len(taken) < size:
            candidates = propose(proposed, (size - len(taken)) * 2)
            if not candidates:
                break
            proposed.update(candidates)
            taken += self._lease(user, candidates, size - len(taken), replacing=replacing)
            replacing = ()
        return taken

    def _upcoming(self) -> list:
        """The items the next batches will likely serve, in order (the online model's features are computed ahead for them)."""
        tally, session = self._sync(), self.project.current().session
        held = tally.held(session)
        return self.queue.next_items(self.journal.leased_to_others(""), held, UPCOMING_ITEMS, done=held)

    def _lease(self, user: str, candidates: list, size: int, replacing=()) -> list:
        return self.journal.lease(user, candidates, size, seconds=self.config.lease_seconds,
                                  needed=self.config.overlap.needed, cap=LEASE_CAP, replacing=replacing)

    def search(self, user: str, q, column=None, match="substring", size="10", mode="text") -> dict:
        """A batch of unanswered items whose values match ``q`` (labeling/search.py), or, with ``mode``
        ``semantic``, whose texts are closest to it in meaning; leased as any batch."""
        q, match = check_query(q, match or "substring")
        size = whole_number(size, "size", 1, MAX_BATCH, text=True)
        if (mode or "text") not in SEARCH_MODES:
            raise LabelloopError(f"mode must be one of {', '.join(SEARCH_MODES)}.")
        if mode == "semantic":
            return self._search_by_meaning(user, q, size)
        if self.config.type in FOLDER_TYPES:
            if column:
                raise LabelloopError("Files are searched by their path: leave out column.")
            ids, frame, columns = self.source.ids, None, []
        else:
            ids, frame = self.source.snapshot()  # one moment of a pool that grows
            columns = searched_columns(frame, self.config.type, column or None)
        return self._serve_found(user, size, q, lambda proposed, count: find(
            ids, frame, columns, q, match, self._open_to(user, proposed), count))

    def _search_by_meaning(self, user: str, q: str, size: int) -> dict:
        if self._meaning is None:
            raise LabelloopError("Search by meaning needs sentence embeddings, which this webapp does not have "
                                 "(standalone: --features embeddings, with pip install labelloop[embeddings]).")
        ids, frame = self.source.snapshot()
        return self._serve_found(user, size, q, lambda proposed, count: self._meaning.find(
            ids, frame, q, self._open_to(user, proposed), count))

    def _open_to(self, user: str, proposed: set):
        """Whether a search may serve an item to ``user``: not answered by them, not leased to another,
        not already proposed."""
        answered = self._sync().held(self.project.current().session, user)
        busy = self.journal.leased_to_others(user)
        return lambda i: i not in answered and i not in busy and i not in proposed

    def _serve_found(self, user: str, size: int, q: str, propose) -> dict:
        """Lease and serve what a search finds, remembering the search as the items' provenance.

        The annotator's previous search gives its leases back: searching again and again would
        otherwise hold the pool (an annotator labels what their last search found)."""
        with self._lock:
            previous = self._search_leases.pop(user, [])
        taken = self._lease_until_full(user, size, propose, replacing=previous)
        with self._lock:
            self._search_leases[user] = taken
        self._searched.update((i, q) for i in taken)
        return self._serve(taken, lambda i: {"strategy": "search", "text": q})

    def label(self, user: str, body) -> dict:
        body = _object(body)
        item_id = self._known_item(body)
        label = self._label_value(body.get("label"))
        return self._record(user, item_id, LABELED, label, body)

    def skip(self, user: str, body) -> dict:
        body = _object(body)
        return self._record(user, self._known_item(body), SKIPPED, None, body)

    def history(self, user: str, cursor, direction: str) -> dict:
        entries = self.journal.history(user)
        if direction not in ("back", "next", "first", "last"):
            raise LabelloopError("direction must be back, next, first or last.")
        if not entries:
            raise NotFound("You have not labeled or skipped anything yet.")
        position = self._history_position(entries, cursor, direction)
        entry = entries[position]
        label = entry["label"]
        if label is not None and self.config.multi_label:
            label = json.loads(label)
        return {"item": {"id": entry["item_id"], "data": self._data([entry["item_id"]])[0]},
                "annotation": {"label": label, "comment": entry["comment"], "status": entry["status"]},
                "labelId": entry["event_id"], "position": position + 1,
                "isFirst": position == 0, "isLast": position == len(entries) - 1}

    def review_batch(self, user: str, size) -> dict:
        """Items for a reviewer to settle: those whose labels differ, then the suspected errors,
        each with every current answer (``GET /review``)."""
        self._check_reviewer(user)
        size = whole_number(size, "size", 1, MAX_BATCH, text=True)
        waiting = self._to_review()
        chosen = waiting[:size]
        ids = [item for item, _, _ in chosen]
        answers = {}
        for answer in self.journal.answers_of(ids):
            label = answer["label"]
            if label is not None and self.config.multi_label:
                label = json.loads(label)
            answers.setdefault(answer["item_id"], []).append({
                "annotator": answer["annotator"], "status": answer["status"], "label": label,
                "comment": answer["comment"], "date": answer["created_at"].isoformat(timespec="seconds") + "Z"})
        suggestions = self._suggestions(ids)
        items = [{"id": item, "data": data, "reason": reason, "answers": answers.get(item, []),
                  "suggestion": suspect or suggestions.get(item)}
                 for (item, reason, suspect), data in zip(chosen, self._data(ids))]
        return {"items": items, "remaining": len(waiting)}

    def review(self, user: str, body) -> dict:
        """Record a reviewer's decision on a labeled item (``POST /review``): final until the next review."""
        self._check_reviewer(user)
        body = _object(body)
        item_id = self._known_item(body)
        label = self._label_value(body.get("label"))
        comment = _comment(body)
        if not self._sync().labeled_by_anyone(item_id):
            raise LabelloopError("Only labeled items can be reviewed: this one has no label yet.")
        label_id = self.journal.review(user, item_id, label, comment)
        self._on_change()
        return {"labelId": label_id, "remaining": len(self._to_review())}

    def rules(self, user: str) -> dict:
        """The labeling rules with their statistics (``GET /rules``), and whether ``user`` may change them."""
        return {**self._rules_book().summary(self._measured_for(user)), "canEdit": self.may_review(user)}

    def preview_rule(self, user: str, body) -> dict:
        """How a rule being written would do, before it is saved (``POST /rules/preview``)."""
        found = self._rules_book().preview(_object(body).get("rule"), self._measured_for(user))
        return {**found, "examples": [{"id": i, "data": d} for i, d in zip(found["examples"], self._data(found["examples"]))]}

    def save_rules(self, user: str, body) -> dict:
        """Replace the rules (``PUT /rules``): reviewers, or the one user of a server without reviewers."""
        book = self._rules_book()
        if not self.may_review(user):
            raise Forbidden("Only the project's reviewers can change the labeling rules.")
        return {**book.replace(_object(body).get("rules")), "canEdit": True}

    def _measured_for(self, user: str) -> str | None:
        """Whose labels rules are measured against for ``user``: the final ones (None) for a
        reviewer, else only ``user``'s own, so that rules reveal nothing of others' answers."""
        return None if self.may_review(user) else user

    def _rules_book(self):
        if self._rules is None:
            raise NotFound("This webapp has no labeling rules (in DSS they live in a rules dataset).")
        self._sync()  # the rules' final labels follow the feed
        return self._rules

    def media(self, item_id: str, original: bool = False) -> MediaFile:
        """The bytes of a folder item (images downscaled unless ``original``)."""
        if self._media is None:
            raise NotFound("This webapp labels rows: it has no media files.")
        return self._media.get(item_id, original)

    def stats(self) -> dict:
        loop = self.loop.status() if self.loop is not None else None  # first: a round it calls over is in the project
        project = self.project.current(read_since=self.loop.finished_at if self.loop is not None else None)
        stats = self._sync().stats(total=len(self.source))
        stats = {**stats, "modelVersions": project.versions, "stopping": project.stopping, "learningCurve": project.curve,
                 "suggesting": self._suggesting(), "agreement": self._team_agreement()}
        if loop is not None:
            stats["loop"] = loop
        if self.pool_watch is not None:
            stats["pool"] = self.pool_watch.status()
        if self._features is not None:
            stats["features"] = self._features()
        if self._media is not None and self._media.problem:
            stats["cacheProblem"] = self._media.problem
        if self._model_problem:
            stats["modelProblem"] = self._model_problem
        return stats

    def items_added(self, item_ids: list) -> None:
        """New items of a pool that grows (already in the source): the queue serves them from now on."""
        self.queue.add(item_ids)

    # helpers
    def _record(self, user: str, item_id: str, status: str, label, body: dict) -> dict:
        comment = _comment(body)
        duration = body.get("durationMs")
        duration = None if duration is None else whole_number(duration, "durationMs", 0, MAX_DURATION_MS, text=True)
        query = None if item_id in self._searched else self.queue.queries.get(item_id)
        annotation = Annotation(
            item_id=item_id, annotator=user, status=status, label=label, comment=comment,
            session=self.project.current().session, duration_ms=duration,
            strategy="search" if item_id in self._searched else query.strategy if query else None,
            uncertainty=query.uncertainty if query else None,
            query_rank=query.rank if query else None, model_version=query.model_version if query else None,
        )
        label_id = self.journal.record(annotation)
        self._on_change()
        return {"labelId": label_id, "stats": self.stats()}

    def _known_item(self, body: dict) -> str:
        item_id = body.get("id")
        if not isinstance(item_id, str) or not item_id:
            raise LabelloopError("id must be a non-empty string.")
        if item_id not in self.source:
            raise NotFound("Unknown item id.")
        return item_id

    def _label_value(self, label) -> str:
        keys = self.config.keys
        if not self.config.multi_label:
            if not isinstance(label, str) or label not in keys:
                raise LabelloopError("label must be one of the categories.")
            return label
        if not isinstance(label, list) or not label or not all(isinstance(v, str) and v in keys for v in label):
            raise LabelloopError("label must be a non-empty list of categories.")
        chosen = set(label)
        return json.dumps([k for k in keys if k in chosen])

    def _history_position(self, entries: list, cursor, direction: str) -> int:
        if direction == "first":
            return 0
        if direction == "last":
            return len(entries) - 1
        if cursor in (None, ""):
            if direction == "next":
                raise NotFound("You are on a new item: there is nothing after it.")
            return len(entries) - 1
        ids = [e["event_id"] for e in entries]
        current = whole_number(cursor, "cursor", 0, text=True)
        if current not in ids:
            raise NotFound("That history position no longer exists.")
        position = ids.index(current) + (1 if direction == "next" else -1)
        if position < 0:
            raise NotFound("This is your first annotation.")
        if position >= len(entries):
            raise NotFound("This is your latest annotation.")
        return position

    def _serve(self, taken: list, query_of) -> dict:
        """The response to a batch or a search: the items with their data, query and suggestion."""
        suggestions = self._suggestions(taken)
        items = [{"id": i, "data": data, "query": query_of(i), "suggestion": suggestions.get(i)}
                 for i, data in zip(taken, self._data(taken))]
        stats = self.stats()
        return {"items": items, "stats": stats, "done": not items and stats["remaining"] == 0}

    def _data(self, item_ids: list) -> list:
        if self.config.type in FOLDER_TYPES:
            return [{"path": i, "mediaUrl": "media/" + quote(i, safe="")} for i in item_ids]
        rows = [{str(k): _json_value(v) for k, v in row.items()} for row in self.source.rows(item_ids).to_dict("records")]
        if self.config.type == "text":
            return [{"text": row.get(self.config.text_column), **row} for row in rows]
        return rows

    def _query_json(self, item_id: str):
        query = self.queue.queries.get(item_id)
        return query.as_json() if query else None

    def _check_reviewer(self, user: str) -> None:
        if not self.may_review(user):
            raise Forbidden("Only the project's reviewers can review labels.")

    def _to_review(self) -> list:
        """``(item, reason, suspect suggestion or None)`` of the items waiting for a reviewer:
        labels that differ, then suspected errors; an item a reviewer settled leaves the list."""
        reviewed = set(self.journal.reviews_frame()["item_id"])
        disagreements = [i for i in self._sync().disagreements() if i not in reviewed]
        waiting = [(i, "disagreement", None) for i in sorted(disagreements, key=str)]
        seen = reviewed | set(disagreements)
        for found in self._suspects() or []:
            item = found["item_id"]
            if item not in seen and item in self.source:
                seen.add(item)
                waiting.append((item, "suspect", {"label": found["suggested"], "score": found["score"],
                                                  "source": "cross-validation"}))
        return waiting

    def _team_agreement(self) -> dict:
        """The team's agreement (quality/agreement.py) over the items two annotators or more answered.

        ``/stats`` follows every label, so it is recomputed only when an answer on a shared item
        changed, and after a pause of ``1 / AGREEMENT_CPU_SHARE`` times its last cost: a few
        milliseconds on a small team's overlap (fresh at once), a few seconds on 100k shared
        items. Only the overlap is read, from the tally in memory. (Keyed by the last answer
        instead, it was recomputed after nearly every label of a busy team: a fifth of the
        server's GIL time with 32 annotators and no overlap, measured with py-spy.)
        """
        with self._lock:
            cached, last = self._agreement, self._tally.shared_changes
            if cached is not None:
                seen, done_at, cost, found = cached
                if seen == last or time.monotonic() - done_at < cost / AGREEMENT_CPU_SHARE:
                    return found
            rows = self._tally.shared_labels()
        start = time.monotonic()
        found = agreement(pd.DataFrame(rows, columns=["item_id", "annotator", "label"]))
        self._agreement = (last, time.monotonic(), time.monotonic() - start, found)
        return found

    def _model_version(self):
        return self.project.current().active

    def _suggesting(self) -> dict:
        """Which model suggests: the online one once it is ready, else the active version (or none)."""
        online = self.online.status() if self.online is not None else None
        if online is not None and online["source"] == "online":
            return online
        return {"source": "version" if self._model_version() else None, "labels": 0, "version": self._model_version()}

    def _suggestions(self, item_ids: list) -> dict:
        """The best guess per item: the online model's when it is ready, else the version's; never blocks labeling."""
        if not item_ids:
            return {}
        online = self._online_suggestions(item_ids)
        if online is not None:
            return online
        if not self.config.model or self._model_version() is None:
            return {}
        try:
            result = self.platform.model_probabilities(self.config.model, self.source.rows(item_ids),
                                                       version=self._model_version())
        except LabelloopError as error:  # a model this env cannot score with: labeling goes on, /stats says why
            self._model_problem = str(error)
            return {}
        except Exception:  # noqa: BLE001 - a broken model must not stop labeling
            return {}
        self._model_problem = None
        return {i: _suggestion(result.classes, p, "version") if scored else UNSCORED
                for i, p, scored in zip(item_ids, result.matrix, result.scored)}

    def _online_suggestions(self, item_ids: list) -> dict | None:
        if self.online is None:
            return None
        try:
            found = self.online.probabilities(item_ids)
        except Exception:  # noqa: BLE001 - fall back on the version's suggestions
            log.exception("online suggestions")
            return None
        if found is None:
            return None
        categories, matrix = found
        return {i: _suggestion(categories, p, "online") for i, p in zip(item_ids, matrix)}


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


def _suggestion(classes: list, probabilities: np.ndarray, source: str) -> dict:
    return {"label": classes[int(np.argmax(probabilities))],
            "probabilities": {c: float(v) for c, v in zip(classes, probabilities)}, "source": source}


def _comment(body: dict) -> str | None:
    """The answer's or decision's comment: text of bounded length, or None for none or an empty one."""
    comment = body.get("comment")
    if comment is not None and (not isinstance(comment, str) or len(comment) > MAX_COMMENT):
        raise LabelloopError(f"comment must be text of at most {MAX_COMMENT:,} characters.")
    return comment or None


def _object(body) -> dict:
    if not isinstance(body, dict):
        raise LabelloopError("The request body must be a JSON object.")
    return body

