"""Whole numbers given at the edges (DSS params, HTTP query strings, CLI flags), checked once.

DSS hands a plugin's INT param to Python as a float: a ``chunk_size`` of 10000 arrives as
``10000.0`` (DSS docs, "Parameters" of plugin components). A whole float is therefore a whole
number here; ``10000.5``, ``True`` and ``"10000"`` are not, unless ``text`` allows ASCII digits
(HTTP query strings carry numbers as text).
"""
from __future__ import annotations

import math
import re

from labelloop.errors import LabelloopError

_INTEGER = re.compile(r"-?[0-9]{1,18}")  # ASCII digits only: "²".isdigit() is true, int("²") fails


def whole_number(value, name: str, low: int = 1, high: int | None = None, text: bool = False) -> int:
    """``value`` as an ``int`` between ``low`` and ``high``, or one sentence saying what is wrong."""
    if text and isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        value = int(value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"of at least {low}"
        raise LabelloopError(f"{name} must be a whole number {bound}.")
    return value

