"""Trigger context: the params of the running trigger (unset params are absent)."""
from dataiku._instance import instance


def get_trigger_config():
    return instance().context_of("trigger").config_copy()
