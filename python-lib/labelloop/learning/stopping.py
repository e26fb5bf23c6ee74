"""Stopping metrics: is another batch of labels still worth it? (DESIGN.md section 4)

Computed after each new model version, by the standalone loop and by the DSS step alike:

- **contradiction rate**: the share of a fixed random sample of unlabeled items on which the new
  version predicts another class than the previous one, divided by the rows actually compared
  (items of the sample labeled since are left out);
- **agreement**: Cohen's kappa between the two versions' predictions on those rows;
- **accuracy on the random share**: each version's accuracy on the items it queried at random
  (``strategy = random``), which no model chose and none of its own training saw;
- **labels so far**.

They are kept per model version in the project variable ``LABELLOOP__<model>__metrics``, so the
webapp shows the same numbers in DSS and standalone; store/metrics.py reads them back and
gives the verdict.
"""
from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score

from labelloop.errors import LabelloopError
from labelloop.parameters.tables import LABELING_METRICS
from labelloop.platform.base import Platform
from labelloop.store.journal import LABELED
from labelloop.store.metrics import load_metrics, metrics_variable

DEFAULT_SAMPLE = LABELING_METRICS["sample_size"].default  # the labeling-metrics step's default
SAMPLE_SEED = 20240917


def fixed_sample(item_ids: list, size: int) -> list:
    """The same ``size`` items every time for the same pool (a seeded draw over its order)."""
    if len(item_ids) <= size:
        return list(item_ids)
    positions = np.random.default_rng(SAMPLE_SEED).choice(len(item_ids), size, replace=False)
    return [item_ids[p] for p in np.sort(positions)]


def predictions(platform: Platform, model: str, version: str, frame: pd.DataFrame) -> np.ndarray:
    """The predicted class of each row; None for rows the model did not score (DSS may drop rows).

    No rows, no call: once every item of the fixed sample is answered there is nothing to
    compare, and models refuse an empty input.
    """
    if frame.empty:
        return np.full(0, None, dtype=object)
    return platform.model_probabilities(model, frame, version).best()


def agreement(before: np.ndarray, after: np.ndarray) -> dict:
    """Contradiction rate and Cohen's kappa of two prediction arrays of the same rows.

    Rows that either version left unscored are not compared.
    """
    both = np.array([b is not None and a is not None for b, a in zip(before, after)], dtype=bool)
    before, after = before[both], after[both]
    compared = len(before)
    if compared == 0:
        return {"compared": 0, "contradictionRate": None, "kappa": None}
    differ = int((before != after).sum())
    if differ == 0:
        kappa = 1.0
    else:
        kappa = float(cohen_kappa_score(before.astype(str), after.astype(str)))
        kappa = None if math.isnan(kappa) else round(kappa, 6)
    return {"compared": compared, "contradictionRate": round(differ / compared, 6), "kappa": kappa}


def random_share_accuracy(platform: Platform, model: str, version: str, source, answers: pd.DataFrame) -> dict:
    """``version``'s accuracy on the labeled items it had queried at random, and that of always
    answering the most frequent label (``randomMajority``, the bar labeling/suggestion_gate.py
    sets; the frequency counts every label, the slice's own included, which can only favour it)."""
    mine = answers[(answers["status"] == LABELED) & (answers["strategy"] == "random")
                   & (answers["model_version"].astype(str) == str(version))]
    mine = mine.sort_values("label_id").drop_duplicates("data_id", keep="last")
    mine = mine[source.known(mine["data_id"].astype(str).tolist())]
    if mine.empty:
        return {"randomLabels": 0, "randomAccuracy": None}
    predicted = predictions(platform, model, version, source.rows(mine["data_id"].astype(str).tolist()))
    scored = np.array([p is not None for p in predicted], dtype=bool)
    if not scored.any():
        return {"randomLabels": 0, "randomAccuracy": None}
    truth = mine["label"].astype(str).to_numpy()[scored]
    correct = predicted[scored].astype(str) == truth
    majority = str(answers.loc[answers["status"] == LABELED, "label"].astype(str).value_counts().index[0])
    return {"randomLabels": int(scored.sum()), "randomAccuracy": round(float(correct.mean()), 6),
            "randomMajority": round(float((truth == majority).mean()), 6), "randomMajorityLabel": majority}


def compute_metrics(platform: Platform, model: str, source, answers: pd.DataFrame,
                    sample_size: int = DEFAULT_SAMPLE, measured: dict | None = None) -> dict:
    """Metrics of the latest version of ``model`` against the one before, stored and returned.

    ``answers`` is a metadata frame (``metadata_frame`` columns, ``label`` as the label column).
    ``measured``: what the trainer measured of the latest version, stored with its metrics (the
    built-in trainer's cross-validation, which labeling/suggestion_gate.py reads).
    Returns every version's metrics, oldest first, as stored.
    """
    versions = platform.model_versions(model)
    if not versions:
        return load_metrics(platform, model)
    latest = versions[-1]
    labeled = answers[answers["status"] == LABELED]
    entry = {"version": latest, "labels": int(labeled["data_id"].nunique()),
             "computedAt": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), **(measured or {})}
    if len(versions) > 1:
        answered = set(answers["data_id"].astype(str))
        sample = [i for i in fixed_sample(list(source.ids), sample_size) if i not in answered]
        rows = source.rows(sample)
        entry["previous"] = versions[-2]
        entry.update(agreement(predictions(platform, model, versions[-2], rows),
                               predictions(platform, model, latest, rows)))
    # random picks are stamped with the version that queried them, during its session: only the
    # last two versions can still be gaining some, older ones keep their stored accuracy
    accuracies = {v: random_share_accuracy(platform, model, v, source, answers) for v in versions[-2:]}

    def update(variables):
        stored = dict(variables.get(metrics_variable(model)) or {})
        stored[latest] = {**stored.get(latest, {}), **entry}
        for version, accuracy in accuracies.items():
            if version in stored or accuracy["randomLabels"]:
                stored[version] = {"version": version, **stored.get(version, {}), **accuracy}
        variables[metrics_variable(model)] = stored

    platform.update_variables(update)
    return load_metrics(platform, model)


def read_answers(platform: Platform, metadata: str, label_column: str = "label") -> pd.DataFrame:
    """The metadata dataset's rows (one per current answer), with the label column as ``label``."""
    if not platform.dataset_exists(metadata):
        raise LabelloopError(f"The metadata dataset '{metadata}' has not been built yet: label some items first.")
    answers = platform.read_dataset(metadata)
    if label_column not in answers.columns:
        raise LabelloopError(f"The metadata dataset '{metadata}' has no column '{label_column}' (the label column).")
    return answers.rename(columns={label_column: "label"})
