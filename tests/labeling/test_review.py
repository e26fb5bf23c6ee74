"""Review through the HTTP API: who may review, what waits for review, and what a decision changes."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from test_webapp_api import as_user, make_client, no_traceback

from labelloop.platform.local import LocalPlatform
from labelloop.store.materialize import Materializer, Outputs


@pytest.fixture
def team(tmp_path):
    client, service = make_client(tmp_path, reviewers=["rev"])
    yield client, service
    service.journal.close()


def label(client, item, value, user, comment=None):
    body = {"id": item, "label": value, **({"comment": comment} if comment else {})}
    response = client.post("/label", json=body, headers=as_user(user))
    assert response.status_code == 200, response.get_json()


def test_a_reviewer_sees_the_disagreements_with_every_answer_and_settles_them(team, tmp_path):
    client, service = team
    label(client, "1", "cat", "ada", comment="pointy ears")
    label(client, "1", "dog", "bob")
    label(client, "2", "cat", "ada")
    label(client, "2", "cat", "bob")  # they agree: nothing to review
    label(client, "3", "bird", "ada")
    assert client.get("/config", headers=as_user("rev")).get_json()["reviewer"] is True
    assert client.get("/config", headers=as_user("ada")).get_json()["reviewer"] is False

    waiting = client.get("/review", headers=as_user("rev")).get_json()
    assert waiting["remaining"] == 1 and [i["id"] for i in waiting["items"]] == ["1"]
    item = waiting["items"][0]
    assert item["reason"] == "disagreement" and item["data"]["n"] == 1
    assert [(a["annotator"], a["label"], a["comment"]) for a in item["answers"]] == [("ada", "cat", "pointy ears"),
                                                                                      ("bob", "dog", None)]
    assert all(a["date"].endswith("Z") and a["status"] == "LABELED" for a in item["answers"])

    decided = client.post("/review", json={"id": "1", "label": "dog"}, headers=as_user("rev")).get_json()
    assert decided["remaining"] == 0 and isinstance(decided["labelId"], int)
    assert client.get("/review", headers=as_user("rev")).get_json() == {"items": [], "remaining": 0}
    label(client, "1", "cat", "eve")  # a later answer does not reopen a settled item
    assert client.get("/review", headers=as_user("rev")).get_json()["remaining"] == 0

    platform = LocalPlatform(tmp_path)
    Materializer(platform, service.journal, service.source, Outputs()).write()
    labels = platform.read_dataset("labels").set_index("item_id")
    assert labels.loc["1", ["label", "reviewed", "annotators"]].tolist() == ["dog", True, 3]
    assert labels.loc["2", ["label", "reviewed", "agreement"]].tolist() == ["cat", False, 1.0]
    assert len(platform.read_dataset("metadata")) == 6  # every answer kept; the review is not an answer


def test_non_reviewers_get_403_and_nothing_is_written(team):
    client, service = team
    label(client, "1", "cat", "ada")
    label(client, "1", "dog", "bob")
    before = service.journal.event_count()
    for response in (client.get("/review", headers=as_user("ada")),
                     client.post("/review", json={"id": "1", "label": "cat"}, headers=as_user("ada"))):
        assert response.status_code == 403
        assert no_traceback(response).get_json() == {"error": "Only the project's reviewers can review labels."}
    assert service.journal.event_count() == before and service.journal.reviews_frame().empty


@pytest.mark.parametrize("body, status, message", [
    ({"id": "1", "label": "zebra"}, 400, "label must be one of the categories"),
    ({"id": "999", "label": "cat"}, 404, "Unknown item id"),
    ({"id": 1, "label": "cat"}, 400, "id must be a non-empty string"),
    ({"id": "5", "label": "cat"}, 400, "Only labeled items can be reviewed"),
    ({"id": "1", "label": "cat", "comment": 7}, 400, "comment must be text"),
    (["1", "cat"], 400, "must be a JSON object"),
])
def test_a_bad_decision_gets_one_sentence_and_writes_nothing(team, body, status, message):
    client, service = team
    label(client, "1", "cat", "ada")
    before = service.journal.event_count()
    response = no_traceback(client.post("/review", json=body, headers=as_user("rev")))
    assert response.status_code == status and message in response.get_json()["error"]
    assert service.journal.event_count() == before and service.journal.reviews_frame().empty


def test_bad_sizes_are_refused(team):
    client, _ = team
    for size in ("0", "abc", "101", "²"):
        response = client.get(f"/review?size={size}", headers=as_user("rev"))
        assert response.status_code == 400 and "size must be a whole number" in response.get_json()["error"]


def test_suspected_errors_follow_the_disagreements_with_the_models_guess(tmp_path):
    found = [{"item_id": "4", "label": "cat", "suggested": "dog", "score": 0.9},
             {"item_id": "1", "label": "cat", "suggested": "bird", "score": 0.8},  # a disagreement already
             {"item_id": "gone", "label": "cat", "suggested": "dog", "score": 0.7}]  # no longer in the data
    client, service = make_client(tmp_path, reviewers=["rev"], suspects=lambda: found)
    label(client, "1", "cat", "ada")
    label(client, "1", "dog", "bob")
    label(client, "4", "cat", "ada")
    waiting = client.get("/review", headers=as_user("rev")).get_json()
    assert [(i["id"], i["reason"]) for i in waiting["items"]] == [("1", "disagreement"), ("4", "suspect")]
    assert waiting["items"][1]["suggestion"] == {"label": "dog", "score": 0.9, "source": "cross-validation"}
    assert [a["annotator"] for a in waiting["items"][1]["answers"]] == ["ada"]
    client.post("/review", json={"id": "4", "label": "cat"}, headers=as_user("rev"))  # the label was right
    assert [i["id"] for i in client.get("/review", headers=as_user("rev")).get_json()["items"]] == ["1"]
    service.journal.close()


def test_multi_label_answers_and_decisions_are_lists(tmp_path):
    client, service = make_client(tmp_path, reviewers=["rev"], multi_label=True)
    client.post("/label", json={"id": "1", "label": ["cat"]}, headers=as_user("ada"))
    client.post("/label", json={"id": "1", "label": ["cat", "dog"]}, headers=as_user("bob"))
    item = client.get("/review", headers=as_user("rev")).get_json()["items"][0]
    assert [a["label"] for a in item["answers"]] == [["cat"], ["cat", "dog"]]
    assert client.post("/review", json={"id": "1", "label": ["dog", "cat"]}, headers=as_user("rev")).status_code == 200
    assert json.loads(service.journal.reviews_frame()["label"].item()) == ["cat", "dog"]
    service.journal.close()


def test_without_a_reviewer_list_the_one_user_of_a_server_may_review(tmp_path):
    client, service = make_client(tmp_path)  # reviewers None: a one-person server
    label(client, "1", "cat", "alice")
    label(client, "1", "dog", "bob")
    assert client.get("/review").get_json()["remaining"] == 1
    service.journal.close()


def test_overlap_items_go_to_several_annotators_never_twice_to_one(tmp_path):
    frame = pd.DataFrame({"n": range(200), "x": range(200)})
    client, service = make_client(tmp_path, frame, overlap_share=0.25, overlap_annotators=3, seed=4)
    needed = {str(n): service.config.overlap.needed(str(n)) for n in range(200)}
    assert 0.15 < sum(v == 3 for v in needed.values()) / 200 < 0.35 and set(needed.values()) == {1, 3}
    served = {name: [] for name in ("ada", "bob", "eve")}
    while True:
        progress = False
        for name, mine in served.items():
            batch = client.get("/batch?size=7", headers=as_user(name)).get_json()
            for item in batch["items"]:
                label(client, item["id"], "cat", name)
                mine.append(item["id"])
                progress = True
        if not progress:
            break
    assert batch["done"] is True
    for name, mine in served.items():
        assert len(mine) == len(set(mine)), f"{name} got an item twice"
    answers = pd.Series([i for mine in served.values() for i in mine]).value_counts()
    assert answers.to_dict() == needed  # each item has exactly the answers it needs
    service.journal.close()
