"""``labelloop simulate``: does active learning pay on this data? (DESIGN.md section 8)

On a fully labeled dataset, the loop runs with an oracle that answers with the true label. For
each strategy and seed: a stratified quarter is held out for testing, ``seed_labels`` random items
of the rest are labeled, then each round trains the model, measures test accuracy, and labels the
``batch`` items the strategy ranks first, until the pool is used up. ``full_accuracy`` is the same
model trained on the whole pool.

It measures what the product does: every round fits a new model, as the trainer does
(``trainer.fit_afresh``, never warm-started from the last round), and a batch is picked as
``serve`` picks its queries by default: diverse (``sampling.DEFAULT_DIVERSITY``, through the
sampler's own ``learning/diversity.pick_batch``; runs named ``<strategy>+<diversity>``) with a
random share spread among them (``SamplerSettings.random_share``). ``diversity`` ``none`` gives the plain top of the
ranking. With labeling rules, each run also runs as ``<run>+rules``: every round refits the label
model on the rules' votes over the pool and the labels so far (as a project's training does) and
offers the trainer the weak labels of the unlabeled items they cover; the trainer's
cross-validated guard (learning/weak_training.py) decides whether to learn from them. With an
LLM's recorded answers, each run but random also runs as ``<run>+llm``: the sampler's
``llm_disagreement`` bonus (``LLM_BONUS``) favours the items where the LLM's answer is not the
model's prediction, or it abstained, and with rules the LLM votes beside them.
With ``groups``, each run without rules or the LLM also runs as ``<run>+groups``: the annotator of
``learning/group_annotator.py`` opens a group for each queried item and confirms its look-alikes in
one action, and every run reports ``actions_to_95`` beside ``labels_to_95`` (a label given alone is
one action, so they are equal without groups).

Features are computed once with the built-in trainer's pipeline for the data type (fitted on the
pool without its labels, as a real project could, instead of on the labeled rows each round); the
classifier is the trainer's (``features.classifier``).
With several ``features`` (``tfidf``, ``embeddings``: a sentence model's vectors of the text
columns beside their TF-IDF), every run is made on each, named ``<run>@<features>``, and "labels to 95%" is measured
against the best whole-pool accuracy of them all, so the two curves race to one finish line.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy.integrate import trapezoid
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from labelloop.errors import LabelloopError, first_line
from labelloop.learning.diversity import pick_batch, pool_wanted
from labelloop.learning.features import TextEmbeddings, build_pipeline, classifier
from labelloop.learning.group_annotator import GROUP_SIZE, GroupAnnotator
from labelloop.learning.llm_disagreement import disagreeing, predictions
from labelloop.learning.query_sampler import SamplerSettings
from labelloop.learning.trainer import fit_afresh
from labelloop.learning.weak_training import WeakLabels
from labelloop.parameters.numbers import whole_number
from labelloop.platform.local import LocalPlatform
from labelloop.rules.llm_voter import llm_votes
from labelloop.rules.spec import parse_rules
from labelloop.rules.weak import label_pool
from labelloop.sampling import DEFAULT_DIVERSITY, DIVERSITY, STRATEGIES, scores, top
from labelloop.store.items import FolderSource, folder_item_id, is_media_file, row_ids
from labelloop.store.text import free_text_columns

TEST_SHARE = 0.25
LLM_BONUS = 1.0  # the +llm runs' llm_disagreement: an item the LLM disputes outranks any it does not


@dataclass
class SimulationSettings:
    strategies: tuple = STRATEGIES
    seeds: int = 5
    seed_labels: int = 20
    batch: int = 20
    max_labels: int | None = None
    jobs: int = 2
    diversity: tuple = (DEFAULT_DIVERSITY,)
    random_share: float = SamplerSettings.random_share  # of each batch, as in serve's queries
    rules: object = None  # labeling rules as written, JSON text or list (checked with the data): adds <strategy>+rules
    llm_answers: dict | None = None  # item id -> the LLM's recorded answer, or None: adds <strategy>+llm
    features: tuple = ("tfidf",)  # tfidf and/or embeddings: several give <run>@<features> entries
    embeddings: PoolEmbeddings | None = None  # needed with "embeddings"
    groups: bool = False  # adds <strategy>+groups: the group annotator (learning/group_annotator.py)
    group_size: int = GROUP_SIZE

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
        self.group_size = whole_number(self.group_size, "--group-size", high=200)
        if not 0 <= self.random_share <= 1:
            raise LabelloopError("--random-share must be from 0 to 1.")
        if self.max_labels is not None and self.max_labels < self.seed_labels:
            raise LabelloopError("--max-labels must be at least --seed-labels.")

    def runs(self) -> list:
        """The (strategy, diversity, with rules, with the LLM, with groups) runs; random batches are not
        made diverse, and are not ranked, so the LLM's disagreement has nothing to favour in them."""
        plain = [(strategy, diversity if strategy != "random" else "none", False, False, False)
                 for strategy in self.strategies for diversity in self.diversity]
        plain = list(dict.fromkeys(plain))
        runs = plain + ([(strategy, diversity, True, False, False) for strategy, diversity, *_ in plain]
                        if self.rules else [])
        with_llm = [(strategy, diversity, ruled, True, False) for strategy, diversity, ruled, *_ in runs
                    if strategy != "random"]
        grouped = [(strategy, diversity, False, False, True) for strategy, diversity, *_ in plain] if self.groups else []
        return runs + (with_llm if self.llm_answers is not None else []) + grouped

    def named_runs(self) -> list:
        """``(name, strategy, diversity, with rules, with the LLM, with groups, features)`` of every run,
        features last."""
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
    chosen_by_auto: bool = False  # ``--features auto`` took them because the model is here, not because the data asked

    def apply_to(self, frame: pd.DataFrame, data_type: str) -> bool:
        """Whether the data has text to embed; only ``auto``'s choice may find it has none."""
        if not self.chosen_by_auto:
            return True
        return data_type not in ("image", "sound") and bool(self.text_column or free_text_columns(frame))

    def __call__(self, frame: pd.DataFrame) -> TextEmbeddings:
        columns = (self.text_column,) if self.text_column else free_text_columns(frame)
        if not columns:
            raise LabelloopError("Embeddings are text features: give --text-column, or data with free-text columns.")
        return TextEmbeddings(self.cache, self.model, self.path, columns)


def run_name(strategy: str, diversity: str, with_rules: bool = False, with_llm: bool = False,
             with_groups: bool = False) -> str:
    return ((strategy if diversity == "none" else f"{strategy}+{diversity}") + ("+rules" if with_rules else "")
            + ("+llm" if with_llm else "") + ("+groups" if with_groups else ""))


class _Shared:
    """A feature matrix that the clones of a model share (scikit-learn's clone deep-copies parameters)."""

    def __init__(self, values):
        self.values = values

    def __deepcopy__(self, memo):
        return self


class PoolRows(BaseEstimator, TransformerMixin):
    """A simulated model's features step: the frame's ``row`` column picks rows of the pool's
    feature matrix, computed once, so the trainer's code fits and scores the model as a pipeline."""

    def __init__(self, matrix: _Shared):
        self.matrix = matrix

    def fit(self, frame, y=None):
        return self

    def transform(self, frame):
        return self.matrix.values[frame["row"].to_numpy()]


def _model(matrix: _Shared) -> Pipeline:
    return Pipeline([("features", PoolRows(matrix)), ("classifier", classifier())])


def _rows(numbers) -> pd.DataFrame:
    return pd.DataFrame({"row": np.asarray(numbers, dtype=np.int64)})


@dataclass
class PoolRules:
    """Labeling rules over the data, as a project's training applies them: the label model refitted
    on the pool's votes and the labels so far, weak labels for the unlabeled items they cover."""

    rules: tuple
    frame: pd.DataFrame
    categories: list

    def weak_labels(self, pool: np.ndarray, labeled: np.ndarray, labels: np.ndarray, llm: PoolLlm | None = None) -> WeakLabels:
        """With ``llm``, the LLM's answers vote beside the rules."""
        gold = np.full(len(pool), -1)
        gold[labeled] = [self.categories.index(label) for label in labels[pool[labeled]]]
        votes = llm_votes("recorded", llm.answers, llm.ids[pool], self.categories) if llm else None
        weak = label_pool(list(self.rules), self.frame.iloc[pool].reset_index(drop=True), self.categories, gold, votes)
        unlabeled = gold[weak.rows] < 0  # a human label wins over a weak one
        return WeakLabels(_rows(pool[weak.rows[unlabeled]]),
                          pd.Series(np.asarray(weak.labels, dtype=object)[unlabeled], dtype=object),
                          np.asarray(weak.confidence, dtype=float)[unlabeled])


@dataclass
class PoolLlm:
    """An LLM's recorded answers over the data: ``ids[row]`` is the item id of each row."""

    ids: np.ndarray
    answers: dict

    def bonus(self, rows: np.ndarray, probabilities: np.ndarray, classes) -> np.ndarray:
        """``LLM_BONUS`` where the LLM's answer on a row is not the model's prediction, or it abstained."""
        return LLM_BONUS * disagreeing(predictions(classes, probabilities), self.ids[rows], self.answers)


def read_llm_answers(path) -> dict:
    """``{item_id: answer or None}`` of a CSV of recorded answers (``item_id,answer``; an empty
    answer: the LLM abstained)."""
    path = Path(path)
    if not path.is_file():
        raise LabelloopError(f"{path}: no such file.")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)  # as text: the answer "1" is not the number 1.0
    except (ValueError, UnicodeDecodeError) as error:
        raise LabelloopError(f"{path.name} is not a readable CSV file ({first_line(error)}).") from error
    missing = [c for c in ("item_id", "answer") if c not in frame.columns]
    if missing:
        raise LabelloopError(f"{path.name} has no '{missing[0]}' column: give the LLM's answers as item_id,answer.")
    return dict(zip(frame["item_id"], frame["answer"].where(frame["answer"] != "", None)))


def pool_llm(frame: pd.DataFrame, answers: dict, id_column: str | None, folder: bool) -> PoolLlm:
    """The answers over the data's rows, whose ids are those a project over the data gives its
    items: a folder's paths, the id column's values, or the rows' hashes (the label column left out)."""
    if folder:
        ids = [folder_item_id(p) for p in frame["path"]]
    elif id_column and id_column not in frame.columns:
        raise LabelloopError(f"The data has no column '{id_column}' (--id-column).")
    else:
        ids = row_ids(frame, id_column)
    if not answers.keys() & set(ids):
        raise LabelloopError("None of the LLM answers' item ids is an item of the data (tables: the --id-column's "
                             "values, else the ids a project gives the rows; folders: the files' paths).")
    return PoolLlm(np.array(ids, dtype=object), answers)


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


def _pick(model, features, candidates: np.ndarray, strategy: str, diversity: str, take: int, seed: int,
          llm: PoolLlm | None = None) -> np.ndarray:
    """The ``take`` of ``candidates`` (row numbers of ``features``) that the strategy labels next,
    chosen among the most uncertain as the sampler chooses (``learning/diversity.pick_batch``),
    with ``llm`` its disagreement bonus added as the sampler adds it."""
    probabilities = model.predict_proba(_rows(candidates))
    uncertain = scores(probabilities, strategy)
    if llm is not None:
        uncertain = uncertain + llm.bonus(candidates, probabilities, model.classes_)
    best = top(uncertain, pool_wanted(take, diversity))
    return best[pick_batch(diversity, features[candidates[best]], uncertain[best], take, seed, probabilities[best])]


def _batch(model, features, pool: np.ndarray, labeled: np.ndarray, strategy: str, diversity: str, take: int,
           settings: SimulationSettings, rng, seed: int, llm: PoolLlm | None = None) -> np.ndarray:
    """Positions in ``pool`` of the next batch: the strategy's picks and the random share among them."""
    unlabeled = np.flatnonzero(~labeled)
    if model is None or strategy == "random":
        return rng.choice(unlabeled, size=take, replace=False)
    lucky = int(round(settings.random_share * take))
    picked = unlabeled[_pick(model, features, pool[unlabeled], strategy, diversity, take - lucky, seed, llm)]
    rest = np.setdiff1d(unlabeled, picked)
    return np.concatenate([picked, rng.choice(rest, size=min(lucky, len(rest)), replace=False)])


def one_run(features, labels: np.ndarray, strategy: str, seed: int, settings: SimulationSettings,
            diversity: str = "none", rules: PoolRules | None = None, name: str | None = None,
            llm: PoolLlm | None = None, groups: GroupAnnotator | None = None) -> dict:
    """One strategy and seed: the learning curve [(labels, test accuracy), ...] and the actions
    spent at each of its points. Each round fits a new model as the trainer does; with ``rules``,
    offering it the rules' weak labels; with ``llm``, its disagreement favoured and, with rules, its
    answers voting beside them; with ``groups``, the group annotator labels the batch."""
    rng = np.random.default_rng(seed)
    pool, test = train_test_split(np.arange(len(labels)), test_size=TEST_SHARE, random_state=seed, stratify=labels)
    limit = min(settings.max_labels or len(pool), len(pool))
    chosen = rng.choice(len(pool), size=min(settings.seed_labels, limit), replace=False)
    labeled = np.zeros(len(pool), dtype=bool)
    labeled[chosen] = True
    shared, curve, actions = _Shared(features), [], []
    spent = float(labeled.sum())
    while True:
        rows = pool[labeled]
        model = None
        if len(np.unique(labels[rows])) > 1:
            model = _model(shared)
            weak = rules.weak_labels(pool, labeled, labels, llm) if rules else None
            fit_afresh(model, _rows(rows), pd.Series(labels[rows], dtype=object), weak)
            curve.append((int(labeled.sum()), float(model.score(_rows(test), labels[test]))))
        else:
            curve.append((int(labeled.sum()), float((labels[test] == labels[rows][0]).mean())))
        actions.append(round(spent, 1))
        room = limit - int(labeled.sum())
        if room <= 0:
            break
        queries = _batch(model, features, pool, labeled, strategy, diversity, min(settings.batch, room), settings,
                         rng, seed, llm)
        if groups is None:
            labeled[queries] = True
            spent += len(queries)
        else:
            guesses = model.predict(_rows(pool[queries])) if model is not None else [None] * len(queries)
            spent += groups.label_round(queries, guesses, pool, labeled, labels, settings.batch, room)
    return {"strategy": name or run_name(strategy, diversity, rules is not None, llm is not None, groups is not None),
            "seed": seed, "curve": curve, "actions": actions}


def full_accuracy(features, labels: np.ndarray, seeds: int) -> float:
    results, shared = [], _Shared(features)
    for seed in range(seeds):
        pool, test = train_test_split(np.arange(len(labels)), test_size=TEST_SHARE, random_state=seed, stratify=labels)
        model = _model(shared)
        fit_afresh(model, _rows(pool), pd.Series(labels[pool], dtype=object))
        results.append(model.score(_rows(test), labels[test]))
    return float(np.median(results))


def labels_to(curve: list, target: float) -> int | None:
    return next((n for n, accuracy in curve if accuracy >= target), None)


def actions_to(run: dict, target: float) -> float | None:
    return next((spent for (_, accuracy), spent in zip(run["curve"], run["actions"]) if accuracy >= target), None)


def _median_reached(values: list) -> float | None:
    """The median over seeds, where a seed that never reached the target counts as infinitely many."""
    middle = np.median([math.inf if v is None else v for v in values])
    return None if math.isinf(middle) else float(middle)


def _median_curve(curves: list) -> list:
    """Round by round, the median labels and accuracy over seeds (as far as every seed went: with
    groups, a round gives each seed its own number of labels)."""
    rounds = min(len(c) for c in curves)
    return [[int(np.median([c[i][0] for c in curves])), round(float(np.median([c[i][1] for c in curves])), 6)]
            for i in range(rounds)]


def summarise(runs: list, full: float, strategies) -> dict:
    summary = {}
    for strategy in strategies:
        chosen = [r for r in runs if r["strategy"] == strategy]
        curves = [r["curve"] for r in chosen]
        aulc = [trapezoid([a for _, a in c], [n for n, _ in c]) / max(c[-1][0] - c[0][0], 1) for c in curves]
        labels_95, labels_99 = (_median_reached([labels_to(c, share * full) for c in curves]) for share in (0.95, 0.99))
        actions_95 = _median_reached([actions_to(r, 0.95 * full) for r in chosen])
        summary[strategy] = {
            "labels_to_95": None if labels_95 is None else int(labels_95),
            "labels_to_99": None if labels_99 is None else int(labels_99),
            "actions_to_95": None if actions_95 is None else round(actions_95, 1),
            "aulc": round(float(np.median(aulc)), 6),
            "curve": _median_curve(curves),
        }
    return summary


def simulate(data, label_column: str, settings: SimulationSettings, labels_csv=None, data_type=None,
             text_column=None, progress=None, id_column=None) -> dict:
    """Run every strategy and seed; return the DESIGN.md section 8 JSON object (plus runs).
    ``id_column``: the column whose values are the ids of ``settings.llm_answers``."""
    if not Path(data).exists():
        raise LabelloopError(f"{data}: no such file or folder.")
    data = Path(data).resolve()  # a relative path is read once, from the working directory
    if data.is_dir():
        frame, labels, data_type = load_folder(data, Path(labels_csv).resolve() if labels_csv else None, label_column,
                                               data_type)
    else:
        frame, labels, _ = load_table(data, label_column)
        data_type = data_type or ("text" if text_column else "tabular")
    counts = labels.value_counts()
    if len(counts) < 2 or counts.min() < 2:
        raise LabelloopError("Simulation needs at least two labels, each on at least two items.")
    folder = data if data.is_dir() else None
    if settings.embeddings is not None and not settings.embeddings.apply_to(frame, data_type):
        settings = replace(settings, features=tuple(dict.fromkeys(
            "tfidf" if kind == "embeddings" else kind for kind in settings.features)), embeddings=None)
    matrices = {kind: feature_matrix(frame, data_type, folder, text_column,
                                     settings.embeddings(frame) if kind == "embeddings" else None)
                for kind in settings.features}
    y = labels.to_numpy()
    rules = None
    if settings.rules:
        categories = sorted(set(labels))
        rules = PoolRules(tuple(parse_rules(settings.rules, frame.dtypes, categories)), frame, categories)
    llm = pool_llm(frame, settings.llm_answers, id_column, data.is_dir()) if settings.llm_answers is not None else None
    annotators = {kind: GroupAnnotator(group_space(frame, matrix, settings.embeddings if kind == "embeddings" else None),
                                       settings.group_size)
                  for kind, matrix in matrices.items()} if settings.groups else {}
    jobs = [(*run, seed) for run in settings.named_runs() for seed in range(settings.seeds)]
    runs = []
    for run in Parallel(n_jobs=settings.jobs, return_as="generator")(
            delayed(one_run)(matrices[kind], y, strategy, seed, settings, diversity, rules if ruled else None, name,
                             llm if with_llm else None, annotators[kind] if grouped else None)
            for name, strategy, diversity, ruled, with_llm, grouped, kind, seed in jobs):
        runs.append(run)
        if progress:
            progress(len(runs), len(jobs))
    fulls = {kind: round(full_accuracy(matrix, y, settings.seeds), 6) for kind, matrix in matrices.items()}
    full = max(fulls.values())
    result = {"dataset": data.name, "items": int(len(y)), "full_accuracy": full,
              "strategies": summarise(runs, full, [run[0] for run in settings.named_runs()]), "runs": runs}
    if len(fulls) > 1:
        result["full_accuracy_by_features"] = fulls
    if settings.groups:
        result["group_size"] = settings.group_size
    return result


def group_space(frame: pd.DataFrame, matrix, embeddings: PoolEmbeddings | None):
    """The vectors a group is drawn from, as ``/similar`` draws it: the sentence embeddings of the
    text columns when the run has them (already cached by its features), else the model's features."""
    if embeddings is None:
        return matrix
    found = embeddings(frame)
    return np.hstack([found.features().transform(frame[[column]]) for column in found.columns])


def write_curves(result: dict, out_dir: Path) -> tuple:
    """``curves.csv`` (every run) and ``curves.png`` (median curves), in ``out_dir``."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    out_dir.mkdir(parents=True, exist_ok=True)
    rows = [(r["strategy"], r["seed"], n, spent, a) for r in result["runs"]
            for (n, a), spent in zip(r["curve"], r["actions"])]
    csv_path = out_dir / "curves.csv"
    pd.DataFrame(rows, columns=["strategy", "seed", "labels", "actions", "accuracy"]).to_csv(csv_path, index=False)
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
    groups = "group_size" in result  # the actions column only when groups make them differ from labels
    print(f"{'strategy':<28}{'labels to 95%':>15}" + (f"{'actions to 95%':>16}" if groups else "")
          + f"{'labels to 99%':>15}{'AULC':>8}", file=out)
    for strategy, summary in result["strategies"].items():
        print(f"{strategy:<28}{cell(summary['labels_to_95']):>15}"
              + (f"{cell(summary['actions_to_95']):>16}" if groups else "")
              + f"{cell(summary['labels_to_99']):>15}{summary['aulc']:>8.3f}", file=out)
