"""A pool that grows: the items a watcher finds join the queue without a restart; ``/stats`` under ``pool``."""
from __future__ import annotations

from labelloop.labeling.extensions.base import Extension


class GrowingPool(Extension):
    """Runs ``settings.pool`` (standalone ``PoolWatcher``), which adds new items to the source."""

    @staticmethod
    def enabled(settings) -> bool:
        return settings.pool is not None

    def start(self) -> None:
        self.webapp.settings.pool.start(self.webapp.items_added)

    def stop(self) -> None:
        self.webapp.settings.pool.stop()

    def stats(self) -> dict:
        return {"pool": self.webapp.settings.pool.status()}
