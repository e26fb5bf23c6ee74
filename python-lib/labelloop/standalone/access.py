"""The access token of a shared ``labelloop serve`` (DESIGN.md section 16).

The token is read from ``LABELLOOP_AUTH_TOKEN`` or a file, never from the command line, where
every user of the machine can read it (``ps``). A request proves it holds the token with
``Authorization: Bearer <token>``, or with the session cookie the page gets once it is opened with
``?token=<token>``. The cookie holds an HMAC of the token, not the token: cookies are sent to every
port of a host, so another service there may see it, and it must not learn the token from it.
Wrong tokens are rate-limited per client address.
"""
from __future__ import annotations

import collections
import hashlib
import hmac
import ipaddress
import os
import time
from pathlib import Path

from flask import Flask, redirect, request

from labelloop.errors import LabelloopError, TooManyAttempts, Unauthorized
from labelloop.platform.locks import Lock

TOKEN_ENV = "LABELLOOP_AUTH_TOKEN"
MIN_TOKEN_LENGTH = 16
COOKIE_LABEL = b"labelloop session cookie v1"  # what the cookie's HMAC of the token is for
WRONG_TOKENS_ALLOWED = 10  # in a row from one address, then one more every WRONG_TOKEN_SECONDS
WRONG_TOKEN_SECONDS = 6.0
TRACKED_ADDRESSES = 10_000
ARGV_REFUSED = (f"Do not pass the token on the command line (other users of this machine can read it): "
                f"set {TOKEN_ENV} or use --auth-token-file FILE.")


def read_token(token_file: str | None, environ=os.environ) -> str | None:
    """The token from ``--auth-token-file`` or ``LABELLOOP_AUTH_TOKEN`` (None: neither), checked."""
    from_env = environ.get(TOKEN_ENV)
    if token_file and from_env:
        raise LabelloopError(f"Give the token once: {TOKEN_ENV} or --auth-token-file, not both.")
    if token_file:
        path = Path(token_file)
        try:
            token = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            raise LabelloopError(f"Cannot read the token file {path} ({type(error).__name__}).") from error
    elif from_env is not None:
        token = from_env.strip()
    else:
        return None
    if len(token) < MIN_TOKEN_LENGTH or any(c.isspace() for c in token):
        raise LabelloopError(f"The access token must be at least {MIN_TOKEN_LENGTH} characters without spaces "
                             "(python -c 'import secrets; print(secrets.token_urlsafe(32))' makes a good one).")
    return token


def _digest(secret: str) -> bytes:
    """SHA-256 of a secret: compared in constant time, and of the same length whatever was sent."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


def session_value(token: str) -> str:
    """What the session cookie holds: an HMAC of the token, which does not give the token back."""
    return hmac.new(token.encode("utf-8"), COOKIE_LABEL, hashlib.sha256).hexdigest()


def cookie_name(token: str) -> str:
    """The cookie's name, distinct per token: two servers on one host (ports share cookies) keep
    their own sessions."""
    return "labelloop_session_" + hashlib.sha256(session_value(token).encode()).hexdigest()[:8]


class WrongTokens:
    """Wrong tokens per client address (an IPv6 address counts as its /64): a burst of
    ``WRONG_TOKENS_ALLOWED``, then one every ``WRONG_TOKEN_SECONDS`` (a token bucket)."""

    def __init__(self, allowed: int = WRONG_TOKENS_ALLOWED, seconds: float = WRONG_TOKEN_SECONDS):
        self.allowed, self.seconds = allowed, seconds
        self._buckets = collections.OrderedDict()  # client -> (attempts left, when counted), least recent first
        self._lock = Lock()

    def blocked(self, address: str | None) -> float:
        """Seconds until ``address`` may try again (0: it may now)."""
        with self._lock:
            left = self._left(_client(address))
        return 0.0 if left >= 1 else (1 - left) * self.seconds

    def failed(self, address: str | None) -> None:
        client = _client(address)
        with self._lock:
            self._buckets[client] = (self._left(client) - 1, time.monotonic())
            self._buckets.move_to_end(client)
            while len(self._buckets) > TRACKED_ADDRESSES:
                self._buckets.popitem(last=False)

    def _left(self, client: str) -> float:
        left, when = self._buckets.get(client, (self.allowed, time.monotonic()))
        return min(self.allowed, left + (time.monotonic() - when) / self.seconds)


def _client(address: str | None) -> str:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return str(address)
    return str(ipaddress.ip_network(f"{ip}/64", strict=False)) if ip.version == 6 else str(ip)


def guard(app: Flask, token: str, wrong: WrongTokens | None = None) -> None:
    """Every route of ``app`` answers 401 without the token (429 after too many wrong ones)."""
    wrong = wrong or WrongTokens()
    expected, session = _digest(token), _digest(session_value(token))
    name = cookie_name(token)

    @app.before_request
    def require_token():
        opening = request.path == "/" and "token" in request.args
        given, cookie = _given_token(opening), request.cookies.get(name)
        if given is None and cookie is None:
            raise Unauthorized("This labeling server needs its access token.")
        wait = wrong.blocked(request.remote_addr)
        if wait:
            raise TooManyAttempts("Too many wrong access tokens from your address: try again in a few seconds.",
                                  retry_after=wait)
        if given is not None:
            valid = hmac.compare_digest(_digest(given), expected)
        else:
            valid = hmac.compare_digest(_digest(cookie), session)
        if not valid:
            wrong.failed(request.remote_addr)
            raise Unauthorized("This labeling server needs its access token.")
        if opening:
            response = redirect("./")
            response.set_cookie(name, session_value(token), httponly=True, samesite="Strict", path="/")
            return response
        return None


def _given_token(opening: bool) -> str | None:
    """The token a request presents: ``Authorization: Bearer``, or ``?token=`` when it opens the page."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[len("Bearer "):]
    return request.args["token"] if opening else None
