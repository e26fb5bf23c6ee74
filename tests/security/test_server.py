"""``labelloop serve`` under hostile clients: half-sent requests do not starve real ones.

A half-open connection sends part of a request header and then nothing. Werkzeug's development
server gave each one a thread and no header timeout, so they held descriptors until real
requests failed with "Too many open files".
"""
from __future__ import annotations

import json
import socket
import time
import urllib.request
from contextlib import ExitStack
from urllib.parse import urlsplit

import pytest
from servers import labelloop_server
from test_cli import run

from labelloop.standalone.http_server import CHECK_SECONDS, IDLE_SECONDS

PARTIAL = b"GET /stats HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


@pytest.fixture
def project_dir(tmp_path, wine_csv):
    run("init", tmp_path / "proj", "--data", wine_csv, "--type", "tabular", "--categories", "a,b,c", "--id-column", "wine_id")
    return tmp_path / "proj"


def half_open(url: str, count: int, stack: ExitStack) -> list:
    """``count`` connections that each send the start of a request header and hold."""
    parts = urlsplit(url)
    held = []
    for _ in range(count):
        connection = stack.enter_context(socket.create_connection((parts.hostname, parts.port), timeout=5))
        connection.sendall(PARTIAL)
        held.append(connection)
    return held


def stats(url: str, timeout: float) -> dict:
    with urllib.request.urlopen(url + "stats", timeout=timeout) as response:
        assert response.status == 200
        return json.loads(response.read())


def test_a_port_in_use_is_one_sentence(project_dir):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = run("serve", project_dir, "--port", port, ok=False)
    assert result.returncode == 2
    assert result.stderr.strip() == (f"labelloop: error: Port {port} on 127.0.0.1 is in use by another program: stop it, "
                                     "or pick another port with --port (0 picks a free one).")


def test_400_half_open_connections_do_not_stop_a_real_request(project_dir):
    with labelloop_server("serve", project_dir, "--retrain-every", "0", open_files=1024) as url, ExitStack() as stack:
        half_open(url, 400, stack)
        assert stats(url, timeout=5)["total"] > 0


def test_beyond_the_descriptor_limit_idle_connections_are_closed_and_the_server_recovers(project_dir):
    """The issue's case: a 400-descriptor limit and 450 half-open connections. The server stops
    accepting at its cap instead of running out of descriptors, closes the idle connections,
    and answers the waiting request."""
    with labelloop_server("serve", project_dir, "--retrain-every", "0", open_files=400) as url, ExitStack() as stack:
        held = half_open(url, 450, stack)
        started = time.monotonic()
        assert stats(url, timeout=IDLE_SECONDS + 3 * CHECK_SECONDS)["total"] > 0
        assert time.monotonic() - started < IDLE_SECONDS + 3 * CHECK_SECONDS
        held[0].settimeout(3 * CHECK_SECONDS)
        assert held[0].recv(1024) == b""  # closed by the server, not answered
        stats(url, timeout=5)  # and the labeling goes on
