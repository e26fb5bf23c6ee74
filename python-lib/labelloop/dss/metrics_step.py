"""The DSS labeling-metrics step (python-steps/labeling-metrics/): the stopping metrics of
``labelloop.learning.stopping`` on the DSS datasets, then the team's quality (DESIGN.md section 10).

DSS has no ``labelloop quality`` command, so the step a scenario runs after training writes what
it reports: the team's agreement in a project variable, ``LABELLOOP__<metadata>__agreement``
(read it in a scenario condition, a dashboard or the API), and, when given a dataset for them,
the suspected label errors, which a labeling webapp with that dataset in its settings serves
in its Review view.
"""
from __future__ import annotations

import logging

import pandas as pd

from labelloop.dss.platform import DSSPlatform
from labelloop.errors import LabelloopError
from labelloop.learning.stopping import DEFAULT_SAMPLE, compute_metrics, read_answers
from labelloop.learning.suspected_errors import find_suspects
from labelloop.learning.trainer import NotEnoughLabels
from labelloop.parameters.tables import LABELING_METRICS
from labelloop.platform.base import Platform
from labelloop.quality.agreement import agreement
from labelloop.store.item_sources import MediaFiles, Rows
from labelloop.store.journal import LABELED
from labelloop.store.materialize import OUTPUT_COLUMNS
from labelloop.store.metrics import stopping_status

log = logging.getLogger(__name__)
SUSPECT_COLUMNS = ("item_id", "label", "suggested", "score")


def run_step() -> dict:
    """What the step's ``step.py`` does: the stopping metrics, then the team's quality; returns both."""
    from dataiku.customstep import get_step_config

    config = LABELING_METRICS.read(get_step_config())
    platform = DSSPlatform()
    label_column = config["label_col_name"] or "label"
    status = metrics_step(
        platform, config["saved_model"], unlabeled=config["unlabeled"],
        unlabeled_folder=config["unlabeled_folder"], metadata=config["metadata_ds"],
        label_column=label_column, id_column=config["id_column"] or None, sample_size=config["sample_size"],
    )
    quality = quality_step(
        platform, config["metadata_ds"], label_column, labels=config["labels_ds"] or None,
        suspects=config["suspects_ds"] or None, text_column=config["text_column"] or None,
        id_column=config["id_column"] or None,
    )
    return {"stopping": status, "quality": quality}


def metrics_step(platform: Platform, model: str, unlabeled: str | None, unlabeled_folder: str | None,
                 metadata: str, label_column: str = "label", id_column: str | None = None,
                 sample_size: int = DEFAULT_SAMPLE) -> dict:
    """The items and answers from datasets, then ``compute_metrics``; returns the stopping status."""
    sample_size = LABELING_METRICS["sample_size"].check(sample_size)
    if bool(unlabeled) == bool(unlabeled_folder):
        raise LabelloopError("Give either the unlabeled dataset or the unlabeled folder (one of them).")
    items, pool = (MediaFiles(), unlabeled_folder) if unlabeled_folder else (Rows(id_column), unlabeled)
    source = items.load(platform, pool)
    compute_metrics(platform, model, source, read_answers(platform, metadata, label_column), sample_size)
    return stopping_status(platform, model)


def agreement_variable(metadata: str) -> str:
    return f"LABELLOOP__{metadata}__agreement"


def quality_step(platform: Platform, metadata: str, label_column: str = "label", labels: str | None = None,
                 suspects: str | None = None, text_column: str | None = None, id_column: str | None = None) -> dict:
    """Write the agreement variable and, with ``suspects``, that dataset; returns what was found."""
    if suspects and not labels:
        raise LabelloopError("Finding suspected label errors needs the labels dataset: give it in the step's settings.")
    answers = read_answers(platform, metadata, label_column)
    found = agreement(answers[answers["status"] == LABELED].rename(columns={"data_id": "item_id"}))
    platform.update_variables(lambda variables: variables.update({agreement_variable(metadata): found}))
    result = {"agreement": found}
    if suspects:
        listed = labeled_suspects(platform.read_dataset(labels), label_column, text_column, id_column)
        platform.write_dataset(suspects, pd.DataFrame(listed, columns=list(SUSPECT_COLUMNS)))
        result["suspects"] = len(listed)
    return result


def labeled_suspects(frame: pd.DataFrame, label_column: str, text_column: str | None, id_column: str | None) -> list:
    """Suspects among a labels dataset's rows (tabular, or text with ``text_column``); none yet
    when too few labels tell the categories apart."""
    if label_column not in frame.columns or "item_id" not in frame.columns:
        raise LabelloopError(f"The labels dataset has no '{label_column}' and 'item_id' columns: "
                             "give the one the labeling webapp writes.")
    if text_column and text_column not in frame.columns:
        raise LabelloopError(f"The labels dataset has no text column '{text_column}'.")
    added = [c for c in (label_column, *OUTPUT_COLUMNS, id_column) if c in frame.columns]
    try:
        return find_suspects("text" if text_column else "tabular", frame["item_id"].astype(str).tolist(),
                             frame.drop(columns=added), frame[label_column], text_column=text_column)
    except NotEnoughLabels as error:
        log.info("No suspected label errors yet: %s", error)
        return []
