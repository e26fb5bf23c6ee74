"""Search by meaning in a DSS text or tabular webapp: the texts embedded by an LLM Mesh model, in the background.

The plugin's code env has no torch (DESIGN.md section 12), so in DSS the vectors come from an
embedding model of the LLM Mesh named in the webapp's ``embedding_llm`` param. A thread of the
backend embeds the pool, a chunk per request to the Mesh, into an embedding cache
(``store/embedding_cache.py``) in the folder the backend gives (the user's, per project and
model: ``store/private_folders.py``). The cache is keyed by text, so a restarted backend only
embeds what is new.
Search by meaning works on what is embedded so far; ``/stats`` reports how far that is.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path

from labelloop.errors import first_line
from labelloop.labeling.meaning_search import MeaningSearch
from labelloop.labeling.online_model import EmbeddedTexts
from labelloop.store.embedding_cache import fill, pool_texts, shared_reader

log = logging.getLogger(__name__)


class MeshEncoder:
    """Texts in, unit vectors out, through the platform's LLM Mesh (``Platform.embed_texts``)."""

    def __init__(self, platform, llm_id: str):
        self.platform, self.llm_id = platform, llm_id

    def encode(self, texts: list):
        return self.platform.embed_texts(self.llm_id, list(texts))


class MeshEmbedding:
    """A webapp's pool embedded in the background, and the search by meaning over it."""

    def __init__(self, platform, llm_id: str, frame, columns: tuple, folder: Path):
        self.llm_id, self.frame, self.columns = llm_id, frame, columns
        self.cache = shared_reader(folder)  # the online features' reader too
        self.encoder = MeshEncoder(platform, llm_id)
        self.meaning = MeaningSearch(self.cache, self.encoder, columns)
        self._done, self._error = 0, None
        self._thread = threading.Thread(target=self._run, name="labelloop-mesh-embedding", daemon=True)

    def start(self) -> MeshEmbedding:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            fill(self.cache, pool_texts(self.frame, self.columns), self.encoder.encode, self._progress)
        except Exception as error:  # noqa: BLE001 - labeling goes on without it; /stats and the log say why
            log.exception("Embedding the texts through the LLM Mesh failed")
            self._error = f"Embedding through the LLM Mesh failed: {first_line(error)}"

    def _progress(self, items: int) -> None:
        self._done = items

    def online_features(self) -> EmbeddedTexts | None:
        """The online model's sentence embeddings once every text is embedded (None before, and for
        an empty pool)."""
        complete = self._done >= len(self.frame) and self.cache.refresh().dim > 0
        return EmbeddedTexts(str(self.cache.folder), self.columns) if complete else None

    def status(self) -> dict:
        """``{kind, model, ready, items}`` for ``/stats`` (and ``error`` when the Mesh refused)."""
        found = {"kind": "embeddings", "model": self.llm_id, "ready": self._done >= len(self.frame), "items": self._done}
        return {**found, "error": self._error} if self._error else found
