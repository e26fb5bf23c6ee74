"""The webapps' real backend.py files, run in the fake DSS and labeled through."""
from __future__ import annotations

import flask
import pandas as pd
import pytest
from fake_dataiku.harness import DescriptorError
from paths import ROOT
from polling import eventually
from sampler_models import pool, tabular_classifier
from test_dss_facts import measured

from labelloop.errors import LabelloopError

WEBAPPS = ROOT / "webapps"
CATEGORIES = [{"from": "low", "to": "Low"}, {"from": "mid", "to": "Middle"}, {"from": "high"}]


def start(dss, tmp_path, kind, **extra):
    config = {"unlabeled": "rows", "categories": CATEGORIES, "labels_ds": "labels", "metadata_ds": "metadata",
              "journal": dss.shared_journal(f"sqlite:///{tmp_path / 'journal.sqlite'}"), **extra}
    app = flask.Flask("backend")
    dss.run(WEBAPPS / f"{kind}-labeling", config, init_globals={"app": app})
    return app.test_client(use_cookies=False)


@pytest.fixture
def flow(dss):
    dss.add_dataset("rows", pool(40).assign(comment=lambda f: [f"note {i}" for i in range(len(f))]))
    dss.add_dataset("labels")
    dss.add_dataset("metadata")
    return dss


@pytest.mark.parametrize("kind, extra", [("tabular", {}), ("text", {"text_column": "name"})])
def test_a_dss_user_labels_through_the_real_backend(flow, tmp_path, kind, extra):
    client = start(flow, tmp_path, kind, **extra)
    alice = flow.login("alice")
    config = client.get("/config", headers=alice).get_json()
    assert config["user"] == "alice" and config["type"] == kind
    assert [c["caption"] for c in config["categories"]] == ["Low", "Middle", "high"]
    items = client.get("/batch?size=3", headers=alice).get_json()["items"]
    if kind == "text":
        assert items[0]["data"]["text"] == items[0]["data"]["name"]
    for item, label in zip(items, ["low", "mid", "high"]):
        assert client.post("/label", json={"id": item["id"], "label": label}, headers=alice).status_code == 200
    assert eventually(lambda: flow.platform.dataset_exists("metadata") and len(flow.platform.read_dataset("metadata")) == 3)
    meta = flow.platform.read_dataset("metadata")
    assert set(meta["annotator"]) == {"alice"} and sorted(meta["label"]) == ["high", "low", "mid"]
    assert eventually(lambda: flow.platform.dataset_exists("labels") and len(flow.platform.read_dataset("labels")) == 3)
    labels = flow.platform.read_dataset("labels")
    assert {"f1", "f2", "name", "comment", "label", "label_id", "item_id", "annotators", "agreement",
            "reviewed", "reviewer", "group"} == set(labels.columns)
    forged = client.get("/config", headers={"Cookie": "dss_session=forged"})
    assert forged.status_code == 401 and "Sign in to DSS" in forged.get_json()["error"]


def test_a_saved_model_gives_suggestions_and_queries_come_first(flow, tmp_path):
    frame = flow.platform.read_dataset("rows")
    version = flow.add_model("clf", tabular_classifier(frame))
    measured(flow, "clf", version)
    flow.add_dataset("queries", pd.DataFrame({"item_id": ["x"], "uncertainty": [0.5], "strategy": ["margin"],
                                              "session": [1], "model_version": [version]}))
    client = start(flow, tmp_path, "tabular", saved_model="clf", queries_ds="queries", label_col_name="level")
    item = client.get("/batch?size=1", headers=flow.login("bob")).get_json()["items"][0]
    assert item["suggestion"]["label"] in ("low", "mid", "high")
    assert client.get("/stats", headers=flow.login("bob")).get_json()["modelVersions"] == [version]


def test_bad_webapp_settings_are_refused(flow, tmp_path):
    with pytest.raises(LabelloopError, match="distinct, non-empty keys"):
        start(flow, tmp_path, "tabular", categories=[{"from": "a"}, {"from": "a"}])
    with pytest.raises(DescriptorError, match="KEY_VALUE_LIST"):
        start(flow, tmp_path, "tabular", categories={"a": "A"})
    with pytest.raises(LabelloopError, match="text column"):
        start(flow, tmp_path, "text", text_column="")
    flow.add_dataset("scored", pool(5).assign(agreement=0.5))
    with pytest.raises(LabelloopError, match="already has a column 'agreement', which the labels dataset adds"):
        start(flow, tmp_path, "tabular", unlabeled="scored")
    with pytest.raises(LabelloopError, match="already has a column 'name'"):
        start(flow, tmp_path, "tabular", label_col_name="name")


def write_png(path):
    from PIL import Image

    Image.new("RGB", (10, 10), (0, 0, 255)).save(path)


def write_wav(path):
    import wave

    with wave.open(str(path), "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(8000)
        sound.writeframes(bytes(range(256)) * 40)


@pytest.mark.parametrize("kind, extension, write, mimetype", [
    ("image", "png", write_png, "image/png"), ("sound", "wav", write_wav, "audio/wav")])
def test_the_folder_webapps_serve_a_folder_and_label_its_files(dss, tmp_path, kind, extension, write, mimetype):
    folder = dss.add_folder("media")
    (folder / "cats").mkdir()
    for name in (f"cats/a.{extension}", f"b.{extension}"):
        write(folder / name)
    (folder / "notes.txt").write_text("ignored")
    dss.add_dataset("labels")
    dss.add_dataset("metadata")
    config = {"unlabeled": "media", "categories": CATEGORIES, "labels_ds": "labels", "metadata_ds": "metadata",
              "journal": dss.shared_journal(f"sqlite:///{tmp_path / 'journal.sqlite'}")}
    app = flask.Flask("backend")
    dss.run(WEBAPPS / f"{kind}-labeling", config, init_globals={"app": app})
    client = app.test_client(use_cookies=False)
    ada = dss.login("ada")
    items = client.get("/batch?size=5", headers=ada).get_json()["items"]
    assert sorted(i["id"] for i in items) == [f"b.{extension}", f"cats/a.{extension}"]
    media = client.get("/" + items[0]["data"]["mediaUrl"], headers=ada)
    assert media.status_code == 200 and media.mimetype == mimetype
    assert media.data == (folder / items[0]["id"]).read_bytes()
    part = client.get("/" + items[0]["data"]["mediaUrl"], headers={**ada, "Range": "bytes=10-19"})
    assert part.status_code == 206 and part.data == media.data[10:20]
    assert client.get("/media/notes.txt", headers=ada).status_code == 404
    assert client.post("/label", json={"id": f"cats/a.{extension}", "label": "high"}, headers=ada).status_code == 200
    assert eventually(lambda: dss.platform.dataset_exists("labels") and len(dss.platform.read_dataset("labels")) == 1)
    assert dss.platform.read_dataset("labels")[["path", "label"]].values.tolist() == [[f"cats/a.{extension}", "high"]]


def test_in_dss_the_annotator_is_who_dss_says_never_who_the_request_claims(flow, tmp_path):
    client = start(flow, tmp_path, "tabular")
    claims_bob = {**flow.login("alice"), "X-Labelloop-User": "bob", "X-Labelloop-Key": "bob-browser-key-0123456789"}
    assert client.get("/config", headers=claims_bob).get_json()["user"] == "alice"
    item = client.get("/batch?size=1", headers=claims_bob).get_json()["items"][0]["id"]
    body = {"id": item, "label": "low", "user": "bob", "annotator": "bob", "author": "bob"}
    assert client.post("/label", json=body, headers=claims_bob).status_code == 200
    assert client.get("/history", headers=flow.login("bob")).status_code == 404  # bob has no answers
    assert client.get("/history", headers={"X-Labelloop-User": "alice"}).status_code == 401  # no DSS session
    assert eventually(lambda: flow.platform.dataset_exists("metadata") and len(flow.platform.read_dataset("metadata")) == 1)
    assert flow.platform.read_dataset("metadata")["annotator"].tolist() == ["alice"]
