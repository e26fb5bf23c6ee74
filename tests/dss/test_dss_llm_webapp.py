"""A DSS labeling webapp with an LLM Mesh completion model: it pre-labels the items about to be
served in the background, and labeling goes on whatever the model does."""
from __future__ import annotations

import dataclasses

import flask
import pandas as pd
import pytest
from paths import ROOT
from polling import eventually

import labelloop.labeling.llm_prelabeling as llm_prelabeling
from labelloop.errors import LabelloopError
from labelloop.store.journal import Journal
from labelloop.store.llm_answers import LlmAnswers

WEBAPPS = ROOT / "webapps"
CATEGORIES = [{"from": "complaint", "to": "the customer is unhappy"}, {"from": "praise", "to": "the customer is happy"}]
TEXTS = [f"ticket {i}: {'refund please' if i % 2 == 0 else 'thanks a lot'}" for i in range(60)]
TRUTH = {text: ("complaint" if i % 2 == 0 else "praise") for i, text in enumerate(TEXTS)}


@pytest.fixture
def flow(dss_any, monkeypatch):
    # the LLM's retries pause 10 ms rather than 0.5 s then 1 s: what is checked is what it says, not when
    monkeypatch.setattr(llm_prelabeling, "PACE", dataclasses.replace(llm_prelabeling.PACE, backoff=0.01))
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
def test_the_mesh_model_answers_the_next_items_with_examples_from_the_labels(flow, tmp_path, kind, read, monkeypatch):
    monkeypatch.setattr(llm_prelabeling, "PAUSE", 0.1)  # its next look at the queue, with examples, at once rather than in 5 s
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


def measured(answers: dict, labeled: list) -> list:
    """``[(answer, final label)]`` of the labeled items the LLM answered, each category's first ten labels
    aside (the prompt takes its examples among them, so they measure nothing)."""
    seen = {key["from"]: 0 for key in CATEGORIES}
    pairs = []
    for item, label in labeled:
        seen[label] += 1
        if seen[label] > 10 and answers.get(item) is not None:
            pairs.append((answers[item], label))
    return pairs


def label_next(client, headers, size: int) -> list:
    items = client.get(f"/batch?size={size}", headers=headers).get_json()["items"]
    for item in items:
        label = TRUTH[item["data"]["text"]]
        assert client.post("/label", json={"id": item["id"], "label": label}, headers=headers).status_code == 200
    return [(item["id"], TRUTH[item["data"]["text"]]) for item in items]


@pytest.mark.slow  # waits out two of the LLM's 5 s pauses between rounds (a prompt with examples, then its answers): 10 s each
@pytest.mark.parametrize("kind, read", [("text", "{}"), ("tabular", "text: {}")])
def test_the_rules_and_team_panels_measure_the_mesh_model_against_the_labels(flow, tmp_path, kind, read):
    from test_apply_rules_recipe import rules_dataset

    truth = {read.format(text): label for text, label in TRUTH.items()}
    flow.add_completion_llm("openai:gpt", truth, {"complaint": 0.9, "praise": 0.6})
    flow.add_dataset("rules", rules_dataset({"name": "refund", "label": "complaint", "column": "text",
                                             "keywords": ["refund"]}))
    client = start(flow, tmp_path, kind, rules_ds="rules", reviewers="carol")
    carol = flow.login("carol")
    assert eventually(lambda: llm_stats(client, carol)["answers"] >= 20, timeout=30)
    first = llm_stats(client, carol)["promptVersion"]
    labeled = label_next(client, carol, 20)  # the items it answered first: its examples come from them
    assert eventually(lambda: llm_stats(client, carol)["promptVersion"] != first
                      and llm_stats(client, carol)["answers"] >= 20, timeout=30)  # a prompt with examples
    labeled += label_next(client, carol, 20)
    frame = LlmAnswers(Journal(f"sqlite:///{tmp_path / 'journal.sqlite'}")).frame()
    last = frame[frame["prompt_version"] == frame["prompt_version"].iloc[-1]]
    answers = dict(zip(last["item_id"], last["answer"]))
    pairs = measured(answers, labeled)
    assert len(pairs) >= 10

    voter = client.get("/rules", headers=carol).get_json()["llm"]  # the Rules panel lists it, measured as a rule
    assert voter["name"] == "llm:openai:gpt" and voter["gold"] == len(pairs)
    assert voter["accuracy"] == pytest.approx(sum(a == t for a, t in pairs) / len(pairs))
    assert voter["coverage"] == pytest.approx(sum(a is not None for a in answers.values()) / len(TEXTS))
    for key in ("complaint", "praise"):
        said = [t for a, t in pairs if a == key]
        found = voter["categories"][key]
        assert found["gold"] == len(said) and found["accuracy"] == (sum(t == key for t in said) / len(said) if said else None)
    assert eventually(lambda: (llm_stats(client, carol)["agreement"] or {}).get("items") == len(pairs), timeout=30)
    agreement = llm_stats(client, carol)["agreement"]  # the Team panel's LLM-vs-human line
    assert agreement["accuracy"] == pytest.approx(sum(a == t for a, t in pairs) / len(pairs))
    assert agreement["majority"] == pytest.approx(max(sum(t == k for _, t in pairs) for k in TRUTH.values()) / len(pairs))
