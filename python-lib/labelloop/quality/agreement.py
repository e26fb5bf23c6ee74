"""How much annotators agree (DESIGN.md section 10), from every annotator's current answer.

Only items with two answers or more say anything about agreement; the others are left out and
every number comes with how many items (or answers) it rests on, so that a 2/2 is not read as
certainty. All of it is computed on count matrices (items x categories), never item by item,
so 100k items with ten annotators take a moment.

- ``alpha``: Krippendorff's alpha for nominal data (1 = perfect, 0 = chance, below 0 = worse),
  from the coincidence matrix of the answers (Krippendorff, "Computing Krippendorff's
  Alpha-Reliability", 2011).
- ``pairs``: Cohen's kappa of each pair of annotators on the items both answered, for pairs
  with at least ``MIN_PAIR_ITEMS`` of them.
- ``annotators``: each annotator's share of answers equal to the majority of the *other*
  answers on the item (items where the others tie are left out): the annotator's own vote does
  not flatter them.
- ``categories``: per category, the share of its pairable answers matched by the same category
  on the same item (the coincidence matrix's diagonal over its margin).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score

from labelloop.store.journal import LABELED, Journal

MIN_PAIR_ITEMS = 5  # a kappa on fewer common items says little


def team_agreement(journal: Journal) -> dict:
    """``agreement`` of the journal's current labels (a skip says nothing about the label)."""
    answers = journal.current_frame()
    return agreement(answers[answers["status"] == LABELED])


def agreement(answers: pd.DataFrame) -> dict:
    """``answers``: one row per (item, annotator) with columns ``item_id``, ``annotator``, ``label``."""
    answers = answers[["item_id", "annotator", "label"]].dropna().astype(str)
    shared = answers[answers.groupby("item_id")["annotator"].transform("size") >= 2]
    counts = pd.crosstab(shared["item_id"], shared["label"])  # items x categories
    coincidences = _coincidences(counts.to_numpy(dtype=float))
    return {"alpha": _alpha(coincidences), "items": int(len(counts)),
            "pairs": _pair_kappas(shared), "annotators": _consensus_agreement(shared),
            "categories": _category_agreement(coincidences, list(counts.columns))}


def _coincidences(counts: np.ndarray) -> np.ndarray:
    """o[c, k]: pairs of answers (c, k) within items, each item weighted 1 / (answers - 1)."""
    if not len(counts):
        return np.zeros((counts.shape[1], counts.shape[1]))
    weights = 1.0 / (counts.sum(axis=1) - 1)
    return (counts * weights[:, None]).T @ counts - np.diag((counts * weights[:, None]).sum(axis=0))


def _alpha(coincidences: np.ndarray) -> float | None:
    """1 - observed / expected disagreement; None when nothing can disagree (one category or none)."""
    totals = coincidences.sum(axis=1)
    n = totals.sum()
    expected = (n * n - (totals ** 2).sum()) / (n - 1) if n > 1 else 0.0
    if expected <= 0:
        return None
    observed = n - np.trace(coincidences)
    return float(1 - observed / expected)


def _pair_kappas(shared: pd.DataFrame) -> list:
    table = shared.pivot(index="item_id", columns="annotator", values="label")
    names = sorted(table.columns)
    pairs = []
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            both = table[[first, second]].dropna()
            if len(both) < MIN_PAIR_ITEMS:
                continue
            kappa = cohen_kappa_score(both[first], both[second])
            pairs.append({"a": first, "b": second, "kappa": None if np.isnan(kappa) else float(kappa),
                          "items": int(len(both))})
    return pairs


def _consensus_agreement(shared: pd.DataFrame) -> dict:
    """Per annotator: the share of answers equal to the others' majority on the item."""
    votes = shared.groupby(["item_id", "label"]).size().rename("votes").reset_index()
    joined = shared.merge(votes, on="item_id", suffixes=("", "_other"))
    # the others' votes: the annotator's own answer removed from its own label's count
    joined["votes"] -= (joined["label"] == joined["label_other"]).astype(int)
    best = joined.groupby(["item_id", "annotator"])["votes"].transform("max")
    top = joined[(joined["votes"] == best) & (best > 0)]
    winners = top.groupby(["item_id", "annotator"]).agg(
        label=("label", "first"), majority=("label_other", "first"), ties=("label_other", "size"))
    decided = winners[winners["ties"] == 1]
    agreed = (decided["label"] == decided["majority"]).groupby(level="annotator")
    return {str(name): {"agreement": float(share), "items": int(n)}
            for name, share, n in zip(agreed.mean().index, agreed.mean(), agreed.size())}


def _category_agreement(coincidences: np.ndarray, categories: list) -> dict:
    totals = coincidences.sum(axis=1)
    return {str(c): {"agreement": float(coincidences[n, n] / totals[n]) if totals[n] else None,
                     "answers": int(round(totals[n]))} for n, c in enumerate(categories)}
