"""A skipped item comes back after a cool-down of sessions; skipped twice by everyone, never."""
from __future__ import annotations

import pandas as pd
import pytest
from test_webapp_api import as_user, make_client

import labelloop.labeling.project_state as project_state
from labelloop.learning.query_sampler import answered_in_metadata
from labelloop.platform.local import LocalPlatform
from labelloop.store.journal import Annotation, Journal
from labelloop.store.skips import COOLDOWN_SESSIONS, held_back


def test_the_rule_by_itself():
    assert not held_back([], 0)
    assert held_back([(2, 1)], 2) and held_back([(2, 1)], 4) and not held_back([(2, 1)], 5)
    assert held_back([(0, 2)], 50)  # the only annotator skipped it twice: given up
    assert not held_back([(0, 2), (1, 1)], 4)  # someone has skipped it once only: it returns
    assert COOLDOWN_SESSIONS == 3


@pytest.fixture
def api(tmp_path, monkeypatch):
    monkeypatch.setattr(project_state, "SESSION_CHECK_SECONDS", 0)
    client, service = make_client(tmp_path, pd.DataFrame({"n": range(4), "x": [0.1, 0.2, 0.3, 0.4]}), queries="queries")
    yield client, service
    service.journal.close()


def new_session(service, session: int) -> None:
    """What a sampler run does: write the session's queries (none here), then move the session."""
    service.platform.write_dataset("queries", pd.DataFrame({"n": [0], "item_id": ["0"], "uncertainty": [0.5],
                                                            "strategy": ["margin"], "session": session,
                                                            "model_version": "v1"}))
    service.platform.update_variables(lambda v: v.update(LABELLOOP__queries__session=session))


def served(client, user="alice") -> set:
    return {i["id"] for i in client.get("/batch?size=10", headers=as_user(user)).get_json()["items"]}


def test_a_skip_waits_three_sessions_then_comes_back_and_two_skips_retire_it(api):
    client, service = api
    assert "2" in served(client)
    client.post("/skip", json={"id": "2"})
    client.post("/label", json={"id": "3", "label": "cat"})
    for session in (1, 2):
        new_session(service, session)
        assert served(client) == {"0", "1"}  # the skip cools down; the label is for good
    new_session(service, 3)
    assert served(client) == {"0", "1", "2"}
    client.post("/skip", json={"id": "2"})  # skipped a second time by its only annotator
    for session in (4, 7, 10):
        new_session(service, session)
        assert "2" not in served(client)


def test_a_new_server_counts_the_skips_already_in_the_journal(tmp_path, monkeypatch):
    monkeypatch.setattr(project_state, "SESSION_CHECK_SECONDS", 0)
    journal = Journal(f"sqlite:///{tmp_path / 'journal.sqlite'}")
    for session in (0, 3):
        journal.record(Annotation(item_id="2", annotator="alice", status="SKIPPED", session=session))
    journal.close()
    client, service = make_client(tmp_path, pd.DataFrame({"n": range(4), "x": [0.1, 0.2, 0.3, 0.4]}), queries="queries")
    new_session(service, 20)
    assert served(client) == {"0", "1", "3"}
    service.journal.close()


def test_the_sampler_ranks_a_cooled_skip_again_from_the_journal_and_from_dss_metadata(tmp_path):
    journal = Journal(f"sqlite:///{tmp_path / 'journal.sqlite'}")
    journal.record(Annotation(item_id="a", annotator="ada", status="SKIPPED", session=1))
    journal.record(Annotation(item_id="b", annotator="ada", status="SKIPPED", session=3))
    journal.record(Annotation(item_id="c", annotator="ada", status="LABELED", label="cat", session=0))
    assert journal.unavailable_items(4) == {"b", "c"}
    assert journal.unavailable_items(6) == {"c"}
    journal.close()
    platform = LocalPlatform(tmp_path)
    platform.write_dataset("meta", pd.DataFrame({"data_id": ["a", "b", "c"], "annotator": "ada",
                                                 "status": ["SKIPPED", "SKIPPED", "LABELED"], "session": [1, 3, 0]}))
    platform.update_variables(lambda v: v.update(LABELLOOP__queries__session=3))  # the recipe writes session 4
    assert answered_in_metadata(platform, "meta", "queries") == {"b", "c"}
