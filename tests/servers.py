"""A real ``labelloop`` server process for tests that talk to it over HTTP (and browser tests)."""
from __future__ import annotations

import http.client
import json
import re
import resource
import signal
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

LABELLOOP = str(Path(sys.executable).parent / "labelloop")


def start_server(*args, open_files: int | None = None) -> tuple:
    """Start ``labelloop <args> --port 0``; return the process and its URL once it listens.

    ``open_files``: the server's descriptor limit (soft and hard), as ``ulimit -n`` sets it."""
    limit = None if open_files is None else lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))
    process = subprocess.Popen([LABELLOOP, *map(str, args), "--port", "0"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, preexec_fn=limit)
    line = process.stdout.readline()
    match = re.search(r"at (http://\S+)", line)
    if not match:
        process.kill()
        raise AssertionError(f"the server did not start: {line}{process.stdout.read()}")
    return process, match.group(1)


@contextmanager
def labelloop_server(*args, open_files: int | None = None):
    """Run ``labelloop <args> --port 0``; yield its URL; stop it with SIGTERM (which flushes).

    The server's output is read all along (a full pipe would block its logging, and the server
    with it) and printed when the test fails, so a failed retrain round shows its cause."""
    process, url = start_server(*args, open_files=open_files)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    try:
        yield url
    except BaseException:
        print("server output so far:", "".join(lines), sep="\n")
        raise
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        reader.join(timeout=10)
        output = "".join(lines)
        assert "datasets are written" in output, output


def page_request(url: str, method: str, path: str, headers: dict, body=None) -> tuple:
    """``(status, JSON answer)`` of a request to the server at ``url`` sent as its page sends it
    (a JSON body, ``X-Requested-With``), with ``headers`` added."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    sent = {"X-Requested-With": "labelloop", "Content-Type": "application/json", **headers}
    try:
        connection.request(method, path, body=None if body is None else json.dumps(body), headers=sent)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()
