"""Folders of one project and one Unix user, that only this user can open, the same on every start.

Under DSS's user isolation, each user's code runs as a Unix user of its own, so a folder that
every webapp of every project shares in the machine's temp folder lets one project's texts be
read from another and cannot be written by a second user. The caches (downscaled images, LLM
Mesh vectors) go under ``<temp>/labelloop-<uid>/<project>/``; the default journal of a DSS
webapp under ``$XDG_DATA_HOME`` (else ``~/.local/share``) ``/labelloop/<project>/``, which a
restart finds again. The user's top folder is made 0700; one that another user made, or a link,
is refused rather than used.
"""
from __future__ import annotations

import hashlib
import os
import re
import stat
import tempfile
from pathlib import Path

from labelloop.errors import LabelloopError


def cache_folder(project: str, *parts: str) -> tuple:
    """``(folder, problem)``: ``<temp>/labelloop-<uid>/<project>/<parts>``, created owner-only, and
    None, or the folder it would be and one sentence saying why it cannot be used. A cache is
    not worth stopping for: the caller goes on without it and reports the sentence."""
    top = Path(tempfile.gettempdir()) / f"labelloop-{_user()}"
    try:
        return private_folder(top, project, *parts), None
    except LabelloopError as error:
        return top.joinpath(*(slug(p) for p in (project, *parts))), str(error)


def data_folder(project: str, *parts: str) -> Path:
    """The user's data folder for ``project`` (``$XDG_DATA_HOME/labelloop/<project>/<parts>``), owner-only."""
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return private_folder(base / "labelloop", project, *parts)


def private_folder(top: Path, *parts: str) -> Path:
    """``top/parts``: ``top`` is this user's (0700), the parts are named safely and created inside it."""
    folder = top.joinpath(*(slug(p) for p in parts))
    try:
        top.mkdir(mode=0o700, parents=True, exist_ok=True)
        status = os.lstat(top)
        if stat.S_ISLNK(status.st_mode) or not stat.S_ISDIR(status.st_mode) or not _owned(status):
            raise LabelloopError(f"The folder '{top}' belongs to another user: labelloop will not use it.")
        if stat.S_IMODE(status.st_mode) & 0o077:
            os.chmod(top, 0o700)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        raise LabelloopError(f"The folder '{folder}' cannot be created ({error.strerror or error}).") from error
    return folder


def slug(name: str) -> str:
    """A file name from any text (a project key, a dataset or LLM id): safe characters only, never
    ``..``, and a digest of the text when characters were changed, so two names never share one."""
    name = str(name)
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")[:60]
    return cleaned if cleaned == name else f"{cleaned}-{hashlib.sha256(name.encode()).hexdigest()[:12]}"


def _user() -> str:
    return str(os.getuid()) if hasattr(os, "getuid") else re.sub(r"\W+", "-", os.environ.get("USERNAME", "user"))


def _owned(status) -> bool:
    return not hasattr(os, "getuid") or status.st_uid == os.getuid()
