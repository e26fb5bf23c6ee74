"""``labelloop simulate``: does active learning pay on this data? (DESIGN.md section 8)

On a fully labeled dataset, the loop runs with an oracle that answers with the true label. For
each strategy and seed: a stratified quarter is held out for testing, ``seed_labels`` random items
of the rest are labeled, then each round trains the model, measures test accuracy, and labels the
``batch`` items the strategy ranks first, until the pool is used up. ``full_accuracy`` is the same
model trained on the whole pool. With ``diversity`` ``cluster`` too, each strategy but random also
runs with diverse batches (``learning/diversity``), reported as ``<strategy>+cluster``. With
labeling rules, each strategy also runs as ``<strategy>+rules``: every round trains on the
oracle's labels plus the rules' weak labels of the other pool items they cover (the label model
fitted once on the pool's votes, without the labels; each weak label weighs its confidence, and
all of them together as much as the labels: the trainer's middle weight). It always uses them,
so the curve shows what weak labels do on this data; a project's trainer keeps them only when
they measure better (learning/weak_training.py).

Features are computed once with the built-in trainer's pipeline for the data type (fitted on the
pool without its labels, as a real project could); the classifier is the same logistic regression.
With several ``features`` (``tfidf``, ``embeddings``: a sentence model's vectors of the text
columns beside their TF-IDF), every run is made on each, named ``<run>@<features>``, and "labels to 95%" is measured
against the best whole-pool accuracy of them all, so the two curves race to one finish line.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy.integrate import trapezoid
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from labelloop.errors import LabelloopError
from labelloop.learning.diversity import candidates_wanted, diverse_pick
from labelloop.learning.features import TextEmbeddings, build_pipeline
from labelloop.params import whole_number
from labelloop.platform.local import LocalPlatform
from labelloop.rules.spec import parse_rules
from labelloop.rules.weak import label_pool
from labelloop.sampling import DIVERSITY, STRATEGIES, scores, top
from labelloop.store.items import FolderSource, is_media_file
from labelloop.text import free_text_columns

TEST_SHARE = 0.25


@dataclass
class SimulationSettings:
    strategies: tuple = STRATEGIES
    seeds: int = 5
    seed_labels: int = 20
    batch: int = 20
    max_labels: int | None = None
    jobs: int = 2
    diversity: tuple = ("none",)
    rules: object = None  # labeling rules as written, JSON text or list (checked with the data): adds <strategy>+rules
    features: tuple = ("tfidf",)  # tfidf and/or embeddings: several give <run>@<features> entries
    embeddings: PoolEmbeddings | None = None  # needed with "embeddings"

    def __post_init__(self):
        unknown = [s for s in self.strategies if s not in STRATEGIES]
        if unknown or not self.strategies:
            raise LabelloopError(f"Unknown strategy '{(unknown or [''])[0]}' (use {', '.join(STRATEGIES)}).")
        unknown = [d for d in self.diversity if d not in DIVERSITY]
        if unknown or not self.diversity:
            raise LabelloopError(f"Unknown diversity '{(unknown or [''])[0]}' (use {', '.join(DIVERSITY)}).")
        unknown = [f for f in self.features if f not in FEATURE_KINDS]
        if unknown or not self.features:
            raise LabelloopError(f"Unknown features '{(unknown or [''])[0]}' (use {', '.join(FEATURE_KINDS)}).")
        for name in ("seeds", "seed_labels", "batch", "jobs"):
            setattr(self, name, whole_number(getattr(self, name), f"--{name.replace('_', '-')}"))
        if self.max_labels is not None and self.max_labels < self.seed_labels:
            raise LabelloopError("--max-labels must be at least --seed-labels.")

    def runs(self) -> list:
        """The (strategy, diversity, with rules) runs; random batches are not made diverse."""
        plain = [(strategy, diversity, False) for strategy in self.strategies for diversity in self.diversity
                 if diversity == "none" or strategy != "random"]
        return plain + ([(strategy, "none", True) for strategy in self.strategies] if self.rules else [])


    def named_runs(self) -> list:
        """``(name, strategy, diversity, with rules, features)`` of every run, features last."""
        several = len(self.features) > 1
        return [(run_name(*run) + (f"@{kind}" if several else ""), *run, kind)
                for kind in self.features for run in self.runs()]


FEATURE_KINDS = ("tfidf", "embeddings")


@dataclass(frozen=True)
class PoolEmbeddings:
    """A simulation's sentence embeddings: the model (name, local folder) and the cache folder; the
    columns embedded are ``text_column``, else the pool's free-text columns."""

    model: str
    path: str
    cache: str
    text_column: str | None = None

    def __call__(self, frame: pd.DataFrame) -> TextEmbeddings:
        columns = (self.text_column,) if self.text_column else free_text_columns(frame)
        if not columns:
            raise LabelloopError("Embeddings are text features: give --text-column, or data with free-text columns.")
        return TextEmbeddings(self.cache, self.model, self.path, columns)


def run_name(strategy: str, diversity: str, with_rules: bool = False) -> str:
    return f"{strategy}+rules" if with_rules else strategy if diversity == "none" else f"{strategy}+{diversity}"


def load_table(data: Path, label_column: str) -> tuple:
    frame = LocalPlatform(data.parent, datasets={"data": str(data)}).read_dataset("data")
    if label_column not in frame.columns:
        raise LabelloopError(f"{data.name} has no column '{label_column}' (columns: {', '.join(map(str, frame.columns))}).")
    labels = frame.pop(label_column)
    keep = labels.notna().to_numpy()
    if not keep.all():
        frame, labels = frame[keep].reset_index(drop=True), labels[keep].reset_index(drop=True)
    return frame, labels.astype(str), "tabular"


def load_folder(folder: Path, labels_csv: Path | None, label_column: str, data_type: str | None) -> tuple:
    if labels_csv is None:
        raise LabelloopError("A folder needs --labels: a CSV with a 'path' column and the label column.")
    table = LocalPlatform(labels_csv.parent, datasets={"labels": str(labels_csv)}).read_dataset("labels")
    for column in ("path", label_column):
        if column not in table.columns:
            raise LabelloopError(f"{labels_csv.name} has no column '{column}'.")
    paths = LocalPlatform(folder.parent, folders={"data": str(folder)}).list_folder("data")
    data_type = data_type or ("image" if any(is_media_file(p, "image") for p in paths) else "sound")
    present = set(FolderSource(paths, data_type).ids)
    table = table[table["path"].astype(str).isin(present) & table[label_column].notna()].reset_index(drop=True)
    if table.empty:
        raise LabelloopError(f"No {data_type} file of {folder} is listed in {labels_csv.name}.")
    return table[["path"]].astype(str), table[label_column].astype(str), data_type


def feature_matrix(frame: pd.DataFrame, data_type: str, folder: Path | None, text_column: str | None,
                   embeddings: TextEmbeddings | None = None) -> np.ndarray:
    """The built-in pipeline's features, fitted on the pool without labels."""
    pipeline = build_pipeline(data_type, frame, text_column=text_column, folder=str(folder) if folder else None,
                              embeddings=embeddings)
    return pipeline.named_steps["features"].fit_transform(frame)


def _classifier():
    """Warm-started between rounds: each fit starts from the last one, several times faster."""
    return LogisticRegression(max_iter=2000, warm_start=True)


def _pick(model, features, candidates: np.ndarray, strategy: str, diversity: str, take: int, seed: int) -> np.ndarray:
    """The ``take`` of ``candidates`` (row numbers of ``features``) that the strategy labels next."""
    uncertain = scores(model.predict_proba(features[candidates]), strategy)
    best = top(uncertain, candidates_wanted(take, diversity == "cluster"))
    if diversity == "cluster":
        best = best[diverse_pick(features[candidates[best]], uncertain[best], take, seed)]
    return best


def one_run(features, labels: np.ndarray, strategy: str, seed: int, settings: SimulationSettings,
            diversity: str = "none", weak: tuple | None = None, name: str | None = None) -> dict:
    """One strategy and seed: the learning curve [(labels, test accuracy), ...].

    ``weak``: ``(weak label per item or None, confidence per item)``, learned from with the labels."""
    rng = np.random.default_rng(seed)
    pool, test = train_test_split(np.arange(len(labels)), test_size=TEST_SHARE, random_state=seed, stratify=labels)
    limit = min(settings.max_labels or len(pool), len(pool))
    chosen = rng.choice(len(pool), size=min(settings.seed_labels, limit), replace=False)
    labeled = np.zeros(len(pool), dtype=bool)
    labeled[chosen] = True
    model, curve = _classifier(), []
    while True:
        rows = pool[labeled]
        classes = np.unique(labels[rows])
        if len(classes) > 1:
            if not np.array_equal(getattr(model, "classes_", classes), classes):
                model = _classifier()  # a new class appeared: the warm start no longer fits
            fit_features, fit_labels, weights = _training_set(features, labels, rows, pool[~labeled], weak)
            model.fit(fit_features, fit_labels, sample_weight=weights)
            curve.append((int(labeled.sum()), float(model.score(features[test], labels[test]))))
        else:
            curve.append((int(labeled.sum()), float((labels[test] == labels[rows][0]).mean())))
        room = limit - int(labeled.sum())
        if room <= 0:
            break
        unlabeled = np.flatnonzero(~labeled)
        take = min(settings.batch, room)
        if strategy == "random" or len(classes) < 2:
            picked = rng.choice(unlabeled, size=take, replace=False)
        else:
            picked = unlabeled[_pick(model, features, pool[unlabeled], strategy, diversity, take, seed)]
        labeled[picked] = True
    return {"strategy": name or run_name(strategy, diversity, weak is not None), "seed": seed, "curve": curve}


def _training_set(features, labels: np.ndarray, rows: np.ndarray, others: np.ndarray, weak: tuple | None) -> tuple:
    """``(features, labels, sample weights)`` of the labeled ``rows``, plus the weak labels of
    ``others`` (the unlabeled pool items) that the rules cover, weighing together as much as the labels."""
    if weak is None:
        return features[rows], labels[rows], None
    weak_labels, confidence = weak
    covered = others[np.array([weak_labels[i] is not None for i in others], dtype=bool)] if len(others) else others
    if not len(covered):
        return features[rows], labels[rows], None
    weights = np.concatenate([np.ones(len(rows)), confidence[covered] * len(rows) / confidence[covered].sum()])
    stacked = np.concatenate([rows, covered])
    targets = np.concatenate([labels[rows], np.asarray(weak_labels, dtype=object)[covered]]).astype(labels.dtype)
    return features[stacked], targets, weights


def pool_weak_labels(rules: tuple, frame: pd.DataFrame, labels: pd.Series) -> tuple:
    """Each item's weak label (None where no enabled rule votes) and its confidence, from the
    label model fitted on the rules' votes without the true labels."""
    weak = label_pool(list(rules), frame, sorted(set(labels.astype(str))), np.full(len(frame), -1))
    found = np.full(len(frame), None, dtype=object)
    confidence = np.zeros(len(frame))
    found[weak.rows], confidence[weak.rows] = weak.labels, weak.confidence
    return found, confidence


def full_accuracy(features, labels: np.ndarray, seeds: int) -> float:
    results = []
    for seed in range(seeds):
        pool, test = train_test_split(np.arange(len(labels)), test_size=TEST_SHARE, random_state=seed, stratify=labels)
        results.append(clone(_classifier()).fit(features[pool], labels[pool]).score(features[test], labels[test]))
    return float(np.median(results))


def labels_to(curve: list, target: float) -> int | None:
    return next((n for n, accuracy in curve if accuracy >= target), None)


def _median_labels(values: list) -> int | None:
    """The median over seeds, where a seed that never reached the target counts as infinitely many."""
    middle = np.median([math.inf if v is None else v for v in values])
    return None if math.isinf(middle) else int(middle)


def summarise(runs: list, full: float, strategies) -> dict:
    summary = {}
    for strategy in strategies:
        curves = [r["curve"] for r in runs if r["strategy"] == strategy]
        steps = [n for n, _ in curves[0]]
        median_curve = [[n, round(float(np.median([c[i][1] for c in curves])), 6)] for i, n in enumerate(steps)]
        aulc = [trapezoid([a for _, a in c], [n for n, _ in c]) / max(c[-1][0] - c[0][0], 1) for c in curves]
        summary[strategy] = {
            "labels_to_95": _median_labels([labels_to(c, 0.95 * full) for c in curves]),
            "labels_to_99": _median_labels([labels_to(c, 0.99 * full) for c in curves]),
            "aulc": round(float(np.median(aulc)), 6),
            "curve": median_curve,
        }
    return summary


def simulate(data, label_column: str, settings: SimulationSettings, labels_csv=None, data_type=None,
             text_column=None, progress=None) -> dict:
    """Run every strategy and seed; return the DESIGN.md section 8 JSON object (plus runs)."""
    data = Path(data)
    if not data.exists():
        raise LabelloopError(f"{data}: no such file or folder.")
    if data.is_dir():
        frame, labels, data_type = load_folder(data, Path(labels_csv) if labels_csv else None, label_column, data_type)
    else:
        frame, labels, _ = load_table(data, label_column)
        data_type = data_type or ("text" if text_column else "tabular")
    counts = labels.value_counts()
    if len(counts) < 2 or counts.min() < 2:
        raise LabelloopError("Simulation needs at least two labels, each on at least two items.")
    folder = data if data.is_dir() else None
    matrices = {kind: feature_matrix(frame, data_type, folder, text_column,
                                     settings.embeddings(frame) if kind == "embeddings" else None)
                for kind in settings.features}
    y = labels.to_numpy()
    weak = None
    if settings.rules:
        checked = parse_rules(settings.rules, frame.dtypes, sorted(set(labels)))
        weak = pool_weak_labels(tuple(checked), frame, labels)
    jobs = [(*run, seed) for run in settings.named_runs() for seed in range(settings.seeds)]
    runs = []
    for run in Parallel(n_jobs=settings.jobs, return_as="generator")(
            delayed(one_run)(matrices[kind], y, strategy, seed, settings, diversity, weak if ruled else None, name)
            for name, strategy, diversity, ruled, kind, seed in jobs):
        runs.append(run)
        if progress:
            progress(len(runs), len(jobs))
    fulls = {kind: round(full_accuracy(matrix, y, settings.seeds), 6) for kind, matrix in matrices.items()}
    full = max(fulls.values())
    result = {"dataset": data.name, "items": int(len(y)), "full_accuracy": full,
              "strategies": summarise(runs, full, [run[0] for run in settings.named_runs()]), "runs": runs}
    if len(fulls) > 1:
        result["full_accuracy_by_features"] = fulls
    return result


def write_curves(result: dict, out_dir: Path) -> tuple:
    """``curves.csv`` (every run) and ``curves.png`` (median curves), in ``out_dir``."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    out_dir.mkdir(parents=True, exist_ok=True)
    rows = [(r["strategy"], r["seed"], n, a) for r in result["runs"] for n, a in r["curve"]]
    csv_path = out_dir / "curves.csv"
    pd.DataFrame(rows, columns=["strategy", "seed", "labels", "accuracy"]).to_csv(csv_path, index=False)
    figure, axes = pyplot.subplots(figsize=(8, 5), dpi=100)
    for strategy, summary in result["strategies"].items():
        axes.plot([n for n, _ in summary["curve"]], [a for _, a in summary["curve"]], label=strategy)
    full = result["full_accuracy"]
    axes.axhline(full, color="grey", linestyle="--", linewidth=1, label=f"whole pool ({full:.3f})")
    axes.axhline(0.99 * full, color="grey", linestyle=":", linewidth=1, label="99% of it")
    axes.set(xlabel="labels", ylabel="test accuracy (median over seeds)", title=f"Learning curves: {result['dataset']}")
    axes.legend(loc="lower right")
    axes.grid(alpha=0.3)
    png_path = out_dir / "curves.png"
    figure.savefig(png_path, bbox_inches="tight")
    pyplot.close(figure)
    return csv_path, png_path


def print_table(result: dict, out=sys.stdout) -> None:
    def cell(value):
        return "not reached" if value is None else str(value)

    print(f"{result['dataset']}: {result['items']} items, whole-pool accuracy {result['full_accuracy']:.3f}", file=out)
    print(f"{'strategy':<28}{'labels to 95%':>15}{'labels to 99%':>15}{'AULC':>8}", file=out)
    for strategy, summary in result["strategies"].items():
        print(f"{strategy:<28}{cell(summary['labels_to_95']):>15}{cell(summary['labels_to_99']):>15}"
              f"{summary['aulc']:>8.3f}", file=out)
