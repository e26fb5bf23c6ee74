"""Suggestions that learn from every label: the webapp's online model, kept beside the requests.

The journal's feed (store/journal_feed.py) hands it the changes (labels from every process of the
webapp, and from other servers on a shared database), and a thread updates an ``OnlineModel``
with each new label a moment after it is written: never in the request path, so ``/label``
costs what it did. When a retrain makes a new
model version active, or a DSS webapp's LLM Mesh embeddings become complete, a new online model
on the new features replaces the old one, trained first on the labels so far; until it is ready
the version's own suggestions stand.
"""
from __future__ import annotations

import dataclasses
import logging
import threading
import time
import weakref

from labelloop.labeling.online_model import REPLAY, OnlineModel, hashed_features
from labelloop.platform.locks import Lock
from labelloop.store.journal import LABELED

log = logging.getLogger(__name__)
POLL_SECONDS = 0.2
REFIT_SECONDS = 1.0  # at most one refit a second: labels arriving meanwhile are learned together
PREFETCH_SECONDS = 1.0  # how often the upcoming items' features are computed ahead


class OnlineSuggestions:
    """The current online model of a labeling webapp, and the thread that keeps it learning."""

    def __init__(self, platform, journal, source, config, active_version, upcoming=None, embedded=None):
        """``active_version()``: the version that suggests now (None before the first).
        ``upcoming()``: the items the next batches will likely serve, whose features the worker
        computes ahead (``OnlineModel.prefetch``). ``embedded()``: sentence-embedding features
        (``online_model.EmbeddedTexts``) once every text has its vector, else None; used where
        a version exposes no features of its own (DSS saved models), beside the hashed ones."""
        self.platform, self.journal, self.source, self.config = platform, journal, source, config
        self._active_version = active_version
        self._upcoming = upcoming or list
        self._embedded = embedded or (lambda: None)
        self._hashed = hashed_features(config.type, config.text_column, getattr(source, "id_column", None))
        self._model, self._basis, self._last_event = None, None, 0
        self._learned = set()  # (item, annotator) of the answers the model learned
        self._lock = Lock()
        self._received, self._received_lock = [], Lock()  # changes the feed handed over, not learned yet
        self._wake, self._stopping = threading.Event(), threading.Event()
        self._fitted_at = self._prefetched_at = 0.0
        self._failure = None

    def start(self) -> OnlineSuggestions:
        """Learn in a thread, which ends with this object, its journal's ``close`` or ``stop``."""
        threading.Thread(target=_follow, args=(weakref.ref(self), self._wake, self._stopping),
                         name="labelloop-online", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def receive(self, changes: list) -> None:
        """Note the journal's changes (``JournalFeed``) and wake the thread to learn them."""
        with self._received_lock:
            self._received.extend(changes)
        self._wake.set()

    def _take_received(self) -> list:
        with self._received_lock:
            taken, self._received = self._received, []
        return [change for change in taken if change.event_id > self._last_event]

    def probabilities(self, item_ids: list):
        """``(categories, matrix)`` from the online model for these items, or None while it is not ready."""
        with self._lock:
            model = self._model
        if model is None or not model.ready:
            return None
        return model.categories, model.probabilities(item_ids, self.source.rows)

    def verdict(self):
        """Whether the online model's suggestions are shown (``suggestion_gate.Verdict``), None before it is checked."""
        with self._lock:
            return self._model.verdict if self._model is not None else None

    def status(self) -> dict:
        with self._lock:
            ready = self._model is not None and self._model.ready
            return {"source": "online" if ready else "version", "labels": self._model.labels if self._model else 0,
                    "version": self._basis[0] if self._basis else None}

    def update(self) -> None:
        """Replace the model after a retrain or once the embeddings are complete, or learn the labels
        written since the last update; then compute ahead. An answer it learned that changed since
        (a label changed, a skip, a group undone) makes a new model of the answers as they are now:
        one learning on top would keep the old label too."""
        basis = (self._active_version(), self._embedded())
        if self._model is None or basis != self._basis:
            self._replace(basis)
        elif time.monotonic() - self._fitted_at >= REFIT_SECONDS:
            rows = self._take_received()
            if rows:
                if any((change.item_id, change.annotator) in self._learned for change in rows):
                    self._replace(basis)
                else:
                    self._last_event = rows[-1].event_id
                    self._learned |= self._learn(self._model, rows)
                self._fitted_at = time.monotonic()
        self._prefetch()

    def _prefetch(self) -> None:
        """Have the worker compute the upcoming items' features: once a second is enough, since the
        200 items ahead last several seconds of batches, and finding them costs a walk of the queue."""
        model = self._model
        if model is None or not model.ready or time.monotonic() - self._prefetched_at < PREFETCH_SECONDS:
            return
        self._prefetched_at = time.monotonic()
        model.prefetch([i for i in self._upcoming() if i in self.source], self.source.rows)

    def _replace(self, basis: tuple) -> None:
        features = self._features(*basis)
        if features is None:
            return
        rows = self.journal.changes(0)  # a new model learns every answer as it is now: read whole, once per model
        model = OnlineModel(self.config.keys, features, seed=self.config.seed)
        learned = self._learn(model, rows)
        with self._lock:
            self._model, self._basis, self._learned = model, basis, learned
            self._prefetched_at = 0.0  # a new model: its features are all to compute
            self._last_event = rows[-1].event_id if rows else 0

    def _features(self, version, embedded):
        """The version's own featurizer when the platform has one, else the sentence embeddings when
        complete (beside the hashed features), else hashed features (None: none yet)."""
        if version is not None and self.config.model:
            featurizer = self.platform.model_featurizer(self.config.model, version=version)
            if featurizer is not None:
                return featurizer
        return dataclasses.replace(embedded, beside=self._hashed) if embedded else self._hashed

    def _learn(self, model: OnlineModel, rows: list) -> set:
        """Teach ``model`` the labels among ``rows``; returns the (item, annotator) of those it learned."""
        labeled = [change for change in rows
                   if change.status == LABELED and change.label is not None and change.item_id in self.source][-REPLAY:]
        if labeled:  # one thread learns; requests read the model's fitted state, which a refit replaces whole
            model.learn(self.source.rows([c.item_id for c in labeled]), [c.label for c in labeled])
        return {(c.item_id, c.annotator) for c in labeled}

    def _tick(self) -> None:
        try:
            self.update()
            self._failure = None
        except Exception as error:  # noqa: BLE001 - suggestions must never stop labeling
            if str(error) != self._failure:  # once per distinct failure, not every poll
                log.exception("online suggestions")
            self._failure = str(error)


def _follow(ref, wake: threading.Event, stopping: threading.Event) -> None:
    """The thread's loop; it holds its ``OnlineSuggestions`` only while it updates it."""
    while not stopping.is_set():
        wake.wait(POLL_SECONDS)
        wake.clear()
        suggestions = ref()
        if suggestions is None or stopping.is_set() or suggestions.journal.closed:
            return
        suggestions._tick()
        del suggestions
