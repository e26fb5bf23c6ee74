"""Weak labels of a pool from its rules (DESIGN.md section 9), wherever the pool comes from.

The rules vote over the pool (votes.py), each is measured against the human labels
(statistics.py), and one label per covered item comes from the label model (label_model.py), or
from majority vote unless a held-out check shows the model is better (model_choice.py).
``labelloop weak`` and the DSS recipe *Apply labeling rules* both run ``label_pool``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from labelloop.errors import LabelloopError
from labelloop.rules.label_model import fit_label_model, majority_vote, vote_counts
from labelloop.rules.llm_voter import LlmVotes, llm_statistics
from labelloop.rules.model_choice import choose_method, tie_breaker
from labelloop.rules.statistics import rule_statistics
from labelloop.rules.votes import ABSTAIN, rule_votes


@dataclass
class Weak:
    """What the rules say about the pool: the report, and the weak label of each covered item."""

    report: dict
    rows: np.ndarray  # positions in the pool of the items an enabled rule covers
    labels: list
    confidence: np.ndarray
    fired: list  # per covered item, the names of the rules that voted
    gold: np.ndarray  # per pool item, its human label's code or -1


def label_pool(rules: list, frame: pd.DataFrame, categories: list, gold: np.ndarray, llm: LlmVotes | None = None) -> Weak:
    """Apply ``rules`` to ``frame`` (the pool's rows), measure every rule against ``gold`` (each
    row's human label code, or -1), and label the items the enabled rules cover; with ``llm``,
    the LLM votes beside them (rules/llm_voter.py) and is measured as they are."""
    votes = rule_votes(rules, frame, categories)
    report = rule_statistics(rules, votes, categories, gold)
    enabled = np.array([rule.enabled for rule in rules], dtype=bool)
    votes, codes = votes[:, enabled], np.array([categories.index(r.label) for r in rules], dtype=int)[enabled]
    names = np.array([rule.name for rule in rules], dtype=object)[enabled]
    voters = np.arange(len(codes))
    if llm is not None:
        report["rules"].append(llm_statistics(llm, votes, categories, gold))
        columns, answered = llm.columns()
        votes, codes = np.hstack([votes, columns]), np.r_[codes, answered]
        names, voters = np.r_[names, [llm.name] * len(answered)], np.r_[voters, [len(voters)] * len(answered)]
    covered = (votes != ABSTAIN).any(axis=1)
    judged = choose_method(votes, codes, len(categories), gold, voters)
    posterior, chosen = _weak_posterior(votes, codes, len(categories), gold, judged["method"])
    rows = np.flatnonzero(covered)
    report = {"rules": report["rules"], "coverage": float(covered.mean()) if len(covered) else 0.0,
              "weak_labels": int(len(rows)), "votesPerCategory": report["votesPerCategory"], "label_model": judged}
    return Weak(report, rows, [categories[k] for k in chosen[rows]], posterior[rows, chosen[rows]],
                [list(dict.fromkeys(names[votes[i] != ABSTAIN])) for i in rows], gold)


def weak_frame(frame: pd.DataFrame, item_ids, weak: Weak) -> pd.DataFrame:
    """The weak-labels dataset: the covered items' input columns, then ``item_id``, ``weak_label``,
    ``confidence`` and ``rules`` (the names of the rules that voted, as a JSON list)."""
    inputs = frame.iloc[weak.rows].reset_index(drop=True)
    added = pd.DataFrame({"item_id": np.asarray(item_ids, dtype=object)[weak.rows], "weak_label": weak.labels,
                          "confidence": np.asarray(weak.confidence, dtype=float),
                          "rules": [json.dumps(names) for names in weak.fired]})
    clash = next((c for c in added.columns if c in inputs.columns and c != "path"), None)
    if clash:
        raise LabelloopError(f"The data has a column '{clash}', which the weak_labels dataset adds: rename it.")
    return pd.concat([inputs.drop(columns=[c for c in added.columns if c in inputs.columns]), added], axis=1)


def _weak_posterior(votes: np.ndarray, codes: np.ndarray, categories: int, gold: np.ndarray, method: str) -> tuple:
    """``(posterior, chosen)``: per item, how likely each category is, and its category: the label
    model's posterior (taught by the human labels) and its most likely category, or with majority
    vote the share of the votes each category got and the most voted (ties broken by ``tie_breaker``)."""
    if method == "label model":
        model = fit_label_model(votes, codes, categories, gold)[0]
        return model, model.argmax(axis=1)
    counts = vote_counts(votes, categories).astype(float)
    chosen = majority_vote(votes, categories, tie_breaker(votes, codes, categories, gold))
    return counts / np.maximum(counts.sum(axis=1, keepdims=True), 1), chosen

