"""``labelloop serve``: the labeling webapp of a project folder on a local Flask server.

The page is served at ``/``, the shared front end under ``/resource/``, and the API of
DESIGN.md section 5 at the root, exactly as a DSS backend serves it. With ``--auth-token`` every
route answers 401 without ``Authorization: Bearer <token>`` (or the cookie the page sets after
being opened once with ``?token=<token>``), and annotators pick their name in the page.
"""
from __future__ import annotations

import hmac
import ipaddress
import logging
import re
from pathlib import Path

from flask import Flask, jsonify, redirect, request, send_from_directory

from labelloop.errors import LabelloopError, NameRequired, Unauthorized
from labelloop.labeling import LabelingConfig, LabelingService
from labelloop.materialize import DebouncedWriter, Materializer
from labelloop.media import MediaStore
from labelloop.project import MODEL, UNLABELED, Project
from labelloop.webapp import register_routes

log = logging.getLogger(__name__)
TOKEN_COOKIE = "labelloop_token"
USER_HEADER = "X-Labelloop-User"
_NAME = re.compile(r"^[\w .@'-]{1,64}$", re.UNICODE)
RESOURCE_DIR = Path(__file__).resolve().parents[2] / "resource"
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>labelloop</title><link rel="stylesheet" href="resource/labelloop/labelloop.css"></head>
<body><div id="labelloop-root"></div>
<script type="module">
import { start } from "./resource/labelloop/app.js";
start(document.getElementById("labelloop-root"), { backendUrl: (path) => path });
</script></body></html>
"""


def check_host(host: str, auth_token: str | None) -> None:
    """Refuse to listen beyond this machine without a token."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback and not auth_token:
        raise LabelloopError(f"Serving on {host} would let anyone on the network label: add --auth-token.")


def _identify(user: str | None, shared: bool):
    def identify(req) -> str:
        if not shared:
            return user
        name = (req.headers.get(USER_HEADER) or "").strip()
        if not _NAME.match(name):
            raise NameRequired("Choose your annotator name (letters, digits, spaces, . @ ' -; at most 64).")
        return name
    return identify


def _guard(app: Flask, token: str) -> None:
    @app.before_request
    def require_token():
        given = request.cookies.get(TOKEN_COOKIE, "")
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            given = header[len("Bearer "):]
        if request.path == "/" and "token" in request.args:
            given = request.args["token"]
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise Unauthorized("This labeling server needs its access token.")
        if request.path == "/" and "token" in request.args:
            response = redirect("./")
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict")
            return response
        return None


def create_app(project: Project, user: str | None = None, auth_token: str | None = None, loop=None):
    """The Flask app serving ``project``, and the writer that keeps its datasets current.

    With a ``RetrainLoop``, it is started on the webapp's label counts, ``/stats`` reports it under
    ``loop`` and ``POST /train`` asks it for a round now (standalone only: in DSS a scenario
    retrains)."""
    settings = project.settings
    writer = DebouncedWriter(Materializer(project.platform, project.journal, project.source, project.outputs).write)
    config = LabelingConfig(type=settings.type, categories=settings.categories, multi_label=settings.multi_label,
                            queries=settings.outputs["queries"], model=MODEL, text_column=settings.text_column,
                            columns_first=settings.columns_first)
    media = None
    if settings.type in ("image", "sound"):
        media = MediaStore(project.platform, UNLABELED, project.source, project.root / ".cache" / "media")
    service = LabelingService(project.platform, project.journal, project.source, config, on_change=writer.changed,
                              media=media)
    app = Flask("labelloop", static_folder=None)
    app.json.sort_keys = False
    if auth_token:
        _guard(app, auth_token)

    @app.get("/")
    def page():
        return PAGE, 200, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}

    @app.get("/favicon.ico")
    def favicon():
        return "", 204

    @app.get("/resource/<path:name>")
    def resource(name):
        return send_from_directory(RESOURCE_DIR, name, max_age=0)

    register_routes(app, service, _identify(project.platform.user(), shared=bool(auth_token)))
    if loop is not None:
        service.loop = loop
        loop.start(service.labeled_in_session)

        @app.post("/train")
        def train_now():
            return jsonify(loop.train_now()), 202
    return app, writer
