"""The labeling rules of a project (``labeling/rules_book.py``): read, tried and changed from the page."""
from __future__ import annotations

from flask import jsonify, request

from labelloop.errors import Forbidden, NotFound
from labelloop.labeling.answers import request_object
from labelloop.labeling.extensions.base import Extension


class Rules(Extension):
    """``GET /rules``, ``POST /rules/preview`` and ``PUT /rules`` over ``settings.rules`` (404 without)."""

    def init_app(self, app) -> None:
        identify = self.webapp.identify

        @app.get("/rules")
        def rules():
            user = identify(request)
            return jsonify({**self._book().summary(self._measured_for(user)), "canEdit": self._may_edit(user)})

        @app.post("/rules/preview")
        def preview_rule():
            user = identify(request)
            found = self._book().preview(request_object(request.get_json(silent=True)).get("rule"),
                                         self._measured_for(user))
            data = self.webapp.service.data(found["examples"])
            return jsonify({**found, "examples": [{"id": i, "data": d} for i, d in zip(found["examples"], data)]})

        @app.put("/rules")
        def save_rules():
            user = identify(request)
            book = self._book()
            if not self._may_edit(user):
                raise Forbidden("Only the project's reviewers can change the labeling rules.")
            return jsonify({**book.replace(request_object(request.get_json(silent=True)).get("rules")), "canEdit": True})

    def _may_edit(self, user: str) -> bool:
        """Reviewers, or the one user of a server without reviewers."""
        return self.webapp.service.may_review(user)

    def _measured_for(self, user: str):
        """Whose labels rules are measured against for ``user``: the final ones (None) for a
        reviewer, else only ``user``'s own, so that rules reveal nothing of others' answers."""
        return None if self._may_edit(user) else user

    def start(self) -> None:
        """The rules' final labels are read again after the journal's feed hands the book a change."""
        if self.webapp.settings.rules is not None:
            self.webapp.feed.subscribe(self.webapp.settings.rules.receive)

    def _book(self):
        if self.webapp.settings.rules is None:
            raise NotFound("This webapp has no labeling rules (in DSS they live in a rules dataset).")
        self.webapp.feed.poll()  # the final labels as the journal has them now, other processes' answers included
        return self.webapp.settings.rules
