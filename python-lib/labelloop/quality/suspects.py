"""Suspected label errors by confident learning (Northcutt, Jiang and Chuang, "Confident Learning:
Estimating Uncertainty in Dataset Labels", JAIR 2021), written here from the paper: cleanlab,
which implements it, is AGPL-licensed and the plugin is Apache-2.0.

From out-of-fold probabilities (each item scored by a model that did not learn from it):

1. each category ``j`` gets a threshold: the mean probability of ``j`` over the items labeled
   ``j`` (how sure the model is, on average, of that category's own items), so a category the
   model is less sure of is not flagged wholesale;
2. the confident joint counts, for each given label ``i`` and category ``j``, the items labeled
   ``i`` that are confidently ``j`` (``j`` reaches its threshold, the likeliest such ``j`` when
   several do). Scaled so each row sums to the number of items labeled ``i``, its off-diagonal
   cell ``(i, j)`` estimates how many items labeled ``i`` are truly ``j``;
3. the suspects are those two pruning rules of the paper find, together:

   - by noise rate: for each off-diagonal cell, that many items labeled ``i`` are suspected to be
     ``j``, those where the model's probability of ``j`` most exceeds its probability of ``i``;
   - by category: for each given label ``i``, as many items as its row's off-diagonal cells
     count, those with the lowest probability of ``i`` (suspected to be their likeliest other
     category).

Suspects come most suspicious first: the least likely given label first (``score`` = 1 - its
probability). The counts decide how many items are suspected; the ranking decides which come
first to a reviewer. Measured against the former threshold filter and against ranking every item
by its label's probability in bench/suspects.py (docs/how-to/team-quality.md, "Suspected label errors").
"""
from __future__ import annotations

import numpy as np


def suspects(item_ids: list, labels: list, classes: list, probabilities: np.ndarray) -> list:
    """``[{item_id, label, suggested, score}]`` for the suspected errors, most suspicious first."""
    probabilities = np.asarray(probabilities, dtype=float)
    given = np.asarray([classes.index(str(label)) for label in labels], dtype=int)
    if not len(given):
        return []
    suggested = noise_rate_pruning(given, probabilities)
    own = probabilities[np.arange(len(given)), given]
    others = np.where(np.arange(probabilities.shape[1]) == given[:, None], -np.inf, probabilities)
    by_category = prune_by_category(given, probabilities) & (suggested < 0)
    suggested[by_category] = others[by_category].argmax(axis=1)
    order = [n for n in np.argsort(own, kind="stable") if suggested[n] >= 0]
    return [{"item_id": str(item_ids[n]), "label": classes[given[n]], "suggested": classes[suggested[n]],
             "score": round(float(1 - own[n]), 6)} for n in order]


def confident_joint(given: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """``(k, k)`` counts: row ``i`` (given label), column ``j`` (the category the item is
    confidently of), scaled so that row ``i`` sums to the number of items labeled ``i``."""
    categories = probabilities.shape[1]
    own = probabilities[np.arange(len(given)), given]
    thresholds = np.array([own[given == j].mean() if (given == j).any() else np.inf for j in range(categories)])
    confident = np.where(probabilities >= thresholds, probabilities, -np.inf)
    sure = np.isfinite(confident.max(axis=1))
    counts = np.zeros((categories, categories))
    np.add.at(counts, (given[sure], confident[sure].argmax(axis=1)), 1)
    sizes = np.bincount(given, minlength=categories)
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts * sizes[:, None], totals, out=np.zeros_like(counts), where=totals > 0)


def noise_rate_pruning(given: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """The category each item is suspected to truly be, or -1 where its label is not suspected.

    For every off-diagonal cell ``(i, j)`` of the confident joint, its count (rounded) of the items
    labeled ``i`` with the largest margin ``p(j) - p(i)`` are suspected to be ``j``; an item
    suspected in several cells keeps the one of its largest margin."""
    joint = confident_joint(given, probabilities)
    own = probabilities[np.arange(len(given)), given]
    suggested, best = np.full(len(given), -1), np.full(len(given), -np.inf)
    for i, j in zip(*np.nonzero(np.round(joint) * (1 - np.eye(len(joint))))):
        members = np.flatnonzero(given == i)
        margin = probabilities[members, j] - own[members]
        widest = members[np.argsort(-margin, kind="stable")[:int(round(joint[i, j]))]]
        wider = probabilities[widest, j] - own[widest] > best[widest]
        suggested[widest[wider]], best[widest[wider]] = j, (probabilities[widest, j] - own[widest])[wider]
    return suggested


def prune_by_category(given: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """Whether each item is among the least likely labels of its category, as many as the
    confident joint's row for that category counts outside its diagonal (rounded)."""
    joint = confident_joint(given, probabilities)
    own = probabilities[np.arange(len(given)), given]
    pruned = np.zeros(len(given), dtype=bool)
    for i in range(len(joint)):
        members = np.flatnonzero(given == i)
        wrong = int(round(joint[i].sum() - joint[i, i]))
        pruned[members[np.argsort(own[members], kind="stable")[:wrong]]] = True
    return pruned
