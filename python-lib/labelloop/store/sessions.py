"""Active-learning sessions: one counter per queries dataset, kept in project variables.

Each sampler run moves its queries dataset to the next session; every annotation is stamped with
the session current when it was made, which is what the retrain trigger counts.
"""
from __future__ import annotations

from labelloop.platform.base import Platform
from labelloop.store.variables import variable_name


def current_session(platform: Platform, queries: str | None) -> int:
    """The session of ``queries``; 0 before the first sampler run or without a queries dataset."""
    if not queries:
        return 0
    return int(platform.get_variables().get(variable_name(queries, "session"), 0))


def next_session(platform: Platform, queries: str) -> int:
    """Move ``queries`` to its next session and return it."""
    key = variable_name(queries, "session")

    def increment(variables):
        variables[key] = int(variables.get(key, 0)) + 1

    return int(platform.update_variables(increment)[key])
