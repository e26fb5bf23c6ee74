"""Diverse batches (DESIGN.md section 11): ``cluster``, ``clue`` and ``badge``.

The most uncertain items of a pool are often near-duplicates: labeling ten of them teaches the
model one thing ten times before the next retrain. Cluster-margin (Citovsky et al., 2021, "Batch
Active Learning at Scale") takes the ``FACTOR x k`` most uncertain candidates, clusters them in
feature space and picks the most uncertain item of each cluster in turn: no cluster gives a second
item before every cluster has given one.

Only the candidates are clustered, never the pool, so the cost and memory are those of
``FACTOR x k`` rows whatever the pool's size.

``clue`` (after Prabhu et al., 2021, "Active Domain Adaptation via Clustering Uncertainty-weighted
Embeddings") clusters the whole pool instead, each item weighing its uncertainty, and labels the
item nearest each of ``k`` centres: representative items of the regions where the model is
unsure, not the outliers plain uncertainty picks while labels are few. Pools above ``SUBSAMPLE``
rows are clustered on a uniform sample of that many.

``badge`` (after Ash et al., 2020, "Deep Batch Active Learning by Diverse, Uncertain Gradient Lower
Bounds") seeds k-means++ on each item's gradient embedding under logistic regression, the outer
product of ``p - onehot(prediction)`` and the item's features: far from the picked ones and
uncertain at once. The products are never built: their dot products are those of the two factors
multiplied, so memory is that of the candidates' features and probabilities.

``first_batch``: before any model, the items nearest k-means centres of the pool.
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
SUBSAMPLE = 20_000  # items clue and badge choose from at most


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


def pool_wanted(k: int, diversity: str) -> int:
    """How many of the most uncertain items a sampler keeps to pick ``k`` with ``diversity``: ``clue``
    and ``badge`` choose from the whole pool, up to ``SUBSAMPLE`` items."""
    if diversity in ("clue", "badge"):
        return max(k, SUBSAMPLE)
    return candidates_wanted(k, diversity == "cluster")


def pick_batch(diversity: str, features, uncertainty: np.ndarray, k: int, seed: int | None = 0,
               probabilities: np.ndarray | None = None) -> np.ndarray:
    """Indices of ``k`` of the candidates (rows of ``features``) by ``diversity``, most uncertain first.

    ``probabilities`` (one row per candidate) are what ``badge`` needs; without them (a scored
    dataset's rows have no model to ask) it clusters as ``clue`` does."""
    uncertainty = np.asarray(uncertainty, dtype=float)
    if diversity == "none" or k >= len(uncertainty):
        return _most_uncertain_first(np.arange(len(uncertainty)), uncertainty)[:k]
    if diversity == "cluster":
        best = _most_uncertain_first(np.arange(len(uncertainty)), uncertainty)[:candidates_wanted(k, True)]
        return _most_uncertain_first(best[diverse_pick(_rows(features, best), uncertainty[best], k, seed)], uncertainty)
    if diversity == "badge" and probabilities is not None:
        return _most_uncertain_first(badge_pick(features, probabilities, k, seed), uncertainty)
    return _most_uncertain_first(clue_pick(features, uncertainty, k, seed), uncertainty)


def first_batch(features, k: int, seed: int | None = 0) -> np.ndarray:
    """Indices of ``k`` items to label before any model: the items nearest k-means centres of the
    pool, so the first labels cover it instead of landing where a random draw happens to."""
    return clue_pick(features, np.ones(features.shape[0]), k, seed)


def clue_pick(features, uncertainty: np.ndarray, k: int, seed: int | None = 0) -> np.ndarray:
    """Indices of ``k`` items: the nearest to each centre of a k-means weighted by uncertainty (at
    most ``SUBSAMPLE`` items are clustered); the most uncertain others fill empty clusters."""
    uncertainty = np.asarray(uncertainty, dtype=float)
    sample = _subsample(len(uncertainty), seed)
    points, weights = reduced(_rows(features, sample)), uncertainty[sample]
    clusters = min(k, len(np.unique(np.round(points, 9), axis=0)))
    picked = np.array([], dtype=np.int64)
    if clusters >= 2 and weights.sum() > 0:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = _kmeans(clusters, len(points), seed).fit(points, sample_weight=np.maximum(weights, 1e-12))
        labels = model.labels_
        distance = ((points - model.cluster_centers_[labels]) ** 2).sum(axis=1)
        by_cluster = np.lexsort((distance, labels))
        firsts = by_cluster[np.r_[True, labels[by_cluster][1:] != labels[by_cluster][:-1]]]
        picked = sample[firsts]
    return _filled(picked, uncertainty, k)


def badge_pick(features, probabilities: np.ndarray, k: int, seed: int | None = 0) -> np.ndarray:
    """Indices of ``k`` items by k-means++ seeding on gradient embeddings (see the module's docstring).

    The first is the largest gradient; each next is drawn with probability proportional to its
    squared distance to the nearest one picked. At most ``SUBSAMPLE`` items are considered."""
    probabilities = np.asarray(probabilities, dtype=float)
    sample = _subsample(len(probabilities), seed)
    p = probabilities[sample]
    residual = p - np.eye(p.shape[1])[p.argmax(axis=1)]  # dLoss/dLogits if the prediction were the label
    x = reduced(_rows(features, sample))
    x = np.hstack([x, np.ones((len(x), 1))])  # the intercept's gradient too
    norms = (residual ** 2).sum(axis=1) * (x ** 2).sum(axis=1)
    rng = np.random.default_rng(seed)
    chosen = [int(np.argmax(norms))]
    nearest = np.full(len(sample), np.inf)
    while len(chosen) < min(k, len(sample)):
        c = chosen[-1]
        distance = norms + norms[c] - 2 * (residual @ residual[c]) * (x @ x[c])
        nearest = np.minimum(nearest, np.maximum(distance, 0))
        nearest[chosen] = 0
        total = nearest.sum()
        if total <= 1e-12:  # every item equals a picked one: nothing left to spread over
            break
        chosen.append(int(rng.choice(len(sample), p=nearest / total)))
    return _filled(sample[np.array(chosen, dtype=np.int64)], 1 - probabilities.max(axis=1), k)


def _subsample(n: int, seed: int | None) -> np.ndarray:
    """Positions of at most ``SUBSAMPLE`` of ``n`` items, uniformly drawn, in order."""
    if n <= SUBSAMPLE:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=SUBSAMPLE, replace=False))


def _rows(features, rows: np.ndarray):
    return features[rows] if sp.issparse(features) else np.asarray(features)[rows]


def _filled(picked: np.ndarray, uncertainty: np.ndarray, k: int) -> np.ndarray:
    """``picked`` (distinct) completed to ``k`` items by the most uncertain of the others."""
    picked = np.unique(picked)[:k]
    if len(picked) < k:
        others = np.setdiff1d(np.arange(len(uncertainty)), picked)
        picked = np.r_[picked, _most_uncertain_first(others, uncertainty)[:k - len(picked)]]
    return picked


def _most_uncertain_first(rows: np.ndarray, uncertainty: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.int64)
    return rows[np.lexsort((rows, -uncertainty[rows]))]
