"""Agreement numbers, checked against the textbook formulas written out here answer by answer."""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from labelloop.quality.agreement import MIN_PAIR_ITEMS, agreement

CATEGORIES = ["cat", "dog", "bird"]


def team_answers(items=300, seed=0) -> pd.DataFrame:
    """ada and bob are right 90% of the time; eve answers at random. Every item has 2 or 3 answers."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(CATEGORIES, items)
    rows = []
    for n, true in enumerate(truth):
        who = ["ada", "bob", "eve"] if n % 3 else list(rng.choice(["ada", "bob", "eve"], 2, replace=False))
        for name in who:
            careful = name != "eve" and rng.random() < 0.9
            rows.append({"item_id": f"i{n}", "annotator": name, "label": true if careful else rng.choice(CATEGORIES)})
    rows.append({"item_id": "alone", "annotator": "ada", "label": "cat"})  # one answer: says nothing
    return pd.DataFrame(rows)


def alpha_by_hand(answers: pd.DataFrame) -> float:
    """Krippendorff (2011): D_o over pairs within units, each unit weighted 1/(m-1); D_e over all pairable values."""
    units = [group["label"].tolist() for _, group in answers.groupby("item_id") if len(group) >= 2]
    values = [v for unit in units for v in unit]
    n = len(values)
    observed = sum(sum(a != b for a, b in itertools.permutations(unit, 2)) / (len(unit) - 1) for unit in units) / n
    expected = sum(a != b for a, b in itertools.permutations(values, 2)) / (n * (n - 1))
    return 1 - observed / expected


def kappa_by_hand(first: list, second: list) -> float:
    n = len(first)
    observed = sum(a == b for a, b in zip(first, second)) / n
    chance = sum((first.count(c) / n) * (second.count(c) / n) for c in set(first) | set(second))
    return (observed - chance) / (1 - chance)


def test_alpha_kappas_and_consensus_match_the_formulas_and_single_out_the_random_annotator():
    answers = team_answers()
    found = agreement(answers)
    assert found["items"] == 300  # "alone" has one answer
    assert found["alpha"] == pytest.approx(alpha_by_hand(answers), abs=1e-9)

    table = answers.pivot(index="item_id", columns="annotator", values="label")
    for pair in found["pairs"]:
        both = table[[pair["a"], pair["b"]]].dropna()
        assert pair["items"] == len(both)
        assert pair["kappa"] == pytest.approx(kappa_by_hand(both[pair["a"]].tolist(), both[pair["b"]].tolist()))
    kappas = {(p["a"], p["b"]): p["kappa"] for p in found["pairs"]}
    assert kappas[("ada", "bob")] > 0.6 > 0.2 > max(kappas[("ada", "eve")], kappas[("bob", "eve")])

    shares = {name: value["agreement"] for name, value in found["annotators"].items()}
    assert min(shares["ada"], shares["bob"]) > 0.7 > 0.45 > shares["eve"]
    eve_items = answers[answers["annotator"] == "eve"]["item_id"]
    others = answers[answers["item_id"].isin(eve_items) & (answers["annotator"] != "eve")]
    decided = others.groupby("item_id")["label"].agg(lambda labels: labels.mode().tolist())
    decided = decided[decided.map(len) == 1].map(lambda modes: modes[0])  # the others did not tie
    eve = answers[answers["annotator"] == "eve"].set_index("item_id")["label"]
    assert found["annotators"]["eve"]["items"] == len(decided)
    assert shares["eve"] == pytest.approx(float((eve[decided.index] == decided).mean()))


def test_per_category_agreement_is_the_share_of_its_answers_matched_on_the_same_item():
    answers = pd.DataFrame({"item_id": ["a", "a", "b", "b", "c", "c"], "annotator": ["x", "y"] * 3,
                            "label": ["cat", "cat", "cat", "dog", "dog", "dog"]})
    found = agreement(answers)
    assert found["categories"] == {"cat": {"agreement": pytest.approx(2 / 3), "answers": 3},
                                   "dog": {"agreement": pytest.approx(2 / 3), "answers": 3}}
    assert found["alpha"] == pytest.approx(alpha_by_hand(answers))
    assert found["pairs"] == []  # 3 common items are fewer than MIN_PAIR_ITEMS
    assert MIN_PAIR_ITEMS > 3


def test_no_overlap_or_one_category_gives_no_alpha_rather_than_a_made_up_number():
    single = pd.DataFrame({"item_id": ["a", "b"], "annotator": ["x", "y"], "label": ["cat", "dog"]})
    assert agreement(single) == {"alpha": None, "items": 0, "pairs": [], "annotators": {}, "categories": {}}
    same = pd.DataFrame({"item_id": ["a", "a"], "annotator": ["x", "y"], "label": ["cat", "cat"]})
    found = agreement(same)
    assert found["alpha"] is None and found["items"] == 1
    assert found["annotators"] == {"x": {"agreement": 1.0, "items": 1}, "y": {"agreement": 1.0, "items": 1}}
