"""Online suggestions: a model that learns from every label suggests as soon as it is ready."""
from __future__ import annotations

from labelloop.labeling.extensions.base import Extension
from labelloop.labeling.online_suggestions import OnlineSuggestions


class Online(Extension):
    """The online model of single-label webapps whose config asks for it (``config.online``)."""

    def __init__(self, webapp):
        super().__init__(webapp)
        settings, service = webapp.settings, webapp.service
        self.online = OnlineSuggestions(settings.platform, settings.journal, settings.source, settings.config,
                                        lambda: service.project.current().active, upcoming=service.upcoming,
                                        embedded=getattr(settings.embeddings, "online_features", None))
        service.suggestions.online = self.online

    @staticmethod
    def enabled(settings) -> bool:
        return settings.config.online and not settings.config.multi_label

    def start(self) -> None:
        """Learn from the journal's changes, in the online model's own thread (the feed only hands them over)."""
        self.webapp.feed.subscribe(self.online.receive)
        self.online.start()

    def stop(self) -> None:
        self.online.stop()
