"""The built-in model: one scikit-learn pipeline per data type, logistic regression at the end.

The pipeline takes the same frame the sampler and the webapp hand to any model (the input
columns; for folders a ``path`` column), so a saved version is used exactly like a DSS saved model.

- tabular: numeric columns imputed (median) and scaled; categorical columns one-hot encoded, levels
  seen fewer than 5 times grouped as one; free-text columns (long, mostly distinct strings)
  TF-IDF on words;
- text: word (1-2 grams) and character (2-5 grams) TF-IDF of the text column;
- image and sound: the fixed-size vectors of ``media_features``, scaled.

With ``TextEmbeddings``, the text column (text) or the free-text columns (tabular) also get a
pretrained sentence model's vectors, read from the project's embedding cache (DESIGN.md section 12),
beside their TF-IDF: a model that has seen 50 labels then knows that "awful" and "terrible" are
alike, and still sees the exact words and spellings TF-IDF catches once labels are many. On 7,500
tweets (bench/text_features.py, margin, 10 seeds), the two together do as well as the vectors
alone up to 100 labels, and better at 500 (accuracy 0.712 against 0.700).
"""
from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from labelloop.errors import LabelloopError
from labelloop.learning.embedding_model import Encoder
from labelloop.learning.media_features import EXTRACTORS
from labelloop.platform.locks import Lock
from labelloop.store import text
from labelloop.store.embedding_cache import shared_reader, text_keys

RARE_LEVEL = 5  # a level seen fewer times than this joins the "infrequent" group
MEDIA_CACHE_ITEMS = 200_000


def as_text(column) -> np.ndarray:
    """One column (a Series, or a 2-D slice of one column) as strings, missing as ''."""
    return text.as_text(pd.DataFrame(column).iloc[:, 0]).to_numpy()


def as_strings(frame) -> pd.DataFrame:
    """Categorical columns as strings, so mixed types one-hot encode; missing as one level."""
    frame = pd.DataFrame(frame)
    return frame.astype(object).where(frame.notna(), "(missing)").astype(str)


@dataclass(frozen=True)
class TextEmbeddings:
    """Which sentence embeddings a pipeline reads: the cache folder, the model (name and local folder),
    and the columns embedded."""

    cache: str
    model: str
    path: str
    columns: tuple

    def features(self) -> EmbeddingFeatures:
        return EmbeddingFeatures(self.cache, self.path)


class EmbeddingFeatures(BaseEstimator, TransformerMixin):
    """One text column as its sentence embeddings, looked up in the cache by text.

    A text the cache lacks (an item that arrived after the background embedding ran) is
    encoded here and added to the cache, so it is encoded once. The saved model keeps the
    cache's and the model's folders (absolute paths, as ``MediaFeatures`` keeps its folder).
    """

    def __init__(self, cache: str, path: str):
        self.cache = cache
        self.path = path

    def fit(self, frame, y=None):
        return self

    def transform(self, frame):
        texts = as_text(frame)
        keys = text_keys(texts)
        cache = shared_reader(self.cache)
        found = cache.positions(keys)
        if (found < 0).any():
            missing = np.flatnonzero(found < 0)
            cache.append(keys[missing], _encoder(self.path).encode(texts[missing].tolist()))
            found = cache.positions(keys)
        return cache.vectors(found)


_ENCODERS: dict = {}


def _encoder(path: str) -> Encoder:
    if path not in _ENCODERS:
        _ENCODERS[path] = Encoder(path)
    return _ENCODERS[path]


def tabular_features(frame: pd.DataFrame, embeddings: TextEmbeddings | None = None) -> ColumnTransformer:
    numeric, categorical, free_text = text.column_kinds(frame)
    parts = []
    if numeric:
        parts.append(("numeric", make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True),
                                               StandardScaler()), numeric))
    if categorical:
        parts.append(("categorical", make_pipeline(
            FunctionTransformer(as_strings),
            OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=RARE_LEVEL)), categorical))
    for name in free_text:
        parts.append((f"text:{name}", make_pipeline(FunctionTransformer(as_text), TfidfVectorizer(
            sublinear_tf=True, min_df=2, max_features=20_000)), [name]))
        if embeddings is not None and name in embeddings.columns:
            parts.append((f"embedding:{name}", embeddings.features(), [name]))
    if not parts:
        raise LabelloopError("The data has no columns to learn from.")
    return ColumnTransformer(parts, sparse_threshold=0.3)


def text_features(text_column: str, embeddings: TextEmbeddings | None = None) -> ColumnTransformer:
    union = FeatureUnion([
        ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1, max_features=50_000)),
        ("characters", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True,
                                       min_df=2, max_features=50_000)),
    ])
    parts = [("text", make_pipeline(FunctionTransformer(as_text), union), [text_column])]
    if embeddings is not None:
        parts.append(("embedding", embeddings.features(), [text_column]))
    return ColumnTransformer(parts)


class MediaFeatures(BaseEstimator, TransformerMixin):
    """The ``path`` column of a frame turned into image or sound feature vectors.

    It reads the files from ``folder`` (an absolute path kept in the saved model: a moved
    project is retrained). Vectors are cached per file, keyed by its size and modification
    time, so retraining and re-scoring the same folder does not decode every file again.
    """

    def __init__(self, folder: str, kind: str):
        self.folder = folder
        self.kind = kind

    def fit(self, frame, y=None):
        return self

    def transform(self, frame):
        extract, dim = EXTRACTORS[self.kind]
        rows = np.empty((len(frame), dim), dtype=np.float32)
        for n, path in enumerate(pd.DataFrame(frame)["path"]):
            rows[n] = _cached_features(os.path.join(self.folder, str(path)), extract, dim)
        return rows


_CACHE: OrderedDict[tuple, np.ndarray] = OrderedDict()
_CACHE_LOCK = Lock()  # the webapp's suggestion requests score files from several threads


def _cached_features(path: str, extract, dim: int) -> np.ndarray:
    try:
        info = os.stat(path)
    except OSError:
        return np.zeros(dim, dtype=np.float32)
    key = (path, info.st_size, info.st_mtime_ns)
    vector = _CACHE.get(key)
    if vector is None:
        with open(path, "rb") as stream:
            vector = extract(stream.read())
        with _CACHE_LOCK:
            _CACHE[key] = vector
            if len(_CACHE) > MEDIA_CACHE_ITEMS:
                _CACHE.popitem(last=False)
    return vector


def build_pipeline(data_type: str, frame: pd.DataFrame, text_column: str | None = None,
                   folder: str | None = None, seed: int = 0, embeddings: TextEmbeddings | None = None) -> Pipeline:
    """An unfitted pipeline for ``frame`` (the training rows' input columns); ``embeddings``: the
    sentence embeddings added beside the TF-IDF of the text columns they name."""
    if data_type == "tabular":
        features = tabular_features(frame, embeddings)
    elif data_type == "text":
        features = text_features(text_column, embeddings)
    elif data_type in EXTRACTORS:
        features = make_pipeline(MediaFeatures(folder, data_type), StandardScaler())
    else:
        raise LabelloopError(f"No built-in model for type '{data_type}'.")
    return Pipeline([("features", features), ("classifier", classifier(seed))])


def classifier(seed: int = 0) -> LogisticRegression:
    """The built-in model's classifier, the last step of every pipeline (and of ``labelloop simulate``)."""
    return LogisticRegression(max_iter=2000, C=1.0, random_state=seed)
