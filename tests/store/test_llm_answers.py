"""The LLM's answers in the journal's database, against SQLite and against the PostgreSQL server."""
from __future__ import annotations

import pytest

from labelloop.store.journal import Journal
from labelloop.store.llm_answers import LlmAnswers


@pytest.fixture
def journal(journal_url):
    journal = Journal(journal_url)
    yield journal
    journal.close()


def test_the_latest_answer_per_item_is_read_per_prompt_version_or_across_them(journal):
    answers = LlmAnswers(journal)
    answers.record("a", "cat", "v1", "tiny")
    answers.record_many([("b", None), ("c", "dog")], "v1", "tiny")
    answers.record("a", "dog", "v2", "tiny")
    assert answers.latest("v1") == {"a": "cat", "b": None, "c": "dog"}
    assert answers.latest("v2") == {"a": "dog"}
    assert answers.latest() == {"a": "dog", "b": None, "c": "dog"}
    assert answers.latest("v3") == {}
    assert (answers.count("v1"), answers.count("v2"), answers.count("v3")) == (3, 1, 0)


def test_answers_survive_reopening_and_keep_their_model_and_date(journal):
    LlmAnswers(journal).record("x", None, "v1", "small-model")
    again = LlmAnswers(Journal(journal.url))
    frame = again.frame()
    assert list(frame.columns) == ["item_id", "answer", "prompt_version", "model", "answered_at"]
    assert frame.iloc[0][["item_id", "prompt_version", "model"]].tolist() == ["x", "v1", "small-model"]
    assert frame.iloc[0]["answer"] is None
    again.journal.close()
