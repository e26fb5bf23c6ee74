"""Identities the operator hands out (issue 36, point 2), against a real ``labelloop serve`` and the CLI.

Findings reproduced: with ``--reviewers ada,bob`` anyone holding the token became ``ada`` by
sending her name with any key, reviewed and replaced the rules, and the real Ada was then told
"name taken" with no command to free it; a name with answers from before (imported, or from a
session without a token) went to the first key that asked for it, history included.
"""
from __future__ import annotations

import json

import pandas as pd
import pytest
from polling import eventually
from servers import labelloop_server, page_request
from test_cli import run

from labelloop.store.journal import LABELED, Annotation, Journal
from labelloop.store.name_keys import NameKeys

TOKEN = "identity-token-0123456789"
RULE = {"name": "dry", "label": "a", "column": "alcohol", "op": ">", "value": 13}


@pytest.fixture
def project(tmp_path, wine_csv, monkeypatch):
    run("init", tmp_path / "proj", "--data", wine_csv, "--type", "tabular", "--categories", "a,b,c", "--id-column", "wine_id")
    monkeypatch.setenv("LABELLOOP_AUTH_TOKEN", TOKEN)
    return tmp_path / "proj"


def as_user(name: str, key: str) -> dict:
    return {"X-Labelloop-User": name, "X-Labelloop-Key": key}


def call(url: str, method: str, path: str, headers: dict, body=None) -> tuple:
    """``(status, JSON answer)`` of a request sent as the page sends it, with the token."""
    return page_request(url, method, path, {"Authorization": f"Bearer {TOKEN}", **headers}, body)


def names(project, *args) -> dict:
    """``labelloop names DIR ... --json``, run as the operator."""
    return json.loads(run("names", project, *args, "--json").stdout)


def test_a_token_holder_cannot_become_a_reviewer(project):
    eve_as_ada = as_user("ada", "eves-own-key-0123456789")
    eve = as_user("eve", "eves-own-key-0123456789")
    with labelloop_server("serve", project, "--reviewers", "ada,bob", "--retrain-every", "0") as url:
        status, answer = call(url, "GET", "/config", eve_as_ada)
        assert status == 403 and answer == {"needName": True, "error": (
            "The name 'ada' needs the key the operator issued for it (labelloop names --issue 'ada'): "
            "enter it with your name.")}
        item = call(url, "GET", "/batch?size=1", eve)[1]["items"][0]["id"]
        assert call(url, "POST", "/label", eve, {"id": item, "label": "b"})[0] == 200
        for method, path, body in (("GET", "/review", None), ("POST", "/review", {"id": item, "label": "c"}),
                                   ("PUT", "/rules", {"rules": [RULE]}), ("GET", "/history", None)):
            assert call(url, method, path, eve_as_ada, body)[0] == 403
        assert call(url, "GET", "/review", eve)[0] == 403  # eve herself is no reviewer
        assert not (project / "rules.json").exists()

        ada_key = names(project, "--issue", "ada")["key"]  # while the server runs
        ada = as_user("ada", ada_key)
        status, config = call(url, "GET", "/config", ada)
        assert status == 200 and config["user"] == "ada" and config["reviewer"] is True
        assert call(url, "POST", "/review", ada, {"id": item, "label": "c"})[0] == 200
        assert call(url, "PUT", "/rules", ada, {"rules": [RULE]})[0] == 200
        status, answer = call(url, "GET", "/config", eve_as_ada)
        assert status == 403 and answer["error"] == (
            "The name 'ada' is taken by another annotator: enter the key the operator gave you.")

    listed = {n["name"]: n for n in names(project)}
    assert (listed["ada"]["key"], listed["eve"]["key"], listed["eve"]["answers"]) == ("issued", "browser", 1)
    assert "bob" not in listed  # a reviewer who never came has no name yet
    for stored in project.glob("journal.sqlite*"):  # only the key's digest is kept
        assert ada_key.encode() not in stored.read_bytes()


def test_a_name_with_a_history_cannot_be_taken_by_a_new_key(project, tmp_path):
    pd.DataFrame({"wine_id": [1000, 1001], "label": ["a", "b"]}).to_csv(tmp_path / "bob.csv", index=False)
    run("import", project, "--labels", tmp_path / "bob.csv", "--annotator", "bob")
    with labelloop_server("serve", project, "--retrain-every", "0") as url:
        mallory_as_bob = as_user("bob", "mallorys-key-0123456789")
        for path in ("/config", "/history"):
            status, answer = call(url, "GET", path, mallory_as_bob)
            assert status == 403 and "needs the key the operator issued" in answer["error"]
        assert call(url, "GET", "/config", as_user("carol", "carols-key-0123456789"))[0] == 200  # a new name is free

        bob = as_user("bob", names(project, "--issue", "bob")["key"])
        status, mine = call(url, "GET", "/history", bob)
        assert status == 200 and mine["item"]["id"] == "1001" and mine["annotation"]["label"] == "b"
        assert call(url, "GET", "/history", mallory_as_bob)[0] == 403


def test_the_operator_takes_a_squatted_name_back_and_frees_names(project):
    squatter, dan_browser = as_user("dan", "squatters-key-012345678"), as_user("dan", "dans-browser-key-0123456")
    with labelloop_server("serve", project, "--retrain-every", "0") as url:
        assert call(url, "GET", "/config", squatter)[0] == 200  # first come
        status, answer = call(url, "GET", "/config", dan_browser)
        assert status == 403 and answer["error"] == "The name 'dan' is taken by another annotator: choose another."

        dan = as_user("dan", names(project, "--issue", "dan")["key"])
        assert eventually(lambda: call(url, "GET", "/config", squatter)[0] == 403)  # at once, or after the cache
        assert call(url, "GET", "/config", dan)[0] == 200

        assert names(project, "--release", "dan") == {"released": "dan"}
        assert eventually(lambda: call(url, "GET", "/config", dan_browser)[0] == 200)  # free: the next key has it
        assert call(url, "GET", "/config", dan)[0] == 403
    for args, message in ((("--release", "nobody"), "The name 'nobody' has no key to release."),
                          (("--issue", "<script>"), "An annotator name has 1 to 64 letters")):
        refused = run("names", project, *args, ok=False)
        assert refused.returncode == 2 and refused.stderr.startswith(f"labelloop: error: {message}")
        assert len(refused.stderr.strip().splitlines()) == 1
    shown = run("names", project).stdout
    assert shown.splitlines()[0].split() == ["name", "key", "answers", "last", "seen"] and "dan" in shown


def test_with_require_keys_every_name_needs_an_issued_key(project, monkeypatch):
    with labelloop_server("serve", project, "--require-keys", "--retrain-every", "0") as url:
        zoe_browser = as_user("zoe", "zoes-browser-key-0123456")
        status, answer = call(url, "GET", "/config", zoe_browser)
        assert status == 403 and "needs the key the operator issued" in answer["error"]
        issued = run("names", project, "--issue", "zoe").stdout.splitlines()  # printed once, for people
        assert issued[0].startswith("Key for 'zoe' (shown only now") and len(issued) == 2
        assert call(url, "GET", "/config", as_user("zoe", issued[1]))[0] == 200
        assert call(url, "GET", "/config", zoe_browser)[0] == 403
    monkeypatch.delenv("LABELLOOP_AUTH_TOKEN")
    alone = run("serve", project, "--require-keys", ok=False)
    assert alone.returncode == 2 and alone.stderr.strip() == (
        "labelloop: error: --require-keys is for a shared server: set LABELLOOP_AUTH_TOKEN or use --auth-token-file.")


def test_the_journal_s_database_keeps_names_and_keys(journal_url):
    journal = Journal(journal_url)
    keys = NameKeys(journal)
    try:
        assert keys.claim("ann", "a" * 64) == ("a" * 64, False)
        assert keys.claim("ann", "b" * 64) == ("a" * 64, False)  # the first key keeps it
        journal.record(Annotation("7", "old", LABELED, "x"))
        assert keys.claim("old", "c" * 64) is None and keys.key_of("old") is None  # a history
        keys.issue("ann", "d" * 64)
        assert keys.key_of("ann") == ("d" * 64, True)
        assert keys.claim("ann", "e" * 64) == ("d" * 64, True)
        assert [(n["name"], n["key"], n["answers"]) for n in keys.names()] == [("ann", "issued", 0), ("old", None, 1)]
        assert keys.release("ann") is True and keys.release("ann") is False
        assert NameKeys(journal).key_of("ann") is None  # opening them again changes nothing
    finally:
        journal.close()
