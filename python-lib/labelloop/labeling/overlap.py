"""Which items several annotators label, so the team can measure its agreement (DESIGN.md section 10).

A share of the pool, drawn at random once for the project, needs ``annotators`` different
answers; every other item needs one. The draw hashes the item id with the project's seed, so
it is the same in every process and every restart, and an item added to the pool later is
drawn without moving the others.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from labelloop.errors import LabelloopError
from labelloop.parameters.tables import OVERLAP_ANNOTATORS, OVERLAP_SHARE

_SCALE = 2.0 ** 64


@dataclass(frozen=True)
class Overlap:
    """``share`` of the items (0 to 1) are each served to ``annotators`` (2 to 5) people."""

    share: float = OVERLAP_SHARE.default
    annotators: int = OVERLAP_ANNOTATORS.default
    seed: int = 0

    def __post_init__(self):
        object.__setattr__(self, "share", OVERLAP_SHARE.check(self.share))
        object.__setattr__(self, "annotators", OVERLAP_ANNOTATORS.check(self.annotators))
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise LabelloopError("The overlap seed must be a whole number.")

    def needed(self, item_id: str) -> int:
        """How many different annotators should label ``item_id``."""
        if self.share <= 0:
            return 1
        return self.annotators if draw(self.seed, item_id) < self.share else 1


def draw(seed: int, item_id: str, salt: str = "") -> float:
    """A number in [0, 1) fixed by the seed, the item and ``salt`` (one per kind of slice), so that
    a share of the pool is the same in every process and restart, and slices of different salts
    are drawn independently."""
    key = f"{seed}\0{item_id}" if not salt else f"{seed}\0{salt}\0{item_id}"
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE
