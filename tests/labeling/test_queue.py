"""The serving order: queries first by uncertainty, random share mixed in, then a seeded shuffle."""
from __future__ import annotations

import pandas as pd

from labelloop.labeling.queue import Queue, interleave


def test_without_queries_the_pool_is_served_in_a_seeded_random_order_not_the_file_order():
    ids = [f"r{i}" for i in range(100)]
    first = Queue(ids, seed=1).next_items(set(), set(), 100)
    assert sorted(first) == sorted(ids) and first != ids and first != ids[::-1]
    assert Queue(ids, seed=1).next_items(set(), set(), 100) == first
    assert Queue(ids, seed=2).next_items(set(), set(), 100) != first


def test_queries_come_first_by_uncertainty_with_random_ones_mixed_in():
    ids = [f"r{i}" for i in range(50)]
    queue = Queue(ids, seed=0)
    queries = pd.DataFrame({
        "item_id": ["r1", "r2", "r3", "r4", "r5", "r6", "unknown"],
        "uncertainty": [0.1, 0.9, 0.5, 0.7, 0.3, 0.2, 1.0],
        "strategy": ["margin", "margin", "margin", "random", "margin", "margin", "margin"],
        "session": 3, "model_version": "v0002",
    })
    queue.set_queries(queries)
    served = queue.next_items(set(), set(), 8)
    assert served[:6] == ["r2", "r3", "r5", "r6", "r1", "r4"]  # 1 random in 6: last of the block
    assert queue.queries["r4"].strategy == "random" and queue.queries["r2"].rank == 1
    assert "unknown" not in queue.queries
    assert queue.queries["r2"].as_json() == {"strategy": "margin", "uncertainty": 0.9, "rank": 1, "session": 3,
                                           "modelVersion": "v0002"}


def test_answered_and_excluded_items_are_skipped():
    queue = Queue([f"r{i}" for i in range(10)], seed=0)
    order = queue.next_items(set(), set(), 10)
    assert queue.next_items({order[2]}, set(order[:2]), 3) == [order[3], order[4], order[5]]
    assert queue.next_items(set(), set(order), 3) == []


def test_interleave_spreads_the_random_share_evenly():
    mixed = interleave([f"q{i}" for i in range(9)], ["x"])
    assert len(mixed) == 10 and mixed.index("x") == 9
    mixed = interleave([f"q{i}" for i in range(18)], ["x", "y"])
    assert [mixed.index("x"), mixed.index("y")] == [9, 19]
    assert interleave(["a"], []) == ["a"]


def test_interleave_keeps_every_item_for_any_sizes():
    for ranked_count in range(0, 200, 7):
        for random_count in range(0, 40, 3):
            ranked = [f"q{i}" for i in range(ranked_count)]
            randoms = [f"r{i}" for i in range(random_count)]
            order = interleave(ranked, randoms)
            assert sorted(order) == sorted(ranked + randoms)
            assert [i for i in order if i.startswith("q")] == ranked  # ranked order kept


def test_queries_change_nothing_of_the_pool_s_order_and_are_not_served_twice():
    ids = [f"r{i}" for i in range(200)]
    plain = Queue(ids, seed=4).next_items(set(), set(), 200)
    queue = Queue(ids, seed=4)
    queries = pd.DataFrame({"item_id": plain[150:160], "uncertainty": 0.5, "strategy": "margin", "session": 2})
    for _ in range(2):  # a second session's queries too
        queue.set_queries(queries)
        served = queue.next_items(set(), set(), 200)
        assert served[:10] == plain[150:160] and len(served) == len(set(served)) == 200
        assert served[10:] == [i for i in plain if i not in set(plain[150:160])]
