"""The audit slice: a share of the items served with no suggestion at all (DESIGN.md section 15).

Comparing how often annotators give the model's answer when they see it and when they do not
measures how much a suggestion pulls them toward it. The slice is drawn at random once for the
project, like the overlap (``overlap.draw``, with its own salt so the two are independent): an
item in it is served without a suggestion to everyone, in every process and after restarts.
"""
from __future__ import annotations

from dataclasses import dataclass

from labelloop.labeling.overlap import draw
from labelloop.parameters.tables import AUDIT_SHARE


@dataclass(frozen=True)
class AuditSlice:
    """``share`` of the items (0 to 1; 0 turns the slice off) are served without a suggestion."""

    share: float = AUDIT_SHARE.default
    seed: int = 0

    def __post_init__(self):
        object.__setattr__(self, "share", AUDIT_SHARE.check(self.share))

    def includes(self, item_id: str) -> bool:
        return self.share > 0 and draw(self.seed, item_id, "audit") < self.share
