"""The query-sampler recipe: the real recipe.py run through the fake DSS."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from fake_dataiku.harness import DescriptorError, config_as_created
from paths import ROOT
from sampler_models import path_classifier, pool, tabular_classifier, tabular_regressor

from labelloop.errors import LabelloopError
from labelloop.store.items import row_ids
from labelloop.store.sessions import current_session

RECIPE = ROOT / "custom-recipes" / "query-sampler"


@pytest.fixture
def flow(dss):
    frame = pool(300)
    dss.add_dataset("unlabeled", frame)
    dss.add_dataset("queries")
    dss.add_model("classifier", tabular_classifier(frame))
    return dss


def run(flow, config=None, metadata=None, model="classifier", unlabeled="unlabeled", rules=None, llm_answers=None):
    inputs = {"saved_model": [model], "unlabeled_samples": [unlabeled]}
    if metadata:
        inputs["labeling_metadata"] = [metadata]
    if rules:
        inputs["labeling_rules"] = [rules]
    if llm_answers:
        inputs["llm_answers"] = [llm_answers]
    return flow.run(RECIPE, config or {}, inputs=inputs, outputs={"queries": ["queries"]})


def test_a_dataset_pool_gives_ranked_queries_without_answered_rows(flow):
    ids = row_ids(flow.read_as_dss("unlabeled"))
    flow.add_dataset("metadata", pd.DataFrame({"data_id": ids[:10], "status": "LABELED"}))
    run(flow, {"strategy": "entropy", "max_queries": 50, "random_share": 0.2, "chunk_size": 64}, metadata="metadata")
    queries = flow.platform.read_dataset("queries")
    assert len(queries) == 50 and (queries["strategy"] == "random").sum() == 10
    assert set(queries["strategy"]) == {"entropy", "random"}
    assert queries["uncertainty"].is_monotonic_decreasing
    assert set(ids[:10]).isdisjoint(queries["item_id"])
    assert (queries["session"] == 1).all() and current_session(flow.platform, "queries") == 1


def test_defaults_keep_every_row_and_an_unbuilt_metadata_dataset_is_fine(flow):
    flow.add_dataset("metadata")  # declared in the flow, never built
    run(flow, metadata="metadata")
    queries = flow.platform.read_dataset("queries")
    assert len(queries) == 300 and (queries["strategy"] == "random").sum() == 30
    assert set(queries["strategy"]) == {"margin", "random"}


def test_an_id_column_gives_the_webapp_s_ids(flow):
    frame = pool(300).assign(key=lambda f: [f"k{i}" for i in range(len(f))])
    flow.add_dataset("keyed", frame)
    flow.add_dataset("metadata", pd.DataFrame({"data_id": ["k0", "k1"], "status": "SKIPPED"}))
    run(flow, {"id_column": "key"}, metadata="metadata", unlabeled="keyed")
    queries = flow.platform.read_dataset("queries")
    assert len(queries) == 298 and set(queries["item_id"]) == {f"k{i}" for i in range(2, 300)}


def test_a_folder_pool_is_scored_by_path(flow):
    folder = flow.add_folder("sounds")
    names = [f"{d}{n}.wav" for d in ("", "deep/") for n in range(12)] + ["notes.txt"]
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"RIFF")
    flow.add_model("by_path", path_classifier([n for n in names if n.endswith(".wav")]))
    run(flow, {"max_queries": 10, "random_share": 0.0}, model="by_path", unlabeled="sounds")
    queries = flow.platform.read_dataset("queries")
    assert queries.columns.tolist() == ["path", "uncertainty", "strategy", "session", "model_version", "item_id"]
    assert len(queries) == 10 and (queries["path"] == queries["item_id"]).all()
    assert not queries["path"].str.startswith("/").any() and "notes.txt" not in set(queries["path"])


def test_diverse_queries_come_from_the_most_uncertain_rows_spread_over_clusters(flow):
    run(flow, {"max_queries": 400, "random_share": 0.0})
    ranked = flow.platform.read_dataset("queries")["item_id"].tolist()
    run(flow, {"max_queries": 40, "random_share": 0.1, "diversity": "cluster"})
    queries = flow.platform.read_dataset("queries")
    diverse = queries.loc[queries["strategy"] == "margin", "item_id"].tolist()
    assert len(queries) == 40 and len(diverse) == 36 and queries["uncertainty"].is_monotonic_decreasing
    assert set(diverse) <= set(ranked) and set(diverse) != set(ranked[:36])
    # a DSS predictor has no documented feature access: the rows' own columns are clustered
    spread = flow.read_as_dss("unlabeled").set_index(pd.Index(row_ids(flow.read_as_dss("unlabeled"))))
    assert spread.loc[diverse, "f2"].std() > spread.loc[ranked[:36], "f2"].std()


def test_user_mistakes_stop_the_recipe_with_a_readable_error(flow):
    flow.add_model("regressor", tabular_regressor(pool(300)))
    with pytest.raises(LabelloopError, match="no class probabilities"):
        run(flow, model="regressor")
    flow.add_dataset("other_features", pd.DataFrame({"f1": [0.5], "z": [1.0]}))
    with pytest.raises(LabelloopError, match="model's features"):
        run(flow, unlabeled="other_features")
    with pytest.raises(LabelloopError, match="max_queries"):
        run(flow, {"max_queries": 0})
    with pytest.raises(LabelloopError, match="random_share"):
        run(flow, {"random_share": 2.0})
    assert not flow.platform.dataset_exists("queries")


def test_the_recipe_runs_at_the_params_of_a_recipe_just_created_in_dss(flow):
    """DSS fills in each param's default and hands INT params over as floats (10000.0)."""
    run(flow, config_as_created(RECIPE))
    queries = flow.platform.read_dataset("queries")
    assert len(queries) == 300 and (queries["strategy"] == "random").sum() == 30
    run(flow, config_as_created(RECIPE, max_queries=20, chunk_size=64))
    assert len(flow.platform.read_dataset("queries")) == 20
    with pytest.raises(DescriptorError, match="INT"):
        run(flow, {"max_queries": 20.5})


def test_a_rules_bonus_ranks_first_the_rows_no_rule_helps_with(flow):
    rules = [{"name": "high", "label": "high", "rule": json.dumps({"column": "f1", "op": ">", "value": 0.5})},
             {"name": "low", "label": "low", "rule": json.dumps({"column": "f1", "op": "<", "value": -0.5})}]
    flow.add_dataset("rules", pd.DataFrame(rules))
    run(flow, {"max_queries": 30, "random_share": 0.0, "diversity": "none", "rules_bonus": 5.0}, rules="rules")
    queries = flow.platform.read_dataset("queries")
    rows = pool(300).iloc[[int(i.split()[1]) for i in queries["name"]]]
    unhelped = rows["f1"].between(-0.5, 0.5).to_numpy()  # neither rule votes
    assert unhelped.all() and set(queries["strategy"]) == {"margin+rules"}
    run(flow, config_as_created(RECIPE, max_queries=30, rules_bonus=0.0), rules="rules")  # no bonus: rules unused
    assert "margin+rules" not in set(flow.platform.read_dataset("queries")["strategy"])
    flow.add_dataset("rules", pd.DataFrame([{**rules[0], "rule": json.dumps({"column": "nope", "op": ">", "value": 1})}]))
    with pytest.raises(LabelloopError, match="nope"):
        run(flow, {"rules_bonus": 5.0}, rules="rules")


def test_an_llm_disagreement_bonus_ranks_first_the_rows_the_llm_answers_otherwise(flow):
    frame = flow.read_as_dss("unlabeled")
    ids = row_ids(frame)
    answers = ["low"] * 290 + [""] * 10  # the last ten: the LLM abstained
    flow.add_dataset("answers", pd.DataFrame({"item_id": ids, "answer": answers, "model": "tiny"}))
    run(flow, {"max_queries": 30, "random_share": 0.0, "diversity": "none", "llm_disagreement": 5.0},
        llm_answers="answers")
    queries = flow.platform.read_dataset("queries")
    predicted = dict(zip(ids, tabular_classifier(pool(300)).predict(frame)))
    apart = {i for i, a in zip(ids, answers) if a != predicted[i]}
    assert len(apart) > 30 and set(queries["item_id"]) <= apart and (queries["uncertainty"] >= 5).all()
    run(flow, config_as_created(RECIPE, max_queries=30), llm_answers="answers")  # no bonus: answers unused
    assert (flow.platform.read_dataset("queries")["uncertainty"] <= 1).all()
    flow.add_dataset("answers", pd.DataFrame({"item_id": ids}))
    with pytest.raises(LabelloopError, match="has no 'answer' column"):
        run(flow, {"llm_disagreement": 5.0}, llm_answers="answers")


def test_a_dataset_scored_by_dss_is_only_ranked_and_gives_the_model_s_queries(flow):
    """Without a saved model the unlabeled data is a Score recipe's output: its proba_<class>
    columns are ranked as the model's probabilities would be, and the queries are the same."""
    from dataiku import Predictor  # the fake's: the Score recipe writes the input rows plus what it returns

    frame = pool(300)
    flow.add_dataset("scored", Predictor(tabular_classifier(frame)).predict(frame, with_input_cols=True))
    settings = {"max_queries": 40, "random_share": 0.0, "diversity": "none", "chunk_size": 64}
    run(flow, settings)
    by_model = flow.platform.read_dataset("queries")
    flow.run(RECIPE, settings, inputs={"unlabeled_samples": ["scored"]}, outputs={"queries": ["queries"]})
    by_scores = flow.platform.read_dataset("queries")
    assert by_scores["item_id"].tolist() == by_model["item_id"].tolist()  # hashed on the input columns alone
    assert by_scores["uncertainty"].round(9).tolist() == by_model["uncertainty"].round(9).tolist()
    assert not [c for c in by_scores.columns if c == "prediction" or c.startswith("proba_")]
    assert (by_scores["session"] == 2).all()

    flow.run(RECIPE, {**settings, "diversity": "cluster"}, inputs={"unlabeled_samples": ["scored"]},
             outputs={"queries": ["queries"]})
    assert len(flow.platform.read_dataset("queries")) == 40

    with pytest.raises(LabelloopError, match="no 'proba_<class>' columns"):
        flow.run(RECIPE, settings, inputs={"unlabeled_samples": ["unlabeled"]}, outputs={"queries": ["queries"]})


def test_the_id_column_is_chosen_among_the_unlabeled_dataset_s_columns(flow):
    """A COLUMN param (params reference: "COLUMN: Select exactly one column", with ``columnRole``):
    DSS's form offers the input's columns only, where a STRING param took any text."""
    descriptor = json.loads((RECIPE / "recipe.json").read_text())
    id_param = next(p for p in descriptor["params"] if p["name"] == "id_column")
    assert (id_param["type"], id_param["columnRole"]) == ("COLUMN", "unlabeled_samples")
    with pytest.raises(DescriptorError, match="'unlabeled_samples' input offers"):
        run(flow, {"id_column": "key"})
    run(flow, {"id_column": "name", "max_queries": 5})
    assert flow.platform.read_dataset("queries")["item_id"].str.startswith("row ").all()
