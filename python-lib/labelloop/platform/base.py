"""The interface every runtime implements (DESIGN.md section 2).

The core only talks to this interface, so the same labeling, sampling and metrics code runs
inside DSS and on a laptop, and tests can run it without DSS.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Callable

import numpy as np
import pandas as pd

from labelloop.errors import LabelloopError


@dataclass
class Probabilities:
    """Class probabilities of a model for some rows: ``matrix[i, j]`` is p(classes[j] | row i).

    A DSS model's preprocessing may drop rows (missing values set to "drop rows", for one): those
    rows are ``False`` in ``scored`` and NaN in ``matrix``, so row ``i`` is always input row ``i``.
    """

    classes: list
    matrix: np.ndarray
    model_version: str
    scored: np.ndarray | None = None

    def __post_init__(self):
        if self.scored is None:
            self.scored = np.ones(len(self.matrix), dtype=bool)

    def rows(self, mask: np.ndarray) -> Probabilities:
        """The probabilities of the rows ``mask`` selects, in order."""
        return Probabilities(self.classes, self.matrix[mask], self.model_version, self.scored[mask])

    def best(self) -> np.ndarray:
        """The most probable class of each row; None where the model did not score the row."""
        best = np.full(len(self.matrix), None, dtype=object)
        if self.scored.any():
            best[self.scored] = np.asarray(self.classes, dtype=object)[self.matrix[self.scored].argmax(axis=1)]
        return best


def estimator_probabilities(estimator, frame: pd.DataFrame, version: str, name: str = "The model") -> Probabilities:
    """A scikit-learn classifier's probabilities for ``frame``: the built-in trainer's models, and
    any estimator a project or the Spark engine's executors load."""
    if not hasattr(estimator, "predict_proba"):
        raise LabelloopError(f"{name} gives no class probabilities: use a classification model.")
    matrix = np.asarray(estimator.predict_proba(frame), dtype=float)
    return Probabilities(classes=[str(c) for c in estimator.classes_], matrix=matrix, model_version=version)


class Platform(ABC):
    """Datasets, folders, project variables, models and user identity."""

    @abstractmethod
    def read_dataset(self, name: str, columns: list | None = None) -> pd.DataFrame:
        """The whole dataset (or only ``columns``) as a frame."""

    @abstractmethod
    def iter_dataset(self, name: str, chunksize: int, columns: list | None = None) -> Iterator[pd.DataFrame]:
        """The dataset in frames of at most ``chunksize`` rows, so memory stays bounded."""

    @abstractmethod
    def write_dataset(self, name: str, frame: pd.DataFrame) -> None:
        """Replace the dataset's content and schema with ``frame``; readers never see half of it."""

    @abstractmethod
    def dataset_exists(self, name: str) -> bool:
        """True when the dataset has been written (it has a schema)."""

    def parted_dataset(self, name: str, key: tuple):
        """The dataset as parts a write adds to (``parquet_parts.PartedDataset``, rows identified
        by the ``key`` columns), or None where a dataset can only be rewritten whole (DSS, CSV)."""
        return None

    @abstractmethod
    def is_folder(self, name: str) -> bool:
        """True when ``name`` is a folder (managed folder in DSS), False for a dataset."""

    @abstractmethod
    def list_folder(self, name: str) -> list:
        """Paths of the files of a folder, each starting with ``/`` as in DSS."""

    @abstractmethod
    def open_folder_file(self, name: str, path: str) -> BinaryIO:
        """A binary stream of one file of the folder; a path outside it raises ``NotFound``."""

    @abstractmethod
    def get_variables(self) -> dict:
        """The project's (standard) variables."""

    @abstractmethod
    def update_variables(self, change: Callable[[dict], None]) -> dict:
        """Apply ``change`` to the variables in place and save them; returns the new variables."""

    @abstractmethod
    def model_probabilities(self, model: str, frame: pd.DataFrame, version: str | None = None) -> Probabilities:
        """Class probabilities of the saved model (its active or latest version by default)."""

    def model_featurizer(self, model: str, version: str | None = None):
        """What turns rows into the model's features: a picklable object with ``transform(frame)``
        (so a worker process can use it), or None when they cannot be had.

        DSS's predictor API documents predictions only, so the DSS adapter answers None and the
        callers (diverse batches, online suggestions) fall back on features of their own.
        """
        return None

    def model_features(self, model: str, frame: pd.DataFrame, version: str | None = None):
        """The rows as the model sees them (an array or sparse matrix), or None (see ``model_featurizer``)."""
        featurizer = self.model_featurizer(model, version=version)
        return None if featurizer is None else featurizer.transform(frame)

    def embed_texts(self, llm_id: str, texts: list) -> np.ndarray:
        """The texts' embeddings from an LLM Mesh embedding model, unit length, a row per text (a
        DSS webapp's search by meaning). Only DSS has an LLM Mesh: elsewhere this refuses, and a
        standalone project embeds with a local model (``standalone/embeddings.py``)."""
        raise LabelloopError(f"The embedding model '{llm_id}' is an LLM Mesh model, which only DSS has: "
                             "outside DSS, choose a local one with `labelloop init --embedding-model`.")

    @abstractmethod
    def active_version(self, model: str) -> str:
        """The version that predicts by default (in DSS the active one, not always the newest)."""

    @abstractmethod
    def model_versions(self, model: str) -> list:
        """The saved model's version ids, oldest first (empty before the first training)."""

    @abstractmethod
    def user(self, headers: dict | None = None) -> str:
        """Who is acting: the DSS login, or the standalone user."""
