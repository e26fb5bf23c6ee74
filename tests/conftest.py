"""Shared fixtures: journal databases (SQLite and the PostgreSQL server) and the fake DSS."""
from __future__ import annotations

import secrets

import pytest
import sqlalchemy as sa
from fake_dataiku.harness import DSS_VERSIONS, FakeDSS

POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture
def postgres_url():
    """A fresh, empty PostgreSQL database, dropped afterwards.

    PostgreSQL runs on every machine of this project, CI's included: if it cannot be reached the
    test fails, it is never skipped.
    """
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"labelloop_test_{secrets.token_hex(6)}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def journal_url(request, tmp_path):
    """Each journal test runs against SQLite and against PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'journal.sqlite'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def dss(tmp_path, monkeypatch):
    """An empty fake DSS project, on the oldest supported DSS (or FAKE_DSS_VERSION's: running the DSS
    tests with FAKE_DSS_VERSION=13.5.6 runs them all on the newest), whose user keeps its data (a
    webapp's default journal) in the test's folder."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "user-data"))
    instance = FakeDSS(tmp_path / "dss")
    yield instance
    instance.stop()


@pytest.fixture(params=DSS_VERSIONS)
def dss_any(request, tmp_path, monkeypatch):
    """An empty fake DSS project on each supported DSS version, oldest and newest."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "user-data"))
    instance = FakeDSS(tmp_path / "dss", request.param)
    yield instance
    instance.stop()


@pytest.fixture
def wine_csv(tmp_path):
    """scikit-learn's wine data as a CSV file, with a ``wine_id`` column from 1000."""
    from sklearn.datasets import load_wine

    path = tmp_path / "wine.csv"
    frame = load_wine(as_frame=True).frame.drop(columns="target")
    frame.insert(0, "wine_id", range(1000, 1000 + len(frame)))
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(autouse=True)
def api_client_header(monkeypatch):
    """Flask test clients send, like the page's client, ``X-Requested-With: labelloop`` on every call
    (routes that lease items refuse requests without it: labeling/protections.py)."""
    from flask.testing import FlaskClient

    original = FlaskClient.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.environ_base["HTTP_X_REQUESTED_WITH"] = "labelloop"
    monkeypatch.setattr(FlaskClient, "__init__", init)


@pytest.fixture(autouse=True)
def empty_models_folder(monkeypatch, tmp_path_factory):
    """Tests see no model by name unless they give one: ``make`` puts all-MiniLM-L6-v2 in the venv's
    models folder, where ``--features auto`` would find it (embedding_model.models_folder)."""
    monkeypatch.setenv("LABELLOOP_MODELS", str(tmp_path_factory.mktemp("models")))
