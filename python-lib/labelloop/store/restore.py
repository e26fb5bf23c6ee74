"""A lost journal rebuilt from the datasets it wrote (DESIGN.md section 3).

The journal is the source of truth, but a DSS webapp's working directory, or a standalone
project's journal file, can be lost while the labels and metadata datasets survive. Those hold
every current answer (metadata) and every reviewer's decision (labels), with their event ids:
enough to refill an empty journal so that label ids keep their meaning and new ids continue
after them. This module knows the datasets' columns; the journal knows only its tables.
"""
from __future__ import annotations

import datetime as dt
import logging

import pandas as pd

from labelloop.errors import LabelloopError, first_line
from labelloop.platform.base import Platform
from labelloop.store.journal import KIND_OF_STATUS, STATUS_OF_KIND, Journal, current, events, reviews, utcnow
from labelloop.store.materialize import METADATA_COLUMNS, Outputs

log = logging.getLogger(__name__)
_PROVENANCE = ("session", "strategy", "uncertainty", "query_rank", "model_version", "duration_ms", "audited", "suggested",
               "suggested_by")


def restore_journal(platform: Platform, journal: Journal, outputs: Outputs) -> int:
    """Rebuild an empty journal from the datasets it wrote; returns the rows restored.

    The answers come from the metadata dataset, the reviewers' decisions from the labels
    dataset's reviewed rows (``reviewed``, ``reviewer``, the decision's event as ``label_id``).
    It runs before anything is written, so the first write after a start on a fresh working
    directory rewrites the datasets as they were, reviews included.
    """
    if not journal.is_empty():
        return 0
    answers = _built(platform, outputs.metadata)
    answers = answers.rename(columns={outputs.label_column: "label"}) if answers is not None else pd.DataFrame(
        columns=list(METADATA_COLUMNS))
    restored = rebuild(journal, answers, _decisions(platform, outputs))
    if restored:
        log.warning("The journal was missing: restored %d answers and decisions from datasets '%s' and '%s'.",
                    restored, outputs.metadata, outputs.labels)
    return restored


def rebuild(journal: Journal, annotations: pd.DataFrame, decisions: pd.DataFrame | None = None) -> int:
    """Refill an empty journal from a metadata dataset's rows, keeping their label ids.

    ``annotations`` has the metadata columns with ``label`` as the label column.
    ``decisions``: the reviewers' decisions as the labels dataset keeps them (``item_id,
    label, reviewer, event_id``), restored as review events with their ids; their time is
    not kept there, so it is the rebuild's. All of it is written in one transaction: a
    reader never sees the answers without the decisions. Returns the number of rows restored.
    """
    if not journal.is_empty():
        raise LabelloopError("The journal is not empty: refusing to rebuild it over existing events.")
    rows = [_answer_event(record) for record in annotations.to_dict("records")]
    decided = _review_events(decisions, utcnow())
    with journal.writing() as conn:
        if rows:
            conn.execute(events.insert(), rows)
            conn.execute(current.insert(), [
                {"item_id": r["item_id"], "annotator": r["annotator"], "event_id": r["id"], "first_event_id": r["id"],
                 "status": STATUS_OF_KIND[r["kind"]], "label": r["label"], "session": r["session"]}
                for r in rows
            ])
        if decided:
            conn.execute(events.insert(), decided)
            conn.execute(reviews.insert(), [{"item_id": r["item_id"], "event_id": r["id"], "reviewer": r["annotator"],
                                             "label": r["label"]} for r in decided])
        journal.advance_event_ids(conn)
    return len(rows) + len(decided)


def _answer_event(record: dict) -> dict:
    """The event of one metadata row."""
    status = str(record["status"])
    if status not in KIND_OF_STATUS:
        raise LabelloopError(f"The metadata dataset has an unknown status '{status}'.")
    event = {
        "id": int(record["label_id"]), "kind": KIND_OF_STATUS[status],
        "item_id": str(record["data_id"]), "annotator": str(record["annotator"]),
        "label": _text_or_none(record.get("label")), "comment": _text_or_none(record.get("comment")),
        "created_at": pd.Timestamp(record["date"]).to_pydatetime().replace(tzinfo=None),
        **{k: _none_if_missing(record.get(k)) for k in _PROVENANCE},
    }
    event["session"] = int(event["session"] or 0)
    size = _none_if_missing(record.get("group_size"))  # columns of a metadata dataset older than groups: none
    event.update(group_id=_text_or_none(record.get("group")), group_size=None if size is None else int(size))
    return event


def _review_events(frame: pd.DataFrame | None, now: dt.datetime) -> list:
    """Review events from ``item_id, label, reviewer, event_id`` rows."""
    if frame is None or frame.empty:
        return []
    return [{"id": int(r["event_id"]), "kind": "review", "item_id": str(r["item_id"]),
             "annotator": _text_or_none(r.get("reviewer")) or "", "label": str(r["label"]), "comment": None,
             "session": 0, "created_at": now} for r in frame.to_dict("records")]


def _none_if_missing(value):
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def _text_or_none(value):
    value = _none_if_missing(value)
    return None if value is None else str(value)


def _built(platform: Platform, name: str) -> pd.DataFrame | None:
    """A dataset's rows, or None when it is not built or empty."""
    if not name or not platform.dataset_exists(name):
        return None
    frame = platform.read_dataset(name)
    return None if frame.empty else frame


def _decisions(platform: Platform, outputs: Outputs) -> pd.DataFrame | None:
    """``item_id, label, reviewer, event_id`` of the labels dataset's reviewed rows (None without any).

    Only the columns the decisions need are read: the rest are the pool's, whatever their types.
    A labels dataset written before ``reviewer`` existed gives the decisions without their
    reviewer. One that cannot be read stops the start: writing over it would drop its decisions.
    """
    if not outputs.labels or not platform.dataset_exists(outputs.labels):
        return None
    wanted = ["item_id", outputs.label_column, "label_id", "reviewed"]
    try:
        try:
            labels = platform.read_dataset(outputs.labels, columns=[*wanted, "reviewer"])
        except Exception:  # noqa: BLE001 - no reviewer column (an older labelloop): the decisions alone
            labels = platform.read_dataset(outputs.labels, columns=wanted).assign(reviewer="")
    except Exception as error:  # noqa: BLE001 - the platform's own error for a dataset it cannot read
        raise LabelloopError(f"The labels dataset '{outputs.labels}' cannot be read to restore the reviewers' "
                             f"decisions, so the webapp will not write over it: {first_line(error)}") from error
    reviewed = labels[labels["reviewed"].astype(str).str.lower().isin(["true", "1"])]
    return pd.DataFrame({"item_id": reviewed["item_id"].astype(str), "label": reviewed[outputs.label_column].astype(str),
                         "reviewer": reviewed["reviewer"].fillna(""), "event_id": reviewed["label_id"].astype("int64")})
