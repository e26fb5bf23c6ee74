"""Uncertainty scores and ranking (DESIGN.md section 8): what humans should label next.

``scores`` turns class probabilities into one number per row, higher = label first:

- ``confidence`` = 1 - p(1)
- ``margin``     = 1 - (p(1) - p(2))
- ``entropy``    = Shannon entropy / log(k), in [0, 1]
- ``random``     = uniform noise (a baseline, and the unbiased slice)

where p(i) is the i-th highest probability of a row. ``top`` picks the k highest without sorting
the whole array, which is what makes scoring a million rows cheap.
"""
from __future__ import annotations

import numpy as np
from scipy.special import entr

from labelloop.errors import LabelloopError

STRATEGIES = ("confidence", "margin", "entropy", "random")
SUM_TOLERANCE = 1e-3


def check_probabilities(probabilities) -> np.ndarray:
    """The probabilities as a float (n, k) array; rows that are not distributions are an error."""
    matrix = np.asarray(probabilities, dtype=float)
    if matrix.ndim != 2 or matrix.shape[1] < 2:
        raise LabelloopError(f"Probabilities must be a table with one column per class (at least 2), got shape {matrix.shape}.")
    bad = ~np.isfinite(matrix).all(axis=1)
    bad |= (matrix < 0).any(axis=1)
    bad |= np.abs(matrix.sum(axis=1) - 1) > SUM_TOLERANCE
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise LabelloopError(
            f"Row {row} of the probabilities is not a distribution (values {np.round(matrix[row], 4).tolist()}): "
            f"they must be finite, non-negative and sum to 1; {int(bad.sum())} row(s) are invalid.")
    return matrix


def scores(probabilities, strategy: str, rng: np.random.Generator | None = None) -> np.ndarray:
    """One score per row, in [0, 1]; higher = more worth labeling."""
    if strategy not in STRATEGIES:
        raise LabelloopError(f"Unknown strategy '{strategy}' (use {', '.join(STRATEGIES)}).")
    matrix = check_probabilities(probabilities)
    if strategy == "random":
        return (rng or np.random.default_rng()).random(len(matrix))
    if strategy == "entropy":
        return np.clip(entr(matrix).sum(axis=1) / np.log(matrix.shape[1]), 0.0, 1.0)
    two_highest = np.partition(matrix, -2, axis=1)[:, -2:]
    if strategy == "confidence":
        return 1.0 - two_highest[:, 1]
    return 1.0 - (two_highest[:, 1] - two_highest[:, 0])


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
        threshold = values[np.argpartition(values, len(values) - k)[len(values) - k:]].min()
        above = np.flatnonzero(values > threshold)
        tied = np.flatnonzero(values == threshold)[: k - len(above)]
        chosen = np.concatenate([above, tied])
    return chosen[np.lexsort((chosen, -values[chosen]))]
