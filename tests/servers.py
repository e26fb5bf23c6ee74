"""A real ``labelloop`` server process for tests that talk to it over HTTP (and browser tests)."""
from __future__ import annotations

import re
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

LABELLOOP = str(Path(sys.executable).parent / "labelloop")


def start_server(*args) -> tuple:
    """Start ``labelloop <args> --port 0``; return the process and its URL once it listens."""
    process = subprocess.Popen([LABELLOOP, *map(str, args), "--port", "0"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    line = process.stdout.readline()
    match = re.search(r"at (http://\S+)", line)
    if not match:
        process.kill()
        raise AssertionError(f"the server did not start: {line}{process.stdout.read()}")
    return process, match.group(1)


@contextmanager
def labelloop_server(*args):
    """Run ``labelloop <args> --port 0``; yield its URL; stop it with SIGTERM (which flushes)."""
    process, url = start_server(*args)
    try:
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
        assert "datasets are written" in output, output
