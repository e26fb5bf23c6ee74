"""``labelloop serve``: the labeling webapp of a project folder on a local Flask server.

The page is served at ``/``, the shared front end under ``/resource/``, and the API of
DESIGN.md section 5 at the root, exactly as a DSS backend serves it. With an access token every
route answers 401 without it (``access.py``), and annotators pick their name in the page: a name
then belongs to a key, the browser's own or one the operator issued (``names.py``).
"""
from __future__ import annotations

import ipaddress
import logging
import re
from pathlib import Path

from flask import Flask, jsonify, request, send_from_directory

from labelloop.embedding_model import Encoder
from labelloop.errors import LabelloopError, NameRequired
from labelloop.labeling.builder import build_webapp
from labelloop.labeling.meaning_search import MeaningSearch
from labelloop.labeling.protections import protect
from labelloop.labeling.service import LabelingConfig
from labelloop.standalone.access import TOKEN_ENV, guard
from labelloop.standalone.embeddings import EmbeddingWorker, FeatureChoice, feature_choice, features_status
from labelloop.standalone.labeling_rules import rules_book
from labelloop.standalone.names import NAME, NameClaims
from labelloop.standalone.new_names import NewNames
from labelloop.standalone.project import MODEL, UNLABELED, Project
from labelloop.standalone.team_quality import BackgroundSuspects
from labelloop.store.embedding_cache import EmbeddingCache

log = logging.getLogger(__name__)
USER_HEADER = "X-Labelloop-User"
KEY_HEADER = "X-Labelloop-Key"
_KEY = re.compile(r"[\w-]{16,128}", re.ASCII)
RESOURCE_DIR = Path(__file__).resolve().parents[3] / "resource"
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>labelloop</title><link rel="stylesheet" href="resource/labelloop/labelloop.css"></head>
<body><div id="labelloop-root"></div>
<script type="module" src="resource/labelloop/standalone.js"></script></body></html>
"""


def check_host(host: str, auth_token: str | None) -> None:
    """Refuse to listen beyond this machine without a token."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback and not auth_token:
        raise LabelloopError(f"Serving on {host} would let anyone on the network label: "
                             f"set {TOKEN_ENV} or use --auth-token-file.")


def _identify(user: str | None, claims: NameClaims | None):
    new_names = NewNames()

    def identify(req) -> str:
        if claims is None or req.endpoint == "media":  # <img> and <audio> send only the cookie the guard checked
            return user
        name = (req.headers.get(USER_HEADER) or "").strip()
        if not NAME.fullmatch(name):
            raise NameRequired("Choose your annotator name (letters, digits, spaces, . @ ' -; at most 64).")
        key = req.headers.get(KEY_HEADER) or ""
        if not _KEY.fullmatch(key):
            raise NameRequired(f"Send your annotator key in {KEY_HEADER} (16 to 128 letters, digits, - or _).")
        new_names.admit(req.remote_addr, name)
        claims.check(name, key)
        return name
    return identify


def _arrivals(service, embedder: EmbeddingWorker | None):
    """What a growing pool's new items go to: the queue, and the background embedding."""
    def added(item_ids: list) -> None:
        service.items_added(item_ids)
        if embedder is not None:
            embedder.pool_grew()
    return added


def create_app(project: Project, user: str | None = None, auth_token: str | None = None, loop=None,
               online: bool = True, reviewers: list | None = None, pool_watch=None, features: FeatureChoice | None = None,
               embedder: EmbeddingWorker | None = None, require_keys: bool = False):
    """The Flask app serving ``project``, and the writer that keeps its datasets current.

    ``reviewers`` may use the Review view; without them, the one user of a server without a
    token may, and nobody on a shared server. There a reviewer's name, and with
    ``require_keys`` every name, needs a key the operator issued (``names.py``).

    With a ``RetrainLoop``, it is started on the webapp's label counts, ``/stats`` reports it under
    ``loop`` and ``POST /train`` asks it for a round now (standalone only: in DSS a scenario
    retrains). A ``PoolWatcher`` is started too: the items it finds join the queue, and ``/stats``
    reports it under ``pool``. ``features``: the project's text features (default: its setting); with
    sentence embeddings, ``/search?mode=semantic`` searches by meaning, and an ``EmbeddingWorker`` is
    told of the items a growing pool adds."""
    app = Flask("labelloop", static_folder=None)
    app.json.sort_keys = False
    if auth_token:
        guard(app, auth_token)
    protect(app, check_host=True)

    @app.get("/")
    def page():
        return PAGE, 200, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}

    @app.get("/favicon.ico")
    def favicon():
        return "", 204

    @app.get("/resource/<path:name>")
    def resource(name):
        return send_from_directory(RESOURCE_DIR, name, max_age=0)

    settings = project.settings
    config = LabelingConfig(type=settings.type, categories=settings.categories, multi_label=settings.multi_label,
                            queries=settings.outputs["queries"], model=MODEL, text_column=settings.text_column,
                            columns_first=settings.columns_first, online=online,
                            overlap_share=settings.overlap_share, overlap_annotators=settings.overlap_annotators,
                            reviewers=reviewers or ([] if auth_token else None))
    claims = NameClaims(project.journal, reviewers, require_keys) if auth_token else None
    features = features or feature_choice(project)
    meaning = None
    if features.kind == "embeddings":
        meaning = MeaningSearch(EmbeddingCache(features.cache), Encoder(features.path), features.columns).warm_up()
    identify = _identify(project.platform.user(), claims)
    built = build_webapp(app, project.platform, project.journal, project.source, config, project.outputs, identify,
                         unlabeled=UNLABELED,
                         media_cache=project.root / ".cache" / "media", loop=loop,
                         suspects=BackgroundSuspects(project).current, rules=rules_book(project),
                         pool_watch=pool_watch, meaning=meaning, features=lambda: features_status(project, features))
    app.extensions["labelloop"] = built  # Flask's place for an extension's state: the CLI stops it
    if pool_watch is not None:
        pool_watch.start(_arrivals(built.service, embedder))
    if loop is not None:
        loop.start(built.service.labeled_in_session)

        @app.post("/train")
        def train_now():
            identify(request)  # a round costs the server minutes: only a named annotator may ask
            return jsonify(loop.train_now()), 202
    return app, built.writer
