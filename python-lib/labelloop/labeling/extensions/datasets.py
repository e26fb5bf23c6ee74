"""The labels and metadata datasets, rewritten in the background a moment after each change."""
from __future__ import annotations

from labelloop.labeling.extensions.base import Extension
from labelloop.store.materialize import DebouncedWriter, Materializer, PartedMaterializer


class Datasets(Extension):
    """Keeps the webapp's output datasets current; ``stop`` flushes them.

    With ``settings.follow_journal`` the writer also notices answers other processes record (a
    DSS backend forking per request): the journal's feed hands it every change, and it writes
    when the datasets lag behind."""

    writer = None

    @staticmethod
    def enabled(settings) -> bool:
        return settings.outputs is not None

    def start(self) -> None:
        settings = self.webapp.settings
        materializer = (PartedMaterializer.of(settings.platform, settings.journal, settings.source, settings.outputs)
                        or Materializer(settings.platform, settings.journal, settings.source, settings.outputs))
        self.writer = writer = DebouncedWriter(materializer.write)
        if settings.follow_journal:
            def receive(changes: list) -> None:
                if materializer.behind(changes[-1].event_id):
                    writer.changed()
            self.webapp.feed.subscribe(receive)

    def stop(self) -> None:
        if self.writer is not None:
            self.writer.close()

    def changed(self) -> None:
        if self.writer is not None:
            self.writer.changed()
