"""The team's agreement for ``/stats``, recomputed only as often as it is worth."""
from __future__ import annotations

import time

import pandas as pd

from labelloop.quality.agreement import agreement

AGREEMENT_CPU_SHARE = 0.1  # while answers keep coming, agreement takes at most this share of a core


class TeamAgreement:
    """The agreement (quality/agreement.py) over the items two annotators or more answered.

    ``/stats`` follows every label, so it is recomputed only when an answer on a shared item
    changed, and after a pause of ``1 / AGREEMENT_CPU_SHARE`` times its last cost: a few
    milliseconds on a small team's overlap (fresh at once), a few seconds on 100k shared
    items. Only the overlap is read, from the tally in memory. (Keyed by the last answer
    instead, it was recomputed after nearly every label of a busy team: a fifth of the
    server's GIL time with 32 annotators and no overlap, measured with py-spy.)
    """

    def __init__(self):
        self._last = None  # (shared changes seen, when, cost, agreement)

    def current(self, tally, lock) -> dict:
        """The agreement over ``tally`` (read under ``lock``, the one its updates hold)."""
        with lock:
            cached, changes = self._last, tally.shared_changes
            if cached is not None:
                seen, done_at, cost, found = cached
                if seen == changes or time.monotonic() - done_at < cost / AGREEMENT_CPU_SHARE:
                    return found
            rows = tally.shared_labels()
        start = time.monotonic()
        found = agreement(pd.DataFrame(rows, columns=["item_id", "annotator", "label"]))
        self._last = (changes, time.monotonic(), time.monotonic() - start, found)
        return found
