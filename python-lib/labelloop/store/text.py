"""Cell values as text, the one way every part reads them (search, features, the online model), and
which columns of a table are free text (the built-in model's features, and what sentence models embed)."""
from __future__ import annotations

import pandas as pd

FREE_TEXT_LENGTH = 30  # mean characters above which a mostly-distinct string column is free text
FREE_TEXT_DISTINCT = 0.5


def as_text(values: pd.Series) -> pd.Series:
    """The values as strings, missing ones as ''."""
    return values.astype(object).where(values.notna(), "").astype(str)


def column_kinds(frame: pd.DataFrame) -> tuple:
    """Split the columns into numeric, categorical and free-text ones."""
    numeric, categorical, free_text = [], [], []
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
            numeric.append(name)
            continue
        present = column.dropna().astype(str)
        long_text = len(present) and present.str.len().mean() > FREE_TEXT_LENGTH
        mostly_distinct = len(present) and present.nunique() > FREE_TEXT_DISTINCT * len(present)
        (free_text if long_text and mostly_distinct else categorical).append(name)
    return numeric, categorical, free_text


def free_text_columns(frame: pd.DataFrame, id_column: str | None = None) -> tuple:
    """The columns of tabular data that sentence models embed: the free-text ones, never the id."""
    return tuple(column_kinds(frame.drop(columns=[c for c in [id_column] if c in frame.columns]))[2])


def embedded_columns(data_type: str, frame, text_column: str | None = None, id_column: str | None = None) -> tuple:
    """The columns sentence models embed: the text column of text data, a table's free-text
    columns, nothing of a folder (``frame`` is read for tables only)."""
    if data_type == "text":
        return (text_column,)
    return free_text_columns(frame, id_column) if data_type == "tabular" else ()
