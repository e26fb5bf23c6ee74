"""The command line, run the way a user runs it: the installed ``labelloop`` script."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sklearn.datasets import load_wine

from labelloop.labeling.app import create_app, webapp_of
from labelloop.sampling import DEFAULT_DIVERSITY, DIVERSITY
from labelloop.standalone.project import Project
from labelloop.standalone.server import serve_settings
from labelloop.store.journal import LABELED, SKIPPED, Annotation

LABELLOOP = str(Path(sys.executable).parent / "labelloop")


def run(*args, ok=True):
    result = subprocess.run([LABELLOOP, *map(str, args)], capture_output=True, text=True, timeout=120)
    if ok:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def project(tmp_path, wine_csv):
    run("init", tmp_path / "proj", "--data", wine_csv, "--type", "tabular", "--categories", "a=Class A,b,c",
        "--id-column", "wine_id")
    project = Project.open(tmp_path / "proj")
    journal = project.journal
    journal.record(Annotation("1000", "alice", LABELED, "a", session=1, duration_ms=1200))
    journal.record(Annotation("1001", "alice", LABELED, "b", session=1))
    journal.record(Annotation("1002", "bob", SKIPPED, comment="unsure"))
    journal.record(Annotation("1001", "alice", LABELED, "c", session=2))  # relabel
    yield project
    project.close()


def test_init_records_the_settings_and_status_reports_progress(project):
    settings = json.loads((project.root / "labelloop.json").read_text())
    assert settings["categories"] == [{"key": "a", "caption": "Class A"}, {"key": "b", "caption": "b"},
                                      {"key": "c", "caption": "c"}]
    status = json.loads(run("status", project.root, "--json").stdout)
    assert (status["total"], status["labeled"], status["skipped"], status["remaining"]) == (178, 2, 1, 175)
    assert status["perLabel"] == {"a": 1, "c": 1}
    assert status["perAnnotator"] == {"alice": {"labeled": 2, "skipped": 0}, "bob": {"labeled": 0, "skipped": 1}}
    assert status["sessions"] == {"1": 1, "2": 1} and status["modelVersions"] == []
    text = run("status", project.root).stdout
    assert "Items     2 labeled   1 skipped   175 remaining" in text and "alice 2 labeled/0 skipped" in text


def test_status_and_stats_count_a_team_s_items_and_answers_the_same_way(project):
    """Two annotators on one item: one labeled item, two answers, in ``status`` and in ``/stats``."""
    project.journal.record(Annotation("1000", "bob", LABELED, "b", session=2))
    status = json.loads(run("status", project.root, "--json").stdout)
    keys = ["labeled", "labeledItems", "skippedItems", "labelAnswers", "skipAnswers", "perLabel", "perAnnotator"]
    assert [status[k] for k in keys[:5]] == [2, 2, 1, 3, 1]
    assert status["perLabel"] == {"a": 1, "b": 1, "c": 1}  # answers: item 1000 has a and b
    assert "Answers   3 labels   1 skips" in run("status", project.root).stdout
    app = create_app(serve_settings(project))
    try:
        served = app.test_client().get("/stats").get_json()
    finally:
        webapp_of(app).stop()
    assert {k: served[k] for k in keys} == {k: status[k] for k in keys}


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_export_writes_labels_and_metadata_from_the_journal(project, tmp_path, fmt):
    out = run("export", project.root, "--format", fmt).stdout.strip()
    assert out == str(project.root / "exports" / f"labels.{fmt}")
    labels = _read(out, fmt)
    assert labels["wine_id"].tolist() == [1000, 1001]
    assert labels["label"].tolist() == ["a", "c"] and labels["item_id"].astype(str).tolist() == ["1000", "1001"]
    assert labels["alcohol"].tolist() == project.source.rows(["1000", "1001"])["alcohol"].tolist()
    meta_path = tmp_path / f"meta.{fmt}"
    run("export", project.root, "--format", fmt, "--metadata", "--out", meta_path)
    meta = _read(meta_path, fmt)
    assert list(meta.columns) == ["date", "data_id", "comment", "session", "status", "annotator", "label", "label_id",
                                  "strategy", "uncertainty", "query_rank", "model_version", "duration_ms",
                                  "audited", "suggested", "group", "group_size", "suggested_by"]
    assert sorted(zip(meta["data_id"].astype(str), meta["status"], meta["annotator"])) == [
        ("1000", "LABELED", "alice"), ("1001", "LABELED", "alice"), ("1002", "SKIPPED", "bob")]
    assert meta.loc[meta["data_id"].astype(str) == "1002", "comment"].tolist() == ["unsure"]


def _read(path, fmt):
    if fmt == "csv":
        return pd.read_csv(path)
    if fmt == "parquet":
        return pd.read_parquet(path)
    return pd.read_json(path, lines=True)


def test_light_commands_leave_the_heavy_libraries_unimported(tmp_path, wine_csv):
    """Each command imports what it needs when it runs (cli.py): scikit-learn, scipy and Flask took
    seconds to import, which init, status and export paid on every run."""
    root = str(tmp_path / "proj")
    code = ("import sys\nfrom labelloop.standalone.cli import main\n"
            f"main(['init', {root!r}, '--data', {str(wine_csv)!r}, '--type', 'tabular', '--categories', 'a,b'])\n"
            f"main(['status', {root!r}])\nmain(['export', {root!r}, '--format', 'csv'])\n"
            "print(sorted({name.split('.')[0] for name in sys.modules} & {'sklearn', 'scipy', 'joblib', 'flask', 'werkzeug'}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"


def test_export_refuses_an_out_path_of_another_format(project):
    result = run("export", project.root, "--format", "csv", "--out", project.root / "x.parquet", ok=False)
    assert result.returncode == 2 and "--out must end in .csv" in result.stderr


def _init_error(tmp_path, data, *extra, data_type="tabular", categories="a,b"):
    result = run("init", tmp_path / "new", "--data", data, "--type", data_type, "--categories", categories, *extra, ok=False)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("labelloop: error: "), result.stderr
    assert not (tmp_path / "new" / "labelloop.json").exists()
    return lines[0]


def test_init_stops_with_one_line_for_each_user_mistake(tmp_path, wine_csv):
    (tmp_path / "header_only.csv").write_text("a,b\n")
    (tmp_path / "zero.csv").write_bytes(b"")
    (tmp_path / "labeled.csv").write_text("x,label\n1,a\n")
    (tmp_path / "pics").mkdir()
    (tmp_path / "pics" / "notes.txt").write_text("not an image")
    assert "no such file" in _init_error(tmp_path, tmp_path / "missing.csv")
    assert "no rows" in _init_error(tmp_path, tmp_path / "header_only.csv")
    assert "no rows" in _init_error(tmp_path, tmp_path / "zero.csv")
    assert "--id-column 'nope' is not a column" in _init_error(tmp_path, wine_csv, "--id-column", "nope")
    assert "--columns-first 'hues' is not a column" in _init_error(tmp_path, wine_csv, "--columns-first", "hue,hues")
    assert "duplicate values" in _init_error(tmp_path, wine_csv, "--id-column", "ash")
    assert "Duplicate category 'a'" in _init_error(tmp_path, wine_csv, categories="a,b,a")
    assert "at least two categories" in _init_error(tmp_path, wine_csv, categories="a")
    assert "must not be empty" in _init_error(tmp_path, wine_csv, categories="a,,b")
    assert "needs --text-column" in _init_error(tmp_path, wine_csv, data_type="text")
    assert "already has a column 'label'" in _init_error(tmp_path, tmp_path / "labeled.csv")
    assert "must be a folder" in _init_error(tmp_path, wine_csv, data_type="image")
    assert "must be a CSV, Parquet or JSONL file" in _init_error(tmp_path, tmp_path / "pics")
    assert "has no image files" in _init_error(tmp_path, tmp_path / "pics", data_type="image")


def test_init_refuses_to_overwrite_a_project_and_commands_need_one(project, tmp_path, wine_csv):
    result = run("init", project.root, "--data", wine_csv, "--type", "tabular", "--categories", "a,b", ok=False)
    assert result.returncode == 2 and "already a labelloop project" in result.stderr
    result = run("status", tmp_path / "nowhere", ok=False)
    assert result.returncode == 2 and "is not a labelloop project" in result.stderr


def test_init_accepts_an_image_folder(tmp_path):
    pics = tmp_path / "pics"
    (pics / "cats").mkdir(parents=True)
    for name in ("cats/1.png", "2.JPG", "3.webp", ".DS_Store", "readme.md"):
        (pics / name).write_bytes(b"x")
    out = run("init", tmp_path / "proj", "--data", pics, "--type", "image", "--categories", "cat,dog").stdout
    assert "(image, 3 items)" in out
    status = json.loads(run("status", tmp_path / "proj", "--json").stdout)
    assert status["total"] == 3 and status["features"]["kind"] == "media"
    uses = "the grey image at 16x16 and its gradient orientations"  # learning/media_features.py, not TF-IDF
    assert status["features"]["uses"] == uses and f"Features  {uses}" in run("status", tmp_path / "proj").stdout


def test_a_lost_journal_is_rebuilt_from_the_metadata_dataset(project):
    from labelloop.store.materialize import write_outputs

    write_outputs(project.platform, project.journal.current_frame(), project.source, project.outputs)
    before = json.loads(run("status", project.root, "--json").stdout)
    project.journal.close()
    (project.root / "journal.sqlite").unlink()
    assert not list(project.root.glob("journal.sqlite*"))  # no WAL left that could refill it
    after = json.loads(run("status", project.root, "--json").stdout)
    assert after == before


def test_sample_needs_a_model_then_writes_queries_without_answered_items(project):
    result = run("sample", project.root, "--diversity", "none", ok=False)  # a diverse first batch: test_diversity.py
    assert result.returncode == 2 and "No model has been trained yet" in result.stderr
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    frame = project.source.frame
    model = make_pipeline(make_column_transformer(("passthrough", ["alcohol", "hue"])), LogisticRegression(max_iter=500))
    project.platform.registry("classifier").save(model.fit(frame, load_wine().target), {})
    summary = json.loads(run("sample", project.root, "--max-queries", "20", "--strategy", "entropy", "--seed", "1",
                             "--json").stdout)
    assert summary == {"scored": 175, "unscored": 0, "answered": 3, "queries": 20, "random": 2, "session": 1,
                       "modelVersion": "v0001", "diversity": DEFAULT_DIVERSITY}  # with a maximum
    queries = project.platform.read_dataset("queries")
    assert len(queries) == 20 and {"1000", "1001", "1002"}.isdisjoint(queries["item_id"])
    assert queries["item_id"].tolist() == queries["wine_id"].astype(str).tolist()
    text = run("sample", project.root).stdout
    assert text.startswith("Session 2: 175 queries (18 random) from 175 unlabeled items, model v0001.")
    result = run("sample", project.root, "--max-queries", "0", ok=False)
    assert result.returncode == 2 and "max_queries" in result.stderr
    text = run("sample", project.root, "--max-queries", "30").stdout  # for session 3: bob's skip is back
    assert text.startswith(f"Session 3: 30 queries (3 random, {DIVERSITY[DEFAULT_DIVERSITY]}) from 176")
    text = run("sample", project.root, "--max-queries", "30", "--diversity", "none").stdout
    assert text.startswith("Session 4: 30 queries (3 random) from 176")
    assert len(project.platform.read_dataset("queries")) == 30
    result = run("sample", project.root, "--diversity", "kmeans", ok=False)
    assert result.returncode == 2 and "invalid choice: 'kmeans'" in result.stderr


def test_init_lists_a_folder_with_a_symlink_cycle_once(tmp_path):
    images = tmp_path / "images"
    (images / "cats" / "deep").mkdir(parents=True)
    (images / "a.png").write_bytes(b"png")
    (images / "cats" / "b.png").write_bytes(b"png")
    os.symlink(images / "cats", images / "cats" / "deep" / "loop")  # back up: walking into it never ends
    run("init", tmp_path / "proj", "--data", images, "--type", "image", "--categories", "cat,dog")
    status = json.loads(run("status", tmp_path / "proj", "--json").stdout)
    assert status["total"] == 2
