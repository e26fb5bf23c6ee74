"""A pool that grows while people label: a PostgreSQL table, a file, a folder (standalone/pool_watch.py)."""
from __future__ import annotations

import json
import shutil
import urllib.request

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from polling import eventually
from servers import labelloop_server
from test_cli import run

from labelloop.errors import LabelloopError
from labelloop.labeling.app import create_app, webapp_of
from labelloop.labeling.queue import Queue
from labelloop.standalone.pool_watch import PoolWatcher, pool_reader
from labelloop.standalone.project import Project, init_project
from labelloop.standalone.server import ServeOptions, serve_settings
from labelloop.store.items import FolderSource, TableSource

WORDS = ["good", "fine", "great", "bad", "awful", "poor", "nice", "sad"]


def tickets(first: int, count: int, word: str | None = None) -> pd.DataFrame:
    """Rows ``ticket_id, body, priority``; ``word`` goes into every body when given."""
    ids = range(first, first + count)
    return pd.DataFrame({"ticket_id": list(ids), "body": [f"{word or WORDS[i % 8]} ticket number {i}" for i in ids],
                         "priority": [i % 3 for i in ids]})


def get(url: str) -> dict:
    with urllib.request.urlopen(urllib.request.Request(url, headers={"X-Requested-With": "labelloop"}), timeout=30) as response:
        return json.load(response)


def post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def test_rows_inserted_into_a_postgresql_table_are_served_voted_on_and_sampled(tmp_path, postgres_url):
    engine = sa.create_engine(postgres_url)
    tickets(0, 40).to_sql("tickets", engine, index=False)
    root = tmp_path / "proj"
    run("init", root, "--data", postgres_url, "--table", "tickets", "--id-column", "ticket_id", "--type", "text",
        "--text-column", "body", "--categories", "pos,neg")
    with labelloop_server("serve", root, "--watch-pool", "0.2", "--retrain-every", "0") as url:
        assert get(url + "stats")["total"] == 40
        for n, item in enumerate(get(url + "batch?size=6")["items"]):
            post(url + "label", {"id": item["id"], "label": ["pos", "neg"][n % 2]})
        tickets(1000, 5, word="refund").to_sql("tickets", engine, index=False, if_exists="append")
        assert eventually(lambda: get(url + "stats").get("pool", {}).get("added") == 5)
        stats = get(url + "stats")
        assert (stats["total"], stats["pool"]["items"], stats["pool"]["error"]) == (45, 45, None)

        found = get(url + "search?q=refund&size=10")["items"]
        assert sorted(item["id"] for item in found) == ["1000", "1001", "1002", "1003", "1004"]
        for item in ("1000", "1001"):
            post(url + "label", {"id": item, "label": "neg"})
        rule = {"name": "refund", "label": "neg", "column": "body", "keywords": ["refund"]}
        preview = post(url + "rules/preview", {"rule": rule})
        assert (preview["votes"], preview["gold"]) == (5, 2)
        served = {item["id"] for item in get(url + "batch?size=100")["items"]}
        assert {"1002", "1003", "1004"} <= served  # the unanswered new rows are in the queue, like any other

    labels = pd.read_parquet(root / "datasets" / "labels.parquet")
    assert {"1000", "1001"} <= set(labels["ticket_id"].astype(str))
    run("train", root)
    sampled = json.loads(run("sample", root, "--json", "--diversity", "none").stdout)
    queries = pd.read_parquet(root / "datasets" / "queries.parquet")
    assert sampled["queries"] == len(queries) == 45 - 8
    assert {"1002", "1003", "1004"} <= set(queries["item_id"].astype(str))
    engine.dispose()


def test_a_database_pool_is_checked_at_init(tmp_path, postgres_url):
    engine = sa.create_engine(postgres_url)
    tickets(0, 3).to_sql("tickets", engine, index=False)
    engine.dispose()
    common = ["--type", "text", "--text-column", "body", "--categories", "pos,neg"]
    cases = [(["--table", "tickets"], "needs --id-column"),
             (["--id-column", "ticket_id"], "needs --table"),
             (["--table", "nothere", "--id-column", "ticket_id"], "has no table 'nothere'"),
             (["--table", "tickets", "--id-column", "nope"], "has no column 'nope'")]
    for n, (extra, message) in enumerate(cases):
        result = run("init", tmp_path / f"p{n}", "--data", postgres_url, *common, *extra, ok=False)
        assert result.returncode != 0 and message in result.stderr and "Traceback" not in result.stderr
        assert not (tmp_path / f"p{n}").exists()
    wrong = postgres_url.replace("/labelloop_test_", "/no_such_db_")
    result = run("init", tmp_path / "q", "--data", wrong, "--table", "tickets", "--id-column", "ticket_id", *common, ok=False)
    assert result.returncode != 0 and "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.fixture
def csv_project(tmp_path):
    tickets(0, 20).to_csv(tmp_path / "tickets.csv", index=False)
    init_project(tmp_path / "proj", tmp_path / "tickets.csv", "text", [{"key": "pos"}, {"key": "neg"}],
                 text_column="body")  # hashed ids: the file is read again whole
    project = Project.open(tmp_path / "proj")
    yield project
    project.close()


def test_rows_appended_to_the_file_join_the_queue_and_a_broken_file_is_reported(csv_project, tmp_path):
    app = create_app(serve_settings(csv_project, ServeOptions(watch_pool=3600)))
    watch = webapp_of(app).settings.pool
    client = app.test_client()
    try:
        before = set(csv_project.source.ids)
        assert watch.check() == []  # unchanged file: not read again
        pd.concat([tickets(0, 20), tickets(20, 3, word="refund")]).to_csv(tmp_path / "tickets.csv", index=False)
        assert watch.check() == []  # changed since the last look: maybe still being written
        added = watch.check()
        assert len(added) == 3 and not set(added) & before
        assert client.get("/stats").get_json()["pool"] == {"items": 23, "added": 3, "checkedAt": watch.checked_at,
                                                          "error": None}
        served = [item["id"] for item in client.get("/batch?size=23").get_json()["items"]]
        assert set(added) <= set(served)
        assert client.post("/label", json={"id": added[0], "label": "neg"}).status_code == 200

        (tmp_path / "tickets.csv").write_text("ticket_id,other\n1,2\n", encoding="utf-8")
        assert watch.check() == [] and watch.check() == []
        assert "columns changed" in client.get("/stats").get_json()["pool"]["error"]
        assert len(csv_project.source) == 23
    finally:
        watch.stop()
        webapp_of(app).stop()


def test_files_copied_into_the_folder_are_added(tmp_path):
    from PIL import Image
    from sklearn.datasets import load_digits

    folder = tmp_path / "images"
    folder.mkdir()
    digits = load_digits().images
    for n in range(4):
        Image.fromarray((digits[n] * 15).astype(np.uint8)).save(folder / f"d{n}.png")
    project = init_project(tmp_path / "proj", folder, "image", [{"key": "a"}, {"key": "b"}])
    watch = PoolWatcher(pool_reader(project), project.source)
    (folder / "later").mkdir()
    shutil.copy(folder / "d0.png", folder / "later" / "copy.png")
    (folder / "notes.txt").write_text("not an image", encoding="utf-8")
    assert watch.check() == ["later/copy.png"] and "later/copy.png" in project.source
    assert watch.check() == [] and len(project.source) == 5
    project.close()


def test_a_table_source_takes_only_new_rows_and_keeps_one_moment_per_reader():
    source = TableSource(tickets(0, 5), "ticket_id")
    ids, frame = source.snapshot()
    assert source.add(tickets(3, 4)) == ["5", "6"]
    assert (len(ids), len(frame)) == (5, 5)  # a reader's moment is not changed under it
    assert source.ids == ["0", "1", "2", "3", "4", "5", "6"] and source.rows(["6"])["body"].tolist() == ["nice ticket number 6"]
    with pytest.raises(LabelloopError, match="columns changed"):
        source.add(tickets(9, 1).drop(columns="priority"))

    hashed = TableSource(pd.DataFrame({"x": [1, 1, 2]}))
    added = hashed.add(pd.DataFrame({"x": [1, 1, 2, 1]}))  # a third duplicate appended to the file
    assert len(added) == 1 and added[0].endswith("#3")
    folder = FolderSource(["/a.png"], "image")
    assert folder.add(["/a.png", "/b.png", "/c.txt"]) == ["b.png"] and folder.ids == ["a.png", "b.png"]


def test_new_items_go_after_the_queries_and_never_into_the_served_part():
    queue = Queue([str(i) for i in range(100)], seed=3)
    queue.set_queries(pd.DataFrame({"item_id": ["5", "6"], "uncertainty": [0.9, 0.8], "strategy": ["margin"] * 2,
                                    "session": [1, 1]}))
    queue.add(["new-a"])
    assert queue.next_items(set(), set(), 2) == ["5", "6"]  # queries first, the new item after them
    served = set(queue.next_items(set(), set(), 10))
    queue.next_items(set(), served, 1)  # the cursor moves past the answered prefix
    queue.add(["new-b", "new-c", "5"])  # an id already known is left alone
    rest = queue.next_items(set(), served, 200)
    assert len(rest) == len(set(rest)) and set(rest) == {str(i) for i in range(100)} - served | {"new-a", "new-b", "new-c"}
