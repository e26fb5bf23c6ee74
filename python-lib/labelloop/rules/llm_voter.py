"""An LLM's answers as one more voter beside the rules (DESIGN.md section 14).

A rule votes for one category; the LLM votes for any. In the label model it therefore enters as
one column per category it answers, "the LLM says k", each fitted like a rule: how often it says
k on items of k and on others is exactly its per-category accuracy, which the report gives. The
columns are one voter: they never vote together, so the co-firing check leaves their pairs out
(model_choice.py), and the report shows them as the one entry ``llm:<model>``. An answer that is
null (the LLM abstained) or not a category abstains, as a rule that does not fire.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from labelloop.llm.prompt import shown_as_examples
from labelloop.rules.votes import ABSTAIN
from labelloop.store.llm_answers import last_voter


@dataclass(frozen=True)
class LlmVotes:
    """The LLM's vote on each pool item: ``codes[i]`` the category code it answered, or ``ABSTAIN``."""

    model: str
    codes: np.ndarray
    unmeasured: np.ndarray  # per item, whether the LLM was told its label (an example): never its gold

    @property
    def name(self) -> str:
        return f"llm:{self.model}"

    def columns(self) -> tuple:
        """``(votes, codes)``: one vote column per category the LLM answers, as rules' columns are."""
        answered = np.unique(self.codes[self.codes != ABSTAIN])
        votes = np.where(self.codes[:, None] == answered[None, :], answered[None, :], ABSTAIN).astype(np.int16)
        return votes, answered.astype(int)


def llm_votes(model: str, answers: dict, item_ids, categories: list, unmeasured=frozenset()) -> LlmVotes:
    """The votes of ``answers`` (item id -> category, or None where the LLM abstained) over the
    pool's ``item_ids``; items it was not asked about and off-list answers abstain. The items in
    ``unmeasured`` (those shown to it as examples) vote but never count as its gold."""
    codes = {str(c): n for n, c in enumerate(categories)}
    found = [answers.get(str(i)) for i in item_ids]
    return LlmVotes(model, np.array([codes.get(str(a), ABSTAIN) if a is not None else ABSTAIN for a in found],
                                    dtype=np.int16), np.array([str(i) in unmeasured for i in item_ids], dtype=bool))


def stored_llm_votes(answers: pd.DataFrame, labeled: list, item_ids, categories: list) -> LlmVotes | None:
    """The votes of the LLM that answered last in ``answers`` (``LlmAnswers.frame()``, ``last_voter``)
    over the pool's ``item_ids``, not measured on the items of ``labeled`` (``[(item_id, final
    label)]`` in labeling order) its prompt may have shown as examples; None before it answered.
    Both hosts' Rules panels and ``weak`` take the LLM from here."""
    model, latest = last_voter(answers)
    if model is None:
        return None
    return llm_votes(model, latest, item_ids, categories, shown_as_examples(labeled, categories))


def llm_statistics(llm: LlmVotes, rule_votes: np.ndarray, categories: list, gold: np.ndarray) -> dict:
    """The LLM's entry in ``weak``'s ``rules`` list: a rule's statistics (``rule_votes``: the
    enabled rules' votes, for overlap and conflict), and per category the same ``accuracy`` (of
    its answers of that category, on human-labeled items), ``gold`` and ``coverage``."""
    total = max(len(llm.codes), 1)
    mine, labeled = llm.codes != ABSTAIN, (gold >= 0) & ~llm.unmeasured
    others = rule_votes != ABSTAIN
    differ = (others & (rule_votes != llm.codes[:, None])).any(axis=1)
    per_category = {}
    for code, category in enumerate(categories):
        said = llm.codes == code
        per_category[str(category)] = _measured(said, labeled & said, gold == code, total)
    return {"name": llm.name, "label": None, "enabled": True, **_measured(mine, labeled & mine, gold == llm.codes, total),
            "overlap": float((mine & others.any(axis=1)).sum() / total), "conflict": float((mine & differ).sum() / total),
            "votes": int(mine.sum()), "categories": per_category}


def _measured(votes: np.ndarray, checked: np.ndarray, right: np.ndarray, total: int) -> dict:
    counted = int(checked.sum())
    return {"coverage": float(votes.sum() / total), "accuracy": int((checked & right).sum()) / counted if counted else None,
            "gold": counted}
