"""``labelloop quality`` on 100,000 labeled items: 10 annotators, 10% of the items answered twice.

Each annotator is right 90% of the time. The answers are imported into a project's journal
(``Journal.record_many``); then it times, in this one run:

- the team's agreement (``quality.agreement.team_agreement``: the journal read included),
  against a per-item Python loop computing the same alpha, pair kappas and consensus agreement
  from the same read;
- the suspected label errors (5-fold cross-validation of the built-in tabular model).

    python bench/quality.py [--items 100000] [--annotators 10] [--overlap 0.1]
"""
from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
from headline import record

from labelloop.quality.agreement import MIN_PAIR_ITEMS, team_agreement
from labelloop.standalone.project import Project, init_project
from labelloop.standalone.team_quality import suspected_errors
from labelloop.store.journal import LABELED, Annotation

CLASSES = ("low", "mid", "high")


def make_project(folder: Path, items: int, annotators: int, overlap: float) -> tuple:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"row_id": np.arange(items), "score": rng.random(items).round(6),
                          "visits": rng.integers(0, 40, items), "city": rng.choice(["paris", "lyon", "lille"], items)})
    frame.to_parquet(folder / "data.parquet", index=False)
    value = frame["score"] + frame["visits"] / 80
    truth = np.where(value < 0.5, CLASSES[0], np.where(value < 1.0, CLASSES[1], CLASSES[2]))
    init_project(folder / "project", folder / "data.parquet", "tabular", [{"key": c} for c in CLASSES], id_column="row_id")
    project = Project.open(folder / "project")
    first = rng.integers(0, annotators, items)
    second = (first + rng.integers(1, annotators, items)) % annotators
    shared = rng.random(items) < overlap
    answers = defaultdict(list)
    for item in range(items):
        for who in ([first[item], second[item]] if shared[item] else [first[item]]):
            label = truth[item] if rng.random() < 0.9 else rng.choice(CLASSES)
            answers[f"annotator-{who}"].append(Annotation(str(item), f"annotator-{who}", LABELED, str(label)))
    for batch in answers.values():
        project.journal.record_many(batch)
    return project, sum(len(b) for b in answers.values())


def loop_agreement(answers: pd.DataFrame) -> dict:
    """The same numbers the plain way: a Python loop over items, pairs and answers."""
    units = defaultdict(dict)
    for item, annotator, label in answers[["item_id", "annotator", "label"]].itertuples(index=False):
        units[item][annotator] = label
    shared = {item: votes for item, votes in units.items() if len(votes) >= 2}
    coincidence, totals = Counter(), Counter()
    for votes in shared.values():
        labels = list(votes.values())
        for a, b in itertools.permutations(range(len(labels)), 2):
            coincidence[labels[a], labels[b]] += 1 / (len(labels) - 1)
        totals.update(labels)
    n = sum(totals.values())
    observed = sum(v for (a, b), v in coincidence.items() if a != b)
    expected = sum(totals[a] * totals[b] for a in totals for b in totals if a != b) / (n - 1)
    pairs = defaultdict(list)
    for votes in shared.values():
        for a, b in itertools.combinations(sorted(votes), 2):
            pairs[a, b].append((votes[a], votes[b]))
    kappas = {}
    for pair, both in pairs.items():
        if len(both) >= MIN_PAIR_ITEMS:
            agree = sum(x == y for x, y in both) / len(both)
            first, second = Counter(x for x, _ in both), Counter(y for _, y in both)
            chance = sum(first[c] * second[c] for c in first) / len(both) ** 2
            kappas[pair] = (agree - chance) / (1 - chance) if chance < 1 else None
    consensus = defaultdict(list)
    for votes in shared.values():
        for annotator, label in votes.items():
            others = Counter(v for a, v in votes.items() if a != annotator).most_common()
            if len(others) == 1 or others[0][1] > others[1][1]:
                consensus[annotator].append(label == others[0][0])
    return {"alpha": 1 - observed / expected, "pairs": kappas,
            "annotators": {a: sum(v) / len(v) for a, v in consensus.items()}}


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--annotators", type=int, default=10)
    parser.add_argument("--overlap", type=float, default=0.1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        project, answers = make_project(Path(folder), args.items, args.annotators, args.overlap)
        ours, agreement_seconds = timed(team_agreement, project.journal)
        looped, loop_seconds = timed(lambda: loop_agreement(project.journal.shared_labels()))
        assert abs(looped["alpha"] - ours["alpha"]) < 1e-9, (looped["alpha"], ours["alpha"])
        assert all(abs(looped["annotators"][a] - v["agreement"]) < 1e-9 for a, v in ours["annotators"].items())
        suspects, suspect_seconds = timed(suspected_errors, project)
        project.close()
    print(f"{args.items:,} labeled items, {answers:,} answers by {args.annotators} annotators, "
          f"{ours['items']:,} items answered twice\n")
    print("| step | labelloop s | per-item Python loop s | loop / labelloop |")
    print("|---|---|---|---|")
    print(f"| agreement (alpha {ours['alpha']:.3f}, {len(ours['pairs'])} pair kappas, consensus) | "
          f"{agreement_seconds:.2f} | {loop_seconds:.2f} | {loop_seconds / agreement_seconds:.1f}x |")
    print(f"| suspected label errors, 5-fold built-in model ({len(suspects):,} suspects) | {suspect_seconds:.1f} | | |")
    record("quality", f"agreement over {args.items:,} labeled items, {args.annotators} annotators, "
           f"{args.overlap:.0%} overlap (per-item loop: {loop_seconds:.2f} s)", agreement_seconds, None, "s")
    record("quality", f"suspected label errors over {args.items:,} labeled items (5-fold)", suspect_seconds, None, "s")


if __name__ == "__main__":
    main()
