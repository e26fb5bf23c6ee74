"""A pool that grows while people label: new rows of the table or file, new files of the folder.

``labelloop serve`` runs a ``PoolWatcher`` thread. It asks the pool a cheap question first (a
table's row count and largest id, a file's size and modification time) and reads it again only
when the answer changes: a table gives only its new rows (by id), a file is read whole once it
has stopped changing (hashed ids number duplicates in file order), a folder is listed again. New items join the source, so they
can be labeled, searched, voted on by the rules and counted at once; the queue serves them at a
random place after the current queries, and the next sampler run scores them.

Items never leave the pool while the server runs: a row deleted from the table stays labelable
until the next start. Checking costs what reading costs, so the watcher waits at least twenty
times its last check (a 100k-file folder is not listed every few seconds).
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time

import pandas as pd

from labelloop.errors import first_line, shown_to_annotators
from labelloop.platform.sql_table import SqlTable
from labelloop.standalone.options import DEFAULT_WATCH_SECONDS
from labelloop.standalone.project import UNLABELED, Project
from labelloop.store.item_sources import MediaFiles, Rows
from labelloop.store.items import row_ids

log = logging.getLogger(__name__)

COST_SHARE = 20  # wait at least this many times the last check's cost


class TableRows:
    """A database table: only the rows whose ids are new are read."""

    settles = False  # a transaction's rows arrive whole

    def __init__(self, table: SqlTable):
        self.table = table

    def signature(self):
        return self.table.signature()

    def grow(self, source) -> list:
        raw = self.table.ids()
        ids = row_ids(pd.DataFrame({self.table.id_column: raw}), self.table.id_column)
        fresh = [value for value, new in zip(raw, ~source.known(ids)) if new]
        return source.add(self.table.rows_with_ids(fresh)) if fresh else []


class FileRows:
    """A CSV, Parquet or JSONL file: read again whole when its size or modification time changes."""

    settles = True  # a file may be read half written

    def __init__(self, project: Project):
        self.platform = project.platform
        self.path = project.platform.dataset_path(UNLABELED)

    def signature(self):
        stat = os.stat(self.path)
        return stat.st_mtime_ns, stat.st_size

    def grow(self, source) -> list:
        return source.add(self.platform.read_dataset(UNLABELED))


class FolderFiles:
    """A folder of media files: listed again at each check (a listing is its own signature)."""

    settles = False  # a file still being copied is listed, and read only when it is served

    def __init__(self, project: Project):
        self.platform = project.platform

    def signature(self):
        return time.monotonic()  # always changed: only a listing tells

    def grow(self, source) -> list:
        return source.add(self.platform.list_folder(UNLABELED))


def pool_reader(project: Project):
    """How the pool is read again: a database table, a file of rows or a media folder."""
    if project.pool_table is not None:
        return TableRows(project.pool_table)
    return {MediaFiles: FolderFiles, Rows: FileRows}[type(project.items)](project)


class PoolWatcher:
    """Adds a growing pool's new items to ``source`` and tells ``on_added(ids)`` (the labeling
    service, given at ``start``); ``status()`` is what ``/stats`` reports under ``pool``."""

    def __init__(self, reader, source, seconds: float = DEFAULT_WATCH_SECONDS):
        self.reader, self.source, self.seconds = reader, source, seconds
        self.on_added = lambda ids: None
        self.added, self.checked_at, self.error = 0, None, None
        self._read = self._seen = self._safe_signature()  # at the last read; at the last look
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="labelloop-pool-watch", daemon=True)

    def start(self, on_added) -> PoolWatcher:
        self.on_added = on_added
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def status(self) -> dict:
        return {"items": len(self.source), "added": self.added, "checkedAt": self.checked_at, "error": self.error}

    def check(self) -> list:
        """Look once; returns the ids added. A file is read once it has stopped changing (the same
        size and time at two looks in a row), never while someone is still writing it. A failure
        is kept for ``status`` and tried again next time."""
        try:
            signature, seen = self.reader.signature(), self._seen
            self._seen = signature
            added = []
            if signature != self._read and (signature == seen or not self.reader.settles):
                added = self.reader.grow(self.source)
                self._read = signature
            self.error = None
        except Exception as error:  # a bad file, a database gone away (SQLAlchemy's, psycopg's errors)
            self.error = shown_to_annotators(error)
            log.warning("the pool could not be read again: %s", first_line(error))
            return []
        finally:
            self.checked_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        if added:
            self.added += len(added)
            self.on_added(added)
            log.info("%d new items in the pool (%d in all)", len(added), len(self.source))
        return added

    def _safe_signature(self):
        try:
            return self.reader.signature()
        except Exception:  # the first check reports it
            return None

    def _run(self) -> None:
        wait = self.seconds
        while not self._stop.wait(wait):
            began = time.perf_counter()
            self.check()
            wait = max(self.seconds, COST_SHARE * (time.perf_counter() - began))
