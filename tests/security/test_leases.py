"""Fair leases: concurrent annotators each get a batch, and no one annotator holds the pool."""
from __future__ import annotations

import datetime as dt
import threading

import pandas as pd
import pytest
from test_cli import run

from labelloop.labeling.answers import MAX_BATCH
from labelloop.labeling.app import create_app, webapp_of
from labelloop.labeling.leasing import LEASE_CAP
from labelloop.standalone.new_names import BURST
from labelloop.standalone.project import Project
from labelloop.standalone.server import ServeOptions, serve_settings
from labelloop.store.journal import Journal

TOKEN = "lease-test-token-0123456789"
ROWS = 1000


@pytest.fixture
def shared(tmp_path):
    """A token server over 1,000 rows whose ``word`` column a search can match (``w<n>``)."""
    data = tmp_path / "rows.csv"
    pd.DataFrame({"row_id": range(ROWS), "word": [f"w{i:04d}" for i in range(ROWS)], "value": range(ROWS)}).to_csv(
        data, index=False)
    run("init", tmp_path / "proj", "--data", data, "--type", "tabular", "--categories", "a,b", "--id-column", "row_id")
    project = Project.open(tmp_path / "proj")
    app = create_app(serve_settings(project, ServeOptions(auth_token=TOKEN, online=False)))
    yield app, project
    webapp_of(app).stop()
    project.close()


def as_user(name: str) -> dict:
    return {"Authorization": f"Bearer {TOKEN}", "X-Labelloop-User": name, "X-Labelloop-Key": f"key-of-{name}-0123456789",
            "X-Requested-With": "labelloop"}


@pytest.mark.parametrize("path", ["/batch?size=1", "/search?q=w0&size=1"])  # every row matches w0
def test_eight_concurrent_annotators_asking_one_item_each_never_get_an_empty_batch(shared, path):
    """The issue's load: 8 annotators, 100 ``GET /batch?size=1`` each, answering what they get.
    The pool (1,000 rows) outlasts the 800 requests, so every batch must hold an item; the
    same for a search that every row matches."""
    app, project = shared
    empty, served, failures = [], [], []
    start = threading.Barrier(8)

    def annotator(name: str) -> None:
        client = app.test_client()
        start.wait()
        for _ in range(100):
            response = client.get(path, headers=as_user(name))
            if response.status_code != 200:
                failures.append(response.get_json())
                continue
            batch = response.get_json()
            if not batch["items"]:
                empty.append(batch["done"])
                continue
            item = batch["items"][0]["id"]
            served.append((name, item))
            answer = client.post("/label", json={"id": item, "label": "a"}, headers=as_user(name))
            if answer.status_code != 200:
                failures.append(answer.get_json())

    threads = [threading.Thread(target=annotator, args=(f"annotator-{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == [] and empty == []
    assert len(served) == 800 and len({item for _, item in served}) == 800  # never the same item twice
    assert len(project.journal.current_frame()) == 800


def held(journal: Journal, name: str) -> int:
    """How many items ``name`` holds now."""
    return len(journal.leased_to_others("nobody") - journal.leased_to_others(name))


def test_one_annotator_cannot_lease_the_pool(shared):
    """The issue's attack: 110 searches in a row. A search's leases replace the previous
    search's, batches renew what is held, and the cap bounds the rest."""
    app, project = shared
    client = app.test_client()
    mallory = as_user("mallory")
    for n in range(110):
        found = client.get(f"/search?q=w0{n % 10}&size={MAX_BATCH}", headers=mallory).get_json()["items"]
        assert found  # every search is served
        assert client.get(f"/batch?size={MAX_BATCH}", headers=mallory).status_code == 200
        assert held(project.journal, "mallory") <= LEASE_CAP
    assert held(project.journal, "mallory") <= 2 * MAX_BATCH
    batch = client.get(f"/batch?size={MAX_BATCH}", headers=as_user("ada")).get_json()
    assert len(batch["items"]) == MAX_BATCH


def test_the_next_search_gives_the_last_search_s_items_back(shared):
    app, _ = shared
    client = app.test_client()
    first = {i["id"] for i in client.get("/search?q=w00&size=10", headers=as_user("mallory")).get_json()["items"]}
    assert len(first) == 10
    other = {i["id"] for i in client.get("/search?q=w00&size=10", headers=as_user("ada")).get_json()["items"]}
    assert len(other) == 10 and not first & other
    client.get("/search?q=w09&size=10", headers=as_user("mallory"))
    again = {i["id"] for i in client.get("/search?q=w00&size=100", headers=as_user("bob")).get_json()["items"]}
    assert first <= again  # free again once mallory searched something else


def test_the_cap_gives_back_the_leases_that_expire_first(journal_url):
    journal = Journal(journal_url)
    now = dt.datetime(2026, 1, 1)
    first = journal.lease("ann", [f"a{i}" for i in range(150)], 150, now=now, cap=200)
    later = now + dt.timedelta(seconds=1)
    second = journal.lease("ann", [f"b{i}" for i in range(150)], 150, now=later, cap=200)
    assert len(first) == len(second) == 150
    still = journal.leased_to_others("bob", now=later)
    assert len(still) == 200 and set(second) <= still and set(first[100:]) <= still  # the oldest 100 went back
    assert journal.lease("bob", first[:100], 100, now=later) == first[:100]
    journal.close()


def test_new_names_are_rate_limited_per_client(shared):
    app, _ = shared
    client = app.test_client()
    for n in range(BURST):
        assert client.get("/config", headers=as_user(f"sock-puppet-{n}")).status_code == 200
    refused = client.get("/config", headers=as_user("one-more"))
    assert refused.status_code == 429 and "new annotator names" in refused.get_json()["error"]
    assert client.get("/config", headers=as_user("sock-puppet-0")).status_code == 200  # a known name is fine
