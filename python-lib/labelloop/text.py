"""Cell values as text, the one way every part reads them (search, features, the online model)."""
from __future__ import annotations

import pandas as pd


def as_text(values: pd.Series) -> pd.Series:
    """The values as strings, missing ones as ''."""
    return values.astype(object).where(values.notna(), "").astype(str)
