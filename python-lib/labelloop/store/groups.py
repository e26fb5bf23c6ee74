"""Answers given as a group, and their undo, in the journal (DESIGN.md section 13).

A group is many answers of one annotator recorded in one transaction, each event carrying the
group's id (``g`` and the id of its first event) and size. Undoing a group deletes nothing: it appends an
``undo`` event naming who undid it, and a ``withdraw`` event per answer still current, to which
the answer's current row then points with status UNDONE (``WITHDRAWN``). Followers of the journal
(``Journal.changes``, ``current_frame(after=)``) see the answers go as they see any change.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from labelloop.errors import LabelloopError, LeaseConflict
from labelloop.store.journal import KIND_OF_STATUS, LABELED, WITHDRAWN, Journal, current, events, utcnow

UNDO, WITHDRAW = "undo", "withdraw"  # the events' kinds


def record_group(journal: Journal, annotator: str, annotations: list, now: dt.datetime | None = None) -> str:
    """Record ``annotator``'s answers on items they all hold leases on, in one transaction; returns the group's id.

    Any item not leased to ``annotator`` (never, expired, or another's) refuses all of them:
    nothing is written.
    """
    now = now or utcnow()
    with journal.writing() as conn:
        missing = len(annotations) - journal.end_leases(conn, annotator, [a.item_id for a in annotations], now)
        if missing:  # the transaction is rolled back: the leases it ended are kept
            verb = "is" if missing == 1 else "are"
            raise LeaseConflict(f"{missing} of these items {verb} not leased to you (a lease expired, or another "
                                "annotator holds it): nothing was recorded.")
        first = journal.reserve_event_ids(conn, len(annotations))
        group = f"g{first}"  # text that no reader of the datasets takes for a number
        journal.append_answers(conn, annotations, first, now, group_id=group, group_size=len(annotations))
    return group


def withdraw_group(journal: Journal, group: str, by: str, now: dt.datetime | None = None) -> int:
    """Withdraw the group's answers that are still current (an item its annotator answered again
    since keeps that answer); returns how many. A group is undone once."""
    now = now or utcnow()
    with journal.writing() as conn:
        if conn.execute(sa.select(events.c.id).where(events.c.group_id == group, events.c.kind == UNDO)).first():
            raise LabelloopError("This group was undone already.")
        answers = conn.execute(
            sa.select(current.c.item_id, current.c.annotator, current.c.session)
            .join(events, events.c.id == current.c.event_id)
            .where(events.c.group_id == group, current.c.status == LABELED)).all()
        first = journal.reserve_event_ids(conn, 1 + len(answers))
        conn.execute(events.insert(), [
            {"id": first, "kind": UNDO, "item_id": "", "annotator": by, "session": 0, "group_id": group,
             "created_at": now},
            *({"id": first + n, "kind": WITHDRAW, "item_id": item, "annotator": annotator, "session": session,
               "group_id": group, "created_at": now} for n, (item, annotator, session) in enumerate(answers, 1))])
        if answers:
            conn.execute(
                current.update().where(current.c.item_id == sa.bindparam("item"),
                                       current.c.annotator == sa.bindparam("who"))
                .values(event_id=sa.bindparam("event"), status=WITHDRAWN, label=None),
                [{"item": item, "who": annotator, "event": first + n}
                 for n, (item, annotator, _) in enumerate(answers, 1)])
    return len(answers)


def groups(journal: Journal, annotator: str | None = None, group: str | None = None) -> list:
    """Every group (``annotator``'s only; or the one ``group``), newest first: ``group, annotator,
    label, comment, size, date`` and, once undone, ``undone_by, undone_at`` (else None)."""
    made = (sa.select(events.c.group_id.label("group"), sa.func.min(events.c.id).label("first"),
                      sa.func.min(events.c.annotator).label("annotator"), sa.func.min(events.c.label).label("label"),
                      sa.func.min(events.c.comment).label("comment"), sa.func.max(events.c.group_size).label("size"),
                      sa.func.min(events.c.created_at).label("date"))
            .where(events.c.group_id.is_not(None), events.c.kind == KIND_OF_STATUS[LABELED]))
    if annotator is not None:
        made = made.where(events.c.annotator == annotator)
    if group is not None:
        made = made.where(events.c.group_id == group)
    made = made.group_by(events.c.group_id).subquery()
    undo = events.alias("undo")  # each group's undo event, looked up by the groups' index
    query = (sa.select(made.c.group, made.c.annotator, made.c.label, made.c.comment, made.c.size, made.c.date,
                       undo.c.annotator.label("undone_by"), undo.c.created_at.label("undone_at"))
             .outerjoin(undo, sa.and_(undo.c.group_id == made.c.group, undo.c.kind == UNDO))
             .order_by(made.c.first.desc()))
    with journal.reading() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]

