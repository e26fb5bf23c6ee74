"""What a request hands the labeling webapp, checked at the edge, and the items' data it answers with.

Each check raises ``LabelloopError`` (400) or ``NotFound`` (404) with one readable sentence.
"""
from __future__ import annotations

import json
import math
from urllib.parse import quote

import numpy as np
import pandas as pd

from labelloop.errors import LabelloopError, NotFound
from labelloop.parameters.numbers import whole_number
from labelloop.store.items import FOLDER_TYPES

MAX_COMMENT = 10_000
MAX_BATCH = 100
HISTORY_DIRECTIONS = ("back", "next", "first", "last")


def request_object(body) -> dict:
    if not isinstance(body, dict):
        raise LabelloopError("The request body must be a JSON object.")
    return body


def batch_size(size) -> int:
    return whole_number(size, "size", 1, MAX_BATCH, text=True)


def known_item(source, body: dict) -> str:
    item_id = body.get("id")
    if not isinstance(item_id, str) or not item_id:
        raise LabelloopError("id must be a non-empty string.")
    if item_id not in source:
        raise NotFound("Unknown item id.")
    return item_id


def label_value(config, label) -> str:
    """The label as the journal stores it: a category key, or a JSON list of keys in the categories' order."""
    keys = config.keys
    if not config.multi_label:
        if not isinstance(label, str) or label not in keys:
            raise LabelloopError("label must be one of the categories.")
        return label
    if not isinstance(label, list) or not label or not all(isinstance(v, str) and v in keys for v in label):
        raise LabelloopError("label must be a non-empty list of categories.")
    chosen = set(label)
    return json.dumps([k for k in keys if k in chosen])


def stored_label(config, label):
    """A label read back from the journal, as the API gives it (a list for multi-label)."""
    return json.loads(label) if label is not None and config.multi_label else label


def comment_of(body: dict) -> str | None:
    """The answer's or decision's comment: text of bounded length, or None for none or an empty one."""
    comment = body.get("comment")
    if comment is not None and (not isinstance(comment, str) or len(comment) > MAX_COMMENT):
        raise LabelloopError(f"comment must be text of at most {MAX_COMMENT:,} characters.")
    return comment or None


def history_position(entries: list, cursor, direction: str) -> int:
    """Where ``direction`` leads from ``cursor`` (an event id; none: the new item after the last)."""
    if direction == "first":
        return 0
    if direction == "last":
        return len(entries) - 1
    if cursor in (None, ""):
        if direction == "next":
            raise NotFound("You are on a new item: there is nothing after it.")
        return len(entries) - 1
    ids = [e["event_id"] for e in entries]
    current = whole_number(cursor, "cursor", 0, text=True)
    if current not in ids:
        raise NotFound("That history position no longer exists.")
    position = ids.index(current) + (1 if direction == "next" else -1)
    if position < 0:
        raise NotFound("This is your first annotation.")
    if position >= len(entries):
        raise NotFound("This is your latest annotation.")
    return position


def item_data(config, source, item_ids: list) -> list:
    """What the page shows of each item: a media file's path and URL, or the row's values as JSON."""
    if config.type in FOLDER_TYPES:
        return [{"path": i, "mediaUrl": "media/" + quote(i, safe="")} for i in item_ids]
    rows = [{str(k): _json_value(v) for k, v in row.items()} for row in source.rows(item_ids).to_dict("records")]
    if config.type == "text":
        return [{"text": row.get(config.text_column), **row} for row in rows]
    return rows


def _json_value(value):
    """A cell as JSON: NaN and missing as null, numpy scalars as numbers, anything else as text."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return _json_value(value.item())
    if pd.api.types.is_scalar(value) and pd.isna(value):
        return None
    return str(value)
