"""Labeling rules: what is refused, where rules fire, their statistics, and the label model."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from labelloop.errors import LabelloopError
from labelloop.rules.label_model import fit_label_model, majority_vote
from labelloop.rules.spec import parse_rules
from labelloop.rules.statistics import rule_statistics
from labelloop.rules.votes import ABSTAIN, rule_votes

CATEGORIES = ["complaint", "praise", "other"]
FRAME = pd.DataFrame({
    "text": ["I want a REFUND now", "refunded? no", "Money back, please!", "great service", None, "see https://x.io"],
    "amount": [10.0, 250.0, None, 3.0, 99.0, 5000.0],
    "country": ["FR", "DE", "FR", "US", "US", None],
})


def rules(*given):
    return parse_rules(json.dumps(list(given)), FRAME.dtypes, CATEGORIES)


def fires(*given):
    return (rule_votes(rules(*given), FRAME, CATEGORIES) != ABSTAIN)[:, 0].tolist()


def test_keywords_match_whole_words_in_any_case():
    assert fires({"name": "r", "label": "complaint", "column": "text", "keywords": ["refund", "money back"]}) == [
        True, False, True, False, False, False]


def test_keywords_are_whole_words_in_any_script():
    frame = pd.DataFrame({"text": ["un café noir", "caf au lait", "décaf", "CAFÉ!", "caf_e", "naïve caf"]})
    found = parse_rules([{"name": "r", "label": "other", "column": "text", "keywords": ["caf"]}], frame.dtypes, CATEGORIES)
    assert (rule_votes(found, frame, CATEGORIES) != ABSTAIN)[:, 0].tolist() == [False, True, False, False, False, True]
    found = parse_rules([{"name": "r", "label": "other", "column": "text", "keywords": ["café"]}], frame.dtypes, CATEGORIES)
    assert (rule_votes(found, frame, CATEGORIES) != ABSTAIN)[:, 0].tolist() == [True, False, False, True, False, False]


def test_regex_runs_in_linear_time_even_where_python_would_backtrack_forever():
    assert fires({"name": "link", "label": "other", "column": "text", "regex": "https?://"}) == [
        False, False, False, False, False, True]
    long = pd.DataFrame({"text": ["a" * 50_000 + "b"]})
    rule = parse_rules([{"name": "evil", "label": "other", "column": "text", "regex": "(a+)+$"}], long.dtypes, CATEGORIES)
    assert (rule_votes(rule, long, CATEGORIES) == ABSTAIN).all()  # re.search would not return


@pytest.mark.parametrize("condition, expected", [
    ({"column": "amount", "op": ">", "value": 100}, [False, True, False, False, False, True]),
    ({"column": "amount", "op": "<=", "value": 10}, [True, False, False, True, False, False]),
    ({"column": "amount", "op": "==", "value": 99}, [False, False, False, False, True, False]),
    ({"column": "country", "op": "!=", "value": "FR"}, [False, True, False, True, True, False]),
    ({"column": "country", "op": "in", "value": ["DE", "US"]}, [False, True, False, True, True, False]),
    ({"column": "country", "op": "not in", "value": ["US"]}, [True, True, True, False, False, False]),
    ({"column": "amount", "op": "in", "value": [3, 99, 7.5]}, [False, False, False, True, True, False]),
    ({"column": "amount", "op": "not in", "value": [3, 99]}, [True, True, False, False, False, True]),
    ({"column": "country", "op": "in", "value": ["FR", 1, True]}, [True, False, True, False, False, False]),
    ({"column": "text", "op": "contains", "value": "ReFund"}, [True, True, False, False, False, False]),
    ({"column": "amount", "op": "is null"}, [False, False, True, False, False, False]),
    ({"column": "text", "op": "not null"}, [True, True, True, True, False, True]),
])
def test_conditions(condition, expected):
    assert fires({"name": "c", "label": "other", **condition}) == expected


def test_all_is_an_and_of_conditions():
    assert fires({"name": "big-french", "label": "complaint", "all": [
        {"column": "country", "op": "==", "value": "FR"}, {"column": "amount", "op": "<", "value": 100}]}) == [
        True, False, False, False, False, False]


@pytest.mark.parametrize("given, message", [
    ("[{", "not valid JSON"),
    ({"name": "r"}, "must be a JSON list"),
    ([{"name": "bad", "label": "complaint", "column": "text", "regex": "(a"}], "Rule 'bad': regex is not a valid RE2"),
    ([{"name": "bad", "label": "complaint", "column": "text", "regex": r"(a)\1"}], "Rule 'bad': regex is not a valid"),
    pytest.param([{"name": "big", "label": "complaint", "column": "text", "regex": "a" * 1_000_000}],
                 "Rule 'big': the rule is longer than 32,000",
                 id="1MB-regex"),
    ([{"name": "r", "label": "complaint", "column": "nope", "keywords": ["x"]}], "Rule 'r': column 'nope' is not a column"),
    ([{"name": "r", "label": "spam", "column": "text", "keywords": ["x"]}], "Rule 'r': label must be one of"),
    ([{"name": "r", "label": "other", "column": "country", "op": ">", "value": 3}], "holds no numbers"),
    ([{"name": "r", "label": "other", "column": "amount", "op": "~", "value": 3}], "op must be one of"),
    ([{"name": "r", "label": "other", "column": "amount", "op": "in", "value": 3}], "takes a list"),
    ([{"name": "r", "label": "other", "column": "text", "keywords": []}], "keywords must be a list"),
    ([{"name": "r", "label": "other", "column": "text", "keywords": ["x"], "regex": "y"}], "exactly one of"),
    ([{"name": "r", "label": "other", "column": "text", "keywords": ["x"], "code": "import os"}], "unknown field"),
    ([{"name": "r", "label": "other", "column": "text", "keywords": ["x"], "enabled": "yes"}], "enabled must be"),
    ([{"name": "r", "label": "other", "column": "text", "keywords": ["x"]}] * 2, "Two rules are named 'r'"),
    ([{"name": "<script>", "label": "other", "column": "text", "keywords": ["x"]}], "Rule 1 needs a name"),
    (["rule"], "Rule 1 is not a JSON object"),
])
def test_bad_rules_are_refused_in_one_sentence_naming_the_rule(given, message):
    with pytest.raises(LabelloopError, match=message.replace("(", r"\(").replace(")", r"\)")) as error:
        parse_rules(given if isinstance(given, str) else json.dumps(given), FRAME.dtypes, CATEGORIES)
    assert "\n" not in str(error.value) and len(str(error.value)) < 300


def test_statistics_count_coverage_overlap_conflict_and_accuracy_on_gold():
    found = rules({"name": "refund", "label": "complaint", "column": "text", "keywords": ["refund", "money back"]},
                  {"name": "french", "label": "praise", "column": "country", "op": "==", "value": "FR"},
                  {"name": "cheap", "label": "complaint", "column": "amount", "op": "<", "value": 20})
    votes = rule_votes(found, FRAME, CATEGORIES)
    gold = np.array([0, -1, 1, 1, -1, -1])  # items 0, 2, 3 labeled by people
    report = rule_statistics(found, votes, CATEGORIES, gold)
    refund, french, cheap = report["rules"]
    assert refund["coverage"] == pytest.approx(2 / 6) and refund["votes"] == 2
    assert refund["overlap"] == pytest.approx(2 / 6)  # both also French
    assert refund["conflict"] == pytest.approx(2 / 6) and cheap["conflict"] == pytest.approx(1 / 6)
    assert (refund["accuracy"], refund["gold"]) == (0.5, 2)  # right on item 0, wrong on item 2
    assert (french["accuracy"], french["gold"]) == (0.5, 2)
    assert (cheap["accuracy"], cheap["gold"]) == (0.5, 2)
    assert report["coverage"] == pytest.approx(3 / 6)  # items 0, 2 and 3
    assert report["votesPerCategory"] == {"complaint": 4, "praise": 2, "other": 0}


def simulated_votes(seed=0, items=20_000):
    """Rules of known accuracies: three good ones, and three noisy ones firing on many items."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(3, items, p=[0.5, 0.3, 0.2])
    spec = [(0, 0.6, 0.02), (1, 0.6, 0.03), (2, 0.6, 0.02), (0, 0.5, 0.35), (0, 0.5, 0.35), (1, 0.4, 0.25)]
    votes = np.full((items, len(spec)), ABSTAIN, dtype=np.int16)
    for j, (category, on_own, on_other) in enumerate(spec):
        votes[rng.random(items) < np.where(truth == category, on_own, on_other), j] = category
    return truth, votes, np.array([c for c, _, _ in spec])


def test_the_label_model_beats_majority_vote_when_rules_differ_in_accuracy():
    truth, votes, codes = simulated_votes()
    posterior, fitted = fit_label_model(votes, codes, 3)
    covered = (votes != ABSTAIN).any(axis=1)
    model = (posterior.argmax(axis=1) == truth)[covered].mean()
    majority = (majority_vote(votes, 3) == truth)[covered].mean()
    assert model > majority + 0.05, (model, majority)
    assert fitted.alpha[:3] == pytest.approx([0.6, 0.6, 0.6], abs=0.03)  # what each rule does was found
    assert fitted.beta[3:] == pytest.approx([0.35, 0.35, 0.25], abs=0.03)
    assert fitted.prior == pytest.approx([0.5, 0.3, 0.2], abs=0.03)
    precision = fitted.precision(codes)
    assert precision[:3].min() > 0.8 > 0.6 > precision[3:].max()


def test_human_labels_teach_the_label_model():
    truth, votes, codes = simulated_votes(seed=1, items=3000)
    votes = votes[:, [0, 3]]  # one good and one noisy rule, both for category 0
    codes = codes[[0, 3]]
    gold = np.where(np.arange(len(truth)) < 1000, truth, -1)
    taught = fit_label_model(votes, codes, 3, gold)[1]
    assert taught.prior == pytest.approx([0.5, 0.3, 0.2], abs=0.05)
    assert taught.alpha == pytest.approx([0.6, 0.5], abs=0.05) and taught.beta == pytest.approx([0.02, 0.35], abs=0.05)


def test_no_votes_and_no_items_are_handled():
    posterior, fitted = fit_label_model(np.full((4, 2), ABSTAIN, dtype=np.int16), np.array([0, 1]), 2)
    assert posterior.shape == (4, 2) and np.allclose(posterior.sum(axis=1), 1)
    assert fit_label_model(np.zeros((0, 2), dtype=np.int16), np.array([0, 1]), 2)[0].shape == (0, 2)
