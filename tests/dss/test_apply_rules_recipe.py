"""The Apply labeling rules recipe: the real recipe.py run through the fake DSS."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from fake_dataiku.harness import config_as_created
from paths import ROOT
from test_llm_prelabel_recipe import ACCURACY as LLM_ACCURACY
from test_llm_prelabel_recipe import CATEGORIES as LLM_CATEGORIES
from test_llm_prelabel_recipe import tickets

from labelloop.errors import LabelloopError
from labelloop.llm.prompt import shown_as_examples
from labelloop.store.items import row_ids

RECIPE = ROOT / "custom-recipes" / "apply-rules"
TICKETS = pd.DataFrame({"ticket": [f"t{i}" for i in range(6)],
                        "text": ["refund now", "I want my money back", "thanks!", "great, thanks", "hello", None],
                        "amount": [10.0, 900.0, 5.0, 20.0, 700.0, 1.0]})


def rules_dataset(*rules) -> pd.DataFrame:
    return pd.DataFrame({"name": [r["name"] for r in rules], "label": [r["label"] for r in rules],
                         "rule": [json.dumps({k: v for k, v in r.items() if k not in ("name", "label")}) for r in rules]})


RULES = (
    {"name": "refund", "label": "complaint", "column": "text", "keywords": ["refund", "money back"]},
    {"name": "thanks", "label": "praise", "column": "text", "keywords": ["thanks"]},
    {"name": "big", "label": "complaint", "column": "amount", "op": ">", "value": 500},
)


@pytest.fixture
def flow(dss):
    dss.add_dataset("tickets", TICKETS)
    dss.add_dataset("rules", rules_dataset(*RULES))
    dss.add_dataset("weak")
    dss.add_dataset("rule_stats")
    return dss


def run(flow, config=None, labels=None, data="tickets"):
    inputs = {"data": [data], "rules": ["rules"], **({"labels": [labels]} if labels else {})}
    return flow.run(RECIPE, config if config is not None else {"id_column": "ticket"}, inputs=inputs,
                    outputs={"weak_labels": ["weak"], "rule_statistics": ["rule_stats"]})


def test_rules_of_a_dataset_give_weak_labels_and_statistics_measured_on_the_labels(flow):
    flow.add_dataset("labels", pd.DataFrame({"ticket": ["t0", "t4"], "item_id": ["t0", "t4"],
                                             "label": ["complaint", "other"]}))
    run(flow, labels="labels")
    weak = flow.platform.read_dataset("weak")
    assert weak.columns.tolist() == ["ticket", "text", "amount", "item_id", "weak_label", "confidence", "rules"]
    labeled = dict(zip(weak["item_id"], weak["weak_label"]))
    assert set(labeled) == {"t0", "t1", "t2", "t3", "t4"}  # t5: no rule votes
    assert [labeled[i] for i in ("t0", "t1", "t2", "t3")] == ["complaint", "complaint", "praise", "praise"]
    by_item = weak.set_index("item_id")
    assert json.loads(by_item.loc["t1", "rules"]) == ["refund", "big"] and json.loads(by_item.loc["t4", "rules"]) == ["big"]
    stats = flow.platform.read_dataset("rule_stats").set_index("name")
    assert stats.columns.tolist() == ["label", "enabled", "coverage", "overlap", "conflict", "votes", "accuracy", "gold"]
    assert stats.loc["refund", ["votes", "gold", "accuracy"]].tolist() == [2, 1, 1.0]
    assert stats.loc["big", ["votes", "gold", "accuracy"]].tolist() == [2, 1, 0.0]  # t4 was called "other"


def test_a_recipe_created_in_the_ui_runs_on_a_pool_without_ids(flow):
    flow.add_dataset("plain", TICKETS.drop(columns="ticket"))
    run(flow, config_as_created(RECIPE), data="plain")
    weak = flow.platform.read_dataset("weak")
    ids = row_ids(flow.read_as_dss("plain"))
    assert set(weak["item_id"]) <= set(ids) and len(weak) == 5


@pytest.mark.parametrize("rules, message", [
    (pd.DataFrame({"name": ["r"], "rule": ["{}"]}), "needs the columns name, label and rule (missing: label)"),
    (pd.DataFrame({"name": ["r"], "label": ["x"], "rule": ["{nope"]}), "Row 1 of the rules dataset: 'rule' must hold"),
    (rules_dataset({"name": "r", "label": "x", "column": "text", "regex": "(a"}), "Rule 'r': regex is not a valid RE2"),
    (rules_dataset({"name": "r", "label": "x", "column": "stars", "keywords": ["a"]}), "column 'stars' is not a column"),
])
def test_bad_rules_stop_the_recipe_in_one_sentence_and_write_nothing(flow, rules, message):
    flow.add_dataset("rules", rules)
    with pytest.raises(LabelloopError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run(flow)
    assert not flow.platform.dataset_exists("weak") and not flow.platform.dataset_exists("rule_stats")


def test_a_reviewer_writes_rules_in_the_dss_webapp_and_the_recipe_applies_them(flow, tmp_path):
    from test_dss_webapps import start

    flow.add_dataset("labels")
    flow.add_dataset("metadata")
    flow.add_dataset("rows", TICKETS)
    flow.add_dataset("rules", rules_dataset(RULES[0]))
    categories = [{"from": "complaint", "to": "Complaint"}, {"from": "praise", "to": "Praise"}]
    client = start(flow, tmp_path, "text", text_column="text", id_column="ticket", categories=categories,
                   rules_ds="rules", reviewers="carol")
    alice, carol = flow.login("alice"), flow.login("carol")
    assert client.get("/config", headers=alice).get_json()["rules"] is True
    assert client.post("/label", json={"id": "t0", "label": "complaint"}, headers=alice).status_code == 200
    shown = client.get("/rules", headers=alice).get_json()
    assert [r["name"] for r in shown["rules"]] == ["refund"] and shown["canEdit"] is False
    assert (shown["statistics"][0]["gold"], shown["statistics"][0]["accuracy"]) == (1, 1.0)

    thanks = RULES[1]
    assert client.post("/rules/preview", json={"rule": thanks}, headers=alice).get_json()["votes"] == 2
    assert client.put("/rules", json={"rules": [RULES[0], thanks]}, headers=alice).status_code == 403
    refused = client.put("/rules", json={"rules": [RULES[0], {**thanks, "column": "nope"}]}, headers=carol)
    assert refused.status_code == 400 and "nope" in refused.get_json()["error"]
    assert flow.platform.read_dataset("rules")["name"].tolist() == ["refund"]  # nothing changed
    saved = client.put("/rules", json={"rules": [RULES[0], {**thanks, "enabled": False}]}, headers=carol)
    assert saved.status_code == 200 and [r["name"] for r in saved.get_json()["rules"]] == ["refund", "thanks"]
    kept = flow.platform.read_dataset("rules")
    assert kept.columns.tolist() == ["name", "label", "rule"] and json.loads(kept["rule"][1])["enabled"] is False

    run(flow)
    weak = flow.platform.read_dataset("weak")
    assert sorted(weak["item_id"]) == ["t0", "t1"]  # the disabled rule does not vote


def test_a_multi_label_webapp_refuses_a_rules_dataset(flow, tmp_path):
    from test_dss_webapps import start

    for name in ("labels", "metadata"):
        flow.add_dataset(name)
    flow.add_dataset("rows", TICKETS)
    with pytest.raises(LabelloopError, match="single-label"):
        start(flow, tmp_path, "text", text_column="text", id_column="ticket", rules_ds="rules", multi_label=True)


LLM_RECIPE = ROOT / "custom-recipes" / "llm-prelabel"


def test_the_llm_recipes_answers_vote_beside_the_rules_and_are_measured_on_the_labels(dss):
    """Pre-label with an LLM, then Apply labeling rules with its answers: the LLM labels what no
    rule covers, and its statistics row is measured on the labels its prompt did not show."""
    data = tickets()
    truth = dict(zip(data["ticket"], data["truth"]))
    dss.add_dataset("tickets", data[["ticket", "text"]])
    dss.add_dataset("labels", pd.DataFrame({"item_id": data["ticket"][:40], "label": data["truth"][:40]}))
    dss.add_dataset("rules", rules_dataset({"name": "refund", "label": "complaint", "column": "text", "keywords": ["refund"]}))
    for name in ("answers", "weak", "rule_stats"):
        dss.add_dataset(name)
    llm_mesh = dss.add_completion_llm("openai:gpt", dict(zip(data["text"], data["truth"])), LLM_ACCURACY)
    dss.run(LLM_RECIPE, {"llm": "openai:gpt", "task": "Sort support tickets.", "categories": LLM_CATEGORIES,
                         "text_column": "text", "id_column": "ticket"},
            inputs={"data": ["tickets"], "labels": ["labels"]}, outputs={"answers": ["answers"]})
    answers = dss.platform.read_dataset("answers")
    said = dict(zip(answers["item_id"], answers["answer"]))

    dss.run(RECIPE, {"id_column": "ticket"}, inputs={"data": ["tickets"], "rules": ["rules"], "labels": ["labels"],
                                                    "llm_answers": ["answers"]},
            outputs={"weak_labels": ["weak"], "rule_statistics": ["rule_stats"]})
    weak = dss.platform.read_dataset("weak").set_index("item_id")
    assert len(weak) == len(data)  # the rule alone covers the 60 complaints
    praise = [i for i in data["ticket"] if truth[i] == "praise"]
    assert [weak.loc[i, "weak_label"] for i in praise] == [said[i] for i in praise]  # only the LLM votes there
    assert all(json.loads(weak.loc[i, "rules"]) == ["llm:openai:gpt"] for i in praise)
    assert json.loads(weak.loc["t0", "rules"]) == ["refund", "llm:openai:gpt"]
    stats = dss.platform.read_dataset("rule_stats").set_index("name")
    assert stats.index.tolist() == ["refund", "llm:openai:gpt"]
    llm = stats.loc["llm:openai:gpt"]
    # the items its prompt may show as examples are never its gold: the 4 it was shown among them
    labeled = [(i, truth[i]) for i in data["ticket"][:40]]
    unmeasured = shown_as_examples(labeled, ["complaint", "praise"])
    texts = dict(zip(data["text"], data["ticket"]))
    shown = {texts[m["content"]] for m in llm_mesh.requests[0]["messages"] if m["role"] == "user" and m["content"] in texts}
    assert len(shown) == 4 and shown <= unmeasured
    measured = [i for i, _ in labeled if i not in unmeasured]
    assert llm["votes"] == len(data) and llm["gold"] == len(measured) > 0
    assert llm["accuracy"] == pytest.approx(sum(said[i] == truth[i] for i in measured) / len(measured))


@pytest.mark.parametrize("answers, message", [
    (pd.DataFrame({"item_id": ["t0"], "answer": ["complaint"]}), "The LLM answers dataset has no 'prompt_version' column"),
])
def test_an_llm_answers_dataset_of_another_kind_stops_the_recipe_in_one_sentence(flow, answers, message):
    flow.add_dataset("answers", answers)
    with pytest.raises(LabelloopError, match=message):
        flow.run(RECIPE, {"id_column": "ticket"}, inputs={"data": ["tickets"], "rules": ["rules"], "llm_answers": ["answers"]},
                 outputs={"weak_labels": ["weak"], "rule_statistics": ["rule_stats"]})
    assert not flow.platform.dataset_exists("weak") and not flow.platform.dataset_exists("rule_stats")
