"""The one builder of a labeling webapp, for ``labelloop serve`` and the DSS backends alike:
the service over a source and a journal, the writer that keeps the datasets current, the routes.
"""
from __future__ import annotations

import contextlib
import gc
from dataclasses import dataclass

from labelloop.labeling.media import MediaStore
from labelloop.labeling.routes import register_routes
from labelloop.labeling.service import LabelingConfig, LabelingService
from labelloop.platform.base import Platform
from labelloop.store.items import FOLDER_TYPES
from labelloop.store.journal import Journal
from labelloop.store.journal_feed import JournalFeed
from labelloop.store.materialize import DebouncedWriter, Materializer, Outputs, PartedMaterializer


@dataclass
class Webapp:
    """What was built: the service behind the routes, the datasets' writer (close it to flush) and
    the journal's feed that keeps them current (started by ``build_webapp``; ``stop`` it before
    closing the writer)."""

    service: LabelingService
    writer: DebouncedWriter
    feed: JournalFeed

    def start(self) -> None:
        """Follow the journal, and learn from it when the webapp has online suggestions."""
        self.feed.start()
        if self.service.online is not None:
            self.service.online.start()

    def stop(self) -> None:
        if self.service.online is not None:
            self.service.online.stop()
        self.feed.stop()


def build_webapp(app, platform: Platform, journal: Journal, source, config: LabelingConfig, outputs: Outputs,
                 identify, *, unlabeled: str, media_cache, media_problem: str | None = None,
                 follow_journal: bool = False, loop=None, suspects=None, may_review=None, rules=None,
                 pool_watch=None, meaning=None, features=None, online_features=None) -> Webapp:
    """Serve ``source`` (the items of ``unlabeled``) on the Flask ``app``.

    ``identify(request)`` names the annotator. ``follow_journal``: the writer also notices answers
    other processes record (a DSS backend forking per request), from the journal's feed. ``media_cache`` holds downscaled
    images of a folder (None: not kept, and ``media_problem`` says why). ``suspects()`` gives the
    suspected label errors the Review view serves; ``may_review(user)`` says who may review
    (default: the config's reviewers); ``rules`` are the project's labeling rules and
    ``pool_watch`` the watcher of a pool that grows (standalone);
    ``meaning`` searches by meaning, ``features()`` reports the text features and
    ``online_features()`` gives the online model's sentence embeddings once ready (``LabelingService``).
    """
    materializer = (PartedMaterializer.of(platform, journal, source, outputs)
                    or Materializer(platform, journal, source, outputs))
    writer = DebouncedWriter(materializer.write)
    feed = JournalFeed(journal)
    if follow_journal:
        feed.subscribe(_rewrite_when_behind(materializer, writer))
    media = MediaStore(platform, unlabeled, source, media_cache, media_problem) if config.type in FOLDER_TYPES else None
    with paused_gc():
        service = LabelingService(platform, journal, source, config, on_change=writer.changed, media=media, loop=loop,
                                  suspects=suspects, may_review=may_review, rules=rules, pool_watch=pool_watch,
                                  meaning=meaning, features=features, online_features=online_features,
                                  feed=feed)
    register_routes(app, service, identify)
    built = Webapp(service, writer, feed)
    built.start()
    return built


def _rewrite_when_behind(materializer, writer):
    """A subscriber of the feed that has the writer write when the datasets lag the journal."""
    def receive(changes: list) -> None:
        if materializer.behind(changes[-1].event_id):
            writer.changed()
    return receive


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
