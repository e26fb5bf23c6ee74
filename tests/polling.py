"""Waiting for background work in tests: behaviour is checked, never speed."""
from __future__ import annotations

import time
from pathlib import Path


def eventually(condition, timeout: float = 10.0) -> bool:
    """Poll ``condition`` until it holds or a generous ``timeout`` passes; return its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def gone(pid: int) -> bool:
    """Dead, or a zombie nobody reaped (its parent was killed: it runs nothing)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] in "ZX"
    except (FileNotFoundError, ProcessLookupError):
        return True
