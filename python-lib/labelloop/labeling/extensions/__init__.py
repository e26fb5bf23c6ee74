"""The optional features of a labeling webapp, each in its own module (``base.Extension``).

``EXTENSIONS`` is the one list of them: ``labeling/app.py`` builds those whose settings ask for
them, registers their routes, merges their parts of ``/stats`` and starts and stops them, in
``labelloop serve`` and in DSS alike. A new feature is a module here and its line in ``FEATURES``
("module:Class", as entry points name an object).
"""
from __future__ import annotations

from importlib import import_module

# In the order of /stats's parts, and of starting (stopping runs backwards: the datasets are flushed last).
FEATURES = (
    "datasets:Datasets",
    "search:Search",
    "similar:Similar",
    "clusters:Clusters",
    "review:Review",
    "groups:Groups",
    "rules:Rules",
    "retrain_loop:RetrainLoop",
    "growing_pool:GrowingPool",
    "embeddings:Embeddings",
    "media:Media",
    "online:Online",
    "llm:Llm",
)


def _load(feature: str):
    module, name = feature.split(":")
    return getattr(import_module(f"{__name__}.{module}"), name)


EXTENSIONS = tuple(_load(feature) for feature in FEATURES)
