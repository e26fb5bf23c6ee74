"""The webapp backend under each of DSS's process models, and ended the ways DSS ends it.

A real ``backend.py`` runs in a process of its own behind werkzeug, single-threaded (DSS's
default), threaded, or forking a process per request; annotators label over HTTP. The labels
and metadata datasets must follow within a bounded delay in every mode, without the backend
ever stopping (the every-n-labelings trigger reads them while people label), and a SIGTERM or
a SIGKILL must lose nothing.
"""
from __future__ import annotations

import signal

import pytest
from annotators import call
from fake_dataiku.backend_process import BackendProcess
from paths import ROOT
from polling import eventually
from sampler_models import pool

TABULAR = ROOT / "webapps" / "tabular-labeling"
TRIGGER = ROOT / "python-triggers" / "every-n-labelings"
LABELS = ("low", "mid", "high")


@pytest.fixture
def flow(dss):
    dss.add_dataset("rows", pool(60))
    for name in ("labels", "metadata", "queries"):
        dss.add_dataset(name)
    return dss


def serve(dss, tmp_path, processes: int) -> BackendProcess:
    config = {"unlabeled": "rows", "categories": [{"from": label} for label in LABELS], "labels_ds": "labels",
              "metadata_ds": "metadata", "journal": dss.shared_journal(f"sqlite:///{tmp_path / 'journal.sqlite'}")}
    backend = BackendProcess(dss, TABULAR, config, processes=processes)
    # A backend writes the datasets once on start: wait for it, so what follows is not carried by it.
    assert eventually(lambda: dss.platform.dataset_exists("metadata") and dss.platform.dataset_exists("labels"))
    return backend


def label(backend: BackendProcess, headers: dict, count: int) -> list:
    """Label ``count`` served items; returns their ids, each acknowledged with a label id."""
    status, batch = call(backend.url, f"batch?size={count}", headers=headers)
    assert status == 200, batch
    ids = [item["id"] for item in batch["items"]]
    for n, item_id in enumerate(ids):
        status, answer = call(backend.url, "label", {"id": item_id, "label": LABELS[n % 3]}, headers=headers)
        assert status == 200 and answer["labelId"], answer
    return ids


def labeled_ids(dss, dataset: str) -> set:
    if not dss.platform.dataset_exists(dataset):
        return set()
    frame = dss.platform.read_dataset(dataset)
    return set(frame["item_id" if dataset == "labels" else "data_id"])


@pytest.mark.parametrize("processes", [1, 0, 3], ids=["single-threaded", "threaded", "forking"])
def test_the_datasets_follow_the_labels_while_the_backend_runs(flow, tmp_path, processes):
    ada, bob = flow.login("ada"), flow.login("bob")
    backend = serve(flow, tmp_path, processes)
    try:
        done = set(label(backend, ada, 6)) | set(label(backend, bob, 6))
        assert len(done) == 12
        assert eventually(lambda: labeled_ids(flow, "metadata") == done and labeled_ids(flow, "labels") == done, timeout=60)
        status, stats = call(backend.url, "stats", headers=ada)
        assert status == 200 and stats["labeled"] == 12
        # the online model's worker, spawned from a backend run as DSS runs one, learns the labels
        assert eventually(lambda: call(backend.url, "stats", headers=ada)[1]["suggesting"]["source"] == "online",
                          timeout=60)
        trigger = {"n": 12, "metadata_ds": "metadata", "queries_ds": "queries"}
        assert flow.run(TRIGGER, trigger).fired == 1  # the scenario starts while people label
    finally:
        backend.stop()


def test_sigterm_writes_the_datasets_before_the_backend_ends(flow, tmp_path):
    ada = flow.login("ada")
    backend = serve(flow, tmp_path, 1)
    done = set(label(backend, ada, 5))
    assert backend.stop(signal.SIGTERM) == -signal.SIGTERM  # it still ends as the signal says
    assert labeled_ids(flow, "metadata") == done and labeled_ids(flow, "labels") == done


def test_after_a_sigkill_the_next_backend_writes_what_was_missing(flow, tmp_path):
    ada = flow.login("ada")
    backend = serve(flow, tmp_path, 3)
    done = set(label(backend, ada, 5))
    backend.stop(signal.SIGKILL)
    for name in ("labels", "metadata"):  # as if the kill came before the backend wrote them
        flow.platform.write_dataset(name, flow.platform.read_dataset(name).head(0))
    restarted = serve(flow, tmp_path, 1)
    try:
        assert eventually(lambda: labeled_ids(flow, "metadata") == done and labeled_ids(flow, "labels") == done, timeout=60)
        assert call(restarted.url, "stats", headers=ada)[1]["labeled"] == 5
    finally:
        restarted.stop()
