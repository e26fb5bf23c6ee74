"""How each rule behaves over the whole pool, and against the labels people gave.

Shares are of the pool: ``coverage`` (the rule votes), ``overlap`` (it votes and another rule
does too), ``conflict`` (another rule votes a different category on the same item).
``accuracy`` is measured on the ``gold`` items people labeled where the rule votes, and comes
with that count, so that 2 of 2 is not read as 100%.
"""
from __future__ import annotations

import numpy as np

from labelloop.rules.votes import ABSTAIN


def rule_statistics(rules: list, votes: np.ndarray, categories: list, gold: np.ndarray) -> dict:
    """``{rules: [...], coverage, votesPerCategory}``; ``gold[i]``: the code of item ``i``'s human label, or -1."""
    total = max(len(votes), 1)
    fires = votes != ABSTAIN
    voters = fires.sum(axis=1)
    per_category = np.stack([(votes == k).sum(axis=1) for k in range(len(categories))], axis=1) if len(categories) \
        else np.zeros((len(votes), 0))
    labeled = gold >= 0
    found = []
    for j, rule in enumerate(rules):
        mine, code = fires[:, j], categories.index(rule.label)
        checked = int((mine & labeled).sum())
        right = int((mine & labeled & (gold == code)).sum())
        found.append({"name": rule.name, "label": rule.label, "enabled": rule.enabled,
                      "coverage": float(mine.sum() / total), "overlap": float((mine & (voters >= 2)).sum() / total),
                      "conflict": float((mine & (voters > per_category[:, code])).sum() / total),
                      "votes": int(mine.sum()), "accuracy": right / checked if checked else None, "gold": checked})
    return {"rules": found, "coverage": float(fires.any(axis=1).sum() / total),
            "votesPerCategory": {str(c): int(per_category[:, k].sum()) for k, c in enumerate(categories)}}
