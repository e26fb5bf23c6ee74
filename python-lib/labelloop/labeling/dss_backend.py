"""A labeling webapp inside DSS: the core of the labeling webapps' ``backend.py``.

DSS pre-binds a Flask ``app``; this adds the labeling API to it, over the DSS datasets named in
the webapp's params. The journal is SQLite in the backend's working directory by default (it is
rebuilt from the metadata dataset when missing, for instance after the backend moved), or any
SQLAlchemy URL shared by a team. The labels and metadata datasets are rewritten in the
background, at most about a second after a change, whichever way DSS runs the backend.

DSS runs a backend single-threaded by default, multi-threaded, or forking a process per request
("nbProcesses": 1, 0 or more; DSS 9.0.5 source, python/dataiku/webapps/backend.py, via werkzeug's
``make_server``), and ends it without running ``atexit`` (``os._exit`` when its stdin closes,
or SIGKILL). So the datasets never wait for an exit: the process that started the backend
follows the journal and writes them within about a second, also for answers recorded by forked
children. SIGTERM flushes them at once. After a SIGKILL, the next start writes what was missing.
"""
from __future__ import annotations

import atexit
import os
import signal
import tempfile
import threading
from pathlib import Path

from labelloop.errors import LabelloopError
from labelloop.labeling.media import MediaStore
from labelloop.labeling.routes import register_routes
from labelloop.labeling.service import LabelingConfig, LabelingService
from labelloop.platform.base import Platform
from labelloop.store.items import FolderSource, TableSource
from labelloop.store.journal import Journal
from labelloop.store.materialize import DebouncedWriter, Materializer, Outputs, restore_journal


def categories_from_dss(pairs) -> list:
    """DSS's KEY_VALUE_LIST ``[{from, to}]`` as ``[{key, caption}]``; empty or repeated keys refused."""
    categories, seen = [], set()
    for pair in pairs or []:
        key = str(pair.get("from") or "").strip()
        if not key or key in seen:
            raise LabelloopError(f"Categories must have distinct, non-empty keys (problem with '{key}').")
        seen.add(key)
        categories.append({"key": key, "caption": str(pair.get("to") or key)})
    if len(categories) < 2:
        raise LabelloopError("Give at least two categories in the webapp settings.")
    return categories


def _close_on_sigterm(writer: DebouncedWriter) -> None:
    """On SIGTERM, flush the datasets, then end as the signal would have."""
    if threading.current_thread() is not threading.main_thread():
        return  # only the main thread may set signal handlers
    previous = signal.getsignal(signal.SIGTERM)
    if previous == signal.SIG_IGN:
        return

    def terminate(signum, frame):
        writer.close()
        if callable(previous):
            previous(signum, frame)
        else:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, terminate)


def serve_labeling(app, platform: Platform, data_type: str, *, unlabeled: str, categories, labels: str,
                   metadata: str, label_column: str = "label", queries: str | None = None,
                   id_column: str | None = None, text_column: str | None = None, model: str | None = None,
                   multi_label: bool = False, columns_first: str = "", journal_url: str | None = None) -> LabelingService:
    """Add the labeling API for ``unlabeled`` to ``app``; returns the service."""
    if data_type == "text" and not text_column:
        raise LabelloopError("Choose the text column in the webapp settings.")
    media = None
    if data_type in ("image", "sound"):
        source = FolderSource(platform.list_folder(unlabeled), data_type)
        if not len(source):
            raise LabelloopError(f"The folder has no {data_type} files to label.")
        media = MediaStore(platform, unlabeled, source, tempfile.mkdtemp(prefix="labelloop-media-"))
    else:
        source = TableSource(platform.read_dataset(unlabeled), id_column or None)
    journal = Journal(journal_url or f"sqlite:///{Path.cwd() / 'labelloop-journal.sqlite'}")
    outputs = Outputs(labels, metadata, label_column or "label")
    restore_journal(platform, journal, outputs)
    materializer = Materializer(platform, journal, source, outputs)
    writer = DebouncedWriter(materializer.write, behind=materializer.behind)
    atexit.register(writer.close)
    _close_on_sigterm(writer)
    config = LabelingConfig(
        type=data_type, categories=categories_from_dss(categories), multi_label=bool(multi_label),
        queries=queries or None, model=model or None, text_column=text_column,
        columns_first=[c.strip() for c in (columns_first or "").split(",") if c.strip()],
    )
    service = LabelingService(platform, journal, source, config, on_change=writer.changed, media=media)
    register_routes(app, service, lambda request: platform.user(request.headers))
    return service
