"""``labelloop train`` and the loop's training: a project's labels in, a new model version out.

Each version in ``models/classifier/`` carries the trainer's metadata (learning/trainer.py),
the session it was trained in and the training date.
"""
from __future__ import annotations

import datetime as dt

from labelloop.errors import LabelloopError
from labelloop.learning.trainer import fit
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
    rows = rows.drop(columns=list(OUTPUT_COLUMNS))  # what labelloop adds is not a feature
    if project.settings.id_column in rows.columns:
        rows = rows.drop(columns=[project.settings.id_column])  # an identifier is not a feature
    return item_ids, rows, labels.reset_index(drop=True)


def train(project: Project) -> dict:
    """Train and save the next version; returns its metadata. Raises NotEnoughLabels."""
    _, rows, labels = training_data(project)
    settings = project.settings
    pipeline, meta = fit(settings.type, rows, labels, text_column=settings.text_column, folder=str(project.data_path))
    meta = {**meta, "session": current_session(project.platform, settings.outputs["queries"]),
            "trainedAt": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    version = project.platform.registry(MODEL).save(pipeline, meta)
    return {"version": version, **meta}
