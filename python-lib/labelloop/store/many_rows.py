"""Many rows of one table written by one statement: the answers of a group, an import.

SQLAlchemy's ``executemany`` prepares each row's parameters in Python, column by column, and
psycopg then sends each row as a statement of its own: for a group of 200 answers that cost more
than the database's work. So PostgreSQL gets one ``INSERT ... SELECT FROM unnest(arrays)``, a
column per parameter, sent in psycopg's binary format (its text format quotes every element in
Python: 3x slower), and SQLite (in process: a statement per row costs little there) the
driver's ``executemany`` of plain tuples, converted only where the column's type needs it
(SQLite keeps dates as text).
"""
from __future__ import annotations

import re
from operator import itemgetter

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


def _same(statement):
    return statement


class ManyRows:
    """``insert`` (an INSERT into ``table``, of a dialect's own ``insert`` when ``finish`` adds an
    ON CONFLICT clause) of ``columns`` (all the table's by default; the others get their defaults,
    such as an event's id from its sequence), run for many rows at once."""

    def __init__(self, insert, table, dialect, finish=_same, columns=None):
        self.columns = list(columns) if columns else [column.name for column in table.columns]
        self.values = itemgetter(*self.columns)
        self.arrays = dialect.name == "postgresql"
        if self.arrays:
            rows = sa.select(sa.func.unnest(*(sa.bindparam(name, type_=postgresql.ARRAY(table.c[name].type))
                                              for name in self.columns)).table_valued(*self.columns).render_derived())
            compiled = finish(insert.from_select(self.columns, rows)).compile(dialect=dialect)
            self.sql = str(compiled)
            if dialect.driver == "psycopg":  # %(name)b: a binary parameter (another driver keeps its text ones)
                self.sql = re.sub(r"%\((\w+)\)s", r"%(\1)b", self.sql)
            return
        compiled = finish(insert).compile(dialect=dialect, column_keys=self.columns)
        self.sql, self.order = str(compiled), list(compiled.positiontup)
        self.values = itemgetter(*self.order)
        conversions = ((n, table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
                       for n, name in enumerate(self.order))
        self.conversions = [(n, convert) for n, convert in conversions if convert is not None]

    def execute(self, conn, rows: list) -> None:
        """Write ``rows`` (dicts holding every column written) in one statement."""
        if self.arrays:
            conn.exec_driver_sql(self.sql, dict(zip(self.columns, map(list, zip(*map(self.values, rows))))))
        else:
            conn.exec_driver_sql(self.sql, self._converted(rows))

    def _converted(self, rows: list) -> list:
        """The rows' tuples of values, with the columns that need it converted."""
        values = list(map(self.values, rows))
        if not self.conversions or not values:
            return values
        columns = list(zip(*values))
        for n, convert in self.conversions:
            columns[n] = _each_once(convert, columns[n])
        return list(zip(*columns))


def _each_once(convert, column: tuple) -> tuple:
    """``convert`` applied to the values of ``column`` (plain, hashable ones), once per distinct
    value: the rows of one statement often share one, such as the time they were written."""
    done = {value: convert(value) for value in set(column)}
    return tuple(map(done.__getitem__, column))
