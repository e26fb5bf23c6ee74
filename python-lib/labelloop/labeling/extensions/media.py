"""``GET /media/<id>``: the files of a folder of images or sounds (images downscaled unless ``original=1``)."""
from __future__ import annotations

from flask import request

from labelloop.errors import NotFound
from labelloop.labeling.extensions.base import Extension
from labelloop.labeling.media import MediaStore
from labelloop.labeling.media_response import media_response
from labelloop.store.items import FOLDER_TYPES


class Media(Extension):
    """Serves a folder's files from ``settings.media_cache`` (None: not kept, ``media_problem`` says why)."""

    def __init__(self, webapp):
        super().__init__(webapp)
        settings = webapp.settings
        self.store = (MediaStore(settings.platform, settings.unlabeled, settings.source, settings.media_cache,
                                 settings.media_problem) if settings.config.type in FOLDER_TYPES else None)

    def init_app(self, app) -> None:
        @app.get("/media/<path:item_id>", merge_slashes=False)  # "//etc/passwd" is an unknown id, not a redirect
        def media(item_id):
            self.webapp.identify(request)
            if self.store is None:
                raise NotFound("This webapp labels rows: it has no media files.")
            return media_response(self.store.get(item_id, request.args.get("original") == "1"), request.environ)

    def stats(self) -> dict:
        return {"cacheProblem": self.store.problem} if self.store is not None and self.store.problem else {}
