"""The built-in trainer: fit the project's pipeline on the current labels, save a new version.

Each version in ``models/classifier/`` carries, beside the model, its classes, how many labels
it learned from, the training time and a cross-validated accuracy (stratified, up to 5 folds,
fewer when a class has fewer labels; none when a class has a single label).
"""
from __future__ import annotations

import datetime as dt
import time
import warnings

import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold, cross_val_score

from labelloop.errors import LabelloopError
from labelloop.learning.features import build_pipeline
from labelloop.store.materialize import labels_frame
from labelloop.standalone.project import MODEL, Project
from labelloop.store.sessions import current_session

_LABEL = "__label"
MAX_FOLDS = 5


class NotEnoughLabels(LabelloopError):
    """Fewer than two categories are labeled: there is nothing to tell apart yet."""


def training_data(project: Project) -> tuple:
    """The labeled items' input columns, and their latest labels as strings."""
    if project.settings.multi_label:
        raise LabelloopError("The built-in trainer handles single-label projects only; "
                             "train a multi-label model yourself and save it in models/classifier.")
    rows = labels_frame(project.journal.current_frame(), project.source, _LABEL)
    labels = rows.pop(_LABEL).astype(str)
    rows = rows.drop(columns=["label_id", "item_id"])
    if project.settings.id_column in rows.columns:
        rows = rows.drop(columns=[project.settings.id_column])  # an identifier is not a feature
    return rows, labels.reset_index(drop=True)


def cross_validated_accuracy(pipeline, rows: pd.DataFrame, labels: pd.Series) -> tuple:
    folds = min(MAX_FOLDS, int(labels.value_counts().min()))
    if folds < 2:
        return None, 0
    split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    return round(float(cross_val_score(pipeline, rows, labels, cv=split).mean()), 6), folds


def train(project: Project) -> dict:
    """Train and save the next version; returns its metadata. Raises NotEnoughLabels."""
    rows, labels = training_data(project)
    counts = labels.value_counts()
    if len(counts) < 2:
        have = ", ".join(f"{k} {v}" for k, v in counts.items()) or "no labels"
        raise NotEnoughLabels(f"Training needs labels in at least two categories (so far: {have}).")
    settings = project.settings
    pipeline = build_pipeline(settings.type, rows, text_column=settings.text_column, folder=str(project.data_path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        score, folds = cross_validated_accuracy(pipeline, rows, labels)
        start = time.perf_counter()
        pipeline.fit(rows, labels)
    meta = {
        "classes": [str(c) for c in pipeline.classes_],
        "labels": int(len(labels)),
        "perLabel": {str(k): int(v) for k, v in counts.items()},
        "trainingSeconds": round(time.perf_counter() - start, 3),
        "cvAccuracy": score,
        "cvFolds": folds,
        "session": current_session(project.platform, settings.outputs["queries"]),
        "trainedAt": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    version = project.platform.registry(MODEL).save(pipeline, meta)
    return {"version": version, **meta}
