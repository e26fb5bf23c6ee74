"""Text features: how far the pool's sentence embeddings are (``/stats`` under ``features``), and
the background work that computes them, told when a growing pool adds items."""
from __future__ import annotations

from labelloop.labeling.extensions.base import Extension


class Embeddings(Extension):
    """Runs ``settings.embeddings``: an object with ``status()`` and optional ``start``, ``stop``,
    ``pool_grew``, ``meaning`` (search by meaning, ``extensions/search.py``) and
    ``online_features`` (``extensions/online.py``): standalone ``ServedFeatures``, DSS ``MeshEmbedding``."""

    @staticmethod
    def enabled(settings) -> bool:
        return settings.embeddings is not None

    def start(self) -> None:
        _call(self.webapp.settings.embeddings, "start")

    def stop(self) -> None:
        _call(self.webapp.settings.embeddings, "stop")

    def stats(self) -> dict:
        return {"features": self.webapp.settings.embeddings.status()}

    def items_added(self, item_ids: list) -> None:
        _call(self.webapp.settings.embeddings, "pool_grew")


def _call(embeddings, method: str) -> None:
    found = getattr(embeddings, method, None)
    if found is not None:
        found()
