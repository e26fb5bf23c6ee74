"""When to retrain: the "every n labelings" rule of DESIGN.md section 4, for DSS and standalone.

Fire when the LABELED annotations stamped with the current session number at least ``n`` (skips
do not count; the same ``>=`` for the first session and later ones). Once it has fired for a
session it stays quiet for that session until ``refire_after_minutes`` have passed: a failed
scenario is retried, a running one is not stacked. What fired when is kept in the project
variable ``LABELLOOP__<queries>__fired``.
"""
from __future__ import annotations

import datetime as dt

from labelloop.parameters.tables import EVERY_N_LABELINGS
from labelloop.platform.base import Platform
from labelloop.store.journal import LABELED
from labelloop.store.sessions import current_session
from labelloop.store.variables import variable_name

DEFAULT_REFIRE_MINUTES = EVERY_N_LABELINGS["refire_after_minutes"].default


def check_params(n, refire_after_minutes) -> tuple:
    """``(n, refire_after_minutes)`` checked by the trigger's table (DSS gives INT params as floats)."""
    return EVERY_N_LABELINGS["n"].check(n), EVERY_N_LABELINGS["refire_after_minutes"].check(refire_after_minutes)


def due(labeled_in_session: int, n: int, session: int, last_fired: dict | None, now: dt.datetime,
        refire_after_minutes: float = DEFAULT_REFIRE_MINUTES) -> bool:
    """The rule itself, on plain values (``last_fired`` is ``{"session", "at"}`` or None)."""
    if labeled_in_session < n:
        return False
    if not last_fired or int(last_fired.get("session", -1)) != session:
        return True
    fired_at = dt.datetime.fromisoformat(last_fired["at"])
    return now - fired_at >= dt.timedelta(minutes=refire_after_minutes)


def labeled_in_session(platform: Platform, metadata: str, session: int) -> int:
    """LABELED rows of the metadata dataset stamped with ``session``, reading two columns only."""
    if not platform.dataset_exists(metadata):
        return 0
    frame = platform.read_dataset(metadata, columns=["session", "status"])
    return int(((frame["session"].astype("Int64") == session) & (frame["status"] == LABELED)).sum())


def should_fire(platform: Platform, queries: str, labeled: int, n: int,
                refire_after_minutes: float = DEFAULT_REFIRE_MINUTES, now: dt.datetime | None = None) -> bool:
    """Apply the rule for ``queries``'s current session; when it fires, remember it."""
    n, refire_after_minutes = check_params(n, refire_after_minutes)
    now = now or dt.datetime.now(dt.timezone.utc)
    session = current_session(platform, queries)
    key = variable_name(queries, "fired")
    if not due(labeled, n, session, platform.get_variables().get(key), now, refire_after_minutes):
        return False
    platform.update_variables(lambda v: v.__setitem__(key, {"session": session, "at": now.isoformat()}))
    return True
