"""Suggestions that earn their place, and the audit slice that measures their pull (DESIGN.md
section 15), through the HTTP API and the ``labelloop`` command."""
from __future__ import annotations

import json
import sqlite3

import numpy as np
import pandas as pd
from polling import eventually
from test_cli import run
from test_online_suggestions import CATEGORIES, pool, truth
from test_webapp_api import as_user, make_client

from labelloop.labeling.suggestion_gate import RECHECK_GROWTH, version_verdict
from labelloop.platform.parquet_parts import PartedDataset
from labelloop.standalone.project import Project
from labelloop.store.journal import LABELED, Annotation, Journal
from labelloop.store.materialize import metadata_frame


def label_batch(client, answer, size=10, user="alice") -> list:
    """Serve a batch and label each item with ``answer(item_id)``; returns the served items."""
    items = client.get(f"/batch?size={size}", headers=as_user(user)).get_json()["items"]
    for item in items:
        assert client.post("/label", json={"id": item["id"], "label": answer(item["id"])},
                           headers=as_user(user)).status_code == 200
    return items


def learned(service, count: int) -> bool:
    online = service.suggestions.online
    return eventually(lambda: online.status()["labels"] == count and online.verdict() is not None)


def test_ten_labels_all_of_one_category_show_no_suggestion_until_the_model_beats_the_majority(tmp_path):
    frame = pool()
    client, service = make_client(tmp_path, frame, categories=CATEGORIES, audit_share=0.0)
    label_batch(client, lambda _: "cat")
    assert learned(service, 10)
    items = client.get("/batch?size=10").get_json()["items"]
    assert len(items) == 10 and all(item["suggestion"] is None for item in items)
    shown = client.get("/stats").get_json()["suggestions"]
    assert shown["shown"] is False and "all 10 labels so far are 'cat'" in shown["reason"]

    for item in items:  # the true labels, which x decides: a model soon beats always answering one category
        client.post("/label", json={"id": item["id"], "label": truth(frame, item["id"])})
    label_batch(client, lambda i: truth(frame, i), size=20)
    assert learned(service, 40)
    shown = client.get("/stats").get_json()["suggestions"]
    assert shown["shown"] is True and shown["reason"] is None and shown["method"] == "cross-validation"
    # checked again each time it learned a tenth more labels: the last check saw nearly all 40, however they came in
    assert shown["accuracy"] > shown["majority"] and 40 / RECHECK_GROWTH <= shown["heldOut"] <= 40
    items = client.get("/batch?size=5").get_json()["items"]
    assert all(item["suggestion"]["source"] == "online" for item in items)
    service.suggestions.online.stop()
    service.journal.close()


def test_labels_the_data_cannot_predict_show_no_suggestion_and_say_why(tmp_path):
    frame = pool()
    rng = np.random.default_rng(1)
    noise = {str(n): ("cat" if rng.random() < 0.85 else "dog") for n in frame["n"]}  # x and colour tell nothing
    client, service = make_client(tmp_path, frame, categories=CATEGORIES, audit_share=0.0)
    for _ in range(4):
        label_batch(client, noise.get)
    assert learned(service, 40)
    shown = client.get("/stats").get_json()["suggestions"]
    assert shown["shown"] is False and shown["accuracy"] <= shown["majority"]
    assert "no better than always answering 'cat'" in shown["reason"]
    assert all(item["suggestion"] is None for item in client.get("/batch?size=10").get_json()["items"])
    service.suggestions.online.stop()
    service.journal.close()


def test_audit_slice_items_carry_no_suggestion_and_the_pull_is_in_stats(tmp_path):
    frame = pool(300)
    client, service = make_client(tmp_path, frame, categories=CATEGORIES, audit_share=0.3)
    label_batch(client, lambda i: truth(frame, i), size=30)
    assert learned(service, 30) and service.suggestions.online.verdict().shown
    served = []
    for user in ("ada", "bob"):
        for _ in range(4):
            # ada gives the true label; bob takes what he is shown, and "cat" when shown nothing
            answer = (lambda i: truth(frame, i)) if user == "ada" else None
            items = client.get("/batch?size=10", headers=as_user(user)).get_json()["items"]
            for item in items:
                label = answer(item["id"]) if answer else (item["suggestion"] or {"label": "cat"})["label"]
                client.post("/label", json={"id": item["id"], "label": label}, headers=as_user(user))
                served.append((user, item, label))
    meta = metadata_frame(service.journal.current_frame()).set_index("data_id")
    hidden = [item["suggestion"] is None for _, item, _ in served]
    assert hidden == [bool(meta.loc[item["id"], "audited"]) for _, item, _ in served]  # recorded per answer
    assert 0.1 < np.mean(hidden) < 0.5  # about the share asked for, drawn at random
    assert meta.loc[[item["id"] for _, item, _ in served], "suggested"].notna().all()

    pull = client.get("/stats").get_json()["suggestionPull"]
    shown = [(user, item["suggestion"]["label"], label) for user, item, label in served if item["suggestion"]]
    assert pull["withSuggestion"]["items"] == len(shown)
    assert pull["withSuggestion"]["agree"] == round(np.mean([s == a for _, s, a in shown]), 6)
    audited = [(user, meta.loc[item["id"], "suggested"], label) for user, item, label in served if not item["suggestion"]]
    assert pull["audited"]["items"] == len(audited)
    assert pull["audited"]["agree"] == round(np.mean([s == a for _, s, a in audited]), 6)
    bob = pull["byAnnotator"]["bob"]
    assert bob["withSuggestion"]["agree"] == 1.0  # he always took it
    assert bob["audited"]["items"] == sum(u == "bob" for u, _, _ in audited)
    assert "alice" not in pull["byAnnotator"]  # her first labels were served before any suggestion: nothing to measure
    assert set(pull["byCategory"]) <= {"cat", "dog"}
    assert sum(c["withSuggestion"]["items"] for c in pull["byCategory"].values()) == len(shown)
    service.suggestions.online.stop()
    service.journal.close()


def test_an_audit_share_of_zero_turns_the_slice_off_and_a_bad_one_is_refused(tmp_path):
    frame = pool()
    client, service = make_client(tmp_path, frame, categories=CATEGORIES, audit_share=0.0)
    label_batch(client, lambda i: truth(frame, i), size=30)
    assert learned(service, 30) and service.suggestions.online.verdict().shown
    items = client.get("/batch?size=40").get_json()["items"]
    assert len(items) == 40 and all(item["suggestion"] is not None for item in items)
    service.suggestions.online.stop()
    service.journal.close()


def test_init_records_the_audit_share_and_refuses_one_out_of_range(tmp_path, wine_csv):
    bad = run("init", tmp_path / "bad", "--data", wine_csv, "--type", "tabular", "--categories", "a,b,c",
              "--audit-share", "2", ok=False)
    assert bad.returncode != 0 and "audit_share must be a number from 0 to 1." in bad.stderr
    assert "Traceback" not in bad.stderr and not (tmp_path / "bad" / "labelloop.json").exists()
    run("init", tmp_path / "proj", "--data", wine_csv, "--type", "tabular", "--categories", "a,b,c",
        "--id-column", "wine_id", "--audit-share", "0.25")
    assert Project.open(tmp_path / "proj").settings.audit_share == 0.25
    run("init", tmp_path / "default", "--data", wine_csv, "--type", "tabular", "--categories", "a,b,c")
    assert json.loads((tmp_path / "default" / "labelloop.json").read_text())["audit_share"] == 0.1


def test_quality_json_reports_the_pull_with_and_without_the_suggestion(tmp_path, wine_csv):
    run("init", tmp_path / "proj", "--data", wine_csv, "--type", "tabular", "--categories", "a,b,c",
        "--id-column", "wine_id")
    project = Project.open(tmp_path / "proj")
    answers = [  # (item, annotator, label, suggested, audited)
        ("1000", "ada", "a", "a", False), ("1001", "ada", "b", "a", False), ("1002", "ada", "a", "a", True),
        ("1003", "ada", "c", "a", True), ("1004", "bob", "b", "b", False), ("1005", "bob", "c", "b", True),
        ("1006", "bob", "c", None, False),  # served before any suggestion was shown: not counted
    ]
    for item, annotator, label, suggested, audited in answers:
        project.journal.record(Annotation(item, annotator, LABELED, label, suggested=suggested, audited=audited))
    project.journal.record(Annotation("1007", "bob", "SKIPPED", suggested="a", audited=False))  # no answer to compare
    project.close()
    pull = json.loads(run("quality", tmp_path / "proj", "--json").stdout)["suggestionPull"]
    assert pull["withSuggestion"] == {"agree": round(2 / 3, 6), "items": 3}
    assert pull["audited"] == {"agree": round(1 / 3, 6), "items": 3}
    assert pull["byAnnotator"]["ada"] == {"withSuggestion": {"agree": 0.5, "items": 2},
                                          "audited": {"agree": 0.5, "items": 2}}
    assert pull["byAnnotator"]["bob"] == {"withSuggestion": {"agree": 1.0, "items": 1},
                                          "audited": {"agree": 0.0, "items": 1}}
    assert pull["byCategory"]["a"] == {"withSuggestion": {"agree": 0.5, "items": 2}, "audited": {"agree": 0.5, "items": 2}}
    text = run("quality", tmp_path / "proj").stdout
    assert "agreement with the suggestion" in text and "0.667 of 3" in text and "0.333 of 3" in text


def test_a_version_is_judged_on_its_random_slice_else_on_its_cross_validation():
    on_slice = version_verdict({"randomAccuracy": 0.7, "randomLabels": 10, "randomMajority": 0.8,
                                "randomMajorityLabel": "cat", "cvAccuracy": 0.99, "cvMajority": 0.5})
    assert not on_slice.shown and on_slice.method == "random slice" and on_slice.held_out == 10
    assert "no better than always answering 'cat' (80%)" in on_slice.reason
    by_cv = version_verdict({"cvAccuracy": 0.9, "cvMajority": 0.6, "cvMajorityLabel": "cat", "labels": 50})
    assert by_cv.shown and by_cv.method == "cross-validation" and by_cv.held_out == 50
    assert not version_verdict(None).shown and not version_verdict({"randomLabels": 0, "randomAccuracy": None}).shown


def test_the_trainer_measures_the_majority_answer_on_its_own_folds(tmp_path, wine_csv):
    run("init", tmp_path / "proj", "--data", wine_csv, "--type", "tabular", "--categories", "a,b,c",
        "--id-column", "wine_id")
    wine = pd.read_csv(wine_csv)
    project = Project.open(tmp_path / "proj")
    for _, row in wine.head(60).iterrows():
        label = "abc"[int(row["alcohol"] > 13) + int(row["alcohol"] > 13.5)]
        project.journal.record(Annotation(str(int(row["wine_id"])), "ada", LABELED, label))
    project.close()
    model = json.loads(run("train", tmp_path / "proj", "--json").stdout)
    labels = pd.Series(["abc"[int(a > 13) + int(a > 13.5)] for a in wine.head(60)["alcohol"]])
    assert model["cvMajorityLabel"] == labels.value_counts().index[0]
    assert model["cvMajority"] < model["cvAccuracy"]
    assert model["metrics"]["cvMajority"] == model["cvMajority"]  # stored beside the version's metrics, for the gate
    assert abs(model["cvMajority"] - labels.value_counts().iloc[0] / 60) < 0.05  # stratified folds keep the shares


def test_a_journal_and_metadata_parts_written_before_the_audit_slice_gain_its_columns(tmp_path):
    url = f"sqlite:///{tmp_path / 'journal.sqlite'}"
    journal = Journal(url)
    journal.record(Annotation("1", "ada", LABELED, "cat"))
    journal.close()
    with sqlite3.connect(tmp_path / "journal.sqlite") as conn:  # as an older labelloop left it
        conn.execute("DROP INDEX events_group")
        for column in ("audited", "suggested", "group_id", "group_size", "suggested_by"):
            conn.execute(f"ALTER TABLE events DROP COLUMN {column}")
    journal = Journal(url)
    journal.record(Annotation("2", "ada", LABELED, "dog", audited=True, suggested="cat"))
    meta = metadata_frame(journal.current_frame())
    assert meta["audited"].tolist() == [False, True] and meta["suggested"].isna().tolist() == [True, False]
    journal.close()

    parts = PartedDataset(tmp_path / "metadata", ("data_id", "annotator"))
    older = ["audited", "suggested", "group", "group_size", "suggested_by"]
    parts.write(meta.head(1).drop(columns=older))  # an older dataset's parts
    PartedDataset(tmp_path / "metadata", ("data_id", "annotator")).write(meta.tail(1))
    read = PartedDataset(tmp_path / "metadata", ("data_id", "annotator")).read().sort_values("label_id")
    assert read["data_id"].tolist() == ["1", "2"] and read["suggested"].isna().tolist() == [True, False]
    assert pd.isna(read["audited"].iloc[0]) and bool(read["audited"].iloc[1])
