"""``labelloop rules`` and ``labelloop weak``: a project's labeling rules, and the weak labels they give.

The rules live in ``DIR/rules.json``, replaced atomically once the whole file is checked. ``weak``
applies them to the pool, measures them against the labels people gave (the project's final
labels), fits the label model (rules/label_model.py) and writes the ``weak_labels`` dataset:
one row per item an enabled rule covers, with its input columns, ``weak_label``, ``confidence``
and ``rules`` (the names of the rules that voted, as a JSON list).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from labelloop.errors import LabelloopError, NotFound
from labelloop.platform.local import write_json_atomic
from labelloop.rules.label_model import fit_label_model, majority_vote
from labelloop.rules.spec import parse_rules
from labelloop.rules.statistics import rule_statistics
from labelloop.rules.votes import ABSTAIN, rule_votes
from labelloop.standalone.project import Project
from labelloop.store.items import FOLDER_TYPES
from labelloop.store.materialize import journal_labels

RULES_FILE = "rules.json"
WEAK_LABELS = "weak_labels"
MAX_RULES_BYTES = 1024 * 1024


def rules_frame(project: Project) -> pd.DataFrame:
    """The columns rules read: the pool's (a folder's items: ``path``)."""
    if project.settings.type in FOLDER_TYPES:
        return pd.DataFrame({"path": list(project.source.ids)})
    return project.source.frame


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


@dataclass
class Weak:
    """What the rules say about the pool: the report, and the weak label of each covered item."""

    report: dict
    rows: np.ndarray  # positions in the pool of the items an enabled rule covers
    labels: list
    confidence: np.ndarray
    fired: list  # per covered item, the names of the rules that voted
    gold: np.ndarray  # per pool item, its human label's code or -1


def apply_rules(project: Project) -> Weak:
    """Apply the enabled rules, measure every rule, fit the label model (DESIGN.md section 9)."""
    if project.settings.multi_label:
        raise LabelloopError("Labeling rules work on single-label projects: each rule votes for one category.")
    rules = load_rules(project)
    if not rules:
        raise LabelloopError(f"The project has no rules yet: write them in a JSON file and run 'labelloop rules "
                             f"{project.root} --file FILE'.")
    categories, frame = _categories(project), rules_frame(project)
    votes = rule_votes(rules, frame, categories)
    gold = _gold_codes(project, categories)
    report = rule_statistics(rules, votes, categories, gold)
    enabled = np.array([rule.enabled for rule in rules])
    votes, codes = votes[:, enabled], np.array([categories.index(r.label) for r in rules])[enabled]
    covered = (votes != ABSTAIN).any(axis=1)
    judged = _held_out_accuracy(votes, codes, len(categories), gold)
    posterior = _weak_posterior(votes, codes, len(categories), gold, judged["method"])
    chosen = posterior.argmax(axis=1)
    names = np.array([rule.name for rule in rules], dtype=object)[enabled]
    rows = np.flatnonzero(covered)
    report = {"rules": report["rules"], "coverage": float(covered.mean()) if len(covered) else 0.0,
              "weak_labels": int(len(rows)), "votesPerCategory": report["votesPerCategory"], "label_model": judged}
    return Weak(report, rows, [categories[k] for k in chosen[rows]], posterior[rows, chosen[rows]],
                [names[votes[i] != ABSTAIN].tolist() for i in rows], gold)


def has_enabled_rules(project: Project) -> bool:
    return any(rule.enabled for rule in load_rules(project))


def weak_labels(project: Project) -> dict:
    """``labelloop weak``: apply the rules and write the ``weak_labels`` dataset; returns the report."""
    weak = apply_rules(project)
    written = _weak_frame(project, rules_frame(project), weak.rows, weak.labels, weak.confidence,
                          [json.dumps(names) for names in weak.fired])
    project.platform.write_dataset(WEAK_LABELS, written)
    return weak.report


def _weak_posterior(votes: np.ndarray, codes: np.ndarray, categories: int, gold: np.ndarray, method: str) -> np.ndarray:
    """Per item, how likely each category is: the label model's posterior (taught by the human
    labels), or with majority vote the share of the votes each category got (ties: the first)."""
    if method == "label model":
        return fit_label_model(votes, codes, categories, gold)[0]
    counts = np.stack([(votes == k).sum(axis=1) for k in range(categories)], axis=1).astype(float)
    return counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)


def _gold_codes(project: Project, categories: list) -> np.ndarray:
    """Each pool item's final human label as a category code, -1 where there is none."""
    labels = journal_labels(project.journal, project.source, "__label")
    by_item = dict(zip(labels["item_id"].astype(str), labels["__label"].astype(str)))
    code = {c: n for n, c in enumerate(categories)}
    return np.array([code.get(by_item.get(i), -1) for i in project.source.ids], dtype=int)


def _held_out_accuracy(votes: np.ndarray, codes: np.ndarray, categories: int, gold: np.ndarray) -> dict:
    """Accuracy on the human-labeled items the rules cover, of the label model fitted without
    those labels (so they judge it, not teach it) and of majority vote (None without such items),
    and the ``method`` that gives the weak labels: majority vote only when it did better.

    The label model assumes rules err independently given the category; rules that fire on the
    same kind of item break that, and then majority vote can be the better of the two.
    """
    checked = (votes != ABSTAIN).any(axis=1) & (gold >= 0)
    if not checked.any():
        return {"gold_accuracy": None, "majority_gold_accuracy": None, "gold": 0, "method": "label model"}
    blind = fit_label_model(votes, codes, categories)[0].argmax(axis=1)
    model = float((blind[checked] == gold[checked]).mean())
    majority = float((majority_vote(votes, categories)[checked] == gold[checked]).mean())
    return {"gold_accuracy": model, "majority_gold_accuracy": majority, "gold": int(checked.sum()),
            "method": "majority vote" if majority > model else "label model"}


def _weak_frame(project: Project, frame: pd.DataFrame, rows: np.ndarray, labels: list, confidence, fired: list):
    inputs = frame.iloc[rows].reset_index(drop=True)
    ids = np.asarray(project.source.ids, dtype=object)[rows]
    added = pd.DataFrame({"item_id": ids, "weak_label": labels, "confidence": np.asarray(confidence, dtype=float),
                          "rules": fired})
    clash = next((c for c in added.columns if c in inputs.columns and c != "path"), None)
    if clash:
        raise LabelloopError(f"The data has a column '{clash}', which the weak_labels dataset adds: rename it.")
    return pd.concat([inputs.drop(columns=[c for c in added.columns if c in inputs.columns]), added], axis=1)


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
        found = rule_statistics(rules, rule_votes(rules, rules_frame(self.project), categories), categories,
                                _gold_codes(self.project, categories))
        return {"rules": [rule.as_json() for rule in rules], "statistics": found["rules"], "coverage": found["coverage"],
                "columns": [str(c) for c in rules_frame(self.project).columns]}

    def preview(self, given) -> dict:
        """How ``given`` would do among the other enabled rules (it replaces a saved one of its
        name): its statistics, and the ids of a few items it votes on."""
        categories, frame = _categories(self.project), rules_frame(self.project)
        candidate = parse_rules([given], frame.dtypes, categories)[0]
        others = [rule for rule in load_rules(self.project) if rule.enabled and rule.name != candidate.name]
        votes = rule_votes([*others, candidate], frame, categories)
        found = rule_statistics([*others, candidate], votes, categories, _gold_codes(self.project, categories))["rules"][-1]
        shown = np.flatnonzero(votes[:, -1] != ABSTAIN)[:self.EXAMPLES]
        return {**found, "examples": [self.project.source.ids[i] for i in shown]}

    def replace(self, rules) -> dict:
        if not isinstance(rules, list):
            raise LabelloopError("rules must be a JSON list of rule objects.")
        replace_rules(self.project, json.dumps(rules))
        return self.summary()
