"""A database table as the pool: read whole, in chunks, or only what was added (issue: a pool that grows).

Any SQLAlchemy URL works (PostgreSQL for teams). Rows are read in the order of the id column, so
the pool's ids, and with them the seeded serving order, are the same at every start. The table
is only read: labelloop never writes to it.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property

import pandas as pd
import sqlalchemy as sa

from labelloop.errors import LabelloopError, NotFound, first_line

FETCH_IDS = 1_000  # ids per ``WHERE id IN (...)``: well under any database's parameter limit


def is_database_url(text: str) -> bool:
    """True when ``--data`` names a database (``postgresql://...``) rather than a file."""
    return "://" in str(text)


class SqlTable:
    """One table of a database, ordered by its id column."""

    def __init__(self, url: str, table: str, id_column: str):
        try:
            self.engine = sa.create_engine(url, pool_pre_ping=True)
        except (sa.exc.ArgumentError, ImportError) as error:
            raise LabelloopError(f"The database URL is not usable ({first_line(error)}).") from error
        self.url = self.engine.url.render_as_string(hide_password=True)
        schema, _, name = table.rpartition(".")
        self.name, self.schema, self.id_column = name, schema or None, id_column

    @cached_property
    def table(self) -> sa.Table:
        """The table's columns, read from the database once (it fails here if the table is missing)."""
        with self._connection() as connection:
            try:
                table = sa.Table(self.name, sa.MetaData(), schema=self.schema, autoload_with=connection)
            except sa.exc.NoSuchTableError as error:
                raise NotFound(f"The database {self.url} has no table '{self._qualified}'.") from error
        if self.id_column not in table.columns:
            raise LabelloopError(f"The table '{self._qualified}' has no column '{self.id_column}' "
                                 f"(columns: {', '.join(table.columns.keys())}).")
        return table

    @contextmanager
    def _connection(self, **options):
        """A connection; a database error (unreachable, no rights, a dropped table) becomes one sentence."""
        try:
            with self.engine.connect().execution_options(**options) as connection:
                yield connection
        except sa.exc.SQLAlchemyError as error:
            raise LabelloopError(f"Cannot read the table '{self._qualified}' of {self.url} ({first_line(error)}).") \
                from error

    @property
    def _qualified(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name

    def _select(self, columns: list | None):
        table = self.table
        chosen = [table.columns[c] for c in columns] if columns else list(table.columns)
        return sa.select(*chosen).order_by(table.columns[self.id_column])

    def read(self, columns: list | None = None) -> pd.DataFrame:
        chunks = list(self.iter(100_000, columns))
        return pd.concat(chunks, ignore_index=True) if chunks else self._empty(columns)

    def _empty(self, columns: list | None) -> pd.DataFrame:
        return pd.DataFrame(columns=[str(name) for name in (columns or self.table.columns.keys())])

    def iter(self, chunksize: int, columns: list | None = None) -> Iterator[pd.DataFrame]:
        """The rows in frames of at most ``chunksize``, streamed by a server-side cursor where there is one."""
        select = self._select(columns)
        with self._connection(stream_results=True) as connection:
            for chunk in pd.read_sql_query(select, connection, chunksize=chunksize):
                yield _plain_names(chunk)

    def signature(self) -> tuple:
        """``(rows, largest id)``: cheap to ask, and it changes when rows are added."""
        key = self.table.columns[self.id_column]
        with self._connection() as connection:
            return tuple(connection.execute(sa.select(sa.func.count(), sa.func.max(key)).select_from(self.table)).one())

    def ids(self) -> list:
        """Every row's raw id value, in order."""
        key = self.table.columns[self.id_column]
        with self._connection() as connection:
            return connection.execute(sa.select(key).order_by(key)).scalars().all()

    def rows_with_ids(self, ids: list) -> pd.DataFrame:
        """The rows whose id is one of ``ids`` (raw values), in the id column's order."""
        key = self.table.columns[self.id_column]
        chunks = []
        with self._connection() as connection:
            for start in range(0, len(ids), FETCH_IDS):
                wanted = self._select(None).where(key.in_(ids[start:start + FETCH_IDS]))
                chunks.append(_plain_names(pd.read_sql_query(wanted, connection)))
        if not chunks:
            return self._empty(None)
        return pd.concat(chunks, ignore_index=True).sort_values(self.id_column, kind="stable", ignore_index=True)

    def dispose(self) -> None:
        self.engine.dispose()


def _plain_names(frame: pd.DataFrame) -> pd.DataFrame:
    """Column names as plain ``str``: SQLAlchemy hands over its own ``str`` subclass, in which
    scikit-learn 1.3 (Python 3.9's) sees no feature names, so a model trained on the table's
    columns then refused them at scoring time."""
    frame.columns = [str(name) for name in frame.columns]
    return frame
