"""Uncertainty scores and ranking (DESIGN.md section 8): what humans should label next.

``scores`` turns class probabilities into one number per row, higher = label first:

- ``confidence`` = 1 - p(1)
- ``margin``     = 1 - (p(1) - p(2))
- ``entropy``    = Shannon entropy / log(k), in [0, 1]
- ``random``     = uniform noise (a baseline, and the unbiased slice)

where p(i) is the i-th highest probability of a row. ``top`` picks the k highest without sorting
the whole array, which is what makes scoring a million rows cheap.

``DIVERSITY`` names the ways a batch is then picked from the ranking (the top k, one per cluster of
the most uncertain, or from the whole pool by clue or badge: learning/diversity.py). It is defined
here, next to ``STRATEGIES``, because the command line offers both choices and must not import
scikit-learn to build its parser.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from labelloop.errors import LabelloopError

STRATEGIES = ("confidence", "margin", "entropy", "random")
DIVERSITY = {  # each way to pick a batch, and how ``labelloop sample`` describes its queries
    "none": "",
    "cluster": "one per cluster of the most uncertain",
    "clue": "the nearest to each centre of the pool clustered by uncertainty",
    "badge": "spread over the model's gradients",
}
DEFAULT_DIVERSITY = "clue"  # measured: bench/peers.py (RESULTS.md)
UNSCORED = "unscored"  # the strategy stamped on rows a model did not score (a DSS model may drop rows)
SUM_TOLERANCE = 1e-3
_BLOCK_ROWS = 65_536  # 5 MB of float64 for 10 classes: a block stays in a core's cache
_THREADS = max(1, min(4, os.cpu_count() or 1))
_POOL = ThreadPoolExecutor(max_workers=_THREADS, thread_name_prefix="labelloop-scores")


def _as_matrix(probabilities) -> np.ndarray:
    matrix = np.asarray(probabilities, dtype=float)
    if matrix.ndim != 2 or matrix.shape[1] < 2:
        raise LabelloopError(f"Probabilities must be a table with one column per class (at least 2), got shape {matrix.shape}.")
    return matrix


def _invalid_rows(block: np.ndarray) -> np.ndarray:
    """Rows of a block that are not distributions; NaN and infinity propagate into the sums."""
    sums = np.einsum("ij->i", block)
    bad = ~(np.abs(sums - 1) <= SUM_TOLERANCE)
    if block.min() < 0:
        bad |= (block < 0).any(axis=1)
    return bad


def _raise_for(matrix: np.ndarray, bad: np.ndarray) -> None:
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise LabelloopError(
            f"Row {row} of the probabilities is not a distribution (values {np.round(matrix[row], 4).tolist()}): "
            f"they must be finite, non-negative and sum to 1; {int(bad.sum())} row(s) are invalid.")


def check_probabilities(probabilities) -> np.ndarray:
    """The probabilities as a float (n, k) array; rows that are not distributions are an error."""
    matrix = _as_matrix(probabilities)
    _raise_for(matrix, _invalid_rows(matrix))
    return matrix


def _least_confidence(block: np.ndarray) -> np.ndarray:
    highest = np.maximum(block[:, 0], block[:, 1])
    for j in range(2, block.shape[1]):
        np.maximum(highest, block[:, j], out=highest)
    return 1.0 - highest


def _margin(block: np.ndarray) -> np.ndarray:
    highest = np.maximum(block[:, 0], block[:, 1])
    second = np.minimum(block[:, 0], block[:, 1])
    beaten = np.empty_like(highest)
    for j in range(2, block.shape[1]):
        column = block[:, j]
        np.minimum(highest, column, out=beaten)
        np.maximum(second, beaten, out=second)
        np.maximum(highest, column, out=highest)
    return 1.0 - (highest - second)


def _entropy(block: np.ndarray) -> np.ndarray:
    # 0 * log(tiny) is exactly 0, so zero probabilities add nothing, as 0 log 0 = 0 requires.
    logs = np.log(np.maximum(block, np.finfo(float).tiny))
    return np.clip(-np.einsum("ij,ij->i", block, logs) / np.log(block.shape[1]), 0.0, 1.0)


_SCORERS = {"confidence": _least_confidence, "margin": _margin, "entropy": _entropy}


def scores(probabilities, strategy: str, rng: np.random.Generator | None = None) -> np.ndarray:
    """One score per row, in [0, 1]; higher = more worth labeling.

    Rows are checked and scored in one pass over blocks that stay in cache, with column-wise
    maxima and ``einsum`` row sums (numpy's reductions along a 10-wide row axis are slow), on
    several threads: numpy releases the GIL inside its loops.
    """
    if strategy not in STRATEGIES:
        raise LabelloopError(f"Unknown strategy '{strategy}' (use {', '.join(STRATEGIES)}).")
    matrix = _as_matrix(probabilities)
    if strategy == "random":
        check_probabilities(matrix)
        return (rng or np.random.default_rng()).random(len(matrix))
    scorer = _SCORERS[strategy]
    out, bad = np.empty(len(matrix)), np.empty(len(matrix), dtype=bool)

    def score_block(start: int) -> None:
        block = matrix[start:start + _BLOCK_ROWS]
        bad[start:start + _BLOCK_ROWS] = _invalid_rows(block)
        out[start:start + _BLOCK_ROWS] = scorer(block)

    with np.errstate(invalid="ignore"):  # invalid rows are reported below, not warned about
        list(_POOL.map(score_block, range(0, len(matrix), _BLOCK_ROWS)))
    _raise_for(matrix, bad)
    return out


def top(values, k: int) -> np.ndarray:
    """Indices of the ``k`` highest values, highest first; ties go to the lower index.

    Only the k winners are sorted: O(n + k log k) instead of O(n log n).
    """
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or not np.isfinite(values).all():
        raise LabelloopError("Scores must be a flat array of finite numbers.")
    if k < 0:
        raise LabelloopError("k must not be negative.")
    if k >= len(values):
        chosen = np.arange(len(values))
    elif k == 0:
        return np.array([], dtype=np.int64)
    else:
        threshold = np.partition(values, len(values) - k)[len(values) - k]
        above = np.flatnonzero(values > threshold)
        tied = np.flatnonzero(values == threshold)[: k - len(above)]
        chosen = np.concatenate([above, tied])
    return chosen[np.lexsort((chosen, -values[chosen]))]
