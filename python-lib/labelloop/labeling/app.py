"""The one factory of a labeling webapp, for ``labelloop serve`` and the DSS backends alike.

Flask's application factory with extensions: ``create_app(settings)`` builds the labeling core
(``service.py``, ``routes.py``), the request protections on every route, and each optional feature
of ``extensions.EXTENSIONS`` that the settings ask for, then starts them all. The host keeps the
``Webapp`` in ``app.extensions["labelloop"]`` and calls its ``stop`` when it goes away.
"""
from __future__ import annotations

import contextlib
import gc
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from flask import Flask

from labelloop.labeling.extensions import EXTENSIONS
from labelloop.labeling.protections import protect
from labelloop.labeling.routes import register_routes
from labelloop.labeling.service import LabelingConfig, LabelingService
from labelloop.platform.base import Platform
from labelloop.store.journal import Journal
from labelloop.store.journal_feed import JournalFeed
from labelloop.store.materialize import Outputs

log = logging.getLogger(__name__)
EXTENSION_KEY = "labelloop"  # the Webapp's place in Flask's ``app.extensions``


@dataclass
class Settings:
    """What a host hands the factory: the items, the journal and the config, how a request is
    identified, and the objects behind the optional features (None: the feature is off)."""

    platform: Platform
    journal: Journal
    source: Any  # store/items.py: TableSource or FolderSource
    config: LabelingConfig
    identify: Callable  # identify(request) -> the annotator's name, or raises
    outputs: Outputs | None = None  # the labels and metadata datasets kept current (None: none)
    unlabeled: str = ""  # the dataset or folder the items come from (a folder's files are served from it)
    check_host: bool = True  # refuse a Host that is not this server's (standalone; not behind DSS's proxy)
    host_setup: Callable | None = None  # host_setup(app): the host's own checks and routes, added first
    follow_journal: bool = False  # the datasets follow answers other processes record (DSS forks per request)
    may_review: Callable | None = None  # may_review(user) (default: the config's reviewers)
    media_cache: Path | None = None  # downscaled images of a folder (None: not kept, media_problem says why)
    media_problem: str | None = None
    suspects: Callable | None = None  # suspects() -> the suspected label errors found so far, or None
    rules: Any = None  # labeling/rules_book.py RulesBook
    loop: Any = None  # the standalone RetrainLoop
    pool: Any = None  # the standalone PoolWatcher of a growing pool
    embeddings: Any = None  # text features: standalone ServedFeatures, DSS MeshEmbedding
    features_of: Callable | None = None  # features_of(paths): a folder's files' features, for similar items (image, sound)
    llm: Any = None  # an LLM pre-labeling the next items: standalone ServedLlm


class Webapp:
    """A built webapp: its settings, the journal's feed, its labeling core and the features on;
    one start and one stop for them all.

    The feed (``store/journal_feed.py``) is the one reader of the journal's changes: the core's
    tally and suggestion's pull and each feature's follower (online model, rules, datasets writer)
    subscribe to it where they are built, and it follows the journal in a thread from ``start``
    to ``stop``."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.identify = settings.identify
        self.feed = JournalFeed(settings.journal)
        self.service = LabelingService(settings, self.feed)
        self.extensions = [kind(self) for kind in EXTENSIONS if kind.enabled(settings)]
        self.service.extensions = self.extensions
        self.service.on_change = self.changed
        self._stopped = False

    def start(self) -> None:
        with paused_gc():
            self.service.start()
        for extension in self.extensions:
            extension.start()
        self.feed.start()

    def stop(self) -> None:
        """Stop the feed, then every feature, the datasets' writer last (it flushes); again, it does nothing."""
        if self._stopped:
            return
        self._stopped = True
        self.feed.stop()
        for extension in reversed(self.extensions):
            try:
                extension.stop()
            except Exception:  # noqa: BLE001 - the others, the datasets' flush above all, still stop
                log.exception("Stopping %s failed", type(extension).__name__)

    def changed(self) -> None:
        """An answer or a review was just recorded: every feature hears of it (the datasets' writer)."""
        for extension in self.extensions:
            extension.changed()

    def items_added(self, item_ids: list) -> None:
        """A growing pool's new items: the queue serves them, and every feature hears of them."""
        self.service.items_added(item_ids)
        for extension in self.extensions:
            extension.items_added(item_ids)


def create_app(settings: Settings, app: Flask | None = None) -> Flask:
    """The complete, started labeling webapp on ``app`` (DSS pre-binds one) or on a new Flask app."""
    if app is None:
        app = Flask("labelloop", static_folder=None)
        app.json.sort_keys = False
    if settings.host_setup is not None:
        settings.host_setup(app)
    protect(app, check_host=settings.check_host)
    webapp = Webapp(settings)
    register_routes(app, webapp.service, settings.identify)
    for extension in webapp.extensions:
        extension.init_app(app)
    app.extensions[EXTENSION_KEY] = webapp
    webapp.start()
    return app


def webapp_of(app: Flask) -> Webapp:
    return app.extensions[EXTENSION_KEY]


@contextlib.contextmanager
def paused_gc():
    """No garbage collection while a webapp builds its state: the queue's ids and the journal's
    rows are millions of new objects at 1M labels, whose creation set off full collections that
    walked all of them again and again: reading 1M answers into the tally answer by answer took
    9.8 s with the collector running, 5.4 s with it paused (bench/startup.py, one run, before the
    tally started by columns).
    Nothing built here is garbage; ``freeze_long_lived`` then sets it aside for good."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def freeze_long_lived() -> None:
    """For the entry points, once the webapp is built: a pool's ids live as long as the server.

    Out of the garbage collector's sight, full collections no longer walk a million of them,
    which stalled every request for about 100 ms.
    """
    gc.collect()
    gc.freeze()
