"""The Rules panel's API on a served project: see the rules, try one before saving, save."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from labelloop.labeling.app import create_app, webapp_of
from labelloop.standalone.names import issue_key
from labelloop.standalone.project import Project, init_project
from labelloop.standalone.server import ServeOptions, serve_settings

TEXTS = ["I want a refund now", "refund please", "great service, thanks", "where is my parcel", "refund refund",
         "thanks a lot", "no refund yet", "love it"]
KEY = {"X-Labelloop-Key": "rules-browser-key-0123456789"}


@pytest.fixture
def project(tmp_path):
    pd.DataFrame({"n": range(len(TEXTS)), "text": TEXTS}).to_csv(tmp_path / "texts.csv", index=False)
    init_project(tmp_path / "proj", tmp_path / "texts.csv", "text", [{"key": "complaint"}, {"key": "praise"}],
                 id_column="n", text_column="text")
    opened = Project.open(tmp_path / "proj")
    yield opened
    opened.close()


REFUND = {"name": "refund", "label": "complaint", "column": "text", "keywords": ["refund"]}


def test_a_rule_is_previewed_with_its_accuracy_then_saved(project):
    app = create_app(serve_settings(project))
    client = app.test_client()
    try:
        for item, label in (("0", "complaint"), ("6", "praise"), ("2", "praise")):  # "no refund yet" called praise
            assert client.post("/label", json={"id": item, "label": label}).status_code == 200
        assert client.get("/rules").get_json() == {"rules": [], "statistics": [], "coverage": 0.0, "canEdit": True,
                                                   "columns": ["n", "text"], "measuredOn": "final labels",
                                                   "llm": None}  # no LLM answered
        preview = client.post("/rules/preview", json={"rule": REFUND}).get_json()
        assert preview["coverage"] == pytest.approx(4 / 8) and preview["votes"] == 4
        assert (preview["accuracy"], preview["gold"]) == (0.5, 2)
        assert [e["data"]["text"] for e in preview["examples"]] == ["I want a refund now", "refund please",
                                                                     "refund refund", "no refund yet"]
        assert json.loads((project.root / "labelloop.json").read_text())  # nothing saved by a preview
        assert not (project.root / "rules.json").exists()

        saved = client.put("/rules", json={"rules": [REFUND]}).get_json()
        assert saved["rules"] == [REFUND] and saved["statistics"][0]["votes"] == 4 and saved["canEdit"] is True
        thanks = {"name": "thanks", "label": "praise", "column": "text", "keywords": ["thanks", "refund please"]}
        preview = client.post("/rules/preview", json={"rule": thanks}).get_json()
        assert preview["overlap"] == pytest.approx(1 / 8) and preview["conflict"] == pytest.approx(1 / 8)
        assert client.get("/rules").get_json()["coverage"] == pytest.approx(4 / 8)
    finally:
        webapp_of(app).stop()


BAD_REGEX = {"name": "refund", "label": "complaint", "column": "text", "regex": "(a"}


@pytest.mark.parametrize("rule, message", [
    ({**REFUND, "regex": "a"}, "Rule 'refund': give exactly one of"),
    (BAD_REGEX, "Rule 'refund': regex is not a valid RE2"),
    ({**REFUND, "column": "nope"}, "Rule 'refund': column 'nope' is not a column"),
    ("refund", "is not a JSON object"),
])
def test_bad_rules_get_one_sentence_and_change_nothing(project, rule, message):
    app = create_app(serve_settings(project))
    client = app.test_client()
    try:
        client.put("/rules", json={"rules": [REFUND]})
        before = (project.root / "rules.json").read_text()
        for response in (client.post("/rules/preview", json={"rule": rule}),
                         client.put("/rules", json={"rules": [REFUND, rule]}), client.put("/rules", json=[rule])):
            error = response.get_json()["error"]
            assert response.status_code == 400 and "\n" not in error
            assert message in error or "must be a JSON object" in error
        assert (project.root / "rules.json").read_text() == before
    finally:
        webapp_of(app).stop()


def test_on_a_shared_server_only_reviewers_change_the_rules(project):
    app = create_app(serve_settings(project, ServeOptions(auth_token="rules-token", reviewers=["rev"])))
    client = app.test_client()
    try:
        def as_user(name):
            return {"Authorization": "Bearer rules-token", "X-Labelloop-User": name, **KEY}
        refused = client.put("/rules", json={"rules": [REFUND]}, headers=as_user("ada"))
        assert refused.status_code == 403 and "reviewers can change the labeling rules" in refused.get_json()["error"]
        assert client.get("/rules", headers=as_user("ada")).get_json()["canEdit"] is False
        assert client.post("/rules/preview", json={"rule": REFUND}, headers=as_user("ada")).status_code == 200
        assert not (project.root / "rules.json").exists()
        squatter = {**as_user("rev"), "X-Labelloop-Key": "reviewer-browser-key-012345"}
        assert client.put("/rules", json={"rules": [REFUND]}, headers=squatter).status_code == 403
        other = {**as_user("rev"), "X-Labelloop-Key": issue_key(project.journal, "rev")}  # labelloop names --issue rev
        assert client.put("/rules", json={"rules": [REFUND]}, headers=other).status_code == 200
        assert json.loads((project.root / "rules.json").read_text()) == [REFUND]
    finally:
        webapp_of(app).stop()
