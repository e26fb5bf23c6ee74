"""The group annotator of ``simulate --groups``: what a round of groups labels, and what it costs
(the costs docs/explanation/loop.md states: 1 to confirm, 0.1 per item looked at, 1 to pick the
category when the model's proposal is wrong)."""
from __future__ import annotations

import numpy as np
from scipy import sparse

from labelloop.learning.group_annotator import GroupAnnotator


def clusters(count: int, size: int) -> np.ndarray:
    """``count`` tight clusters of ``size`` items, far apart (one direction each)."""
    rng = np.random.default_rng(0)
    return np.abs(np.eye(count)[np.repeat(np.arange(count), size)] + rng.normal(0, 0.01, (count * size, count)))


def test_a_group_confirms_the_look_alikes_that_match_and_the_rest_go_back():
    space = clusters(3, 5)
    labels = np.array(["a"] * 5 + ["b"] * 5 + ["a"] * 5, dtype=object)
    labels[7] = "a"  # one member of the second cluster is not what it looks like
    pool, labeled = np.arange(15), np.zeros(15, dtype=bool)
    queries, guesses = np.array([0, 1, 6]), ["a", "a", "a"]
    spent = GroupAnnotator(space, size=5).label_round(queries, guesses, pool, labeled, labels, budget=20, room=100)
    # item 0: its cluster, proposed right, 1 + 0.1 x 5; item 1 was in that group; item 6: its cluster,
    # proposed wrong (the model says a), so picking b costs one more, and item 7 goes back unlabeled
    assert spent == (1 + 0.5) + (1 + 0.5 + 1)
    assert np.flatnonzero(labeled).tolist() == [0, 1, 2, 3, 4, 5, 6, 8, 9]


def test_groups_skip_labeled_items_stop_at_the_room_left_and_read_sparse_features():
    space = sparse.csr_matrix(clusters(2, 10))
    labels = np.array(["a"] * 10 + ["b"] * 10, dtype=object)
    pool, labeled = np.arange(20), np.zeros(20, dtype=bool)
    labeled[[1, 2]] = True  # labeled before: never in a group
    spent = GroupAnnotator(space, size=20).label_round(np.array([0, 10]), [None, "b"], pool, labeled, labels, budget=20, room=12)
    # item 0's group: it and the 19 others unlabeled would be 20, but 12 labels are left: 12 looked at,
    # 8 of them its own (no model yet: the category is picked); item 10's group gets the 4 left
    assert round(spent, 6) == (1 + 1.2 + 1) + (1 + 0.4)
    assert labeled[:10].all() and labeled[10:].sum() == 4


def test_a_round_stops_when_its_actions_are_spent():
    space = clusters(4, 5)
    labels = np.repeat(np.array(["a", "b", "c", "d"], dtype=object), 5)
    pool, labeled = np.arange(20), np.zeros(20, dtype=bool)
    spent = GroupAnnotator(space, size=5).label_round(np.array([0, 5, 10, 15]), ["a", "b", "c", "d"], pool, labeled,
                                                      labels, budget=3, room=100)
    # two groups of 1.5 actions spend the budget of 3: the last two queried items wait for the next round
    assert spent == 3 and labeled[:10].all() and not labeled[10:].any()
