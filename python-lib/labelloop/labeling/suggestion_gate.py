"""Whether a model's suggestions have earned their place (DESIGN.md section 15).

Annotators adopt a pre-filled suggestion readily, so a model that is no better than always
answering the most frequent category only teaches them to repeat it. A suggestion is shown once
the model that makes it beats that majority answer on labels it did not learn from:

- the online model: cross-validated on its newest labels (``cross_validated``, in the fitting
  worker, after a refit that added a tenth more labels), each fold's majority taken from the
  fold's training labels;
- a retrained version: on the items it queried at random (the random slice, which no model
  chose), else on the trainer's own cross-validation (``cvAccuracy`` against ``cvMajority``).

The verdict says why in one sentence while it holds suggestions back (``/stats`` ``suggestions``).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import KFold

CV_FOLDS = 5
CV_LABELS = 1000  # the newest labels the online model's check cross-validates (a few fits of this size)
RECHECK_GROWTH = 1.1  # the online model is checked again once it has learned a tenth more labels


@dataclass(frozen=True)
class Verdict:
    """Whether suggestions are shown, and the measure behind it."""

    shown: bool
    reason: str | None = None
    method: str | None = None  # "cross-validation" or "random slice"
    accuracy: float | None = None
    majority: float | None = None
    held_out: int = 0

    def as_json(self) -> dict:
        return {"shown": self.shown, "reason": self.reason, "method": self.method, "accuracy": self.accuracy,
                "majority": self.majority, "heldOut": self.held_out}


NO_MODEL = Verdict(False, "No suggestions yet: no model has learned from labels of two categories so far.")
UNMEASURED = Verdict(False, "No suggestions yet: the model has not been measured on labels it did not learn from "
                            "(it is, after the next retrain or a few more labels).")


def judge(accuracy: float, majority: float, held_out: int, majority_label, method: str, who: str = "the model") -> Verdict:
    """Shown when ``accuracy`` beats ``majority`` (always answering ``majority_label``) on ``held_out`` labels."""
    accuracy, majority = round(float(accuracy), 6), round(float(majority), 6)
    if accuracy > majority:
        return Verdict(True, None, method, accuracy, majority, held_out)
    reason = (f"No suggestions yet: on {held_out} labels it did not learn from ({method}) {who} is right "
              f"{accuracy:.0%} of the time, no better than always answering '{majority_label}' ({majority:.0%}).")
    return Verdict(False, reason, method, accuracy, majority, held_out)


def due(checked_at: int, labels: int) -> bool:
    """Whether the online model, last checked with ``checked_at`` labels, is checked again at ``labels``."""
    return checked_at == 0 or labels >= checked_at * RECHECK_GROWTH


def cross_validated(matrix, targets: np.ndarray, make_model) -> Verdict:
    """The verdict on a model ``make_model()`` fits, over the newest ``CV_LABELS`` rows of ``matrix``."""
    targets = np.asarray(targets, dtype=object)[-CV_LABELS:]
    matrix = matrix[-len(targets):]
    counts = Counter(targets.tolist())
    if len(counts) < 2:
        if not counts:
            return NO_MODEL
        label, count = counts.most_common(1)[0]
        return Verdict(False, f"No suggestions yet: all {count} labels so far are '{label}', and always answering "
                              "it cannot be beaten.", "cross-validation", None, 1.0, count)
    model_right = majority_right = 0
    for train, test in KFold(min(CV_FOLDS, len(targets)), shuffle=True, random_state=0).split(targets):
        seen = Counter(targets[train].tolist())
        majority_right += int((targets[test] == seen.most_common(1)[0][0]).sum())
        if len(seen) < 2:  # a fold's model could only answer its one category, the majority
            model_right += int((targets[test] == seen.most_common(1)[0][0]).sum())
            continue
        model = make_model().fit(matrix[train], targets[train])
        model_right += int((model.predict(matrix[test]) == targets[test]).sum())
    return judge(model_right / len(targets), majority_right / len(targets), len(targets),
                 counts.most_common(1)[0][0], "cross-validation")


def version_verdict(metrics: dict | None) -> Verdict:
    """The verdict on a retrained version from its stored metrics (``learning/stopping.py``): on its
    random slice when it has one, else on the built-in trainer's cross-validation."""
    metrics = metrics or {}
    if metrics.get("randomLabels") and metrics.get("randomMajority") is not None:
        return judge(metrics["randomAccuracy"], metrics["randomMajority"], int(metrics["randomLabels"]),
                     metrics.get("randomMajorityLabel"), "random slice")
    if metrics.get("cvAccuracy") is not None and metrics.get("cvMajority") is not None:
        return judge(metrics["cvAccuracy"], metrics["cvMajority"], int(metrics.get("labels") or 0),
                     metrics.get("cvMajorityLabel"), "cross-validation")
    return UNMEASURED
