"""The HTTP API of the labeling core (DESIGN.md section 5), the same in DSS and standalone.

``register_routes`` adds the core's routes to a Flask app (``labeling/app.py``); each optional
feature adds its own (``labeling/extensions/``). Every error is JSON ``{"error": "<one sentence>"}``: 4xx
for the request's own faults, 503 with ``Retry-After`` when the journal database cannot be
reached (nothing was written; retrying is safe), and for anything unexpected a logged 500 with
no traceback.
"""
from __future__ import annotations

import logging
import math

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from labelloop.errors import (
    Forbidden,
    LabelloopError,
    LeaseConflict,
    NameRequired,
    NameTaken,
    NotFound,
    TooManyAttempts,
    Unauthorized,
    Unavailable,
)
from labelloop.labeling.service import LabelingService

log = logging.getLogger(__name__)
_STATUS = ((TooManyAttempts, 429), (NotFound, 404), (LeaseConflict, 409), (Unauthorized, 401), (NameTaken, 403), (Forbidden, 403),
           (Unavailable, 503),
           (LabelloopError, 400))
RETRY_AFTER_SECONDS = 2
MAX_BODY_BYTES = 1024 * 1024  # a label with a 10,000-character comment is about 40 KB at most


def register_routes(app: Flask, service: LabelingService, identify) -> None:
    """Serve ``service`` on ``app``; ``identify(request)`` names the annotator of a request.
    Errors of every route of ``app`` are answered here."""
    if app.config.get("MAX_CONTENT_LENGTH") is None:
        app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES  # a larger body is refused (413) unread

    def body():
        return request.get_json(silent=True)  # JSON only: labeling.protections refuses other types

    @app.get("/config")
    def config():
        return jsonify(service.config_json(identify(request)))

    @app.get("/batch")
    def batch():
        return jsonify(service.batch(identify(request), request.args.get("size", "10")))

    @app.post("/label")
    def label():
        return jsonify(service.label(identify(request), body()))

    @app.post("/skip")
    def skip():
        return jsonify(service.skip(identify(request), body()))

    @app.post("/release")
    def release():
        return jsonify(service.leasing.release(identify(request), body()))

    @app.get("/history")
    def history():
        args = request.args
        return jsonify(service.history(identify(request), args.get("cursor"), args.get("direction", "back")))

    @app.get("/stats")
    def stats():
        return jsonify(service.stats())

    @app.errorhandler(Exception)
    def error(exception):
        for kind, status in _STATUS:
            if isinstance(exception, kind):
                extra = {"needName": True} if isinstance(exception, NameRequired) else {}
                headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else {}
                if isinstance(exception, TooManyAttempts):
                    headers = {"Retry-After": str(math.ceil(exception.retry_after))}
                return jsonify(error=str(exception), **extra), status, headers
        if isinstance(exception, RequestEntityTooLarge):
            return jsonify(error=f"The request body is larger than {MAX_BODY_BYTES // 1024:,} KB."), 413
        if isinstance(exception, HTTPException):
            return jsonify(error=_described(exception)), exception.code
        log.exception("Unexpected error on %s %s", request.method, request.path)
        return jsonify(error="Something went wrong on the server; it has been logged."), 500


def _described(exception: HTTPException) -> str:
    """One sentence for an HTTP error: the route's own, else Werkzeug's status name with the request
    (its default texts run to two sentences of advice meant for people typing URLs)."""
    if exception.description != type(exception).description:
        return exception.description
    return f"{exception.name}: {request.method} {request.path}."
