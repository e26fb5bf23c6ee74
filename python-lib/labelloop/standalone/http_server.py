"""The HTTP server of ``labelloop serve``: waitress, with timeouts and a connection cap.

Werkzeug's development server gave each connection a thread and never timed out a request
header: a few hundred half-sent requests held every file descriptor and real requests failed.
Waitress reads requests on one event loop (a half-open connection costs a descriptor, not a
thread), hands whole requests to a small pool of threads, closes connections idle for
``IDLE_SECONDS`` and stops accepting at a cap kept below the process's descriptor limit, so the
journal and the datasets can always be opened. It runs in this process, so a stop (Ctrl+C or
SIGTERM) lets the requests being handled finish (up to 5 s) before the datasets are flushed. Anything beyond one
machine belongs behind a TLS reverse proxy (docs/how-to/team.md), which also bounds slow clients.
"""
from __future__ import annotations

import errno
import logging
import os
import socket

from waitress import create_server

from labelloop.errors import LabelloopError
from labelloop.labeling.routes import MAX_BODY_BYTES

THREADS = 8  # requests served at once; the rest wait in order (the GIL serialises Python work anyway)
IDLE_SECONDS = 15  # a connection that sends nothing for this long (half-sent header, idle keep-alive) is closed
CHECK_SECONDS = 5  # how often idle connections are looked for
MAX_CONNECTIONS = 1000
RESERVED_DESCRIPTORS = 100  # journal, datasets, media files, model files, pipes
MAX_HEADER_BYTES = 64 * 1024


def connection_cap() -> int:
    """At most ``MAX_CONNECTIONS``, and always some descriptors left for the server's own files."""
    try:
        import resource
    except ImportError:  # Windows: no descriptor limit to read
        return MAX_CONNECTIONS
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return max(16, min(MAX_CONNECTIONS, soft - RESERVED_DESCRIPTORS))


def make_http_server(app, host: str, port: int):
    """A server for ``app`` on ``host:port`` (0: a free port); ``.run()`` serves until
    KeyboardInterrupt, then waits up to 5 s for the requests being handled; ``.effective_port`` is the port."""
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "task queue depth" under load is no fault
    # One socket, as before: waitress would bind every address of a name ("localhost": 127.0.0.1 and ::1),
    # each on its own free port when the port is 0.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        listening = socket.create_server((host, port), family=family, backlog=1024)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise LabelloopError(f"Port {port} on {host} is in use by another program: stop it, or pick another "
                                 "port with --port (0 picks a free one).") from error
        reason = os.strerror(error.errno) if error.errno else str(error)
        raise LabelloopError(f"Cannot listen on {host} port {port}: {reason}.") from error
    return create_server(app, sockets=[listening], threads=THREADS, channel_timeout=IDLE_SECONDS,
                         cleanup_interval=CHECK_SECONDS, connection_limit=connection_cap(), asyncore_use_poll=True,
                         max_request_header_size=MAX_HEADER_BYTES, max_request_body_size=MAX_BODY_BYTES,
                         ident="labelloop", clear_untrusted_proxy_headers=True)
