"""Where each rule fires over a pool: a vote matrix (items x rules) of category codes.

Rules are applied a chunk of rows at a time, each rule to a whole column at once: text matching
runs in pyarrow's RE2 (C++, linear time), conditions in numpy, both outside the GIL, so the rules
of a chunk run on threads side by side. A million rows cost a second or two, and memory grows
with the chunk, not the pool. The matrix itself is two bytes per item and rule.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from labelloop.rules.spec import Condition, Rule

ABSTAIN = -1
CHUNK_ROWS = 100_000
THREADS = min(4, os.cpu_count() or 1)  # RE2 and numpy let go of the GIL: rules run side by side


def rule_votes(rules: list, frame: pd.DataFrame, categories: list, chunk_rows: int = CHUNK_ROWS) -> np.ndarray:
    """``votes[i, j]``: the code (index in ``categories``) rule ``j`` gives row ``i``, or ``ABSTAIN``."""
    codes = {str(c): n for n, c in enumerate(categories)}
    votes = np.full((len(frame), len(rules)), ABSTAIN, dtype=np.int16)
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        for start in range(0, len(frame), chunk_rows):
            chunk = Columns(frame.iloc[start:start + chunk_rows])
            for column in {rule.column for rule in rules if rule.column}:
                chunk.text(column)  # converted once, before the threads read it
            for j, fired in enumerate(pool.map(rule_fires, rules, [chunk] * len(rules))):
                votes[start:start + len(chunk.frame), j][fired] = codes[rules[j].label]
    return votes


class Columns:
    """A chunk's columns as the rules read them (text for RE2, floats for comparisons), each
    converted once however many rules read it."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self._text, self._numbers = {}, {}

    def __len__(self) -> int:
        return len(self.frame)

    def series(self, column: str) -> pd.Series:
        return self.frame[column]

    def text(self, column: str) -> pa.Array:
        if column not in self._text:
            self._text[column] = pa.array(self.frame[column].astype("string"), type=pa.string(), from_pandas=True)
        return self._text[column]

    def numbers(self, column: str) -> np.ndarray:
        if column not in self._numbers:
            numbers = pd.to_numeric(self.frame[column], errors="coerce")
            self._numbers[column] = numbers.to_numpy(dtype=float, na_value=np.nan)
        return self._numbers[column]


def rule_fires(rule: Rule, columns) -> np.ndarray:
    """Whether ``rule``'s condition holds on each row (``columns``: a frame, or its ``Columns``)."""
    if isinstance(columns, pd.DataFrame):
        columns = Columns(columns)
    if rule.kind in ("keywords", "regex"):
        found = pc.match_substring_regex(columns.text(rule.column), rule.pattern, ignore_case=rule.kind == "keywords")
        return _booleans(found)
    held = np.ones(len(columns), dtype=bool)
    for condition in rule.conditions:
        held &= _holds(condition, columns)
    return held


def _booleans(found: pa.Array) -> np.ndarray:
    return found.fill_null(False).to_numpy(zero_copy_only=False)


def _holds(condition: Condition, columns: Columns) -> np.ndarray:
    op, value, column = condition.op, condition.value, condition.column
    series = columns.series(column)
    if op == "is null":
        return series.isna().to_numpy()
    if op == "not null":
        return series.notna().to_numpy()
    if op == "contains":
        return _booleans(pc.match_substring(columns.text(column), value, ignore_case=True))
    if op in ("in", "not in"):
        inside = _member(columns, column, value)
        return inside if op == "in" else series.notna().to_numpy() & ~inside
    if op == "==":
        return _equal(columns, column, value)
    if op == "!=":
        return series.notna().to_numpy() & ~_equal(columns, column, value)
    numbers = columns.numbers(column)
    with np.errstate(invalid="ignore"):
        return {"<": numbers < value, "<=": numbers <= value, ">": numbers > value, ">=": numbers >= value}[op]


def _member(columns: Columns, column: str, values: tuple) -> np.ndarray:
    """Equal to one of ``values``, as ``_equal`` compares each: one hashed pass over the column
    per kind of value, however many values."""
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    texts = [v for v in values if isinstance(v, str)]
    inside = np.zeros(len(columns), dtype=bool)
    if numbers:
        inside |= np.isin(columns.numbers(column), numbers)
    if texts:
        inside |= _booleans(pc.is_in(columns.text(column), value_set=pa.array(texts, type=pa.string())))
    for flag in (v for v in values if isinstance(v, bool)):
        inside |= _equal(columns, column, flag)
    return inside


def _equal(columns: Columns, column: str, value) -> np.ndarray:
    """Equal as numbers when ``value`` is one (``1`` matches ``1.0``), as text otherwise."""
    if isinstance(value, bool):
        return (columns.series(column) == value).fillna(False).to_numpy(dtype=bool)
    if isinstance(value, (int, float)):
        return columns.numbers(column) == value
    return _booleans(pc.equal(columns.text(column), value))
