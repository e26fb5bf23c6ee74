"""What every optional feature of a labeling webapp is (Flask's extension pattern: ``init_app``)."""
from __future__ import annotations


class Extension:
    """One optional feature: its routes, its part of ``/stats`` and its own start and stop.

    ``webapp`` (``labeling/app.py``) gives the settings, the labeling core (``service``) and
    ``identify(request)``. A feature is built only when ``enabled`` says its settings ask for it;
    building it starts nothing: ``start`` does, once every feature is built.
    """

    def __init__(self, webapp):
        self.webapp = webapp

    @staticmethod
    def enabled(settings) -> bool:
        return True

    def init_app(self, app) -> None:
        """Register the feature's routes on the Flask ``app``."""

    def start(self) -> None:
        """Start what runs in the background (threads, processes)."""

    def stop(self) -> None:
        """Stop it; the server is going away (called once, in the reverse order of ``start``)."""

    def stats(self) -> dict:
        """The feature's part of ``/stats``."""
        return {}

    def fresh_since(self):
        """A ``time.monotonic()`` after which ``/stats`` must read the project again (None: no need)."""
        return None

    def changed(self) -> None:
        """An answer or a review was just recorded."""

    def items_added(self, item_ids: list) -> None:
        """A growing pool's new items are in the source and the queue."""
