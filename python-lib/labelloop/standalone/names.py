"""Who an annotator is on a shared server (DESIGN.md section 16), and ``labelloop names``.

Everyone holds the server's token, so a name alone would let anyone act as anyone. Each name
belongs to a key: the random key a browser makes for itself, or a key the operator issues with
``labelloop names DIR --issue NAME``. The journal's database keeps the keys' SHA-256 digests
(store/name_keys.py). A browser's key
may claim only a new name: a reviewer's name, a name with a history (answers imported, or from a
session without a token) or, with ``--require-keys``, any name needs an issued key. An issued
key replaces the name's previous key; ``--release`` frees a name.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time

from labelloop.errors import LabelloopError, NameTaken
from labelloop.platform.locks import Lock
from labelloop.store.journal import Journal
from labelloop.store.name_keys import NameKeys

NAME = re.compile(r"[\w .@'-]{1,64}", re.UNICODE)
CLAIM_SECONDS = 2.0  # how long a name's key is cached: a key issued or released applies within this time
ISSUED_KEY_BYTES = 24  # 32 URL-safe characters


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class NameClaims:
    """Whether a request's key may act under a name, read from the journal (cached briefly).

    ``reviewers`` and, with ``require_keys``, every name need a key the operator issued."""

    def __init__(self, journal: Journal, reviewers=(), require_keys: bool = False):
        self.keys, self.reviewers, self.require_keys = NameKeys(journal), set(reviewers or ()), require_keys
        self._bound = {}  # name -> (key digest, issued, when read)
        self._lock = Lock()

    def check(self, name: str, key: str) -> None:
        digest = key_digest(key)
        needs_issued = self.require_keys or name in self.reviewers
        bound = self._key_of(name, digest, may_claim=not needs_issued)
        if bound is None or (needs_issued and not bound[1]):
            raise NameTaken(f"The name '{name}' needs the key the operator issued for it "
                            f"(labelloop names --issue '{name}'): enter it with your name.")
        if not hmac.compare_digest(bound[0], digest):
            hint = "enter the key the operator gave you" if bound[1] else "choose another"
            raise NameTaken(f"The name '{name}' is taken by another annotator: {hint}.")

    def _key_of(self, name: str, digest: str, may_claim: bool) -> tuple | None:
        with self._lock:
            cached = self._bound.get(name)
        if cached is not None and time.monotonic() - cached[2] < CLAIM_SECONDS:
            return cached[:2]
        bound = self.keys.key_of(name)
        if bound is None and may_claim:
            bound = self.keys.claim(name, digest)
        if bound is not None:
            with self._lock:
                self._bound[name] = (*bound, time.monotonic())
        return bound


def check_name(name: str) -> str:
    name = (name or "").strip()
    if not NAME.fullmatch(name):
        raise LabelloopError("An annotator name has 1 to 64 letters, digits, spaces or . @ ' -.")
    return name


def issue_key(journal: Journal, name: str) -> str:
    """A new key for ``name`` (any previous one stops working); only its digest is kept."""
    key = secrets.token_urlsafe(ISSUED_KEY_BYTES)
    NameKeys(journal).issue(check_name(name), key_digest(key))
    return key


def release_name(journal: Journal, name: str) -> None:
    if not NameKeys(journal).release(check_name(name)):
        raise LabelloopError(f"The name '{name}' has no key to release.")
