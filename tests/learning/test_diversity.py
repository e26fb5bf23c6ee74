"""Diverse batches: one item per cluster of the most uncertain before any second, in bounded memory."""
from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from paths import ROOT
from sampler_models import pool, tabular_classifier
from sklearn.datasets import load_wine

from labelloop.errors import LabelloopError
from labelloop.learning.diversity import (
    FACTOR,
    SUBSAMPLE,
    badge_pick,
    clue_pick,
    diverse_pick,
    first_batch,
    pick_batch,
    round_robin,
)
from labelloop.learning.query_sampler import Pool, SamplerSettings, run_sampler
from labelloop.platform.local import LocalPlatform
from labelloop.sampling import DEFAULT_DIVERSITY, DIVERSITY, scores, top
from labelloop.standalone.project import Project
from labelloop.store.item_sources import Rows
from labelloop.store.journal import LABELED, Annotation

LABELLOOP = str(Path(sys.executable).parent / "labelloop")


def labelloop(*args, ok: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([LABELLOOP, *map(str, args)], capture_output=True, text=True, timeout=300)
    if ok:
        assert result.returncode == 0, result.stderr
    return result


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
    summary = run_sampler(platform, "clf", Pool("pool", Rows("id")), "queries", set(),
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
        run_sampler(platform, "clf", Pool("pool", Rows("id")), "queries", set(),
                    SamplerSettings(max_queries=100, diversity=diversity, chunk_size=5_000, seed=0))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
@pytest.mark.parametrize("diversity", ["cluster", "clue", "badge"])
def test_diverse_sampling_memory_does_not_grow_with_the_pool(tmp_path, diversity):
    small, large = _peak_bytes(tmp_path, 20_000, diversity), _peak_bytes(tmp_path, 200_000, diversity)
    assert large < 2 * small, (small, large)  # ten times the rows, about the same peak: chunks and candidates only


def _blobs(groups: int, size: int, seed: int = 0) -> tuple:
    """``(features, group of each row)``: well-separated tight groups."""
    rng = np.random.default_rng(seed)
    group = np.repeat(np.arange(groups), size)
    return rng.normal(scale=10, size=(groups, 5))[group] + rng.normal(scale=0.1, size=(groups * size, 5)), group


def _probabilities(group: np.ndarray, seed: int = 0) -> np.ndarray:
    """Three-class probabilities alike within a group, each group unsure between a different pair."""
    rng = np.random.default_rng(seed)
    per_group = rng.dirichlet(np.ones(3), size=group.max() + 1)
    return per_group[group] + rng.dirichlet(np.ones(3), size=len(group)) * 1e-3 - 1e-3 / 3


@pytest.mark.parametrize("diversity", ["cluster", "clue", "badge"])
def test_each_diversity_takes_one_near_copy_where_plain_ranking_takes_a_batch_of_them(diversity):
    features, group = _blobs(6, 30)
    uncertain = np.where(group == 0, 0.9, 0.5) + np.random.default_rng(1).random(len(group)) * 0.01
    assert set(group[pick_batch("none", features, uncertain, 6)]) == {0}
    picked = pick_batch(diversity, features, uncertain, 6, seed=0, probabilities=_probabilities(group))
    assert sorted(group[picked]) == list(range(6)) and len(set(picked)) == 6
    assert list(uncertain[picked]) == sorted(uncertain[picked], reverse=True)  # most uncertain first


def test_clue_prefers_representative_items_to_uncertain_outliers():
    """Plain uncertainty labels only the outliers; clue mixes them with an item of every group."""
    features, group = _blobs(4, 250)
    rng = np.random.default_rng(2)
    outliers = rng.normal(scale=40, size=(10, 5))
    features = np.vstack([features, outliers])
    uncertain = np.r_[np.full(1000, 0.5) + rng.random(1000) * 0.01, np.full(10, 1.0)]
    is_outlier = np.arange(len(uncertain)) >= 1000
    assert is_outlier[pick_batch("none", features, uncertain, 8)].all()
    picked = clue_pick(features, uncertain, 8, seed=0)
    assert is_outlier[picked].sum() <= 4 and set(group[picked[~is_outlier[picked]]]) == {0, 1, 2, 3}


def test_the_first_batch_before_any_model_covers_every_group():
    features, group = _blobs(8, 100, seed=3)
    picked = first_batch(features, 8, seed=0)
    assert sorted(group[picked]) == list(range(8))
    # nearest their centres: each pick is a typical member of its group, not its edge
    for item in picked:
        members = features[group == group[item]]
        distance = np.linalg.norm(members - members.mean(axis=0), axis=1)
        assert np.linalg.norm(features[item] - members.mean(axis=0)) <= np.quantile(distance, 0.25)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["clue", "badge"])
def test_clue_and_badge_never_hold_a_copy_of_a_large_pool(how):
    rng = np.random.default_rng(4)
    features = rng.normal(size=(400_000, 32))
    probabilities = rng.dirichlet(np.ones(4), size=len(features))
    tracemalloc.start()
    try:
        if how == "clue":
            picked = clue_pick(features, 1 - probabilities.max(axis=1), 50, seed=0)
        else:
            picked = badge_pick(features, probabilities, 50, seed=0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(set(picked)) == 50 and picked.max() < len(features)
    assert peak < features.nbytes / 4, peak  # a subsample of SUBSAMPLE rows, never the pool's features again
    assert len(features) > 10 * SUBSAMPLE


@pytest.mark.parametrize("diversity", ["clue", "badge"])
def test_labelloop_sample_with_a_new_diversity_spreads_the_queries(tmp_path, wine_csv, diversity):
    """As a user runs it: init, label 12 wines, train, then sample 20 queries with --diversity."""

    def run(*args):
        return labelloop(*args).stdout

    root = tmp_path / "proj"
    run("init", root, "--data", wine_csv, "--type", "tabular", "--categories", "0,1,2", "--id-column", "wine_id")
    target = load_wine().target
    project = Project.open(root)
    for item in [0, 1, 2, 3, 60, 61, 62, 63, 130, 131, 132, 133]:
        project.journal.record(Annotation(str(1000 + item), "alice", LABELED, str(target[item]), session=1))
    project.close()
    run("train", root)
    wines = load_wine().data
    wines = (wines - wines.mean(axis=0)) / wines.std(axis=0)
    distance = {}  # from each wine to the nearest query: how well 20 labels cover the wines
    for chosen in ("none", diversity):
        summary = json.loads(run("sample", root, "--max-queries", "20", "--random-share", "0", "--seed", "1",
                                 "--diversity", chosen, "--json"))
        assert summary["diversity"] == chosen and summary["queries"] == 20
        queries = wines[Project.open(root).platform.read_dataset("queries")["wine_id"].to_numpy() - 1000]
        distance[chosen] = np.linalg.norm(wines[:, None, :] - queries[None, :, :], axis=2).min(axis=1).mean()
    assert distance[diversity] < distance["none"]
    text = run("sample", root, "--max-queries", "20", "--diversity", diversity)
    assert text.startswith("Session 3: 20 queries (2 random, ") and "from 166 unlabeled items" in text


def test_labelloop_sample_before_any_model_writes_a_diverse_first_batch(tmp_path, wine_csv):
    """No model yet: the first queries are the wines nearest k-means centres, closer to every wine
    than random draws of as many."""
    root = tmp_path / "proj"
    labelloop("init", root, "--data", wine_csv, "--type", "tabular", "--categories", "0,1,2", "--id-column", "wine_id")
    summary = json.loads(labelloop("sample", root, "--max-queries", "12", "--seed", "0", "--json").stdout)
    assert (summary["queries"], summary["diversity"], summary["session"], summary["modelVersion"]) == (12, "kmeans", 1, None)
    queries = Project.open(root).platform.read_dataset("queries")
    assert (queries["strategy"] == "kmeans").all() and queries["item_id"].nunique() == 12
    wines, target = load_wine(return_X_y=True)
    wines = (wines - wines.mean(axis=0)) / wines.std(axis=0)

    def distance(rows):  # from each wine to the nearest of ``rows``
        return np.linalg.norm(wines[:, None, :] - wines[rows][None, :, :], axis=2).min(axis=1).mean()

    picked = queries["wine_id"].to_numpy() - 1000
    draws = [distance(np.random.default_rng(s).choice(len(wines), 12, replace=False)) for s in range(20)]
    assert distance(picked) < min(draws) and set(target[picked]) == {0, 1, 2}
    refused = labelloop("sample", root, "--diversity", "none", ok=False)
    assert refused.returncode == 2 and "No model has been trained yet" in refused.stderr


@pytest.mark.parametrize("recipe", ["query-sampler", "query-sampler-spark"])
def test_the_recipes_offer_every_diversity_with_the_same_default(recipe):
    """The recipe's form is JSON, so it repeats the default: it must be the one the sampler uses."""
    descriptor = json.loads((ROOT / "custom-recipes" / recipe / "recipe.json").read_text())
    param = next(p for p in descriptor["params"] if p["name"] == "diversity")
    assert param["defaultValue"] == DEFAULT_DIVERSITY
    assert [choice["value"] for choice in param["selectChoices"]] == list(DIVERSITY)
