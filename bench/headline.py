"""The headline numbers of each benchmark, gathered by ``run_all.py`` into ``RESULTS.md``.

A benchmark calls ``record`` for the few numbers worth quoting; run on its own (no
``LABELLOOP_BENCH_HEADLINES`` in the environment) it only prints its own tables.
"""
from __future__ import annotations

import json
import os

ENVIRONMENT = "LABELLOOP_BENCH_HEADLINES"


def record(benchmark: str, measure: str, ours, baseline, unit: str) -> None:
    """Note ``ours`` (and the 4.x ``baseline`` measured in the same run, or ``None``) for RESULTS.md."""
    path = os.environ.get(ENVIRONMENT)
    if not path:
        return
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps({"benchmark": benchmark, "measure": measure, "ours": ours, "baseline": baseline,
                              "unit": unit}) + "\n")
