"""Label many at once (DESIGN.md section 13): a group of leased items answered in one request,
listed, and undone by the annotator who gave it or by a reviewer.

Answers in a group are answers like any other (the tally, the queue, review, suspects, the
sampler count them), with three differences that keep the project's measures honest: their
strategy is ``group`` (never ``random``, so the accuracy measured on random queries leaves them
out), they are never in the audit slice, and the suggestion's pull does not count them.
"""
from __future__ import annotations

from flask import jsonify, request

from labelloop.errors import Forbidden, LabelloopError, NotFound
from labelloop.labeling.answers import comment_of, label_value, request_object, stored_label
from labelloop.labeling.extensions.base import Extension
from labelloop.store.groups import groups, record_group, withdraw_group
from labelloop.store.journal import LABELED, WITHDRAWN

MAX_GROUP = 500  # items in one group (an annotator holds at most 200 leases: this is never the limit met first)
MAX_GROUP_ID = 64  # characters of a group id (the journal's column)


class Groups(Extension):
    """``POST /label/bulk``, ``POST /label/bulk/undo`` and ``GET /groups``."""

    def init_app(self, app) -> None:
        identify = self.webapp.identify

        @app.post("/label/bulk")
        def bulk_label():
            return jsonify(self.label(identify(request), request.get_json(silent=True)))

        @app.post("/label/bulk/undo")
        def bulk_undo():
            return jsonify(self.undo(identify(request), request.get_json(silent=True)))

        @app.get("/groups")
        def group_list():
            return jsonify(self.listing(identify(request)))

    def start(self) -> None:
        """Withdrawn answers, from this process or another, send their items back to the queue."""
        queue = self.webapp.service.queue

        def receive(changes: list) -> None:
            if any(change.status == WITHDRAWN for change in changes):
                queue.rewind()
        self.webapp.feed.subscribe(receive)

    def label(self, user: str, body) -> dict:
        """Every item of ``body["ids"]`` answered ``body["label"]`` by ``user``, in one transaction."""
        service = self.webapp.service
        body = request_object(body)
        ids = body.get("ids")
        if not isinstance(ids, list) or not ids or len(ids) > MAX_GROUP \
                or not all(isinstance(i, str) and i for i in ids):
            raise LabelloopError(f"ids must be a list of 1 to {MAX_GROUP} item ids: nothing was recorded.")
        if len(set(ids)) != len(ids):
            raise LabelloopError("ids lists an item more than once: nothing was recorded.")
        label, comment = label_value(service.config, body.get("label")), comment_of(body)
        unknown = sum(1 for i in ids if i not in service.source)
        if unknown:
            raise LabelloopError(f"{unknown} of the ids are not items of this project: nothing was recorded.")
        group = record_group(service.journal, user, [_grouped(service.annotation(user, i, LABELED, label, comment))
                                                     for i in ids])
        service.on_change()
        return {"recorded": len(ids), "group": group, "stats": service.stats()}

    def undo(self, user: str, body) -> dict:
        """Withdraw the group ``body["group"]``: by the annotator who gave it, or a reviewer."""
        service = self.webapp.service
        group = request_object(body).get("group")
        if not isinstance(group, str) or not group or len(group) > MAX_GROUP_ID:
            raise LabelloopError("group must be a group id, as /label/bulk or /groups gave it.")
        found = groups(service.journal, group=group)
        if not found:
            raise NotFound("No group has this id.")
        if found[0]["annotator"] != user and not service.may_review(user):
            raise Forbidden("Only the annotator who gave a group, or a reviewer, can undo it.")
        withdrawn = withdraw_group(service.journal, group, user)
        service.on_change()
        return {"withdrawn": withdrawn, "group": group, "stats": service.stats()}

    def listing(self, user: str) -> dict:
        """The groups a reviewer may see (all) or an annotator gave, newest first."""
        service = self.webapp.service
        found = groups(service.journal, annotator=None if service.may_review(user) else user)
        return {"groups": [{
            "group": g["group"], "size": g["size"], "label": stored_label(service.config, g["label"]),
            "annotator": g["annotator"], "comment": g["comment"], "date": _date(g["date"]),
            "undone": g["undone_by"] is not None, "undoneBy": g["undone_by"], "undoneAt": _date(g["undone_at"]),
        } for g in found]}


def _grouped(annotation):
    """An answer given in a group: strategy ``group``, never in the audit slice (set in place:
    ``dataclasses.replace`` cost more than the rest of the answer)."""
    annotation.strategy, annotation.audited = "group", False
    return annotation


def _date(value):
    return None if value is None else value.isoformat(timespec="seconds") + "Z"
