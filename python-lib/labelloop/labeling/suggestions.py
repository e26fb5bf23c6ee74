"""The suggestion served with each item: the online model's once it is ready, else the active
version's, else none. A model that fails never stops labeling; ``/stats`` says why under ``modelProblem``."""
from __future__ import annotations

import logging

import numpy as np

from labelloop.errors import LabelloopError

log = logging.getLogger(__name__)

# The suggestion of an item the model's preprocessing dropped (a DSS model may drop rows).
UNSCORED = {"label": None, "probabilities": {}, "unscored": True}


class Suggestions:
    """The best guess per item; ``online`` is the online suggestions, when that feature is on."""

    def __init__(self, platform, config, source, active_version):
        """``active_version()``: the model version that suggests now (None before the first)."""
        self.platform, self.config, self.source = platform, config, source
        self.active_version = active_version
        self.online = None
        self.problem = None  # why the saved model gives no suggestions (one sentence)

    def of(self, item_ids: list) -> dict:
        """``{item: suggestion}``: the online model's when it is ready, else the version's."""
        if not item_ids:
            return {}
        online = self._online(item_ids)
        if online is not None:
            return online
        version = self.active_version()
        if not self.config.model or version is None:
            return {}
        try:
            result = self.platform.model_probabilities(self.config.model, self.source.rows(item_ids), version=version)
        except LabelloopError as error:  # a model this env cannot score with: labeling goes on, /stats says why
            self.problem = str(error)
            return {}
        except Exception:  # noqa: BLE001 - a broken model must not stop labeling
            return {}
        self.problem = None
        return {i: suggestion(result.classes, p, "version") if scored else UNSCORED
                for i, p, scored in zip(item_ids, result.matrix, result.scored)}

    def suggesting(self) -> dict:
        """Which model suggests: the online one once it is ready, else the active version (or none)."""
        online = self.online.status() if self.online is not None else None
        if online is not None and online["source"] == "online":
            return online
        version = self.active_version()
        return {"source": "version" if version else None, "labels": 0, "version": version}

    def _online(self, item_ids: list) -> dict | None:
        if self.online is None:
            return None
        try:
            found = self.online.probabilities(item_ids)
        except Exception:  # noqa: BLE001 - fall back on the version's suggestions
            log.exception("online suggestions")
            return None
        if found is None:
            return None
        categories, matrix = found
        return {i: suggestion(categories, p, "online") for i, p in zip(item_ids, matrix)}


def suggestion(classes: list, probabilities: np.ndarray, source: str) -> dict:
    return {"label": classes[int(np.argmax(probabilities))],
            "probabilities": {c: float(v) for c, v in zip(classes, probabilities)}, "source": source}
