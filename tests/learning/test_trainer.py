"""``labelloop train``: one pipeline per data type, trained on the labels given through the API."""
from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from paths import ROOT
from test_cli import run

from labelloop.labeling.app import create_app, webapp_of
from labelloop.standalone.demo import tweets_frame, write_digits
from labelloop.standalone.project import Project
from labelloop.standalone.server import serve_settings

SPOKEN_DIGITS = ROOT / "demo" / "spoken-digits"


def label_through_api(project_dir, truth, count):
    project = Project.open(project_dir)
    app = create_app(serve_settings(project))
    client = app.test_client()
    done = 0
    while done < count:
        items = client.get("/batch?size=10").get_json()["items"]
        for item in items[:count - done]:
            assert client.post("/label", json={"id": item["id"], "label": truth(item)}).status_code == 200
            done += 1
    webapp_of(app).stop()
    project.close()


def image_project(tmp_path):
    write_digits(tmp_path / "digits")
    for extra in sorted((tmp_path / "digits").iterdir())[300:]:
        extra.unlink()
    from sklearn.datasets import load_digits

    target = load_digits().target
    run("init", tmp_path / "p", "--data", tmp_path / "digits", "--type", "image", "--categories", "0,1,2,3,4,5,6,7,8,9")
    return lambda item: str(target[int(item["id"][6:10]) - 1])


def sound_project(tmp_path):
    shutil.copytree(SPOKEN_DIGITS, tmp_path / "clips")
    truth = pd.read_csv(tmp_path / "clips" / "labels.csv", dtype=str).set_index("path")["label"]
    run("init", tmp_path / "p", "--data", tmp_path / "clips", "--type", "sound", "--categories", "0,1,2,3,4,5,6,7,8,9")
    return lambda item: truth[item["id"]]


def text_project(tmp_path):
    tweets = tweets_frame(300)
    median = tweets["text"].str.len().median()  # a rule the words can learn, with both classes common
    tweets["mood"] = ["pos" if len(t) > median else "neg" for t in tweets["text"]]
    tweets.drop(columns="mood").to_csv(tmp_path / "tweets.csv", index=False)
    run("init", tmp_path / "p", "--data", tmp_path / "tweets.csv", "--type", "text", "--categories", "pos,neg",
        "--id-column", "tweet_id", "--text-column", "text")
    mood = dict(zip(tweets["tweet_id"].astype(str), tweets["mood"]))
    return lambda item: mood[item["id"]]


def tabular_project(tmp_path):
    frame = pd.DataFrame({"id": range(200), "size": [i % 17 for i in range(200)],
                          "colour": ["red", "blue", "green", None] * 50,
                          "rare": ["x"] * 198 + ["y", "z"],
                          "notes": [f"a long free text note number {i} about item {i * 7}" for i in range(200)]})
    frame.loc[::9, "size"] = None
    frame.to_csv(tmp_path / "items.csv", index=False)
    run("init", tmp_path / "p", "--data", tmp_path / "items.csv", "--type", "tabular", "--categories", "big,small",
        "--id-column", "id")
    return lambda item: "big" if (item["data"]["size"] or 0) > 8 else "small"


@pytest.mark.parametrize("make", [tabular_project, text_project, image_project, sound_project])
def test_train_then_sample_for_each_data_type(tmp_path, make):
    truth = make(tmp_path)
    label_through_api(tmp_path / "p", truth, 40)
    model = json.loads(run("train", tmp_path / "p", "--json").stdout)
    assert model["version"] == "v0001" and model["labels"] == 40
    assert sorted(model["classes"]) == sorted(model["perLabel"]) and len(model["classes"]) >= 2
    assert model["cvAccuracy"] is None or 0 <= model["cvAccuracy"] <= 1
    assert model["trainingSeconds"] >= 0 and "Keep labeling" in model["stopping"]["message"]
    sampled = json.loads(run("sample", tmp_path / "p", "--json").stdout)
    assert sampled["modelVersion"] == "v0001" and sampled["scored"] > 0
    second = json.loads(run("train", tmp_path / "p", "--json").stdout)
    assert second["version"] == "v0002" and second["metrics"]["previous"] == "v0001"
    assert second["metrics"]["contradictionRate"] == 0  # same labels, same model
    status = json.loads(run("status", tmp_path / "p", "--json").stdout)
    assert [(p["version"], p["labels"], p["contradiction"]) for p in status["learningCurve"]] == [
        ("v0001", 40, None), ("v0002", 40, 0)]
    table = run("status", tmp_path / "p").stdout
    assert "Learning curve (accuracy on items picked at random, so not flattered by the queue)" in table
    assert table.splitlines()[-1].split() == ["v0002", "40", "-", "-", "0", "0.0%"]


def test_fewer_than_two_categories_is_a_clear_message(tmp_path):
    tabular_project(tmp_path)
    label_through_api(tmp_path / "p", lambda item: "big", 5)
    result = run("train", tmp_path / "p", ok=False)
    assert result.returncode == 2
    assert result.stderr.strip() == "labelloop: error: Training needs labels in at least two categories (so far: big 5)."
    models = tmp_path / "p" / "models" / "classifier"
    assert not models.exists() or not list(models.glob("v*"))
