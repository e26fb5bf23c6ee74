"""An LLM pre-labeling the items about to be served, in the background (DESIGN.md section 14).

``settings.llm`` (standalone ``ServedLlm``) does the work, away from the requests: labeling goes
on whatever the endpoint does, and ``/stats`` has an ``llm`` part whose ``problem`` says in one
sentence what is wrong with it (None when it answers). Its answers are suggestions where the
model's are held back (``labeling/suggestions.py``), once it beats the majority answer on human labels.
"""
from __future__ import annotations

from labelloop.labeling.extensions.base import Extension


class Llm(Extension):
    """Hands ``settings.llm`` the queue's next items; reports its status under ``llm``."""

    @staticmethod
    def enabled(settings) -> bool:
        return settings.llm is not None

    def __init__(self, webapp):
        super().__init__(webapp)
        webapp.service.suggestions.llm = webapp.settings.llm

    def start(self) -> None:
        self.webapp.settings.llm.start(self.upcoming)

    def stop(self) -> None:
        self.webapp.settings.llm.stop()

    def stats(self) -> dict:
        return {"llm": self.webapp.settings.llm.status()}

    def upcoming(self, count: int) -> list:
        """The next ``count`` items the queue will serve, to anyone."""
        service = self.webapp.service
        done = service.tally().held(service.project.current().session)
        return service.queue.next_items(set(), done, count)
