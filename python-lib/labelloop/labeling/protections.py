"""The request protections every route of a labeling webapp gets (DESIGN.md section 16).

A browser lets any page send "simple" requests to any server: a ``text/plain`` ``fetch`` in
``no-cors`` mode, a submitted form, an ``<img>`` tag. None of them is preflighted, and on a
server without a token they carry everything the annotator's own page would. So:

- a state-changing request (POST, PUT, PATCH, DELETE) must be ``application/json``, which a page
  on another origin can only send after a preflight this server never approves (415 otherwise);
  its body must be JSON nested at most ``MAX_JSON_DEPTH`` deep (400);
- a state-changing request announced as coming from another site (``Sec-Fetch-Site``) or another
  origin (``Origin``, ``null`` included: a file opened from disk) is refused (403);
- a GET that leases items must carry ``X-Requested-With: labelloop``, a header only a preflighted
  request can set (403 otherwise);
- standalone, the ``Host`` must be a loopback name or the address the server is bound to (400):
  a page whose name an attacker re-points at 127.0.0.1 (DNS rebinding) is the attacker's origin
  for the browser, but sends its own name as ``Host``;
- every response says it may not be framed, sniffed or referred from (``SECURITY_HEADERS``).

In DSS, the page and the backend share DSS's origin through its proxy, which may rewrite
``Host``: there only the checks that do not depend on ``Host`` apply.
"""
from __future__ import annotations

import ipaddress
import json
import os
import socket
from urllib.parse import urlsplit

from flask import Flask, jsonify, request

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LEASING_ROUTES = frozenset({"/batch", "/search", "/similar"})
LEASING_PREFIXES = ("/clusters/",)  # GET /clusters/<id> leases the cluster's items
REQUESTED_WITH = "labelloop"
MAX_JSON_DEPTH = 32  # a rule, the deepest body the API takes, nests about 5 deep
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
BOUND_HOST = "LABELLOOP_BOUND_HOST"  # the app's config key for the address ``labelloop serve`` listens on
ALLOWED_HOSTS_VARIABLE = "LABELLOOP_ALLOWED_HOSTS"  # more names of this server, comma-separated (a TLS proxy's)
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; "
                               "object-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def protect(app: Flask, *, check_host: bool) -> None:
    """Refuse cross-site requests on every route of ``app`` and add the security headers.

    ``check_host``: the ``Host`` must be a loopback name, the bound address (``app.config[BOUND_HOST]``)
    or a name listed in ``LABELLOOP_ALLOWED_HOSTS`` (standalone; not in DSS, behind its proxy)."""
    extra_hosts = {name.strip().lower() for name in os.environ.get(ALLOWED_HOSTS_VARIABLE, "").split(",") if name.strip()}

    @app.before_request
    def refuse_cross_site():
        if check_host and not _host_allowed(request.host, app.config.get(BOUND_HOST, "127.0.0.1"), extra_hosts):
            return _refused(400, "This server answers only under its own address: open it by that address or "
                                 "localhost.")
        if request.method in UNSAFE_METHODS:
            return _unsafe_refusal(check_host)
        leases = request.path in LEASING_ROUTES or request.path.startswith(LEASING_PREFIXES)
        if leases and request.headers.get("X-Requested-With") != REQUESTED_WITH:
            return _refused(403, f"This route hands out items: send the header X-Requested-With: {REQUESTED_WITH}.")
        return None

    @app.after_request
    def add_security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response


def _unsafe_refusal(check_origin: bool):
    """Why a state-changing request is refused, as a response; None when it is not."""
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return _refused(403, "Requests from another site cannot change anything here.")
    origin = request.headers.get("Origin")
    if check_origin and origin is not None and not _same_origin(origin, request.host):
        return _refused(403, "Requests from another site cannot change anything here.")
    if request.mimetype != "application/json":
        return _refused(415, "Send the request body as JSON, with the header Content-Type: application/json.")
    data = request.get_data(cache=True)
    if not data.strip():
        return None
    try:
        too_deep = _depth(json.loads(data)) > MAX_JSON_DEPTH
    except RecursionError:  # the parser recurses once per level: the body is far too deep
        too_deep = True
    except ValueError:
        return _refused(400, "The request body must be a JSON object; this is not valid JSON.")
    if too_deep:
        return _refused(400, f"The request body is nested more than {MAX_JSON_DEPTH} levels deep.")
    return None


def _refused(status: int, sentence: str):
    return jsonify(error=sentence), status


def _same_origin(origin: str, host: str) -> bool:
    """The ``Origin`` names this very server (scheme aside: behind a TLS proxy the server sees plain HTTP)."""
    try:
        return origin != "null" and urlsplit(origin).netloc.lower() == host.lower()
    except ValueError:
        return False


def _host_allowed(host: str, bound: str, extra: set) -> bool:
    """``host`` (a ``Host`` header) is one of this server's names.

    Bound to every interface (``0.0.0.0``, ``::``), the server also answers under any IP address
    and this machine's own names: a rebinding attack needs a name the attacker controls."""
    try:
        name = (urlsplit(f"//{host}").hostname or "").lower()
    except ValueError:
        return False
    if name in LOOPBACK_NAMES or name in extra or name == bound.strip("[]").lower():
        return True
    if not _is_wildcard(bound):
        return False
    return _is_ip(name) or name in {socket.gethostname().lower(), socket.getfqdn().lower()}


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_wildcard(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.strip("[]")).is_unspecified
    except ValueError:
        return False


def _depth(value) -> int:
    """How deep a parsed JSON value nests, counted without recursion (the code reading it may recurse)."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, (list, dict)):
            deepest = max(deepest, depth)
            pending.extend((child, depth + 1) for child in (value.values() if isinstance(value, dict) else value))
    return deepest
