"""``labelloop serve`` on Werkzeug's development server, the one it ran on before waitress.

Only for bench/load.py's comparison of the two: the same command and app, with the HTTP server
swapped back. ``python bench/werkzeug_serve.py serve DIR [options]``.
"""
from __future__ import annotations

import sys

from werkzeug.serving import make_server

from labelloop.standalone import cli, http_server


class WerkzeugServer:
    """Werkzeug's threaded server behind the interface ``labelloop serve`` uses."""

    def __init__(self, app, host: str, port: int):
        self.server = make_server(host, port, app, threaded=True)
        self.effective_port = self.server.server_port

    def run(self) -> None:
        try:
            self.server.serve_forever()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    http_server.make_http_server = WerkzeugServer
    sys.exit(cli.main())
