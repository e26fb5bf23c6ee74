"""A PostgreSQL journal whose connections are cut (``pg_terminate_backend``) while people label.

A request whose connection dies gets a 503 with one readable sentence and writes nothing; the
next request reconnects and succeeds; no acknowledged label is lost.
"""
from __future__ import annotations

import threading
import time

import pandas as pd
import pytest
import sqlalchemy as sa
from annotators import Annotators, call
from polling import eventually
from servers import labelloop_server
from test_cli import run

from labelloop.store.journal import WRITE_LOCK_KEY, Journal

OTHER_BACKENDS = ("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                  "AND pid <> pg_backend_pid()")


@pytest.fixture
def project(tmp_path, postgres_url):
    frame = pd.DataFrame({"row_id": range(2000), "x": range(2000)})
    frame.to_csv(tmp_path / "rows.csv", index=False)
    run("init", tmp_path / "proj", "--data", tmp_path / "rows.csv", "--type", "tabular", "--categories", "a,b",
        "--id-column", "row_id", "--journal", postgres_url)
    return tmp_path / "proj"


@pytest.fixture
def admin(postgres_url):
    """A connection of our own to the journal's database, to lock rows and cut the others."""
    engine = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def terminate(engine, where: str = "") -> int:
    with engine.connect() as conn:
        return len(conn.exec_driver_sql(
            f"SELECT pg_terminate_backend(pid) FROM ({OTHER_BACKENDS} {where}) AS cut").all())


def test_a_request_whose_connection_is_cut_gets_a_503_and_its_retry_succeeds(project, admin, postgres_url):
    with labelloop_server("serve", project, "--retrain-every", "0") as url:
        item = call(url, "batch?size=1")[1]["items"][0]["id"]
        holder = sa.create_engine(postgres_url)
        answers = []
        try:
            with holder.connect() as conn:
                # Hold the journal's write lock, so the label request waits inside its transaction ...
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(WRITE_LOCK_KEY)))
                request = threading.Thread(target=lambda: answers.append(call(url, "label", {"id": item, "label": "a"})))
                request.start()
                assert eventually(lambda: terminate(admin, "AND wait_event_type = 'Lock'") == 1)  # ... and cut it there.
                request.join(timeout=30)
                conn.rollback()
        finally:
            holder.dispose()
        (status, answer), = answers
        assert status == 503 and answer == {"error": "The journal database cannot be reached right now; try again in a moment."}
        assert call(url, "stats")[1]["labeled"] == 0  # the cut transaction wrote nothing

        status, answer = call(url, "label", {"id": item, "label": "a"})
        assert status == 200 and answer["stats"]["labeled"] == 1
    journal = Journal(postgres_url)
    try:
        assert journal.events_frame(["label"])["item_id"].tolist() == [item]
    finally:
        journal.close()


def test_labeling_goes_on_through_repeated_connection_cuts_and_loses_nothing(project, admin, postgres_url, monkeypatch):
    monkeypatch.setenv("LABELLOOP_AUTH_TOKEN", "t0ken-for-database-faults")
    with labelloop_server("serve", project, "--retrain-every", "0") as url:
        annotators = Annotators(url, ["ann1", "ann2", "ann3", "ann4"], lambda item: "ab"[int(item["id"]) % 2],
                                headers={"Authorization": "Bearer t0ken-for-database-faults"}).start()
        try:
            cuts = 0
            for _ in range(15):
                time.sleep(0.3)
                cuts += terminate(admin)
            assert eventually(lambda: annotators.count() >= 100, timeout=60)
        finally:
            annotators.stop()
        assert cuts >= 15 and annotators.refused == [] and annotators.disconnected == 0
        assert set(annotators.statuses) <= {200, 503}
        labeled = call(url, "stats", headers={"Authorization": "Bearer t0ken-for-database-faults"})[1]["labeled"]
    journal = Journal(postgres_url)
    try:
        current = journal.current_frame()
    finally:
        journal.close()
    stored = {(row.item_id, row.annotator): row.id for row in current.itertuples()}
    acknowledged = annotators.acknowledged
    assert {key: stored.get(key) for key in acknowledged} == acknowledged
    assert labeled == len(current) and not current["item_id"].duplicated().any()
