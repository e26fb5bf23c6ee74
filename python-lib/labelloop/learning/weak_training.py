"""Training on human labels plus the rules' weak labels, only when that measures better.

Weak labels can hurt: the items rules cover are not a fair sample of the pool, and a rule's
mistakes are systematic. Measured on a census table with six sensible rules, adding their weak
labels lowered accuracy at every count of human labels from 20 to 160. So the trainer decides,
on the human labels alone: cross-validated accuracy (folds of the human labels; every candidate
also learns from all the weak labels, never scored on them) of human-only training against
human plus weak labels at a few weights, and keeps weak labels only when one weight beats
human-only. A weight is the weak labels' total mass relative to the human labels' (each weak
label also counts in proportion to its confidence), so a pool a hundred times larger does not
drown the people's labels a hundred times more.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold

MASS_RATIOS = (0.5, 1.0, 2.0)  # weak labels' total weight over the human labels' count


@dataclass
class WeakLabels:
    """Weak labels of items people did not label: their rows, labels and confidence."""

    rows: pd.DataFrame
    labels: pd.Series
    confidence: np.ndarray


def choose_training(pipeline, rows: pd.DataFrame, labels: pd.Series, weak: WeakLabels, max_folds: int = 5) -> tuple:
    """``(rows, labels, sample weights or None, report)`` to fit ``pipeline`` on.

    ``report``: ``{used, weakLabels, humanOnly, withWeak: {ratio: accuracy}, ratio, folds}``;
    accuracies are None when the human labels are too few to cross-validate (then weak labels
    are not used: nothing shows they help).
    """
    report = {"used": False, "weakLabels": int(len(weak.labels)), "humanOnly": None, "withWeak": {}, "ratio": None,
              "folds": 0}
    folds = min(max_folds, int(labels.value_counts().min())) if len(labels) else 0
    if not len(weak.labels) or folds < 2:
        return rows, labels, None, report
    split = list(StratifiedKFold(n_splits=folds, shuffle=True, random_state=0).split(rows, labels))
    report["folds"] = folds
    report["humanOnly"] = _accuracy(pipeline, rows, labels, weak, split, None)
    for ratio in MASS_RATIOS:
        report["withWeak"][str(ratio)] = _accuracy(pipeline, rows, labels, weak, split, ratio)
    best = max(MASS_RATIOS, key=lambda r: report["withWeak"][str(r)])
    if report["withWeak"][str(best)] <= report["humanOnly"]:
        return rows, labels, None, report
    report.update(used=True, ratio=best)
    combined_rows = pd.concat([rows, weak.rows], ignore_index=True)
    combined_labels = pd.concat([labels, weak.labels], ignore_index=True)
    return combined_rows, combined_labels, _weights(len(labels), weak.confidence, best), report


def _weights(humans: int, confidence: np.ndarray, ratio: float) -> np.ndarray:
    weak = np.asarray(confidence, dtype=float)
    weak = weak * (ratio * humans / max(weak.sum(), 1e-12))
    return np.concatenate([np.ones(humans), weak])


def _accuracy(pipeline, rows, labels, weak: WeakLabels, split: list, ratio: float | None) -> float:
    """Mean accuracy over the folds of the human labels, learning from the weak labels at ``ratio``."""
    scores = []
    for train, test in split:
        model = clone(pipeline)
        fit_rows, fit_labels = rows.iloc[train], labels.iloc[train]
        weights = None
        if ratio is not None:
            fit_rows = pd.concat([fit_rows, weak.rows], ignore_index=True)
            fit_labels = pd.concat([fit_labels, weak.labels], ignore_index=True)
            weights = _weights(len(train), weak.confidence, ratio)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(fit_rows, fit_labels, **({"classifier__sample_weight": weights} if weights is not None else {}))
        scores.append(float((model.predict(rows.iloc[test]) == labels.iloc[test].to_numpy()).mean()))
    return round(float(np.mean(scores)), 6)
