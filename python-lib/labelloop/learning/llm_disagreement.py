"""Where the model and the LLM part ways: the items a ``llm_disagreement`` bonus favours (DESIGN.md section 14).

An item the LLM answered differently from the model's prediction is one of the two is wrong
about, and an item the LLM abstained on is one it finds hard: a person's label teaches the model
most there, and measures the LLM where it is least sure. Items the LLM was not asked about are
not favoured: nothing is known of them. The query sampler and ``simulate``'s ``+llm`` runs both
add the bonus through ``disagreeing``.
"""
from __future__ import annotations

import numpy as np


def disagreeing(predicted, item_ids, answers: dict) -> np.ndarray:
    """Per item, whether the LLM's recorded answer (``answers``: item id -> category, or None
    where it abstained) is not the model's ``predicted`` category."""
    missing = object()
    found = [answers.get(str(i), missing) for i in item_ids]
    return np.array([a is not missing and (a is None or str(a) != str(p)) for a, p in zip(found, predicted)], dtype=bool)


def predictions(classes, matrix: np.ndarray) -> np.ndarray:
    """The model's predicted category per row of a probability ``matrix`` over ``classes``."""
    return np.asarray(classes, dtype=object)[np.asarray(matrix).argmax(axis=1)]
