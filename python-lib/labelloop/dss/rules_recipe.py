"""The DSS recipe *Apply labeling rules* (custom-recipes/apply-rules/): the rules of a rules
dataset applied to a pool, measured against a labels dataset, written as weak labels.

The rules dataset is read as ``rules/dataset.py`` says. The categories are the rules' and the labels'; a rule
is checked as ``labelloop rules`` checks it, and one bad row stops the recipe with one sentence
naming it. Given the answers dataset of *Pre-label with an LLM* (dss/llm_recipe.py), the LLM votes
beside the rules as in the webapps' Rules panel and ``labelloop weak`` (rules/llm_voter.py): its
latest model and prompt version, not measured on the labeled items its prompt may have shown.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from labelloop.dss.platform import DSSPlatform
from labelloop.errors import LabelloopError
from labelloop.labeling.rules_book import stored_llm_votes
from labelloop.parameters.tables import APPLY_RULES
from labelloop.platform.base import Platform
from labelloop.rules.dataset import rules_from_dataset
from labelloop.rules.spec import parse_rules
from labelloop.rules.weak import label_pool, weak_frame
from labelloop.store.item_sources import items_at
from labelloop.store.llm_answers import ANSWER_COLUMNS

STATISTICS_COLUMNS = ("name", "label", "enabled", "coverage", "overlap", "conflict", "votes", "accuracy", "gold")


def run_recipe() -> dict:
    """What the recipe's ``recipe.py`` does: read its roles and params, apply the rules; returns the report."""
    from dataiku.customrecipe import get_input_names_for_role, get_output_names_for_role, get_recipe_config

    config = APPLY_RULES.read(get_recipe_config())
    platform = DSSPlatform()
    pool = get_input_names_for_role("data")[0]
    labels, answers = get_input_names_for_role("labels"), get_input_names_for_role("llm_answers")
    return apply_rules_recipe(
        platform, pool, items_at(platform, pool, config["id_column"] or None), rules=get_input_names_for_role("rules")[0],
        weak_labels=get_output_names_for_role("weak_labels")[0],
        statistics=get_output_names_for_role("rule_statistics")[0],
        labels=labels[0] if labels else None, label_column=config["label_col_name"] or "label",
        llm_answers=answers[0] if answers else None,
    )


def apply_rules_recipe(platform: Platform, pool: str, items, rules: str, weak_labels: str, statistics: str,
                       labels: str | None = None, label_column: str = "label", llm_answers: str | None = None) -> dict:
    """Write ``weak_labels`` and ``statistics`` (one row per rule, and the LLM's) for the ``items`` of ``pool``;
    returns the report."""
    source = items.load(platform, pool)
    _, frame = source.snapshot()
    given = rules_from_dataset(platform.read_dataset(rules))
    human = human_labels(platform, labels, label_column) if labels else {}
    answers = answers_frame(platform, llm_answers) if llm_answers else None
    answered = set() if answers is None else set(answers["answer"].dropna().astype(str))
    categories = sorted({str(r["label"]) for r in given if isinstance(r.get("label"), str)} | set(human.values()) | answered)
    checked = parse_rules(given, frame.dtypes, categories)
    code = {c: n for n, c in enumerate(categories)}
    gold = np.array([code.get(human.get(i), -1) for i in source.ids], dtype=int)
    llm = None if answers is None else stored_llm_votes(answers, list(human.items()), source.ids, categories)
    weak = label_pool(checked, frame, categories, gold, llm)
    platform.write_dataset(weak_labels, weak_frame(frame, source.ids, weak))
    platform.write_dataset(statistics, pd.DataFrame(weak.report["rules"], columns=list(STATISTICS_COLUMNS)))
    return weak.report


def human_labels(platform: Platform, labels: str, label_column: str) -> dict:
    """``{item_id: label}`` of the labeling webapp's labels dataset."""
    frame = platform.read_dataset(labels)
    if "item_id" not in frame.columns or label_column not in frame.columns:
        raise LabelloopError(f"The labels dataset has no 'item_id' and '{label_column}' columns: give the one the "
                             "labeling webapp writes, and its label column name.")
    known = frame[frame[label_column].notna()]
    return dict(zip(known["item_id"].astype(str), known[label_column].astype(str)))


def answers_frame(platform: Platform, answers: str) -> pd.DataFrame:
    """The answers dataset of *Pre-label with an LLM*, oldest first (``last_voter`` takes the newest's model and prompt)."""
    frame = platform.read_dataset(answers)
    missing = [c for c in ANSWER_COLUMNS if c not in frame.columns]
    if missing:
        raise LabelloopError(f"The LLM answers dataset has no '{missing[0]}' column: give the answers dataset the recipe "
                             "Pre-label with an LLM writes.")
    frame = frame.assign(item_id=frame["item_id"].astype(str), answer=frame["answer"].where(frame["answer"].notna(), None))
    return frame.sort_values("answered_at", kind="stable").reset_index(drop=True)
