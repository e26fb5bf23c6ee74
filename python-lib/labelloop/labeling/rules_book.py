"""The page's Rules panel behind ``/rules``: the rules with their statistics, a rule tried before
it is saved, and saving (DESIGN.md section 9).

The rules are kept by a store: ``rules.json`` in a standalone project, a rules dataset in DSS
(``rules/dataset.py``). Statistics are measured on the pool as it is now (it may grow) against the
final human labels, which are read from the journal again only after the journal's feed
(store/journal_feed.py) handed the book a change; or, for an
annotator who is not a reviewer, against their own labels only: a rule such as ``id == N`` would
otherwise tell them the final label of any item, others' answers and reviews included.

With an LLM that answered (``llm``), the summary lists it too (``llm``), measured as a rule is
and per category (rules/llm_voter.py), so whoever writes rules sees what it is worth beside them.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from labelloop.errors import LabelloopError
from labelloop.llm.prompt import shown_as_examples
from labelloop.platform.locks import Lock
from labelloop.rules.llm_voter import LlmVotes, llm_statistics, llm_votes
from labelloop.rules.spec import parse_rules
from labelloop.rules.statistics import rule_statistics
from labelloop.rules.votes import ABSTAIN, rule_votes
from labelloop.store.llm_answers import last_voter
from labelloop.store.materialize import final_labels


class RulesBook:
    """The rules of ``store`` over ``source``, measured against the journal's final labels."""

    EXAMPLES = 5
    MAX_PREVIEW_TESTS = 2_000_000  # items x conditions a preview may test (bench/rule_preview.py times the costliest)

    def __init__(self, store, journal, source, categories: list, llm=None):
        """``llm(ids, categories)``: the LLM's votes over the pool's ``ids`` (``LlmVotes``, None before it answered)."""
        self.store, self.journal, self.source, self.categories, self.llm = store, journal, source, categories, llm
        self._gold = (None, {})  # (the journal's last change, item -> final label)
        self._newest = 0  # the newest change the feed handed over
        self._lock = Lock(held_long=True)

    def receive(self, changes: list) -> None:
        """Follow the journal's changes (``JournalFeed``): the final labels are read again when next needed."""
        self._newest = changes[-1].event_id

    def load(self, frame: pd.DataFrame | None = None) -> list:
        """The saved rules, checked again: the data may have changed since they were written."""
        frame = self.source.snapshot()[1] if frame is None else frame
        return parse_rules(self.store.read(), frame.dtypes, self.categories)

    def summary(self, annotator: str | None = None) -> dict:
        """``{rules, statistics, coverage, columns, measuredOn, llm}``: the saved rules as written, each
        one's statistics (against ``annotator``'s own labels when given), the columns a rule may read,
        and the LLM's statistics as a voter (None without its answers)."""
        ids, frame = self.source.snapshot()
        rules, gold = self.load(frame), self.gold_codes(ids, annotator)
        votes = rule_votes(rules, frame, self.categories)
        found = rule_statistics(rules, votes, self.categories, gold)
        llm = self.llm(ids, self.categories) if self.llm is not None else None
        enabled = np.array([rule.enabled for rule in rules], dtype=bool)
        return {"rules": [rule.as_json() for rule in rules], "statistics": found["rules"], "coverage": found["coverage"],
                "columns": [str(c) for c in frame.columns], "measuredOn": _measured_on(annotator),
                "llm": llm_statistics(llm, votes[:, enabled], self.categories, gold) if llm is not None else None}

    def preview(self, given, annotator: str | None = None) -> dict:
        """How ``given`` would do among the other enabled rules (it replaces a saved one of its
        name): its statistics (against ``annotator``'s own labels when given), and the ids of a
        few items it votes on. A rule testing more than ``MAX_PREVIEW_TESTS`` items x conditions is refused."""
        ids, frame = self.source.snapshot()
        candidate = parse_rules([given], frame.dtypes, self.categories)[0]
        if len(ids) * candidate.passes > self.MAX_PREVIEW_TESTS:
            most = max(self.MAX_PREVIEW_TESTS // max(len(ids), 1), 1)
            raise LabelloopError(f"A preview on {len(ids):,} items takes at most {most:,} condition(s) in a rule; "
                                 f"this one has {candidate.passes:,}.")
        others = [rule for rule in self.load(frame) if rule.enabled and rule.name != candidate.name]
        votes = rule_votes([*others, candidate], frame, self.categories)
        found = rule_statistics([*others, candidate], votes, self.categories, self.gold_codes(ids, annotator))["rules"][-1]
        shown = np.flatnonzero(votes[:, -1] != ABSTAIN)[:self.EXAMPLES]
        return {**found, "examples": [ids[i] for i in shown], "measuredOn": _measured_on(annotator)}

    def replace(self, rules) -> dict:
        """Check every rule, then replace the saved ones; nothing changes when one is refused."""
        if not isinstance(rules, list):
            raise LabelloopError("rules must be a JSON list of rule objects.")
        self.store.write(parse_rules(rules, self.source.snapshot()[1].dtypes, self.categories))
        return self.summary()

    def gold_codes(self, ids: list, annotator: str | None = None) -> np.ndarray:
        """Each of ``ids``' final human label (or ``annotator``'s own label) as a category code, -1 where there is none."""
        code = {c: n for n, c in enumerate(self.categories)}
        labels = self._final_labels() if annotator is None else self.journal.labels_of(annotator)
        return np.array([code.get(labels.get(i), -1) for i in ids], dtype=int)

    def _final_labels(self) -> dict:
        with self._lock:
            changed = self._newest
            if self._gold[0] != changed:
                final = final_labels(self.journal.current_frame(), self.journal.reviews_frame())
                self._gold = (changed, dict(zip(final["item_id"].astype(str), final["label"].astype(str))))
            return self._gold[1]


def _measured_on(annotator: str | None) -> str:
    return "final labels" if annotator is None else "your labels"


def stored_llm_votes(answers: pd.DataFrame, labeled: list, item_ids, categories: list) -> LlmVotes | None:
    """The votes of the LLM that answered last in ``answers`` (``LlmAnswers.frame()``, ``last_voter``)
    over the pool's ``item_ids``, not measured on the items of ``labeled`` (``[(item_id, final
    label)]`` in labeling order) its prompt may have shown as examples; None before it answered.
    Both hosts' Rules panels and ``weak`` take the LLM from here."""
    model, latest = last_voter(answers)
    if model is None:
        return None
    return llm_votes(model, latest, item_ids, categories, shown_as_examples(labeled, categories))
