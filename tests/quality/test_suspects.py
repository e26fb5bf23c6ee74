"""Suspected label errors: confident learning on probabilities given here, on known flipped
labels, and through ``labelloop quality``."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits, load_wine
from test_cli import run

from labelloop.learning.suspected_errors import find_suspects
from labelloop.learning.trainer import out_of_fold_probabilities
from labelloop.quality.suspects import confident_joint, suspects


def test_each_category_has_its_own_threshold_and_the_least_likely_label_comes_first():
    # thresholds: a 0.725 (mean of 0.9, 0.9, 0.9, 0.2), b 0.3625 (mean of 0.5, 0.5, 0.4, 0.05)
    probabilities = np.array([[0.9, 0.1], [0.9, 0.1], [0.9, 0.1],  # a, a, a
                              [0.5, 0.5], [0.5, 0.5], [0.6, 0.4],  # b, b, b
                              [0.95, 0.05],                         # b, but as sure as any a
                              [0.2, 0.8]])                          # a, confidently b
    labels = ["a", "a", "a", "b", "b", "b", "b", "a"]
    found = suspects([f"i{n}" for n in range(8)], labels, ["a", "b"], probabilities)
    # i5 stays: its "a" (0.6) is likelier than its "b" (0.4), but only b reaches its own threshold
    assert [s["item_id"] for s in found] == ["i6", "i7"]
    assert found[0] == {"item_id": "i6", "label": "b", "suggested": "a", "score": 0.95}
    assert found[1]["suggested"] == "b" and found[1]["score"] == 0.8


def test_no_labels_no_suspects():
    assert suspects([], [], ["a", "b"], np.zeros((0, 2))) == []


def flip(labels: np.ndarray, share: float, seed: int) -> tuple:
    """``(labels with share of them changed to another class at random, which were changed)``."""
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    chosen = rng.choice(len(labels), size=round(share * len(labels)), replace=False)
    noisy = labels.copy()
    for n in chosen:
        noisy[n] = rng.choice(classes[classes != labels[n]])
    return noisy, np.isin(np.arange(len(labels)), chosen)


def test_the_confident_joint_counts_the_flips_between_each_pair_of_categories():
    # labels a, a, a, a, b, b, b, b; item 3 is confidently b, item 7 confidently a
    probabilities = np.array([[0.9, 0.1]] * 3 + [[0.1, 0.9]] + [[0.2, 0.8]] * 3 + [[0.8, 0.2]])
    given = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    assert confident_joint(given, probabilities).tolist() == [[3, 1], [1, 3]]


@pytest.mark.slow
def test_known_flips_rank_higher_than_by_the_labels_probability_alone():
    """5% of the digits' labels flipped: in the top 10% of the items, confident learning's suspects
    hold more flips than every item ranked by its label's probability (that top holds at most half)."""
    digits = load_digits(as_frame=True)
    noisy, flipped = flip(digits.target.astype(str).to_numpy(), 0.05, seed=0)
    ids = [f"d{n}" for n in range(len(noisy))]
    found = find_suspects("tabular", ids, digits.data, pd.Series(noisy))
    classes, probabilities, _ = out_of_fold_probabilities("tabular", digits.data, pd.Series(noisy))
    assert found == suspects(ids, noisy.tolist(), classes, probabilities)  # the product's path: same folds
    k = len(noisy) // 10
    own = probabilities[np.arange(len(noisy)), [classes.index(label) for label in noisy]]
    by_probability = flipped[np.argsort(own, kind="stable")[:k]].mean()
    top = [int(s["item_id"][1:]) for s in found[:k]]
    assert flipped[top].mean() >= by_probability + 0.1, (flipped[top].mean(), by_probability)
    assert flipped[[int(s["item_id"][1:]) for s in found]].sum() >= 0.9 * flipped.sum()  # recall
    assert all(s["suggested"] != s["label"] for s in found)


def test_quality_json_lists_the_flipped_wines_in_the_contracts_shape(tmp_path):
    """DESIGN.md section 10: ``{"agreement": {...}, "suspects": [{item_id, label, suggested, score, preview}]}``,
    most suspicious first."""
    wine = load_wine(as_frame=True)
    noisy, flipped = flip(np.asarray(["a", "b", "c"])[wine.target], 0.10, seed=1)
    wine.data.assign(wine_id=range(len(noisy))).to_csv(tmp_path / "wine.csv", index=False)
    run("init", tmp_path / "proj", "--data", tmp_path / "wine.csv", "--type", "tabular", "--categories", "a,b,c",
        "--id-column", "wine_id")
    pd.DataFrame({"wine_id": range(len(noisy)), "label": noisy}).to_csv(tmp_path / "labels.csv", index=False)
    run("import", tmp_path / "proj", "--labels", tmp_path / "labels.csv", "--annotator", "ada")
    found = json.loads(run("quality", tmp_path / "proj", "--json").stdout)
    assert set(found) >= {"agreement", "suspects"} and isinstance(found["agreement"], dict)
    assert all(set(s) == {"item_id", "label", "suggested", "score", "preview"} for s in found["suspects"])
    first = found["suspects"][0]
    wine_row = wine.data.iloc[int(first["item_id"])]  # the item's first columns, not only its id
    assert first["preview"] == f"alcohol {wine_row['alcohol']}, malic_acid {wine_row['malic_acid']}, ash {wine_row['ash']}"
    scores = [s["score"] for s in found["suspects"]]
    assert scores == sorted(scores, reverse=True)
    assert all(s["label"] == noisy[int(s["item_id"])] != s["suggested"] for s in found["suspects"])
    top = [int(s["item_id"]) for s in found["suspects"][:len(noisy) // 10]]
    assert flipped[top].mean() >= 0.8 and flipped[top].sum() >= 0.8 * flipped.sum()
