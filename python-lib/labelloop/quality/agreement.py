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

from labelloop.store.journal import Journal

MIN_PAIR_ITEMS = 5  # a kappa on fewer common items says little


def team_agreement(journal: Journal) -> dict:
    """``agreement`` of the journal's current labels (a skip says nothing about the label)."""
    return agreement(journal.shared_labels())


def agreement(answers: pd.DataFrame) -> dict:
    """``answers``: one row per (item, annotator) with columns ``item_id``, ``annotator``, ``label``."""
    answers = answers[["item_id", "annotator", "label"]].dropna().astype(str)
    shared = answers[answers.groupby("item_id")["annotator"].transform("size") >= 2].reset_index(drop=True)
    items, item_codes = np.unique(shared["item_id"].to_numpy(), return_inverse=True)
    categories, label_codes = np.unique(shared["label"].to_numpy(), return_inverse=True)
    counts = np.zeros((len(items), len(categories)))  # items x categories
    np.add.at(counts, (item_codes, label_codes), 1)
    coincidences = _coincidences(counts)
    return {"alpha": _alpha(coincidences), "items": int(len(items)),
            "pairs": _pair_kappas(shared), "annotators": _consensus_agreement(shared, counts, item_codes, label_codes),
            "categories": _category_agreement(coincidences, categories.tolist())}


def _coincidences(counts: np.ndarray) -> np.ndarray:
    """o[c, k]: pairs of answers (c, k) within items, each item weighted 1 / (answers - 1)."""
    if not len(counts):
        return np.zeros((counts.shape[1], counts.shape[1]))
    weighted = counts / (counts.sum(axis=1) - 1)[:, None]
    return weighted.T @ counts - np.diag(weighted.sum(axis=0))


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
    """Cohen's kappa, (observed - chance) / (1 - chance), of each pair on their common items:
    every pair's agreement and label counts come from one self-join, counted with numpy."""
    names, who = np.unique(shared["annotator"].to_numpy(), return_inverse=True)
    categories, label = np.unique(shared["label"].to_numpy(), return_inverse=True)
    answers = pd.DataFrame({"item": shared["item_id"].to_numpy(), "who": who, "label": label})
    both = answers.merge(answers, on="item", suffixes=("_a", "_b"))
    both = both[both["who_a"] < both["who_b"]]
    pairs, pair = np.unique(both["who_a"].to_numpy() * len(names) + both["who_b"].to_numpy(), return_inverse=True)
    items = np.bincount(pair, minlength=len(pairs))
    observed = np.bincount(pair, weights=both["label_a"].to_numpy() == both["label_b"].to_numpy(),
                           minlength=len(pairs)) / np.maximum(items, 1)
    shares_a, shares_b = (np.zeros((len(pairs), len(categories))) for _ in range(2))
    np.add.at(shares_a, (pair, both["label_a"].to_numpy()), 1)
    np.add.at(shares_b, (pair, both["label_b"].to_numpy()), 1)
    chance = (shares_a * shares_b).sum(axis=1) / np.maximum(items, 1) ** 2
    found = []
    for n, key in enumerate(pairs):
        if items[n] >= MIN_PAIR_ITEMS:
            kappa = None if chance[n] >= 1 else float((observed[n] - chance[n]) / (1 - chance[n]))  # one label: undefined
            found.append({"a": str(names[key // len(names)]), "b": str(names[key % len(names)]), "kappa": kappa,
                          "items": int(items[n])})
    return found


def _consensus_agreement(shared: pd.DataFrame, counts: np.ndarray, item_codes: np.ndarray,
                         label_codes: np.ndarray) -> dict:
    """Per annotator: the share of answers equal to the others' majority on the item."""
    if not len(shared):
        return {}
    others = counts[item_codes] - np.eye(counts.shape[1])[label_codes]  # the item's votes but this one
    top = others.max(axis=1)
    decided = (others == top[:, None]).sum(axis=1) == 1  # the others do not tie
    agreed = others.argmax(axis=1) == label_codes
    names, who = np.unique(shared["annotator"].to_numpy()[decided], return_inverse=True)
    items = np.bincount(who, minlength=len(names))
    shares = np.bincount(who, weights=agreed[decided], minlength=len(names)) / np.maximum(items, 1)
    return {str(name): {"agreement": float(share), "items": int(n)} for name, share, n in zip(names, shares, items)}


def _category_agreement(coincidences: np.ndarray, categories: list) -> dict:
    totals = coincidences.sum(axis=1)
    return {str(c): {"agreement": float(coincidences[n, n] / totals[n]) if totals[n] else None,
                     "answers": int(round(totals[n]))} for n, c in enumerate(categories)}
