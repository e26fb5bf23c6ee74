"""``GET /clusters`` and ``GET /clusters/<id>``: the pool's unanswered items in clusters, and one
cluster served as a leased batch for the group view (DESIGN.md section 13)."""
from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest
from polling import eventually
from test_similar import PAGE, dss_image_webapp, text_app
from test_webapp_api import as_user, no_traceback

from labelloop.labeling.app import Settings, create_app, webapp_of
from labelloop.labeling.clustering import Clustering, cluster_count
from labelloop.labeling.extensions import similar as similar_module
from labelloop.labeling.service import LabelingConfig
from labelloop.platform.local import LocalPlatform
from labelloop.store.items import TableSource
from labelloop.store.journal import Journal
from labelloop.store.nearest import NearestIndex

BLOBS, PER_BLOB = 3, 40


def blob_frame(blobs: int = BLOBS, per_blob: int = PER_BLOB, first: int = 0) -> pd.DataFrame:
    """Rows in ``blobs`` far-apart groups: blob ``b`` is high on column ``x<b>`` and near zero on the others."""
    rng = np.random.default_rng(first)
    rows = blobs * per_blob
    values = rng.normal(0, 0.2, (rows, 4))
    blob = np.repeat(np.arange(blobs), per_blob)
    values[np.arange(rows), blob] += 5
    frame = pd.DataFrame(values, columns=[f"x{c}" for c in range(4)])
    frame.insert(0, "n", range(first, first + rows))
    frame["blob"] = blob
    return frame


@pytest.fixture
def blobs(tmp_path):
    frame = blob_frame()
    app = create_app(Settings(LocalPlatform(tmp_path), Journal(f"sqlite:///{tmp_path / 'journal.sqlite'}"),
                              TableSource(frame.drop(columns="blob"), id_column="n"),
                              LabelingConfig(type="tabular", categories=[{"key": "a"}, {"key": "b"}], online=False,
                                             columns_first=["x2"]),
                              identify=lambda request: request.headers.get("X-User", "alice")))
    client = app.test_client()
    ready(client)
    yield client, dict(zip(frame["n"].astype(str), frame["blob"]))
    webapp_of(app).stop()
    webapp_of(app).service.journal.close()


def ready(client) -> None:
    assert eventually(lambda: client.get("/stats").get_json()["clusters"]["ready"], timeout=60)


def listing(client, size=20):
    response = no_traceback(client.get(f"/clusters?size={size}", headers=PAGE))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def served(client, cluster, size=20, user="alice"):
    response = no_traceback(client.get(f"/clusters/{cluster}?size={size}", headers={**PAGE, **as_user(user)}))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def unanswered(found) -> dict:
    return {cluster["id"]: cluster["unanswered"] for cluster in found["clusters"]}


def test_the_clusters_list_every_unanswered_item_once_and_never_mix_far_apart_groups(blobs):
    client, blob_of = blobs
    found = listing(client)
    assert found["items"] == BLOBS * PER_BLOB and found["count"] == len(found["clusters"]) == cluster_count(120) == 5
    assert sum(unanswered(found).values()) == BLOBS * PER_BLOB
    sizes = [c["unanswered"] for c in found["clusters"]]
    assert sizes == sorted(sizes, reverse=True)  # the most unanswered first
    assert sorted(c["id"] for c in found["clusters"]) == [1, 2, 3, 4, 5]
    for cluster in found["clusters"]:
        members = served(client, cluster["id"], size=200)
        assert len(members) == cluster["unanswered"]
        assert len({blob_of[item["id"]] for item in members}) == 1, "a cluster mixes two far-apart groups"
        assert [e["id"] for e in cluster["examples"]] == [item["id"] for item in members[:3]]  # nearest the centre
        assert all(a["similarity"] >= b["similarity"] for a, b in zip(members, members[1:]))
        assert all(item["query"] == {"strategy": "cluster", "cluster": cluster["id"]} for item in members)
    example = found["clusters"][0]["examples"][0]
    assert example["preview"].startswith("x2: ") and ", n: " in example["preview"]  # the columns shown first lead


def test_a_cluster_labeled_as_a_group_leaves_the_list_and_its_undo_brings_it_back(blobs):
    client, _ = blobs
    first = listing(client)["clusters"][0]
    items = [item["id"] for item in served(client, first["id"], size=200)]
    given = client.post("/label/bulk", json={"ids": items[:-1], "label": "a"}, headers=PAGE)
    assert given.status_code == 200
    after = listing(client)
    assert unanswered(after)[first["id"]] == 1
    assert [e["id"] for e in next(c for c in after["clusters"] if c["id"] == first["id"])["examples"]] == items[-1:]
    assert [item["id"] for item in served(client, first["id"])] == items[-1:]  # answered items are left out
    assert client.post("/label", json={"id": items[-1], "label": "b"}, headers=PAGE).status_code == 200
    gone = listing(client)
    assert first["id"] not in unanswered(gone) and gone["count"] == 4  # no unanswered item left in it
    assert client.post("/label/bulk/undo", json={"group": given.get_json()["group"]}, headers=PAGE).status_code == 200
    assert unanswered(listing(client))[first["id"]] == len(items) - 1


def test_a_clusters_items_are_leased_two_annotators_never_share_one_and_a_new_cluster_gives_the_last_back(blobs):
    client, _ = blobs
    clusters = listing(client)["clusters"]
    alice = [item["id"] for item in served(client, clusters[0]["id"], size=5, user="alice")]
    bob = [item["id"] for item in served(client, clusters[0]["id"], size=5, user="bob")]
    assert len(alice) == len(bob) == 5 and not set(alice) & set(bob)
    served(client, clusters[1]["id"], size=5, user="alice")
    carol = [item["id"] for item in served(client, clusters[0]["id"], size=5, user="carol")]
    assert carol == alice  # alice's second cluster gave her first one's leases back


def test_the_listing_shows_the_clusters_asked_for(blobs):
    client, _ = blobs
    found = listing(client, size=2)
    assert len(found["clusters"]) == 2 and found["count"] == 5


@pytest.mark.parametrize(("path", "status", "sentence"), [
    ("/clusters?size=0", 400, "size must be a whole number between 1 and 100."),
    ("/clusters?size=101", 400, "size must be a whole number between 1 and 100."),
    ("/clusters?size=ten", 400, "size must be a whole number between 1 and 100."),
    ("/clusters/1?size=0", 400, "size must be a whole number between 1 and 200."),
    ("/clusters/1?size=201", 400, "size must be a whole number between 1 and 200."),
    ("/clusters/0", 404, "No cluster has this id: /clusters lists them, numbered 1 to 5."),
    ("/clusters/6", 404, "No cluster has this id: /clusters lists them, numbered 1 to 5."),
    ("/clusters/abc", 404, "No cluster has this id: /clusters lists them, numbered 1 to 5."),
    ("/clusters/٣", 404, "No cluster has this id: /clusters lists them, numbered 1 to 5."),
    ("/clusters/99999999999999999999", 404, "No cluster has this id: /clusters lists them, numbered 1 to 5."),
])
def test_bad_requests_get_one_sentence_and_lease_nothing(blobs, path, status, sentence):
    client, _ = blobs
    response = no_traceback(client.get(path, headers=PAGE))
    assert (response.status_code, response.get_json()) == (status, {"error": sentence})
    assert webapp_of(client.application).service.journal.leased_to_others("") == set()


def test_serving_a_cluster_needs_the_page_header_as_every_route_that_leases_items(blobs):
    client, _ = blobs
    response = no_traceback(client.get("/clusters/1", headers={"X-Requested-With": ""}))
    assert response.status_code == 403 and "X-Requested-With: labelloop" in response.get_json()["error"]
    assert webapp_of(client.application).service.journal.leased_to_others("") == set()
    assert client.get("/clusters", headers={"X-Requested-With": ""}).status_code == 200  # a listing leases nothing


def test_until_the_index_is_built_clusters_answer_503_in_one_sentence(tmp_path, monkeypatch):
    release = threading.Event()
    build = similar_module.Similar._build
    monkeypatch.setattr(similar_module.Similar, "_build", lambda self: (release.wait(10), build(self)))
    app = text_app(tmp_path)
    client = app.test_client()
    try:
        for path in ("/clusters", "/clusters/1"):
            response = no_traceback(client.get(path, headers=PAGE))
            assert response.status_code == 503 and response.headers["Retry-After"]
            assert response.get_json() == {"error": "Clusters are not ready yet: the pool is being grouped by similarity, "
                                                    "try again in a minute."}
        assert client.get("/stats").get_json()["clusters"] == {"ready": False, "count": 0}
        release.set()
        ready(client)
        assert sum(c["unanswered"] for c in listing(client)["clusters"]) == 10
    finally:
        release.set()
        webapp_of(app).stop()


def test_clusters_that_cannot_be_learned_are_one_sentence_and_similar_items_go_on(tmp_path, monkeypatch):
    def fails(index, seed):
        raise MemoryError("no room for the centres")
    monkeypatch.setattr(Clustering, "learn", fails)
    app = text_app(tmp_path)
    client = app.test_client()
    try:
        def refused():
            response = no_traceback(client.get("/clusters/1", headers=PAGE))
            return response.status_code == 503 and response.get_json()["error"] == (
                "Clusters are not available: learning them failed (no room for the centres).")
        assert eventually(refused)
        assert client.get("/similar?id=0&size=2", headers=PAGE).status_code == 200
    finally:
        webapp_of(app).stop()


def test_a_texts_clusters_preview_their_texts(tmp_path):
    app = text_app(tmp_path)
    client = app.test_client()
    try:
        ready(client)
        found = listing(client)
        previews = [e["preview"] for c in found["clusters"] for e in c["examples"]]
        assert previews and all(len(p) <= 80 for p in previews)
        ids = [e["id"] for c in found["clusters"] for e in c["examples"]]
        texts = webapp_of(app).service.source.rows(ids)["text"].tolist()
        assert previews == texts  # short texts are shown whole
    finally:
        webapp_of(app).stop()


def test_items_a_growing_pool_adds_join_their_cluster_and_a_doubled_pool_is_clustered_again(blobs):
    client, _ = blobs
    webapp = webapp_of(client.application)
    before = listing(client)
    added = webapp.service.source.add(blob_frame(per_blob=10, first=1000).drop(columns="blob"))
    assert client.post("/label", json={"id": added[0], "label": "a"}, headers=PAGE).status_code == 200
    assert sum(unanswered(listing(client)).values()) == 120  # answered before it is in the index: counted once it is
    webapp.items_added(added)
    assert eventually(lambda: listing(client)["items"] == 150, timeout=30)
    assert sum(unanswered(listing(client)).values()) == 149 and listing(client)["count"] == before["count"]
    more = webapp.service.source.add(blob_frame(per_blob=40, first=2000).drop(columns="blob"))
    webapp.items_added(more)
    assert eventually(lambda: listing(client)["items"] == 270, timeout=30)
    assert listing(client, size=100)["count"] == cluster_count(270) == 8  # learned again on the doubled pool


def test_a_clustering_files_every_row_once_nearest_its_centre_first(tmp_path):
    rng = np.random.default_rng(1)
    index = NearestIndex(tmp_path, 8)
    index.add(rng.normal(size=(500, 8)))
    clustering = Clustering.learn(index, seed=0)
    assert len(clustering.centres) == cluster_count(500) == 11
    assert sorted(np.concatenate(clustering.members).tolist()) == list(range(500))
    vectors = index.vectors(np.arange(500))
    best = np.argmax(vectors @ clustering.centres.T, axis=1)
    assert (clustering.cluster == best).all()
    for k, members in enumerate(clustering.members):
        assert (clustering.cluster[members] == k).all()
        assert (np.diff(clustering.closeness[members]) <= 0).all()
    index.add(rng.normal(size=(20, 8)))
    grown = clustering.filed(index)
    assert grown.rows == 520 and (grown.centres is clustering.centres) and not grown.due(520) and grown.due(1000)


def test_in_dss_the_image_webapp_lists_its_folders_files_in_clusters_and_serves_one(dss, tmp_path):
    """The DSS backend builds the same extensions: the clusters of a managed folder's images."""
    app, client, ada = dss_image_webapp(dss, tmp_path)
    try:
        assert eventually(lambda: client.get("/stats", headers=ada).get_json()["clusters"]["ready"], timeout=60)
        found = client.get("/clusters", headers={**ada, **PAGE}).get_json()
        assert sum(c["unanswered"] for c in found["clusters"]) == 9 and found["count"] == cluster_count(9) == 2
        examples = [e for c in found["clusters"] for e in c["examples"]]
        assert all(e["preview"] == e["id"] for e in examples)  # a file's preview is its path
        items = client.get(f"/clusters/{found['clusters'][0]['id']}?size=20", headers={**ada, **PAGE}).get_json()["items"]
        assert len(items) == found["clusters"][0]["unanswered"] and items[0]["data"]["mediaUrl"].startswith("media/")
    finally:
        webapp_of(app).stop()
