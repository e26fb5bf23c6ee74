"""The suggestion served with each item: the online model's once it is ready, else the active
version's, else none. A model that fails never stops labeling; ``/stats`` says why under ``modelProblem``.

With an LLM (``llm``, the serve extension's), its cached answer is the suggestion, marked
``source: "llm"``, wherever the model's is held back: the model learned from this project's
labels, so once it has earned its place it speaks first; one suggestion at a time, so the pull
of each is measured apart (``suggested_by``).

No suggestion is shown until the model that would make it has earned its place
(``suggestion_gate.py``), and none for the items of the audit slice (``audit_slice.py``); each
answer records what was suggested and whether it was hidden, which the suggestion's pull
measures (``quality/suggestion_pull.py``, DESIGN.md section 15)."""
from __future__ import annotations

import logging

import numpy as np

from labelloop.errors import LabelloopError
from labelloop.labeling.suggestion_gate import NO_MODEL, Verdict, version_verdict
from labelloop.quality.suggestion_pull import FollowedPull

log = logging.getLogger(__name__)

# The suggestion of an item the model's preprocessing dropped (a DSS model may drop rows).
UNSCORED = {"label": None, "probabilities": {}, "unscored": True}


class Suggestions:
    """The best guess per item; ``online`` is the online suggestions, when that feature is on."""

    def __init__(self, platform, config, source, project):
        """``project()``: the project's current state (its active version, which suggests now, and
        the versions' stored metrics). ``pull`` follows the journal's feed (the core subscribes it)."""
        self.platform, self.config, self.source = platform, config, source
        self.project = project
        self.online = None
        self.llm = None  # ``suggestions(item_ids) -> {item: category}``: the LLM's answers, once measured
        self.problem = None  # why the saved model gives no suggestions (one sentence)
        self._served = {}  # item -> (in the audit slice, the suggested category) when served, for its answers
        self.pull = FollowedPull()

    def active_version(self):
        return self.project().active

    def served(self, item_ids: list) -> dict:
        """``{item: suggestion}`` to show with ``item_ids``: the model's once it has earned its place,
        else the LLM's where it answered, none for the audit slice; what it would have been, and
        whose, is kept for the items' answers."""
        shown = self.shown(item_ids)
        guesses = shown or self.of(item_ids)
        llm = {} if shown or self.llm is None or self.config.multi_label else self.llm.suggestions(item_ids)
        for i in item_ids:
            audited = self.config.audit.includes(i)
            if i in llm:
                guesses[i] = shown[i] = {"label": llm[i], "probabilities": {}, "source": "llm"}
            label = None if self.config.multi_label else (guesses.get(i) or {}).get("label")
            self._served[i] = (audited, label, ("llm" if i in llm else "model") if label is not None else None)
            if audited:
                shown.pop(i, None)
        return shown

    def shown(self, item_ids: list) -> dict:
        """``of(item_ids)`` once the model that makes them has earned their place, else none."""
        return self.of(item_ids) if self.verdict().shown else {}

    def provenance(self, item_id: str) -> tuple:
        """``(audited, suggested, suggested_by)`` of an answer on ``item_id``, as it was last served (Nones: never here)."""
        return self._served.get(item_id, (None, None, None))

    def verdict(self) -> Verdict:
        """Whether suggestions are shown: the online model's verdict once it has one, else the active version's."""
        online = self.online.verdict() if self.online is not None else None
        if online is not None:
            return online
        version = self.active_version()
        if version is None or not self.config.model:
            return NO_MODEL
        stopping = self.project().stopping or {}
        return version_verdict(next((m for m in stopping.get("metrics", []) if str(m.get("version")) == str(version)), None))

    def stats(self) -> dict:
        """Suggestions' part of ``/stats``: which model suggests, whether it is shown and why, its pull."""
        stats = {"suggesting": self.suggesting(), "suggestions": self.verdict().as_json(),
                 "suggestionPull": self.pull.current()}
        if self.problem:
            stats["modelProblem"] = self.problem
        return stats

    def of(self, item_ids: list) -> dict:
        """``{item: suggestion}``: the online model's when it is ready, else the version's, shown or
        not (a version that cannot score says so in ``/stats`` all the same)."""
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
