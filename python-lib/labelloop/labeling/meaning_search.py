"""Search by meaning (DESIGN.md section 12): items ranked by how close their text is to the query.

A search for "awful service" finds "the staff were rude and slow", which shares no word with it:
the query is embedded with the project's sentence model, and each item scores the cosine
similarity of its nearest embedded text (vectors are unit length, so a dot product). Items not
embedded yet are left out. It needs no label and no trained model.
"""
from __future__ import annotations

import threading
from itertools import islice

import numpy as np
import pandas as pd

from labelloop.errors import LabelloopError
from labelloop.labeling.search import COUNT_CAP
from labelloop.platform.locks import Lock
from labelloop.store.embedding_cache import EmbeddingCache, text_keys
from labelloop.store.text import as_text


class MeaningSearch:
    """Ranks a pool's items by the similarity of their embedded texts to a query."""

    def __init__(self, cache: EmbeddingCache, encoder, columns: tuple):
        self.cache, self.encoder, self.columns = cache, encoder, columns
        self._keys = (None, None)  # (rows hashed, their keys): a pool only grows, so hashed once per size
        self._lock = Lock(held_long=True)

    def warm_up(self) -> MeaningSearch:
        """Load the model in a thread now, so the first search does not wait seconds for it."""
        threading.Thread(target=self.encoder.encode, args=(["warm up"],), name="labelloop-meaning", daemon=True).start()
        return self

    def _item_keys(self, frame: pd.DataFrame) -> np.ndarray:
        """The keys of each item's embedded texts, ``items x columns``."""
        with self._lock:
            rows, keys = self._keys
            if rows != len(frame):
                keys = np.column_stack([text_keys(as_text(frame[c]).to_numpy()) for c in self.columns])
                self._keys = (len(frame), keys)
            return keys

    def scores(self, frame: pd.DataFrame, q: str) -> np.ndarray:
        """Each row's similarity to ``q`` (-inf where nothing of the row is embedded yet)."""
        keys = self._item_keys(frame)
        positions = self.cache.positions(keys.ravel()).reshape(keys.shape)
        if not self.cache.rows:
            raise LabelloopError("Search by meaning needs the items' embeddings, and none is ready yet: "
                                 "try again in a minute (the page's model panel shows the progress).")
        similarity = np.r_[self.cache.dot(self.encoder.encode([q])[0]), -np.inf]  # the last: not embedded
        return similarity[np.where(positions >= 0, positions, -1)].max(axis=1)


def best(ids: list, scores: np.ndarray, wanted, limit: int) -> list:
    """Up to ``limit`` ids that ``wanted`` accepts, highest ``scores`` first (none not embedded)."""
    found = []
    for position in np.argsort(-scores, kind="stable"):
        if scores[position] == -np.inf or len(found) >= limit:
            break
        if wanted(ids[position]):
            found.append(ids[position])
    return found


def ranked(ids: list, scores: np.ndarray, wanted) -> dict:
    """``{count, complete}``: how many embedded ids ``wanted`` accepts, the items a search by
    meaning ranks (as ``search.count``, up to ``COUNT_CAP``)."""
    accepted = (ids[p] for p in np.flatnonzero(scores > -np.inf) if wanted(ids[p]))
    found = sum(1 for _ in islice(accepted, COUNT_CAP + 1))
    return {"count": min(found, COUNT_CAP), "complete": found <= COUNT_CAP}
