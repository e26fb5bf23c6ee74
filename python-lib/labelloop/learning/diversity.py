"""Diverse batches (DESIGN.md section 11): cluster-margin over the most uncertain candidates.

The most uncertain items of a pool are often near-duplicates: labeling ten of them teaches the
model one thing ten times before the next retrain. Cluster-margin (Citovsky et al., 2021, "Batch
Active Learning at Scale") takes the ``FACTOR x k`` most uncertain candidates, clusters them in
feature space and picks the most uncertain item of each cluster in turn: no cluster gives a second
item before every cluster has given one.

Only the candidates are clustered, never the pool, so the cost and memory are those of
``FACTOR x k`` rows whatever the pool's size.
"""
from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.exceptions import ConvergenceWarning

FACTOR = 10  # candidates per item picked
DIMENSIONS = 32  # wide or sparse features are reduced to this many before k-means
KMEANS_ITERATIONS = 50
FULL_KMEANS_WORK = 20_000_000  # candidates x clusters above which k-means runs on mini-batches


def candidates_wanted(k: int, diverse: bool) -> int:
    """How many of the most uncertain items must be kept to pick ``k`` of them."""
    return k * FACTOR if diverse else k


def round_robin(clusters: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of ``k`` items: the most uncertain of each cluster in turn, most uncertain first.

    Clusters take turns in the order of their most uncertain item; within a turn, every cluster
    that has items left gives its most uncertain remaining one.
    """
    clusters, scores = np.asarray(clusters), np.asarray(scores, dtype=float)
    order = np.lexsort((np.arange(len(scores)), -scores))  # most uncertain first, ties by position
    ranked_clusters = clusters[order]
    # the rank of each item within its own cluster (0 = that cluster's most uncertain)
    turn = np.zeros(len(order), dtype=np.int64)
    seen: dict = {}
    for n, cluster in enumerate(ranked_clusters.tolist()):
        turn[n] = seen.get(cluster, 0)
        seen[cluster] = turn[n] + 1
    picked = order[np.lexsort((np.arange(len(order)), turn))]  # turn first, then uncertainty
    return picked[:k]


def reduced(features) -> np.ndarray:
    """Dense features of at most ``DIMENSIONS`` columns (a truncated SVD of wide or sparse ones)."""
    if sp.issparse(features) or features.shape[1] > DIMENSIONS:
        components = min(DIMENSIONS, features.shape[1] - 1, features.shape[0] - 1)
        if components < 1:
            return np.zeros((features.shape[0], 1))
        return TruncatedSVD(n_components=components, random_state=0).fit_transform(features)
    return np.asarray(features, dtype=float)


def diverse_pick(features, scores: np.ndarray, k: int, seed: int | None = 0) -> np.ndarray:
    """Indices of ``k`` of the candidates (rows of ``features``), one per cluster before any second.

    ``k`` clusters when there are more candidates than ``k``, so a batch of ``k`` has one item of
    each; the order returned is the round-robin order (see ``round_robin``).
    """
    scores = np.asarray(scores, dtype=float)
    if k >= len(scores):
        return np.lexsort((np.arange(len(scores)), -scores))
    points = reduced(features)
    distinct = len(np.unique(np.round(points, 9), axis=0))
    clusters = min(k, distinct)
    if clusters < 2:
        return round_robin(np.zeros(len(scores), dtype=int), scores, k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        labels = _kmeans(clusters, len(points), seed).fit_predict(points)
    return round_robin(labels, scores, k)


def _kmeans(clusters: int, points: int, seed: int | None):
    """Full k-means for the loop's few thousand candidates; mini-batches (seconds, not minutes)
    for a recipe keeping 10,000 queries of a large pool (100,000 candidates)."""
    if clusters * points <= FULL_KMEANS_WORK:
        return KMeans(n_clusters=clusters, n_init=1, max_iter=KMEANS_ITERATIONS, random_state=seed)
    return MiniBatchKMeans(n_clusters=clusters, n_init=1, init="random", max_iter=20, batch_size=4096, random_state=seed)
