"""Scores and ranking against hand-computed values."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelloop.errors import LabelloopError
from labelloop.sampling import scores, top

P = np.array([
    [0.7, 0.2, 0.1],
    [0.4, 0.4, 0.2],
    [1.0, 0.0, 0.0],
    [1 / 3, 1 / 3, 1 / 3],
])


def test_each_strategy_matches_a_hand_computation():
    assert np.allclose(scores(P, "confidence"), [0.3, 0.6, 0.0, 2 / 3])
    assert np.allclose(scores(P, "margin"), [1 - 0.5, 1 - 0.0, 0.0, 1.0])
    h = -(0.7 * np.log(0.7) + 0.2 * np.log(0.2) + 0.1 * np.log(0.1)) / np.log(3)
    h2 = -(2 * 0.4 * np.log(0.4) + 0.2 * np.log(0.2)) / np.log(3)
    assert np.allclose(scores(P, "entropy"), [h, h2, 0.0, 1.0])


def test_scores_stay_in_the_unit_interval_and_random_is_seeded():
    for strategy in ("confidence", "margin", "entropy", "random"):
        values = scores(P, strategy, rng=np.random.default_rng(1))
        assert values.shape == (4,) and ((values >= 0) & (values <= 1)).all()
    assert np.array_equal(scores(P, "random", np.random.default_rng(7)), scores(P, "random", np.random.default_rng(7)))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=1000).map(lambda i: i / 1000), min_size=2, max_size=50))
def test_the_three_strategies_rank_binary_problems_identically(p1):
    probabilities = np.column_stack([p1, 1 - np.array(p1)])
    # Rounding makes rows that tie mathematically tie exactly; ties then go to the lower index.
    rankings = {s: top(np.round(scores(probabilities, s), 12), len(p1)).tolist() for s in ("confidence", "margin", "entropy")}
    assert rankings["confidence"] == rankings["margin"] == rankings["entropy"]


def test_top_returns_the_k_highest_highest_first_and_breaks_ties_by_index():
    values = np.array([0.1, 0.9, 0.5, 0.9, 0.5, 0.2])
    assert top(values, 3).tolist() == [1, 3, 2]
    assert top(values, 4).tolist() == [1, 3, 2, 4]
    assert top(values, 10).tolist() == [1, 3, 2, 4, 5, 0]
    assert top(values, 0).tolist() == []
    assert top(np.zeros(5), 2).tolist() == [0, 1]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=5), min_size=1, max_size=60), st.integers(min_value=0, max_value=70))
def test_top_agrees_with_a_full_stable_sort(values, k):
    expected = sorted(range(len(values)), key=lambda i: (-values[i], i))[:k]
    assert top(np.array(values, dtype=float), k).tolist() == expected


@pytest.mark.parametrize("bad, message", [
    ([[0.5, np.nan]], "not a distribution"),
    ([[1.2, -0.2]], "not a distribution"),
    ([[0.5, 0.2]], "not a distribution"),
    ([[1.0], [1.0]], "at least 2"),
    ([0.5, 0.5], "at least 2"),
])
def test_invalid_probabilities_are_a_clear_error(bad, message):
    with pytest.raises(LabelloopError, match=message):
        scores(bad, "margin")


def test_unknown_strategies_and_bad_scores_are_refused():
    with pytest.raises(LabelloopError, match="Unknown strategy"):
        scores(P, "smallest")
    with pytest.raises(LabelloopError):
        top([0.1, np.inf], 1)
    with pytest.raises(LabelloopError):
        top([0.1], -1)
