"""The learning curve: accuracy on the random share with its 95% interval, per model version."""
from __future__ import annotations

import math

import pytest

from labelloop.store.metrics import learning_curve


def wilson(correct: int, n: int, z: float = 1.959964) -> tuple:
    """The Wilson score interval, by its textbook formula."""
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_each_version_gets_its_accuracy_interval_and_item_count():
    metrics = [{"version": "v0001", "labels": 20, "randomLabels": 0, "randomAccuracy": None},
               {"version": "v0002", "labels": 40, "randomLabels": 8, "randomAccuracy": 0.75, "contradictionRate": 0.3},
               {"version": "v0003", "labels": 60, "randomLabels": 25, "randomAccuracy": 0.88, "contradictionRate": 0.05}]
    curve = learning_curve(metrics)
    assert [(p["version"], p["labels"], p["items"], p["contradiction"]) for p in curve] == [
        ("v0001", 20, 0, None), ("v0002", 40, 8, 0.3), ("v0003", 60, 25, 0.05)]
    assert curve[0]["accuracy"] is None and curve[0]["low"] is None and curve[0]["high"] is None
    for point, (correct, n) in zip(curve[1:], [(6, 8), (22, 25)]):
        low, high = wilson(correct, n)
        assert point["accuracy"] == correct / n
        assert point["low"] == pytest.approx(low, abs=1e-5) and point["high"] == pytest.approx(high, abs=1e-5)
        assert point["low"] < point["accuracy"] < point["high"]


def test_all_right_on_two_items_is_not_read_as_certain():
    (point,) = learning_curve([{"version": "v1", "labels": 10, "randomLabels": 2, "randomAccuracy": 1.0}])
    assert point["high"] == 1.0 and point["low"] < 0.35
