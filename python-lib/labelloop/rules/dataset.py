"""Labeling rules kept in a dataset, one row per rule: ``name``, ``label`` and ``rule``, the last
holding the rest of the rule as a JSON object (DESIGN.md section 9). DSS keeps rules this way,
so they can be written in a flow, an editable dataset, a notebook or the labeling page.
"""
from __future__ import annotations

import json

import pandas as pd

from labelloop.errors import LabelloopError

RULE_COLUMNS = ("name", "label", "rule")


def rules_from_dataset(frame: pd.DataFrame) -> list:
    """The rules of a rules dataset's rows (``name, label, rule``, the last a JSON object), as JSON objects."""
    missing = [c for c in RULE_COLUMNS if c not in frame.columns]
    if missing:
        raise LabelloopError(f"The rules dataset needs the columns name, label and rule (missing: {', '.join(missing)}).")
    rules = []
    for number, row in enumerate(frame[list(RULE_COLUMNS)].to_dict("records"), start=1):
        try:
            body = json.loads(row["rule"]) if isinstance(row["rule"], str) else None
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise LabelloopError(f"Row {number} of the rules dataset: 'rule' must hold a JSON object.")
        rules.append({**body, "name": row["name"], "label": row["label"]})
    return rules


def rules_dataset(rules: list) -> pd.DataFrame:
    """Checked rules as the rows of a rules dataset (the inverse of ``rules_from_dataset``)."""
    rows = []
    for rule in rules:
        body = rule.as_json()
        rows.append({"name": body.pop("name"), "label": body.pop("label"), "rule": json.dumps(body, ensure_ascii=False)})
    return pd.DataFrame(rows, columns=list(RULE_COLUMNS))


class DatasetRules:
    """Rules kept in a dataset of the platform (DSS): an empty or unwritten dataset holds none."""

    def __init__(self, platform, dataset: str):
        self.platform, self.dataset = platform, dataset

    def read(self) -> list:
        if not self.platform.dataset_exists(self.dataset):
            return []
        return rules_from_dataset(self.platform.read_dataset(self.dataset))

    def write(self, rules: list) -> None:
        self.platform.write_dataset(self.dataset, rules_dataset(rules))
