"""The Pre-label with an LLM recipe: the real recipe.py run through the fake DSS, whose LLM Mesh
completion model answers with a known accuracy per category."""
from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from paths import ROOT
from polling import eventually
from sampler_models import pool, tabular_classifier

import labelloop.dss.llm_recipe as llm_recipe
from labelloop.errors import LabelloopError
from labelloop.llm.prelabel import Pace

RECIPE = ROOT / "custom-recipes" / "llm-prelabel"
CATEGORIES = [{"from": "complaint", "to": "the customer is unhappy"}, {"from": "praise", "to": "the customer is happy"}]
ACCURACY = {"complaint": 0.9, "praise": 0.6}


def tickets(count: int = 120) -> pd.DataFrame:
    kinds = ["complaint", "praise"]
    return pd.DataFrame({"ticket": [f"t{i}" for i in range(count)],
                         "text": [f"ticket {i}: {'refund' if i % 2 == 0 else 'thanks'} {i * 7 % 13}" for i in range(count)],
                         "truth": [kinds[i % 2] for i in range(count)]})


@pytest.fixture
def flow(dss_any, monkeypatch):
    # retries pause 10 ms rather than 0.5 s then 1 s: what is checked is when a run stops or retries, not how long it waits
    monkeypatch.setattr(llm_recipe, "Pace", functools.partial(Pace, backoff=0.01))
    data = tickets()
    dss_any.add_dataset("tickets", data[["ticket", "text"]])
    dss_any.add_dataset("labels", pd.DataFrame({"item_id": data["ticket"][:40], "label": data["truth"][:40]}))
    dss_any.add_dataset("answers")
    dss_any.llm = dss_any.add_completion_llm("openai:gpt", dict(zip(data["text"], data["truth"])), ACCURACY)
    return dss_any


def settings(**config) -> dict:
    return {"llm": "openai:gpt", "task": "Sort support tickets.", "categories": CATEGORIES, "text_column": "text",
            "id_column": "ticket", **config}


def run(flow, labels: bool = True, **config):
    return flow.run(RECIPE, settings(**config), inputs={"data": ["tickets"], **({"labels": ["labels"]} if labels else {})},
                    outputs={"answers": ["answers"]})


def written(flow) -> pd.DataFrame:
    return flow.platform.read_dataset("answers")


def test_every_item_gets_an_answer_measured_against_the_labels_and_examples_come_from_them(flow):
    run(flow)
    answers = written(flow)
    assert answers.columns.tolist() == ["item_id", "answer", "prompt_version", "model", "answered_at"]
    assert sorted(answers["item_id"]) == sorted(tickets()["ticket"]) and set(answers["model"]) == {"openai:gpt"}
    assert answers["prompt_version"].nunique() == 1 and set(answers["answer"]) <= {"complaint", "praise"}
    truth = dict(zip(tickets()["ticket"], tickets()["truth"]))
    for key, accuracy in ACCURACY.items():
        of_key = answers[answers["item_id"].map(truth) == key]
        assert abs((of_key["answer"] == key).mean() - accuracy) < 0.15, key
    first = flow.llm.requests[0]
    roles = [m["role"] for m in first["messages"]]
    assert roles[0] == "system" and roles.count("assistant") == 4 and roles[-1] == "user"  # 2 examples a category
    system = first["messages"][0]["content"]
    assert "Sort support tickets." in system and "the customer is happy" in system
    # the JSON output mode where dataikuapi has it (13.2 and later), the prompt alone before
    assert ("responseFormat" in first["settings"]) == (flow.version >= (13, 2, 0))
    assert first["settings"]["temperature"] == 0


def test_a_rerun_asks_only_about_items_without_an_answer_for_the_prompt(flow):
    run(flow, sample=30)
    assert len(written(flow)) == 30 and flow.llm.calls == 30
    run(flow)
    assert len(written(flow)) == 120 and flow.llm.calls == 120  # the 30 first answers were kept, not asked again
    run(flow, task="Sort the tickets of a shop.")  # a new prompt: a new version, every item asked again
    answers = written(flow)
    assert len(answers) == 120 and answers["prompt_version"].nunique() == 1 and flow.llm.calls == 240


def test_an_llm_failing_half_way_stops_the_run_in_one_sentence_and_the_next_run_goes_on(flow):
    flow.llm.fail_after = 50
    with pytest.raises(LabelloopError) as stopped:
        run(flow, concurrency=1)
    message = str(stopped.value)
    assert message.startswith("Stopped: The LLM Mesh model 'openai:gpt' failed to answer; the 50 answers so far")
    assert message.endswith("run the recipe again to go on.") and "\n" not in message
    assert len(written(flow)) == 50
    flow.llm.fail_after = 0
    run(flow)
    assert sorted(written(flow)["item_id"]) == sorted(tickets()["ticket"])


def test_answers_that_are_not_json_or_a_failure_now_and_then_are_abstentions_and_retries(flow):
    flow.llm.garbled, flow.llm.fail_every = 0.2, 7
    # one request at a time: an item's retries are the next calls, so only one of them can fail
    # (with requests in flight, all three attempts of an item can meet a failing call: it is then
    # left for the next run, as the recipe's report says, and the count below would be short)
    run(flow, labels=False, concurrency=1)
    answers = written(flow)
    assert len(answers) == 120
    abstained = answers["answer"].isna().mean()
    assert 0.1 < abstained < 0.3  # an unreadable reply abstains; a failed completion was asked again


@pytest.mark.parametrize("config, sentence", [
    ({"llm": ""}, "Choose the LLM (a completion model of the LLM Mesh) in the recipe settings."),
    ({"llm": "nope"}, "Stopped: The LLM Mesh refused the completion request for 'nope' (LLM not found: nope); the 0 "
                      "answers so far are written: run the recipe again to go on."),
    ({"categories": CATEGORIES[:1]}, "Give at least two categories in the settings."),
])
def test_bad_settings_are_refused_in_one_sentence(flow, config, sentence):
    with pytest.raises(LabelloopError) as refused:
        run(flow, **config)
    assert str(refused.value) == sentence


def test_the_answers_feed_the_query_sampler_s_llm_disagreement_bonus(dss):
    """The recipe's output is the Query sampler's ``llm_answers`` input: the rows where the LLM does
    not answer what the model predicts come first."""
    frame = pool(300)
    dss.add_dataset("rows", frame)
    dss.add_dataset("answers")
    dss.add_dataset("queries")
    dss.add_model("classifier", tabular_classifier(frame))
    predicted = tabular_classifier(frame).predict(frame)
    other = {"low": "high", "mid": "low", "high": "mid"}
    truth = {name: label if n < 150 else other[label] for n, (name, label) in enumerate(zip(frame["name"], predicted))}
    dss.add_completion_llm("openai:gpt", truth, {"low": 1.0, "mid": 1.0, "high": 1.0})
    categories = [{"from": key} for key in ("low", "mid", "high")]
    dss.run(RECIPE, {"llm": "openai:gpt", "categories": categories, "text_column": "name"}, inputs={"data": ["rows"]},
            outputs={"answers": ["answers"]})
    dss.run(ROOT / "custom-recipes" / "query-sampler",
            {"max_queries": 30, "random_share": 0.0, "diversity": "none", "llm_disagreement": 5.0},
            inputs={"saved_model": ["classifier"], "unlabeled_samples": ["rows"], "llm_answers": ["answers"]},
            outputs={"queries": ["queries"]})
    queries = dss.platform.read_dataset("queries")
    names = set(frame["name"][150:])
    assert len(queries) == 30 and set(queries["name"]) <= names


CHILD = """
import json, sys
from pathlib import Path
from fake_dataiku.harness import FakeDSS

spec = json.loads(Path(sys.argv[1]).read_text())
FakeDSS.restore(spec["state"]).run(Path(spec["recipe"]), spec["config"], inputs=spec["inputs"], outputs=spec["outputs"])
"""


def test_a_run_killed_with_sigkill_keeps_its_answers_and_the_next_run_asks_for_the_rest(flow, tmp_path):
    flow.llm.latency = 0.05
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"state": flow.snapshot(), "recipe": str(RECIPE), "inputs": {"data": ["tickets"]},
                                "outputs": {"answers": ["answers"]},
                                "config": settings(concurrency=1)}))
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(spec)], cwd=tmp_path, env=environment)
    cache = Path(os.environ["XDG_DATA_HOME"]) / "labelloop" / "PROJ" / "llm-answers"
    try:
        assert eventually(lambda: cached(cache) >= 20, timeout=60)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    kept = cached(cache)
    assert 20 <= kept < 120 and not flow.platform.dataset_exists("answers")  # killed before it wrote the output
    flow.llm.latency = 0.0
    run(flow, labels=False)
    assert sorted(written(flow)["item_id"]) == sorted(tickets()["ticket"]) and flow.llm.calls == 120 - kept


def cached(folder: Path) -> int:
    """The answers the recipe's SQLite file (the one of its output, in ``folder``) holds so far."""
    files = list(folder.glob("*answers*.sqlite")) if folder.is_dir() else []
    if not files:
        return 0
    with contextlib.closing(sqlite3.connect(files[0])) as connection:
        try:
            return connection.execute("SELECT COUNT(*) FROM llm_answers").fetchone()[0]
        except sqlite3.OperationalError:  # the table is not made yet
            return 0
