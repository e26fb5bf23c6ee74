"""The nearest-neighbour index behind ``GET /similar`` (store/nearest.py)."""
from __future__ import annotations

import numpy as np

from labelloop.store import nearest
from labelloop.store.nearest import NearestIndex


def clustered(rows: int, dim: int, seed: int = 0) -> np.ndarray:
    """Rows around 50 random directions, as real features are (near-duplicates, families)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(50, dim))
    return centres[rng.integers(0, 50, rows)] + 0.3 * rng.normal(size=(rows, dim))


def exact(vectors: np.ndarray, query: np.ndarray, limit: int) -> np.ndarray:
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.argsort(-(unit @ (query / np.linalg.norm(query))), kind="stable")[:limit]


def test_a_small_index_is_searched_exactly_nearest_first(tmp_path):
    vectors = clustered(2_000, 16)
    index = NearestIndex(tmp_path, 16)
    assert index.add(vectors[:1_500]).tolist() == list(range(1_500))
    assert index.add(vectors[1_500:]).tolist() == list(range(1_500, 2_000))
    found = index.search(vectors[7], 20)
    assert found.positions[0] == 7 and found.similarities[0] > 0.999
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    truth = np.sort(unit @ unit[7])[::-1][:20]  # float16 rows: the same similarities within their precision
    np.testing.assert_allclose(found.similarities, truth, atol=2e-3)
    assert np.all(np.diff(found.similarities) <= 0)


def test_a_large_index_searches_its_nearest_cells_and_finds_most_true_neighbours(tmp_path, monkeypatch):
    monkeypatch.setattr(nearest, "CELLS_FROM", 5_000)
    vectors = clustered(20_000, 32, seed=1)
    index = NearestIndex(tmp_path, 32)
    index.add(vectors[:10_000])
    assert index.grown()
    index.organise()
    assert not index.grown()
    index.add(vectors[10_000:])  # later rows join their cells
    assert index.grown()  # doubled since organised
    recall = []
    for query in range(0, 20_000, 997):
        found = index.search(vectors[query], 20)
        assert found.positions[0] == query
        recall.append(len(set(found.positions.tolist()) & set(exact(vectors, vectors[query], 20).tolist())) / 20)
    assert np.mean(recall) > 0.9


def test_zero_vectors_are_kept_and_similar_to_nothing(tmp_path):
    index = NearestIndex(tmp_path, 4)
    index.add(np.array([[0, 0, 0, 0], [1, 0, 0, 0], [1, 1, 0, 0]], dtype=float))
    found = index.search(np.array([1.0, 0, 0, 0]), 3)
    assert found.positions.tolist() == [1, 2, 0] and found.similarities[2] == 0
