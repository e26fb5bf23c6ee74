"""The access token of a shared server (issue 36, point 4), against a real ``labelloop serve``.

Findings reproduced: the token was taken on the command line (every local user reads it in
``ps``) and printed in the banner; any length was accepted; the session cookie held the raw
token; wrong guesses were never slowed down.
"""
from __future__ import annotations

import http.client
import json
import os
import signal
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from servers import labelloop_server, start_server
from test_cli import run

from labelloop.standalone import access

TOKEN = "team-token-5f2a9c0e7d"


@pytest.fixture
def project(tmp_path, wine_csv):
    run("init", tmp_path / "proj", "--data", wine_csv, "--type", "tabular", "--categories", "a,b,c", "--id-column", "wine_id")
    return tmp_path / "proj"


def request(url: str, path: str, headers=None) -> tuple:
    """``(status, headers, body)`` of a GET, redirects not followed."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read().decode()
    finally:
        connection.close()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_on_the_command_line_is_refused_in_one_sentence(project):
    result = run("serve", project, "--auth-token", TOKEN, "--host", "0.0.0.0", ok=False)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "labelloop: error: Do not pass the token on the command line (other users of this machine can read it): "
        "set LABELLOOP_AUTH_TOKEN or use --auth-token-file FILE."]


@pytest.mark.parametrize("where", ["environment", "file"])
def test_a_short_token_is_refused(project, tmp_path, monkeypatch, where):
    if where == "environment":
        monkeypatch.setenv("LABELLOOP_AUTH_TOKEN", "short-token")
        result = run("serve", project, ok=False)
    else:
        (tmp_path / "token").write_text("short-token\n")
        result = run("serve", project, "--auth-token-file", tmp_path / "token", ok=False)
    assert result.returncode == 2
    assert result.stderr.startswith("labelloop: error: The access token must be at least 16 characters")
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_token_from_the_environment_opens_the_server_and_is_never_printed(project, monkeypatch):
    monkeypatch.setenv("LABELLOOP_AUTH_TOKEN", TOKEN)
    process, url = start_server("serve", project, "--retrain-every", "0")
    try:
        assert request(url, "/stats")[0] == 401
        assert request(url, "/stats", bearer(TOKEN))[0] == 200
        banner = process.stdout.readline()  # the line after the address: how to open the page
        assert TOKEN not in url + banner and "?token=TOKEN" in banner
        assert TOKEN.encode() not in Path(f"/proc/{process.pid}/cmdline").read_bytes()  # what ps shows
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    assert TOKEN not in output


def test_the_token_from_a_file_opens_the_server(project, tmp_path, monkeypatch):
    (tmp_path / "token").write_text(TOKEN + "\n")
    os.chmod(tmp_path / "token", 0o600)
    monkeypatch.delenv("LABELLOOP_AUTH_TOKEN", raising=False)  # the file is the only token given
    with labelloop_server("serve", project, "--auth-token-file", tmp_path / "token", "--retrain-every", "0") as url:
        assert request(url, "/stats", bearer(TOKEN))[0] == 200
        assert request(url, "/stats", bearer(TOKEN + "x"))[0] == 401  # a near miss is refused


def test_the_session_cookie_is_derived_from_the_token_not_the_token(project, monkeypatch):
    monkeypatch.setenv("LABELLOOP_AUTH_TOKEN", TOKEN)
    with labelloop_server("serve", project, "--retrain-every", "0") as url:
        status, headers, _ = request(url, f"/?token={TOKEN}")
        cookie = headers["Set-Cookie"]
        assert status == 302 and headers["Location"] == "./"
        name, value = cookie.split(";")[0].split("=", 1)
        attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "path=/", "samesite=strict"} <= attributes
        assert TOKEN not in cookie and len(value) >= 32
        assert request(url, "/stats", {"Cookie": f"{name}={value}"})[0] == 200  # the cookie alone opens the API
        assert request(url, "/stats", bearer(value))[0] == 401  # but it is not the token
        assert request(url, "/stats", {"Cookie": f"{name}={TOKEN}"})[0] == 401


def test_wrong_tokens_are_rate_limited_per_address(project, monkeypatch):
    monkeypatch.setenv("LABELLOOP_AUTH_TOKEN", TOKEN)
    with labelloop_server("serve", project, "--retrain-every", "0") as url:
        statuses = [request(url, "/stats", bearer(f"guess-number-{n:04d}"))[0] for n in range(10)]
        assert statuses == [401] * 10
        status, headers, body = request(url, "/stats", bearer("guess-number-0010"))
        assert status == 429 and 1 <= int(headers["Retry-After"]) <= 6
        assert json.loads(body) == {"error": "Too many wrong access tokens from your address: try again in a few seconds."}
        # while blocked, even the right token gets no answer from this address: guessing learns nothing
        assert request(url, "/stats", bearer(TOKEN))[0] == 429
        assert request(url, "/stats")[0] == 401  # no token at all: nothing to limit


def test_a_blocked_address_may_try_once_every_few_seconds(monkeypatch):
    """The limit's clock, moved by hand: a burst of 10, then one attempt per 6 s; an IPv6 /64 is one client."""
    now = [1000.0]
    monkeypatch.setattr(access.time, "monotonic", lambda: now[0])
    wrong = access.WrongTokens()
    for _ in range(10):
        assert wrong.blocked("2001:db8::1") == 0
        wrong.failed("2001:db8::1")
    assert wrong.blocked("2001:db8::ffff") == pytest.approx(6.0)  # the same /64
    assert wrong.blocked("2001:db8:0:1::1") == 0 and wrong.blocked("192.0.2.1") == 0
    now[0] += 6.0
    assert wrong.blocked("2001:db8::1") == 0
    wrong.failed("2001:db8::1")
    assert wrong.blocked("2001:db8::1") == pytest.approx(6.0)
    now[0] += 60.0
    assert wrong.blocked("2001:db8::1") == 0  # rested: free again
