"""A DSS labeling webapp with an LLM Mesh completion model: it pre-labels the items about to be
served in the background, and labeling goes on whatever the model does."""
from __future__ import annotations

import flask
import pandas as pd
import pytest
from paths import ROOT
from polling import eventually

from labelloop.errors import LabelloopError
from labelloop.store.journal import Journal
from labelloop.store.llm_answers import LlmAnswers

WEBAPPS = ROOT / "webapps"
CATEGORIES = [{"from": "complaint", "to": "the customer is unhappy"}, {"from": "praise", "to": "the customer is happy"}]
TEXTS = [f"ticket {i}: {'refund please' if i % 2 == 0 else 'thanks a lot'}" for i in range(60)]
TRUTH = {text: ("complaint" if i % 2 == 0 else "praise") for i, text in enumerate(TEXTS)}


@pytest.fixture
def flow(dss_any):
    dss_any.add_dataset("tickets", pd.DataFrame({"ticket": [f"t{i}" for i in range(60)], "text": TEXTS}))
    dss_any.add_dataset("labels")
    dss_any.add_dataset("metadata")
    return dss_any


def start(dss, tmp_path, kind="text", **extra):
    config = {"unlabeled": "tickets", "categories": CATEGORIES, "labels_ds": "labels", "metadata_ds": "metadata",
              "id_column": "ticket", "llm": "openai:gpt", "llm_task": "Sort support tickets.",
              "journal": dss.shared_journal(f"sqlite:///{tmp_path / 'journal.sqlite'}"),
              **({"text_column": "text"} if kind == "text" else {}), **extra}
    app = flask.Flask("backend")
    dss.run(WEBAPPS / f"{kind}-labeling", config, init_globals={"app": app})
    return app.test_client(use_cookies=False)


def llm_stats(client, headers) -> dict:
    return client.get("/stats", headers=headers).get_json()["llm"]


@pytest.mark.parametrize("kind, read", [("text", "{}"), ("tabular", "text: {}")])  # a row: its columns but the id
def test_the_mesh_model_answers_the_next_items_with_examples_from_the_labels(flow, tmp_path, kind, read):
    truth = {read.format(text): label for text, label in TRUTH.items()}  # what the model reads of each item
    llm = flow.add_completion_llm("openai:gpt", truth, {"complaint": 1.0, "praise": 1.0})
    client = start(flow, tmp_path, kind)
    alice = flow.login("alice")
    items = client.get("/batch?size=4", headers=alice).get_json()["items"]
    for item in items:
        label = TRUTH[item["data"]["text"]]
        assert client.post("/label", json={"id": item["id"], "label": label}, headers=alice).status_code == 200
    assert eventually(lambda: llm_stats(client, alice)["answers"] >= 20, timeout=30)
    stats = llm_stats(client, alice)
    assert stats["model"] == "openai:gpt" and stats["problem"] is None and len(stats["promptVersion"]) == 12
    system = llm.requests[0]["messages"][0]
    assert system["role"] == "system" and "Sort support tickets." in system["content"]
    assert eventually(lambda: any(m["role"] == "assistant" for r in llm.requests for m in r["messages"]), timeout=30)
    answers = LlmAnswers(Journal(f"sqlite:///{tmp_path / 'journal.sqlite'}")).latest()  # of every prompt version
    assert len(answers) >= 20 and all(TRUTH[TEXTS[int(item[1:])]] == answer for item, answer in answers.items())


def test_a_failing_model_is_named_in_stats_and_labeling_goes_on(flow, tmp_path):
    flow.add_completion_llm("openai:gpt", TRUTH, {"complaint": 1.0, "praise": 1.0}, fail_first=1000)
    client = start(flow, tmp_path)
    alice = flow.login("alice")
    assert eventually(lambda: llm_stats(client, alice)["problem"], timeout=30)
    problem = llm_stats(client, alice)["problem"]
    assert problem == "The LLM Mesh model 'openai:gpt' failed to answer."
    items = client.get("/batch?size=3", headers=alice).get_json()["items"]
    for item in items:
        assert client.post("/label", json={"id": item["id"], "label": "praise"}, headers=alice).status_code == 200
    assert client.get("/stats", headers=alice).get_json()["labeled"] == 3


def test_a_multi_label_webapp_refuses_an_llm_in_one_sentence(flow, tmp_path):
    with pytest.raises(LabelloopError) as refused:
        start(flow, tmp_path, multi_label=True)
    assert str(refused.value) == "LLM pre-labeling works on single-label webapps: leave the LLM empty."
