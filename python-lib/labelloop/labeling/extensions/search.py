"""``GET /search``: a batch of the items matching a text (labeling/search.py) or, with sentence
embeddings, closest to it in meaning; leased as any batch, with ``matched``: how many there are in all."""
from __future__ import annotations

from flask import jsonify, request

from labelloop.errors import LabelloopError
from labelloop.labeling.answers import batch_size
from labelloop.labeling.extensions.base import Extension
from labelloop.labeling.leasing import LastLeases
from labelloop.labeling.meaning_search import best, ranked
from labelloop.labeling.search import check_query, count, find, searched_columns
from labelloop.store.items import FOLDER_TYPES

SEARCH_MODES = ("text", "semantic")


class Search(Extension):
    """Searches by text, and by meaning when ``settings.embeddings`` has a ``meaning`` search."""

    def __init__(self, webapp):
        super().__init__(webapp)
        self._leases = LastLeases(webapp.service.leasing)  # what each annotator's last search leased

    def init_app(self, app) -> None:
        @app.get("/search")
        def search():
            user, args = self.webapp.identify(request), request.args
            return jsonify(self.search(user, args.get("q"), args.get("column"), args.get("match"),
                                       args.get("size", "10"), args.get("mode", "text")))

    def search(self, user: str, q, column=None, match="substring", size="10", mode="text") -> dict:
        service = self.webapp.service
        q, match = check_query(q, match or "substring")
        size = batch_size(size)
        if (mode or "text") not in SEARCH_MODES:
            raise LabelloopError(f"mode must be one of {', '.join(SEARCH_MODES)}.")
        if mode == "semantic":
            return self._by_meaning(user, q, size)
        if service.config.type in FOLDER_TYPES:
            if column:
                raise LabelloopError("Files are searched by their path: leave out column.")
            ids, frame, columns = service.source.ids, None, []
        else:
            ids, frame = service.source.snapshot()  # one moment of a pool that grows
            columns = searched_columns(frame, service.config.type, column or None)
        found = self._serve_found(user, size, q, lambda proposed, limit: find(
            ids, frame, columns, q, match, self._open_to(user, proposed), limit))
        return {**found, "matched": count(ids, frame, columns, q, match, self._open_to(user, set()))}

    def _by_meaning(self, user: str, q: str, size: int) -> dict:
        meaning = getattr(self.webapp.settings.embeddings, "meaning", None)
        if meaning is None:
            raise LabelloopError("Search by meaning needs sentence embeddings, which this webapp does not have "
                                 "(standalone: --features embeddings, with pip install labelloop[embeddings]).")
        ids, frame = self.webapp.service.source.snapshot()
        scores = meaning.scores(frame, q)
        found = self._serve_found(user, size, q, lambda proposed, limit: best(
            ids, scores, self._open_to(user, proposed), limit))
        return {**found, "matched": ranked(ids, scores, self._open_to(user, set()))}

    def _open_to(self, user: str, proposed: set):
        service = self.webapp.service
        answered = service.tally().held(service.project.current().session, user)
        return service.leasing.open_to(user, answered, proposed)

    def _serve_found(self, user: str, size: int, q: str, propose) -> dict:
        """Lease and serve what a search finds, remembering the search as the items' provenance.

        The annotator's previous search gives its leases back: searching again and again would
        otherwise hold the pool (an annotator labels what their last search found)."""
        service = self.webapp.service
        taken = self._leases.renew(user, size, propose)
        service.searched.update((i, q) for i in taken)
        return service.serve(taken, lambda i: {"strategy": "search", "text": q})
