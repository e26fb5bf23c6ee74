"""A real ``labelloop`` server process for tests that talk to it over HTTP (and browser tests)."""
from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
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
    """Run ``labelloop <args> --port 0``; yield its URL; stop it with SIGTERM (which flushes).

    The server's output is read all along (a full pipe would block its logging, and the server
    with it) and printed when the test fails, so a failed retrain round shows its cause."""
    process, url = start_server(*args)
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
