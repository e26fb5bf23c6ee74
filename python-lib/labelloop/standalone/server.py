"""``labelloop serve``: the settings of a project folder's labeling webapp on a local Flask server.

The page is served at ``/``, the shared front end under ``/resource/``, and the API of
DESIGN.md section 5 at the root, exactly as a DSS backend serves it. With an access token every
route answers 401 without it (``access.py``), and annotators pick their name in the page: a name
then belongs to a key, the browser's own or one the operator issued (``names.py``).
"""
from __future__ import annotations

import ipaddress
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, send_from_directory

from labelloop.errors import LabelloopError, NameRequired
from labelloop.labeling.app import Settings
from labelloop.labeling.service import LabelingConfig
from labelloop.learning.media_features import EXTRACTORS, folder_features
from labelloop.sampling import DEFAULT_DIVERSITY
from labelloop.standalone.access import TOKEN_ENV, guard
from labelloop.standalone.embeddings import ServedFeatures, feature_choice
from labelloop.standalone.labeling_rules import rules_book
from labelloop.standalone.loop import RetrainLoop
from labelloop.standalone.names import NAME, NameClaims
from labelloop.standalone.new_names import NewNames
from labelloop.standalone.pool_watch import PoolWatcher, pool_reader
from labelloop.standalone.project import MODEL, UNLABELED, Project
from labelloop.standalone.served_llm import ProjectLlm
from labelloop.standalone.team_quality import BackgroundSuspects

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


@dataclass
class ServeOptions:
    """How ``labelloop serve`` serves a project: its command line's choices. The defaults run no
    retrain rounds and watch no pool (what a test of the API wants).

    ``reviewers`` may use the Review view; without them, the one user of a server without a
    token may, and nobody on a shared server. There a reviewer's name, and with
    ``require_keys`` every name, needs a key the operator issued (``names.py``)."""

    auth_token: str | None = None
    reviewers: list | None = None
    require_keys: bool = False
    online: bool = True  # suggestions from a model that learns from every label
    retrain_every: int = 0  # labels in a session between retrain rounds (0: no rounds)
    diversity: str = DEFAULT_DIVERSITY
    rules_bonus: float = 0.0
    watch_pool: float = 0.0  # seconds between looks for new items (0: the pool does not grow)


def serve_settings(project: Project, options: ServeOptions | None = None) -> Settings:
    """The settings of ``project``'s complete webapp (``labeling.app.create_app``).

    The page is served at ``/`` and the shared front end under ``/resource/``; with an access
    token every route answers 401 without it. With ``retrain_every``, the retrain loop runs on
    the webapp's label counts (``POST /train`` asks for a round now; single-label projects);
    with ``watch_pool``, a growing pool's new items join the queue; the project's text features
    are reported, and with sentence embeddings ``/search?mode=semantic`` searches by meaning
    while a background process embeds the items a growing pool adds. With an LLM (``--llm-url``), a
    thread pre-labels the items about to be served (``served_llm.py``)."""
    options = options or ServeOptions()
    settings = project.settings
    token = options.auth_token
    config = LabelingConfig(type=settings.type, categories=settings.categories, multi_label=settings.multi_label,
                            queries=settings.outputs["queries"], model=MODEL, text_column=settings.text_column,
                            columns_first=settings.columns_first, online=options.online,
                            overlap_share=settings.overlap_share, overlap_annotators=settings.overlap_annotators,
                            audit_share=settings.audit_share,
                            reviewers=options.reviewers or ([] if token else None))
    claims = NameClaims(project.journal, options.reviewers, options.require_keys) if token else None
    loop = (RetrainLoop(project, options.retrain_every, options.diversity, options.rules_bonus)
            if options.retrain_every and not settings.multi_label else None)
    pool = PoolWatcher(pool_reader(project), project.source, options.watch_pool) if options.watch_pool > 0 else None
    return Settings(project.platform, project.journal, project.source, config,
                    identify=_identify(project.platform.user(), claims), outputs=project.outputs, unlabeled=UNLABELED,
                    host_setup=lambda app: _page(app, token), media_cache=project.root / ".cache" / "media",
                    suspects=BackgroundSuspects(project).current, rules=rules_book(project), loop=loop, pool=pool,
                    embeddings=ServedFeatures(project, feature_choice(project)),
                    features_of=folder_features(project.platform, UNLABELED, settings.type)
                    if settings.type in EXTRACTORS else None,
                    llm=ProjectLlm(project) if settings.llm_url else None)


def _page(app: Flask, auth_token: str | None) -> None:
    """The token's guard, then the page and the front end's files."""
    if auth_token:
        guard(app, auth_token)

    @app.get("/")
    def page():
        return PAGE, 200, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}

    @app.get("/favicon.ico")
    def favicon():
        return "", 204

    @app.get("/resource/<path:name>")
    def resource(name):
        return send_from_directory(RESOURCE_DIR, name, max_age=0)
