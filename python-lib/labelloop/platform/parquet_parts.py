"""A dataset kept as a folder of Parquet parts, so that a write costs what changed (DESIGN.md section 3).

Rewriting a whole Parquet file at each flush costs what the file holds: 2 s at a million labels.
Here each flush appends one small part with the new and changed rows and rewrites only the few
parts that held an older version of a changed row; a merge of neighbouring small parts now and
then keeps their number down. Every row (one per key) lives in exactly one part, so the folder
reads as one dataset with ``pandas.read_parquet(folder)``, pyarrow's datasets or Spark.

Parts are named in the order they were written (``part-<n>.parquet``); a merge keeps the name of
its first part, so reading them in name order keeps rows in the order they were written. Files
are written through hidden temporary names (``.``-prefixed, which those readers skip) and a
rename. A crash between writing a new part and rewriting an old one leaves a key in two parts
for a moment; opening the folder again keeps the copy in the newest part, the current one.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

PART = re.compile(r"^part-(\d{10})\.parquet$")
MARKS = "_labelloop.json"  # what the writer has written so far; readers of the folder skip "_" files
_SEPARATOR = "\x1f"  # joins the columns of a composite key (the unit separator: not in ids or names)
MAX_PART_ROWS = 50_000  # rewriting a part for one changed row costs at most this many rows
FANOUT = 8  # a merge takes this many neighbouring parts of the same size class


def one_type_per_column(frame: pd.DataFrame) -> pd.DataFrame:
    """Parquet needs one type per column: a column mixing them (JSONL: 1, "foo", [1, 2]) is written as text."""
    mixed = [n for n, (_, column) in enumerate(frame.items())
             if column.dtype == object and pd.api.types.infer_dtype(column, skipna=True) in ("mixed", "mixed-integer")]
    if not mixed:
        return frame
    frame = frame.copy()
    for n in mixed:
        frame.isetitem(n, frame.iloc[:, n].map(as_text, na_action="ignore"))
    return frame


def as_text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def part_name(number: int) -> str:
    return f"part-{number:010d}.parquet"


def part_numbers(folder: Path) -> list:
    """The numbers of the parts in ``folder``, in order."""
    if not folder.is_dir():
        return []
    return sorted(int(m.group(1)) for m in (PART.match(p.name) for p in folder.iterdir()) if m)


def _size_class(rows: int) -> int:
    """Parts of about the same size share a class: 1-7 rows, 8-63, 64-511... (with ``FANOUT`` 8)."""
    size, grade = max(rows, 1), 0
    while size >= FANOUT:
        size //= FANOUT
        grade += 1
    return grade


class PartedDataset:
    """The folder's parts and, in memory, which part holds each key.

    ``key`` names the columns that identify a row (the metadata: item and annotator; the labels:
    the item). The first frame written fixes the schema; a later frame with a column of another
    type widens it, and the parts written before are rewritten once with the wider type.
    """

    def __init__(self, folder, key: tuple):
        self.folder, self.key = Path(folder), tuple(key)
        self._where = {}  # key value -> part number
        self._rows = {}  # part number -> rows it holds
        self._schema = None
        self.marks = None  # the writer's note of what the parts hold (None: unknown, write it all again)
        if self.folder.is_dir():
            self._open()

    # reading the folder
    def _open(self) -> None:
        """Learn which part holds each key; a key left in two parts by a crash keeps its newest copy."""
        stale = {}
        for number in part_numbers(self.folder):
            keys = self._table_keys(pq.read_table(self._path(number), columns=list(self.key)))
            self._rows[number] = len(keys)
            for value in keys:
                older = self._where.get(value)
                if older is not None:
                    stale.setdefault(older, set()).add(value)
                self._where[value] = number
            if self._schema is None:
                self._schema = pq.read_schema(self._path(number)).remove_metadata()
        for number, values in stale.items():
            self._drop_from(number, values)
        marks = self.folder / MARKS
        self.marks = json.loads(marks.read_text(encoding="utf-8")) if marks.is_file() else None

    def _keys(self, frame: pd.DataFrame) -> list:
        if len(self.key) == 1:
            return frame[self.key[0]].astype(str).tolist()
        return list(zip(*(frame[column].astype(str) for column in self.key)))

    def _table_keys(self, table: pa.Table) -> list:
        columns = [table[column].cast(pa.string()).to_pylist() for column in self.key]
        return columns[0] if len(self.key) == 1 else list(zip(*columns))

    def _holds(self, table: pa.Table, values: set) -> pa.Array:
        """Which rows of ``table`` have a key in ``values`` (vectorised: parts hold up to 50k rows)."""
        if len(self.key) == 1:
            return pc.is_in(table[self.key[0]].cast(pa.string()), value_set=pa.array(sorted(values), pa.string()))
        joined = pc.binary_join_element_wise(*(table[c].cast(pa.string()) for c in self.key), _SEPARATOR)
        return pc.is_in(joined, value_set=pa.array(sorted(_SEPARATOR.join(v) for v in values), pa.string()))

    def _path(self, number: int) -> Path:
        return self.folder / part_name(number)

    def __len__(self) -> int:
        return len(self._where)

    @property
    def parts(self) -> int:
        return len(self._rows)

    def read(self) -> pd.DataFrame:
        """The whole dataset, as any reader of the folder sees it."""
        return read_parts(self.folder)

    # writing
    def write(self, frame: pd.DataFrame, removed=(), marks: dict | None = None) -> None:
        """Insert or replace the rows of ``frame`` (by key) and remove the keys in ``removed``;
        then note ``marks`` (the writer's own bookkeeping: which journal events the parts hold).

        The new part is written before the older copies are taken out of theirs: a crash in
        between loses nothing, and the marks, written last, make the next writer redo what came after
        the marks it finds.
        """
        keys = self._keys(frame)
        if len(set(keys)) != len(keys):
            raise ValueError("A write holds two rows with the same key.")
        gone = {k for k in map(self._as_key, removed) if k in self._where} - set(keys)
        table = self._conform(frame)
        replaced = {}
        for value in [*keys, *gone]:
            if value in self._where:
                replaced.setdefault(self._where[value], set()).add(value)
        if len(table):
            number = self._next_number()
            self._write_file(number, table)
            self._rows[number] = len(keys)
            for value in keys:
                self._where[value] = number
        for value in gone:
            del self._where[value]
        for number, values in replaced.items():
            self._drop_from(number, values)
        self._merge_small_parts()
        self._note(marks)

    def replace(self, frame: pd.DataFrame, marks: dict | None = None) -> None:
        """Make ``frame`` the whole dataset (the first write, or one after a crash): new parts, then the old ones go."""
        replace_parts(self.folder, frame)
        self._where, self._rows, self._schema = {}, {}, None
        self._open()
        self._note(marks)

    def _note(self, marks: dict | None) -> None:
        """Keep ``marks`` beside the parts (written last, after the parts they describe)."""
        path = self.folder / MARKS
        self.marks = marks
        if marks is None:
            if path.is_file():
                os.remove(path)
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        temporary = self.folder / f".{MARKS}.tmp"
        temporary.write_text(json.dumps(marks), encoding="utf-8")
        os.replace(temporary, path)

    def _as_key(self, value):
        return str(value) if len(self.key) == 1 else tuple(map(str, value))

    def _next_number(self) -> int:
        return max(self._rows, default=-1) + 1

    def _drop_from(self, number: int, values: set) -> None:
        """Rewrite part ``number`` without the rows of ``values`` (or delete it when none are left)."""
        table = pq.read_table(self._path(number))
        kept = table.filter(pc.invert(self._holds(table, values)))
        if kept.num_rows:
            self._write_file(number, kept)
            self._rows[number] = kept.num_rows
        else:
            os.remove(self._path(number))
            del self._rows[number]

    def _merge_small_parts(self) -> None:
        """Merge runs of ``FANOUT`` neighbouring parts of one size class (under ``MAX_PART_ROWS``).

        Each row is merged about log(``MAX_PART_ROWS``) / log(``FANOUT``) times in its life, so
        merging costs a constant per row, and the folder holds few parts per size class.
        """
        merged = True
        while merged:
            merged = False
            numbers = sorted(self._rows)
            for start in range(len(numbers) - FANOUT + 1):
                run = numbers[start:start + FANOUT]
                classes = {_size_class(self._rows[n]) for n in run}
                if len(classes) == 1 and sum(self._rows[n] for n in run) <= MAX_PART_ROWS:
                    self._merge(run)
                    merged = True
                    break

    def _merge(self, run: list) -> None:
        table = _concat([pq.read_table(self._path(n)) for n in run])
        first = run[0]
        self._write_file(first, table)  # the merged rows first, then the parts they came from go
        for number in run[1:]:
            os.remove(self._path(number))
            del self._rows[number]
        self._rows[first] = table.num_rows
        for value in self._table_keys(table):
            self._where[value] = first

    # types
    def _conform(self, frame: pd.DataFrame) -> pa.Table:
        """``frame`` as a table of the dataset's schema, widening the schema (and the older parts) when needed."""
        table = _as_table(frame)
        if self._schema is None:
            self._schema = table.schema
            return table
        added = table.schema.names[len(self._schema.names):]
        if added and table.schema.names[:len(self._schema.names)] == self._schema.names:
            self._add_columns(added)
        if table.schema.names != self._schema.names:
            raise ValueError(f"The dataset's columns changed: {self._schema.names} -> {table.schema.names}.")
        if table.schema.equals(self._schema):
            return table
        wider = pa.schema([_wider(old, new) for old, new in zip(self._schema, table.schema)])
        if not wider.equals(self._schema):
            self._widen(wider)
        return table.cast(wider)

    def _add_columns(self, names: list) -> None:
        """Give every part the columns a newer labelloop writes (empty there), e.g. the metadata's ``audited``."""
        for number in sorted(self._rows):
            table = pq.read_table(self._path(number))
            for name in names:
                table = table.append_column(pa.field(name, pa.null()), pa.nulls(table.num_rows))
            self._write_file(number, table)
        self._schema = pa.schema(list(self._schema) + [pa.field(name, pa.null()) for name in names])

    def _widen(self, schema: pa.Schema) -> None:
        """Rewrite every part with the wider ``schema``: once per column that changes type (rare)."""
        for number in sorted(self._rows):
            self._write_file(number, pq.read_table(self._path(number)).cast(schema))
        self._schema = schema

    def _write_file(self, number: int, table: pa.Table) -> None:
        write_part(self.folder, number, table)


def _as_table(frame: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(one_type_per_column(frame), preserve_index=False).replace_schema_metadata(None)


def _wider(old: pa.Field, new: pa.Field) -> pa.Field:
    """A type both fit in: null gives way to any type, int to float; two others meet as text
    (a column of mixed values is text in the parts that hold both kinds, see ``one_type_per_column``)."""
    if old.type.equals(new.type) or pa.types.is_null(new.type):
        return old
    if pa.types.is_null(old.type):
        return new
    try:
        return pa.unify_schemas([pa.schema([old]), pa.schema([new])], promote_options="permissive").field(0)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError):  # TypeError: pyarrow < 14
        return pa.field(old.name, pa.string())


def _concat(tables: list) -> pa.Table:
    """One table of parts (of one schema, or two when a widening was cut short by a crash)."""
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except TypeError:  # pyarrow before 14 (DSS code envs accept pyarrow 8 and up)
        return pa.concat_tables(tables, promote=True)


def write_part(folder: Path, number: int, table: pa.Table) -> None:
    """Write part ``number`` of ``folder`` through a hidden temporary file and a rename."""
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".part-", suffix=".parquet", dir=folder)
    os.close(handle)
    try:
        pq.write_table(table, temporary)
        os.replace(temporary, folder / part_name(number))
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def replace_parts(folder, frame: pd.DataFrame) -> None:
    """Make ``frame`` the whole content of the parts folder ``folder`` (a file of that name, from
    before parts, is replaced by the folder). The writer's marks go first: a writer opening the
    folder later writes it all again rather than trust them."""
    folder = Path(folder)
    if folder.is_file():
        os.remove(folder)
    (folder / MARKS).unlink(missing_ok=True)
    old = part_numbers(folder)
    table = _as_table(frame)
    start = max(old, default=-1) + 1
    for n, first in enumerate(range(0, max(table.num_rows, 1), MAX_PART_ROWS)):
        write_part(folder, start + n, table.slice(first, MAX_PART_ROWS))
    for number in old:
        os.remove(folder / part_name(number))


def read_parts(folder, columns: list | None = None, attempts: int = 40) -> pd.DataFrame:
    """The rows of every part of ``folder``, in part order: one dataset.

    A writer working meanwhile may remove a part (a merge) between the listing and its read: the
    parts are then listed again, up to ``attempts`` times a few milliseconds apart. It may also
    replace a part (a rewrite): each part is read from one open file, since pyarrow given a path
    may take the size of one version and read another."""
    for attempt in range(attempts):
        try:
            tables = [_read_part(Path(folder) / part_name(n), columns) for n in part_numbers(Path(folder))]
            break
        except FileNotFoundError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.005 * (attempt + 1))  # a writer merging parts back to back lets a read through
    if not tables:
        return pd.DataFrame(columns=columns or [])
    return _concat(tables).to_pandas()


def _read_part(path: Path, columns: list | None):
    with open(path, "rb") as part:
        return pq.read_table(part, columns=columns)


def iter_parts(folder, chunksize: int, columns: list | None = None):
    """The rows of ``folder``'s parts in chunks of at most ``chunksize``."""
    for number in part_numbers(Path(folder)):
        yield from iter_parquet(Path(folder) / part_name(number), chunksize, columns)


def iter_parquet(path, chunksize: int, columns: list | None = None):
    """The rows of one Parquet file in chunks of at most ``chunksize``, in memory that stays flat.

    pyarrow's default ``pre_buffer`` keeps what it has read of the file until the end: measured
    on a 3M-row pool, 141 MB of Arrow memory at the end of a read in chunks against 39 without
    it, and the whole sampler on 20M rows peaked at 1.4 GB.
    """
    for batch in pq.ParquetFile(path, pre_buffer=False).iter_batches(batch_size=chunksize, columns=columns):
        yield batch.to_pandas()
