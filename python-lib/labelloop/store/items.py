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
from dataclasses import dataclass

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


@dataclass
class TableSource:
    """Rows of a dataset, addressed by stable id."""

    frame: pd.DataFrame
    id_column: str | None = None

    def __post_init__(self):
        self.ids = row_ids(self.frame, self.id_column)
        self._position = pd.Index(self.ids)
        self._position.get_indexer(self.ids[:1])  # build the hash table now, not on a first request

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, item_id) -> bool:
        return isinstance(item_id, str) and item_id in self._position

    def known(self, item_ids: list) -> np.ndarray:
        """A boolean mask: which of ``item_ids`` are rows of this source (vectorised)."""
        return self._position.get_indexer(item_ids) >= 0

    def ids_of(self, rows: pd.DataFrame) -> list:
        """The ids of rows given by their values (a queries dataset without ``item_id``).

        Exact duplicates are numbered within ``rows``, so a duplicate's id may differ from the
        pool's: unknown ids are left out by whoever uses them.
        """
        missing = [c for c in self.frame.columns if c not in rows.columns]
        if missing:
            raise LabelloopError(f"The queries have no column '{missing[0]}' of the data and no 'item_id'.")
        return row_ids(rows[list(self.frame.columns)], self.id_column)

    def rows(self, item_ids: Iterable[str]) -> pd.DataFrame:
        """The input rows of ``item_ids``, in that order."""
        positions = self._position.get_indexer(list(item_ids))
        if (positions < 0).any():
            raise NotFound("Unknown item id.")
        return self.frame.iloc[positions].reset_index(drop=True)


@dataclass
class FolderSource:
    """Media files of a folder, addressed by their path inside it."""

    paths: list
    data_type: str

    def __post_init__(self):
        self.ids = sorted({folder_item_id(p) for p in self.paths if is_media_file(p, self.data_type)})
        self._known = set(self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, item_id) -> bool:
        return isinstance(item_id, str) and item_id in self._known

    def known(self, item_ids: list) -> np.ndarray:
        """A boolean mask: which of ``item_ids`` are media files of this folder."""
        return np.array([i in self._known for i in item_ids], dtype=bool)

    def ids_of(self, rows: pd.DataFrame) -> list:
        """The ids of rows given by their ``path`` (a queries dataset without ``item_id``)."""
        if "path" not in rows.columns:
            raise LabelloopError("The queries have neither 'item_id' nor 'path'.")
        return [folder_item_id(p) for p in rows["path"].astype(str)]

    def rows(self, item_ids: Iterable[str]) -> pd.DataFrame:
        """A one-column frame (``path``) for ``item_ids``, in that order."""
        item_ids = list(item_ids)
        if any(i not in self._known for i in item_ids):
            raise NotFound("Unknown item id.")
        return pd.DataFrame({"path": item_ids}, dtype=object)
