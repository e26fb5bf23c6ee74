"""Suspected label errors, in the manner of confident learning (Northcutt, Jiang and Chuang,
"Confident Learning: Estimating Uncertainty in Dataset Labels", JAIR 2021), written here:
cleanlab, which implements it, is AGPL-licensed and the plugin is Apache-2.0.

From out-of-fold probabilities (each item scored by a model that did not learn from it):

- each category ``j`` gets a threshold: the mean probability of ``j`` over the items labeled
  ``j`` (how sure the model is, on average, of that category's own items). A per-category
  threshold keeps a category the model is less sure of from being flagged wholesale;
- an item is confidently of category ``j`` when its probability of ``j`` reaches that threshold
  (the likeliest such ``j`` when several do);
- a suspect is an item confidently of another category than its label. Suspects are ranked by
  how unlikely the model finds the given label (``score`` = 1 - its probability), the most
  suspicious first.
"""
from __future__ import annotations

import numpy as np


def suspects(item_ids: list, labels: list, classes: list, probabilities: np.ndarray) -> list:
    """``[{item_id, label, suggested, score}]`` for the suspected errors, most suspicious first."""
    probabilities = np.asarray(probabilities, dtype=float)
    given = np.asarray([classes.index(str(label)) for label in labels])
    if not len(given):
        return []
    own = probabilities[np.arange(len(given)), given]
    thresholds = np.array([own[given == j].mean() if (given == j).any() else np.inf for j in range(len(classes))])
    confident = np.where(probabilities >= thresholds, probabilities, -np.inf)
    likeliest = confident.argmax(axis=1)
    flagged = np.isfinite(confident.max(axis=1)) & (likeliest != given)
    order = [n for n in np.argsort(own, kind="stable") if flagged[n]]
    return [{"item_id": str(item_ids[n]), "label": classes[given[n]], "suggested": classes[likeliest[n]],
             "score": round(float(1 - own[n]), 6)} for n in order]
