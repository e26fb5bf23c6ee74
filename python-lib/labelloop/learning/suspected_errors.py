"""Suspected label errors of labeled rows: the built-in model, cross-validated, then confident
learning (quality/suspects.py). One function for ``labelloop quality``, the Review view and the
DSS labeling-metrics step."""
from __future__ import annotations

import numpy as np
import pandas as pd

from labelloop.learning.trainer import out_of_fold_probabilities
from labelloop.quality.suspects import suspects


def find_suspects(data_type: str, item_ids: list, rows: pd.DataFrame, labels: pd.Series, text_column: str | None = None,
                  folder: str | None = None, embeddings=None) -> list:
    """``[{item_id, label, suggested, score}]``, most suspicious first; raises NotEnoughLabels
    before two categories have two labels each. ``embeddings``: as for the trainer."""
    labels = labels.astype(str).reset_index(drop=True)
    classes, probabilities, kept = out_of_fold_probabilities(data_type, rows.reset_index(drop=True), labels,
                                                             text_column=text_column, folder=folder,
                                                             embeddings=embeddings)
    return suspects(np.asarray(item_ids, dtype=object)[kept].tolist(), labels[kept].tolist(), classes, probabilities)
