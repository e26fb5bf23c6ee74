"""The standalone retrain loop: rounds in the background, ``POST /train`` for one now, ``/stats`` under ``loop``."""
from __future__ import annotations

from flask import jsonify, request

from labelloop.labeling.extensions.base import Extension


class RetrainLoop(Extension):
    """Runs ``settings.loop`` (``standalone/loop.py``'s ``RetrainLoop``) on the webapp's label counts.
    In DSS a scenario retrains instead."""

    @staticmethod
    def enabled(settings) -> bool:
        return settings.loop is not None

    def init_app(self, app) -> None:
        @app.post("/train")
        def train_now():
            self.webapp.identify(request)  # a round costs the server minutes: only a named annotator may ask
            return jsonify(self.webapp.settings.loop.train_now()), 202

    def start(self) -> None:
        tally = self.webapp.service.tally
        self.webapp.settings.loop.start(lambda session: tally().sessions[str(session)])

    def stop(self) -> None:
        self.webapp.settings.loop.stop()

    def stats(self) -> dict:
        return {"loop": self.webapp.settings.loop.status()}

    def fresh_since(self):
        return self.webapp.settings.loop.finished_at  # a page told the round is over must see its model
