"""The online model: a small model that learns from every label between retrains (DESIGN.md section 11).

The model version behind the suggestions changes every N labels only; between retrains its
suggestions ignore everything the annotators just taught it. An ``OnlineModel`` is a logistic
regression refitted after each label (or each few, when they come faster than a fit) on the
newest ``REPLAY`` labels, starting from its previous weights (``warm_start``). The fit, and the
new rows' features, are computed in a worker process (one per server process, spawned on first
use): in a thread they held the GIL for milliseconds (a pipeline's transform costs about 5 ms
whatever the rows) and slowed the requests that came meanwhile (bench/online_load.py). Plain
``SGDClassifier.partial_fit`` steps were measured first and suggested worse than the retrained
version alone (bench/suggestions.py, docs/benchmarks.md); the warm-started refit is the same model as a
version's, kept current.

Its features are the latest version's own (the built-in model's transform), or, before the first
version and for models that do not expose theirs (DSS), hashed features of the row's values: no
vocabulary to fit, so they exist from the first label. A DSS webapp with an LLM Mesh embedding
model adds the Mesh's sentence embeddings beside the hashed features once every text is embedded
(``EmbeddedTexts``): the online model then knows from its first labels that "awful" and
"terrible" are alike, as the built-in model does standalone.
"""
from __future__ import annotations

import itertools
import multiprocessing
import os
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction import FeatureHasher
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize

from labelloop.labeling.suggestion_gate import cross_validated, due
from labelloop.platform.locks import Lock
from labelloop.platform.processes import start_background_worker
from labelloop.store.embedding_cache import shared_reader, vectors_of
from labelloop.store.text import as_text

HASHED_TEXT_FEATURES = 2 ** 16  # words and word pairs
HASHED_TABLE_FEATURES = 2 ** 12  # a table's column=value keys are few
REPLAY = 2000  # the newest labels each refit learns from
CACHED_ITEMS = 5000  # items whose features are kept for their suggestions (OnlineModel.prefetch)


class HashedFeatures:
    """Stateless features of a dataset's rows, picklable so the fitting worker computes them:
    hashed words and word pairs of a text column, or hashed ``column=value`` keys of a table."""

    def __init__(self, data_type: str, text_column: str | None = None, id_column: str | None = None):
        self.text_column, self.id_column = (text_column if data_type == "text" else None), id_column
        if self.text_column:
            self._hasher = HashingVectorizer(n_features=HASHED_TEXT_FEATURES, ngram_range=(1, 2), alternate_sign=False)
        else:
            self._hasher = FeatureHasher(n_features=HASHED_TABLE_FEATURES, input_type="dict", alternate_sign=False)

    def transform(self, frame: pd.DataFrame):
        if self.text_column:
            return self._hasher.transform(as_text(frame[self.text_column]).to_numpy())
        if self.id_column:  # an identifier is not a feature
            frame = frame.drop(columns=[self.id_column], errors="ignore")
        return normalize(self._hasher.transform(_row_dicts(frame)))


@dataclass(frozen=True)
class EmbeddedTexts:
    """Stateless features of rows whose texts an embedding cache holds: the columns' vectors side by
    side, after the row's hashed features (``beside``) when given, so a table's other columns, and
    a text's exact words, still count. Picklable, so the fitting worker reads the cache itself; a
    text the cache lacks is zeros (the worker cannot call the LLM Mesh, and the webapp uses these
    once every text is embedded)."""

    cache: str
    columns: tuple
    beside: HashedFeatures | None = None

    def transform(self, frame: pd.DataFrame):
        cache = shared_reader(self.cache)
        vectors = sp.csr_matrix(np.hstack([vectors_of(cache, as_text(frame[c]).to_numpy()) for c in self.columns]))
        return vectors if self.beside is None else sp.hstack([self.beside.transform(frame), vectors], format="csr")


def hashed_features(data_type: str, text_column: str | None = None, id_column: str | None = None):
    """Hashed features for rows of a dataset (None for folders: their rows are paths)."""
    return HashedFeatures(data_type, text_column, id_column) if data_type in ("text", "tabular") else None


def _row_dicts(frame: pd.DataFrame) -> list:
    """Numbers as signed log values (so a large unit does not swamp the rest), other values as one-hot keys."""
    rows = [{} for _ in range(len(frame))]
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            values = column.to_numpy(dtype=float, na_value=np.nan)
            scaled = np.sign(values) * np.log1p(np.abs(values))
            for row, value in zip(rows, scaled):
                if not np.isnan(value):
                    row[str(name)] = float(value)
        else:
            for row, value in zip(rows, column.astype(object).where(column.notna(), "(missing)").astype(str)):
                row[f"{name}={value}"] = 1.0
    return rows


_FITTER: ProcessPoolExecutor | None = None
_FITTER_LOCK = Lock()


def _fitter() -> ProcessPoolExecutor:
    """The process that fits online models, shared by this process's webapps (spawned: never a
    fork of a threaded server); it ends with this process, even one killed with SIGKILL, and runs at a lower priority."""
    global _FITTER
    with _FITTER_LOCK:
        if _FITTER is None:
            _FITTER = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                          initializer=_start_fitter)
        return _FITTER


def _start_fitter() -> None:
    """The worker's set-up: a background helper that runs on idle cores (processes.py)."""
    start_background_worker(idle=True)


def _classifier(seed: int) -> LogisticRegression:
    return LogisticRegression(max_iter=200, warm_start=True, random_state=seed)


def featurize_and_fit(features, rows: pd.DataFrame, remembered, targets: np.ndarray, previous, seed: int,
                      check: bool = False):
    """In the worker: the new rows' features after the remembered ones (the newest ``len(targets)``),
    a logistic regression fitted on them (from ``previous``'s weights when given), or None while
    they hold one category only, and, when ``check``, whether its suggestions have earned their
    place (``suggestion_gate.cross_validated``, else None). All come back: the server keeps no
    feature work of its own."""
    matrix = features.transform(rows)
    if remembered is not None:
        matrix = sp.vstack([remembered, matrix], format="csr") if sp.issparse(matrix) else np.vstack([remembered, matrix])
    matrix = matrix[-len(targets):]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        verdict = cross_validated(matrix, targets, lambda: _classifier(seed)) if check else None
        if len(set(targets.tolist())) < 2:
            return matrix, None, verdict
        model = previous if previous is not None else _classifier(seed)
        return matrix, model.fit(matrix, targets), verdict


class OnlineModel:
    """Logistic regression over a fixed feature function, refitted from its last weights as labels come."""

    def __init__(self, categories: list, features, seed: int = 0):
        self.categories = [str(c) for c in categories]
        self.features = features
        self.labels = 0
        self._seed = seed
        self._rows, self._targets = None, np.empty(0, dtype=object)
        self._model = None
        self.verdict, self._checked_at = None, 0  # whether its suggestions are shown, and at how many labels
        self._cache, self._cache_lock = {}, Lock()  # item -> its features (one row), oldest first

    @property
    def ready(self) -> bool:
        """It suggests once it has seen two categories: before that it could only repeat one."""
        return self._model is not None

    def learn(self, rows: pd.DataFrame, labels: list) -> None:
        if not len(labels):
            return
        targets = np.concatenate([self._targets, np.asarray([str(v) for v in labels], dtype=object)])[-REPLAY:]
        same_classes = self._model is not None and list(self._model.classes_) == sorted(set(targets.tolist()))
        previous = self._model if same_classes else None  # warm weights fit one set of classes
        # a copy comes back: suggestions go on reading the current model meanwhile
        check = due(self._checked_at, self.labels + len(labels))
        self._rows, model, verdict = _fitter().submit(featurize_and_fit, self.features, rows, self._rows, targets,
                                                      previous, self._seed, check).result()
        self._targets = targets
        if model is not None:
            self._model = model
        if verdict is not None:
            self.verdict, self._checked_at = verdict, self.labels + len(labels)
        # counted once the model that learned them suggests, so ``labels`` never runs ahead of it
        self.labels += len(labels)

    def prefetch(self, item_ids: list, rows_of) -> int:
        """Compute in the worker the features of items the next batches will likely serve, so that
        their suggestions cost the server a lookup: a fitted pipeline's ``transform`` costs about
        9 ms of the server's GIL whatever the rows (py-spy under bench/load.py: 14% of it went
        there). ``rows_of(ids)``: the items' rows. Returns how many were computed."""
        with self._cache_lock:
            missing = [i for i in dict.fromkeys(item_ids) if i not in self._cache]
        if missing:
            self._remember(missing, _fitter().submit(_transform, self.features, rows_of(missing)).result())
        return len(missing)

    def computed(self, item_ids: list) -> int:
        """How many of these items have their features computed already."""
        with self._cache_lock:
            return sum(i in self._cache for i in item_ids)

    def probabilities(self, item_ids: list, rows_of) -> np.ndarray:
        """One row per item, one column per category (in ``categories`` order; 0 for unseen ones).

        Features come from the cache when ``prefetch`` computed them; the others are computed here."""
        fitted = self._model  # one fitted state throughout, even if a refit replaces it meanwhile
        found = fitted.predict_proba(self._features_of(item_ids, rows_of))
        matrix = np.zeros((found.shape[0], len(self.categories)))
        for column, name in enumerate(fitted.classes_):
            matrix[:, self.categories.index(name)] = found[:, column]
        return matrix

    def _features_of(self, item_ids: list, rows_of):
        with self._cache_lock:
            cached = {i: self._cache[i] for i in item_ids if i in self._cache}
        missing = [i for i in dict.fromkeys(item_ids) if i not in cached]
        if missing:
            cached.update(self._remember(missing, self.features.transform(rows_of(missing))))
        rows = [cached[i] for i in item_ids]
        return sp.vstack(rows, format="csr") if sp.issparse(rows[0]) else np.vstack(rows)

    def _remember(self, item_ids: list, matrix) -> dict:
        """Keep each item's row of ``matrix`` (the newest ``CACHED_ITEMS`` items); returns them."""
        rows = {i: matrix[n:n + 1] for n, i in enumerate(item_ids)}
        with self._cache_lock:
            self._cache.update(rows)
            for stale in list(itertools.islice(self._cache, max(0, len(self._cache) - CACHED_ITEMS))):
                del self._cache[stale]
        return rows


def _renew_after_fork() -> None:
    """A forked child (DSS forks a backend process per request when ``nbProcesses`` > 1) gets a
    fitter of its own if it ever needs one: the parent's executor has no management thread in the
    child. Its locks are free there (labelloop/platform/locks.py)."""
    global _FITTER
    _FITTER = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_renew_after_fork)


def _transform(features, rows: pd.DataFrame):
    """In the worker: features of rows the server will suggest for."""
    return features.transform(rows)
