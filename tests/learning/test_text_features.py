"""Text features without the embeddings extra (DESIGN.md section 12): TF-IDF works as before, and
asking for embeddings is refused in one sentence naming the install command. In the main venv the
extra is installed, so its absence is simulated where labelloop looks for it; the compat venvs
(make test-compat) have no torch, and run this as it is."""
from __future__ import annotations

import importlib.util
import json

import pandas as pd
import pytest

from labelloop.learning.feature_words import features_in_words
from labelloop.standalone.cli import main

REAL_FIND_SPEC = importlib.util.find_spec


@pytest.fixture
def no_extra(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "sentence_transformers" else REAL_FIND_SPEC(name, *a))


def test_without_the_extra_embeddings_are_refused_and_tfidf_does_the_work(tmp_path, wine_csv, no_extra, capsys):
    init = ["init", str(tmp_path / "proj"), "--data", str(wine_csv), "--type", "tabular", "--categories", "a,b,c",
            "--id-column", "wine_id"]
    assert main([*init, "--features", "embeddings"]) == 2
    error = capsys.readouterr().err.strip()
    assert error == "labelloop: error: Embedding features need the embeddings extra: pip install labelloop[embeddings]."
    assert not (tmp_path / "proj").exists()  # refused before anything is written

    assert main(init) == 0
    assert main(["train", str(tmp_path / "proj"), "--features", "embeddings"]) == 2
    assert capsys.readouterr().err.count("pip install labelloop[embeddings]") == 1
    assert json.loads((tmp_path / "proj" / "labelloop.json").read_text())["features"] == "auto"  # unchanged

    assert main(["status", str(tmp_path / "proj"), "--json"]) == 0
    features = json.loads(capsys.readouterr().out)["features"]
    assert features == {"kind": "tfidf", "model": None, "ready": True, "items": 178,
                        "uses": "13 numeric column(s)"}  # the wine's measures: no text to weigh words in


def test_an_unknown_features_value_is_refused_by_the_parser(tmp_path, wine_csv, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["init", str(tmp_path / "proj"), "--data", str(wine_csv), "--type", "tabular", "--categories", "a,b",
              "--features", "bert"])
    assert stop.value.code == 2
    assert "Unknown features 'bert' (use auto, tfidf, embeddings)" in capsys.readouterr().err


@pytest.mark.parametrize("data_type, columns, uses", [
    ("tabular", {"n": [1, 2], "city": ["a", "b"]}, "1 numeric column(s), 1 categorical column(s)"),
    ("tabular", {"review": ["a long text that says what it thinks " * 3 + str(i) for i in range(2)]},
     "the words of review (TF-IDF)"),
    ("text", None, "the text's words and characters (TF-IDF)"),
    ("sound", None, "a 40-band log-mel spectrogram, averaged over the whole sound and each third"),
])
def test_the_features_line_says_what_the_model_learns_from_for_each_data_type(data_type, columns, uses):
    frame = pd.DataFrame(columns) if columns else None
    assert features_in_words(data_type, frame) == uses
