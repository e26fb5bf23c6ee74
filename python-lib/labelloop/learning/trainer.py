"""The built-in trainer: fit the pipeline for a data type on labeled rows.

A fitted model comes with its classes, how many labels it learned from, the training time and a
cross-validated accuracy (stratified, up to 5 folds, fewer when a class has fewer labels; none
when a class has a single label). Where the rows come from and where the model goes is the
caller's (standalone/training.py for a project folder).
"""
from __future__ import annotations

import time
import warnings

import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold, cross_val_predict, cross_val_score

from labelloop.errors import LabelloopError
from labelloop.learning.features import TextEmbeddings, build_pipeline
from labelloop.learning.weak_training import choose_training
from labelloop.store.item_sources import items_for_type

MAX_FOLDS = 5


class NotEnoughLabels(LabelloopError):
    """Fewer than two categories are labeled: there is nothing to tell apart yet."""


def cross_validated_accuracy(pipeline, rows: pd.DataFrame, labels: pd.Series) -> tuple:
    """``(accuracy, folds, majority)``: the pipeline's cross-validated accuracy, and on the same folds
    that of always answering the training folds' most frequent label (the bar its suggestions
    must clear, labeling/suggestion_gate.py); None, 0, None when a class has a single label."""
    folds = min(MAX_FOLDS, int(labels.value_counts().min()))
    if folds < 2:
        return None, 0, None
    split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    majority = [float((labels.iloc[test] == labels.iloc[train].value_counts().index[0]).mean())
                for train, test in split.split(rows, labels)]
    score = cross_val_score(pipeline, rows, labels, cv=split).mean()
    return round(float(score), 6), folds, round(sum(majority) / len(majority), 6)


def out_of_fold_probabilities(data_type: str, rows: pd.DataFrame, labels: pd.Series, text_column: str | None = None,
                              folder: str | None = None, embeddings: TextEmbeddings | None = None) -> tuple:
    """``(classes, probabilities, kept)``: each row's class probabilities from a model that did not
    see it (stratified folds, up to 5). Only rows of classes with two labels or more can be held
    out: ``kept`` marks them, and the matrix has their rows only. Raises NotEnoughLabels before
    two such classes."""
    counts = labels.value_counts()
    usable = counts[counts >= 2]
    if len(usable) < 2:
        raise NotEnoughLabels("Finding suspected label errors needs two categories with two labels or more each.")
    kept = labels.isin(usable.index).to_numpy()
    rows, labels = rows[kept].reset_index(drop=True), labels[kept].reset_index(drop=True)
    pipeline = build_pipeline(data_type, rows, text_column=text_column, folder=folder, embeddings=embeddings)
    split = StratifiedKFold(n_splits=min(MAX_FOLDS, int(usable.min())), shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        matrix = cross_val_predict(pipeline, rows, labels, cv=split, method="predict_proba")
    return sorted(str(c) for c in usable.index), matrix, kept


def features_used(data_type: str, embeddings: TextEmbeddings | None) -> dict:
    """What a version learned from: ``{kind, model}``, kind ``embeddings``, ``tfidf`` or ``media``."""
    if embeddings is not None:
        return {"kind": "embeddings", "model": embeddings.model}
    return {"kind": items_for_type(data_type).features, "model": None}


def fit(data_type: str, rows: pd.DataFrame, labels: pd.Series, text_column: str | None = None,
        folder: str | None = None, weak=None, embeddings: TextEmbeddings | None = None) -> tuple:
    """``(fitted pipeline, its metadata)``; raises NotEnoughLabels before two categories have labels.

    ``weak``: the rules' weak labels (``weak_training.WeakLabels``) of other items; they are
    learned from only when cross-validation on the human labels says they help, and the
    metadata's ``weak`` says what was measured and chosen. ``embeddings``: sentence embeddings for
    the text columns (``features.TextEmbeddings``), recorded in the metadata's ``features``.
    """
    counts = labels.value_counts()
    if len(counts) < 2:
        have = ", ".join(f"{k} {v}" for k, v in counts.items()) or "no labels"
        raise NotEnoughLabels(f"Training needs labels in at least two categories (so far: {have}).")
    pipeline = build_pipeline(data_type, rows, text_column=text_column, folder=folder, embeddings=embeddings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        score, folds, majority = cross_validated_accuracy(pipeline, rows, labels)
    report, seconds = fit_afresh(pipeline, rows, labels, weak)
    meta = {
        "classes": [str(c) for c in pipeline.classes_],
        "labels": int(len(labels)),
        "perLabel": {str(k): int(v) for k, v in counts.items()},
        "trainingSeconds": seconds,
        "cvAccuracy": score,
        "cvFolds": folds,
        "cvMajority": majority,
        "cvMajorityLabel": str(counts.index[0]),
        "features": features_used(data_type, embeddings),
    }
    if report is not None:
        meta["weak"] = report
    return pipeline, meta


def fit_afresh(pipeline, rows: pd.DataFrame, labels: pd.Series, weak=None) -> tuple:
    """Fit the unfitted ``pipeline`` on the human labels, plus the weak labels when the guard
    (``weak_training.choose_training``) measures that they help: ``(the guard's report or None,
    seconds of the final fit)``. ``labelloop simulate`` fits with this too, so that it measures
    what the product does."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit_rows, fit_labels, weights, report = rows, labels, None, None
        if weak is not None:
            fit_rows, fit_labels, weights, report = choose_training(pipeline, rows, labels, weak, MAX_FOLDS)
        start = time.perf_counter()
        pipeline.fit(fit_rows, fit_labels, **({"classifier__sample_weight": weights} if weights is not None else {}))
    return report, round(time.perf_counter() - start, 3)
