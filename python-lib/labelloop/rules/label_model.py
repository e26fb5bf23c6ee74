"""One label per item from the rules' votes: a weighted vote, with weights fitted on the votes.

Each rule ``j`` votes for its one category ``c_j`` or abstains. The model has, per rule, the
chance it fires on an item of its category (``alpha_j``) and on an item of another category
(``beta_j``), and the categories' balance ``prior``. These are fitted without ground truth by
EM in the manner of Dawid and Skene's: the values under which the pattern of which rules fire
together is likeliest, so a rule that often fires with rules voting otherwise is learned to be
less reliable, which majority vote cannot know. Items people labeled enter with their label fixed.

Deciding an item, abstaining is not a vote: only the rules that vote count, each for its
category with the weight ``log(alpha_j / beta_j)``, plus the categories' balance among the
covered items (the fitted balance times each category's chance that some rule fires), and only
categories some rule voted for are candidates. A silent rule says nothing there (rules catch
some items of a category, and how often they stay silent depends on how the rules were written
more than on the item), and an item never gets a category no rule gave it. Whether to trust the weights over
majority vote is ``model_choice``'s to decide.

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
    prior: np.ndarray  # K: over all items
    alpha: np.ndarray  # m: P(rule fires | its category)
    beta: np.ndarray  # m: P(rule fires | another category)

    def precision(self, codes: np.ndarray) -> np.ndarray:
        """P(its category | the rule fires), per rule: what its accuracy is estimated to be."""
        hit = self.alpha * self.prior[codes]
        return hit / (hit + self.beta * (1 - self.prior[codes]))

    def covered_prior(self, one_hot: np.ndarray) -> np.ndarray:
        """Each category's share of the items some rule votes on, as the fitted rates imply."""
        fires = np.where(one_hot > 0, self.alpha, self.beta)  # K x m
        covered = self.prior * (1 - np.prod(1 - fires, axis=1))
        return covered / covered.sum() if covered.sum() > 0 else self.prior


@dataclass
class Patterns:
    """The distinct firing patterns (patterns x rules, 0/1), how many unlabeled items have each,
    and per pattern and category how many labeled items have it."""

    fires: np.ndarray
    weights: np.ndarray
    gold: np.ndarray  # patterns x K


def fit_label_model(votes: np.ndarray, codes: np.ndarray, categories: int, gold: np.ndarray | None = None) -> tuple:
    """``(posteriors, fitted)``: ``posteriors[i]`` over the categories for every item (over those
    voted for where any rule votes; the balance elsewhere). ``votes``: items x rules, the rule's
    category code or ``ABSTAIN``; ``codes[j]``: rule ``j``'s category; ``gold[i]``: item ``i``'s
    human label code, or -1."""
    patterns, inverse = vote_patterns(votes != ABSTAIN, categories, gold)
    posterior, fitted = fit_patterns(patterns, codes, categories)
    return posterior[inverse], fitted


def vote_counts(votes: np.ndarray, categories: int) -> np.ndarray:
    """Items x categories: how many rules vote for each category on each item."""
    return np.stack([(votes == k).sum(axis=1) for k in range(categories)], axis=1)


def majority_vote(votes: np.ndarray, categories: int, tie_break: np.ndarray | None = None) -> np.ndarray:
    """Each item's most voted category, -1 where no rule votes. Among categories tied for the
    most votes, the one ``tie_break`` (items x categories, such as the label model's posterior)
    rates highest; without it, the first."""
    counts = vote_counts(votes, categories)
    top = counts == counts.max(axis=1, keepdims=True)
    chosen = counts.argmax(axis=1) if tie_break is None else np.where(top, tie_break, -1.0).argmax(axis=1)
    return np.where(counts.any(axis=1), chosen, -1)


def vote_patterns(fires: np.ndarray, categories: int, gold: np.ndarray | None = None) -> tuple:
    """``(Patterns, inverse)``: ``inverse[i]`` is item ``i``'s pattern. Up to 62 rules, a row is
    read as the bits of one integer: sorting integers is far quicker than sorting rows."""
    gold = np.full(len(fires), -1) if gold is None else np.asarray(gold)
    if fires.shape[1] > 62:
        unique, inverse = np.unique(fires, axis=0, return_inverse=True)
        unique, inverse = unique.astype(np.float64), inverse.ravel()
    else:
        bits = np.int64(1) << np.arange(fires.shape[1], dtype=np.int64)
        keys, inverse = np.unique(fires.astype(np.int64) @ bits, return_inverse=True)
        unique = ((keys[:, None] & bits) != 0).astype(np.float64)
    weights = np.bincount(inverse[gold < 0], minlength=len(unique)).astype(np.float64)
    labeled = np.zeros((len(unique), categories))
    np.add.at(labeled, (inverse[gold >= 0], gold[gold >= 0]), 1.0)
    return Patterns(unique, weights, labeled), inverse


def fit_patterns(patterns: Patterns, codes: np.ndarray, categories: int) -> tuple:
    """``(posterior per pattern, Fitted)``: EM from majority vote's shares, then each covered
    pattern decided by its votes alone."""
    one_hot = np.eye(categories)[codes].T  # K x m: rule j votes for category k
    posterior = _majority(patterns.fires, codes, categories)
    fitted = _maximize(patterns, posterior, codes)
    for _ in range(ITERATIONS):
        updated = _expect(patterns.fires, fitted, one_hot)
        fitted = _maximize(patterns, updated, codes)
        done = np.abs(updated - posterior).max() < TOLERANCE if len(updated) else True
        posterior = updated
        if done:
            break
    return _decide(patterns.fires, fitted, one_hot), fitted


def _majority(fires: np.ndarray, codes: np.ndarray, categories: int) -> np.ndarray:
    """The starting posterior: each pattern's votes shared out; none: every category alike."""
    counts = fires @ np.eye(categories)[codes]  # patterns x K
    counts[counts.sum(axis=1) == 0] = 1.0
    return counts / counts.sum(axis=1, keepdims=True)


def _maximize(patterns: Patterns, posterior: np.ndarray, codes: np.ndarray) -> Fitted:
    """Counts expected under ``posterior`` (a labeled item counts as its label), smoothed by one each way."""
    counts = posterior * patterns.weights[:, None] + patterns.gold  # patterns x K
    per_category = counts.sum(axis=0)  # K
    fired = counts.T @ patterns.fires  # K x m: expected firings on items of category k
    total, fired_total = per_category.sum(), fired.sum(axis=0)
    rules = np.arange(len(codes))
    mine, fired_mine = per_category[codes], fired[codes, rules]
    alpha = (fired_mine + 1) / (mine + 2)
    beta = (fired_total - fired_mine + 1) / (total - mine + 2)
    prior = (per_category + 1) / (total + len(per_category))
    return Fitted(prior, alpha, beta)


def _expect(fires: np.ndarray, fitted: Fitted, one_hot: np.ndarray) -> np.ndarray:
    """The posterior of each pattern's category under ``fitted``, silent rules included: this
    is the likelihood EM climbs, which is what makes the rates identifiable."""
    on_other = fires @ np.log(fitted.beta) + (1 - fires) @ np.log1p(-fitted.beta)  # patterns
    gain = (fires * (np.log(fitted.alpha) - np.log(fitted.beta))
            + (1 - fires) * (np.log1p(-fitted.alpha) - np.log1p(-fitted.beta)))  # patterns x m
    return _normalized(np.log(fitted.prior)[None, :] + on_other[:, None] + gain @ one_hot.T)


def _decide(fires: np.ndarray, fitted: Fitted, one_hot: np.ndarray) -> np.ndarray:
    """Each pattern's posterior from the rules that vote only, over the categories voted for,
    from the balance among covered items; the balance where none votes."""
    voted = fires @ one_hot.T  # patterns x K
    scores = np.log(fitted.covered_prior(one_hot))[None, :] + (fires * np.log(fitted.alpha / fitted.beta)) @ one_hot.T
    scores = np.where(voted > 0, scores, -np.inf)
    scores[voted.sum(axis=1) == 0] = np.log(fitted.prior)
    return _normalized(scores)


def _normalized(scores: np.ndarray) -> np.ndarray:
    scores = scores - scores.max(axis=1, keepdims=True)
    probabilities = np.exp(scores)
    return probabilities / probabilities.sum(axis=1, keepdims=True)
