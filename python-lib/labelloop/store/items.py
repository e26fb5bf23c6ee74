"""Item sources and their stable ids (DESIGN.md section 3).

A label is only as durable as the id it is attached to. Ids must not change when a file is
re-exported, re-ordered or re-typed, or every existing label would be orphaned:

- a tabular or text row's id is the value of the id column when one is configured, else a hash
  of the row's values normalised so that ``1`` and ``1.0``, column order, CSV/Parquet round trips
  and dtype inference do not change it; exact duplicate rows get ``#2``, ``#3`` suffixes in order
  of appearance;
- a folder item's id is its path inside the folder, with ``/`` separators and no leading slash.
"""
from __future__ import annotations

import hashlib
import numbers
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
import pandas as pd

from labelloop.errors import LabelloopError, NotFound

DATA_TYPES = ("tabular", "image", "sound", "text")
FOLDER_TYPES = ("image", "sound")  # the types whose items are the files of a folder
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp")
SOUND_EXTENSIONS = (".wav", ".mp3", ".ogg", ".flac", ".m4a")
FOLDER_EXTENSIONS = {"image": IMAGE_EXTENSIONS, "sound": SOUND_EXTENSIONS, "media": IMAGE_EXTENSIONS + SOUND_EXTENSIONS}

_SEPARATOR = "\x1f"  # ASCII unit separator: cannot be confused with ordinary cell content
_NULL = "\x00"


def _float_text(number: float) -> str:
    if number != number:  # NaN
        return _NULL
    if number.is_integer() and abs(number) < 2**53:
        return str(int(number))
    return format(number, ".15g")


def canonical_value(value) -> str:
    """The text a cell contributes to a row hash; equal for values a round trip may confuse.

    Missing values and empty strings are one thing (CSV cannot tell them apart); integral floats
    print as integers; other floats keep 15 significant digits, which survives text round trips.
    """
    if isinstance(value, str):
        return value if value else _NULL
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return _NULL
    if isinstance(value, (bool, np.bool_)):
        return "True" if value else "False"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return _float_text(float(value))
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(value).isoformat()
    return str(value) or _NULL


def _canonical_column(column: pd.Series) -> list:
    """``canonical_value`` of every cell, with fast paths for plain numpy dtypes."""
    kind = column.dtype.kind if isinstance(column.dtype, np.dtype) else "O"
    values = column.to_numpy()
    if kind in "iu":
        return values.astype(str).tolist()
    if kind == "f":
        return [_float_text(x) for x in values.tolist()]
    if kind == "b":
        return np.where(values, "True", "False").tolist()
    return [canonical_value(v) for v in column.tolist()]


def row_hashes(frame: pd.DataFrame) -> list:
    """One 20-hex-digit hash per row, independent of column order and of dtypes."""
    order = sorted(range(frame.shape[1]), key=lambda i: str(frame.columns[i]))
    columns = [_canonical_column(frame.iloc[:, i]) for i in order]
    if not columns:
        return ["0" * 20] * len(frame)
    return [
        hashlib.blake2b(_SEPARATOR.join(cells).encode("utf-8"), digest_size=10).hexdigest()
        for cells in zip(*columns)
    ]


def number_duplicates(ids: list) -> list:
    """Suffix repeated ids with ``#2``, ``#3``... in order of appearance."""
    series = pd.Series(ids, dtype=object)
    rank = series.groupby(series, sort=False).cumcount().to_numpy() + 1
    return [i if r == 1 else f"{i}#{r}" for i, r in zip(ids, rank)]


def row_ids(frame: pd.DataFrame, id_column: str | None = None) -> list:
    """Stable ids for the rows of ``frame`` (see the module docstring)."""
    if id_column is None:
        return number_duplicates(row_hashes(frame))
    if id_column not in frame.columns:
        raise LabelloopError(f"The id column '{id_column}' is not in the data.")
    ids = _canonical_column(frame[id_column])
    if _NULL in ids:
        raise LabelloopError(f"The id column '{id_column}' has empty values.")
    if len(set(ids)) != len(ids):
        dup = pd.Series(ids)[pd.Series(ids).duplicated()].iloc[0]
        raise LabelloopError(f"The id column '{id_column}' has duplicate values (for example '{dup}').")
    return ids


def folder_item_id(path: str) -> str:
    """A folder path as an item id: ``/`` separators, no leading slash."""
    return path.replace("\\", "/").lstrip("/")


def is_media_file(path: str, data_type: str) -> bool:
    """True for files of the folder that are items of this type; hidden files never are."""
    name = path.rsplit("/", 1)[-1]
    return not name.startswith(".") and name.lower().endswith(FOLDER_EXTENSIONS[data_type])


class _Rows(NamedTuple):
    """A table source's rows at one moment: replaced whole, so a reader never mixes two moments."""

    frame: pd.DataFrame
    ids: list
    position: pd.Index


class TableSource:
    """Rows of a dataset, addressed by stable id. Rows can be added (a pool that grows), never removed."""

    def __init__(self, frame: pd.DataFrame, id_column: str | None = None):
        self.id_column = id_column
        self._state = self._rows(frame, row_ids(frame, id_column))

    @staticmethod
    def _rows(frame: pd.DataFrame, ids: list) -> _Rows:
        position = pd.Index(ids)
        position.get_indexer(ids[:1])  # build the hash table now, not on a first request
        return _Rows(frame, ids, position)

    @property
    def frame(self) -> pd.DataFrame:
        return self._state.frame

    @property
    def ids(self) -> list:
        return self._state.ids

    def snapshot(self) -> tuple:
        """``(ids, frame)`` of one moment, for whoever walks both (row ``i`` has id ``ids[i]``)."""
        state = self._state
        return state.ids, state.frame

    def __len__(self) -> int:
        return len(self._state.ids)

    def __contains__(self, item_id) -> bool:
        return isinstance(item_id, str) and item_id in self._state.position

    def known(self, item_ids: list) -> np.ndarray:
        """A boolean mask: which of ``item_ids`` are rows of this source (vectorised)."""
        return self._state.position.get_indexer(item_ids) >= 0

    def add(self, frame: pd.DataFrame) -> list:
        """Append the rows of ``frame`` whose ids are new; returns their ids.

        ``frame`` is either the whole pool read again (a file: hashed ids number duplicates in
        the file's order) or only its new rows (a table, with its id column). Its columns must be
        the pool's: a changed schema would give every hashed row a new id.
        """
        state = self._state
        if list(map(str, frame.columns)) != list(map(str, state.frame.columns)):
            raise LabelloopError("The data's columns changed: restart the server to label the new version.")
        ids = row_ids(frame, self.id_column)
        fresh = state.position.get_indexer(ids) < 0
        added = [i for i, new in zip(ids, fresh) if new]
        if added:
            rows = pd.concat([state.frame, frame[fresh]], ignore_index=True)
            self._state = self._rows(rows, state.ids + added)
        return added

    def ids_of(self, rows: pd.DataFrame) -> list:
        """The ids of rows given by their values (a queries dataset without ``item_id``).

        Exact duplicates are numbered within ``rows``, so a duplicate's id may differ from the
        pool's: unknown ids are left out by whoever uses them.
        """
        columns = self._state.frame.columns
        missing = [c for c in columns if c not in rows.columns]
        if missing:
            raise LabelloopError(f"The queries have no column '{missing[0]}' of the data and no 'item_id'.")
        return row_ids(rows[list(columns)], self.id_column)

    def rows(self, item_ids: Iterable[str]) -> pd.DataFrame:
        """The input rows of ``item_ids``, in that order."""
        state = self._state
        positions = state.position.get_indexer(list(item_ids))
        if (positions < 0).any():
            raise NotFound("Unknown item id.")
        return state.frame.iloc[positions].reset_index(drop=True)


class FolderSource:
    """Media files of a folder, addressed by their path inside it. Files can be added, never removed."""

    def __init__(self, paths: list, data_type: str):
        self.data_type = data_type
        ids = sorted({folder_item_id(p) for p in paths if is_media_file(p, data_type)})
        self._state = (ids, frozenset(ids))  # replaced whole by ``add``

    @property
    def ids(self) -> list:
        return self._state[0]

    def snapshot(self) -> tuple:
        """``(ids, frame)`` of one moment, as a table source gives: the frame's one column is ``path``."""
        ids = self._state[0]
        return ids, pd.DataFrame({"path": list(ids)})

    def __len__(self) -> int:
        return len(self._state[0])

    def __contains__(self, item_id) -> bool:
        return isinstance(item_id, str) and item_id in self._state[1]

    def known(self, item_ids: list) -> np.ndarray:
        """A boolean mask: which of ``item_ids`` are media files of this folder."""
        known = self._state[1]
        return np.array([i in known for i in item_ids], dtype=bool)

    def add(self, paths: list) -> list:
        """Take in the media files of ``paths`` (the folder listed again) that are new; returns their ids."""
        ids, known = self._state
        added = sorted({folder_item_id(p) for p in paths if is_media_file(p, self.data_type)} - known)
        if added:
            self._state = (ids + added, known | frozenset(added))
        return added

    def ids_of(self, rows: pd.DataFrame) -> list:
        """The ids of rows given by their ``path`` (a queries dataset without ``item_id``)."""
        if "path" not in rows.columns:
            raise LabelloopError("The queries have neither 'item_id' nor 'path'.")
        return [folder_item_id(p) for p in rows["path"].astype(str)]

    def rows(self, item_ids: Iterable[str]) -> pd.DataFrame:
        """A one-column frame (``path``) for ``item_ids``, in that order."""
        item_ids, known = list(item_ids), self._state[1]
        if any(i not in known for i in item_ids):
            raise NotFound("Unknown item id.")
        return pd.DataFrame({"path": item_ids}, dtype=object)
