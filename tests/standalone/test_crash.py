"""Crash safety: a server killed with SIGKILL loses no acknowledged label and no model version.

The server is a real ``labelloop serve`` process; annotators label through its HTTP API; the kill
comes without warning, mid-burst or mid-training, and a new server then starts on the same folder.
"""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from annotators import Annotators, call
from polling import eventually, gone
from servers import labelloop_server, start_server
from sklearn.datasets import load_digits
from test_cli import run

from labelloop.platform.registry import ModelRegistry
from labelloop.standalone.project import MODEL
from labelloop.store.journal import Journal

TOKEN = "crash-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def kill(process) -> list:
    """SIGKILL the server; returns the pids its children had (the retrain round's process)."""
    children = []
    for task in Path(f"/proc/{process.pid}/task").iterdir():
        try:
            children += [int(pid) for pid in (task / "children").read_text().split()]
        except FileNotFoundError:  # that thread ended between the listing and the read
            continue
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    process.stdout.close()
    return children


@pytest.fixture
def big_project(tmp_path):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"row_id": range(3000), "x": rng.normal(size=3000), "kind": rng.choice(["u", "v"], 3000)})
    frame.to_csv(tmp_path / "rows.csv", index=False)
    run("init", tmp_path / "proj", "--data", tmp_path / "rows.csv", "--type", "tabular", "--categories", "a,b,c",
        "--id-column", "row_id")
    return tmp_path / "proj"


def test_every_acknowledged_label_survives_a_sigkill_mid_burst(big_project, monkeypatch):
    monkeypatch.setenv("LABELLOOP_AUTH_TOKEN", TOKEN)
    process, url = start_server("serve", big_project, "--retrain-every", "0")
    annotators = Annotators(url, ["ann1", "ann2", "ann3", "ann4"], lambda item: "abc"[int(item["id"]) % 3],
                            headers=AUTH).start()
    try:
        assert eventually(lambda: annotators.count() >= 120, timeout=60)
        kill(process)  # mid-burst: the four threads are still labeling
    finally:
        annotators.stop()
    acknowledged = dict(annotators.acknowledged)
    assert annotators.refused == [] and annotators.disconnected >= 1

    database = big_project / "journal.sqlite"
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    journal = Journal(f"sqlite:///{database}")
    current = journal.current_frame()
    labels = journal.events_frame(["label"])
    journal.close()
    stored = {(row.item_id, row.annotator): row.id for row in current.itertuples()}
    assert {key: stored.get(key) for key in acknowledged} == acknowledged
    assert not labels["item_id"].duplicated().any()  # leases: no item was labeled twice

    with labelloop_server("serve", big_project, "--retrain-every", "0") as url:
        assert call(url, "stats", headers=AUTH)[1]["labeled"] == len(current)
    datasets = big_project / "datasets"
    labels_dataset = pd.read_parquet(datasets / "labels.parquet")
    metadata = pd.read_parquet(datasets / "metadata.parquet")
    assert not labels_dataset["item_id"].duplicated().any()
    assert set(labels_dataset["item_id"]) == set(current["item_id"]) >= {item for item, _ in acknowledged}
    assert sorted(metadata["label_id"]) == sorted(current["id"])


@pytest.fixture
def digits_project(tmp_path):
    """A project slow enough to train (64 columns, 1,797 rows) and its oracle."""
    digits = load_digits(as_frame=True)
    frame = digits.frame.drop(columns="target")
    frame.insert(0, "digit_id", range(len(frame)))
    frame.to_csv(tmp_path / "digits.csv", index=False)
    run("init", tmp_path / "proj", "--data", tmp_path / "digits.csv", "--type", "tabular",
        "--categories", ",".join(map(str, range(10))), "--id-column", "digit_id")
    return tmp_path / "proj", {str(i): str(t) for i, t in enumerate(digits.target)}


def complete_versions(registry: ModelRegistry) -> list:
    """Every version the registry lists, each loaded whole (a half-written one would fail here)."""
    versions = registry.versions()
    for version in versions:
        assert registry.meta(version)["version"] == version
        assert hasattr(joblib.load(registry.path / version / "model.joblib"), "predict_proba")
    return versions


@pytest.mark.slow
@pytest.mark.parametrize("after_seconds", [0.2, 0.8, 1.4])
def test_a_sigkill_mid_training_leaves_only_whole_model_versions(digits_project, after_seconds):
    project, truth = digits_project
    registry = ModelRegistry(project / "models" / MODEL)
    process, url = start_server("serve", project, "--retrain-every", "40")
    try:
        annotators = Annotators(url, ["solo"], lambda item: truth[item["id"]], batch=10).start()
        assert eventually(lambda: annotators.count() >= 40, timeout=60)
        annotators.stop()
        assert eventually(lambda: call(url, "stats")[1]["loop"]["running"], timeout=30)
        time.sleep(after_seconds)  # in the child: importing, then training (a round takes 2 to 3 s)
        children = kill(process)
    finally:
        if process.poll() is None:
            process.kill()
    variables = project / "variables.json"  # the session a finished round would move on
    at_kill = registry.versions(), variables.exists() and variables.read_bytes()
    assert children, "the round runs in a child process"
    assert eventually(lambda: all(gone(pid) for pid in children), timeout=20)
    before = complete_versions(registry)
    assert (before, variables.exists() and variables.read_bytes()) == at_kill  # no orphan went on to save or sample

    with labelloop_server("serve", project, "--retrain-every", "40") as url:
        status, _ = call(url, "train", {})
        assert status == 202
        assert eventually(lambda: call(url, "stats")[1]["loop"]["rounds"] == 1, timeout=120)
        after = complete_versions(registry)
    assert after[:len(before)] == before and len(after) == len(before) + 1
    assert set(os.listdir(registry.path)) == set(after)  # what a killed save left behind was cleared


SAVE_AND_HANG = """
import sys, time
from pathlib import Path
from labelloop.platform.registry import ModelRegistry

class HangsWhilePickled:
    def __reduce__(self):
        Path(sys.argv[2]).touch()
        time.sleep(600)

ModelRegistry(sys.argv[1]).save(HangsWhilePickled(), {})
"""


def test_a_save_killed_halfway_is_not_a_version(tmp_path):
    registry = ModelRegistry(tmp_path / "models")
    assert registry.save({"weights": [1]}, {}) == "v0001"
    marker = tmp_path / "pickling"
    process = subprocess.Popen([sys.executable, "-c", SAVE_AND_HANG, str(registry.path), str(marker)])
    try:
        assert eventually(marker.exists, timeout=60)
        assert len(list(registry.path.glob(".staging-*"))) == 1  # the half-written model
        assert registry.versions() == ["v0001"] and registry.latest() == "v0001"
    finally:
        process.kill()
        process.wait()
    assert registry.save({"weights": [2]}, {}) == "v0002"
    assert registry.load()["weights"] == [2] and sorted(os.listdir(registry.path)) == ["v0001", "v0002"]
