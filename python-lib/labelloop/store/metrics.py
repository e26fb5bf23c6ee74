"""Stopping metrics as stored, the verdict on them (computed by learning/stopping.py), and the
learning curve they draw.

They are kept per model version in the project variable ``LABELLOOP__<model>__metrics``.
Labeling can stop when the last ``STABLE_VERSIONS`` comparisons each changed at most
``STOP_CONTRADICTION`` of the predictions.
"""
from __future__ import annotations

from labelloop.platform.base import Platform
from labelloop.store.variables import variable_name

STOP_CONTRADICTION = 0.02
STABLE_VERSIONS = 2


def metrics_variable(model: str) -> str:
    return variable_name(model, "metrics")


def load_metrics(platform: Platform, model: str) -> list:
    """Stored metrics, one dict per model version, oldest version first.

    The order is the model's (by training date): DSS version ids are not ordered names.
    Versions deleted since come first, in the order they were stored.
    """
    stored = platform.get_variables().get(metrics_variable(model)) or {}
    if not stored:
        return []
    order = {v: n for n, v in enumerate(platform.model_versions(model))}
    return [stored[v] for v in sorted(stored, key=lambda v: order.get(v, -1))]


def recommendation(metrics: list) -> dict:
    """A plain-language verdict from the stored metrics."""
    rates = [m["contradictionRate"] for m in metrics if m.get("contradictionRate") is not None]
    if len(rates) < STABLE_VERSIONS:
        more = STABLE_VERSIONS - len(rates)
        return {"canStop": False, "message": f"Keep labeling: {more} more model version(s) are needed to tell "
                                            "whether the model has stopped changing."}
    recent = rates[-STABLE_VERSIONS:]
    if max(recent) <= STOP_CONTRADICTION:
        return {"canStop": True, "message": "Labeling can stop: the model has stopped changing (the last "
                                           f"{STABLE_VERSIONS} versions changed at most {max(recent):.1%} of their predictions)."}
    return {"canStop": False, "message": "Keep labeling: the model still changes with new labels "
                                        f"({recent[-1]:.1%} of its predictions changed in the latest version)."}


def stopping_status(platform: Platform, model: str) -> dict | None:
    """What ``/stats`` shows under ``stopping``: the metrics and the verdict (None before any)."""
    metrics = load_metrics(platform, model)
    if not metrics:
        return None
    return {"metrics": metrics, **recommendation(metrics)}


def _wilson_interval(accuracy: float, items: int) -> tuple:
    """The 95% Wilson interval of an accuracy measured on ``items`` items, rounded.

    scipy.stats is imported here, once a point has an interval: importing it takes about a second,
    which ``labelloop status`` need not pay for a project whose models have measured nothing yet.
    """
    from scipy.stats import binomtest

    interval = binomtest(int(round(accuracy * items)), items).proportion_ci(0.95, method="wilson")
    return round(float(interval.low), 6), round(float(interval.high), 6)


def learning_curve(metrics: list) -> list:
    """One point per model version, oldest first (``GET /stats`` ``learningCurve``, DESIGN.md section 11).

    ``accuracy`` is on the labeled items the version queried at random, which no model chose, so
    the queue does not flatter it; ``low``..``high`` is its 95% Wilson interval over ``items``
    such items (None before any). ``contradiction`` is the share of predictions that changed
    since the previous version.
    """
    curve = []
    for m in metrics:
        items, accuracy = int(m.get("randomLabels") or 0), m.get("randomAccuracy")
        low, high = _wilson_interval(accuracy, items) if items and accuracy is not None else (None, None)
        curve.append({"version": m["version"], "labels": m.get("labels"), "accuracy": accuracy if items else None,
                      "low": low, "high": high, "items": items, "contradiction": m.get("contradictionRate")})
    return curve
