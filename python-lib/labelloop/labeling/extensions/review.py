"""The Review view: reviewers settle the items whose labels differ, then the suspected errors."""
from __future__ import annotations

from flask import jsonify, request

from labelloop.errors import Forbidden, LabelloopError
from labelloop.labeling.answers import batch_size, comment_of, known_item, label_value, request_object, stored_label
from labelloop.labeling.extensions.base import Extension

SUSPECTS_SHOWN = 10  # the suspected errors ``/stats`` lists, most suspicious first (the Review view has them all)


class Review(Extension):
    """``GET /review`` and ``POST /review``, and the suspected errors in ``/stats``.
    ``settings.suspects()`` gives the suspected label errors found so far (standalone:
    cross-validation in a thread; DSS: a dataset), or None."""

    def init_app(self, app) -> None:
        identify = self.webapp.identify

        @app.get("/review")
        def review_batch():
            return jsonify(self.batch(identify(request), request.args.get("size", "10")))

        @app.post("/review")
        def review():
            return jsonify(self.decide(identify(request), request.get_json(silent=True)))

    def stats(self) -> dict:
        """``suspects``: how many labels are suspected, and the first with the item in a few words
        (``preview``, the item's id when the list has none), its label and the model's; None before
        the first search for them ends."""
        suspects = self.webapp.settings.suspects
        found = suspects() if suspects else None
        if found is None:
            return {"suspects": None}
        shown = [{"itemId": f["item_id"], "preview": f.get("preview", f["item_id"]), "label": f["label"],
                  "suggested": f["suggested"]} for f in found[:SUSPECTS_SHOWN]]
        return {"suspects": {"count": len(found), "items": shown}}

    def batch(self, user: str, size) -> dict:
        """Items for a reviewer to settle, each with every current answer."""
        service = self._reviewer_service(user)
        size = batch_size(size)
        waiting = self._waiting()
        chosen = waiting[:size]
        ids = [item for item, _, _ in chosen]
        answers = {}
        for answer in service.journal.answers_of(ids):
            answers.setdefault(answer["item_id"], []).append({
                "annotator": answer["annotator"], "status": answer["status"],
                "label": stored_label(service.config, answer["label"]), "comment": answer["comment"],
                "date": answer["created_at"].isoformat(timespec="seconds") + "Z"})
        suggestions = service.suggestions.shown(ids)
        items = [{"id": item, "data": data, "reason": reason, "answers": answers.get(item, []),
                  "suggestion": suspect or suggestions.get(item)}
                 for (item, reason, suspect), data in zip(chosen, service.data(ids))]
        return {"items": items, "remaining": len(waiting)}

    def decide(self, user: str, body) -> dict:
        """Record a reviewer's decision on a labeled item: final until the next review."""
        service = self._reviewer_service(user)
        body = request_object(body)
        item_id = known_item(service.source, body)
        label = label_value(service.config, body.get("label"))
        comment = comment_of(body)
        if not service.tally().labeled_by_anyone(item_id):
            raise LabelloopError("Only labeled items can be reviewed: this one has no label yet.")
        label_id = service.journal.review(user, item_id, label, comment)
        service.on_change()
        return {"labelId": label_id, "remaining": len(self._waiting())}

    def _reviewer_service(self, user: str):
        service = self.webapp.service
        if not service.may_review(user):
            raise Forbidden("Only the project's reviewers can review labels.")
        return service

    def _waiting(self) -> list:
        """``(item, reason, suspect suggestion or None)`` of the items waiting for a reviewer:
        labels that differ, then suspected errors; an item a reviewer settled leaves the list."""
        service = self.webapp.service
        reviewed = set(service.journal.reviews_frame()["item_id"])
        disagreements = [i for i in service.tally().disagreements() if i not in reviewed]
        waiting = [(i, "disagreement", None) for i in sorted(disagreements, key=str)]
        seen = reviewed | set(disagreements)
        suspects = self.webapp.settings.suspects
        for found in (suspects() if suspects else None) or []:
            item = found["item_id"]
            if item not in seen and item in service.source:
                seen.add(item)
                waiting.append((item, "suspect", {"label": found["suggested"], "score": found["score"],
                                                  "source": "cross-validation"}))
        return waiting
