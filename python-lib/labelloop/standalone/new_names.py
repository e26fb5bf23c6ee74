"""How fast one client may bring new annotator names to a shared server.

Each name holds its own leases (at most ``LEASE_CAP``), so a client inventing names could hold
the pool name by name. A client address may bring ``BURST`` names at once (a team behind one
proxy, arriving in the morning), then ``PER_MINUTE`` a minute; names already seen by this server
cost nothing.
"""
from __future__ import annotations

import time

from werkzeug.exceptions import TooManyRequests

from labelloop.platform.locks import Lock

BURST = 30
PER_MINUTE = 10


class NewNames:
    """A token bucket per client address, spent by names this server has not seen yet."""

    def __init__(self, burst: int = BURST, per_minute: int = PER_MINUTE, clock=time.monotonic):
        self.burst, self.rate, self.clock = burst, per_minute / 60, clock
        self._seen, self._buckets = set(), {}  # client -> (tokens, when)
        self._lock = Lock()

    def admit(self, client: str, name: str) -> None:
        """Let ``name`` in, or refuse it (429) when ``client`` brought too many new names lately."""
        with self._lock:
            if name in self._seen:
                return
            now = self.clock()
            tokens, when = self._buckets.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - when) * self.rate)
            if tokens < 1:
                raise TooManyRequests(f"Too many new annotator names from this address: wait "
                                      f"{(1 - tokens) / self.rate:.0f} s or use a name you already have.")
            self._buckets[client] = (tokens - 1, now)
            self._seen.add(name)
