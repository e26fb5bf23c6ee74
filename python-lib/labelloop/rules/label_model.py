"""One label per item from the rules' votes: a Dawid-Skene-style model fitted by EM.

Each rule ``j`` votes for its one category ``c_j`` or abstains. The model has, per rule, the
chance it fires on an item of its category (``alpha_j``) and on an item of another category
(``beta_j``), and the categories' balance ``prior``; it needs no ground truth: EM finds the values
under which the votes observed are likeliest, so a rule that often fires with rules voting
otherwise is learned to be less reliable, which majority vote cannot do. Items people labeled
enter with their label fixed (semi-supervised EM). Abstaining is evidence too: a rule that
fires on most of its category's items says something when it does not fire.

Items with the same votes have the same posterior, so EM runs over the distinct vote patterns,
weighted by how many items have them: a million items with twenty rules have a few thousand
patterns, and a fit takes well under a second.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labelloop.rules.votes import ABSTAIN

ITERATIONS = 200
TOLERANCE = 1e-7


@dataclass
class Fitted:
    prior: np.ndarray  # K
    alpha: np.ndarray  # m: P(rule fires | its category)
    beta: np.ndarray  # m: P(rule fires | another category)

    def precision(self, codes: np.ndarray) -> np.ndarray:
        """P(its category | the rule fires), per rule: what its accuracy is estimated to be."""
        hit = self.alpha * self.prior[codes]
        return hit / (hit + self.beta * (1 - self.prior[codes]))


def fit_label_model(votes: np.ndarray, codes: np.ndarray, categories: int, gold: np.ndarray | None = None) -> tuple:
    """``(posteriors, fitted)``: ``posteriors[i]`` over the categories for every item.

    ``votes``: items x rules, the rule's category code or ``ABSTAIN``; ``codes[j]``: rule ``j``'s
    category; ``gold[i]``: item ``i``'s human label code, or -1.
    """
    fires = votes != ABSTAIN
    gold = np.full(len(votes), -1) if gold is None else np.asarray(gold)
    patterns, inverse = _patterns(fires)
    weights = np.bincount(inverse[gold < 0], minlength=len(patterns)).astype(np.float64)  # items not labeled
    known = _gold_counts(fires[gold >= 0], gold[gold >= 0], categories)
    one_hot = np.eye(categories)[codes].T  # K x m: rule j votes for category k
    posterior = _majority(patterns, codes, categories)
    fitted = None
    for _ in range(ITERATIONS):
        fitted = _maximize(patterns, weights, posterior, known, codes, categories)
        updated = _expect(patterns, fitted, one_hot)
        done = np.abs(updated - posterior).max() < TOLERANCE if len(updated) else True
        posterior = updated
        if done:
            break
    if fitted is None:  # no items: the smoothed guesses
        fitted = _maximize(patterns, weights, posterior, known, codes, categories)
    return posterior[inverse], fitted


def majority_vote(votes: np.ndarray, categories: int) -> np.ndarray:
    """Each item's most voted category (ties: the first), -1 where no rule votes."""
    counts = np.stack([(votes == k).sum(axis=1) for k in range(categories)], axis=1)
    return np.where(counts.any(axis=1), counts.argmax(axis=1), -1)


def _patterns(fires: np.ndarray) -> tuple:
    """The distinct rows of ``fires``, and which of them each item has. Up to 62 rules, a row is
    read as the bits of one integer: sorting integers is far quicker than sorting rows."""
    if fires.shape[1] > 62:
        unique, inverse = np.unique(fires, axis=0, return_inverse=True)
        return unique.astype(np.float64), inverse.ravel()
    bits = np.int64(1) << np.arange(fires.shape[1], dtype=np.int64)
    keys, inverse = np.unique(fires.astype(np.int64) @ bits, return_inverse=True)
    return ((keys[:, None] & bits) != 0).astype(np.float64), inverse


def _gold_counts(fires: np.ndarray, gold: np.ndarray, categories: int) -> tuple:
    """Per category: how many labeled items, and how often each rule fired on them (K x m)."""
    one_hot = np.eye(categories)[gold]  # n_gold x K
    return one_hot.sum(axis=0), one_hot.T @ fires.astype(np.float64)


def _majority(patterns: np.ndarray, codes: np.ndarray, categories: int) -> np.ndarray:
    """The starting posterior: each pattern's votes shared out; none: every category alike."""
    counts = patterns @ np.eye(categories)[codes]  # patterns x K
    counts[counts.sum(axis=1) == 0] = 1.0
    return counts / counts.sum(axis=1, keepdims=True)


def _maximize(patterns, weights, posterior, known, codes, categories) -> Fitted:
    """Counts expected under ``posterior`` (plus the labeled items'), smoothed by one each way."""
    known_per_category, known_fires = known
    weighted = posterior * weights[:, None]  # patterns x K
    per_category = weighted.sum(axis=0) + known_per_category  # K
    fired = weighted.T @ patterns + known_fires  # K x m: expected firings on items of category k
    total, fired_total = per_category.sum(), fired.sum(axis=0)
    rules = np.arange(len(codes))
    mine, fired_mine = per_category[codes], fired[codes, rules]
    alpha = (fired_mine + 1) / (mine + 2)
    beta = (fired_total - fired_mine + 1) / (total - mine + 2)
    prior = (per_category + 1) / (total + categories)
    return Fitted(prior, alpha, beta)


def _expect(patterns: np.ndarray, fitted: Fitted, one_hot: np.ndarray) -> np.ndarray:
    """The posterior of each pattern's category under ``fitted``."""
    on_other = patterns @ np.log(fitted.beta) + (1 - patterns) @ np.log1p(-fitted.beta)  # patterns
    gain = (patterns * (np.log(fitted.alpha) - np.log(fitted.beta))
            + (1 - patterns) * (np.log1p(-fitted.alpha) - np.log1p(-fitted.beta)))  # patterns x m
    scores = np.log(fitted.prior)[None, :] + on_other[:, None] + gain @ one_hot.T
    scores -= scores.max(axis=1, keepdims=True)
    probabilities = np.exp(scores)
    return probabilities / probabilities.sum(axis=1, keepdims=True)
