"""How far the LLM agrees with people: its answers against the final human labels (DESIGN.md section 14).

``measure`` is ``labelloop llm``'s report (and the DSS recipe's): counts, accuracy and coverage per category.

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


def measure(answers: dict, gold: dict, categories: list) -> dict:
    """The answers' counts, and their accuracy on the items people labeled, overall and per human label.

    ``gold`` counts the labeled items the LLM was asked about; ``accuracy`` is the share right
    among those it answered (an abstention is not a wrong answer, it lowers ``coverage``).
    """
    answered = sum(a is not None for a in answers.values())
    asked = {i: label for i, label in gold.items() if i in answers}
    per_category = {}
    for key in categories:
        of_key = [i for i, label in asked.items() if label == key]
        given = [i for i in of_key if answers[i] is not None]
        per_category[key] = {"accuracy": _share(sum(answers[i] == key for i in given), len(given)),
                             "gold": len(of_key), "coverage": _share(len(given), len(of_key))}
    given = [i for i in asked if answers[i] is not None]
    return {"answered": answered, "abstained": len(answers) - answered,
            "accuracy": _share(sum(answers[i] == asked[i] for i in given), len(given)), "gold": len(asked),
            "categories": per_category}


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
