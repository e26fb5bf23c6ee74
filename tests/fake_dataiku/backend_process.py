"""A webapp backend run as DSS runs one: a process of its own, served by werkzeug, killed at the end.

DSS 9.0.5 source (python/dataiku/webapps/backend.py): the backend's code runs with a Flask
``app`` already made, then ``make_server(bind_host, port, app, threaded=use_threading,
processes=nb_processes)`` with ``nb_processes = command.get('nbProcesses', 1)`` and
``use_threading = nb_processes == 0``: single-threaded by default, threaded with 0, a forked
process per request above 1. It ends without ``atexit`` (``os._exit`` in base/utils.py's
``watch_stdin``, or SIGKILL from DSS's process wrapper).

``python -m fake_dataiku.backend_process SPEC`` is the child: it rebuilds the fake instance from
the spec the test wrote, runs the unchanged ``backend.py`` and prints its port.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


class BackendProcess:
    """A running backend: ``url`` to call, ``stop(signal)`` to end it as DSS would."""

    def __init__(self, dss, entry_dir, config: dict, processes: int = 1):
        spec = {"state": dss.snapshot(), "entry": str(entry_dir), "config": config, "processes": processes}
        handle, self._spec = tempfile.mkstemp(prefix="labelloop-backend-", suffix=".json")
        with os.fdopen(handle, "w") as out:
            json.dump(spec, out)
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
        self.process = subprocess.Popen([sys.executable, "-m", "fake_dataiku.backend_process", self._spec],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        cwd=dss.root, env=environment, start_new_session=True)
        line = self.process.stdout.readline()
        if not line.strip().isdigit():
            self.process.kill()
            raise RuntimeError(f"The backend did not start: {line}{self.process.stderr.read()}")
        self.url = f"http://127.0.0.1:{line.strip()}"

    def stop(self, how=signal.SIGKILL, timeout: float = 30) -> int:
        """Send ``how`` to the backend and its forked children; returns its exit code."""
        try:
            os.killpg(self.process.pid, how)
            return self.process.wait(timeout)
        finally:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            os.unlink(self._spec)


def _main(spec_path: str) -> None:
    import flask
    from werkzeug.serving import make_server

    from fake_dataiku.harness import FakeDSS

    spec = json.loads(Path(spec_path).read_text())
    dss = FakeDSS.restore(spec["state"])
    app = flask.Flask("backend")
    dss.run(Path(spec["entry"]), spec["config"], init_globals={"app": app})
    processes = spec["processes"]
    server = make_server("127.0.0.1", 0, app, threaded=processes == 0, processes=processes)
    print(server.port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    _main(sys.argv[1])
