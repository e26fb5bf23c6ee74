"""A webapp starting on a journal that already holds answers (labeling/app.py)."""
from __future__ import annotations

import gc

import pandas as pd
import pytest

from labelloop.labeling.app import create_app, paused_gc, webapp_of
from labelloop.standalone.project import Project, init_project
from labelloop.standalone.server import serve_settings
from labelloop.store.journal import LABELED, SKIPPED, Annotation


def test_a_server_starts_with_the_answers_already_in_its_journal_and_leaves_the_collector_on(tmp_path):
    pd.DataFrame({"row_id": range(300), "x": range(300)}).to_csv(tmp_path / "rows.csv", index=False)
    init_project(tmp_path / "proj", tmp_path / "rows.csv", "tabular", [{"key": "a"}, {"key": "b"}], id_column="row_id")
    project = Project.open(tmp_path / "proj", user="ada")
    ids = list(project.source.ids)
    project.journal.record_many(
        [Annotation(item_id=i, annotator="bob", status=SKIPPED if n % 10 == 0 else LABELED,
                    label=None if n % 10 == 0 else "ab"[n % 2]) for n, i in enumerate(ids[:200])]
        + [Annotation(item_id=ids[1], annotator="cy", status=LABELED, label="a")])
    app = create_app(serve_settings(project))
    try:
        assert gc.isenabled()
        stats = app.test_client().get("/stats").get_json()
        assert (stats["labeled"], stats["skipped"], stats["remaining"]) == (180, 20, 100)
        assert stats["perAnnotator"] == {"bob": {"labeled": 180, "skipped": 20}, "cy": {"labeled": 1, "skipped": 0}}
        served = {item["id"] for item in app.test_client().get("/batch?size=50").get_json()["items"]}
        assert served and not served & set(ids[:200])  # answered items are not served again
    finally:
        webapp_of(app).stop()
        project.close()


def test_the_collector_comes_back_even_when_building_fails():
    with pytest.raises(RuntimeError), paused_gc():
        assert not gc.isenabled()
        raise RuntimeError("a broken dataset")
    assert gc.isenabled()
