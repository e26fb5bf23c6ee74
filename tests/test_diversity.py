"""Diverse batches: one item per cluster of the most uncertain before any second, in bounded memory."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest
from sampler_models import pool, tabular_classifier

from labelloop.errors import LabelloopError
from labelloop.learning.diversity import FACTOR, diverse_pick, round_robin
from labelloop.learning.query_sampler import Pool, SamplerSettings, run_sampler
from labelloop.platform.local import LocalPlatform
from labelloop.sampling import scores, top


def test_round_robin_gives_every_cluster_one_item_before_any_a_second():
    rng = np.random.default_rng(0)
    clusters, uncertain = rng.integers(0, 7, size=300), rng.random(300)
    picked = round_robin(clusters, uncertain, 20)
    first, second = picked[:7], picked[7:14]
    assert sorted(clusters[first]) == list(range(7))  # every cluster once, before any twice
    for item in first:
        assert uncertain[item] == uncertain[clusters == clusters[item]].max()  # and its most uncertain item
    assert sorted(clusters[second]) == list(range(7))
    assert uncertain[first[0]] == uncertain.max()  # the turn starts with the most uncertain cluster
    assert len(set(picked)) == 20


def test_near_duplicates_give_one_query_not_a_batch_of_them():
    rng = np.random.default_rng(1)
    groups = np.repeat(np.arange(6), 30)
    features = rng.normal(size=(6, 4))[groups] + rng.normal(scale=1e-3, size=(180, 4))
    uncertain = np.where(groups == 0, 0.9, 0.5) + rng.random(180) * 0.01  # group 0 is the most uncertain
    assert set(groups[top(uncertain, 6)]) == {0}  # plain ranking: six copies of one confusion
    assert sorted(groups[diverse_pick(features, uncertain, 6)]) == list(range(6))


@pytest.fixture
def platform(tmp_path):
    platform = LocalPlatform(tmp_path)
    frame = pool(400)
    model = tabular_classifier(frame)
    # 60 near-copies of the row the model is least sure of: the most uncertain rows of the pool
    grid = pd.DataFrame({"f1": np.repeat(np.linspace(-1, 1, 81), 41), "f2": np.tile(np.linspace(-2, 2, 41), 81)})
    doubt = grid.iloc[int(np.argmax(scores(model.predict_proba(grid), "margin")))]
    copies = pd.DataFrame({"f1": doubt["f1"] + np.linspace(0, 1e-6, 60), "f2": doubt["f2"], "name": "copy"})
    frame = pd.concat([frame, copies], ignore_index=True)
    frame["id"] = [f"r{i}" for i in range(len(frame))]
    platform.write_dataset("pool", frame)
    platform.registry("clf").save(model, {})
    return platform


def sample(platform, **settings):
    summary = run_sampler(platform, "clf", Pool("pool", id_column="id"), "queries", set(),
                          SamplerSettings(seed=3, random_share=0.0, **settings))
    return summary, platform.read_dataset("queries")


def test_the_sampler_keeps_one_of_the_near_copies_with_diversity(platform):
    _, plain = sample(platform, max_queries=20, diversity="none")
    summary, diverse = sample(platform, max_queries=20, diversity="cluster")
    assert (plain["name"] == "copy").sum() == 20
    assert (diverse["name"] == "copy").sum() == 1
    assert summary["diversity"] == "cluster" and len(diverse) == 20
    assert diverse["uncertainty"].is_monotonic_decreasing and (diverse["strategy"] == "margin").all()
    # picked among the FACTOR x k most uncertain, never from further down
    threshold = np.sort(plain["uncertainty"].to_numpy())[0]
    _, ranked = sample(platform, max_queries=20 * FACTOR, diversity="none")
    assert set(diverse["item_id"]) <= set(ranked["item_id"]) and diverse["uncertainty"].max() >= threshold


def test_diversity_without_a_maximum_keeps_every_row_by_uncertainty(platform):
    summary, queries = sample(platform, diversity="cluster")
    assert summary["diversity"] == "none" and len(queries) == 460
    assert queries["uncertainty"].is_monotonic_decreasing


def test_an_unknown_diversity_is_refused_in_one_sentence():
    with pytest.raises(LabelloopError, match="Unknown diversity 'kmeans' \\(use none, cluster, clue, badge\\)"):
        SamplerSettings(diversity="kmeans")


def _peak_bytes(tmp_path, rows: int, diversity: str) -> int:
    platform = LocalPlatform(tmp_path / f"{diversity}{rows}")
    frame = pool(rows, seed=2).assign(id=[f"r{i}" for i in range(rows)])
    platform.write_dataset("pool", frame)
    platform.registry("clf").save(tabular_classifier(frame.head(1000)), {})
    del frame
    tracemalloc.start()
    try:
        run_sampler(platform, "clf", Pool("pool", id_column="id"), "queries", set(),
                    SamplerSettings(max_queries=100, diversity=diversity, chunk_size=5_000, seed=0))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("diversity", ["cluster", "clue", "badge"])
def test_diverse_sampling_memory_does_not_grow_with_the_pool(tmp_path, diversity):
    small, large = _peak_bytes(tmp_path, 20_000, diversity), _peak_bytes(tmp_path, 200_000, diversity)
    assert large < 2 * small, (small, large)  # ten times the rows, about the same peak: chunks and candidates only
