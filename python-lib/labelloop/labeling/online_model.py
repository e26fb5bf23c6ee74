"""The online model: a small model that learns from every label between retrains (DESIGN.md section 11).

The model version behind the suggestions changes every N labels only; between retrains its
suggestions ignore everything the annotators just taught it. An ``OnlineModel`` is a logistic
regression refitted after each label (or each few, when they come faster than a fit) on the
newest ``REPLAY`` labels, starting from its previous weights (``warm_start``). The fit runs in a
worker process (one per server process, spawned on first use): in a thread it held the GIL for
tens of milliseconds and slowed every request (bench/online_load.py). Plain
``SGDClassifier.partial_fit`` steps were measured first and suggested worse than the retrained
version alone (bench/suggestions.py, README); the warm-started refit is the same model as a
version's, kept current.

Its features are the latest version's own (the built-in model's transform), or, before the first
version and for models that do not expose theirs (DSS), hashed features of the row's values: no
vocabulary to fit, so they exist from the first label.
"""
from __future__ import annotations

import multiprocessing
import threading
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction import FeatureHasher
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize

from labelloop.processes import exit_with_parent
from labelloop.text import as_text

HASHED_TEXT_FEATURES = 2 ** 16  # words and word pairs
HASHED_TABLE_FEATURES = 2 ** 12  # a table's column=value keys are few
REPLAY = 2000  # the newest labels each refit learns from


def hashed_features(data_type: str, text_column: str | None = None):
    """A stateless feature function for rows of a dataset (None for folders: their rows are paths)."""
    if data_type == "text":
        words = HashingVectorizer(n_features=HASHED_TEXT_FEATURES, ngram_range=(1, 2), alternate_sign=False)
        return lambda frame: words.transform(as_text(frame[text_column]).to_numpy())
    if data_type != "tabular":
        return None
    hasher = FeatureHasher(n_features=HASHED_TABLE_FEATURES, input_type="dict", alternate_sign=False)

    def tabular(frame: pd.DataFrame):
        return normalize(hasher.transform(_row_dicts(frame)))
    return tabular


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
_FITTER_LOCK = threading.Lock()


def _fitter() -> ProcessPoolExecutor:
    """The process that fits online models, shared by this process's webapps (spawned: never a
    fork of a threaded server); it ends with this process, even one killed with SIGKILL."""
    global _FITTER
    with _FITTER_LOCK:
        if _FITTER is None:
            _FITTER = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                          initializer=exit_with_parent)
        return _FITTER


def fit_logistic(rows, targets, previous, seed: int):
    """In the worker: fit a logistic regression, from ``previous``'s weights when given."""
    model = previous if previous is not None else LogisticRegression(max_iter=200, warm_start=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(rows, targets)


class OnlineModel:
    """Logistic regression over a fixed feature function, refitted from its last weights as labels come."""

    def __init__(self, categories: list, features, seed: int = 0):
        self.categories = [str(c) for c in categories]
        self.features = features
        self.labels = 0
        self._seed = seed
        self._rows, self._targets = None, np.empty(0, dtype=object)
        self._model = None

    @property
    def ready(self) -> bool:
        """It suggests once it has seen two categories: before that it could only repeat one."""
        return self._model is not None

    def learn(self, rows: pd.DataFrame, labels: list) -> None:
        if not len(labels):
            return
        self._remember(self.features(rows), np.asarray([str(v) for v in labels], dtype=object))
        classes = sorted(set(self._targets.tolist()))
        if len(classes) >= 2:
            same_classes = self._model is not None and list(self._model.classes_) == classes
            previous = self._model if same_classes else None  # warm weights fit one set of classes
            # a copy comes back: suggestions go on reading the current model meanwhile
            self._model = _fitter().submit(fit_logistic, self._rows, self._targets, previous, self._seed).result()
        # counted once the model that learned them suggests, so ``labels`` never runs ahead of it
        self.labels += len(labels)

    def _remember(self, matrix, targets: np.ndarray) -> None:
        if self._rows is None:
            self._rows, self._targets = matrix, targets
        else:
            stack = sp.vstack if sp.issparse(matrix) else np.vstack
            self._rows, self._targets = stack([self._rows, matrix]), np.concatenate([self._targets, targets])
        if len(self._targets) > REPLAY:
            self._rows, self._targets = self._rows[-REPLAY:], self._targets[-REPLAY:]
        if sp.issparse(self._rows):
            self._rows = sp.csr_matrix(self._rows)

    def probabilities(self, rows: pd.DataFrame) -> np.ndarray:
        """One row per input row, one column per category (in ``categories`` order; 0 for unseen ones)."""
        fitted = self._model  # one fitted state throughout, even if a refit replaces it meanwhile
        found = fitted.predict_proba(self.features(rows))
        matrix = np.zeros((found.shape[0], len(self.categories)))
        for column, name in enumerate(fitted.classes_):
            matrix[:, self.categories.index(name)] = found[:, column]
        return matrix
