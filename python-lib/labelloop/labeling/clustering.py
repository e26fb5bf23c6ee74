"""The pool in clusters: spherical k-means on the similar items' index (DESIGN.md section 13).

A ``Clustering`` is one moment's answer, never changed once made: the centres, each position's
cluster and its cosine with that centre, and each cluster's positions nearest the centre first.
The centres are learned on a sample (``SAMPLE_PER_CLUSTER`` rows per centre), then every row is
filed, ``BLOCK`` rows at a time, so the vectors are read from the index's storage, never held
whole. A pool that grows gets its new rows filed in the clusters it has (``filed``); the owner
learns the clusters again once the pool has doubled (``due``).
"""
from __future__ import annotations

import numpy as np

from labelloop.store.nearest import _nearest_centre, _spherical_kmeans

MAX_CLUSTERS = 100  # a list an annotator can scan
SAMPLE_PER_CLUSTER = 200  # rows per centre the k-means learns from
BLOCK = 65_536  # rows filed at a time


def cluster_count(rows: int) -> int:
    """Half the square root of the rows, between 2 and ``MAX_CLUSTERS`` (never more than the rows):
    20 for 2,000 texts, 40 for 6,500 wines, 100 from 40,000 items."""
    return int(min(rows, MAX_CLUSTERS, max(2, round(np.sqrt(rows) / 2))))


class Clustering:
    """Clusters of the first ``rows`` positions of an index; ``members[k]`` nearest centre ``k`` first."""

    def __init__(self, centres: np.ndarray, cluster: np.ndarray, closeness: np.ndarray, learned_on: int):
        self.centres, self.cluster, self.closeness = centres, cluster, closeness
        self.learned_on = learned_on  # the rows when the centres were learned
        order = np.lexsort((-closeness, cluster))
        self.members = tuple(np.split(order, np.searchsorted(cluster[order], np.arange(1, len(centres)))))

    @property
    def rows(self) -> int:
        return len(self.cluster)

    @classmethod
    def learn(cls, index, seed: int) -> Clustering:
        """Learn ``cluster_count`` centres on a sample of ``index``'s rows, then file them all."""
        rows = index.rows
        count = cluster_count(rows)
        rng = np.random.default_rng(seed)
        sample = np.sort(rng.choice(rows, size=min(rows, count * SAMPLE_PER_CLUSTER), replace=False))
        centres = _spherical_kmeans(index.vectors(sample), count, rng)
        return cls(centres, *_file(centres, index, 0, rows), learned_on=rows)

    def filed(self, index) -> Clustering:
        """This clustering with the rows ``index`` gained since, each in its nearest cluster."""
        cluster, closeness = _file(self.centres, index, self.rows, index.rows)
        return Clustering(self.centres, np.concatenate([self.cluster, cluster]),
                          np.concatenate([self.closeness, closeness]), self.learned_on)

    def due(self, rows: int) -> bool:
        """Whether the clusters should be learned again: the pool has doubled since."""
        return rows >= 2 * self.learned_on

    def sizes(self) -> np.ndarray:
        return np.array([len(m) for m in self.members], dtype=np.int64)

    def counted(self, positions: np.ndarray) -> np.ndarray:
        """How many of ``positions`` (those filed) each cluster holds."""
        positions = positions[positions < self.rows]
        return np.bincount(self.cluster[positions], minlength=len(self.centres))


def _file(centres: np.ndarray, index, first: int, last: int) -> tuple:
    """The nearest centre of rows ``first`` to ``last`` of ``index``, and their cosine with it."""
    clusters, closeness = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.float32)]
    for start in range(first, last, BLOCK):
        vectors = index.vectors(np.arange(start, min(start + BLOCK, last)))
        nearest = _nearest_centre(centres, vectors)
        clusters.append(nearest)
        closeness.append(np.einsum("ij,ij->i", vectors, centres[nearest]))
    return np.concatenate(clusters), np.concatenate(closeness)
