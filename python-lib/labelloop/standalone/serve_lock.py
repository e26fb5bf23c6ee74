"""One server per project folder.

Two servers on one project both retrain, race for model versions and write the labels dataset
over each other. A server holds an operating-system lock on ``DIR/serve.lock`` while it runs, and
says who it is in ``DIR/serving.json`` (pid, address). The system releases the lock when the
process ends however it ends (a SIGKILL included), so a lock left by a dead server never blocks
the next one: only a live server does, and the refusal names it.
"""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from filelock import FileLock, Timeout

from labelloop.errors import LabelloopError
from labelloop.platform.local import write_json_atomic

LOCK_FILE = "serve.lock"
INFO_FILE = "serving.json"


class ServeLock:
    """Taken by ``acquire`` (or refused in one sentence), told the address by ``announce``."""

    def __init__(self, root):
        self.root = Path(root)
        self._lock = FileLock(str(self.root / LOCK_FILE), timeout=0)

    def acquire(self) -> ServeLock:
        try:
            self._lock.acquire()
        except Timeout:
            raise LabelloopError(f"{self.root} is already being served {self._holder()}: stop that server first, "
                                 "or open it in the browser.") from None
        # filelock 3.x creates the file 0644 whatever the umask: the project's files stay the user's alone
        os.chmod(self.root / LOCK_FILE, 0o600)
        self._write({"pid": os.getpid(), "url": None})
        return self

    def announce(self, url: str) -> None:
        """Record where this server answers, for the refusal of the next one."""
        self._write({"pid": os.getpid(), "url": url})

    def release(self) -> None:
        with contextlib.suppress(OSError):
            (self.root / INFO_FILE).unlink()
        self._lock.release()

    def _write(self, info: dict) -> None:
        write_json_atomic(self.root / INFO_FILE, info)

    def _holder(self) -> str:
        """The running server in words: its pid and address, as far as it has written them."""
        try:
            info = json.loads((self.root / INFO_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return "by another labelloop process (still starting)"
        where = f" at {info['url']}" if info.get("url") else " (still starting)"
        return f"by labelloop process {info.get('pid')}{where}"
