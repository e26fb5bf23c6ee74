"""Suspected label errors: how many flipped labels each ranking finds, from the same probabilities.

On scikit-learn's digits (1,797 items, 10 classes) and wine (178 items, 3 classes), a share of
the labels (5%, 10%, 20%) is flipped to another class drawn at random; the built-in tabular model's
out-of-fold probabilities (``trainer.out_of_fold_probabilities``, as ``labelloop quality`` uses)
are computed once per set and seed, then each method ranks the items:

- ``threshold filter``: the filter labelloop used before (an item is a suspect when another
  category reaches its per-category threshold and is the likeliest of those that do; least likely
  given label first), computed here from its formula;
- ``self-confidence``: every item, least likely given label first;
- ``confident learning``: the current ``quality.suspects`` (the confident joint's counts, pruned
  by noise rate and by category, least likely given label first).

``precision@k``: the share of flipped items among the first k listed (k = 10% of the items, or
all the method lists when fewer); ``recall@k``: the share of the flipped items among those first
k; ``listed`` and ``recall``: how many items the method lists, and the share of the flipped items
among them (self-confidence lists every item). Means over the seeds.

    python bench/suspects.py [--seeds 5]
"""
from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from headline import record
from sklearn.datasets import load_digits, load_wine

from labelloop.learning.trainer import out_of_fold_probabilities
from labelloop.quality.suspects import suspects

SHARES = (0.05, 0.10, 0.20)
TOP_SHARE = 0.10


def flipped(labels: np.ndarray, share: float, seed: int) -> tuple:
    """``(noisy labels, which were flipped)``: ``share`` of the items get another class at random."""
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    chosen = rng.choice(len(labels), size=int(round(share * len(labels))), replace=False)
    noisy = labels.copy()
    for n in chosen:
        noisy[n] = rng.choice(classes[classes != labels[n]])
    mask = np.zeros(len(labels), dtype=bool)
    mask[chosen] = True
    return noisy, mask


def threshold_filter(given: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """The former filter: items confidently of another category than their label, least likely label first."""
    own = probabilities[np.arange(len(given)), given]
    thresholds = np.array([own[given == j].mean() if (given == j).any() else np.inf
                           for j in range(probabilities.shape[1])])
    confident = np.where(probabilities >= thresholds, probabilities, -np.inf)
    flagged = np.isfinite(confident.max(axis=1)) & (confident.argmax(axis=1) != given)
    return np.array([n for n in np.argsort(own, kind="stable") if flagged[n]], dtype=int)


def rankings(given: np.ndarray, classes: list, probabilities: np.ndarray) -> dict:
    """Each method's listed items (positions), most suspicious first."""
    own = probabilities[np.arange(len(given)), given]
    found = suspects(list(range(len(given))), [classes[g] for g in given], classes, probabilities)
    return {"threshold filter": threshold_filter(given, probabilities),
            "self-confidence": np.argsort(own, kind="stable"),
            "confident learning": np.array([int(s["item_id"]) for s in found], dtype=int)}


def scores(listed: np.ndarray, is_flip: np.ndarray, k: int) -> dict:
    first = listed[:k]
    return {"precision@k": is_flip[first].mean() if len(first) else 0.0, "recall@k": is_flip[first].sum() / is_flip.sum(),
            "listed": len(listed), "recall": is_flip[listed].sum() / is_flip.sum()}


def measure(name: str, frame: pd.DataFrame, labels: np.ndarray, seeds: int) -> list:
    rows = []
    for share in SHARES:
        results = []
        for seed in range(seeds):
            noisy, is_flip = flipped(labels, share, seed)
            classes, probabilities, kept = out_of_fold_probabilities("tabular", frame, pd.Series(noisy))
            assert kept.all()
            given = np.array([classes.index(label) for label in noisy])
            k = int(round(TOP_SHARE * len(given)))
            for method, listed in rankings(given, classes, probabilities).items():
                results.append({"method": method, **scores(listed, is_flip, k)})
        table = pd.DataFrame(results).groupby("method", sort=False).mean()
        for method, row in table.iterrows():
            rows.append({"set": name, "flipped": f"{share:.0%}", "method": method, **row.to_dict()})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    rows = []
    for name, loader in (("digits", load_digits), ("wine", load_wine)):
        data = loader(as_frame=True)
        rows += measure(name, data.data, data.target.astype(str).to_numpy(), args.seeds)
    table = pd.DataFrame(rows)
    print(f"## Suspected label errors: {args.seeds} seeds, k = {TOP_SHARE:.0%} of the items\n")
    print("| set | flipped | method | precision@k | recall@k | listed | recall |")
    print("|---|---|---|---|---|---|---|")
    for row in table.itertuples(index=False):
        print(f"| {row.set} | {row.flipped} | {row.method} | {row[3]:.3f} | {row[4]:.3f} | {row.listed:.0f} | "
              f"{row.recall:.3f} |")
    for (name, share), group in table.groupby(["set", "flipped"], sort=False):
        found = group.set_index("method")["precision@k"]
        record("suspects", f"{name}, {share} flipped: precision in the top 10% (ranking every item by its label's "
               f"probability: {found['self-confidence']:.3f}; the former filter: {found['threshold filter']:.3f})",
               round(float(found["confident learning"]), 3), None, "share")


if __name__ == "__main__":
    main()
