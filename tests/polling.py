"""Waiting for background work in tests: behaviour is checked, never speed."""
from __future__ import annotations

import time


def eventually(condition, timeout: float = 10.0) -> bool:
    """Poll ``condition`` until it holds or a generous ``timeout`` passes; return its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()
