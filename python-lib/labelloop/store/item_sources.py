"""Where the items come from, chosen once: the files of a media folder, or the rows of a dataset.

A dataset is a CSV (or other delimited), Parquet or JSONL file, a database table or a DSS
dataset: the platform reads each the same way. What differs between files and rows (how the pool
is read in chunks, how a chunk's ids are made, what a loaded pool looks like, which features a
model learns from) is a method or attribute of ``MediaFiles`` or ``Rows``. The code that sets a
project, webapp or recipe up picks one (``items_for_type``, ``items_at``); the rest asks it and
never tests which kind it has.
"""
from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from labelloop.errors import LabelloopError
from labelloop.platform.base import Platform
from labelloop.store.items import FOLDER_TYPES, FolderSource, TableSource, row_ids
from labelloop.store.materialize import clashing_column


class MediaFiles:
    """The media files of a folder (``image``, ``sound``, or ``media`` for either), identified by their path."""

    id_column = None
    hashed = False  # a path is an id: nothing to number across chunks
    has_columns = False  # a path tells a model nothing it could learn or cluster on
    features = "media"  # what a model learns from when no text features apply
    columns = ("path",)  # the columns a pool read in chunks has
    local_place = "folders"  # where a LocalPlatform is told of it

    def __init__(self, data_type: str = "media"):
        self.data_type = data_type

    def load(self, platform: Platform, name: str) -> FolderSource:
        return FolderSource(platform.list_folder(name), self.data_type)

    def check_loaded(self, source: FolderSource, label_column: str) -> None:
        """Refuse a pool the labeling page could not work with, in one sentence."""
        if not len(source):
            raise LabelloopError(f"The folder has no {self.data_type} files to label.")

    def chunks(self, platform: Platform, name: str, size: int) -> Iterator[pd.DataFrame]:
        paths = self.load(platform, name).ids
        if not paths:
            raise LabelloopError(f"The folder '{name}' has no media files to score.")
        for start in range(0, len(paths), size):
            yield pd.DataFrame({"path": paths[start:start + size]}, dtype=object)

    def ids(self, chunk: pd.DataFrame) -> list:
        """The item ids of a chunk of the pool (its paths)."""
        return chunk["path"].tolist()


class Rows:
    """The rows of a dataset, identified by ``id_column`` or by a hash of each row."""

    has_columns = True
    features = "tfidf"
    columns = ()
    local_place = "datasets"

    def __init__(self, id_column: str | None = None):
        self.id_column = id_column

    @property
    def hashed(self) -> bool:
        """Ids hashed from the rows: exact duplicates are numbered across chunks."""
        return self.id_column is None

    def load(self, platform: Platform, name: str) -> TableSource:
        return TableSource(platform.read_dataset(name), self.id_column)

    def check_loaded(self, source: TableSource, label_column: str) -> None:
        """Refuse a pool whose columns clash with the labels dataset's, in one sentence."""
        clash = clashing_column(source.frame.columns, label_column)
        if clash:
            raise LabelloopError(f"The dataset to label already has a column '{clash}', which the labels dataset adds: "
                                 "rename it, or choose another label column name.")

    def chunks(self, platform: Platform, name: str, size: int) -> Iterator[pd.DataFrame]:
        yield from platform.iter_dataset(name, size)

    def ids(self, chunk: pd.DataFrame) -> list:
        """The item ids of a chunk of the pool (of rows numbered within the chunk, when hashed)."""
        return row_ids(chunk, self.id_column)


def items_for_type(data_type: str, id_column: str | None = None):
    """The items of a data type: image and sound are files of a folder, tabular and text rows of a dataset."""
    return MediaFiles(data_type) if data_type in FOLDER_TYPES else Rows(id_column)


def items_at(platform: Platform, name: str, id_column: str | None = None):
    """The items of the Flow object ``name`` (a recipe's input may be a folder or a dataset)."""
    return MediaFiles() if platform.is_folder(name) else Rows(id_column)
