"""The nearest-neighbour index behind ``GET /similar`` (store/nearest.py)."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

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


def organised(tmp_path, monkeypatch, vectors: np.ndarray, filed: int) -> NearestIndex:
    """An index of ``vectors`` whose first ``filed`` rows are organised in cells, the rest added since."""
    monkeypatch.setattr(nearest, "CELLS_FROM", 1_000)
    index = NearestIndex(tmp_path, vectors.shape[1])
    index.add(vectors[:filed])
    index.organise()
    index.add(vectors[filed:])
    return index


def test_probing_every_cell_finds_what_a_full_scan_finds_with_the_same_similarities(tmp_path, monkeypatch):
    vectors = clustered(6_000, 24, seed=2)
    vectors[5] = 0
    vectors[9, :12] = 1e-6  # numbers float16 keeps only as subnormals: widened exactly too
    vectors[9, 12:14] = -1e-6
    index = organised(tmp_path, monkeypatch, vectors, 4_000)
    halves = index.vectors(range(6_000))  # the rows as stored, float16 widened by numpy
    cells = int(nearest.CELLS_PER_ROOT * np.sqrt(4_000))
    for query in (0, 9, 3_999, 4_000, 5_999):
        found = index.search(vectors[query], 50, probe=cells)
        scores = halves @ (vectors[query] / np.linalg.norm(vectors[query])).astype(np.float32)
        np.testing.assert_allclose(found.similarities, np.sort(scores)[::-1][:50], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(scores[found.positions], found.similarities, rtol=1e-5, atol=1e-6)
        assert found.positions[0] == query
    everything = index.search(vectors[0], 6_000, probe=cells)
    assert sorted(everything.positions.tolist()) == list(range(6_000))
    assert everything.similarities[everything.positions == 5].tolist() == [0.0]  # a zero row is kept, like nothing


def test_organising_again_replaces_the_cells_file_and_a_search_begun_on_the_old_one_finishes(tmp_path, monkeypatch):
    vectors = clustered(6_000, 16, seed=3)
    index = organised(tmp_path, monkeypatch, vectors, 2_000)
    assert len(list(tmp_path.glob("cells-*.f16"))) == 1
    old = index._cells
    assert index.grown()
    index.organise()
    assert not index.grown() and [p.name for p in tmp_path.glob("cells-*.f16")] == ["cells-2.f16"]
    query = (vectors[10] / np.linalg.norm(vectors[10])).astype(np.float32)
    positions, _ = nearest._probed(old, index._map, query, nearest.PROBE)  # its map outlives the file's name
    assert 10 in positions.tolist()
    NearestIndex(tmp_path, 16)  # a new index in the folder starts afresh
    assert not list(tmp_path.glob("cells-*.f16"))


def test_searches_during_adds_and_organising_always_find_the_row_they_ask_for(tmp_path, monkeypatch):
    monkeypatch.setattr(nearest, "CELLS_FROM", 1_000)
    vectors = clustered(12_000, 16, seed=4)
    index = NearestIndex(tmp_path, 16)
    index.add(vectors[:1_000])
    failures, done, added = [], threading.Event(), [1_000]  # rows whose ``add`` has returned

    def write():
        for start in range(1_000, 12_000, 500):
            added.append(index.add(vectors[start:start + 500])[-1] + 1)
            if index.grown():
                index.organise()
        done.set()

    def read(seed: int):
        rng = np.random.default_rng(seed)
        while not done.is_set():
            row = int(rng.integers(0, added[-1]))
            found = index.search(vectors[row], 5)
            if found.similarities[0] < 0.999:
                failures.append(row)

    with ThreadPoolExecutor(3) as pool:
        readers = [pool.submit(read, seed) for seed in range(3)]
        write()
        for reader in readers:
            reader.result()  # a reader's exception fails the test here
    assert index.rows == 12_000 and failures == []
