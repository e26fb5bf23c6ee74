"""Whether the weak labels come from the label model or from majority vote: a held-out check.

The label model is only worth its weights when they are right, and majority vote is the safe
choice when nothing shows they are. Majority vote here lets the model break its ties: where two
categories get as many votes, majority vote has no opinion, and any model better than a coin flip
there does better than taking the first. Two checks, in this order:

- the human labels on items the rules cover, cross-validated: the model is fitted with the other
  folds' labels and judged on the held-out fold's, majority vote (ties broken by that model) on
  the same items; the one with more of them right wins;
- when there are none, or both get the same number right, the model's own fit decides. The model
  assumes rules fire independently of each other given the category; if so, the share of items
  on which two rules fire together is what the fitted rates predict. Rules that fire together
  for another reason (two thresholds on related columns, a keyword inside another) break that,
  and then their fitted weights are not to be trusted. The model is chosen when, for every pair
  of rules, the co-firings observed are within ``MISFIT`` of the predicted ones (beyond what
  chance explains: three standard deviations of a Poisson count); majority vote otherwise.
"""
from __future__ import annotations

import numpy as np

from labelloop.rules.label_model import fit_label_model, fit_patterns, majority_vote, vote_patterns
from labelloop.rules.votes import ABSTAIN

FOLDS = 5
MISFIT = 0.25  # largest relative gap in co-firings at which the fit is trusted


def choose_method(votes: np.ndarray, codes: np.ndarray, categories: int, gold: np.ndarray) -> dict:
    """``{method, decided_by, gold_accuracy, majority_gold_accuracy, gold[, misfit]}``;
    ``method`` is "label model" or "majority vote"; accuracies are None without checked items."""
    checked = (votes != ABSTAIN).any(axis=1) & (gold >= 0)
    report = {"gold_accuracy": None, "majority_gold_accuracy": None, "gold": int(checked.sum())}
    if checked.any():
        model, majority = _cross_validated(votes, codes, categories, gold, np.flatnonzero(checked))
        report.update(gold_accuracy=float(model / checked.sum()), majority_gold_accuracy=float(majority / checked.sum()))
        if model != majority:
            method = "label model" if model > majority else "majority vote"
            return {**report, "method": method, "decided_by": "human labels"}
    misfit = pair_misfit(votes, codes, categories, gold)
    return {**report, "method": "label model" if misfit <= MISFIT else "majority vote", "decided_by": "fit",
            "misfit": misfit}


def pair_misfit(votes: np.ndarray, codes: np.ndarray, categories: int, gold: np.ndarray | None = None) -> float:
    """The worst relative gap, over pairs of rules, between how many items both fire on and how
    many the fitted model predicts, less three standard deviations of chance (0: a perfect fit)."""
    patterns, _ = vote_patterns(votes != ABSTAIN, categories, gold)
    fitted = fit_patterns(patterns, codes, categories)[1]
    rates = np.where(np.arange(categories)[:, None] == codes[None, :], fitted.alpha, fitted.beta)  # K x m
    expected = len(votes) * (rates.T * fitted.prior) @ rates  # m x m: co-firings predicted
    items = patterns.weights + patterns.gold.sum(axis=1)
    observed = patterns.fires.T @ (patterns.fires * items[:, None])
    gap = np.maximum(np.abs(observed - expected) - 3 * np.sqrt(expected), 0) / np.maximum(expected, 1)
    np.fill_diagonal(gap, 0)
    return float(gap.max()) if gap.size else 0.0


def _cross_validated(votes, codes, categories: int, gold: np.ndarray, checked: np.ndarray) -> tuple:
    """How many of the ``checked`` items each method gets right: the model fitted each time
    without the held-out fold's human labels, majority vote with that model breaking its ties."""
    folds = np.array_split(np.random.default_rng(0).permutation(checked), min(FOLDS, len(checked)))
    model = majority = 0
    for fold in folds:
        taught = gold.copy()
        taught[fold] = -1
        posterior = fit_label_model(votes, codes, categories, taught)[0][fold]
        model += int((posterior.argmax(axis=1) == gold[fold]).sum())
        majority += int((majority_vote(votes[fold], categories, posterior) == gold[fold]).sum())
    return model, majority
