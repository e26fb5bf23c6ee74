"""``GET /clusters`` lists the pool's unanswered items in clusters of the similar items' space;
``GET /clusters/<id>?size=n`` serves one cluster as a leased batch, for the group view (DESIGN.md section 13).

The clusters are learned in a thread (``labeling/clustering.py``) once the similar items' index
is built, on its vectors, and kept current: a growing pool's new items are filed in their nearest
cluster a moment after they join the index, and the clusters are learned again once the pool has
doubled. A request never clusters: until the first clusters are learned it answers 503 with one
sentence. How many items of each cluster are still unanswered follows the journal's changes
(``_Answered``): a listing costs the answers, not the pool.

A cluster is served as ``/similar`` serves: its unanswered items nearest the centre first, each
with ``similarity`` (its cosine with the centre, below 0 shown as 0) and ``query: {strategy:
"cluster", cluster: id}``; items leased to others are left out, and the annotator's previous
cluster gives its leases back.
"""
from __future__ import annotations

import logging
import re
import threading
from itertools import islice

import numpy as np
from flask import jsonify, request

from labelloop.errors import NotFound, Unavailable, first_line
from labelloop.labeling.clustering import MAX_CLUSTERS, Clustering
from labelloop.labeling.extensions.base import Extension
from labelloop.labeling.extensions.similar import DEFAULT_SIZE, MAX_SIZE, Similar
from labelloop.labeling.leasing import LastLeases
from labelloop.parameters.numbers import whole_number
from labelloop.platform.locks import Lock
from labelloop.store.items import FOLDER_TYPES

log = logging.getLogger(__name__)
DEFAULT_LISTED = "20"  # clusters a listing shows, the most unanswered items first
EXAMPLES = 3  # items shown of each cluster
EXAMPLE_SCAN = 5_000  # members looked at, at most, for a cluster's examples (its nearest may all be answered)
PREVIEW = 80  # characters of an example's preview
PREVIEW_COLUMNS = 3  # a row's preview: its first columns
RECHECK_SECONDS = 5.0  # how often the thread looks for new items (at once when a growing pool adds some)
FIRST_CHECK_SECONDS = 0.5  # how often it looks for the similar items' index, until the first clusters
NOT_READY = "Clusters are not ready yet: the pool is being grouped by similarity, try again in a minute."
CLUSTER_ID = re.compile(r"[0-9]{1,6}")


class Clusters(Extension):
    """The pool's clusters, learned and kept current in a thread, ``GET /clusters`` and ``GET /clusters/<id>``."""

    enabled = staticmethod(Similar.enabled)  # the clusters are learned on the similar items' index

    def __init__(self, webapp):
        super().__init__(webapp)
        self._similar, self._clustering, self._error = None, None, None
        self._answered = _Answered()
        self._leases = LastLeases(webapp.service.leasing)
        self._wake, self._stopping = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._run, name="labelloop-clusters", daemon=True)

    def init_app(self, app) -> None:
        identify = self.webapp.identify

        @app.get("/clusters")
        def cluster_list():
            return jsonify(self.listing(identify(request), request.args.get("size", DEFAULT_LISTED)))

        @app.get("/clusters/<cluster>")
        def cluster_batch(cluster):
            return jsonify(self.cluster(identify(request), cluster, request.args.get("size", DEFAULT_SIZE)))

    def start(self) -> None:
        self._similar = next(e for e in self.webapp.extensions if isinstance(e, Similar))
        self.webapp.feed.subscribe(self._answered.touch)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def stats(self) -> dict:
        clustering = self._clustering
        return {"clusters": {"ready": clustering is not None, "count": 0 if clustering is None else len(clustering.centres)}}

    def items_added(self, item_ids: list) -> None:
        self._wake.set()

    # the requests
    def listing(self, user: str, size) -> dict:
        """The clusters with unanswered items, the most first, each with its nearest unanswered items as examples."""
        size = whole_number(size, "size", 1, MAX_CLUSTERS, text=True)
        clustering, built = self._ready()
        service = self.webapp.service
        tally, session = service.tally(), service.project.current().session  # the tally first: it reads the journal's changes
        done = tally.held(session)
        answered = self._answered.positions(done, session, built.positions)
        unanswered = clustering.sizes() - clustering.counted(answered)
        shown = [int(k) for k in np.argsort(-unanswered, kind="stable")[:size] if unanswered[k] > 0]
        examples = {k: [built.ids[p] for p in islice((p for p in clustering.members[k][:EXAMPLE_SCAN]
                                                          if built.ids[p] not in done), EXAMPLES)] for k in shown}
        previews = self._previews([i for k in shown for i in examples[k]])
        return {"clusters": [{"id": k + 1, "unanswered": int(unanswered[k]),
                              "examples": [{"id": i, "preview": previews[i]} for i in examples[k]]} for k in shown],
                "count": int((unanswered > 0).sum()), "items": clustering.rows}

    def cluster(self, user: str, cluster, size) -> dict:
        """Up to ``size`` unanswered items of the cluster, nearest its centre first, leased to ``user``."""
        size = whole_number(size, "size", 1, MAX_SIZE, text=True)
        clustering, built = self._ready()
        k = _cluster_index(cluster, len(clustering.centres))
        service = self.webapp.service
        tally, session = service.tally(), service.project.current().session
        answered, done = tally.held(session, user), tally.held(session)
        where = {}  # item -> position, for the members looked at

        def members():
            for p in clustering.members[k]:
                where[built.ids[p]] = p
                yield built.ids[p]
        unanswered = (i for i in members() if i not in done)  # each proposal goes on where the last stopped

        def propose(proposed: set, count: int) -> list:
            wanted = service.leasing.open_to(user, answered, proposed)
            return list(islice((i for i in unanswered if wanted(i)), count))
        taken = self._leases.renew(user, size, propose)
        query = {"strategy": "cluster", "cluster": k + 1}
        served = service.serve(taken, lambda i: query)
        for item in served["items"]:
            item["similarity"] = round(float(np.clip(clustering.closeness[where[item["id"]]], 0, 1)), 4)
        return served

    def _ready(self) -> tuple:
        clustering = self._clustering
        if clustering is None:
            raise Unavailable(self._error or self._similar.failure or NOT_READY)
        return clustering, self._similar.built()

    def _previews(self, item_ids: list) -> dict:
        """A line of text about each item: a text's start, a file's path, a row's first columns."""
        config, data = self.webapp.service.config, self.webapp.service.data(item_ids)
        return {i: _short(_preview(config, d)) for i, d in zip(item_ids, data)}

    # the thread
    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._refresh()
            except Exception as error:  # noqa: BLE001 - labeling goes on without clusters; /clusters and the log say why
                if self._stopping.is_set():
                    return
                if self._clustering is None:
                    log.exception("Clustering the pool failed")
                    self._error = f"Clusters are not available: learning them failed ({first_line(error)})."
                    return
                log.exception("Filing new items in the pool's clusters failed")  # those filed stay served; tried again
            self._wake.wait(RECHECK_SECONDS if self._clustering is not None else FIRST_CHECK_SECONDS)
            self._wake.clear()

    def _refresh(self) -> None:
        """Learn the clusters once the index is built (again when the pool doubled); file the items added since."""
        try:
            built = self._similar.built()
        except Unavailable:
            return
        clustering, rows = self._clustering, built.index.rows
        if not rows or (clustering is not None and rows == clustering.rows):
            return
        if clustering is None:
            self._answered.seed(self.webapp.service.journal)
        if clustering is None or clustering.due(rows):
            self._clustering = Clustering.learn(built.index, self.webapp.settings.config.seed)
        else:
            self._clustering = clustering.filed(built.index)


class _Answered:
    """The items answered enough to be served to nobody (``Tally.held`` without a user), followed
    from the journal's changes: a listing checks again only the items changed since the last one
    (every answered item when the session changed: a skip is held back for some sessions only)."""

    def __init__(self):
        self._lock, self._checking = Lock(), Lock()
        self._seen, self._changed = set(), set()  # items with an answer; those changed since the last check
        self._held, self._session = {}, None  # item answered enough -> its position in the index (-1: not in it yet)
        self._unplaced = set()  # those not in the index yet: looked up again at each check

    def touch(self, changes: list) -> None:
        """The journal's changes (a ``JournalFeed`` subscriber: quick, it only notes the items)."""
        with self._lock:
            for change in changes:
                self._seen.add(change.item_id)
                self._changed.add(change.item_id)

    def seed(self, journal) -> None:
        """The items answered before the feed was followed."""
        items = set(journal.current_frame()["item_id"])
        with self._lock:
            self._seen |= items
            self._changed |= items

    def positions(self, done, session: int, where: dict) -> np.ndarray:
        """The index positions of the items answered enough now: ``done``, the tally's ``held`` in
        ``session``, read after the journal's changes; ``where``, the index's item -> position."""
        with self._checking:
            with self._lock:
                check = set(self._seen) if session != self._session else self._changed
                self._changed, self._session = set(), session
            check |= self._unplaced
            for item in check:
                if item in done:
                    self._held[item] = where.get(item, -1)
                else:
                    self._held.pop(item, None)
            self._unplaced = {item for item in check if self._held.get(item, 0) < 0}
            found = np.fromiter(self._held.values(), dtype=np.int64, count=len(self._held))
        return found[found >= 0]


def _cluster_index(cluster, count: int) -> int:
    """The position of cluster ``cluster`` (1 to ``count``, as /clusters numbers them)."""
    if not CLUSTER_ID.fullmatch(cluster or "") or not 1 <= int(cluster) <= count:
        raise NotFound(f"No cluster has this id: /clusters lists them, numbered 1 to {count}.")
    return int(cluster) - 1


def _preview(config, data: dict) -> str:
    if config.type in FOLDER_TYPES:
        return data["path"]
    if config.type == "text":
        return str(data.get("text") or "")
    first = [c for c in config.columns_first if c in data]
    columns = (first + [c for c in data if c not in first])[:PREVIEW_COLUMNS]
    return ", ".join(f"{c}: {'' if data[c] is None else data[c]}" for c in columns)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= PREVIEW else text[:PREVIEW - 1] + "…"
