"""Webapp context: the params of the running webapp (unset params are absent)."""
from dataiku._instance import instance


def get_webapp_config():
    return instance().context_of("webapp").config_copy()
