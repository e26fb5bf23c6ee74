"""The annotation journal: the source of truth for every label (DESIGN.md section 3).

Every label, skip, review, lease and release is appended to ``events`` and never changed. Small
tables are kept beside it in the same transaction so that reads stay cheap:

- ``current``: the latest label or skip per (item, annotator), pointing at its event;
- ``reviews``: the latest reviewer decision per item, pointing at its event;
- ``leases``: which annotator holds which item, until when.

The keys annotator names belong to on a shared server live beside these tables (store/name_keys.py).

A write touches a handful of indexed rows, so its cost does not grow with the pool or with the
number of labels. SQLite (WAL) is the default; PostgreSQL serves teams sharing one journal.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import weakref
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import NamedTuple

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.dialects import postgresql, sqlite

from labelloop.errors import LabelloopError, LeaseConflict, Unavailable, first_line
from labelloop.platform.locks import Lock
from labelloop.store.many_rows import ManyRows
from labelloop.store.skips import unavailable

log = logging.getLogger(__name__)
LABELED, SKIPPED = "LABELED", "SKIPPED"
REVIEWED = "REVIEWED"  # the status of a reviewer's decision among the journal's changes
WITHDRAWN = "UNDONE"  # the status of an answer a group's undo took back (store/groups.py): no answer (8 letters at most)
KIND_OF_STATUS = {LABELED: "label", SKIPPED: "skip"}
STATUS_OF_KIND = {v: k for k, v in KIND_OF_STATUS.items()}
DEFAULT_LEASE_SECONDS = 600
_WRITE = "labelloop_write"  # execution option of the connections that write
WRITE_LOCK_KEY = 0x6C61_6265_6C6C  # PostgreSQL advisory lock serialising journal writes ("label")
_IN_CHUNK = 500  # item ids per IN (...) list: SQLite allows 32,766 parameters, literal lists stay short

metadata = sa.MetaData()
events = sa.Table(
    "events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("item_id", sa.String(1024), nullable=False),
    sa.Column("annotator", sa.String(256), nullable=False),
    sa.Column("label", sa.Text),
    sa.Column("comment", sa.Text),
    sa.Column("session", sa.Integer, nullable=False, default=0),
    sa.Column("strategy", sa.String(32)),
    sa.Column("uncertainty", sa.Float),
    sa.Column("query_rank", sa.Integer),
    sa.Column("model_version", sa.String(128)),
    sa.Column("duration_ms", sa.Integer),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("audited", sa.Boolean),  # served in the audit slice: without its suggestion (DESIGN.md section 15)
    sa.Column("suggested", sa.Text),  # what the model suggested, or would have in the audit slice
    sa.Column("group_id", sa.String(64)),  # the group an answer was given in, and its undo's events (section 13)
    sa.Column("group_size", sa.Integer),
    sa.Column("suggested_by", sa.String(16)),  # who suggested it: "model" or "llm"
    sa.Index("events_item", "item_id"),
    sa.Index("events_annotator", "annotator", "id"),
    sa.Index("events_group", "group_id"),
)
current = sa.Table(
    "current", metadata,
    sa.Column("item_id", sa.String(1024), primary_key=True),
    sa.Column("annotator", sa.String(256), primary_key=True),
    sa.Column("event_id", sa.Integer, sa.ForeignKey("events.id"), nullable=False),
    sa.Column("first_event_id", sa.Integer, nullable=False),  # keeps an item's place in history
    sa.Column("status", sa.String(8), nullable=False),
    sa.Column("label", sa.Text),
    sa.Column("session", sa.Integer, nullable=False),
    sa.Index("current_annotator", "annotator", "first_event_id"),
    sa.Index("current_event", "event_id"),
)
leases = sa.Table(
    "leases", metadata,
    sa.Column("item_id", sa.String(1024), primary_key=True),
    sa.Column("annotator", sa.String(256), nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
)

reviews = sa.Table(  # the latest reviewer decision per item (DESIGN.md section 10); its event keeps it for good
    "reviews", metadata,
    sa.Column("item_id", sa.String(1024), primary_key=True),
    sa.Column("event_id", sa.Integer, sa.ForeignKey("events.id"), nullable=False),
    sa.Column("reviewer", sa.String(256), nullable=False),
    sa.Column("label", sa.Text, nullable=False),
)

# added to ``events`` after journals were written: older ones gain them (and the index of the groups)
_ADDED_COLUMNS = ("audited", "suggested", "group_id", "group_size", "suggested_by")


@dataclass
class Annotation:
    """One answer of one annotator about one item."""

    item_id: str
    annotator: str
    status: str
    label: str | None = None
    comment: str | None = None
    session: int = 0
    strategy: str | None = None
    uncertainty: float | None = None
    query_rank: int | None = None
    model_version: str | None = None
    duration_ms: int | None = None
    audited: bool | None = None
    suggested: str | None = None
    group_id: str | None = None
    group_size: int | None = None
    suggested_by: str | None = None


class Change(NamedTuple):
    """One answer, or one reviewer's decision (``status`` REVIEWED, ``annotator`` the reviewer),
    as ``Journal.changes`` gives it: the latest of its (item, annotator), or of its item for a decision."""

    item_id: str
    annotator: str
    status: str
    label: str | None
    session: int
    event_id: int
    audited: bool | None = None  # served in the audit slice, without its suggestion (None: a decision, or older)
    suggested: str | None = None  # what the model suggested when the item was served
    group: str | None = None  # the group the answer was given in (None: a single answer, or a decision)
    suggested_by: str | None = None  # who suggested: "model" or "llm"


def utcnow() -> dt.datetime:
    """Naive UTC: both SQLite and PostgreSQL ``TIMESTAMP`` columns store it unchanged."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _engine(url: str) -> sa.engine.Engine:
    parsed = sa.engine.make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise LabelloopError(f"Unsupported journal database '{parsed.get_backend_name()}': use SQLite or PostgreSQL.")
    if parsed.get_backend_name() == "postgresql":
        return sa.create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=20)
    engine = sa.create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 30})

    @sa_event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" below open every transaction: BEGIN IMMEDIATE for writes, so
        # two writers queue on the lock instead of failing when a read upgrades to a write.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa_event.listens_for(engine, "begin")
    def _begin(connection):
        # Reads begin deferred: in WAL mode they read a snapshot and never wait for the write
        # lock, which would queue them behind every writer (in SQLite's busy handler's sleeps).
        connection.exec_driver_sql("BEGIN IMMEDIATE" if connection.get_execution_options().get(_WRITE) else "BEGIN")

    return engine


@contextlib.contextmanager
def _reachable(dbapi):
    """Turn a lost or refused database connection into ``Unavailable`` (HTTP 503).

    The transaction it interrupted was rolled back, so nothing was half-written: the caller may
    simply retry. The pool pings connections before use, so the next request reconnects. The
    driver's own errors are caught too: ``current_frame`` reads through the raw cursor.
    """
    try:
        yield
    except (sa.exc.OperationalError, sa.exc.InterfaceError, dbapi.OperationalError, dbapi.InterfaceError) as error:
        log.warning("journal database unavailable: %s", first_line(error))
        raise Unavailable("The journal database cannot be reached right now; try again in a moment.") from error


def _changes_statement():
    """``Journal.changes``'s query, built once (building it cost as much as running it), after the event ``:after``."""
    after = sa.bindparam("after", type_=sa.Integer)
    answers = (sa.select(current.c.item_id, current.c.annotator, current.c.status, current.c.label,
                         current.c.session, current.c.event_id, events.c.audited, events.c.suggested,
                         events.c.group_id, events.c.suggested_by)
               .join(events, events.c.id == current.c.event_id).where(current.c.event_id > after))
    decisions = sa.select(reviews.c.item_id, reviews.c.reviewer, sa.literal(REVIEWED), reviews.c.label,
                          sa.literal(0), reviews.c.event_id, sa.null().cast(sa.Boolean),
                          sa.null().cast(sa.Text), sa.null().cast(events.c.group_id.type),
                          sa.null().cast(events.c.suggested_by.type)).where(reviews.c.event_id > after)
    # one statement: on PostgreSQL it sees one moment of both tables, where two statements
    # could see a decision newer than an answer committed between them, and skip that answer
    return sa.union_all(answers, decisions).order_by(sa.text("event_id"))


_CHANGES = _changes_statement()
_INSERT_EVENT = events.insert()
_LEASE_EVENT_COLUMNS = ("kind", "item_id", "annotator", "session", "created_at")  # the others stay empty

class Journal:
    """Append-only annotation events with current state, leases and statistics."""

    def __init__(self, url: str):
        self.url = url
        self.closed = False  # followers of the journal (online suggestions) stop when it is closed
        self.engine = _engine(url)
        self._dbapi = self.engine.dialect.loaded_dbapi
        self._insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        self.upsert_current = self._upsert_current(self._insert(current))
        dialect = self.engine.dialect
        self._many_events = ManyRows(events.insert(), events, dialect)
        self._many_current = ManyRows(self._insert(current), current, dialect, finish=self._upsert_current)
        self._end_leases = leases.delete().where(
            self._among(leases.c.item_id, "ids"), leases.c.annotator == sa.bindparam("annotator"),
            leases.c.expires_at > sa.bindparam("now")).returning(leases.c.item_id)
        self._labeled_among = sa.select(current.c.item_id, current.c.annotator).where(
            self._among(current.c.item_id, "ids"), current.c.status == LABELED)
        self._held_among = sa.select(leases.c.item_id, leases.c.annotator, leases.c.expires_at).where(
            self._among(leases.c.item_id, "ids"))
        self._release_among = leases.delete().where(
            leases.c.annotator == sa.bindparam("annotator"), self._among(leases.c.item_id, "ids")
        ).returning(leases.c.item_id)
        self._many_leases = ManyRows(self._insert(leases), leases, dialect, finish=self._renew_leases)
        self._many_lease_events = ManyRows(events.insert(), events, dialect, columns=_LEASE_EVENT_COLUMNS)
        # SQLite allows one writer at a time; threads of this process queue on a lock, which wakes
        # them at once, instead of SQLite's busy handler, which sleeps in steps of up to 100 ms.
        self._write_lock = Lock() if self.engine.dialect.name == "sqlite" else contextlib.nullcontext()
        try:
            metadata.create_all(self.engine)
            self._add_columns()
        except sa.exc.OperationalError as error:
            raise LabelloopError(f"Cannot open the journal database ({first_line(error)}).") from error
        _OPEN.add(self)

    def _add_columns(self) -> None:
        """Give a journal written by an older labelloop the ``events`` columns added since (empty for its answers)."""
        present = {c["name"] for c in sa.inspect(self.engine).get_columns("events")}
        missing = [events.c[name] for name in _ADDED_COLUMNS if name not in present]
        with self.engine.begin() as conn:
            for column in missing:
                kind = column.type.compile(dialect=self.engine.dialect)
                conn.exec_driver_sql(f"ALTER TABLE events ADD COLUMN {column.name} {kind}")
            next(i for i in events.indexes if i.name == "events_group").create(conn, checkfirst=True)

    def close(self) -> None:
        self.closed = True
        self.engine.dispose()

    def _after_fork(self) -> None:
        """In a forked child: new connections (its write lock is free: labelloop/platform/locks.py).

        SQLAlchemy's advice for os.fork() ("Using Connection Pools with Multiprocessing or
        os.fork()"): ``engine.dispose(close=False)`` in the child, so the parent's connections
        are left to the parent. A DSS backend may fork a process per request.
        """
        self.engine.dispose(close=False)


    @contextlib.contextmanager
    def writing(self):
        """A write transaction; write transactions run one at a time, so events commit in id order.

        Readers follow the journal by id (``changes``, ``current_frame(after=)``): if event
        11 could commit before event 10, a reader between the two would skip 10 for good. SQLite
        runs one writer at a time (BEGIN IMMEDIATE, and a lock between this process's threads);
        PostgreSQL takes a transaction-scoped advisory lock, released only once the commit is
        visible. A write lasts about a millisecond, so this costs little.
        """
        with _reachable(self._dbapi), self._write_lock, self.engine.connect() as conn, \
                conn.execution_options(**{_WRITE: True}).begin():
            if self.engine.dialect.name == "postgresql":
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(WRITE_LOCK_KEY)))
            yield conn

    @contextlib.contextmanager
    def reading(self):
        """A connection for reads."""
        with _reachable(self._dbapi), self.engine.connect() as conn:
            yield conn

    # writes
    def record(self, annotation: Annotation, now: dt.datetime | None = None) -> int:
        """Append a label or skip and return its label id; refuses an item leased to another."""
        if annotation.status not in KIND_OF_STATUS:
            raise LabelloopError(f"Unknown status '{annotation.status}'.")
        now = now or utcnow()
        with self.writing() as conn:
            holder = conn.execute(
                sa.select(leases.c.annotator).where(
                    leases.c.item_id == annotation.item_id,
                    leases.c.annotator != annotation.annotator,
                    leases.c.expires_at > now,
                )
            ).scalar()
            if holder is not None:
                raise LeaseConflict("This item is being labeled by another annotator.")
            values = asdict(annotation)
            status = values.pop("status")
            # statements built once, values as parameters: building one costs more than running it
            event_id = conn.execute(_INSERT_EVENT, {"kind": KIND_OF_STATUS[status], "created_at": now, **values}
                                    ).inserted_primary_key[0]
            self._set_current(conn, annotation, status, event_id)
            conn.execute(leases.delete().where(leases.c.item_id == annotation.item_id))
        return int(event_id)

    def record_many(self, annotations: list, now: dt.datetime | None = None) -> int:
        """Append many answers in one transaction (an import), one per (item, annotator); returns
        how many. Unlike ``record`` it leaves leases alone: an imported answer is another
        annotator's, not a claim on the item."""
        if len({(a.item_id, a.annotator) for a in annotations}) != len(annotations):
            raise LabelloopError("Each item can have only one imported answer per annotator.")
        if any(a.status not in KIND_OF_STATUS for a in annotations):
            raise LabelloopError("Unknown status in the imported answers.")
        if not annotations:
            return 0
        with self.writing() as conn:
            self.append_answers(conn, annotations, self.reserve_event_ids(conn, len(annotations)), now or utcnow())
        return len(annotations)

    def review(self, reviewer: str, item_id: str, label: str, comment: str | None = None,
               now: dt.datetime | None = None) -> int:
        """Record a reviewer's decision on an item's label (final until the next review); returns its id.

        It is an event like an answer, but it is not an answer: the annotators' own answers, and
        the reviewer's if they labeled the item too, stay as they were.
        """
        now = now or utcnow()
        with self.writing() as conn:
            event_id = conn.execute(events.insert().values(
                kind="review", item_id=item_id, annotator=reviewer, label=label, comment=comment, session=0,
                created_at=now)).inserted_primary_key[0]
            statement = self._insert(reviews).values(item_id=item_id, event_id=event_id, reviewer=reviewer, label=label)
            conn.execute(statement.on_conflict_do_update(
                index_elements=[reviews.c.item_id],
                set_={k: statement.excluded[k] for k in ("event_id", "reviewer", "label")}))
        return int(event_id)

    def append_answers(self, conn, annotations: list, first: int, now: dt.datetime, **common) -> None:
        """In a write transaction (``writing``): append answers, one per (item, annotator), as
        events numbered from ``first`` (``reserve_event_ids``) and current rows, with ``common``
        columns set on every event; one statement per table for all the answers."""
        rows = []
        for n, annotation in enumerate(annotations):
            values = {**vars(annotation), **common}  # asdict copies deeply: 10x slower
            rows.append({"id": first + n, "kind": KIND_OF_STATUS[values.pop("status")], "created_at": now, **values})
        self._many_events.execute(conn, rows)
        self._many_current.execute(conn, [
            {"item_id": r["item_id"], "annotator": r["annotator"], "event_id": r["id"], "first_event_id": r["id"],
             "status": STATUS_OF_KIND[r["kind"]], "label": r["label"], "session": r["session"]} for r in rows])

    @staticmethod
    def _upsert_current(statement):
        """``statement``, an insert into ``current``, made to replace an (item, annotator)'s current
        answer where there is one (keeping its first event)."""
        return statement.on_conflict_do_update(
            index_elements=[current.c.item_id, current.c.annotator],
            set_={k: statement.excluded[k] for k in ("event_id", "status", "label", "session")})

    def _set_current(self, conn, annotation: Annotation, status: str, event_id: int) -> None:
        conn.execute(self.upsert_current, {
            "item_id": annotation.item_id, "annotator": annotation.annotator, "event_id": event_id,
            "first_event_id": event_id, "status": status, "label": annotation.label, "session": annotation.session})

    def lease(self, annotator: str, item_ids: Iterable[str], limit: int,
              seconds: float = DEFAULT_LEASE_SECONDS, now: dt.datetime | None = None, needed=None,
              cap: int | None = None, replacing: Iterable[str] = ()) -> list:
        """Lease up to ``limit`` of ``item_ids`` (in order) to ``annotator``; returns those taken.

        An item is taken when nobody holds it, its lease expired, or ``annotator`` holds it
        already (the lease is renewed). An item is never leased to someone who labeled it, nor
        once it has the labels it needs (``needed(item)``, 1 unless it is an overlap item);
        skipped ones are, once the caller's skip rule (store/skips.py) lets them come back. One
        write transaction reads the candidates' state with two queries and writes the leases at
        once: two annotators can never hold the same item.

        ``replacing``: leases of ``annotator`` given back first (a search's, when the next search
        replaces it). ``cap``: the most leases ``annotator`` may hold; the ones that expire first
        are given back to make room, so one annotator cannot hold the pool and a request is
        still served.
        """
        now = now or utcnow()
        expires = now + dt.timedelta(seconds=seconds)
        candidates = list(dict.fromkeys(item_ids))
        if not candidates or limit <= 0:
            return []
        with self.writing() as conn:
            labels, mine = {}, set()
            for item, who in conn.execute(self._labeled_among, {"ids": candidates}):
                labels[item] = labels.get(item, 0) + 1
                if who == annotator:
                    mine.add(item)
            answered = {i for i, n in labels.items() if i in mine or n >= (needed(i) if needed else 1)}
            held = {row.item_id: row for row in conn.execute(self._held_among, {"ids": candidates})}
            free = [i for i in candidates if i not in answered
                    and (i not in held or held[i].annotator == annotator or held[i].expires_at <= now)]
            taken = free[:limit]
            kept = set(taken)
            self._release_in(conn, annotator, [i for i in dict.fromkeys(replacing) if i not in kept], now)
            if cap is not None:
                self._make_room(conn, annotator, taken, cap, now)
            if taken:
                self._many_leases.execute(conn, [{"item_id": i, "annotator": annotator, "expires_at": expires}
                                                 for i in taken])
                self._lease_events(conn, "lease", annotator, taken, now)
        return taken

    @staticmethod
    def _renew_leases(statement):
        """``statement``, an insert into ``leases``, made to hand over an item's lease where there is one."""
        return statement.on_conflict_do_update(
            index_elements=[leases.c.item_id],
            set_={"annotator": statement.excluded.annotator, "expires_at": statement.excluded.expires_at})

    def _lease_events(self, conn, kind: str, annotator: str, item_ids: list, now: dt.datetime) -> None:
        """Append a ``kind`` event ("lease" or "release") of ``annotator`` per item, in one statement."""
        self._many_lease_events.execute(conn, [
            {"kind": kind, "item_id": i, "annotator": annotator, "session": 0, "created_at": now} for i in item_ids])

    def release(self, annotator: str, item_ids: Iterable[str], now: dt.datetime | None = None) -> int:
        """Give back leases early (the annotator left); returns how many were released."""
        item_ids = list(item_ids)
        now = now or utcnow()
        with self.writing() as conn:
            return self._release_in(conn, annotator, item_ids, now)

    def end_leases(self, conn, annotator: str, item_ids: list, now: dt.datetime) -> int:
        """In a write transaction: delete ``annotator``'s unexpired leases on ``item_ids`` (their
        answers are being written); returns how many there were, so the caller can refuse the
        answers, and roll this back, when some item was not leased to them."""
        return len(conn.execute(self._end_leases, {"ids": item_ids, "annotator": annotator, "now": now}).all())

    def _among(self, column, name: str):
        """``column IN`` the list bound to ``name``, as one parameter: on PostgreSQL an array
        (``= ANY``), which psycopg parses once, where 200 placeholders are parsed again each time
        (it caches statements of up to 50); SQLite expands the list."""
        if self.engine.dialect.name == "postgresql":
            return column == sa.any_(sa.bindparam(name, type_=postgresql.ARRAY(column.type)))
        return column.in_(sa.bindparam(name, expanding=True))

    def _release_in(self, conn, annotator: str, item_ids: list, now: dt.datetime) -> int:
        """Delete ``annotator``'s leases on ``item_ids`` (expired ones too) with a release event each; returns how many."""
        if not item_ids:
            return 0
        released = conn.execute(self._release_among, {"ids": item_ids, "annotator": annotator}).scalars().all()
        if released:
            self._lease_events(conn, "release", annotator, released, now)
        return len(released)

    def _make_room(self, conn, annotator: str, taken: list, cap: int, now: dt.datetime) -> None:
        """Give back ``annotator``'s leases that expire first, so that with ``taken`` they hold at most ``cap``."""
        held = conn.execute(sa.select(leases.c.item_id).where(
            leases.c.annotator == annotator, leases.c.expires_at > now).order_by(leases.c.expires_at)).scalars().all()
        kept = set(taken)
        others = [i for i in held if i not in kept]
        excess = len(others) + len(taken) - cap
        if excess > 0:
            self._release_in(conn, annotator, others[:excess], now)

    # reads
    def labels_of(self, annotator: str) -> dict:
        """``{item: label}`` of the items ``annotator`` labeled (their current answers)."""
        query = sa.select(current.c.item_id, current.c.label).where(current.c.annotator == annotator,
                                                                    current.c.status == LABELED)
        with self.reading() as conn:
            return dict(conn.execute(query).all())

    def leased_to(self, annotator: str, now: dt.datetime | None = None) -> set:
        """Items ``annotator`` holds right now."""
        return self._held_now(leases.c.annotator == annotator, now)

    def leased_to_others(self, annotator: str, now: dt.datetime | None = None) -> set:
        """Items someone else holds right now: the queue leaves them out."""
        return self._held_now(leases.c.annotator != annotator, now)

    def _held_now(self, whose, now: dt.datetime | None) -> set:
        with self.reading() as conn:
            return set(conn.execute(sa.select(leases.c.item_id).where(whose, leases.c.expires_at > (now or utcnow()))).scalars())

    def changes(self, after: int = 0) -> list:
        """The answers and reviewers' decisions newer than event ``after``, as ``Change``s by event id.

        Current rows only ever move to newer events and events commit in id order (``writing``),
        so a follower that asks again after the last id it saw misses nothing: only the latest
        state of each (item, annotator) or reviewed item is given.
        """
        with self.reading() as conn:
            return list(map(Change._make, conn.execute(_CHANGES, {"after": int(after)})))

    def shared_labels(self) -> pd.DataFrame:
        """``item_id, annotator, label`` of the current labels on items two annotators or more
        labeled: all that agreement needs, without reading the items only one person answered."""
        labeled = current.c.status == LABELED
        shared = (sa.select(current.c.item_id).where(labeled).group_by(current.c.item_id)
                  .having(sa.func.count() >= 2))
        query = (sa.select(current.c.item_id, current.c.annotator, current.c.label)
                 .where(labeled, current.c.item_id.in_(shared)))
        with self.reading() as conn:
            return pd.DataFrame([tuple(row) for row in conn.execute(query)], columns=["item_id", "annotator", "label"])

    def last_change_id(self) -> int:
        """The event id of the newest current answer or review (0 when none): two index lookups."""
        with self.reading() as conn:
            return max(int(conn.execute(sa.select(sa.func.max(table.c.event_id))).scalar() or 0)
                       for table in (current, reviews))

    def reviews_frame(self) -> pd.DataFrame:
        """``item_id, label, reviewer, event_id`` of the latest decision per reviewed item, oldest first."""
        query = sa.select(reviews.c.item_id, reviews.c.label, reviews.c.reviewer, reviews.c.event_id).order_by(
            reviews.c.event_id)
        with self.reading() as conn:
            return pd.DataFrame([tuple(row) for row in conn.execute(query)],
                                columns=["item_id", "label", "reviewer", "event_id"])

    def answers_of(self, item_ids: Iterable[str]) -> list:
        """Every current answer about these items, with its comment and time, oldest first."""
        query = (sa.select(current.c.item_id, current.c.annotator, current.c.status, current.c.label,
                           events.c.comment, events.c.created_at)
                 .join(events, events.c.id == current.c.event_id)
                 .where(current.c.item_id.in_(list(item_ids)), current.c.status != WITHDRAWN).order_by(current.c.event_id))
        with self.reading() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def skip_counts(self) -> tuple:
        """``({(item, annotator): skips over the whole history}, the newest event counted)``."""
        with self.reading() as conn:
            newest = int(conn.execute(sa.select(sa.func.max(events.c.id))).scalar() or 0)
            query = (sa.select(events.c.item_id, events.c.annotator, sa.func.count())
                     .where(events.c.kind == KIND_OF_STATUS[SKIPPED], events.c.id <= newest)
                     .group_by(events.c.item_id, events.c.annotator))
            return {(item, who): int(n) for item, who, n in conn.execute(query)}, newest

    def unavailable_items(self, session: int) -> set:
        """Items not to rank or serve in ``session``: labeled by anyone, or skipped and held back
        (store/skips.py: a skip returns after a cool-down; skipped twice by everyone, never)."""
        with self.reading() as conn:
            answers = conn.execute(sa.select(current.c.item_id, current.c.annotator, current.c.status,
                                             current.c.session).where(current.c.status != WITHDRAWN)).all()
        return unavailable(answers, self.skip_counts()[0], session)

    def history(self, annotator: str) -> list:
        """The annotator's current answers in the order they first answered them.

        Changing an answer keeps the item's place, so walking back and relabeling does not
        reshuffle what comes next.
        """
        query = (
            sa.select(current.c.item_id, current.c.status, current.c.label, current.c.event_id, events.c.comment)
            .join(events, events.c.id == current.c.event_id)
            .where(current.c.annotator == annotator, current.c.status != WITHDRAWN)
            .order_by(current.c.first_event_id)
        )
        with self.reading() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def events_frame(self, kinds: Iterable[str] | None = None) -> pd.DataFrame:
        """Events (optionally of some kinds) as a frame, oldest first."""
        query = sa.select(events).order_by(events.c.id)
        if kinds is not None:
            query = query.where(events.c.kind.in_(list(kinds)))
        with self.reading() as conn:
            return pd.DataFrame(conn.execute(query).mappings().all(), columns=[c.name for c in events.columns])

    def current_frame(self, after: int = 0, item_ids: Iterable[str] | None = None) -> pd.DataFrame:
        """Current answers (one per item and annotator) with their event's fields, oldest first;
        an answer a group's undo withdrew has status UNDONE (followers see it go).

        ``after`` keeps only those whose event is newer: current rows only ever move to newer
        events, so a reader that remembers the last id it saw can follow changes cheaply.
        ``item_ids`` keeps only the answers about those items. Rows are fetched through the
        driver's cursor: SQLAlchemy's row objects cost 4x more here.
        """
        if item_ids is not None:
            item_ids = list(item_ids)
            chunks = [self._current_frame(after, item_ids[i:i + _IN_CHUNK]) for i in range(0, len(item_ids), _IN_CHUNK)]
            frame = pd.concat(chunks, ignore_index=True) if chunks else self._current_frame(after, [])
            return frame.sort_values("id", ignore_index=True)
        return self._current_frame(after, None)

    def _current_frame(self, after: int, item_ids: list | None) -> pd.DataFrame:
        query = (
            sa.select(events, current.c.status)
            .join(current, current.c.event_id == events.c.id)
            .where(current.c.event_id > int(after))
            .order_by(events.c.id)
        )
        if item_ids is not None:
            query = query.where(current.c.item_id.in_(item_ids))
        sql = str(query.compile(dialect=self.engine.dialect, compile_kwargs={"literal_binds": True}))
        with self.reading() as conn:
            cursor = conn.connection.cursor()
            try:
                cursor.execute(sql)
                frame = pd.DataFrame.from_records(cursor.fetchall(), columns=[d[0] for d in cursor.description])
            finally:
                cursor.close()
        frame["created_at"] = pd.to_datetime(frame["created_at"])
        return frame

    def event_count(self) -> int:
        with self.reading() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(events)).scalar_one()

    # recovery
    def is_empty(self) -> bool:
        return self.event_count() == 0

    @staticmethod
    def next_event_id(conn) -> int:
        """In a write transaction (``writing``): the id the next event gets, to write rows with explicit ids."""
        return int(conn.execute(sa.select(sa.func.max(events.c.id))).scalar() or 0) + 1

    def reserve_event_ids(self, conn, count: int) -> int:
        """In a write transaction: the first of ``count`` (at least 1) consecutive event ids now
        ours, for rows written with explicit ids. On PostgreSQL one statement also moves the
        sequence past them (``advance_event_ids``'s work, done before the rows are written)."""
        if self.engine.dialect.name != "postgresql":
            return self.next_event_id(conn)
        last = conn.exec_driver_sql(
            "SELECT setval(pg_get_serial_sequence('events', 'id'), COALESCE(MAX(id), 0) + %(count)s) FROM events",
            {"count": int(count)}).scalar()
        return int(last) - int(count) + 1

    def advance_event_ids(self, conn) -> None:
        """After rows written with explicit ids, PostgreSQL's sequence must move past them."""
        if self.engine.dialect.name == "postgresql":
            conn.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('events', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM events"
            )


_OPEN = weakref.WeakSet()  # journals of this process, renewed in forked children


def _renew_after_fork() -> None:
    for journal in list(_OPEN):
        journal._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_renew_after_fork)
