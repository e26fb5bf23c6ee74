"""Which key each annotator name belongs to on a shared server, kept in the journal's database.

Two tables beside the journal's: ``annotators`` binds a name to the first browser key that used
it, ``issued_keys`` to a key the operator issued (``labelloop names --issue``), which outranks a
browser's. Only SHA-256 digests are kept. The policy (who may claim what) is
standalone/names.py's; this module only reads and writes the bindings.
"""
from __future__ import annotations

import sqlalchemy as sa

from labelloop.store.groups import WITHDRAW
from labelloop.store.journal import WITHDRAWN, Journal, current, events, utcnow

tables = sa.MetaData()
annotators = sa.Table(  # each name belongs to the first browser key that used it
    "annotators", tables,
    sa.Column("name", sa.String(256), primary_key=True),
    sa.Column("key_hash", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)
issued_keys = sa.Table(  # keys the operator issued: they outrank a browser's claim
    "issued_keys", tables,
    sa.Column("name", sa.String(256), primary_key=True),
    sa.Column("key_hash", sa.String(64), nullable=False),
    sa.Column("issued_at", sa.DateTime, nullable=False),
)


class NameKeys:
    """The names and keys of the annotators of ``journal``."""

    def __init__(self, journal: Journal):
        self.journal = journal
        with journal.writing() as conn:
            tables.create_all(conn)

    def claim(self, name: str, key_hash: str) -> tuple | None:
        """Bind ``name`` to a browser's ``key_hash`` if nothing holds it yet; returns ``key_of(name)``
        afterwards, or None when the name is free of keys but has a history (answers, leases,
        reviews): a new browser may not inherit it, only a key the operator issues."""
        with self.journal.writing() as conn:
            bound = _key_of(conn, name)
            if bound is not None:
                return bound
            if conn.execute(sa.select(events.c.id).where(events.c.annotator == name).limit(1)).first() is not None:
                return None
            conn.execute(annotators.insert().values(name=name, key_hash=key_hash, created_at=utcnow()))
            return key_hash, False

    def issue(self, name: str, key_hash: str) -> None:
        """Bind ``name`` to a key the operator issued, in place of any key it had."""
        with self.journal.writing() as conn:
            conn.execute(annotators.delete().where(annotators.c.name == name))
            conn.execute(issued_keys.delete().where(issued_keys.c.name == name))
            conn.execute(issued_keys.insert().values(name=name, key_hash=key_hash, issued_at=utcnow()))

    def release(self, name: str) -> bool:
        """Forget the key ``name`` belongs to (issued or a browser's); returns whether it had one."""
        with self.journal.writing() as conn:
            found = sum(conn.execute(table.delete().where(table.c.name == name)).rowcount
                        for table in (annotators, issued_keys))
        return found > 0

    def key_of(self, name: str) -> tuple | None:
        """``(key hash, issued)`` that ``name`` belongs to (an issued key first), or None."""
        with self.journal.reading() as conn:
            return _key_of(conn, name)

    def names(self) -> list:
        """Every annotator name known to the journal, by name: ``{name, key, answers, lastSeen}``,
        ``key`` being ``issued``, ``browser`` or None."""
        found = {}
        with self.journal.reading() as conn:
            # a withdrawal is the undoer's act, not a sign of the group's annotator (store/groups.py)
            for name, last in conn.execute(sa.select(events.c.annotator, sa.func.max(events.c.created_at))
                                           .where(events.c.kind != WITHDRAW).group_by(events.c.annotator)):
                found[name] = {"name": name, "key": None, "answers": 0, "lastSeen": last}
            for name, count in conn.execute(sa.select(current.c.annotator, sa.func.count())
                                            .where(current.c.status != WITHDRAWN).group_by(current.c.annotator)):
                found[name]["answers"] = int(count)
            for table, kind in ((annotators, "browser"), (issued_keys, "issued")):
                for (name,) in conn.execute(sa.select(table.c.name)):
                    found.setdefault(name, {"name": name, "key": None, "answers": 0, "lastSeen": None})["key"] = kind
        return [found[name] for name in sorted(found)]


def _key_of(conn, name: str) -> tuple | None:
    issued = conn.execute(sa.select(issued_keys.c.key_hash).where(issued_keys.c.name == name)).scalar()
    if issued is not None:
        return issued, True
    claimed = conn.execute(sa.select(annotators.c.key_hash).where(annotators.c.name == name)).scalar()
    return None if claimed is None else (claimed, False)
