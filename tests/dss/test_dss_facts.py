"""DSS behaviours the plugin must live with (DESIGN.md section 2), through the real entry files.

Each test runs the plugin's recipe or webapp backend in the fake DSS, whose rules follow DSS's
public sources (see tests/fake_dataiku/dataiku/__init__.py): models whose preprocessing drops
rows, chunked reads whose types pandas guesses, version ids that are not ordered names, an active
version that is not the newest, download streams that are HTTP responses, other projects' datasets.
"""
from __future__ import annotations

import flask
import numpy as np
import pandas as pd
import pytest
from fake_dataiku.harness import DescriptorError
from paths import ROOT
from polling import eventually
from sampler_models import pool, tabular_classifier

from labelloop.sampling import scores
from labelloop.store.items import row_ids
from labelloop.store.metrics import metrics_variable

RECIPE = ROOT / "custom-recipes" / "query-sampler"
TABULAR = ROOT / "webapps" / "tabular-labeling"
CATEGORIES = [{"from": "low"}, {"from": "mid"}, {"from": "high"}]


def with_gaps(rows: int, every: int) -> pd.DataFrame:
    """A pool where every ``every``-th row misses a feature: a "drop rows" model skips those."""
    frame = pool(rows)
    frame.loc[frame.index % every == 3, "f2"] = np.nan
    return frame


def run_recipe(dss, config=None, unlabeled="unlabeled"):
    dss.add_dataset("queries")
    return dss.run(RECIPE, config or {}, inputs={"saved_model": ["clf"], "unlabeled_samples": [unlabeled]},
                   outputs={"queries": ["queries"]})


def measured(dss, model: str, version: str) -> None:
    """Store what the metrics step (dss/metrics_step.py) stores once a version's random slice is
    labeled: here, better than always answering the majority, so the version's suggestions show."""
    dss.platform.update_variables(lambda v: v.update({metrics_variable(model): {version: {
        "version": version, "randomLabels": 20, "randomAccuracy": 0.9, "randomMajority": 0.4,
        "randomMajorityLabel": "low"}}}))


def start_webapp(dss, tmp_path, **extra):
    dss.add_dataset("labels")
    dss.add_dataset("metadata")
    config = {"unlabeled": "rows", "categories": CATEGORIES, "labels_ds": "labels", "metadata_ds": "metadata",
              "journal": dss.shared_journal(f"sqlite:///{tmp_path / 'journal.sqlite'}"), **extra}
    app = flask.Flask("backend")
    dss.run(TABULAR, config, init_globals={"app": app})
    return app.test_client(use_cookies=False)


def test_the_sampler_ranks_the_rows_a_model_keeps_and_lists_the_ones_it_dropped(dss):
    frame = with_gaps(200, 10)
    estimator = tabular_classifier(frame.dropna())
    dss.add_dataset("unlabeled", frame)
    dss.add_model("clf", estimator)
    run_recipe(dss, {"random_share": 0.0, "chunk_size": 64.0})
    queries = dss.platform.read_dataset("queries")
    ids = row_ids(dss.read_as_dss("unlabeled"))
    kept = frame.notna().all(axis=1).to_numpy()
    expected = dict(zip(np.asarray(ids, dtype=object)[kept],
                        scores(estimator.predict_proba(frame[kept]), "margin")))
    ranked = queries[queries["strategy"] == "margin"]
    assert len(ranked) == kept.sum() and ranked["uncertainty"].is_monotonic_decreasing
    assert ranked["uncertainty"].to_numpy() == pytest.approx([expected[i] for i in ranked["item_id"]])
    dropped = queries[queries["strategy"] == "unscored"]
    assert set(dropped["item_id"]) == set(np.asarray(ids, dtype=object)[~kept])
    assert dropped["uncertainty"].isna().all() and dropped["f2"].isna().all()
    assert queries["strategy"].tolist()[-len(dropped):] == ["unscored"] * len(dropped)  # after the ranked ones


def test_suggestions_follow_their_own_rows_when_the_model_drops_some(dss, tmp_path):
    frame = with_gaps(40, 4)
    estimator = tabular_classifier(frame.dropna())
    dss.add_dataset("rows", frame)
    measured(dss, "clf", dss.add_model("clf", estimator))
    client = start_webapp(dss, tmp_path, saved_model="clf", audit_share=0.0)  # every item shows its suggestion
    items = client.get("/batch?size=40", headers=dss.login("ada")).get_json()["items"]
    by_id = dict(zip(row_ids(dss.read_as_dss("rows")), range(len(frame))))
    for item in items:
        row = frame.iloc[[by_id[item["id"]]]]
        if row.isna().any(axis=None):
            assert item["suggestion"] == {"label": None, "probabilities": {}, "unscored": True}
        else:
            assert item["suggestion"]["label"] == estimator.predict(row)[0]
    assert sum(1 for i in items if i["suggestion"]["label"] is None) == 10


def test_ids_of_rows_read_in_chunks_equal_ids_read_whole(dss, tmp_path):
    """Pandas guesses each chunk's types: "007" would be 7 in an all-digit chunk and "007" elsewhere."""
    codes = [f"{n:03d}" for n in range(60)] + [f"A{n}" for n in range(20)]
    frame = pool(80).assign(code=codes)
    dss.add_dataset("unlabeled", frame)
    dss.add_model("clf", tabular_classifier(frame))
    run_recipe(dss, {"chunk_size": 25.0, "random_share": 0.0})
    sampled = set(dss.platform.read_dataset("queries")["item_id"])
    dss.add_dataset("rows", frame)
    client = start_webapp(dss, tmp_path)
    served = {i["id"] for i in client.get("/batch?size=100", headers=dss.login("ada")).get_json()["items"]}
    assert sampled == served == set(row_ids(dss.read_as_dss("rows")))


def test_the_active_version_suggests_and_versions_are_ordered_by_training_date(dss, tmp_path):
    frame = pool(60)
    dss.add_dataset("rows", frame)
    first = dss.add_model("clf", tabular_classifier(frame))
    flipped = tabular_classifier(frame.assign(f1=-frame["f1"]))  # predicts the opposite of the first
    second = dss.add_model("clf", flipped, activate=False)
    measured(dss, "clf", first)
    assert sorted([first, second]) != [first, second]  # ids are not ordered names
    client = start_webapp(dss, tmp_path, saved_model="clf")
    ada = dss.login("ada")
    assert client.get("/config", headers=ada).get_json()["modelVersion"] == first
    assert client.get("/stats", headers=ada).get_json()["modelVersions"] == [first, second]
    item = client.get("/batch?size=1", headers=ada).get_json()["items"][0]
    row = frame.iloc[[row_ids(dss.read_as_dss("rows")).index(item["id"])]]
    assert item["suggestion"]["label"] == tabular_classifier(frame).predict(row)[0]
    client.get("/batch?size=1", headers=ada)
    assert dss.predictors_built == 1  # one predictor per (model, version), not one per request


def test_stored_metrics_come_in_training_order_whatever_the_ids(dss, tmp_path):
    from labelloop.store.metrics import metrics_variable

    frame = pool(30)
    dss.add_dataset("rows", frame)
    first = dss.add_model("clf", tabular_classifier(frame))
    second = dss.add_model("clf", tabular_classifier(frame.iloc[:15]))
    dss.platform.update_variables(lambda v: v.update({metrics_variable("clf"): {
        second: {"version": second, "contradictionRate": 0.01}, first: {"version": first}}}))
    client = start_webapp(dss, tmp_path, saved_model="clf")
    stopping = client.get("/stats", headers=dss.login("ada")).get_json()["stopping"]
    assert [m["version"] for m in stopping["metrics"]] == [first, second]


def test_media_from_a_dss_folder_carries_no_made_up_last_modified(dss, tmp_path):
    folder = dss.add_folder("pics")
    from PIL import Image

    Image.new("RGB", (8, 8), (255, 0, 0)).save(folder / "a.png")
    dss.add_dataset("labels")
    dss.add_dataset("metadata")
    app = flask.Flask("backend")
    dss.run(ROOT / "webapps" / "image-labeling", {
        "unlabeled": "pics", "categories": CATEGORIES, "labels_ds": "labels", "metadata_ds": "metadata",
        "journal": dss.shared_journal(f"sqlite:///{tmp_path / 'journal.sqlite'}")}, init_globals={"app": app})
    answer = app.test_client(use_cookies=False).get("/media/a.png", headers=dss.login("ada"))
    assert answer.status_code == 200 and answer.data == (folder / "a.png").read_bytes()
    assert "Last-Modified" not in answer.headers and answer.headers["ETag"]


def test_a_webapp_labels_a_dataset_of_another_project(dss, tmp_path):
    frame = pool(12)
    dss.add_dataset("SHARED.rows", frame)
    client = start_webapp(dss, tmp_path, unlabeled="SHARED.rows")
    ada = dss.login("ada")
    item = client.get("/batch?size=1", headers=ada).get_json()["items"][0]
    assert client.post("/label", json={"id": item["id"], "label": "mid"}, headers=ada).status_code == 200
    assert eventually(lambda: dss.platform.dataset_exists("labels") and len(dss.platform.read_dataset("labels")) == 1)
    assert dss.platform.read_dataset("labels")["item_id"].tolist() == [item["id"]]
    with pytest.raises(DescriptorError, match="canSelectForeign"):
        start_webapp(dss, tmp_path, labels_ds="SHARED.labels")
