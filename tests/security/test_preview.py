"""Rule previews that reveal nothing (issue 36, point 3), against a real ``labelloop serve``.

Findings reproduced: any annotator's ``POST /rules/preview`` with a rule ``id == N`` returned
item N's final label as the rule's "accuracy" (reviewers' decisions included), a thousand ids at a
time; and a 1 MB preview of 980 conditions cost 35 s of CPU on a 100k-row pool.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from servers import labelloop_server, page_request
from test_cli import run

TOKEN = "preview-token-0123456789"


@pytest.fixture
def project(tmp_path, wine_csv, monkeypatch):
    run("init", tmp_path / "proj", "--data", wine_csv, "--type", "tabular", "--categories", "a,b,c", "--id-column", "wine_id")
    monkeypatch.setenv("LABELLOOP_AUTH_TOKEN", TOKEN)
    return tmp_path / "proj"


def client(url: str, name: str, key: str):
    """A function sending requests as ``name`` (with ``key``) the way the page does; returns ``(status, JSON)``."""
    headers = {"Authorization": f"Bearer {TOKEN}", "X-Labelloop-User": name, "X-Labelloop-Key": key}
    return lambda method, path, body=None: page_request(url, method, path, headers, body)


def by_id(label: str, *ids: int) -> dict:
    """The oracle of the finding: a rule voting ``label`` on exactly these items."""
    condition = {"op": "==", "value": ids[0]} if len(ids) == 1 else {"op": "in", "value": list(ids)}
    return {"name": "probe", "label": label, "column": "wine_id", **condition}


def preview(call, rule: dict) -> dict:
    status, found = call("POST", "/rules/preview", {"rule": rule})
    assert status == 200, found
    return found


def test_the_preview_shows_a_non_reviewer_nothing_of_others_answers(project):
    reviewer_key = json.loads(run("names", project, "--issue", "rev", "--json").stdout)["key"]
    with labelloop_server("serve", project, "--reviewers", "rev", "--retrain-every", "0") as url:
        ada, eve = client(url, "ada", "adas-browser-key-0123456"), client(url, "eve", "eves-browser-key-0123456")
        rev = client(url, "rev", reviewer_key)
        for item, label in ((1000, "a"), (1001, "b")):
            assert ada("POST", "/label", {"id": str(item), "label": label})[0] == 200
        assert rev("POST", "/review", {"id": "1001", "label": "c"})[0] == 200  # the final label of 1001 is c

        for rule in (by_id("a", 1000), by_id("c", 1001), by_id("b", *range(1000, 1178))):
            found = preview(eve, rule)
            assert (found["gold"], found["accuracy"], found["measuredOn"]) == (0, None, "your labels")
        assert rev("PUT", "/rules", {"rules": [by_id("c", 1001)]})[0] == 200
        status, saved = eve("GET", "/rules")
        assert status == 200 and saved["measuredOn"] == "your labels"
        assert (saved["statistics"][0]["gold"], saved["statistics"][0]["accuracy"]) == (0, None)

        assert eve("POST", "/label", {"id": "1002", "label": "a"})[0] == 200  # eve's own answers are hers to check
        found = preview(eve, by_id("b", 1000, 1001, 1002))
        assert (found["gold"], found["accuracy"]) == (1, 0.0)

        for rule, accuracy in ((by_id("c", 1001), 1.0), (by_id("a", 1000), 1.0), (by_id("b", 1001), 0.0)):
            found = preview(rev, rule)  # a reviewer measures rules on the final labels
            assert (found["gold"], found["accuracy"], found["measuredOn"]) == (1, accuracy, "final labels")
        assert rev("GET", "/rules")[1]["statistics"][0]["gold"] == 1


LONG_VALUES = [f"value-{n:04d}-" + "x" * 30 for n in range(1000)]


@pytest.mark.parametrize("rule, message", [
    ({"name": "many", "label": "a", "all": [{"column": "alcohol", "op": ">", "value": n} for n in range(21)]},
     "Rule 'many': all must be a list of 1 to 20 conditions"),
    ({"name": "words", "label": "a", "column": "alcohol", "keywords": [f"w{n}" for n in range(201)]},
     "Rule 'words': keywords must be a list of 1 to 200 words or phrases."),
    ({"name": "big", "label": "a", "column": "alcohol", "op": "in", "value": LONG_VALUES},
     "Rule 'big': the rule is longer than 32,000 characters of JSON."),
])
def test_a_rule_too_large_is_refused_in_one_sentence(project, rule, message):
    with labelloop_server("serve", project, "--retrain-every", "0") as url:
        call = client(url, "ada", "adas-browser-key-0123456")
        status, answer = call("POST", "/rules/preview", {"rule": rule})
        assert status == 400 and answer["error"].startswith(message) and "\n" not in answer["error"]


def test_a_preview_costing_more_than_its_cap_is_refused(tmp_path, monkeypatch):
    rows = 120_000
    pd.DataFrame({"row": np.arange(rows), "x": np.random.default_rng(0).normal(size=rows)}).to_csv(
        tmp_path / "rows.csv", index=False)
    run("init", tmp_path / "big", "--data", tmp_path / "rows.csv", "--type", "tabular", "--categories", "a,b",
        "--id-column", "row")
    monkeypatch.setenv("LABELLOOP_AUTH_TOKEN", TOKEN)
    with labelloop_server("serve", tmp_path / "big", "--retrain-every", "0", "--suggestions", "version") as url:
        call = client(url, "ada", "adas-browser-key-0123456")

        def conditions(n):
            return {"name": "wide", "label": "a", "all": [{"column": "x", "op": "!=", "value": v} for v in range(n)]}
        status, answer = call("POST", "/rules/preview", {"rule": conditions(20)})  # 2.4 million tests
        assert status == 400 and answer == {
            "error": "A preview on 120,000 items takes at most 16 condition(s) in a rule; this one has 20."}
        status, found = call("POST", "/rules/preview", {"rule": conditions(16)})
        assert status == 200 and found["votes"] > 0
