"""``labelloop rules`` and ``labelloop weak``: a project's labeling rules, and the weak labels they give.

The rules live in ``DIR/rules.json``, replaced atomically once the whole file is checked. ``weak``
applies them to the pool against the labels people gave (the project's final labels) and writes
the ``weak_labels`` dataset (rules/weak.py).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from labelloop.errors import LabelloopError, NotFound
from labelloop.platform.local import write_json_atomic
from labelloop.rules.spec import parse_rules
from labelloop.rules.statistics import rule_statistics
from labelloop.rules.votes import ABSTAIN, rule_votes
from labelloop.rules.weak import Weak, label_pool, weak_frame
from labelloop.standalone.project import Project
from labelloop.store.items import FOLDER_TYPES
from labelloop.store.materialize import journal_labels

RULES_FILE = "rules.json"
WEAK_LABELS = "weak_labels"
MAX_RULES_BYTES = 1024 * 1024


def pool_rows(project: Project) -> tuple:
    """``(ids, frame)``: the pool at one moment (it may grow), with the columns rules read (a folder's: ``path``)."""
    if project.settings.type in FOLDER_TYPES:
        ids = project.source.ids
        return ids, pd.DataFrame({"path": list(ids)})
    return project.source.snapshot()


def rules_frame(project: Project) -> pd.DataFrame:
    return pool_rows(project)[1]


def _categories(project: Project) -> list:
    return [c["key"] for c in project.settings.categories]


def load_rules(project: Project) -> list:
    """The project's rules, checked again (the data may have changed since); none without the file."""
    path = project.root / RULES_FILE
    if not path.is_file():
        return []
    return parse_rules(path.read_text(encoding="utf-8"), rules_frame(project).dtypes, _categories(project))


def replace_rules(project: Project, text: str) -> list:
    """Check every rule in ``text`` (JSON), then replace the project's rules with them."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_RULES_BYTES:
        raise LabelloopError(f"The rules file is larger than {MAX_RULES_BYTES // 1024:,} KB.")
    rules = parse_rules(text, rules_frame(project).dtypes, _categories(project))
    write_json_atomic(project.root / RULES_FILE, [rule.as_json() for rule in rules])
    return rules


def read_rules_file(path) -> str:
    path = Path(path)
    if not path.is_file():
        raise NotFound(f"{path}: no such file.")
    if path.stat().st_size > MAX_RULES_BYTES:
        raise LabelloopError(f"{path.name} is larger than {MAX_RULES_BYTES // 1024:,} KB.")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise LabelloopError(f"{path.name} is not UTF-8 text.") from error


def apply_rules(project: Project) -> Weak:
    """Apply the project's rules to its pool, against its human labels (``rules.weak.label_pool``)."""
    if project.settings.multi_label:
        raise LabelloopError("Labeling rules work on single-label projects: each rule votes for one category.")
    rules = load_rules(project)
    if not rules:
        raise LabelloopError(f"The project has no rules yet: write them in a JSON file and run 'labelloop rules "
                             f"{project.root} --file FILE'.")
    categories = _categories(project)
    ids, frame = pool_rows(project)
    return label_pool(rules, frame, categories, _gold_codes(project, categories, ids))


def has_enabled_rules(project: Project) -> bool:
    return any(rule.enabled for rule in load_rules(project))


def weak_labels(project: Project) -> dict:
    """``labelloop weak``: apply the rules and write the ``weak_labels`` dataset; returns the report."""
    weak = apply_rules(project)  # a CLI command: its pool does not grow meanwhile
    project.platform.write_dataset(WEAK_LABELS, weak_frame(rules_frame(project), project.source.ids, weak))
    return weak.report


def _gold_codes(project: Project, categories: list, ids: list) -> np.ndarray:
    """Each of ``ids``' final human label as a category code, -1 where there is none."""
    labels = journal_labels(project.journal, project.source, "__label")
    by_item = dict(zip(labels["item_id"].astype(str), labels["__label"].astype(str)))
    code = {c: n for n, c in enumerate(categories)}
    return np.array([code.get(by_item.get(i), -1) for i in ids], dtype=int)


class ProjectRules:
    """The rules of a served project, for the page's Rules panel: what they are and how they do,
    how a rule being written would do before it is saved, and saving them (labeling/service.py)."""

    EXAMPLES = 5

    def __init__(self, project: Project):
        self.project = project

    def summary(self) -> dict:
        """``{rules, statistics, coverage, columns}``: the saved rules as written, each one's
        statistics, and the columns a rule may read."""
        rules = load_rules(self.project)
        categories = _categories(self.project)
        ids, frame = pool_rows(self.project)
        found = rule_statistics(rules, rule_votes(rules, frame, categories), categories,
                                _gold_codes(self.project, categories, ids))
        return {"rules": [rule.as_json() for rule in rules], "statistics": found["rules"], "coverage": found["coverage"],
                "columns": [str(c) for c in frame.columns]}

    def preview(self, given) -> dict:
        """How ``given`` would do among the other enabled rules (it replaces a saved one of its
        name): its statistics, and the ids of a few items it votes on."""
        categories, (ids, frame) = _categories(self.project), pool_rows(self.project)
        candidate = parse_rules([given], frame.dtypes, categories)[0]
        others = [rule for rule in load_rules(self.project) if rule.enabled and rule.name != candidate.name]
        votes = rule_votes([*others, candidate], frame, categories)
        found = rule_statistics([*others, candidate], votes, categories, _gold_codes(self.project, categories, ids))["rules"][-1]
        shown = np.flatnonzero(votes[:, -1] != ABSTAIN)[:self.EXAMPLES]
        return {**found, "examples": [ids[i] for i in shown]}

    def replace(self, rules) -> dict:
        if not isinstance(rules, list):
            raise LabelloopError("rules must be a JSON list of rule objects.")
        replace_rules(self.project, json.dumps(rules))
        return self.summary()
