"""``GET /similar``: the items nearest one item, served as a leased batch (DESIGN.md section 13)."""
from __future__ import annotations

import threading

import flask
import numpy as np
import pandas as pd
import pytest
from paths import ROOT
from polling import eventually
from test_webapp_api import as_user, no_traceback

from labelloop.labeling.app import Settings, create_app, webapp_of
from labelloop.labeling.extensions import similar as similar_module
from labelloop.labeling.service import LabelingConfig
from labelloop.platform.local import LocalPlatform
from labelloop.standalone.project import Project, init_project
from labelloop.standalone.server import ServeOptions, serve_settings
from labelloop.store import nearest
from labelloop.store.embedding_cache import EmbeddingCache, text_keys
from labelloop.store.items import TableSource
from labelloop.store.journal import Journal

PAGE = {"X-Requested-With": "labelloop"}
TEXTS = ["my parcel never arrived, refund please", "parcel never arrived refund please!", "refund please, my parcel never came",
         "love the new phone, great screen", "great screen on the new phone, love it", "the battery died after a day",
         "battery dead after one day", "what time do you open on sunday?", "are you open sunday morning?",
         "thanks for the quick help"]


def ready(client) -> None:
    """Wait until the index is built (a thread builds it from the webapp's start)."""
    assert eventually(lambda: client.get("/stats").get_json()["similar"]["ready"], timeout=60)


def similar(client, item, size=20, user="alice"):
    response = no_traceback(client.get(f"/similar?id={item}&size={size}", headers={**PAGE, **as_user(user)}))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


@pytest.fixture
def wine(tmp_path, wine_csv):
    init_project(tmp_path / "proj", wine_csv, "tabular", [{"key": k} for k in "abc"], id_column="wine_id")
    project = Project.open(tmp_path / "proj", user="ada")
    app = create_app(serve_settings(project, ServeOptions(online=False)))
    yield app.test_client(), project
    webapp_of(app).stop()
    project.close()


def text_app(tmp_path, texts=TEXTS, embeddings=None):
    frame = pd.DataFrame({"n": range(len(texts)), "text": texts})
    app = create_app(Settings(LocalPlatform(tmp_path), Journal(f"sqlite:///{tmp_path / 'journal.sqlite'}"),
                              TableSource(frame, id_column="n"),
                              LabelingConfig(type="text", categories=[{"key": "yes"}, {"key": "no"}], text_column="text",
                                             online=False),
                              identify=lambda request: request.headers.get("X-User", "alice"), embeddings=embeddings))
    return app


@pytest.fixture
def texts(tmp_path):
    app = text_app(tmp_path)
    yield app.test_client()
    webapp_of(app).stop()
    webapp_of(app).service.journal.close()


def test_a_rows_nearest_rows_come_first_in_the_scaled_columns_space(wine):
    client, project = wine
    ready(client)
    items = similar(client, "1000", size=6)
    frame = project.source.frame.drop(columns="wine_id")
    scaled = ((frame - frame.mean()) / frame.std(ddof=0)).to_numpy()
    unit = scaled / np.linalg.norm(scaled, axis=1, keepdims=True)
    truth = [str(1000 + p) for p in np.argsort(-(unit @ unit[0]), kind="stable")[:6]]
    assert [item["id"] for item in items] == truth  # the row itself first, then its nearest
    assert items[0]["similarity"] == pytest.approx(1, abs=1e-3)
    assert all(0 <= a["similarity"] <= 1 and a["similarity"] >= b["similarity"] for a, b in zip(items, items[1:]))
    assert all(item["query"] == {"strategy": "similar", "to": "1000"} for item in items)
    assert items[1]["data"]["wine_id"] == int(truth[1])  # served as a batch serves: the row's values


def test_a_texts_near_duplicates_come_first(texts):
    ready(texts)
    first = [item["data"]["text"] for item in similar(texts, "0", size=3)]
    assert sorted(first) == sorted(TEXTS[:3])
    battery = [item["id"] for item in similar(texts, "5", size=2)]
    assert battery == ["5", "6"]


def test_similar_items_are_leased_two_annotators_never_share_one_and_answered_ones_are_left_out(texts):
    ready(texts)
    alice = [item["id"] for item in similar(texts, "0", size=3, user="alice")]
    bob = [item["id"] for item in similar(texts, "0", size=3, user="bob")]
    assert len(alice) == len(bob) == 3 and not set(alice) & set(bob)
    for item in alice[:2]:
        assert texts.post("/label", json={"id": item, "label": "yes"}, headers=as_user("alice")).status_code == 200
    again = [item["id"] for item in similar(texts, "0", size=10, user="alice")]
    assert alice[2] in again and not set(again) & (set(alice[:2]) | set(bob))
    carol = [item["id"] for item in similar(texts, "0", size=10, user="carol")]
    assert not set(carol) & set(alice[:2])  # labeled by someone: nobody is served it again


def test_a_new_similar_gives_back_the_leases_of_the_previous_one(texts):
    ready(texts)
    first = [item["id"] for item in similar(texts, "3", size=2, user="alice")]
    similar(texts, "7", size=2, user="alice")
    bob = [item["id"] for item in similar(texts, "3", size=2, user="bob")]
    assert bob == first


def test_a_new_similar_keeps_the_leases_of_the_annotators_batch(texts):
    """Items of the page's batch that a /similar also served stay the batch's: the next /similar
    gives back only what it leased itself, so nobody else is served them meanwhile."""
    ready(texts)
    batch = [item["id"] for item in texts.get("/batch?size=10", headers={**PAGE, **as_user("alice")}).get_json()["items"]]
    first = [item["id"] for item in similar(texts, "3", size=3, user="alice")]
    assert set(first) <= set(batch)  # the whole pool is alice's batch
    similar(texts, "7", size=1, user="alice")
    assert texts.get("/batch?size=10", headers={**PAGE, **as_user("bob")}).get_json()["items"] == []


def test_items_a_later_batch_leased_again_stay_the_batchs(texts):
    """The other order: a /similar first, then the page's batch, which serves the same items
    again; the next /similar leaves them to the batch."""
    ready(texts)
    first = [item["id"] for item in similar(texts, "3", size=3, user="alice")]
    batch = [item["id"] for item in texts.get("/batch?size=10", headers={**PAGE, **as_user("alice")}).get_json()["items"]]
    assert set(first) <= set(batch)  # the whole pool
    similar(texts, "7", size=1, user="alice")
    assert texts.get("/batch?size=10", headers={**PAGE, **as_user("bob")}).get_json()["items"] == []


@pytest.mark.parametrize(("query", "status", "sentence"), [
    ("id=99", 404, "Unknown item id."),
    ("id=", 400, "id must be the id of an item."),
    ("size=3", 400, "id must be the id of an item."),
    ("id=1&size=0", 400, "size must be a whole number between 1 and 200."),
    ("id=1&size=201", 400, "size must be a whole number between 1 and 200."),
    ("id=1&size=ten", 400, "size must be a whole number between 1 and 200."),
])
def test_bad_requests_get_one_sentence_and_lease_nothing(texts, query, status, sentence):
    ready(texts)
    response = no_traceback(texts.get(f"/similar?{query}", headers=PAGE))
    assert (response.status_code, response.get_json()) == (status, {"error": sentence})
    assert webapp_of(texts.application).service.journal.leased_to_others("") == set()


def test_until_the_index_is_built_similar_answers_503_in_one_sentence(tmp_path, monkeypatch):
    release = threading.Event()
    build = similar_module.Similar._build
    monkeypatch.setattr(similar_module.Similar, "_build", lambda self: (release.wait(10), build(self)))
    app = text_app(tmp_path)
    client = app.test_client()
    try:
        response = no_traceback(client.get("/similar?id=0", headers=PAGE))
        assert response.status_code == 503 and response.headers["Retry-After"]
        assert response.get_json()["error"].startswith("Similar items are not ready yet")
        release.set()
        ready(client)
        assert similar(client, "0", size=1)[0]["id"] == "0"
    finally:
        release.set()
        webapp_of(app).stop()


def test_items_a_growing_pool_adds_join_the_index(texts):
    ready(texts)
    webapp = webapp_of(texts.application)
    added = webapp.service.source.add(pd.DataFrame({"n": [10], "text": ["battery died after a day, dead"]}))
    webapp.items_added(added)
    assert eventually(lambda: texts.get("/stats").get_json()["similar"]["items"] == len(TEXTS) + 1)
    assert "10" in [item["id"] for item in similar(texts, "5", size=3)]


def test_with_sentence_embeddings_texts_alike_in_meaning_are_nearest_though_no_word_is_shared(tmp_path):
    """The space is the embedding cache's where the webapp has one (standalone or the LLM Mesh's in DSS)."""
    texts = ["awful service", "the staff were rude and slow", "lovely food", "delicious meal"]
    meaning = np.array([[1, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [0.1, 0.9, 0]], dtype=float)
    cache = EmbeddingCache(tmp_path / "cache")
    cache.append(text_keys(texts), meaning / np.linalg.norm(meaning, axis=1, keepdims=True))

    class Embeddings:  # what settings.embeddings gives: ServedFeatures standalone, MeshEmbedding in DSS
        class meaning:  # noqa: N801 - the attribute's name
            columns = ("text",)
        meaning.cache = cache

        @staticmethod
        def status():
            return {"kind": "embeddings", "ready": True, "items": len(texts)}

    app = text_app(tmp_path, texts, embeddings=Embeddings())
    client = app.test_client()
    try:
        ready(client)
        assert [item["id"] for item in similar(client, "0", size=2)] == ["0", "1"]
        assert [item["id"] for item in similar(client, "2", size=2)] == ["2", "3"]
    finally:
        webapp_of(app).stop()


def media_app(tmp_path, kind: str, files: dict):
    folder = tmp_path / "media"
    folder.mkdir()
    for name, write in files.items():
        write(folder / name)
    init_project(tmp_path / "proj", folder, kind, [{"key": "a"}, {"key": "b"}])
    project = Project.open(tmp_path / "proj")
    return create_app(serve_settings(project, ServeOptions(online=False))), project


def digit_images() -> dict:
    """Eight handwritten digits as PNG writers, and digit 3 again with a little noise."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits().images
    rng = np.random.default_rng(0)

    def image(pixels):
        return lambda path: Image.fromarray((np.clip(pixels, 0, 16) * 15).astype(np.uint8)).resize((32, 32)).save(path)
    files = {f"d{n}.png": image(digits[n]) for n in range(8)}
    files["d3 again.png"] = image(digits[3] + rng.normal(0, 0.5, digits[3].shape))
    return files


def test_images_nearest_are_those_that_look_alike(tmp_path):
    app, project = media_app(tmp_path, "image", digit_images())
    client = app.test_client()
    try:
        ready(client)
        assert [item["id"] for item in similar(client, "d3.png", size=2)] == ["d3.png", "d3 again.png"]
        assert similar(client, "d3.png", size=1)[0]["data"]["mediaUrl"] == "media/d3.png"
    finally:
        webapp_of(app).stop()
        project.close()


def test_sounds_nearest_are_those_that_sound_alike(tmp_path):
    import soundfile

    rate, rng = 16_000, np.random.default_rng(0)
    time = np.arange(rate // 2) / rate

    def tone(hertz, loudness=0.5):
        return lambda path: soundfile.write(path, np.sin(2 * np.pi * hertz * time) * loudness
                                            + rng.normal(0, 0.01, len(time)), rate)
    files = {f"{hertz}.wav": tone(hertz) for hertz in (200, 450, 900, 1800, 3600)}
    files["930 softer.wav"] = tone(930, loudness=0.3)  # a near note, played more softly
    app, project = media_app(tmp_path, "sound", files)
    client = app.test_client()
    try:
        ready(client)
        assert [item["id"] for item in similar(client, "900.wav", size=2)] == ["900.wav", "930 softer.wav"]
    finally:
        webapp_of(app).stop()
        project.close()


def dss_image_webapp(dss, tmp_path) -> tuple:
    """The DSS image webapp on a managed folder of nine digit images, categories a and b: its app, a client, Ada."""
    folder = dss.add_folder("media")
    for name, write in digit_images().items():
        write(folder / name)
    dss.add_dataset("labels")
    dss.add_dataset("metadata")
    config = {"unlabeled": "media", "categories": [{"from": "a"}, {"from": "b"}], "labels_ds": "labels",
              "metadata_ds": "metadata", "journal": dss.shared_journal(f"sqlite:///{tmp_path / 'journal.sqlite'}")}
    app = flask.Flask("backend")
    dss.run(ROOT / "webapps" / "image-labeling", config, init_globals={"app": app})
    return app, app.test_client(use_cookies=False), dss.login("ada")


def test_in_dss_the_image_webapp_reads_its_managed_folders_files_for_similar_items(dss, tmp_path):
    """The DSS backend hands the same factory the files' descriptors, read through the DSS folder API."""
    app, client, ada = dss_image_webapp(dss, tmp_path)
    try:
        assert eventually(lambda: client.get("/stats", headers=ada).get_json()["similar"]["ready"], timeout=60)
        found = client.get("/similar?id=d3.png&size=2", headers={**ada, **PAGE}).get_json()["items"]
        assert [item["id"] for item in found] == ["d3.png", "d3 again.png"]
    finally:
        webapp_of(app).stop()


def test_on_a_pool_in_cells_the_search_widens_when_the_nearest_are_leased_to_others(tmp_path, monkeypatch):
    monkeypatch.setattr(nearest, "CELLS_FROM", 300)  # 3,000 rows: about 109 cells of 27, 12 of them scanned first
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"n": range(3_000), **{f"x{c}": rng.normal(size=3_000) for c in range(4)}})
    app = create_app(Settings(LocalPlatform(tmp_path), Journal(f"sqlite:///{tmp_path / 'journal.sqlite'}"),
                              TableSource(frame, id_column="n"),
                              LabelingConfig(type="tabular", categories=[{"key": "a"}, {"key": "b"}], online=False),
                              identify=lambda request: request.headers.get("X-User", "alice")))
    client = app.test_client()
    try:
        ready(client)
        served = {}
        for user in ("alice", "bob", "carol", "dan"):
            items = similar(client, "0", size=200, user=user)
            assert len(items) == 200
            assert all(a["similarity"] >= b["similarity"] for a, b in zip(items, items[1:]))
            served[user] = {item["id"] for item in items}
        assert len(set().union(*served.values())) == 800  # nobody was served another's items
    finally:
        webapp_of(app).stop()


def test_an_index_that_cannot_be_built_is_one_sentence_and_labeling_goes_on(tmp_path, monkeypatch):
    def no_space(settings, frame):
        raise ValueError("no column to measure closeness in")
    monkeypatch.setattr(similar_module, "space_for", no_space)
    app = text_app(tmp_path)
    client = app.test_client()
    try:
        def refused(route):  # the clusters are learned on the index: they say the same
            response = no_traceback(client.get(route, headers=PAGE))
            return response.status_code == 503 and response.get_json()["error"] == (
                "Similar items are not available: building their index failed (no column to measure closeness in).")
        assert eventually(lambda: refused("/similar?id=0")) and refused("/clusters") and refused("/clusters/1")
        assert len(client.get("/batch?size=3", headers=PAGE).get_json()["items"]) == 3
    finally:
        webapp_of(app).stop()
