"""The labels and metadata datasets, rewritten in the background a moment after each change."""
from __future__ import annotations

from labelloop.labeling.extensions.base import Extension
from labelloop.store.materialize import DebouncedWriter, Materializer, PartedMaterializer


class Datasets(Extension):
    """Keeps the webapp's output datasets current; ``stop`` flushes them.

    With ``settings.follow_journal`` the writer also notices answers other processes record (a
    DSS backend forking per request)."""

    writer = None

    @staticmethod
    def enabled(settings) -> bool:
        return settings.outputs is not None

    def start(self) -> None:
        settings = self.webapp.settings
        materializer = (PartedMaterializer.of(settings.platform, settings.journal, settings.source, settings.outputs)
                        or Materializer(settings.platform, settings.journal, settings.source, settings.outputs))
        self.writer = DebouncedWriter(materializer.write, behind=materializer.behind if settings.follow_journal else None)

    def stop(self) -> None:
        if self.writer is not None:
            self.writer.close()

    def changed(self) -> None:
        if self.writer is not None:
            self.writer.changed()
