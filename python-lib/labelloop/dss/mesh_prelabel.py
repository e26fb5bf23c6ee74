"""An LLM Mesh model pre-labeling the items a DSS webapp is about to serve, in the background.

The webapp's ``llm`` param names a completion model of the LLM Mesh. ``serve``'s thread
(labeling/llm_prelabeling.py: a few items ahead of the annotators, retried a while after a failure,
``/stats``' ``llm`` part saying what is wrong in one sentence) does the work; here it asks the
Mesh (``MeshCompleter``), builds the prompt from the webapp's categories, its task sentence and
the journal's human labels, and keeps the answers in the webapp's journal as ``labelloop llm`` does.
"""
from __future__ import annotations

import pandas as pd

from labelloop.dss.mesh_completion import MeshCompleter
from labelloop.labeling.llm_prelabeling import ServedLlm
from labelloop.llm.prompt import Prompt, choose_examples
from labelloop.store.llm_answers import LlmAnswers
from labelloop.store.materialize import final_labels


def item_texts(rows: pd.DataFrame, text_column: str | None, left_out=()) -> list:
    """What the LLM reads of each row: its text column, or the other columns as ``column: value`` lines."""
    if text_column:
        return rows[text_column].fillna("").astype(str).tolist()
    columns = [c for c in rows.columns if c not in left_out]
    shown = rows[columns].astype(object).where(rows[columns].notna(), "")
    return ["\n".join(f"{c}: {v}" for c, v in zip(columns, row)) for row in shown.itertuples(index=False)]


class MeshServedLlm(ServedLlm):
    """``ServedLlm`` over the LLM Mesh and a webapp's journal and items, instead of a project folder."""

    def __init__(self, platform, llm_id: str, task: str, categories: list, journal, source,
                 text_column: str | None = None, columns_first=(), left_out=()):
        super().__init__(MeshCompleter(platform, llm_id), LlmAnswers(journal))
        self.task, self.categories, self.journal, self.source = task, list(categories), journal, source
        self.text_column, self.columns_first, self.left_out = text_column, list(columns_first), tuple(left_out)

    def prompt(self) -> Prompt:
        """The task, the categories, and examples from the human labels in the order they were given."""
        labeled = self.human_labels()
        texts = self.texts([i for i, _ in labeled])
        examples = choose_examples([(text, label) for text, (_, label) in zip(texts, labeled)],
                                   [c["key"] for c in self.categories])
        return Prompt(self.task, tuple(self.categories), examples)

    def human_labels(self) -> list:
        final = final_labels(self.journal.current_frame(), self.journal.reviews_frame())
        return [(str(i), str(label)) for i, label in zip(final["item_id"], final["label"]) if str(i) in self.source]

    def texts(self, item_ids: list) -> list:
        rows = self.source.rows(item_ids)
        first = [c for c in self.columns_first if c in rows.columns]
        rows = rows[first + [c for c in rows.columns if c not in first]]
        return item_texts(rows, self.text_column, self.left_out)
