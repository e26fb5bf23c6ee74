"""What the built-in model (``features.build_pipeline``) learns from, in words, for the page's
features line and ``labelloop status``; kept apart from the pipeline so a light command does not
import scikit-learn to say it."""
from __future__ import annotations

import pandas as pd

from labelloop.store import text

MEDIA_WORDS = {"image": "the grey image at 16x16 and its gradient orientations",
               "sound": "a 40-band log-mel spectrogram, averaged over the whole sound and each third"}


def features_in_words(data_type: str, frame: pd.DataFrame | None = None) -> str:
    """What ``build_pipeline`` makes the model learn from, in words, for the page and ``status``
    (``frame``: a table's input columns, read to tell numeric, categorical and free-text ones apart)."""
    if data_type == "text":
        return "the text's words and characters (TF-IDF)"
    if data_type in MEDIA_WORDS:
        return MEDIA_WORDS[data_type]
    numeric, categorical, free_text = text.column_kinds(frame)
    parts = [f"{len(numeric)} numeric column(s)" if numeric else "",
             f"{len(categorical)} categorical column(s)" if categorical else "",
             f"the words of {', '.join(map(str, free_text))} (TF-IDF)" if free_text else ""]
    return ", ".join(p for p in parts if p) or "no usable column"
