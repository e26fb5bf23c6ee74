"""Scenario-step context: the params of the running step (unset params are absent)."""
from dataiku._instance import instance


def get_step_config():
    return instance().context_of("step").config_copy()
