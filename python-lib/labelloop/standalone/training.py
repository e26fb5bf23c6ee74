"""``labelloop train`` and the loop's training: a project's labels in, a new model version out.

Each version in ``models/classifier/`` carries the trainer's metadata (learning/trainer.py),
the session it was trained in and the training date.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from labelloop.errors import LabelloopError
from labelloop.learning.trainer import fit
from labelloop.learning.weak_training import WeakLabels
from labelloop.standalone.embeddings import feature_choice, ready_for_training
from labelloop.standalone.labeling_rules import apply_rules, has_enabled_rules
from labelloop.standalone.project import MODEL, Project
from labelloop.store.materialize import OUTPUT_COLUMNS, journal_labels
from labelloop.store.sessions import current_session

_LABEL = "__label"


def training_data(project: Project) -> tuple:
    """``(item ids, input columns, final labels as strings)`` of the labeled items (reviews count)."""
    if project.settings.multi_label:
        raise LabelloopError("The built-in trainer handles single-label projects only; "
                             "train a multi-label model yourself and save it in models/classifier.")
    rows = journal_labels(project.journal, project.source, _LABEL)
    labels = rows.pop(_LABEL).astype(str)
    item_ids = rows["item_id"].astype(str).tolist()
    return item_ids, _features(project, rows.drop(columns=list(OUTPUT_COLUMNS))), labels.reset_index(drop=True)


def _features(project: Project, rows):
    """The input columns a model learns from: an identifier is not a feature."""
    if project.settings.id_column in rows.columns:
        rows = rows.drop(columns=[project.settings.id_column])
    return rows


def weak_training_labels(project: Project) -> WeakLabels:
    """The rules' weak labels of the items nobody labeled, as the trainer takes them."""
    weak = apply_rules(project)
    unlabeled = weak.gold[weak.rows] < 0  # a human label wins over a weak one
    ids = [project.source.ids[i] for i in weak.rows[unlabeled]]
    rows = _features(project, project.source.rows(ids).reset_index(drop=True))
    labels = pd.Series(np.asarray(weak.labels, dtype=object)[unlabeled], dtype=object)
    return WeakLabels(rows, labels, np.asarray(weak.confidence)[unlabeled])


def training_embeddings(project: Project):
    """The sentence embeddings to train on, once every item is embedded; None: TF-IDF for now."""
    choice = feature_choice(project)
    return choice.embeddings() if ready_for_training(project, choice) else None


def train(project: Project, weak: bool | None = False) -> dict:
    """Train and save the next version; returns its metadata. Raises NotEnoughLabels.

    ``weak``: also offer the trainer the rules' weak labels (it keeps them only if they help);
    None: when the project has enabled rules (the retrain loop).
    """
    _, rows, labels = training_data(project)
    settings = project.settings
    if weak is None:
        weak = not settings.multi_label and has_enabled_rules(project)
    offered = weak_training_labels(project) if weak else None
    pipeline, meta = fit(settings.type, rows, labels, text_column=settings.text_column, folder=project.media_folder,
                         weak=offered, embeddings=training_embeddings(project))
    meta = {**meta, "session": current_session(project.platform, settings.outputs["queries"]),
            "trainedAt": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    version = project.platform.registry(MODEL).save(pipeline, meta)
    return {"version": version, **meta}
