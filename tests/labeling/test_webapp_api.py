"""The labeling HTTP API through Flask's test client: every route and every error."""
from __future__ import annotations

import json
import threading
import time

import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

import labelloop.labeling.project_state as project_state
from labelloop.labeling.app import Settings, create_app, webapp_of
from labelloop.labeling.service import LabelingConfig
from labelloop.labeling.tally import Tally
from labelloop.platform.local import LocalPlatform
from labelloop.store.items import TableSource
from labelloop.store.journal import Journal
from labelloop.store.materialize import metadata_frame
from labelloop.store.metrics import metrics_variable

CATEGORIES = [{"key": "cat", "caption": "Cat"}, {"key": "dog", "caption": "Dog"}, {"key": "bird", "caption": "Bird"}]


def make_client(tmp_path, frame=None, suspects=None, **config):
    """The webapp's API over ``frame`` with no datasets written; the annotator is named in ``X-User``."""
    frame = frame if frame is not None else pd.DataFrame({"n": range(30), "x": [i / 10 for i in range(30)],
                                                          "note": ["<img src=x onerror=alert(1)>"] + ["ok"] * 29})
    platform = LocalPlatform(tmp_path)
    journal = Journal(f"sqlite:///{tmp_path / 'journal.sqlite'}")
    options = {"type": "tabular", "categories": CATEGORIES, **config}
    app = create_app(Settings(platform, journal, TableSource(frame, id_column="n"), LabelingConfig(**options),
                              identify=lambda request: request.headers.get("X-User", "alice"), suspects=suspects))
    return app.test_client(), webapp_of(app).service


@pytest.fixture
def api(tmp_path):
    client, service = make_client(tmp_path)
    yield client, service
    service.journal.close()


def as_user(user):
    return {"X-User": user}


def no_traceback(response):
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and 'File "' not in text
    return response


def test_an_unknown_route_or_method_is_one_sentence(api):
    client, _ = api
    missing = no_traceback(client.get("/nowhere", headers={"X-Requested-With": "labelloop"}))
    assert missing.status_code == 404 and missing.get_json() == {"error": "Not Found: GET /nowhere."}
    wrong = no_traceback(client.put("/stats", json={}))
    assert wrong.status_code == 405 and wrong.get_json() == {"error": "Method Not Allowed: PUT /stats."}


def test_config_describes_categories_with_shortcuts(api):
    client, _ = api
    config = client.get("/config").get_json()
    assert config["categories"][0] == {"key": "cat", "caption": "Cat", "shortcut": "1"}
    assert (config["type"], config["multiLabel"], config["alEnabled"], config["session"], config["user"]) == (
        "tabular", False, False, 0, "alice")


def test_sixty_categories_get_digits_then_letters_then_no_shortcut(tmp_path):
    categories = [{"key": f"c{i}", "caption": f"C{i}"} for i in range(60)]
    client, service = make_client(tmp_path, categories=categories)
    shortcuts = [c["shortcut"] for c in client.get("/config").get_json()["categories"]]
    assert shortcuts[:10] == list("123456789a") and shortcuts[34] == "z" and shortcuts[35:] == [None] * 25
    service.journal.close()


def test_batches_are_leased_so_two_annotators_never_get_the_same_item(api):
    client, _ = api
    first = client.get("/batch?size=5", headers=as_user("alice")).get_json()
    second = client.get("/batch?size=5", headers=as_user("bob")).get_json()
    alice = [i["id"] for i in first["items"]]
    bob = [i["id"] for i in second["items"]]
    assert len(alice) == 5 and len(bob) == 5 and not set(alice) & set(bob)
    assert client.get("/batch?size=5", headers=as_user("alice")).get_json()["items"][0]["id"] == alice[0]
    assert first["stats"]["total"] == 30 and first["done"] is False
    item = first["items"][0]
    assert set(item) == {"id", "data", "query", "suggestion"} and item["query"] is None
    assert set(item["data"]) == {"n", "x", "note"}
    response = client.post("/label", json={"id": bob[0], "label": "cat"}, headers=as_user("alice"))
    assert no_traceback(response).status_code == 409 and "another annotator" in response.get_json()["error"]


def test_a_label_is_recorded_and_counted(api):
    client, service = api
    item = client.get("/batch?size=1").get_json()["items"][0]["id"]
    answer = client.post("/label", json={"id": item, "label": "dog", "comment": "sure", "durationMs": 1500}).get_json()
    assert answer["stats"]["labeled"] == 1 and answer["stats"]["perLabel"] == {"dog": 1}
    meta = metadata_frame(service.journal.current_frame())
    assert meta[["data_id", "label", "comment", "duration_ms", "annotator"]].values.tolist() == [
        [item, "dog", "sure", 1500, "alice"]]
    assert meta["label_id"].tolist() == [answer["labelId"]]
    skip = client.post("/skip", json={"id": "7"}).get_json()
    assert skip["stats"]["skipped"] == 1 and skip["labelId"] > answer["labelId"]


@pytest.mark.parametrize("path, payload, status, message", [
    ("/label", b"{not json", 400, "JSON object"),
    ("/label", b"[1, 2]", 400, "JSON object"),
    ("/label", {"label": "cat"}, 400, "id must be"),
    ("/label", {"id": 3, "label": "cat"}, 400, "id must be"),
    ("/label", {"id": "nope", "label": "cat"}, 404, "Unknown item"),
    ("/label", {"id": "1", "label": "horse"}, 400, "one of the categories"),
    ("/label", {"id": "1", "label": ["cat"]}, 400, "one of the categories"),
    ("/label", {"id": "1", "label": "cat", "comment": "x" * 1_000_000}, 400, "comment"),
    ("/label", {"id": "1", "label": "cat", "comment": "x" * 2_000_000}, 413, "larger than 1,024 KB"),
    ("/label", {"id": "1", "label": "cat", "comment": 5}, 400, "comment"),
    ("/label", {"id": "1", "label": "cat", "durationMs": -1}, 400, "durationMs"),
    ("/label", {"id": "1", "label": "cat", "durationMs": True}, 400, "durationMs"),
    ("/skip", {}, 400, "id must be"),
    ("/skip", {"id": "../../etc/passwd"}, 404, "Unknown item"),
])
def test_bad_requests_get_one_readable_sentence_and_change_nothing(api, path, payload, status, message):
    client, service = api
    if isinstance(payload, bytes):
        response = client.post(path, data=payload, content_type="application/json")
    else:
        response = client.post(path, json=payload)
    assert no_traceback(response).status_code == status
    assert message in response.get_json()["error"]
    assert service.journal.events_frame(["label", "skip"]).empty


@pytest.mark.parametrize("query", ["size=0", "size=101", "size=x", "size=-3", "size=2.5"])
def test_batch_sizes_are_checked(api, query):
    client, _ = api
    response = client.get(f"/batch?{query}")
    assert no_traceback(response).status_code == 400 and "size" in response.get_json()["error"]


def test_history_walks_the_annotator_s_own_answers_and_both_ends(api):
    client, _ = api
    assert client.get("/history?direction=last").status_code == 404
    items = [i["id"] for i in client.get("/batch?size=3").get_json()["items"]]
    ids = [client.post("/label", json={"id": i, "label": "cat"}).get_json()["labelId"] for i in items[:2]]
    ids.append(client.post("/skip", json={"id": items[2], "comment": "hm"}).get_json()["labelId"])
    client.post("/label", json={"id": "29", "label": "bird"}, headers=as_user("bob"))
    last = client.get("/history?direction=back").get_json()
    assert last["item"]["id"] == items[2] and last["annotation"] == {"label": None, "comment": "hm", "status": "SKIPPED"}
    assert (last["position"], last["isFirst"], last["isLast"], last["labelId"]) == (3, False, True, ids[2])
    previous = client.get(f"/history?direction=back&cursor={ids[2]}").get_json()
    assert previous["item"]["id"] == items[1] and previous["annotation"]["label"] == "cat"
    first = client.get("/history?direction=first").get_json()
    assert first["isFirst"] and first["labelId"] == ids[0] and set(first["item"]["data"]) == {"n", "x", "note"}
    assert client.get(f"/history?direction=next&cursor={ids[0]}").get_json()["labelId"] == ids[1]
    for query, status in [(f"direction=back&cursor={ids[0]}", 404), (f"direction=next&cursor={ids[2]}", 404),
                          ("direction=next", 404), ("direction=sideways", 400), ("direction=back&cursor=abc", 400),
                          ("direction=back&cursor=999999", 404)]:
        assert no_traceback(client.get(f"/history?{query}")).status_code == status, query
    relabel = client.post("/label", json={"id": items[0], "label": "dog"}).get_json()
    assert relabel["stats"]["perLabel"] == {"cat": 1, "dog": 1, "bird": 1}
    first = client.get("/history?direction=first").get_json()
    assert first["item"]["id"] == items[0] and first["annotation"]["label"] == "dog"  # keeps its place


def test_queries_are_served_first_with_their_reason_and_new_ones_are_picked_up(api, monkeypatch):
    client, service = api
    monkeypatch.setattr(project_state, "SESSION_CHECK_SECONDS", 0)
    service.config.queries = "queries"
    platform = service.platform
    platform.write_dataset("queries", pd.DataFrame({"n": [4, 9], "item_id": ["4", "9"], "uncertainty": [0.2, 0.8],
                                                    "strategy": ["margin", "margin"], "session": 1,
                                                    "model_version": "v0001"}))
    platform.update_variables(lambda v: v.update(LABELLOOP__queries__session=1))
    # a background thread (the online model's) may be reading the project when /batch asks, and then
    # /batch goes on with what was read before (project_state.py): wait for a read of the new session
    service.project.current(read_since=time.monotonic())
    batch = client.get("/batch?size=3").get_json()
    assert [i["id"] for i in batch["items"]][:2] == ["9", "4"]
    assert batch["items"][0]["query"] == {"strategy": "margin", "uncertainty": 0.8, "rank": 1, "session": 1,
                                          "modelVersion": "v0001"}
    client.post("/label", json={"id": "9", "label": "cat"})
    meta = metadata_frame(service.journal.current_frame())
    assert meta[["strategy", "uncertainty", "query_rank", "model_version", "session"]].values.tolist() == [
        ["margin", 0.8, 1, "v0001", 1]]
    platform.write_dataset("queries", pd.DataFrame({"n": [20], "item_id": ["20"], "uncertainty": [0.99],
                                                    "strategy": ["entropy"], "session": 2, "model_version": "v0002"}))
    platform.update_variables(lambda v: v.update(LABELLOOP__queries__session=2))
    service.project.current(read_since=time.monotonic())
    assert client.get("/batch?size=1", headers=as_user("carol")).get_json()["items"][0]["id"] == "20"
    assert client.get("/config").get_json()["session"] == 2


def test_after_a_retrain_one_request_loads_the_new_queries_while_the_others_go_on(api, monkeypatch):
    """32 annotators asking at once after a new session must not each load the queries again."""
    client, service = api
    service.config.queries = "queries"
    platform = service.platform
    platform.write_dataset("queries", pd.DataFrame({"item_id": [str(i) for i in range(30)], "uncertainty": 0.5,
                                                    "strategy": "margin", "session": 1, "model_version": "v0001"}))
    platform.update_variables(lambda v: v.update(LABELLOOP__queries__session=1))
    monkeypatch.setattr(project_state, "SESSION_CHECK_SECONDS", 0)
    reads, loading, release = [], threading.Event(), threading.Event()
    read = platform.read_dataset

    def slow_read(name, columns=None):
        reads.append(name)
        loading.set()
        release.wait(timeout=30)  # the refreshing request is still loading ...
        return read(name, columns)

    monkeypatch.setattr(platform, "read_dataset", slow_read)
    refreshing = threading.Thread(target=lambda: client.get("/stats"))
    refreshing.start()
    assert loading.wait(timeout=30)
    others = [client.get("/batch?size=1", headers=as_user(f"user{n}")) for n in range(8)]  # ... the others are served
    release.set()
    refreshing.join(timeout=30)
    assert [r.status_code for r in others] == [200] * 8 and reads == ["queries"]
    assert client.get("/config").get_json()["session"] == 1 and reads == ["queries"]


def test_multi_label_items_take_several_categories(tmp_path):
    client, service = make_client(tmp_path, multi_label=True)
    assert client.post("/label", json={"id": "1", "label": ["bird", "cat"]}).status_code == 200
    assert client.get("/history?direction=last").get_json()["annotation"]["label"] == ["cat", "bird"]
    for bad in (["cat", "horse"], [], "cat", [1]):
        assert client.post("/label", json={"id": "2", "label": bad}).status_code == 400
    assert json.loads(metadata_frame(service.journal.current_frame())["label"][0]) == ["cat", "bird"]
    service.journal.close()


def test_text_items_carry_their_text_and_a_model_gives_suggestions(tmp_path, monkeypatch):
    monkeypatch.setattr(project_state, "SESSION_CHECK_SECONDS", 0)  # notice the model trained below at once
    frame = pd.DataFrame({"n": range(6), "body": ["good day", "bad day", "great", "awful", "fine", "meh"],
                          "x": [1.0, -1.0, 2.0, -2.0, 0.5, -0.5]})
    client, service = make_client(tmp_path, frame=frame, type="text", text_column="body", model="classifier")
    model = make_pipeline(make_column_transformer(("passthrough", ["x"])), LogisticRegression())
    service.platform.registry("classifier").save(model.fit(frame, ["cat", "dog", "cat", "dog", "cat", "dog"]), {})
    item = client.get("/batch?size=6").get_json()["items"][0]
    assert item["data"]["text"] == item["data"]["body"] and set(item["data"]) == {"text", "n", "body", "x"}
    assert item["suggestion"] is None  # a version no one measured on labels it did not learn from suggests nothing
    assert "not been measured" in client.get("/stats").get_json()["suggestions"]["reason"]
    service.platform.update_variables(lambda v: v.update({metrics_variable("classifier"): {"v0001": {
        "version": "v0001", "labels": 6, "cvAccuracy": 0.9, "cvMajority": 0.5}}}))  # as the trainer measures it
    item = client.get("/batch?size=6").get_json()["items"][0]
    assert item["suggestion"]["label"] in ("cat", "dog")
    assert abs(sum(item["suggestion"]["probabilities"].values()) - 1) < 1e-9
    assert client.get("/stats").get_json()["modelVersions"] == ["v0001"]
    service.journal.close()


def test_done_only_when_nothing_is_left(tmp_path):
    client, service = make_client(tmp_path, frame=pd.DataFrame({"n": [1, 2]}))
    assert client.get("/batch?size=5", headers=as_user("bob")).get_json()["done"] is False
    client.post("/label", json={"id": "1", "label": "cat"}, headers=as_user("bob"))
    waiting = client.get("/batch?size=5").get_json()
    assert waiting["items"] == [] and waiting["done"] is False  # item 2 is leased to bob
    client.post("/skip", json={"id": "2"}, headers=as_user("bob"))
    assert client.get("/batch?size=5").get_json()["done"] is True
    stats = client.get("/stats").get_json()
    assert (stats["labeled"], stats["skipped"], stats["remaining"], stats["stopping"]) == (1, 1, 0, None)
    service.journal.close()


def test_unexpected_errors_and_unknown_routes_answer_json_without_traceback(api, monkeypatch):
    client, service = api
    monkeypatch.setattr(service.journal, "changes", lambda after=0: 1 / 0)
    response = no_traceback(client.get("/stats"))
    assert response.status_code == 500 and "logged" in response.get_json()["error"]
    assert "ZeroDivision" not in response.get_data(as_text=True)
    assert no_traceback(client.get("/nowhere")).status_code == 404
    assert no_traceback(client.delete("/label", json={})).status_code == 405  # JSON: past the protections


def test_relabeling_from_history_keeps_the_item_s_place(api):
    client, _ = api
    ids = [client.post("/label", json={"id": i, "label": "cat"}).get_json()["labelId"] for i in ("1", "2", "3")]
    second = client.get(f"/history?direction=back&cursor={ids[2]}").get_json()
    assert second["item"]["id"] == "2"
    relabeled = client.post("/label", json={"id": "2", "label": "dog"}).get_json()["labelId"]
    after = client.get(f"/history?direction=next&cursor={relabeled}").get_json()
    assert after["item"]["id"] == "3" and after["isLast"]
    again = client.get(f"/history?direction=back&cursor={after['labelId']}").get_json()
    assert again["annotation"]["label"] == "dog" and again["position"] == 2


def test_the_tally_kept_by_answers_agrees_with_one_read_from_the_journal(api):
    client, service = api
    moves = [("alice", "label", "1", "cat"), ("alice", "label", "2", "dog"), ("bob", "skip", "3", None),
             ("bob", "label", "1", "bird"), ("alice", "skip", "1", None), ("carol", "label", "3", "cat"),
             ("alice", "label", "2", "cat"), ("bob", "skip", "4", None), ("bob", "label", "4", "dog")]
    for user, kind, item, label in moves:
        body = {"id": item, "label": label} if kind == "label" else {"id": item}
        assert client.post(f"/{kind}", json=body, headers=as_user(user)).status_code == 200
        served = client.get("/stats").get_json()
        expected = Tally.of_journal(service.journal, multi_label=False).stats(total=30)
        assert {k: served[k] for k in expected} == expected
    # items 1-4 are labeled; the current answers are four labels (1 bob, 2 alice, 3 carol, 4 bob)
    # and two skips (alice on 1, bob on 3), so nothing counts as a skipped item
    assert (served["labeledItems"], served["skippedItems"], served["labelAnswers"], served["skipAnswers"]) == (4, 0, 4, 2)


@pytest.mark.parametrize("id_column", ["n", None])
def test_a_queries_dataset_with_only_input_columns_and_uncertainty_is_served(tmp_path, monkeypatch, id_column):
    """As the plugin we replace wrote it (or a person by hand): no item_id, session or strategy."""
    frame = pd.DataFrame({"n": range(30), "x": [i / 10 for i in range(30)]})
    platform = LocalPlatform(tmp_path)
    journal = Journal(f"sqlite:///{tmp_path / 'journal.sqlite'}")
    config = LabelingConfig(type="tabular", categories=CATEGORIES, queries="queries")
    app = create_app(Settings(platform, journal, TableSource(frame, id_column=id_column), config,
                              identify=lambda request: "alice"))
    service, client = webapp_of(app).service, app.test_client()
    monkeypatch.setattr(project_state, "SESSION_CHECK_SECONDS", 0)
    platform.write_dataset("queries", frame.iloc[[7, 3]].assign(uncertainty=[0.9, 0.4]))
    platform.update_variables(lambda v: v.update(LABELLOOP__queries__session=3))
    service.project.current(read_since=time.monotonic())  # as above: the online model's thread may hold the read
    items = client.get("/batch?size=3").get_json()["items"]
    expected = [service.source.ids[7], service.source.ids[3]]
    assert [i["id"] for i in items[:2]] == expected
    assert items[0]["query"] == {"strategy": "unknown", "uncertainty": 0.9, "rank": 1, "session": 3, "modelVersion": None}
    assert client.post("/label", json={"id": expected[0], "label": "cat"}).status_code == 200
    assert client.get("/stats").status_code == 200


def test_a_category_named_by_one_free_character_keeps_it_as_its_shortcut(tmp_path):
    digits = [{"key": str(d)} for d in range(10)]
    client, service = make_client(tmp_path, categories=digits)
    shortcuts = [c["shortcut"] for c in client.get("/config").get_json()["categories"]]
    assert shortcuts == [str(d) for d in range(10)]  # not "1".."9", "a" for categories 0..9
    service.journal.close()
    (tmp_path / "mixed").mkdir()
    client, service = make_client(tmp_path / "mixed", categories=[{"key": "cat"}, {"key": "1"}, {"key": "b"},
                                                                   {"key": "dog"}])
    shortcuts = [c["shortcut"] for c in client.get("/config").get_json()["categories"]]
    assert shortcuts == ["2", "1", "b", "3"]
    service.journal.close()


def test_an_image_category_named_0_leaves_0_to_the_view_which_fits_the_image(tmp_path):
    from labelloop.labeling.service import VIEW_KEYS, shortcuts

    assert shortcuts([str(d) for d in "1234567890"], VIEW_KEYS["image"]) == list("123456789a")


def test_released_leases_go_to_the_next_annotator_at_once_and_bad_lists_are_refused(api):
    client, _ = api
    alice = [i["id"] for i in client.get("/batch?size=30", headers=as_user("alice")).get_json()["items"]]
    assert client.get("/batch?size=5", headers=as_user("bob")).get_json()["items"] == []
    answer = client.post("/release", json={"ids": alice[:5] + ["not-leased"]}, headers=as_user("bob"))
    assert answer.get_json() == {"released": 0}  # only one's own leases are given back
    assert client.post("/release", json={"ids": alice[:5]}, headers=as_user("alice")).get_json() == {"released": 5}
    assert [i["id"] for i in client.get("/batch?size=5", headers=as_user("bob")).get_json()["items"]] == alice[:5]
    for payload in ({"ids": "1"}, {"ids": [1]}, {}, [], {"ids": ["x"] * 1000}):
        refused = no_traceback(client.post("/release", json=payload))
        assert refused.status_code == 400 and refused.get_json()["error"].endswith(".")
