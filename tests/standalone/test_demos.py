"""The demos show the product (issue 35, part 6): the text demo labels with the sentence model that
``make`` installs, and suspected label errors say what the item is, not only its id."""
from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
from servers import labelloop_server
from test_cli import run

from labelloop.learning.embedding_model import DEFAULT_MODEL
from labelloop.standalone.demo import tweets_frame

INSTALLED_MODEL = Path(sys.prefix) / "models" / "all-MiniLM-L6-v2"  # where `make` puts it (tests/minilm_files.py)


def test_the_text_demo_finds_the_model_make_installs(tmp_path, monkeypatch):
    assert (INSTALLED_MODEL / "model.safetensors").is_file(), "run make first: it installs the model"
    monkeypatch.delenv("LABELLOOP_MODELS")  # as `make demo TYPE=text` runs it: no flag, no variable
    with labelloop_server("demo", "--type", "text", "--dir", tmp_path / "demo", "--retrain-every", "0") as url:
        with urllib.request.urlopen(url + "stats", timeout=60) as response:
            features = json.loads(response.read())["features"]
    assert features["kind"] == "embeddings" and features["model"] == DEFAULT_MODEL
    status = json.loads(run("status", tmp_path / "demo", "--json").stdout)
    assert status["features"]["kind"] == "embeddings"


def test_without_the_model_auto_keeps_tfidf(tmp_path):
    tweets_frame(50).to_csv(tmp_path / "tweets.csv", index=False)
    run("init", tmp_path / "proj", "--data", tmp_path / "tweets.csv", "--type", "text", "--text-column", "text",
        "--id-column", "tweet_id", "--categories", "a,b")  # the tests' models folder is empty (conftest.py)
    assert json.loads(run("status", tmp_path / "proj", "--json").stdout)["features"]["kind"] == "tfidf"


def test_suspects_show_the_texts_they_are_about(tmp_path):
    frame = tweets_frame(150)
    frame.to_csv(tmp_path / "tweets.csv", index=False)
    run("init", tmp_path / "proj", "--data", tmp_path / "tweets.csv", "--type", "text", "--text-column", "text",
        "--id-column", "tweet_id", "--categories", "sad,glad", "--features", "tfidf")
    glad = frame["text"].str.contains("love|good|great|happy|thank", case=False)
    labels = np.where(glad, "glad", "sad")
    labels[::7] = np.where(labels[::7] == "glad", "sad", "glad")  # a seventh of the labels flipped
    pd.DataFrame({"tweet_id": frame["tweet_id"], "label": labels}).to_csv(tmp_path / "labels.csv", index=False)
    run("import", tmp_path / "proj", "--labels", tmp_path / "labels.csv", "--annotator", "ada")

    found = json.loads(run("quality", tmp_path / "proj", "--json").stdout)["suspects"]
    assert found
    texts = dict(zip(frame["tweet_id"].astype(str), frame["text"]))
    for suspect in found:
        words = " ".join(texts[suspect["item_id"]].split())
        assert suspect["preview"] == (words if len(words) <= 80 else words[:79] + "\u2026")
    printed = run("quality", tmp_path / "proj").stdout
    assert found[0]["preview"] in printed
