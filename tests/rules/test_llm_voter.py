"""The LLM as a voter beside the rules: ``labelloop weak`` measures it per category on the human labels."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from test_cli import run
from test_weak_labels import TWEET_RULES

from labelloop.rules.llm_voter import llm_votes
from labelloop.rules.spec import parse_rules
from labelloop.rules.votes import rule_fires
from labelloop.rules.weak import label_pool
from labelloop.standalone.demo import tweets_frame
from labelloop.standalone.project import Project
from labelloop.store.llm_answers import LlmAnswers

CATEGORIES = ["negative", "neutral", "positive"]


def recorded_answer(number: int, truth: str):
    """The simulated LLM: right on negative and neutral items, says neutral on positive ones,
    abstains on every fifth item and answers off the list on every seventh."""
    if number % 5 == 0:
        return None
    if number % 7 == 0:
        return "angry"
    return "neutral" if truth == "positive" else truth


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """200 tweets, 60 labeled by a person, the tweet rules, and the LLM's answers on every tweet."""
    tmp = tmp_path_factory.mktemp("llm")
    frame = tweets_frame(200)
    truth = [(["negative", "neutral", "positive"] * 70)[n] for n in range(200)]  # the simulation's own truth
    frame.to_csv(tmp / "tweets.csv", index=False)
    run("init", tmp / "proj", "--data", tmp / "tweets.csv", "--type", "text", "--text-column", "text",
        "--id-column", "tweet_id", "--categories", ",".join(CATEGORIES))
    pd.DataFrame({"tweet_id": frame["tweet_id"][:60], "label": truth[:60]}).to_csv(tmp / "gold.csv", index=False)
    run("import", tmp / "proj", "--labels", tmp / "gold.csv", "--annotator", "ada")
    (tmp / "rules.json").write_text(json.dumps(TWEET_RULES))
    run("rules", tmp / "proj", "--file", tmp / "rules.json")
    answers = [(str(i), recorded_answer(i, t)) for i, t in zip(frame["tweet_id"], truth)]
    project = Project.open(tmp / "proj")
    LlmAnswers(project.journal).record_many(answers, "p1", "tiny-model")
    project.close()
    return tmp / "proj", dict(zip(map(str, frame["tweet_id"]), truth)), dict(answers)


def test_weak_lists_the_llm_with_its_accuracy_and_coverage_per_category(project):
    folder, truth, answers = project
    found = json.loads(run("weak", folder, "--json").stdout)
    llm = {r["name"]: r for r in found["rules"]}["llm:tiny-model"]
    on_list = {i: a for i, a in answers.items() if a in CATEGORIES}
    labeled = list(truth.items())[:60]
    # each category's first ten human labels may be the prompt's examples: the LLM is not measured on them
    examples = {i for c in CATEGORIES for i in [i for i, t in labeled if t == c][:10]}
    gold = {i: t for i, t in labeled if i not in examples}
    assert len(gold) == 30
    assert llm["coverage"] == pytest.approx(len(on_list) / 200) and llm["votes"] == len(on_list)
    checked = [i for i in gold if i in on_list]
    assert llm["gold"] == len(checked)
    assert llm["accuracy"] == pytest.approx(sum(on_list[i] == gold[i] for i in checked) / len(checked))
    for category in CATEGORIES:
        said = [i for i in checked if on_list[i] == category]
        measured = llm["categories"][category]
        assert measured["gold"] == len(said)
        assert measured["coverage"] == pytest.approx(sum(a == category for a in on_list.values()) / 200)
        assert measured["accuracy"] == (sum(gold[i] == category for i in said) / len(said) if said else None)
    assert llm["categories"]["negative"]["accuracy"] == 1.0 and llm["categories"]["positive"]["gold"] == 0
    assert llm["categories"]["neutral"]["accuracy"] < 1.0  # it calls the positive tweets neutral

    weak = Project.open(folder).platform.read_dataset("weak_labels")
    fired = weak.set_index("item_id")["rules"].map(json.loads)
    assert all("llm:tiny-model" in fired[i] for i in on_list)  # abstentions and off-list answers do not vote
    assert not any("llm:tiny-model" in fired.get(i, []) for i in answers if i not in on_list)
    assert found["coverage"] >= len(on_list) / 200

    text = run("weak", folder).stdout
    assert "llm:tiny-model" in text and "rules and the LLM cover" in text


def test_without_llm_answers_the_report_has_only_the_rules(tmp_path):
    frame = tweets_frame(40)
    frame.to_csv(tmp_path / "tweets.csv", index=False)
    run("init", tmp_path / "proj", "--data", tmp_path / "tweets.csv", "--type", "text", "--text-column", "text",
        "--id-column", "tweet_id", "--categories", ",".join(CATEGORIES))
    (tmp_path / "rules.json").write_text(json.dumps(TWEET_RULES))
    run("rules", tmp_path / "proj", "--file", tmp_path / "rules.json")
    found = json.loads(run("weak", tmp_path / "proj", "--json").stdout)
    assert [r["name"] for r in found["rules"]] == [r["name"] for r in TWEET_RULES]


def test_an_accurate_llm_outweighs_a_sloppy_rule_and_the_labels_cover_both():
    """A rule that votes positive on every tweet with "a" and an LLM right on all but its
    abstentions: taught by 60 human labels, the label model follows the LLM where they disagree."""
    frame = tweets_frame(300)
    truth = [CATEGORIES[n % 3] for n in range(300)]
    rules = parse_rules([{"name": "sloppy", "label": "positive", "column": "text", "keywords": ["a"]}],
                        frame.dtypes, CATEGORIES)
    ids = frame["tweet_id"].astype(str)
    answers = {i: (None if n % 10 == 0 else t) for n, (i, t) in enumerate(zip(ids, truth))}
    gold = np.array([CATEGORIES.index(t) if n < 60 else -1 for n, t in enumerate(truth)])
    weak = label_pool(rules, frame, CATEGORIES, gold, llm_votes("exact", answers, ids, CATEGORIES))
    labels = dict(zip(weak.rows, weak.labels))
    answered = [n for n, i in enumerate(ids) if answers[i] is not None]
    assert all(labels[n] == truth[n] for n in answered)
    sloppy = set(np.flatnonzero(rule_fires(rules[0], frame)))
    assert set(weak.rows) == set(answered) | sloppy
    measured = {r["name"]: r for r in weak.report["rules"]}
    assert measured["llm:exact"]["accuracy"] == 1.0 and measured["sloppy"]["accuracy"] < 0.5
