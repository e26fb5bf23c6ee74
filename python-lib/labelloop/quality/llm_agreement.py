"""How far the LLM agrees with people: its answers against the final human labels (DESIGN.md section 14).

Measured on the items people labeled that the LLM answered, leaving out those its prompt may
have shown as examples (``llm.prompt.shown_as_examples``): ``accuracy`` is the share it got
right, ``kappa`` Cohen's kappa (agreement beyond chance, as the Team panel gives for pairs of
annotators), ``majority`` the share always answering the most frequent label there would get.
The served LLM's suggestions are shown only once ``accuracy`` beats ``majority``.
"""
from __future__ import annotations

from collections import Counter

from labelloop.llm.prompt import shown_as_examples


def llm_agreement(answers: dict, labeled: list, categories: list) -> dict:
    """``{items, accuracy, kappa, majority, majorityLabel}`` of ``answers`` (item -> category or None)
    against ``labeled`` (``[(item_id, final label)]`` in labeling order); Nones on no items."""
    shown = shown_as_examples(labeled, categories)
    pairs = [(answers[i], label) for i, label in labeled if i not in shown and answers.get(i) is not None]
    if not pairs:
        return {"items": 0, "accuracy": None, "kappa": None, "majority": None, "majorityLabel": None}
    observed = sum(a == label for a, label in pairs) / len(pairs)
    said, truth = Counter(a for a, _ in pairs), Counter(label for _, label in pairs)
    chance = sum(said[k] * truth[k] for k in truth) / len(pairs) ** 2
    majority_label, count = truth.most_common(1)[0]
    return {"items": len(pairs), "accuracy": round(observed, 6),
            "kappa": None if chance >= 1 else round((observed - chance) / (1 - chance), 6),  # one label both: undefined
            "majority": round(count / len(pairs), 6), "majorityLabel": majority_label}
