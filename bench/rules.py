"""Labeling rules on a large pool: applying them, and fitting the label model.

1,000,000 rows (a text column of short messages, two numbers and a country) and 20 rules mixed
as users write them: 8 keyword lists, 6 regular expressions, 6 conditions (two of them ``all``).
It times, in this one run:

- applying the rules (``rules.votes.rule_votes``: RE2 through pyarrow and numpy, a chunk of rows
  at a time), against the plain way: a Python loop over rows and rules calling ``re.search`` and
  comparing values, timed on ``--baseline-rows`` rows and scaled to the pool (it is linear);
- the memory the application takes beyond the vote matrix: the peak of numpy's and Python's
  allocations (tracemalloc) and of pyarrow's memory pool;
- fitting the label model (``rules.label_model.fit_label_model``) on the 1M x 20 votes.

    python bench/rules.py [--rows 1000000] [--baseline-rows 100000]
"""
from __future__ import annotations

import argparse
import re
import time
import tracemalloc

import numpy as np
import pandas as pd
import pyarrow as pa
from headline import record

from labelloop.rules.label_model import fit_label_model
from labelloop.rules.spec import parse_rules
from labelloop.rules.votes import ABSTAIN, CHUNK_ROWS, rule_votes

CATEGORIES = ["complaint", "praise", "question", "other"]
WORDS = ("the my order was late again refund money back please great thanks love it why how when can you help "
         "broken never again awesome service slow support call email delivery box damaged price cheap").split()


def make_pool(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    words = np.asarray(WORDS, dtype=object)[rng.integers(0, len(WORDS), (rows, 8))]
    text = [" ".join(row) for row in words]
    links = rng.random(rows) < 0.05
    text = [t + " https://example.com/x" if link else t for t, link in zip(text, links)]
    return pd.DataFrame({"text": text, "amount": rng.gamma(2, 40, rows).round(2), "visits": rng.integers(0, 50, rows),
                         "country": rng.choice(["FR", "DE", "US", "IT", None], rows)})


RULES = [
    {"name": "refund", "label": "complaint", "column": "text", "keywords": ["refund", "money back"]},
    {"name": "broken", "label": "complaint", "column": "text", "keywords": ["broken", "damaged"]},
    {"name": "late", "label": "complaint", "column": "text", "keywords": ["late again", "slow"]},
    {"name": "never", "label": "complaint", "column": "text", "keywords": ["never again"]},
    {"name": "thanks", "label": "praise", "column": "text", "keywords": ["thanks", "great"]},
    {"name": "love", "label": "praise", "column": "text", "keywords": ["love it", "awesome"]},
    {"name": "help", "label": "question", "column": "text", "keywords": ["can you help"]},
    {"name": "support", "label": "question", "column": "text", "keywords": ["support", "call", "email"]},
    {"name": "why", "label": "question", "column": "text", "regex": r"^(why|how|when)\b"},
    {"name": "link", "label": "other", "column": "text", "regex": r"https?://\S+"},
    {"name": "order-number", "label": "complaint", "column": "text", "regex": r"order \w+ late"},
    {"name": "cheap-price", "label": "praise", "column": "text", "regex": r"(?i)price\s+cheap"},
    {"name": "box", "label": "complaint", "column": "text", "regex": r"box (damaged|broken)"},
    {"name": "double", "label": "other", "column": "text", "regex": r"\b(\w+) the \w+ the\b"},
    {"name": "big", "label": "complaint", "column": "amount", "op": ">", "value": 200},
    {"name": "small", "label": "other", "column": "amount", "op": "<=", "value": 5},
    {"name": "french", "label": "praise", "column": "country", "op": "==", "value": "FR"},
    {"name": "elsewhere", "label": "other", "column": "country", "op": "in", "value": ["IT", "DE"]},
    {"name": "loyal", "label": "praise", "all": [{"column": "visits", "op": ">=", "value": 40},
                                                 {"column": "amount", "op": "<", "value": 100}]},
    {"name": "new-big", "label": "complaint", "all": [{"column": "visits", "op": "<", "value": 3},
                                                      {"column": "country", "op": "not null"}]},
]


def loop_votes(frame: pd.DataFrame, rules: list) -> np.ndarray:
    """The plain way: every row, every rule, ``re.search`` and Python comparisons."""
    compiled = []
    for rule in RULES:
        if "keywords" in rule:
            words = "|".join(re.escape(k) for k in rule["keywords"])
            compiled.append(("text", re.compile(rf"\b(?:{words})\b", re.IGNORECASE)))
        elif "regex" in rule:
            compiled.append(("text", re.compile(rule["regex"])))
        else:
            compiled.append(("conditions", rule.get("all") or [rule]))
    tests = {">": lambda a, b: a > b, "<=": lambda a, b: a <= b, "==": lambda a, b: a == b, ">=": lambda a, b: a >= b,
             "<": lambda a, b: a < b, "in": lambda a, b: a in b, "not null": lambda a, b: True}
    codes = [CATEGORIES.index(r["label"]) for r in RULES]
    votes = np.full((len(frame), len(RULES)), ABSTAIN, dtype=np.int16)
    for i, row in enumerate(frame.to_dict("records")):
        for j, (kind, test) in enumerate(compiled):
            if kind == "text":
                fired = test.search(row["text"]) is not None
            else:
                fired = all(pd.notna(row[c["column"]]) and tests[c["op"]](row[c["column"]], c.get("value"))
                            for c in test)
            if fired:
                votes[i, j] = codes[j]
    return votes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--baseline-rows", type=int, default=100_000)
    args = parser.parse_args()
    frame = make_pool(args.rows)
    rules = parse_rules(RULES, frame.dtypes, CATEGORIES)
    tracemalloc.start()
    start = time.perf_counter()
    votes = rule_votes(rules, frame, CATEGORIES)
    ours = time.perf_counter() - start
    python_peak = tracemalloc.get_traced_memory()[1] / 1024 ** 2
    tracemalloc.stop()
    extra = python_peak - votes.nbytes / 1024 ** 2 + pa.default_memory_pool().max_memory() / 1024 ** 2
    sample = frame.head(args.baseline_rows)
    start = time.perf_counter()
    looped = loop_votes(sample, rules)
    loop = (time.perf_counter() - start) * args.rows / len(sample)
    assert (looped == votes[:len(sample)]).all(), "the loop and the rules disagree"
    codes = np.array([CATEGORIES.index(r.label) for r in rules])
    start = time.perf_counter()
    fit_label_model(votes, codes, len(CATEGORIES))
    fitting = time.perf_counter() - start
    covered = (votes != ABSTAIN).any(axis=1).mean()
    print(f"{args.rows:,} rows, {len(rules)} rules (8 keyword lists, 6 regexes, 6 conditions); "
          f"the rules cover {covered:.1%} of the rows\n")
    print("| step | labelloop s | per-row Python loop s | loop / labelloop |")
    print("|---|---|---|---|")
    print(f"| apply the rules | {ours:.1f} | {loop:.1f} (timed on {len(sample):,} rows, scaled) | {loop / ours:.1f}x |")
    print(f"| fit the label model ({args.rows:,} x {len(rules)} votes) | {fitting:.2f} | | |")
    print(f"\nMemory beyond the {votes.nbytes / 1024 ** 2:.0f} MB vote matrix while applying: {extra:.0f} MB at the "
          f"peak (numpy and Python allocations, and pyarrow's pool; the pool itself was loaded before), for chunks of "
          f"{CHUNK_ROWS:,} rows")
    record("rules", f"apply 20 rules to {args.rows:,} rows (per-row re.search loop: {loop:.0f} s)", ours, loop, "s")
    record("rules", f"fit the label model on {args.rows:,} x 20 votes", fitting, None, "s")


if __name__ == "__main__":
    main()
