"""Search to start (DESIGN.md section 11): find items by their values, before any model exists.

With rare categories, random first labels take hundreds of clicks before the first example of a
class; a search for a word that class uses finds them at once. A search matches, case-insensitively:

- ``substring``: the query anywhere in a value (the default);
- ``word``: the query as whole words;
- ``exact``: the whole value (``column=value`` lookups; numbers compare as numbers).

Rows: every column of tabular data, the text columns of text data, or one ``column``; folders:
the file's path. The pool is scanned in chunks and the scan for items stops as soon as enough
matches are found; the count of all matches, which the page shows beside them, stops at ``COUNT_CAP``.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from itertools import islice

import numpy as np
import pandas as pd

from labelloop.errors import LabelloopError
from labelloop.store.text import as_text

MATCHES = ("substring", "word", "exact")
MAX_QUERY = 200
CHUNK_ROWS = 20_000
COUNT_CAP = 1_000  # matches counted at most (a frequent word stops the scan early): past it the page says "more than"


def check_query(q, match) -> tuple:
    """The query text and match mode, or one sentence on what is wrong with them."""
    if not isinstance(q, str) or not q.strip():
        raise LabelloopError("q must be the text to search for.")
    if len(q) > MAX_QUERY:
        raise LabelloopError(f"q must be at most {MAX_QUERY} characters.")
    if match not in MATCHES:
        raise LabelloopError(f"match must be one of {', '.join(MATCHES)}.")
    return q.strip(), match


def searched_columns(frame: pd.DataFrame, data_type: str, column: str | None) -> list:
    """The columns a search reads: ``column``, else all (tabular) or the text ones (text)."""
    if column:
        if column not in frame.columns:
            raise LabelloopError(f"There is no column '{column}' to search in.")
        return [column]
    if data_type == "text":
        return [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    return list(frame.columns)


def _matcher(q: str, match: str) -> Callable[[pd.Series], np.ndarray]:
    """A function of a column slice: which of its values match."""
    if match == "word":
        pattern = re.compile(r"(?<!\w)" + re.escape(q) + r"(?!\w)", re.IGNORECASE)
        return lambda values: as_text(values).str.contains(pattern, regex=True).to_numpy(dtype=bool)
    if match == "exact":
        number = _number(q)

        def exact(values):
            if number is not None and pd.api.types.is_numeric_dtype(values):
                return (values.to_numpy(dtype=float, na_value=np.nan) == number)
            return (as_text(values).str.casefold() == q.casefold()).to_numpy(dtype=bool)
        return exact
    return lambda values: as_text(values).str.contains(q, case=False, regex=False).to_numpy(dtype=bool)


def _number(text: str):
    try:
        return float(text)
    except ValueError:
        return None


def matching_rows(frame: pd.DataFrame, columns: list, q: str, match: str) -> Iterator[np.ndarray]:
    """Positions of the matching rows of ``frame``, chunk after chunk, in pool order."""
    matches = _matcher(q, match)
    for start in range(0, len(frame), CHUNK_ROWS):
        chunk = frame.iloc[start:start + CHUNK_ROWS]
        hit = np.zeros(len(chunk), dtype=bool)
        for name in columns:
            hit |= matches(chunk[name])
        yield np.flatnonzero(hit) + start


def find(ids: list, frame: pd.DataFrame | None, columns: list, q: str, match: str, wanted: Callable[[str], bool],
         limit: int) -> list:
    """Up to ``limit`` ids whose rows match and that ``wanted`` accepts, in pool order.

    ``frame`` is None for a folder: its ids (the paths) are what is searched.
    """
    return list(islice(_found(ids, frame, columns, q, match, wanted), limit))


def count(ids: list, frame: pd.DataFrame | None, columns: list, q: str, match: str, wanted: Callable[[str], bool]) -> dict:
    """``{count, complete}``: how many ids ``find`` would give without a limit, so the page says
    how many match in all; past ``COUNT_CAP`` the count stops (``complete`` False)."""
    found = sum(1 for _ in islice(_found(ids, frame, columns, q, match, wanted), COUNT_CAP + 1))
    return {"count": min(found, COUNT_CAP), "complete": found <= COUNT_CAP}


def _found(ids: list, frame: pd.DataFrame | None, columns: list, q: str, match: str, wanted) -> Iterator[str]:
    if frame is None:
        frame, columns = pd.DataFrame({"path": ids}), ["path"]
    for positions in matching_rows(frame, columns, q, match):
        yield from (i for i in (ids[p] for p in positions) if wanted(i))
