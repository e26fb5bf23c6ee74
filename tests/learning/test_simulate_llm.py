"""``labelloop simulate --llm-answers``: a recorded file of an LLM's answers adds the ``+llm`` runs."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from sklearn.datasets import load_wine
from test_cli import run
from test_simulate import WINE_RULES

pytestmark = pytest.mark.slow  # each simulation trains dozens of models


@pytest.fixture
def wine(tmp_path):
    """The wine table with an id column, and an LLM's answers: right on classes 0 and 1, class 0
    for every class 2 wine, abstaining on every fourth wine."""
    frame = load_wine(as_frame=True).frame
    frame.insert(0, "wine_id", [f"w{i}" for i in range(len(frame))])
    frame.to_csv(tmp_path / "wine.csv", index=False)
    answers = ["" if i % 4 == 0 else ("0" if label == 2 else str(label)) for i, label in enumerate(frame["target"])]
    pd.DataFrame({"item_id": frame["wine_id"], "answer": answers}).to_csv(tmp_path / "answers.csv", index=False)
    return tmp_path


def simulate(folder, *options, ok=True):
    return run("simulate", "--data", folder / "wine.csv", "--label-column", "target", "--seeds", "3",
               "--strategy", "margin,random", "--diversity", "none", "--seed-labels", "12", "--batch", "10",
               "--max-labels", "42", "--out", folder / "out", "--json", *options, ok=ok)


def test_llm_answers_add_a_run_per_ranked_strategy_that_follows_the_disagreement(wine):
    report = json.loads(simulate(wine, "--llm-answers", wine / "answers.csv", "--id-column", "wine_id").stdout)
    assert list(report["strategies"]) == ["margin", "random", "margin+llm"]  # random is not ranked: no +llm
    plain, favoured = report["strategies"]["margin"], report["strategies"]["margin+llm"]
    assert [n for n, _ in plain["curve"]] == [12, 22, 32, 42] == [n for n, _ in favoured["curve"]]
    runs = {(r["strategy"], r["seed"]): r["curve"] for r in report["runs"]}
    assert all(runs["margin", s][0] == runs["margin+llm", s][0] for s in range(3))  # the same seed labels
    assert any(runs["margin", s][1:] != runs["margin+llm", s][1:] for s in range(3))  # then other picks

    (wine / "rules.json").write_text(json.dumps(WINE_RULES))
    report = json.loads(simulate(wine, "--llm-answers", wine / "answers.csv", "--id-column", "wine_id",
                                 "--rules", wine / "rules.json").stdout)
    assert list(report["strategies"]) == ["margin", "random", "margin+rules", "random+rules", "margin+llm",
                                          "margin+rules+llm"]


@pytest.mark.parametrize("content, options, message", [
    ("item_id\nw1\n", ("--id-column", "wine_id"), "answers.csv has no 'answer' column"),
    ("item_id,answer\nx1,0\n", ("--id-column", "wine_id"), "None of the LLM answers' item ids is an item of the data"),
    ("item_id,answer\nw1,0\n", (), "None of the LLM answers' item ids is an item of the data"),  # rows hashed
    ("item_id,answer\nw1,0\n", ("--id-column", "nope"), "no column 'nope' (--id-column)"),
], ids=["no-answer-column", "unknown-ids", "ids-without-id-column", "unknown-id-column"])
def test_bad_answers_are_refused_in_one_sentence(wine, content, options, message):
    (wine / "answers.csv").write_text(content)
    refused = simulate(wine, "--llm-answers", wine / "answers.csv", *options, ok=False)
    assert refused.returncode == 2 and message in refused.stderr and refused.stderr.strip().count("\n") == 0
    assert not (wine / "out").exists()
