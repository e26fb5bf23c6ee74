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
  chance explains: three standard deviations of a Poisson count); majority vote otherwise. The
  check needs more counts than the model has rates: with few rules (four rules and three
  categories: four firing and six co-firing counts against two balance and eight rule rates) any
  votes fit, the check says nothing, and majority vote labels.

Majority vote's ties go to the category the model rates highest (``tie_breaker``), fitted with each
group of same-category rules that fire together beyond the fit counted as one rule (a rule and its
near copy are one piece of evidence, not two), and to the first category when the votes alone cannot
pin the model's rates down (no human labels and no spare counts).
"""
from __future__ import annotations

import numpy as np

from labelloop.rules.label_model import fit_label_model, fit_patterns, majority_vote, vote_patterns
from labelloop.rules.votes import ABSTAIN

FOLDS = 5
MISFIT = 0.25  # largest relative gap in co-firings at which the fit is trusted


def choose_method(votes: np.ndarray, codes: np.ndarray, categories: int, gold: np.ndarray,
                  voters: np.ndarray | None = None) -> dict:
    """``{method, decided_by, gold_accuracy, majority_gold_accuracy, gold[, misfit]}``;
    ``method`` is "label model" or "majority vote"; accuracies are None without checked items.
    ``voters[j]``: which voter column ``j`` is (an LLM's columns share one); default, one each."""
    checked = (votes != ABSTAIN).any(axis=1) & (gold >= 0)
    report = {"gold_accuracy": None, "majority_gold_accuracy": None, "gold": int(checked.sum())}
    if checked.any():
        model, majority = _cross_validated(votes, codes, categories, gold, np.flatnonzero(checked))
        report.update(gold_accuracy=float(model / checked.sum()), majority_gold_accuracy=float(majority / checked.sum()))
        if model != majority:
            method = "label model" if model > majority else "majority vote"
            return {**report, "method": method, "decided_by": "human labels"}
    misfit = pair_misfit(votes, codes, categories, gold, voters)
    trusted = misfit <= MISFIT and checkable(votes.shape[1], categories)
    return {**report, "method": "label model" if trusted else "majority vote", "decided_by": "fit", "misfit": misfit}


def checkable(rules: int, categories: int) -> bool:
    """Whether the co-firing check can fail: more firing and co-firing counts than the model's rates."""
    return rules * (rules - 1) // 2 + rules > categories - 1 + 2 * rules


def tie_breaker(votes: np.ndarray, codes: np.ndarray, categories: int, gold: np.ndarray):
    """Items x categories, the posterior that breaks majority vote's ties: the model fitted with the
    same-category rules that fire together beyond the fit merged; None (the first category) when
    neither human labels nor the co-firings can pin its rates down."""
    if not (gold[(votes != ABSTAIN).any(axis=1)] >= 0).any() and not checkable(votes.shape[1], categories):
        return None
    gaps = pair_gaps(votes, codes, categories, gold)
    group = np.arange(len(codes))
    for i, j in zip(*np.nonzero(np.triu(gaps > MISFIT))):
        if codes[i] == codes[j]:
            group[group == group[j]] = group[i]
    merged = np.unique(group)
    fires = [(votes[:, group == g] != ABSTAIN).any(axis=1) for g in merged]
    merged_votes = np.stack([np.where(f, codes[g], ABSTAIN) for f, g in zip(fires, merged)], axis=1)
    return fit_label_model(merged_votes, codes[merged], categories, gold)[0]


def pair_misfit(votes: np.ndarray, codes: np.ndarray, categories: int, gold: np.ndarray | None = None,
                voters: np.ndarray | None = None) -> float:
    """The worst relative gap, over pairs of rules, between how many items both fire on and how
    many the fitted model predicts, less three standard deviations of chance (0: a perfect fit).
    Columns of one voter (``voters``) never fire together by construction: their pairs are left out."""
    gaps = pair_gaps(votes, codes, categories, gold)
    if voters is not None:
        gaps[voters[:, None] == voters[None, :]] = 0
    return float(gaps.max()) if gaps.size else 0.0


def pair_gaps(votes: np.ndarray, codes: np.ndarray, categories: int, gold: np.ndarray | None = None) -> np.ndarray:
    """Rules x rules: ``pair_misfit``'s gap for each pair (0 on the diagonal)."""
    patterns, _ = vote_patterns(votes != ABSTAIN, categories, gold)
    fitted = fit_patterns(patterns, codes, categories)[1]
    rates = np.where(np.arange(categories)[:, None] == codes[None, :], fitted.alpha, fitted.beta)  # K x m
    expected = len(votes) * (rates.T * fitted.prior) @ rates  # m x m: co-firings predicted
    items = patterns.weights + patterns.gold.sum(axis=1)
    observed = patterns.fires.T @ (patterns.fires * items[:, None])
    gap = np.maximum(np.abs(observed - expected) - 3 * np.sqrt(expected), 0) / np.maximum(expected, 1)
    np.fill_diagonal(gap, 0)
    return gap


def _cross_validated(votes, codes, categories: int, gold: np.ndarray, checked: np.ndarray) -> tuple:
    """How many of the ``checked`` items each method gets right: the model fitted each time
    without the held-out fold's human labels, majority vote with its ties broken as ``tie_breaker``
    does with the same labels."""
    folds = np.array_split(np.random.default_rng(0).permutation(checked), min(FOLDS, len(checked)))
    model = majority = 0
    for fold in folds:
        taught = gold.copy()
        taught[fold] = -1
        posterior = fit_label_model(votes, codes, categories, taught)[0][fold]
        model += int((posterior.argmax(axis=1) == gold[fold]).sum())
        ties = tie_breaker(votes, codes, categories, taught)
        majority += int((majority_vote(votes[fold], categories, None if ties is None else ties[fold]) == gold[fold]).sum())
    return model, majority
