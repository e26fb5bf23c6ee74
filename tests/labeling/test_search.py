"""Search to start: ``GET /search`` serves matching items as a batch, before any model exists."""
from __future__ import annotations

import pandas as pd
import pytest
from test_webapp_api import as_user, make_client, no_traceback

from labelloop.labeling import search as search_module
from labelloop.store.materialize import metadata_frame

TEXTS = ["A refund, please", "refunded twice?", "Love the new phone", "REFUND NOW", "the phone is fine",
         "no refundable items", None, "Refund"] * 3


@pytest.fixture
def texts(tmp_path):
    frame = pd.DataFrame({"n": range(len(TEXTS)), "text": TEXTS, "stars": [1, 2, 5, 1, 4, 3, 2, 1] * 3})
    client, service = make_client(tmp_path, frame, type="text", text_column="text", categories=[
        {"key": "complaint"}, {"key": "praise"}])
    yield client, service
    service.journal.close()


def found(response) -> list:
    body = no_traceback(response).get_json()
    assert response.status_code == 200, body
    return [(item["data"]["text"], item["query"]["strategy"], item["query"]["text"]) for item in body["items"]]


def test_a_substring_search_is_a_batch_of_matches_in_pool_order(texts):
    client, _ = texts
    results = found(client.get("/search?q=refund&size=4"))
    assert results == [("A refund, please", "search", "refund"), ("refunded twice?", "search", "refund"),
                       ("REFUND NOW", "search", "refund"), ("no refundable items", "search", "refund")]


def test_a_search_says_how_many_items_match_in_all_beside_those_it_serves(texts):
    client, _ = texts
    alice = client.get("/search?q=refund&size=4").get_json()
    assert len(alice["items"]) == 4 and alice["matched"] == {"count": 15, "complete": True}  # 5 texts, 3 times
    bob = client.get("/search?q=refund&size=4", headers=as_user("bob")).get_json()
    assert len(bob["items"]) == 4 and bob["matched"] == {"count": 11, "complete": True}  # alice holds 4


def test_a_word_search_skips_longer_words_and_an_exact_search_a_column_value(texts):
    client, _ = texts
    words = [t for t, _, _ in found(client.get("/search?q=refund&match=word&size=20"))]
    assert set(words) == {"A refund, please", "REFUND NOW", "Refund"} and len(words) == 9
    exact = client.get("/search?q=5&column=stars&match=exact&size=20", headers=as_user("bob")).get_json()["items"]
    assert {i["data"]["stars"] for i in exact} == {5} and len(exact) == 3


def test_search_results_are_leased_labeled_with_their_provenance_and_not_found_again(texts):
    client, service = texts
    mine = [i["id"] for i in client.get("/search?q=phone&size=20").get_json()["items"]]
    assert len(mine) == 6
    assert client.get("/search?q=phone&size=20", headers=as_user("bob")).get_json()["items"] == []  # leased to alice
    client.post("/label", json={"id": mine[0], "label": "praise"})
    meta = metadata_frame(service.journal.current_frame())
    assert meta[["data_id", "strategy", "label"]].values.tolist() == [[mine[0], "search", "praise"]]
    again = [i["id"] for i in client.get("/search?q=phone&size=20").get_json()["items"]]
    assert again == mine[1:]  # answered items are not found again
    walked = client.get("/history?direction=back").get_json()
    assert walked["item"]["id"] == mine[0]


def test_a_new_search_gives_back_its_own_leases_but_not_the_annotators_batch(texts):
    client, _ = texts
    page = {"X-Requested-With": "labelloop"}
    batch = [i["id"] for i in client.get("/batch?size=12", headers=page).get_json()["items"]]
    phone = [i["id"] for i in client.get("/search?q=phone&size=20").get_json()["items"]]
    assert len(phone) == 6
    client.get("/search?q=refund&size=2")  # the phone search's leases go back, those of the batch stay
    for_bob = {i["id"] for i in client.get("/batch?size=24", headers={**page, **as_user("bob")}).get_json()["items"]}
    assert set(phone) & set(batch) and set(phone) - set(batch)  # the search found some of each
    assert not for_bob & set(batch) and set(phone) - set(batch) <= for_bob


def test_a_large_pool_stops_scanning_at_the_first_chunk_with_enough_matches(tmp_path, monkeypatch):
    frame = pd.DataFrame({"n": range(100_000), "word": ["needle" if i % 7 == 0 else "hay" for i in range(100_000)]})
    client, service = make_client(tmp_path, frame)
    scanned = []
    original = search_module._matcher

    def counting(q, match):
        matches = original(q, match)
        return lambda values: (scanned.append(len(values)), matches(values))[1]

    monkeypatch.setattr(search_module, "_matcher", counting)
    items = client.get("/search?q=needle&size=5").get_json()["items"]
    assert [i["data"]["n"] for i in items] == [0, 7, 14, 21, 28]
    # the first chunk's two columns, once for the items and once for the count (which stops at COUNT_CAP)
    assert scanned == [search_module.CHUNK_ROWS] * 4
    assert client.get("/search?q=needle&size=5").get_json()["matched"] == {  # 14,286 match: the count stops
        "count": search_module.COUNT_CAP, "complete": False}
    service.journal.close()


@pytest.mark.parametrize("query, message", [
    ("", "q must be the text to search for."),
    ("q=%20%20", "q must be the text to search for."),
    ("q=" + "x" * 201, "q must be at most 200 characters."),
    ("q=a&match=regex", "match must be one of substring, word, exact."),
    ("q=a&column=nope", "There is no column 'nope' to search in."),
    ("q=a&size=0", "size"),
    ("q=a&size=abc", "size"),
])
def test_bad_searches_get_one_sentence_and_lease_nothing(texts, query, message):
    client, service = texts
    before = service.journal.event_count()
    response = no_traceback(client.get(f"/search?{query}"))
    assert response.status_code == 400 and message in response.get_json()["error"]
    assert service.journal.event_count() == before


def test_regex_characters_are_searched_as_text(texts):
    client, _ = texts
    assert found(client.get("/search?q=.*&size=5")) == []
    assert [t for t, _, _ in found(client.get("/search?q=twice%3F&size=5"))] == ["refunded twice?"] * 3
