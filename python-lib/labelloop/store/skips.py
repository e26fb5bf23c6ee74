"""When a skipped item comes back (DESIGN.md section 11).

A skip says "not now": the item is unclear, or the annotator needs a better model's suggestion.
Never serving it again loses it; serving it at once annoys. So a skipped item waits
``COOLDOWN_SESSIONS`` sessions (sampler rounds) after its latest skip, then returns to the queue
and to the sampler's ranking. An item that every annotator who answered it has skipped
``RETIRE_AFTER`` times is given up on: nobody can label it.

A label by anyone settles an item for good, as before.
"""
from __future__ import annotations

COOLDOWN_SESSIONS = 3
RETIRE_AFTER = 2


def held_back(skips: list, session: int) -> bool:
    """Whether an item answered only by skips waits in ``session``.

    ``skips``: one ``(session of the annotator's latest skip, how many times they skipped it)``
    per annotator who answered the item.
    """
    if not skips:
        return False
    if all(count >= RETIRE_AFTER for _, count in skips):
        return True
    return session < max(last for last, _ in skips) + COOLDOWN_SESSIONS


def unavailable(answers, skip_counts: dict, session: int) -> set:
    """Items not to serve or rank in ``session``: labeled by anyone, or skipped and held back.

    ``answers``: ``(item, annotator, status, session)`` current answers; ``skip_counts``:
    ``{(item, annotator): skips}`` over the whole history (1 when unknown).
    """
    labeled, skipped = set(), {}
    for item, annotator, status, answered_in in answers:
        if status == "LABELED":
            labeled.add(item)
        else:
            skipped.setdefault(item, []).append((int(answered_in), skip_counts.get((item, annotator), 1)))
    return labeled | {item for item, skips in skipped.items() if item not in labeled and held_back(skips, session)}
