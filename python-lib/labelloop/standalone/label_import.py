"""``labelloop import``: labels that exist already, brought in as one annotator's answers.

A file (CSV, Parquet or JSONL) names its items by the id column (or, for a project without one,
by the input columns, hashed as the project hashes them; for a folder, by ``path``) and carries
a label column. Every row is checked as ``/label`` checks an answer: the item must be in the
project and the label one of its categories (a list of them, as JSON, for multi-label). Unless
``skip_invalid``, one bad row means nothing is written, and the error lists the bad rows.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from labelloop.errors import LabelloopError
from labelloop.platform.local import read_table
from labelloop.standalone.project import Project
from labelloop.store.item_sources import MediaFiles, Rows
from labelloop.store.items import canonical_value, folder_item_id, row_ids
from labelloop.store.journal import LABELED, Annotation
from labelloop.store.materialize import write_journal_outputs

SHOWN = 12  # bad rows listed in an error, at most
MAX_NAME = 256  # the journal's annotator column


@dataclass
class ImportResult:
    imported: int
    skipped: list  # (row number, reason) of the rows left out with skip_invalid

    def as_dict(self) -> dict:
        return {"imported": self.imported, "skipped": [{"row": row, "reason": why} for row, why in self.skipped]}


def import_labels(project: Project, path, annotator: str, id_column: str | None = None,
                  label_column: str | None = None, skip_invalid: bool = False) -> ImportResult:
    """Check every row of ``path``, then record the good ones as ``annotator``'s answers."""
    if not annotator.strip() or len(annotator) > MAX_NAME:
        raise LabelloopError(f"--annotator must be a name of 1 to {MAX_NAME} characters.")
    table = read_table(Path(path))
    label_column = label_column or project.settings.label_column
    if label_column not in table.columns:
        raise LabelloopError(f"{Path(path).name} has no label column '{label_column}' (use --label-column).")
    item_ids = _item_ids(project, table.drop(columns=[label_column]), id_column)
    keys = [c["key"] for c in project.settings.categories]
    good, bad = [], []
    values = [v.tolist() if isinstance(v, np.ndarray) else v for v in table[label_column].tolist()]  # Parquet lists
    for row, (item_id, value) in enumerate(zip(item_ids, values), start=1):
        label, reason = _checked_label(value, keys, project.settings.multi_label)
        if item_id not in project.source:
            reason = "unknown item"
        if reason:
            bad.append((row, reason))
        else:
            good.append(Annotation(item_id=item_id, annotator=annotator, status=LABELED, label=label, strategy="import"))
    if bad and not skip_invalid:
        listed = "; ".join(f"row {row}: {why}" for row, why in bad[:SHOWN]) + ("; ..." if len(bad) > SHOWN else "")
        raise LabelloopError(f"{len(bad):,} of {len(table):,} rows cannot be imported, so none was ({listed}). "
                             "Fix them, or pass --skip-invalid to import the others.")
    imported = project.journal.record_many(good)
    write_journal_outputs(project.platform, project.journal, project.source, project.outputs)
    return ImportResult(imported, bad)


def _item_ids(project: Project, inputs: pd.DataFrame, id_column: str | None) -> list:
    """The item id of each row, found the way the project makes its ids."""
    return {MediaFiles: _file_ids, Rows: _row_ids}[type(project.items)](project, inputs, id_column)


def _file_ids(project: Project, inputs: pd.DataFrame, id_column: str | None) -> list:
    """A media file's id is its path in the folder: the ``path`` column, or ``id_column``."""
    column = id_column or "path"
    _require(inputs, column)
    return [folder_item_id(str(p)) for p in inputs[column].tolist()]


def _row_ids(project: Project, inputs: pd.DataFrame, id_column: str | None) -> list:
    """A row's id is its id column's value, or the hash of its values (every data column given)."""
    column = id_column or project.settings.id_column
    if column:
        _require(inputs, column)
        return row_ids(inputs, column)  # refuses empty and repeated ids in one sentence
    data_columns = list(project.source.frame.columns)
    missing = [c for c in data_columns if c not in inputs.columns]
    if missing:
        raise LabelloopError(f"The file has no id column and misses the data column(s) {', '.join(missing[:SHOWN])}: "
                             "give every input column, or --id-column.")
    ids = row_ids(inputs[data_columns])
    repeated = pd.Series(ids)[pd.Series(ids).str.contains("#", regex=False)]
    if len(repeated):
        raise LabelloopError(f"The file labels the same row twice (row {repeated.index[0] + 1}): keep one label per item.")
    return ids


def _require(frame: pd.DataFrame, column: str) -> None:
    if column not in frame.columns:
        raise LabelloopError(f"The file has no column '{column}' (use --id-column).")


def _checked_label(value, keys: list, multi_label: bool) -> tuple:
    """``(label as the journal stores it, None)``, or ``(None, why the cell is no label)``."""
    if _missing(value):
        return None, "no label"
    labels = _parsed(value, multi_label)
    if not labels:
        return None, "the label is not a category" + (" or a JSON list of them" if multi_label else "")
    unknown = [v for v in labels if v not in keys]
    if unknown:
        return None, f"unknown label '{unknown[0][:100]}'"
    if not multi_label:
        return labels[0], None
    return json.dumps([k for k in keys if k in set(labels)]), None


def _missing(value) -> bool:
    return value is None or (pd.api.types.is_scalar(value) and pd.isna(value)) or value == ""


def _parsed(value, multi_label: bool) -> list | None:
    """The categories a cell names: one (``1.0`` read from a CSV is ``1``), or for multi-label a
    list, a JSON list as text, or one category."""
    if isinstance(value, (list, tuple)):
        return [canonical_value(v) for v in value] if multi_label else None
    if multi_label and isinstance(value, str) and value.startswith("["):
        try:
            found = json.loads(value)
        except ValueError:
            return None
        return [canonical_value(v) for v in found] if isinstance(found, list) else None
    return [canonical_value(value)]
