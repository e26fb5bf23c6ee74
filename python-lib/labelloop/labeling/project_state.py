"""What a labeling webapp reads from its project, kept fresh: the session and its queries, the
model's versions and the stopping verdict.

The sampler moves the session, a retrain adds a model version: the webapp notices within
``SESSION_CHECK_SECONDS`` without a restart. One request at a time refreshes; the others go on
with what is known meanwhile. After a retrain every request would otherwise load the new
queries at once, and 32 annotators would queue behind 32 copies of the same work.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import pandas as pd

from labelloop.errors import LabelloopError
from labelloop.platform.base import Platform
from labelloop.platform.locks import Lock
from labelloop.store.metrics import learning_curve, stopping_status
from labelloop.store.sessions import current_session

log = logging.getLogger(__name__)
SESSION_CHECK_SECONDS = 2.0


@dataclass(frozen=True)
class Snapshot:
    session: int = 0
    versions: list = field(default_factory=list)  # oldest first
    active: str | None = None  # the version that suggests (in DSS the active one, not always the newest)
    stopping: dict | None = None
    curve: list = field(default_factory=list)  # the learning curve of ``stopping``: computed once per read, not per /stats


class ProjectState:
    """The project as the webapp last read it; ``current()`` re-reads it when it is stale."""

    def __init__(self, platform: Platform, config, source, queue):
        """``config``: the webapp's settings, of which ``queries`` and ``model`` are read here."""
        self.platform, self.config, self.source, self.queue = platform, config, source, queue
        self._snapshot, self._checked = None, 0.0
        self._lock = Lock(held_long=True)

    def current(self, read_since: float | None = None) -> Snapshot:
        """The project as last read; read again when older than ``SESSION_CHECK_SECONDS``, or
        than ``read_since`` (a ``time.monotonic()``): then the caller waits for the new read.

        ``/stats`` passes the end of the latest retrain round: a page told that the round is
        over stops polling, so what it is told then must already show the round's model.
        """
        snapshot = self._snapshot
        if snapshot is not None and not self._stale(read_since):
            return snapshot
        must = snapshot is None or (read_since is not None and self._checked < read_since)
        if not self._lock.acquire(blocking=must):
            return snapshot
        try:
            if self._snapshot is None or self._stale(read_since):
                self._read()
            return self._snapshot
        finally:
            self._lock.release()

    def _stale(self, read_since: float | None) -> bool:
        return (time.monotonic() - self._checked >= SESSION_CHECK_SECONDS
                or (read_since is not None and self._checked < read_since))

    def _read(self) -> None:
        checked = time.monotonic()
        queries, model = self.config.queries, self.config.model
        session = current_session(self.platform, queries)
        known = self._snapshot.session if self._snapshot else None
        if session != known and queries and self.platform.dataset_exists(queries):
            self.queue.set_queries(self._completed(self.platform.read_dataset(queries), session))
        versions = self.platform.model_versions(model) if model else []
        stopping = stopping_status(self.platform, model) if model else None
        self._snapshot = Snapshot(session, versions, self.platform.active_version(model) if versions else None,
                                  stopping, learning_curve(stopping["metrics"]) if stopping else [])
        self._checked = checked

    def _completed(self, queries: pd.DataFrame, session: int) -> pd.DataFrame | None:
        """Queries with what a queries dataset may leave out computed: ids, session, strategy.

        The plugin we replace wrote the input columns and ``uncertainty`` only, and DESIGN.md
        section 3 asks for no more. Queries that cannot be matched to items are not used (and
        the page serves the pool), rather than failing every request.
        """
        added = {}
        try:
            if "uncertainty" not in queries.columns:
                raise LabelloopError("The queries have no 'uncertainty' column.")
            if "item_id" not in queries.columns:
                added["item_id"] = self.source.ids_of(queries)
        except LabelloopError as error:
            log.warning("Queries dataset '%s' not used: %s", self.config.queries, error)
            return None
        if "session" not in queries.columns:
            added["session"] = session
        if "strategy" not in queries.columns:
            added["strategy"] = "unknown"
        return queries.assign(**added) if added else queries
