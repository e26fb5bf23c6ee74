"""What the costliest rule preview an annotator may ask for costs, against a one-keyword preview.

A preview applies the rule to the whole pool. The caps (rules/spec.py, labeling/rules_book.py)
allow at most 20 conditions in a rule and 2,000,000 items x conditions per preview. This times,
in one run, on a pool of ``--rows`` short messages with a number column:

- a one-keyword rule (the baseline);
- the costliest rule the caps allow on this pool: as many ``contains`` conditions as fit (the
  slowest condition: a case-insensitive substring search on text);
- an ``in`` of 1,000 texts, answered with one hashed pass (``votes._member``), against the same
  values compared one at a time (``votes._equal`` per value, as ``in`` was computed before).

    python bench/rule_preview.py [--rows 100000]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from labelloop.labeling.rules_book import RulesBook
from labelloop.rules.spec import MAX_CONDITIONS, parse_rules
from labelloop.rules.votes import Columns, _equal, _member, rule_votes

CATEGORIES = ["a", "b"]


def seconds(action, repeat: int = 3) -> float:
    """The best of ``repeat`` runs: the least disturbed by other work on the machine."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    rows = parser.parse_args().rows
    rng = np.random.default_rng(0)
    words = np.array(["refund", "parcel", "thanks", "late", "broken", "great", "where", "please"])
    texts = [" ".join(rng.choice(words, 6)) for _ in range(rows)]
    frame = pd.DataFrame({"text": texts, "amount": rng.normal(50, 20, rows)})

    def apply(rule: dict):
        rules = parse_rules([rule], frame.dtypes, CATEGORIES)
        return lambda: rule_votes(rules, frame, CATEGORIES)

    widest = min(MAX_CONDITIONS, RulesBook.MAX_PREVIEW_TESTS // rows)
    keyword = seconds(apply({"name": "k", "label": "a", "column": "text", "keywords": ["refund"]}))
    costliest = seconds(apply({"name": "c", "label": "a", "all": [
        {"column": "text", "op": "contains", "value": f"{w}{n}"} for n, w in zip(range(widest), np.resize(words, widest))]}))
    values = tuple(f"message {n}" for n in range(1000))
    columns = Columns(frame)
    columns.text("text")
    hashed = seconds(lambda: _member(columns, "text", values))
    one_by_one = seconds(lambda: [_equal(columns, "text", v) for v in values], repeat=1)

    print(f"Pool of {rows:,} rows; the costliest preview allowed has {widest} conditions.\n")
    print("| preview | seconds | x one keyword |")
    print("|---|---|---|")
    for name, value in (("one keyword (baseline)", keyword), (f"{widest} `contains` conditions (the cap)", costliest),
                        ("`in` of 1,000 texts, one hashed pass", hashed),
                        ("`in` of 1,000 texts, one value at a time (before)", one_by_one)):
        print(f"| {name} | {value:.3f} | {value / keyword:.1f} |")


if __name__ == "__main__":
    main()
