"""A DSS webapp that starts afresh loses nothing, keeps its files to its user and its secrets from the page."""
from __future__ import annotations

import json
import os
import stat
import tempfile

import flask
import pandas as pd
import pytest
from fake_dataiku.harness import DescriptorError, preset_choice
from polling import eventually
from sampler_models import pool
from test_dss_webapps import CATEGORIES, WEBAPPS

from labelloop.errors import LabelloopError
from labelloop.store.embedding_cache import EmbeddingCache
from labelloop.store.private_folders import cache_folder, slug


@pytest.fixture
def flow(dss):
    dss.add_dataset("rows", pool(40))
    dss.add_dataset("labels")
    dss.add_dataset("metadata")
    return dss


def start(dss, kind="tabular", **extra) -> flask.Flask:
    """The webapp as created in DSS: no shared journal unless ``extra`` chooses one."""
    config = {"unlabeled": "rows", "categories": CATEGORIES, "labels_ds": "labels", "metadata_ds": "metadata",
              "reviewers": "carol", **extra}
    app = flask.Flask("backend")
    dss.run(WEBAPPS / f"{kind}-labeling", config, init_globals={"app": app})
    return app


def stop(app) -> None:
    """The backend ends (its datasets written), as when DSS stops or restarts it."""
    app.extensions["labelloop"].stop()


def test_a_backend_whose_journal_is_gone_keeps_the_reviewed_labels(flow, tmp_path):
    app = start(flow)
    client = app.test_client(use_cookies=False)
    alice, carol = flow.login("alice"), flow.login("carol")
    items = client.get("/batch?size=3", headers=alice).get_json()["items"]
    for item, label in zip(items, ["low", "low", "mid"]):
        assert client.post("/label", json={"id": item["id"], "label": label}, headers=alice).status_code == 200
    settled = items[0]["id"]
    assert client.post("/review", json={"id": settled, "label": "high"}, headers=carol).status_code == 200
    stop(app)
    before = flow.platform.read_dataset("labels").set_index("item_id")
    assert before.loc[settled, ["label", "reviewed", "reviewer"]].tolist() == ["high", True, "carol"]

    journals = tmp_path / "user-data" / "labelloop" / "PROJ" / "journals"
    assert (journals / "metadata.sqlite").is_file()  # the user's, where a restart finds it
    for path in journals.iterdir():  # a new machine, a new pod: the journal is gone
        path.unlink()
    again = start(flow)
    stop(again)
    after = flow.platform.read_dataset("labels").set_index("item_id")
    pd.testing.assert_frame_equal(after, before)
    reviewing = again.test_client(use_cookies=False).get("/review?size=10", headers=carol).get_json()
    assert settled not in {item["id"] for item in reviewing["items"]}  # still settled


def test_in_a_container_the_webapp_asks_for_a_shared_journal(flow, tmp_path, monkeypatch):
    pod = tmp_path / "pod"
    pod.mkdir()
    (pod / "remote-run-env-def.json").write_text(json.dumps({"runsRemotely": True}))
    monkeypatch.chdir(pod)
    with pytest.raises(LabelloopError, match=r"runs in a container.*shared journal") as error:
        start(flow)
    assert "\n" not in str(error.value)
    stop(start(flow, journal=flow.shared_journal(f"sqlite:///{tmp_path / 'team.sqlite'}")))
    assert (tmp_path / "team.sqlite").is_file() and not list(pod.glob("*.sqlite"))


def test_the_journal_s_password_stays_out_of_the_webapp_settings_the_page_reads(flow, tmp_path):
    secret = f"sqlite:///{tmp_path / 's3cret-password.sqlite'}"  # a URL holding what must not leak
    app = start(flow, journal=flow.shared_journal(secret))
    client = app.test_client(use_cookies=False)
    items = client.get("/batch?size=1", headers=flow.login("ada")).get_json()["items"]
    assert client.post("/label", json={"id": items[0]["id"], "label": "low"}, headers=flow.login("ada")).status_code == 200
    stop(app)
    assert (tmp_path / "s3cret-password.sqlite").is_file()  # the backend got the preset's URL
    page = json.dumps(flow.context_of("webapp").page_config())
    assert "s3cret" not in page and json.loads(page)["journal"] == preset_choice("team")
    assert "s3cret" not in client.get("/config", headers=flow.login("ada")).get_data(as_text=True)
    with pytest.raises(DescriptorError, match="no preset"):
        start(flow, journal=preset_choice("nobody-made-it"))


def test_image_caches_are_the_user_s_per_project_and_the_same_after_a_restart(dss, tmp_path, monkeypatch):
    from PIL import Image

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    folder = dss.add_folder("pics")
    Image.new("RGB", (3000, 20), (0, 0, 255)).save(folder / "wide.png")
    dss.add_dataset("labels")
    dss.add_dataset("metadata")
    config = {"unlabeled": "pics", "categories": CATEGORIES, "labels_ds": "labels", "metadata_ds": "metadata"}
    for _ in range(2):
        app = flask.Flask("backend")
        dss.run(WEBAPPS / "image-labeling", config, init_globals={"app": app})
        answer = app.test_client(use_cookies=False).get("/media/wide.png", headers=dss.login("ada"))
        assert answer.status_code == 200 and Image.open(__import__("io").BytesIO(answer.data)).size == (2048, 14)
        stop(app)
    top = tmp_path / "tmp" / f"labelloop-{os.getuid()}"
    assert stat.S_IMODE(top.stat().st_mode) == 0o700
    assert [p.name for p in (top / "PROJ" / "media").iterdir()] == ["pics"]  # one folder, reused
    assert len(list((top / "PROJ" / "media" / "pics").glob("*.png"))) == 1


def test_a_cache_folder_another_user_made_is_one_sentence_in_stats_and_labeling_goes_on(dss, tmp_path, monkeypatch):
    from PIL import Image

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    taken = tmp_path / "tmp" / f"labelloop-{os.getuid()}"
    taken.mkdir(parents=True)
    os.chown(taken, os.getuid() + 1, -1)  # made first by another Unix user (user isolation)
    folder = dss.add_folder("pics")
    Image.new("RGB", (3000, 20), (0, 0, 255)).save(folder / "wide.png")
    dss.add_dataset("labels")
    dss.add_dataset("metadata")
    app = flask.Flask("backend")
    dss.run(WEBAPPS / "image-labeling", {"unlabeled": "pics", "categories": CATEGORIES, "labels_ds": "labels",
                                         "metadata_ds": "metadata"}, init_globals={"app": app})
    client, ada = app.test_client(use_cookies=False), dss.login("ada")
    assert client.get("/media/wide.png", headers=ada).status_code == 200
    assert client.post("/label", json={"id": "wide.png", "label": "low"}, headers=ada).status_code == 200
    problem = client.get("/stats", headers=ada).get_json()["cacheProblem"]
    assert "belongs to another user" in problem and "\n" not in problem
    assert not list(taken.iterdir())
    stop(app)
    assert eventually(lambda: dss.platform.dataset_exists("labels") and len(dss.platform.read_dataset("labels")) == 1)


def test_projects_get_separate_caches_and_an_unwritable_one_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    first, problem = cache_folder("PROJ", "embeddings", "openai:text-embedding-3-small")
    other, _ = cache_folder("OTHER", "embeddings", "openai:text-embedding-3-small")
    assert problem is None and first != other and first.is_dir() and other.is_dir()
    assert first.name == slug("openai:text-embedding-3-small") != slug("openai-text-embedding-3-small")
    blocked = tmp_path / "a-file"
    blocked.write_text("in the way")
    with pytest.raises(LabelloopError, match="embedding cache .* cannot be written"):
        EmbeddingCache(blocked / "vectors").append([1], [[0.5, 0.5]])
