"""The plugin on each supported DSS: the fake's API per version, and the reads, the webapp, the
sampler and the metrics step on the oldest (12.6) and the newest (13.5) of them.

Before DSS 13.1 a read with the schema's types fails on one empty int or boolean cell; the plugin's
own metadata dataset leaves ``query_rank`` and ``duration_ms`` empty for random items.
"""
from __future__ import annotations

import inspect
import json

import flask
import numpy as np
import pandas as pd
import pytest
from fake_dataiku.harness import DSS_VERSIONS, FakeDSS, code_env_pythons, load_fake_dataiku
from paths import ROOT
from polling import eventually
from sampler_models import pool, tabular_classifier, three_classes

from labelloop.dss.platform import DSSPlatform
from labelloop.store.items import row_ids

SAMPLER = ROOT / "custom-recipes" / "query-sampler"
STEP = ROOT / "python-steps" / "labeling-metrics"
OLDEST, NEWEST = DSS_VERSIONS


def gappy(rows: int = 120) -> pd.DataFrame:
    """A pool whose int and boolean columns each have empty cells."""
    frame = pool(rows)
    frame["count"] = pd.array([None if n % 17 == 3 else n * 1_000_003 for n in range(rows)], dtype="Int64")
    frame["flag"] = pd.array([None if n % 13 == 5 else n % 2 == 0 for n in range(rows)], dtype="boolean")
    return frame


def metadata_with_gaps(ids: list) -> pd.DataFrame:
    """Metadata as the webapp writes it: random items have no query rank, a skip has no duration."""
    return pd.DataFrame({"date": pd.Timestamp("2026-11-01"), "data_id": ids, "comment": "",
                         "session": 1, "status": ["LABELED"] * (len(ids) - 1) + ["SKIPPED"], "annotator": "ada",
                         "label": [str(n % 3) for n in range(len(ids) - 1)] + [None],
                         "label_id": range(1, len(ids) + 1), "strategy": "random",
                         "query_rank": pd.array([None] * len(ids), dtype="Int64"),
                         "duration_ms": pd.array([1500] * (len(ids) - 1) + [None], dtype="Int64")})


def as_dss(dss, function):
    """``function(DSSPlatform())`` inside ``dss``, as plugin code outside a recipe runs."""
    load_fake_dataiku()
    import dataiku._instance as current

    previous, current.INSTANCE = current.INSTANCE, dss
    try:
        return function(DSSPlatform())
    finally:
        current.INSTANCE = previous


# The fake's API per version


def test_dss_12_6_reads_fail_on_one_empty_int_or_boolean_cell_and_13_1_offers_nullable_integers(tmp_path):
    old, new = FakeDSS(tmp_path / "old", OLDEST), FakeDSS(tmp_path / "new", NEWEST)
    for dss in (old, new):
        dss.add_dataset("rows", gappy(20))
    dataiku = load_fake_dataiku()
    old_rows = as_dss(old, lambda _: dataiku.Dataset("rows"))
    new_rows = as_dss(new, lambda _: dataiku.Dataset("rows"))
    assert "use_nullable_integers" not in inspect.signature(old_rows.get_dataframe).parameters
    assert "use_nullable_integers" in inspect.signature(new_rows.get_dataframe).parameters
    assert all("use_nullable_integers" not in inspect.signature(d.iter_dataframes).parameters
               for d in (old_rows, new_rows))
    with pytest.raises(Exception, match="Integer column has NA values"):
        as_dss(old, lambda _: old_rows.get_dataframe(columns=["count"], infer_with_pandas=False))
    with pytest.raises(Exception, match="NA values"):
        as_dss(old, lambda _: old_rows.get_dataframe(columns=["flag"], infer_with_pandas=False))
    read = as_dss(new, lambda _: new_rows.get_dataframe(columns=["count"], infer_with_pandas=False,
                                                        use_nullable_integers=True))
    assert read["count"].dtype == "Int64" and read["count"].isna().sum() == 1
    with pytest.raises(Exception, match="NA values"):  # no nullable booleans, on any version
        as_dss(new, lambda _: new_rows.get_dataframe(columns=["flag"], infer_with_pandas=False,
                                                     use_nullable_integers=True))


def test_new_embeddings_takes_text_overflow_mode_from_dss_13_only(tmp_path):
    old, new = FakeDSS(tmp_path / "old", OLDEST), FakeDSS(tmp_path / "new", NEWEST)
    old_llm, new_llm = (dss.client.get_default_project().get_llm("m") for dss in (old, new))
    assert list(inspect.signature(old_llm.new_embeddings).parameters) == []
    assert list(inspect.signature(new_llm.new_embeddings).parameters) == ["text_overflow_mode"]
    with pytest.raises(TypeError):
        old_llm.new_embeddings(text_overflow_mode="TRUNCATE")


def test_the_plugin_code_env_builds_on_every_supported_dss_but_not_with_python_3_12():
    desc = json.loads((ROOT / "code-env" / "python" / "desc.json").read_text())
    for version in DSS_VERSIONS:
        offered = code_env_pythons(desc, tuple(map(int, version.split("."))))
        assert "PYTHON39" in offered and "PYTHON312" not in offered
    assert "PYTHON312" in desc["acceptedPythonInterpreters"]  # docs/how-to/install-dss.md says DSS 12 and 13 cannot use it


# The plugin's reads on each version


def test_reads_whole_and_in_chunks_keep_gaps_and_the_schema_s_types(dss_any):
    frame = gappy()
    dss_any.add_dataset("rows", frame)
    whole = as_dss(dss_any, lambda platform: platform.read_dataset("rows"))
    chunks = as_dss(dss_any, lambda platform: list(platform.iter_dataset("rows", 25)))
    assert [len(c) for c in chunks] == [25, 25, 25, 25, 20]
    together = pd.concat(chunks, ignore_index=True)
    pd.testing.assert_frame_equal(whole, together)
    assert whole["count"].dtype == "Int64" and whole["flag"].dtype == "boolean"
    assert whole["count"].isna().sum() == frame["count"].isna().sum() > 0
    assert whole["count"].dropna().tolist() == frame["count"].dropna().tolist()  # beyond float precision too
    pd.testing.assert_series_equal(whole["flag"], frame["flag"])
    assert row_ids(whole) == row_ids(together)
    assert as_dss(dss_any, lambda platform: platform.read_dataset("rows", columns=["flag", "f1"])).columns.tolist() \
        == ["flag", "f1"]


def test_the_query_sampler_reads_a_pool_with_gaps_in_chunks_and_metadata_with_empty_ranks(dss_any):
    frame = gappy(300)
    dss_any.add_dataset("unlabeled", frame)
    dss_any.add_dataset("queries")
    dss_any.add_model("classifier", tabular_classifier(frame))
    ids = row_ids(dss_any.read_as_dss("unlabeled"))
    dss_any.add_dataset("metadata", metadata_with_gaps(ids[:10]))
    dss_any.run(SAMPLER, {"chunk_size": 64.0, "random_share": 0.0},
                inputs={"saved_model": ["classifier"], "unlabeled_samples": ["unlabeled"],
                        "labeling_metadata": ["metadata"]}, outputs={"queries": ["queries"]})
    queries = dss_any.platform.read_dataset("queries")
    assert set(queries["item_id"]) == set(ids[10:])  # every unanswered row, with the webapp's ids


def test_the_metrics_step_reads_metadata_with_empty_ranks(dss_any):
    frame = pool(200)
    frame.insert(0, "row_id", [f"r{i}" for i in range(len(frame))])
    dss_any.add_dataset("rows", frame)
    first, second = dss_any.add_model("clf", tabular_classifier(frame.iloc[:12])), \
        dss_any.add_model("clf", tabular_classifier(frame))
    answers = metadata_with_gaps(frame["row_id"].iloc[:30].tolist())
    answers["label"] = np.where(answers["status"] == "LABELED", three_classes(frame.iloc[:30]), None)
    answers["model_version"] = [first] * 10 + [second] * 20
    dss_any.add_dataset("meta", answers)
    dss_any.run(STEP, {"saved_model": "clf", "unlabeled": "rows", "metadata_ds": "meta", "id_column": "row_id"})
    stored = dss_any.platform.get_variables()["LABELLOOP__clf__metrics"]
    assert stored[second]["previous"] == first and stored[second]["compared"] == 170
    assert stored[first]["randomLabels"] == 10 and stored[second]["randomLabels"] == 19


def gappy_backend(dss, journal_path):
    """A tabular labeling backend over ``rows`` writing ``labels`` and ``metadata``, on its own SQLite
    journal (a second one on a new file is a backend started afresh); its test client."""
    app = flask.Flask("backend")
    params = {"unlabeled": "rows", "categories": [{"from": "low"}, {"from": "high"}], "labels_ds": "labels",
              "metadata_ds": "metadata", "journal": dss.shared_journal(f"sqlite:///{journal_path}")}
    dss.run(ROOT / "webapps" / "tabular-labeling", params, init_globals={"app": app})
    return app.test_client(use_cookies=False)


def test_a_restarted_webapp_restores_its_answers_from_metadata_with_empty_query_ranks(dss_any, tmp_path):
    dss_any.add_dataset("rows", gappy(40))
    dss_any.add_dataset("labels")
    dss_any.add_dataset("metadata")

    def start(journal: str):
        return gappy_backend(dss_any, tmp_path / journal)

    client, alice = start("first.sqlite"), dss_any.login("alice")
    items = client.get("/batch?size=3", headers=alice).get_json()["items"]
    for item, label in zip(items, ["low", "high", "low"]):
        assert client.post("/label", json={"id": item["id"], "label": label}, headers=alice).status_code == 200
    assert eventually(lambda: dss_any.platform.dataset_exists("metadata")
                      and len(dss_any.platform.read_dataset("metadata")) == 3)
    assert dss_any.platform.read_dataset("metadata")["query_rank"].isna().all()  # random items: no rank
    dss_any.stop()

    client = start("second.sqlite")  # a new backend whose journal is gone
    stats = client.get("/stats", headers=alice).get_json()
    assert stats["perLabel"] == {"low": 2, "high": 1}
    served = {i["id"] for i in client.get("/batch?size=40", headers=alice).get_json()["items"]}
    assert len(served) == 37 and not served & {i["id"] for i in items}


def test_a_restarted_webapp_restores_its_groups_from_metadata_with_empty_group_sizes(dss_any, tmp_path):
    dss_any.add_dataset("rows", gappy(40))
    dss_any.add_dataset("labels")
    dss_any.add_dataset("metadata")

    def start(journal: str):
        return gappy_backend(dss_any, tmp_path / journal)

    client, alice = start("first.sqlite"), dss_any.login("alice")
    items = [i["id"] for i in client.get("/batch?size=4", headers=alice).get_json()["items"]]
    assert client.post("/label", json={"id": items[0], "label": "low"}, headers=alice).status_code == 200
    group = client.post("/label/bulk", json={"ids": items[1:], "label": "high"}, headers=alice).get_json()["group"]
    assert eventually(lambda: dss_any.platform.dataset_exists("metadata")
                      and len(dss_any.platform.read_dataset("metadata")) == 4)
    assert dss_any.platform.read_dataset("metadata")["group_size"].isna().sum() == 1  # the single answer: no group
    dss_any.stop()

    client = start("second.sqlite")  # a new backend whose journal is gone
    assert client.get("/stats", headers=alice).get_json()["perLabel"] == {"low": 1, "high": 3}
    listed = client.get("/groups", headers=alice).get_json()["groups"]
    assert [(g["group"], g["size"], g["label"]) for g in listed] == [(group, 3, "high")]
    undone = client.post("/label/bulk/undo", json={"group": group}, headers=alice).get_json()
    assert undone["withdrawn"] == 3 and undone["stats"]["perLabel"] == {"low": 1}
