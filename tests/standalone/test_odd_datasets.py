"""Datasets with odd content: each either works end to end or stops with one line naming the problem.

"Works" means what a user does with it: ``labelloop init``, label through the HTTP API, the
labels dataset written, ``labelloop train`` and ``labelloop sample``.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from test_cli import run

from labelloop.labeling.app import create_app, webapp_of
from labelloop.standalone.project import Project
from labelloop.standalone.server import serve_settings


def write_text(name: str, text: str, encoding: str = "utf-8"):
    def make(folder):
        (folder / name).write_bytes(text.encode(encoding))
        return folder / name
    return make


def write_frame(name: str, frame: pd.DataFrame):
    return write_text(name, frame.to_csv(index=False))


def write_jsonl(name: str, records: list):
    return write_text(name, "".join(json.dumps(record) + "\n" for record in records))


RNG = np.random.default_rng(3)
REFUSED = {
    "empty file": (write_text("empty.csv", ""), "the dataset has no rows"),
    "header only": (write_text("header.csv", "a,b\n"), "the dataset has no rows"),
    "not UTF-8": (write_text("latin1.csv", "name,city\nJosé,Besançon\nZoë,Köln\n", "latin-1"),
                  "is not UTF-8 text (found byte 0xe9): save it as UTF-8"),
    "a column named like an output": (write_text("clash.csv", "x,label_id\n1,2\n"),
                                      "already has a column 'label_id', which labelloop writes: rename that column"),
}
WORKS = {
    "one row": write_frame("one.csv", pd.DataFrame({"a": [1], "b": ["x"]})),
    "an all-NaN column": write_frame("nan.csv", pd.DataFrame({"a": range(40), "gone": [np.nan] * 40,
                                                             "b": RNG.random(40)})),
    "10,000 columns": write_frame("wide.csv", pd.DataFrame(RNG.random((30, 10_000)),
                                                           columns=[f"c{i}" for i in range(10_000)])),
    "duplicate column names": write_text("dup.csv", "a,a,b\n" + "".join(f"{i},{i * 2},{i % 3}\n" for i in range(20))),
    "mixed types (CSV)": write_text("mixed.csv", "v,w\n" + "1,x\nfoo,2\n3.5,\n,true\n" * 5),
    "mixed types (JSONL)": write_jsonl("mixed.jsonl", [{"v": 1, "w": "x"}, {"v": "foo", "w": 2}, {"v": [1, 2], "w": None},
                                                       {"v": {"k": 1}, "w": True}, {"v": 2.5}] * 4),
}


def one_line_error(result, expected: str) -> None:
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("labelloop: error: "), result.stderr
    assert expected in result.stderr


@pytest.mark.parametrize("case", REFUSED)
def test_unusable_datasets_stop_with_one_line_naming_the_problem(tmp_path, case):
    make, expected = REFUSED[case]
    result = run("init", tmp_path / "proj", "--data", make(tmp_path), "--type", "tabular", "--categories", "a,b", ok=False)
    one_line_error(result, expected)
    assert not (tmp_path / "proj").exists()


@pytest.mark.parametrize("case", [pytest.param(case, marks=[pytest.mark.slow] if case == "10,000 columns" else [])
                                  for case in WORKS])
def test_odd_but_usable_datasets_are_labeled_trained_and_sampled(tmp_path, case):
    data = WORKS[case](tmp_path)
    run("init", tmp_path / "proj", "--data", data, "--type", "tabular", "--categories", "a,b")
    project = Project.open(tmp_path / "proj")
    app = create_app(serve_settings(project))
    client = app.test_client()
    try:
        items = client.get("/batch?size=10").get_json()["items"]
        for n, item in enumerate(items):
            assert client.post("/label", json={"id": item["id"], "label": "ab"[n % 2]}).status_code == 200
        assert client.get("/history").status_code == 200
    finally:
        webapp_of(app).stop()
        project.close()
    labels = pd.read_parquet(tmp_path / "proj" / "datasets" / "labels.parquet")
    assert sorted(labels["item_id"]) == sorted(item["id"] for item in items)

    trained = run("train", tmp_path / "proj", ok=False)
    if len(items) < 4:  # too few to learn from: said in one line
        one_line_error(trained, "Training needs labels in at least two categories")
        return
    assert trained.returncode == 0, trained.stderr
    summary = json.loads(run("sample", tmp_path / "proj", "--json").stdout)
    assert summary["scored"] + summary["answered"] == len(pd.read_csv(data) if data.suffix == ".csv" else
                                                          pd.read_json(data, lines=True))
    assert summary["answered"] == len(items) and summary["queries"] == summary["scored"]
