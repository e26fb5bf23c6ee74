"""The label model as ``labelloop weak`` uses it: rules of known accuracies, abstention rates and
class balance, applied to a table through ``label_pool``, against majority vote."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from labelloop.rules.label_model import fit_label_model, majority_vote
from labelloop.rules.spec import parse_rules
from labelloop.rules.votes import ABSTAIN
from labelloop.rules.weak import label_pool

DIFFER = [(0, 0.6, 0.02), (1, 0.6, 0.03), (2, 0.6, 0.02), (0, 0.5, 0.35), (0, 0.5, 0.35), (1, 0.4, 0.25)]
EQUAL = [(k % 3, 0.4, 0.08) for k in range(6)]
SKEWED = [(1, 0.5, 0.01), (1, 0.3, 0.05), (0, 0.3, 0.02), (0, 0.4, 0.3), (0, 0.3, 0.2), (1, 0.5, 0.3)]


def pool(balance, rates, items=10_000, seed=0):
    """A table with one 0/1 column per rule (``(category, P(fires | its category), P(fires | another))``),
    the rules reading them, and the items' true categories."""
    rng = np.random.default_rng(seed)
    categories = [f"c{k}" for k in range(len(balance))]
    truth = rng.choice(len(balance), items, p=balance)
    frame = pd.DataFrame({f"f{j}": (rng.random(items) < np.where(truth == c, on_own, on_other)).astype(int)
                          for j, (c, on_own, on_other) in enumerate(rates)})
    rules = parse_rules(json.dumps([{"name": f"r{j}", "label": categories[c], "column": f"f{j}", "op": "==", "value": 1}
                                    for j, (c, _, _) in enumerate(rates)]), frame.dtypes, categories)
    return frame, rules, categories, truth


def weak_accuracy(weak, categories, truth):
    return float(np.mean(np.array([categories.index(label) for label in weak.labels]) == truth[weak.rows]))


def majority_accuracy(frame, categories, truth, rates):
    votes = np.where(frame.to_numpy() == 1, np.array([c for c, _, _ in rates]), ABSTAIN)
    covered = (votes != ABSTAIN).any(axis=1)
    return float(np.mean(majority_vote(votes, len(categories))[covered] == truth[covered]))


@pytest.mark.parametrize("balance, rates", [([0.5, 0.3, 0.2], DIFFER), ([0.85, 0.15], SKEWED)])
def test_without_human_labels_it_beats_majority_vote_where_rules_differ_in_accuracy(balance, rates):
    frame, rules, categories, truth = pool(balance, rates)
    weak = label_pool(rules, frame, categories, np.full(len(frame), -1))
    assert weak.report["label_model"]["method"] == "label model"
    assert weak_accuracy(weak, categories, truth) > majority_accuracy(frame, categories, truth, rates) + 0.01


def test_with_equal_rules_it_ties_majority_vote():
    frame, rules, categories, truth = pool([0.5, 0.3, 0.2], EQUAL)
    weak = label_pool(rules, frame, categories, np.full(len(frame), -1))
    assert weak_accuracy(weak, categories, truth) == pytest.approx(majority_accuracy(frame, categories, truth, EQUAL),
                                                                   abs=0.005)


def test_human_labels_decide_by_cross_validation():
    frame, rules, categories, truth = pool([0.5, 0.3, 0.2], DIFFER, seed=1)
    gold = np.where(np.arange(len(truth)) < 300, truth, -1)
    judged = label_pool(rules, frame, categories, gold).report["label_model"]
    assert judged["decided_by"] == "human labels" and judged["gold"] > 250
    assert judged["method"] == "label model" and judged["gold_accuracy"] > judged["majority_gold_accuracy"] + 0.01


def test_dependent_rules_fall_back_to_majority_vote():
    """Three copies of one noisy rule: the model would take their agreement for reliability."""
    frame, rules, categories, truth = pool([0.7, 0.3], [(0, 0.5, 0.3), (1, 0.6, 0.05), (0, 0.3, 0.02)])
    frame["f3"] = frame["f4"] = frame["f0"]
    rules = parse_rules(json.dumps([{"name": f"r{j}", "label": "c0" if j in (0, 2, 3, 4) else "c1", "column": f"f{j}",
                                     "op": "==", "value": 1} for j in range(5)]), frame.dtypes, categories)
    judged = label_pool(rules, frame, categories, np.full(len(frame), -1)).report["label_model"]
    assert judged["decided_by"] == "fit" and judged["method"] == "majority vote" and judged["misfit"] > 0.25


def test_with_too_few_rules_to_check_the_fit_majority_vote_labels():
    """Four rules, three categories: ten firing and co-firing counts against ten rates, so any
    votes fit; rules that differ in accuracy do not make the model trusted, and with no human
    labels ties go to the first category, as majority vote's own."""
    rates = [(0, 0.6, 0.02), (1, 0.6, 0.03), (2, 0.6, 0.02), (0, 0.5, 0.35)]
    frame, rules, categories, truth = pool([0.5, 0.3, 0.2], rates)
    weak = label_pool(rules, frame, categories, np.full(len(frame), -1))
    judged = weak.report["label_model"]
    assert judged["decided_by"] == "fit" and judged["method"] == "majority vote" and judged["misfit"] < 0.25
    votes = np.where(frame.to_numpy() == 1, np.array([c for c, _, _ in rates]), ABSTAIN)
    first = majority_vote(votes, 3)[weak.rows]
    assert [categories[k] for k in first] == weak.labels


def test_an_item_gets_only_a_category_some_rule_voted_for():
    """Rules for the majority category that fire rarely: their silence is no vote for the minority."""
    rates = [(0, 0.1, 0.01), (0, 0.1, 0.02), (1, 0.6, 0.3), (1, 0.5, 0.2), (2, 0.4, 0.05)]
    frame, rules, categories, truth = pool([0.6, 0.25, 0.15], rates)
    votes = np.where(frame.to_numpy() == 1, np.array([c for c, _, _ in rates]), ABSTAIN)
    posterior = fit_label_model(votes, np.array([c for c, _, _ in rates]), 3)[0]
    covered = (votes != ABSTAIN).any(axis=1)
    voted = np.stack([(votes == k).any(axis=1) for k in range(3)], axis=1)
    assert (posterior[covered][~voted[covered]] == 0).all()
    assert (majority_vote(votes, 3)[covered] != posterior[covered].argmax(axis=1)).any()  # it does not just copy it
    weak = label_pool(rules, frame, categories, np.full(len(frame), -1))
    for label, fired in zip(weak.labels, weak.fired):
        assert label in {rules[int(name[1:])].label for name in fired}


def test_the_class_balance_does_not_collapse():
    """A skewed balance and rules that each cover a small share: the balance fitted stays near the
    truth's, and so do the weak labels' shares (not exactly: a noisy rule voting alone for the
    minority category misleads any vote-based label; majority vote's are off by 0.06 here)."""
    frame, rules, categories, truth = pool([0.85, 0.15], SKEWED, items=20_000)
    votes = np.where(frame.to_numpy() == 1, np.array([c for c, _, _ in SKEWED]), ABSTAIN)
    codes = np.array([c for c, _, _ in SKEWED])
    covered = (votes != ABSTAIN).any(axis=1)
    fitted = fit_label_model(votes, codes, 2)[1]
    true_shares = np.bincount(truth[covered], minlength=2) / covered.sum()
    assert fitted.covered_prior(np.eye(2)[codes].T) == pytest.approx(true_shares, abs=0.03)
    assert fitted.prior == pytest.approx([0.85, 0.15], abs=0.03)
    weak = label_pool(rules, frame, categories, np.full(len(frame), -1))
    shares = pd.Series(weak.labels).value_counts(normalize=True).reindex(categories).to_numpy()
    assert shares == pytest.approx(true_shares, abs=0.1) and shares.argmax() == 0


def exclusive_pool():
    """Two rules for c0 that never fire together (the fit is untrusted), a noisy one for c0 and a
    precise one for c1; the table, rules, categories, truth and votes."""
    frame, rules, categories, truth = pool([0.7, 0.3], [(0, 0.5, 0.3), (1, 0.6, 0.05), (0, 0.4, 0.05)])
    frame["f3"] = ((truth == 0) & (frame["f2"] == 0) & (np.random.default_rng(1).random(len(frame)) < 0.5)).astype(int)
    rules = parse_rules(json.dumps([{"name": f"r{j}", "label": "c1" if j == 1 else "c0", "column": f"f{j}",
                                     "op": "==", "value": 1} for j in range(4)]), frame.dtypes, categories)
    return frame, rules, categories, truth, np.where(frame.to_numpy() == 1, np.array([0, 1, 0, 0]), ABSTAIN)


def test_majority_vote_lets_the_model_break_its_ties():
    """Majority vote labels; where it ties (a noisy rule for c0 against a precise one for c1), the
    model decides: right far more often than taking the first category, c0."""
    frame, rules, categories, truth, votes = exclusive_pool()
    weak = label_pool(rules, frame, categories, np.full(len(frame), -1))
    assert weak.report["label_model"]["method"] == "majority vote"
    votes = votes[weak.rows]
    counts = np.stack([(votes == k).sum(axis=1) for k in range(2)], axis=1)
    chosen, right = np.array([categories.index(label) for label in weak.labels]), truth[weak.rows]
    tied = counts[:, 0] == counts[:, 1]
    assert tied.sum() > 500 and (chosen[~tied] == counts[~tied].argmax(axis=1)).all()  # majority vote's own
    assert (chosen[tied] == right[tied]).mean() > (right[tied] == 0).mean() + 0.3


def test_dependent_rules_of_one_category_break_ties_as_one_rule():
    """The two c0 rules that never fire together are the pair the fit misses: fitted as one rule
    (fires when either does), the model breaks ties better than fitted with both."""
    frame, rules, categories, truth, votes = exclusive_pool()
    weak = label_pool(rules, frame, categories, np.full(len(frame), -1))
    both = majority_vote(votes, 2, fit_label_model(votes, np.array([0, 1, 0, 0]), 2)[0])[weak.rows]
    counts = np.stack([(votes[weak.rows] == k).sum(axis=1) for k in range(2)], axis=1)
    tied, right = counts[:, 0] == counts[:, 1], truth[weak.rows]
    chosen = np.array([categories.index(label) for label in weak.labels])
    assert (chosen[tied] == right[tied]).mean() > (both[tied] == right[tied]).mean() + 0.05


