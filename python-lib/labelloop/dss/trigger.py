"""The DSS half of the every-n-labelings trigger (python-triggers/every-n-labelings/): count the
labels in the metadata dataset, apply ``labelloop.learning.retrain_rule``, fire the scenario."""
from __future__ import annotations

import datetime as dt

from labelloop.dss.platform import DSSPlatform
from labelloop.learning.retrain_rule import (
    DEFAULT_REFIRE_MINUTES,
    check_params,
    labeled_in_session,
    should_fire,
)
from labelloop.parameters.tables import EVERY_N_LABELINGS
from labelloop.platform.base import Platform
from labelloop.store.sessions import current_session


def check_metadata(platform: Platform, metadata: str, queries: str, n: int,
                   refire_after_minutes: float = DEFAULT_REFIRE_MINUTES, now: dt.datetime | None = None) -> bool:
    """The trigger's whole job: count in the metadata dataset, apply the rule."""
    n, refire_after_minutes = check_params(n, refire_after_minutes)
    labeled = labeled_in_session(platform, metadata, current_session(platform, queries))
    return should_fire(platform, queries, labeled, n, refire_after_minutes, now)


def run_trigger() -> bool:
    """What the trigger's ``trigger.py`` does; returns whether it fired."""
    from dataiku.customtrigger import get_trigger_config
    from dataiku.scenario import Trigger

    config = EVERY_N_LABELINGS.read(get_trigger_config())
    fire = check_metadata(DSSPlatform(), config["metadata_ds"], config["queries_ds"], config["n"],
                          config["refire_after_minutes"])
    if fire:
        Trigger().fire()
    return fire
