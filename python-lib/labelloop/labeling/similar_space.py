"""The space ``GET /similar`` measures closeness in (DESIGN.md section 13): one vector per item.

It is the space the model learns in, without its labels, so it exists from the first request:

- text: the text's sentence embedding where the webapp has them (``settings.embeddings``), else
  its words and word pairs, hashed, weighted by rarity (inverse document frequency) and projected
  to ``PROJECTED`` dimensions (a random projection keeps cosine similarities within a few hundredths);
- tabular: numeric columns scaled (mean 0, deviation 1; missing ones 0), other columns as
  ``column=value`` keys, hashed and projected; free-text columns as their embeddings when there
  are some, else as hashed words;
- image and sound: the built-in model's descriptors of each file (``learning/media_features.py``,
  handed over by the host as ``settings.features_of``), centred.

Each part of an item's vector is scaled to unit length before they are put side by side, so the
cosine similarity of two items is the mean of their parts' similarities: a table's many one-hot
columns do not drown its few numbers. The scales and rarities are learned once, on a sample of
the pool (``fit``), and kept as the pool grows.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Callable

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction import FeatureHasher
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.random_projection import SparseRandomProjection
from sklearn.utils.extmath import safe_sparse_dot

from labelloop.store.embedding_cache import text_keys
from labelloop.store.items import FOLDER_TYPES
from labelloop.store.text import as_text, column_kinds

HASHED = 2 ** 18  # hashed words and word pairs, or column=value keys
PROJECTED = 128  # dimensions hashed features are projected to
DENSITY = 1 / 16  # each word lands on about 8 projected dimensions (the default, 1/sqrt(2**18), drops 3 words in 4)


class Scaled:
    """Numbers centred (mean 0) and, ``per_column``, scaled to deviation 1 (learned on a sample); missing values 0.

    A table's columns are in different units, so each is scaled; a file's descriptors are in one
    (pixels, log energies), and scaling each would let the nearly constant ones (silent bands of a
    sound) weigh as much as those that tell the files apart, so they are only centred."""

    def __init__(self, matrix_of: Callable, per_column: bool = True):
        self.matrix_of, self.per_column = matrix_of, per_column  # matrix_of: frame -> float matrix (NaN for missing)
        self.mean = self.deviation = None

    def fit(self, frame: pd.DataFrame) -> int:
        matrix = self.matrix_of(frame)
        self.mean = np.nan_to_num(np.nanmean(matrix, axis=0)) if len(matrix) else np.zeros(matrix.shape[1])
        deviation = np.nan_to_num(np.nanstd(matrix, axis=0)) if len(matrix) and self.per_column else 1.0
        self.deviation = np.where(deviation > 0, deviation, 1.0)
        return matrix.shape[1]

    def transform(self, frame: pd.DataFrame) -> tuple:
        matrix = (self.matrix_of(frame) - self.mean) / self.deviation
        return np.nan_to_num(matrix).astype(np.float32), np.ones(len(frame), dtype=bool)


class Hashed:
    """Words (``words=True``) or ``column=value`` keys of some columns, hashed, weighted by rarity, projected."""

    def __init__(self, columns: list, words: bool, seed: int):
        self.columns, self.words = list(columns), words
        self._words = HashingVectorizer(n_features=HASHED, ngram_range=(1, 2), alternate_sign=False, norm=None)
        self._keys = FeatureHasher(n_features=HASHED, input_type="string", alternate_sign=False)
        self.seed = seed
        self.rarity = None

    def _counts(self, frame: pd.DataFrame):
        if self.words:
            return sp.csr_matrix(sum(self._words.transform(as_text(frame[c]).to_numpy()) for c in self.columns))
        keys = [[f"{c}={v}" for c, v in zip(self.columns, row)]
                for row in as_text_frame(frame[self.columns]).itertuples(index=False, name=None)]
        return self._keys.transform(keys)

    def fit(self, frame: pd.DataFrame) -> int:
        counts = self._counts(frame)
        present = np.bincount(counts.indices, minlength=HASHED)
        self.rarity = np.log((1 + counts.shape[0]) / (1 + present)) + 1
        return PROJECTED

    def transform(self, frame: pd.DataFrame) -> tuple:
        counts = self._counts(frame)
        counts.data = np.log1p(counts.data)
        weighted = counts.multiply(self.rarity).tocsr()
        projected = safe_sparse_dot(weighted, projection(self.seed), dense_output=True)
        return np.asarray(projected, dtype=np.float32), np.ones(len(frame), dtype=bool)


@lru_cache(maxsize=4)
def projection(seed) -> sp.csr_matrix:
    """The random projection of ``seed`` (``HASHED`` x ``PROJECTED``), drawn once per process and kept
    in the layout a product reads row by row: drawing its two million non-zeros and transposing
    them cost the same for a pool of 30 items as of a million, and every webapp with this seed
    (and every part of one) would draw the same matrix. Read-only once made: threads share it."""
    drawn = SparseRandomProjection(PROJECTED, density=DENSITY, random_state=seed).fit(sp.csr_matrix((1, HASHED)))
    return drawn.components_.T.tocsr()


class Embedded:
    """The columns' sentence embeddings side by side, read from the embedding cache; an item is
    ready once all its texts are embedded (the background embedding fills the cache)."""

    def __init__(self, cache, columns: tuple):
        self.cache, self.columns = cache, tuple(columns)

    def fit(self, frame: pd.DataFrame) -> int:
        return self.cache.refresh().dim * len(self.columns)

    def transform(self, frame: pd.DataFrame) -> tuple:
        found = np.column_stack([self.cache.positions(text_keys(as_text(frame[c]).to_numpy())) for c in self.columns])
        ready = (found >= 0).all(axis=1)
        vectors = np.zeros((len(frame), self.cache.dim * len(self.columns)), dtype=np.float32)
        if ready.any():
            vectors[ready] = np.hstack([self.cache.vectors(found[ready, n]) for n in range(len(self.columns))])
        return vectors, ready


class Space:
    """An item's vector: its parts, each of unit length, side by side (see the module's docstring)."""

    def __init__(self, parts: list):
        self.parts, self.dim = parts, 0

    def fit(self, frame: pd.DataFrame) -> Space:
        self.dim = sum(part.fit(frame) for part in self.parts)
        return self

    def vectors(self, frame: pd.DataFrame) -> tuple:
        """``(rows x dim float32, ready mask)``: items whose embeddings are not in the cache yet are not ready."""
        blocks, ready = [], np.ones(len(frame), dtype=bool)
        for part in self.parts:
            block, done = part.transform(frame)
            norms = np.linalg.norm(block, axis=1, keepdims=True)
            blocks.append(np.divide(block, norms, out=np.zeros_like(block), where=norms > 0))
            ready &= done
        return np.hstack(blocks), ready


def as_text_frame(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.apply(as_text) if len(frame.columns) else frame


def space_for(settings, frame: pd.DataFrame) -> Space:
    """The space of a webapp's items (``frame``: a sample of the pool's rows, or its paths)."""
    config, seed = settings.config, settings.config.seed
    meaning = getattr(settings.embeddings, "meaning", None)
    embedded = tuple(meaning.columns) if meaning is not None else ()
    if config.type in FOLDER_TYPES:
        features_of = settings.features_of
        return Space([Scaled(lambda rows: np.asarray(features_of(list(rows["path"])), dtype=float), per_column=False)])
    if config.type == "text":
        if embedded:
            return Space([Embedded(meaning.cache, embedded)])
        return Space([Hashed([config.text_column], words=True, seed=seed)])
    id_column = getattr(settings.source, "id_column", None)
    numeric, categorical, free_text = column_kinds(frame.drop(columns=[c for c in [id_column] if c in frame.columns]))
    parts = []
    if numeric:
        parts.append(Scaled(lambda rows: rows[numeric].to_numpy(dtype=float, na_value=np.nan)))
    if categorical:
        parts.append(Hashed(categorical, words=False, seed=seed))
    words = [c for c in free_text if c not in embedded]
    if words:
        parts.append(Hashed(words, words=True, seed=seed))
    if set(free_text) & set(embedded):
        parts.append(Embedded(meaning.cache, tuple(c for c in free_text if c in embedded)))
    return Space(parts)
