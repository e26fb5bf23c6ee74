"""A project's pretrained text features (DESIGN.md section 12): the choice, the cache, the filling.

``features`` (a project setting, ``auto`` by default) picks sentence embeddings or TF-IDF for the
text column of text data and the free-text columns of tabular data. ``auto`` takes embeddings
when the extra is installed and the model is on this machine; ``embeddings`` insists, and says
in one sentence what is missing. The vectors live in ``DIR/embeddings/<model identity>/``
(``store/embedding_cache.py``), filled in chunks by ``labelloop embed`` or by a background process
of ``labelloop serve`` that also embeds the items a growing pool adds.

Until every item is embedded, the trainer keeps TF-IDF: a model must be able to score every item
of the pool without stopping to load a language model. The first training after the cache is
complete switches, and each model version records which features it used.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import multiprocessing
import queue
from dataclasses import dataclass
from pathlib import Path

from labelloop.errors import LabelloopError
from labelloop.labeling.meaning_search import MeaningSearch
from labelloop.learning.embedding_model import Encoder, model_identity, resolve_features
from labelloop.learning.feature_words import features_in_words
from labelloop.platform.local import write_json_atomic
from labelloop.platform.processes import start_background_worker
from labelloop.standalone.project import Project
from labelloop.store.embedding_cache import EmbeddingCache, PoolTexts, fill, pool_texts
from labelloop.store.text import embedded_columns

log = logging.getLogger(__name__)
PROGRESS_FILE = "progress.json"
DESCRIBED_ROWS = 10_000  # rows of a table read to say which kinds of columns the model learns from


@dataclass(frozen=True)
class FeatureChoice:
    """What a project's text features are: ``kind`` ``embeddings`` (with the model, its folder, the
    cache folder and the columns embedded) or ``tfidf``."""

    kind: str
    model: str | None = None
    path: str | None = None
    cache: Path | None = None
    columns: tuple = ()

    def embeddings(self):
        """The ``features.TextEmbeddings`` a pipeline reads (imported here: ``status`` needs no scikit-learn)."""
        from labelloop.learning.features import TextEmbeddings

        return TextEmbeddings(str(self.cache), self.model, self.path, self.columns)


def feature_choice(project: Project) -> FeatureChoice:
    """The project's features; ``embeddings`` asked for but impossible raises one sentence."""
    if not project.items.has_columns:
        return FeatureChoice("tfidf")
    name = project.settings.embedding_model
    kind, path = resolve_features(project.settings.features, name)
    if kind == "tfidf":
        return FeatureChoice("tfidf")
    settings = project.settings
    frame = project.source.frame if settings.type == "tabular" else None
    columns = embedded_columns(settings.type, frame, settings.text_column, settings.id_column)
    if not columns:
        return FeatureChoice("tfidf")
    return FeatureChoice("embeddings", name, path, project.root / "embeddings" / model_identity(name, path), columns)


def pool_keys(project: Project, columns: tuple) -> PoolTexts:
    """The pool's texts to embed (``store.embedding_cache.pool_texts``)."""
    return pool_texts(project.source.frame, columns)


def ready_for_training(project: Project, choice: FeatureChoice) -> bool:
    """Whether every text of the pool is in the cache (the trainer's switch to embeddings)."""
    if choice.kind != "embeddings":
        return False
    return bool((EmbeddingCache(choice.cache).positions(pool_keys(project, choice.columns).keys) >= 0).all())


def features_status(project: Project, choice: FeatureChoice | None = None, uses: str | None = None) -> dict:
    """``{kind, model, ready, items, uses}`` for ``/stats``, ``status`` and ``train --json``: the
    features chosen, how many items the background embedding has done (as it last reported), and
    ``uses``: what the built-in model learns from besides the embeddings (``features_used``)."""
    choice = choice or feature_choice(project)
    uses = uses if uses is not None else features_used(project)
    if choice.kind != "embeddings":
        return {"kind": project.items.features, "model": None, "ready": True, "items": len(project.source), "uses": uses}
    try:
        progress = json.loads((choice.cache / PROGRESS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        progress = {"items": 0, "total": len(project.source)}
    items = min(int(progress["items"]), len(project.source))
    return {"kind": "embeddings", "model": choice.model, "ready": items >= len(project.source), "items": items,
            "uses": uses}


def features_used(project: Project) -> str:
    """What the built-in model learns from, in words; a table's columns are told apart on its
    first ``DESCRIBED_ROWS`` rows (the trainer decides on the labeled ones: the same kinds, nearly always)."""
    frame = None
    if project.settings.type == "tabular":
        frame = project.source.frame.head(DESCRIBED_ROWS)
        frame = frame.drop(columns=[c for c in [project.settings.id_column] if c in frame.columns])
    return features_in_words(project.settings.type, frame)


def embed_pool(project: Project, choice: FeatureChoice, progress=None, encoder: Encoder | None = None) -> dict:
    """Embed every text of the pool the cache lacks, a chunk at a time; returns the final progress.

    ``progress(done, total)`` (items) is called after each committed chunk (the CLI's progress
    bar); the cache folder's ``progress.json`` says the same for the server's ``/stats``. Safe to
    kill: the next run starts from the last committed chunk.
    """
    pool = pool_keys(project, choice.columns)
    total, last = len(pool.per_item), {}

    def report(items: int) -> None:
        last.update(items=items, total=total, ready=items == total,
                    updated=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
        choice.cache.mkdir(parents=True, exist_ok=True)
        write_json_atomic(choice.cache / PROGRESS_FILE, last)
        if progress is not None:
            progress(items, total)

    fill(EmbeddingCache(choice.cache), pool, (encoder or Encoder(choice.path)).encode, report)
    return last


class EmbeddingWorker:
    """``labelloop serve``'s background embedding: a process that embeds the pool, then the new
    items of a growing pool as the server reports them (``add``). It ends with the server."""

    def __init__(self, project: Project):
        context = multiprocessing.get_context("spawn")  # never a fork of a threaded server
        self._arrivals = context.Queue()
        self._process = context.Process(target=_embed_in_background, name="labelloop-embed", daemon=True,
                                         args=(str(project.root), project.platform.user(), self._arrivals))

    def start(self) -> EmbeddingWorker:
        self._process.start()
        return self

    def pool_grew(self) -> None:
        """The pool has new items: the worker re-reads the pool and embeds what the cache lacks."""
        self._arrivals.put(None)

    def stop(self) -> None:
        if self._process.is_alive():
            self._process.terminate()
        self._process.join(timeout=10)


class ServedFeatures:
    """A served project's text features, as the webapp's embeddings feature uses them
    (``labeling/extensions/embeddings.py``): ``status()`` for ``/stats``; with sentence embeddings,
    the search by meaning and the background process that embeds the pool as it grows."""

    def __init__(self, project: Project, choice: FeatureChoice):
        self.project, self.choice = project, choice
        self.meaning, self._worker, self._uses = None, None, None
        if choice.kind == "embeddings":
            self.meaning = MeaningSearch(EmbeddingCache(choice.cache), Encoder(choice.path), choice.columns)
            self._worker = EmbeddingWorker(project)

    def status(self) -> dict:
        if self._uses is None:
            self._uses = features_used(self.project)  # once: the table's column kinds do not change
        return features_status(self.project, self.choice, self._uses)

    def start(self) -> None:
        """Load the model for the first search, and start embedding the pool."""
        if self.meaning is not None:
            self.meaning.warm_up()
            self._worker.start()

    def pool_grew(self) -> None:
        if self._worker is not None:
            self._worker.pool_grew()

    def stop(self) -> None:
        if self._worker is not None:
            self._worker.stop()


def _embed_in_background(root: str, user: str, arrivals) -> None:
    """The worker process: embed the pool, then again each time the pool grows."""
    start_background_worker(idle=False)  # it must finish: niceness, not SCHED_IDLE
    encoder = None
    while True:
        project = Project.open(root, user=user)  # re-read: a grown pool's file or table has the new rows
        try:
            choice = feature_choice(project)
            encoder = encoder or Encoder(choice.path)
            embed_pool(project, choice, encoder=encoder)
        except LabelloopError as error:
            log.warning("embedding stopped: %s", error)
        except Exception:  # noqa: BLE001 - the server goes on without embeddings; the log says why
            log.exception("embedding failed")
        finally:
            project.close()
        _wait_for_arrivals(arrivals)


def _wait_for_arrivals(arrivals) -> None:
    """Block until the server reports new items, then take every report already queued."""
    arrivals.get()
    try:
        while True:
            arrivals.get_nowait()
    except queue.Empty:
        pass
