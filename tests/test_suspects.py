"""Suspected label errors: the confident-learning rule on probabilities given here."""
from __future__ import annotations

import numpy as np

from labelloop.quality.suspects import suspects


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
