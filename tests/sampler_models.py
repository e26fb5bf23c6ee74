"""Small picklable models for sampler tests (saved to registries, loaded back by joblib)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer


def pool(rows: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"f1": rng.normal(size=rows), "f2": rng.normal(size=rows)})
    frame["name"] = [f"row {i}" for i in range(rows)]
    return frame


def three_classes(frame: pd.DataFrame) -> np.ndarray:
    return np.select([frame["f1"] < -0.5, frame["f1"] > 0.5], ["low", "high"], "mid")


def tabular_classifier(frame: pd.DataFrame):
    features = make_column_transformer(("passthrough", ["f1", "f2"]))
    return make_pipeline(features, LogisticRegression()).fit(frame, three_classes(frame))


def tabular_regressor(frame: pd.DataFrame):
    features = make_column_transformer(("passthrough", ["f1", "f2"]))
    return make_pipeline(features, LinearRegression()).fit(frame, frame["f1"])


def path_features(frame: pd.DataFrame) -> np.ndarray:
    """Features of a folder item from its path (what a real model would read from the file)."""
    return np.column_stack([frame["path"].str.len(), frame["path"].str.count("/")]).astype(float)


def path_classifier(paths: list):
    frame = pd.DataFrame({"path": paths})
    labels = ["deep" if p.count("/") else "flat" for p in paths]
    return make_pipeline(FunctionTransformer(path_features), LogisticRegression()).fit(frame, labels)


class CountingFeatures:
    """Features that count the transforms made in this process (a worker's are its own copy's)."""

    calls = 0

    def __init__(self, inner):
        self.inner = inner

    def transform(self, frame: pd.DataFrame):
        type(self).calls += 1
        return self.inner.transform(frame)
