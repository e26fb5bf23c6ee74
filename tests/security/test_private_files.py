"""A project's files are its user's alone, and ``/stats`` tells annotators nothing about the
database behind the pool (DESIGN.md section 16)."""
from __future__ import annotations

import os
import stat

import pandas as pd
import sqlalchemy as sa
from annotators import call
from servers import labelloop_server
from test_cli import run

from labelloop.errors import DATABASE_TROUBLE
from labelloop.labeling.app import create_app, webapp_of
from labelloop.standalone.project import Project
from labelloop.standalone.server import ServeOptions, serve_settings


def test_a_served_project_keeps_folders_0700_and_files_0600(tmp_path, wine_csv):
    root = tmp_path / "proj"
    run("init", root, "--data", wine_csv, "--type", "tabular", "--categories", "a,b,c", "--id-column", "wine_id")
    with labelloop_server("serve", root, "--user", "ada", "--retrain-every", "0") as url:
        for item in call(url, "batch?size=3")[1]["items"]:
            assert call(url, "label", {"id": item["id"], "label": "a"})[0] == 200
    run("export", root, "--format", "csv")  # into DIR/exports
    modes = {path.relative_to(root).as_posix(): stat.S_IMODE(os.stat(path).st_mode) for path in [root, *root.rglob("*")]}
    assert {"labelloop.json", "journal.sqlite", "datasets/labels.parquet", "datasets/metadata.parquet"} <= set(modes)
    wrong = {name: oct(mode) for name, mode in modes.items()
             if mode != (0o700 if (root / name).is_dir() else 0o600)}
    assert wrong == {}


def test_an_existing_project_becomes_private_when_opened(tmp_path, wine_csv):
    root = tmp_path / "proj"
    run("init", root, "--data", wine_csv, "--type", "tabular", "--categories", "a,b,c", "--id-column", "wine_id")
    os.chmod(root, 0o755)
    (root / "journal.sqlite").touch(mode=0o644)
    os.chmod(root / "journal.sqlite", 0o644)
    project = Project.open(root)
    project.journal.close()
    assert stat.S_IMODE(os.stat(root).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(root / "journal.sqlite").st_mode) == 0o600


def test_stats_show_a_pool_database_error_without_its_user_or_host(tmp_path, postgres_url):
    engine = sa.create_engine(postgres_url)
    pd.DataFrame({"ticket_id": range(10), "body": [f"ticket {i}" for i in range(10)]}).to_sql("tickets", engine, index=False)
    root = tmp_path / "proj"
    run("init", root, "--data", postgres_url, "--table", "tickets", "--id-column", "ticket_id", "--type", "text",
        "--text-column", "body", "--categories", "pos,neg")
    project = Project.open(root)
    app = create_app(serve_settings(project, ServeOptions(watch_pool=3600)))
    watch = webapp_of(app).settings.pool
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE tickets")
        watch.check()
        error = app.test_client().get("/stats").get_json()["pool"]["error"]
        assert error == DATABASE_TROUBLE
        assert "postgres" not in error and "127.0.0.1" not in error and "5432" not in error
    finally:
        watch.stop()
        webapp_of(app).stop()
        project.close()
        engine.dispose()
