"""A versioned directory of trained models for the standalone runtime.

Each version is a folder ``vNNNN`` holding ``model.joblib`` and ``meta.json``. A version is
written in a hidden temporary folder and renamed into place, so a crash mid-save never leaves a
half-written version that a reader could load.

joblib is imported by the methods that write and read models: opening a project (``labelloop init``,
``status``) does not need it, and importing it takes a noticeable share of those commands' time.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from labelloop.errors import NotFound

_MODEL_FILE = "model.joblib"
_META_FILE = "meta.json"
_VERSION = re.compile(r"v\d{4,}")
_STAGING = ".staging-"


class ModelRegistry:
    """Versions of one model, oldest first."""

    def __init__(self, path):
        self.path = Path(path)
        self._loaded = None  # ((version, file's mtime), model): the webapp asks for the same one per batch

    def versions(self) -> list:
        """The ids of the complete versions, oldest first."""
        if not self.path.is_dir():
            return []
        return sorted(p.name for p in self.path.iterdir() if _VERSION.fullmatch(p.name) and (p / _META_FILE).is_file())

    def latest(self) -> str | None:
        versions = self.versions()
        return versions[-1] if versions else None

    def save(self, model, meta: dict) -> str:
        """Store ``model`` as the next version and return its id."""
        import joblib

        self.path.mkdir(parents=True, exist_ok=True)
        self._remove_abandoned_staging()
        staging = Path(tempfile.mkdtemp(prefix=f"{_STAGING}{os.getpid()}-", dir=self.path))
        try:
            joblib.dump(model, staging / _MODEL_FILE)
            while True:
                version = self._next_version()
                (staging / _META_FILE).write_text(json.dumps({**meta, "version": version}, default=str))
                try:
                    os.rename(staging, self.path / version)
                    return version
                except OSError:  # another writer took this number first: take the next one
                    if not (self.path / version).exists():
                        raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _remove_abandoned_staging(self) -> None:
        """Delete the staging folders of saves whose process died (a crash or SIGKILL mid-save)."""
        for staging in self.path.glob(f"{_STAGING}*"):
            pid = staging.name[len(_STAGING):].split("-", 1)[0]
            if not pid.isdecimal() or not _alive(int(pid)):
                shutil.rmtree(staging, ignore_errors=True)

    def _next_version(self) -> str:
        """One past the highest version folder, complete or not, so numbers are never reused."""
        numbers = [int(p.name[1:]) for p in self.path.iterdir() if _VERSION.fullmatch(p.name)]
        return f"v{max(numbers, default=0) + 1:04d}"

    def meta(self, version: str) -> dict:
        return json.loads((self._version_dir(version) / _META_FILE).read_text())

    def load(self, version: str | None = None):
        """The model object of ``version`` (the latest when ``None``).

        The last one loaded is kept: unpickling a pipeline takes tens of milliseconds, holding
        the GIL, and the webapp needs it for every batch's suggestions. Callers only predict with it.
        """
        import joblib

        path = self._version_dir(version) / _MODEL_FILE
        stamp = (path.parent.name, path.stat().st_mtime_ns)
        loaded = self._loaded
        if loaded is None or loaded[0] != stamp:
            loaded = self._loaded = (stamp, joblib.load(path))
        return loaded[1]

    def _version_dir(self, version: str | None) -> Path:
        version = version or self.latest()
        if version is None or version not in self.versions():
            raise NotFound(f"No model version '{version}' in {self.path}." if version else "No model has been trained yet.")
        return self.path / version


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs. On Windows ``os.kill`` would end it: assume it does."""
    if os.name == "nt":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
