"""Label many at once (DESIGN.md section 13): ``POST /label/bulk``, ``POST /label/bulk/undo`` and
``GET /groups`` through the complete app's test client, as the page and API clients call them."""
from __future__ import annotations

import pandas as pd
import pytest

from labelloop.labeling.app import create_app, webapp_of
from labelloop.standalone.names import key_digest
from labelloop.standalone.project import Project, init_project
from labelloop.standalone.server import ServeOptions, serve_settings
from labelloop.store.materialize import journal_labels, metadata_frame
from labelloop.store.name_keys import NameKeys

TOKEN = "bulk-token-0123456789"
CATEGORIES = [{"key": k} for k in "abc"]


def headers(user: str) -> dict:
    return {"Authorization": f"Bearer {TOKEN}", "X-Labelloop-User": user,
            "X-Labelloop-Key": f"{user}-browser-key-0123456789"}


def open_app(root, data, journal=None):
    if not (root / "labelloop.json").exists():
        init_project(root, data, "tabular", CATEGORIES, id_column="wine_id", journal=journal)
    project = Project.open(root)
    NameKeys(project.journal).issue("rev", key_digest(headers("rev")["X-Labelloop-Key"]))  # as labelloop names --issue
    app = create_app(serve_settings(project, ServeOptions(auth_token=TOKEN, reviewers=["rev"])))
    return project, app


@pytest.fixture
def served(tmp_path, wine_csv):
    project, app = open_app(tmp_path / "proj", wine_csv)
    yield project, app.test_client()
    webapp_of(app).stop()
    project.close()


def leased(client, user: str, size: int) -> list:
    """The ids of a batch leased to ``user``, as the page gets them (a batch holds at most 100)."""
    return [item["id"] for item in client.get(f"/batch?size={size}", headers=headers(user)).get_json()["items"]]


def journal_state(journal) -> tuple:
    return journal.event_count(), journal.current_frame()[["item_id", "annotator", "status", "label", "id"]].values.tolist()


def test_a_group_is_recorded_in_one_request_each_item_an_answer_with_the_group(served):
    project, client = served
    ids = leased(client, "ada", 12)
    response = client.post("/label/bulk", json={"ids": ids[:10], "label": "b", "comment": "same winery"},
                           headers=headers("ada"))
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["recorded"] == 10 and answer["stats"]["labeled"] == 10 and answer["stats"]["perLabel"] == {"b": 10}
    meta = metadata_frame(project.journal.current_frame())
    assert sorted(meta["data_id"]) == sorted(ids[:10])
    assert set(meta["group"]) == {answer["group"]} and set(meta["group_size"]) == {10}
    assert set(meta["annotator"]) == {"ada"} and set(meta["comment"]) == {"same winery"}
    assert set(meta["strategy"]) == {"group"} and not meta["audited"].any()  # never the random or the audit slice
    client.post("/label", json={"id": ids[10], "label": "c"}, headers=headers("ada"))  # a single answer beside it
    labels = journal_labels(project.journal, project.source).set_index("item_id")
    assert labels.loc[ids[0], "group"] == answer["group"] and pd.isna(labels.loc[ids[10], "group"])
    listed = client.get("/groups", headers=headers("ada")).get_json()["groups"]
    assert [(g["group"], g["size"], g["label"], g["annotator"], g["undone"]) for g in listed] == [
        (answer["group"], 10, "b", "ada", False)]


def test_a_group_answers_in_the_queue_tally_and_review_like_single_answers(served):
    project, client = served
    ids = leased(client, "ada", 5)
    client.post("/label/bulk", json={"ids": ids, "label": "a"}, headers=headers("ada"))
    served_next = [item["id"] for item in client.get("/batch?size=100", headers=headers("bob")).get_json()["items"]]
    assert not set(ids) & set(served_next)  # labeled: the queue moves on
    assert set(ids) <= project.journal.unavailable_items(0)  # and the sampler leaves them out
    assert client.post("/label", json={"id": ids[0], "label": "c"}, headers=headers("bob")).status_code == 200
    review = client.get("/review", headers=headers("rev")).get_json()  # bob disagrees with the group's answer
    assert [(i["id"], sorted((a["annotator"], a["label"]) for a in i["answers"])) for i in review["items"]] == [
        (ids[0], [("ada", "a"), ("bob", "c")])]


@pytest.mark.parametrize("body, status, words", [
    ({"ids": ["1000"] * 2, "label": "a"}, 400, "more than once"),
    ({"ids": ["no such item"], "label": "a"}, 400, "not items of this project"),
    ({"ids": [str(i) for i in range(10_000)], "label": "a"}, 400, "1 to 500"),
    ({"ids": [], "label": "a"}, 400, "1 to 500"),
    ({"ids": "1000", "label": "a"}, 400, "1 to 500"),
    ({"ids": [1000], "label": "a"}, 400, "1 to 500"),
    ({"label": "a"}, 400, "1 to 500"),
])
def test_a_refused_group_writes_nothing_and_says_why_in_one_sentence(served, body, status, words):
    project, client = served
    ids = leased(client, "ada", 3)
    before = journal_state(project.journal)
    response = client.post("/label/bulk", json=body, headers=headers("ada"))
    assert response.status_code == status and words in response.get_json()["error"]
    assert response.get_json()["error"].count(". ") == 0 and "Traceback" not in response.get_data(as_text=True)
    assert journal_state(project.journal) == before
    assert client.post("/label/bulk", json={"ids": ids, "label": "nope"}, headers=headers("ada")).status_code == 400
    assert journal_state(project.journal) == before


def test_items_not_leased_to_the_annotator_refuse_the_whole_group_with_409(served):
    project, client = served
    mine = leased(client, "ada", 3)
    theirs = leased(client, "bob", 2)
    unleased = next(i for i in project.source.ids if i not in mine + theirs)
    before = journal_state(project.journal)
    for ids in ([*mine, theirs[0]], [*mine, unleased]):
        response = client.post("/label/bulk", json={"ids": ids, "label": "a"}, headers=headers("ada"))
        assert response.status_code == 409
        assert response.get_json()["error"].startswith("1 of these items is not leased to you")
    assert journal_state(project.journal) == before
    assert client.post("/label/bulk", json={"ids": mine, "label": "a"}, headers=headers("ada")).status_code == 200


def test_an_undo_appends_events_and_the_items_are_unanswered_and_served_again(served):
    project, client = served
    ids = leased(client, "ada", 6)
    group = client.post("/label/bulk", json={"ids": ids, "label": "b"}, headers=headers("ada")).get_json()["group"]
    client.post("/label", json={"id": ids[0], "label": "c"}, headers=headers("ada"))  # changed since, by hand: kept
    assert not set(leased(client, "bob", 5)) & set(ids)  # the queue's cursors move past the group
    events = project.journal.event_count()
    assert client.post("/label/bulk/undo", json={"group": group}, headers=headers("bob")).status_code == 403
    response = client.post("/label/bulk/undo", json={"group": group}, headers=headers("ada"))
    assert response.status_code == 200 and response.get_json()["withdrawn"] == 5
    assert response.get_json()["stats"]["labeled"] == 1 and response.get_json()["stats"]["perLabel"] == {"c": 1}
    assert project.journal.event_count() == events + 6  # one undo event and a withdrawal per answer: nothing deleted
    assert metadata_frame(project.journal.current_frame())["data_id"].tolist() == [ids[0]]
    assert [e["item_id"] for e in project.journal.history("ada")] == [ids[0]]
    assert next(n for n in NameKeys(project.journal).names() if n["name"] == "ada")["answers"] == 1  # labelloop names
    again = leased(client, "ada", 5)
    assert sorted(again) == sorted(ids[1:])  # back in the queue, in their places
    refused = client.post("/label/bulk/undo", json={"group": group}, headers=headers("ada"))
    assert refused.status_code == 400 and refused.get_json()["error"] == "This group was undone already."
    assert client.post("/label/bulk/undo", json={"group": "g999999"}, headers=headers("ada")).status_code == 404
    listed = client.get("/groups", headers=headers("ada")).get_json()["groups"]
    assert listed[0]["undone"] is True and listed[0]["undoneBy"] == "ada"


def test_reviewers_list_every_group_and_undo_any_annotators_own_only(served):
    project, client = served
    groups = {}
    for user in ("ada", "bob"):
        ids = leased(client, user, 3)
        groups[user] = client.post("/label/bulk", json={"ids": ids, "label": "a"}, headers=headers(user)).get_json()["group"]
    assert [g["annotator"] for g in client.get("/groups", headers=headers("ada")).get_json()["groups"]] == ["ada"]
    assert [g["annotator"] for g in client.get("/groups", headers=headers("rev")).get_json()["groups"]] == ["bob", "ada"]
    response = client.post("/label/bulk/undo", json={"group": groups["bob"]}, headers=headers("rev"))
    assert response.status_code == 200 and response.get_json()["stats"]["labeled"] == 3
    assert client.get("/groups", headers=headers("bob")).get_json()["groups"][0]["undoneBy"] == "rev"


def test_groups_stay_out_of_the_suggestion_pull(served):
    project, client = served
    ids = leased(client, "ada", 4)
    client.post("/label/bulk", json={"ids": ids, "label": "a"}, headers=headers("ada"))
    pull = client.get("/stats", headers=headers("ada")).get_json()["suggestionPull"]
    assert pull["withSuggestion"]["items"] == 0 and pull["audited"]["items"] == 0


def test_a_journal_rebuilt_from_the_datasets_keeps_the_groups(tmp_path, wine_csv):
    project, app = open_app(tmp_path / "proj", wine_csv)
    client = app.test_client()
    ids = leased(client, "ada", 7)
    kept = client.post("/label/bulk", json={"ids": ids[:4], "label": "b"}, headers=headers("ada")).get_json()["group"]
    undone = client.post("/label/bulk", json={"ids": ids[4:], "label": "c"}, headers=headers("ada")).get_json()["group"]
    client.post("/label/bulk/undo", json={"group": undone}, headers=headers("ada"))
    webapp_of(app).stop()  # the datasets are written
    project.close()
    (tmp_path / "proj" / "journal.sqlite").unlink()
    project, app = open_app(tmp_path / "proj", wine_csv)  # the journal comes back from the datasets
    client = app.test_client()
    try:
        meta = metadata_frame(project.journal.current_frame())
        assert sorted(meta["data_id"]) == sorted(ids[:4]) and set(meta["group"]) == {kept}
        assert set(meta["group_size"]) == {4}
        # the browser keys were in the lost journal: the reviewer's issued key is issued again by open_app
        listed = client.get("/groups", headers=headers("rev")).get_json()["groups"]
        assert [(g["group"], g["size"], g["annotator"]) for g in listed] == [(kept, 4, "ada")]  # the undone one: no answers left
        assert client.post("/label/bulk/undo", json={"group": kept}, headers=headers("rev")).get_json()["withdrawn"] == 4
    finally:
        webapp_of(app).stop()
        project.close()


def test_a_group_and_its_undo_on_a_postgresql_journal(tmp_path, wine_csv, postgres_url):
    project, app = open_app(tmp_path / "proj", wine_csv, journal=postgres_url)
    client = app.test_client()
    try:
        ids = leased(client, "ada", 100)
        theirs = leased(client, "bob", 1)
        before = journal_state(project.journal)
        refused = client.post("/label/bulk", json={"ids": [*ids, *theirs], "label": "a"}, headers=headers("ada"))
        assert refused.status_code == 409 and journal_state(project.journal) == before  # and ada keeps her leases:
        answer = client.post("/label/bulk", json={"ids": ids, "label": "a"}, headers=headers("ada")).get_json()
        assert answer["recorded"] == 100 and answer["stats"]["labeled"] == 100
        client.post("/label", json={"id": leased(client, "ada", 1)[0], "label": "b"}, headers=headers("ada"))
        undone = client.post("/label/bulk/undo", json={"group": answer["group"]}, headers=headers("ada")).get_json()
        assert undone["withdrawn"] == 100 and undone["stats"]["labeled"] == 1
        assert len(leased(client, "ada", 100)) == 100
    finally:
        webapp_of(app).stop()
        project.close()
