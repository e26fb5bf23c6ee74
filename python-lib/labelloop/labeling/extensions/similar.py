"""``GET /similar?id=&size=``: the items nearest one item, leased and served as a batch (DESIGN.md section 13).

The items' vectors (``labeling/similar_space.py``) go into a nearest-neighbour index
(``store/nearest.py``) built by a thread from ``start``: a request never scans the pool. Until the
index is built, and while an item's vector is not in it yet, ``/similar`` answers 503 with one
sentence (no fallback: a full scan of a large pool in the request is what the index avoids). A
growing pool's new items join it a moment after they arrive (``items_added``); texts whose
sentence embeddings are not computed yet join once they are.

The answer is a batch: the unanswered items nearest first, the item itself first while nobody has
answered it (its similarity is 1), each with ``similarity`` (the cosine, below 0 shown as 0) and
``query: {strategy: "similar", to: id}``. Items leased to another annotator are left out, and
the annotator's previous ``/similar`` gives its leases back, as a search does.
"""
from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import weakref
from typing import NamedTuple

import numpy as np
from flask import jsonify, request

from labelloop.errors import LabelloopError, NotFound, Unavailable, first_line
from labelloop.labeling.extensions.base import Extension
from labelloop.labeling.leasing import LEASE_CAP, LastLeases
from labelloop.labeling.similar_space import space_for
from labelloop.parameters.numbers import whole_number
from labelloop.platform.locks import Lock
from labelloop.store.items import FOLDER_TYPES
from labelloop.store.nearest import PROBE, NearestIndex

log = logging.getLogger(__name__)
MAX_SIZE = LEASE_CAP  # 200: the most items one annotator may hold
DEFAULT_SIZE = "20"
CHUNK = 10_000  # items turned into vectors at a time
SAMPLE = 20_000  # items the space's scales and word rarities are learned on
WIDEST = 64  # cells a request looks at, at most, when the nearest are answered or leased to others
RECHECK_SECONDS = 5.0  # how often items waiting for their embeddings are tried again


class Built(NamedTuple):
    """The similar items' index and its items, as ``Similar.built`` gives them."""

    index: NearestIndex
    ids: list  # position -> item id (it may run ahead of the index: a position below ``index.rows`` has its id)
    positions: dict  # item id -> position


class Similar(Extension):
    """The index of the items' vectors, built and kept current in a thread, and ``GET /similar``."""

    def __init__(self, webapp):
        super().__init__(webapp)
        self._index, self._positions, self._ids = None, {}, []  # the index; item -> position; position -> item
        self._waiting, self._error = [], None  # items without a vector yet; why the build failed
        self._lock = Lock()
        self._leases = LastLeases(webapp.service.leasing)
        self._wake, self._stopping = threading.Event(), threading.Event()
        self._folder, self._space = None, None
        self._thread = threading.Thread(target=self._run, name="labelloop-similar", daemon=True)

    @staticmethod
    def enabled(settings) -> bool:
        """Rows always; a folder's files when the host gives their features (``settings.features_of``)."""
        return settings.config.type not in FOLDER_TYPES or settings.features_of is not None

    def init_app(self, app) -> None:
        @app.get("/similar")
        def similar():
            args = request.args
            return jsonify(self.similar(self.webapp.identify(request), args.get("id"), args.get("size", DEFAULT_SIZE)))

    def start(self) -> None:
        self._folder = tempfile.mkdtemp(prefix="labelloop-similar-")  # owner-only: the vectors describe the items
        self._remove_folder = weakref.finalize(self, shutil.rmtree, self._folder, ignore_errors=True)  # at exit too
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout=10)
        if self._folder:
            self._remove_folder()

    def stats(self) -> dict:
        return {"similar": {"ready": self._index is not None, "items": len(self._ids)}}

    def items_added(self, item_ids: list) -> None:
        with self._lock:
            self._waiting.extend(item_ids)
        self._wake.set()

    def built(self) -> Built:
        """The index with its items (position -> id, id -> position) once it is built; until then
        ``Unavailable``, saying why (the pool's clusters are learned on it too)."""
        index = self._index
        if index is None:
            raise Unavailable(self._error or "Similar items are not ready yet: their index is being built, "
                                             "try again in a minute.")
        return Built(index, self._ids, self._positions)

    @property
    def failure(self):
        """Why the index could not be built, in one sentence (None while it is built or being built)."""
        return self._error

    # the request
    def similar(self, user: str, item_id, size) -> dict:
        size = whole_number(size, "size", 1, MAX_SIZE, text=True)
        service = self.webapp.service
        if not isinstance(item_id, str) or not item_id:
            raise LabelloopError("id must be the id of an item.")
        if item_id not in service.source:
            raise NotFound("Unknown item id.")
        index, position = self.built().index, self._positions.get(item_id)
        if position is None:
            raise Unavailable("This item is not in the similar items' index yet (its features are being "
                              "computed): try again in a minute.")
        tally, session = service.tally(), service.project.current().session
        answered, done = tally.held(session, user), tally.held(session)
        ranked = _Ranked(index, index.vectors([position])[0], self._ids)

        def propose(proposed: set, count: int) -> list:
            wanted = service.leasing.open_to(user, answered, proposed)
            return ranked.first(count, lambda i: i not in done and wanted(i))
        taken = self._leases.renew(user, size, propose)
        query = {"strategy": "similar", "to": item_id}
        served = service.serve(taken, lambda i: query)
        for item in served["items"]:
            item["similarity"] = ranked.similarity[item["id"]]
        return served

    # the thread
    def _run(self) -> None:
        try:
            self._build()
        except Exception as error:  # noqa: BLE001 - labeling goes on without similar items; /similar and the log say why
            if self._stopping.is_set():
                return  # its folder was removed under it by ``stop``: not a failure
            log.exception("Building the similar items' index failed")
            self._error = f"Similar items are not available: building their index failed ({first_line(error)})."
            return
        while not self._stopping.is_set():
            self._wake.wait(RECHECK_SECONDS)
            self._wake.clear()
            with self._lock:
                waiting, self._waiting = self._waiting, []
            if waiting and not self._stopping.is_set():
                try:
                    self._add(self._index, waiting)
                except Exception:  # noqa: BLE001 - the items already in stay served; the next arrivals are tried again
                    if self._stopping.is_set():
                        return
                    log.exception("Adding %d items to the similar items' index failed", len(waiting))

    def _build(self) -> None:
        """Wait for the sentence embeddings when the space reads them, learn the space on a sample, index the pool."""
        settings = self.webapp.settings
        while _embedding(settings) and not self._stopping.is_set():
            self._stopping.wait(1.0)
        ids, frame = self.webapp.service.source.snapshot()
        sample = np.sort(np.random.default_rng(settings.config.seed).choice(len(ids), min(len(ids), SAMPLE), replace=False))
        self._space = space_for(settings, frame.iloc[sample])
        self._space.fit(frame.iloc[sample])
        index = NearestIndex(self._folder, self._space.dim, seed=settings.config.seed)
        for start in range(0, len(ids), CHUNK):
            if self._stopping.is_set():
                return
            self._add(index, ids[start:start + CHUNK], frame.iloc[start:start + CHUNK])
        if index.grown():
            index.organise()
        self._index = index

    def _add(self, index: NearestIndex, item_ids: list, rows=None) -> None:
        """Put the items' vectors in ``index``; those not ready (no embedding yet) wait for the next round."""
        item_ids = [i for i in item_ids if i not in self._positions]
        if not item_ids:
            return
        rows = self.webapp.service.source.rows(item_ids) if rows is None else rows
        vectors, ready = self._space.vectors(rows)
        kept = [i for i, r in zip(item_ids, ready) if r]
        self._ids.extend(kept)  # before the index has them: a search never finds a position without its id
        positions = index.add(vectors[ready])
        self._positions.update(zip(kept, positions.tolist()))
        with self._lock:
            self._waiting.extend(i for i, r in zip(item_ids, ready) if not r)
        if index is self._index and index.grown():
            index.organise()


def _embedding(settings) -> bool:
    """Whether the webapp's sentence embeddings are still being computed (the space waits for them)."""
    embeddings = settings.embeddings
    return getattr(embeddings, "meaning", None) is not None and not embeddings.status().get("ready", True)


class _Ranked:
    """The items nearest a vector, searched in more cells only when the nearest are not wanted."""

    def __init__(self, index: NearestIndex, vector: np.ndarray, ids: list):
        self.index, self.vector, self.ids = index, vector, ids
        self.similarity, self._order, self._probe, self._limit = {}, [], PROBE, 0

    def first(self, count: int, wanted) -> list:
        """Up to ``count`` ids that ``wanted`` accepts, nearest first."""
        while True:
            found = [i for i in self._order if wanted(i)][:count]
            if len(found) >= count or not self._widen(count):
                return found

    def _widen(self, count: int) -> bool:
        """Search more widely (twice the cells, four times the items); False when nothing more can be found."""
        if self._limit and (len(self._order) >= self.index.rows or 2 * self._probe > WIDEST):
            return False
        if self._limit:
            self._probe *= 2
        self._limit = max(4 * count + 50, 4 * self._limit)
        found = self.index.search(self.vector, self._limit, probe=self._probe)
        self._order = [self.ids[p] for p in found.positions]
        self.similarity = {i: round(float(np.clip(s, 0, 1)), 4) for i, s in zip(self._order, found.similarities)}
        return True
