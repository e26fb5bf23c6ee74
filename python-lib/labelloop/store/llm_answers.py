"""The LLM's answers, kept in the journal's database (DESIGN.md section 14).

One row per answer, appended as each comes back, so a pre-labeling run killed half-way keeps
what it had and a rerun skips the items already answered for the same prompt version. An answer
is a category or None (the model abstained: its reply was unparseable or off the list). The
prompt version is part of every row: a changed prompt starts a new set of answers while the old
ones stay readable and comparable.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pandas as pd
import sqlalchemy as sa

from labelloop.store.journal import Journal, utcnow

tables = sa.MetaData()
llm_answers = sa.Table(
    "llm_answers", tables,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("item_id", sa.String(1024), nullable=False),
    sa.Column("answer", sa.Text),  # None: the model abstained
    sa.Column("prompt_version", sa.String(64), nullable=False),
    sa.Column("model", sa.String(256), nullable=False),
    sa.Column("answered_at", sa.DateTime, nullable=False),
    sa.Index("llm_answers_version_item", "prompt_version", "item_id"),
)
ANSWER_COLUMNS = ("item_id", "answer", "prompt_version", "model", "answered_at")  # also the DSS answers dataset's


class LlmAnswers:
    """The LLM answers recorded in ``journal``'s database."""

    def __init__(self, journal: Journal):
        self.journal = journal
        with journal.writing() as conn:
            tables.create_all(conn)

    def record(self, item_id: str, answer: str | None, prompt_version: str, model: str,
               now: dt.datetime | None = None) -> None:
        """Append one answer (None when the model abstained)."""
        self.record_many([(item_id, answer)], prompt_version, model, now)

    def record_many(self, answers: Iterable, prompt_version: str, model: str,
                    now: dt.datetime | None = None) -> None:
        """Append ``(item_id, answer)`` pairs of one prompt version and model in one transaction."""
        at = now or utcnow()
        rows = [{"item_id": str(item), "answer": answer, "prompt_version": prompt_version,
                 "model": model, "answered_at": at} for item, answer in answers]
        if rows:
            with self.journal.writing() as conn:
                conn.execute(llm_answers.insert(), rows)

    def latest(self, prompt_version: str | None = None) -> dict:
        """``{item_id: answer or None}``: each item's latest answer, for ``prompt_version`` or,
        without one, whatever the version."""
        query = sa.select(llm_answers.c.item_id, llm_answers.c.answer).order_by(llm_answers.c.id)
        if prompt_version is not None:
            query = query.where(llm_answers.c.prompt_version == prompt_version)
        with self.journal.reading() as conn:
            return {item: answer for item, answer in conn.execute(query)}

    def of(self, item_ids: list, prompt_version: str) -> dict:
        """``{item_id: answer or None}``: the latest answer of each of ``item_ids`` for ``prompt_version``."""
        query = (sa.select(llm_answers.c.item_id, llm_answers.c.answer).order_by(llm_answers.c.id)
                 .where(llm_answers.c.prompt_version == prompt_version, llm_answers.c.item_id.in_([str(i) for i in item_ids])))
        with self.journal.reading() as conn:
            return {item: answer for item, answer in conn.execute(query)}

    def count(self, prompt_version: str) -> int:
        """How many items have an answer for ``prompt_version`` (an index read, for ``/stats``)."""
        query = (sa.select(sa.func.count(sa.distinct(llm_answers.c.item_id)))
                 .where(llm_answers.c.prompt_version == prompt_version))
        with self.journal.reading() as conn:
            return int(conn.execute(query).scalar())

    def frame(self) -> pd.DataFrame:
        """Every answer recorded, oldest first: item_id, answer, prompt_version, model, answered_at."""
        query = sa.select(*[c for c in llm_answers.c if c.name != "id"]).order_by(llm_answers.c.id)
        with self.journal.reading() as conn:
            return pd.DataFrame(conn.execute(query).fetchall(), columns=[c.name for c in query.selected_columns])


def last_voter(answers: pd.DataFrame) -> tuple:
    """``(model, {item_id: answer or None})`` of the model and prompt version that answered last in
    ``answers`` (``LlmAnswers.frame()``): another prompt is another voter, measured afresh; a later
    answer of an item replaces an earlier one. ``(None, {})`` when the LLM has not answered yet."""
    if answers.empty:
        return None, {}
    last = answers.iloc[-1]
    mine = answers[(answers["model"] == last["model"]) & (answers["prompt_version"] == last["prompt_version"])]
    return str(last["model"]), dict(zip(mine["item_id"], mine["answer"]))
