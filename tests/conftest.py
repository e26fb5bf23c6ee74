"""Shared fixtures: journal databases (SQLite and the PostgreSQL server) and the fake DSS; and the
markers that sort tests by kind."""
from __future__ import annotations

import gc
import inspect
import secrets
from pathlib import Path

import pytest
import sqlalchemy as sa
from fake_dataiku.harness import DSS_VERSIONS, FakeDSS

POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TESTS = Path(__file__).resolve().parent

# What makes a test of a kind: a fixture or helper it uses, or a name its code refers to. `make quick`
# leaves out the server, browser, kill, command and slow tests (the markers are registered in pyproject.toml).
KIND_OF_NAME = {
    "postgres_url": "postgres",
    "labelloop_server": "server", "start_server": "server", "BackendProcess": "server",
    "browser_page": "browser", "sync_playwright": "browser",
    "SIGKILL": "kill", "kill": "kill",
    "LABELLOOP": "command",
}


def pytest_collection_modifyitems(items):
    """Mark each test with the kinds of what it uses (see ``KIND_OF_NAME``)."""
    for item in items:
        for kind in sorted(_kinds(item)):
            item.add_marker(kind)


def _kinds(item) -> set:
    """The kinds of the names a test uses: its fixtures, and the names in its code and in the code
    of the test-suite functions and fixtures it calls, followed down to the helpers."""
    function = getattr(item, "function", None)
    if function is None:
        return set()
    kinds, seen = set(), set()
    names = [(name, function.__globals__) for name in [*item.fixturenames, *_names_in(function.__code__)]]
    while names:
        name, namespace = names.pop()
        if (name, id(namespace)) in seen:
            continue
        seen.add((name, id(namespace)))
        if name in KIND_OF_NAME:
            kinds.add(KIND_OF_NAME[name])
        elif _in_the_suite(namespace.get(name)):
            helper = inspect.unwrap(namespace[name])
            names.extend((inner, helper.__globals__) for inner in _names_in(helper.__code__))
    return kinds


def _in_the_suite(value) -> bool:
    """A function or fixture written in this folder (not the package's or a library's)."""
    code = getattr(inspect.unwrap(value), "__code__", None) if callable(value) else None
    return code is not None and Path(code.co_filename).resolve().is_relative_to(TESTS)


def _names_in(code) -> set:
    """The global and attribute names a function's code refers to, its nested functions' included."""
    names = set(code.co_names)
    for constant in code.co_consts:
        if inspect.iscode(constant):
            names |= _names_in(constant)
    return names


@pytest.fixture
def postgres_url():
    """A fresh, empty PostgreSQL database, dropped afterwards.

    PostgreSQL runs on every machine of this project, CI's included: if it cannot be reached the
    test fails, it is never skipped. Its commits return before their WAL reaches the disk
    (``synchronous_commit`` off): they are as atomic, isolated and visible to other connections,
    only lost if the server itself crashed, which no test does; a test writing thousands of
    answers no longer waits on the shared disk's flush for each.
    """
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"labelloop_test_{secrets.token_hex(6)}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        conn.exec_driver_sql(f'ALTER DATABASE "{name}" SET synchronous_commit TO off')
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
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


@pytest.fixture(autouse=True)
def webapps_stopped(monkeypatch):
    """Every webapp a test starts is stopped when the test ends, as its host would stop it: one left
    running keeps its feed's thread polling its journal, and itself with all its data alive, for
    the rest of the run (``make test``'s process once grew to 7 GB and 90 threads). What a host
    set aside from the garbage collector (``freeze_long_lived``: for as long as a server's
    process lives) is given back to it: here the test was that process."""
    from labelloop.labeling.app import Webapp

    started, start = [], Webapp.start

    def recorded_start(webapp):
        started.append(webapp)
        start(webapp)
    monkeypatch.setattr(Webapp, "start", recorded_start)
    yield
    for webapp in reversed(started):
        webapp.stop()
    gc.unfreeze()
