"""A strict, small implementation of the parts of DSS's ``dataiku`` package that labelloop uses.

Signatures follow DSS's. A method DSS has but labelloop does not use is absent, so code that
starts using it fails here first and the fake grows deliberately.
"""
from __future__ import annotations

import pandas as pd

from dataiku._instance import DSSError, check_declared, check_writable, instance, short_name


def default_project_key() -> str:
    return instance().project_key


def _resolve(kind: str, lookup: str, project_key, known: set, ignore_flow: bool) -> str:
    """The short name of a flow object: it must exist, and in a recipe be declared."""
    name = short_name(lookup if project_key is None else f"{project_key}.{lookup}")
    if name not in known:
        raise DSSError(f"{kind} {lookup} does not exist.")
    check_declared(kind, name, ignore_flow)
    return name


class Dataset:
    def __init__(self, name, project_key=None, ignore_flow=False):
        self.short_name = _resolve("Dataset", name, project_key, instance().datasets, ignore_flow)
        self.name = f"{instance().project_key}.{self.short_name}"

    @property
    def full_name(self):
        return self.name

    def _platform(self):
        return instance().platform

    def read_schema(self, raise_if_empty=True):
        if not self._platform().dataset_exists(self.short_name):
            if raise_if_empty:
                raise DSSError(f"No column in schema of {self.name}. Have you built it?")
            return []
        frame = self._platform().read_dataset(self.short_name).head(0)
        return [{"name": str(c), "type": _dss_type(t)} for c, t in frame.dtypes.items()]

    def get_dataframe(self, columns=None, sampling="head", sampling_column=None, limit=None, ratio=None,
                      infer_with_pandas=True, parse_dates=True, bool_as_str=False, float_precision=None,
                      na_values=None, keep_default_na=True, date_parser=None):
        self.read_schema()
        frame = self._platform().read_dataset(self.short_name, columns=columns)
        return frame.head(limit) if limit is not None else frame

    def iter_dataframes(self, chunksize=10000, infer_with_pandas=True, sampling="head", sampling_column=None,
                        limit=None, ratio=None, log_every=-1, timeout=30, columns=None, parse_dates=True):
        self.read_schema()
        return self._platform().iter_dataset(self.short_name, chunksize, columns=columns)

    def write_with_schema(self, df, drop_and_create=False):
        check_writable(self.short_name)
        if not isinstance(df, pd.DataFrame):
            raise TypeError("write_with_schema takes a pandas DataFrame.")
        self._platform().write_dataset(self.short_name, df)


class Folder:
    def __init__(self, lookup, project_key=None, ignore_flow=False):
        self.id = _resolve("Managed folder", lookup, project_key, instance().folders, ignore_flow)

    def get_info(self, sensitive_info=False):
        return {"id": self.id, "projectKey": instance().project_key, "name": self.id, "type": "Filesystem"}

    def list_paths_in_partition(self, partition=""):
        return instance().platform.list_folder(self.id)

    def get_download_stream(self, path):
        if not path.startswith("/"):
            path = "/" + path
        if path not in set(self.list_paths_in_partition()):
            raise DSSError(f"Path {path} does not exist in folder {self.id}.")
        return instance().platform.open_folder_file(self.id, path)


class Model:
    def __init__(self, lookup, project_key=None, ignore_flow=False):
        self.id = _resolve("Saved model", lookup, project_key, instance().models, ignore_flow)
        self._registry = instance().platform.registry(self.id)

    def list_versions(self):
        latest = self._registry.latest()
        return [{"versionId": v, "active": v == latest, "snippet": self._registry.meta(v)}
                for v in self._registry.versions()]

    def get_predictor(self, version_id=None):
        return Predictor(self._registry.load(version_id))


class Predictor:
    def __init__(self, estimator):
        self._estimator = estimator

    def predict(self, df, with_input_cols=False, with_probas=True, with_conditional_outputs=False,
                with_proba_percentile=False):
        result = pd.DataFrame({"prediction": self._estimator.predict(df)}, index=df.index)
        if with_probas and hasattr(self._estimator, "predict_proba"):
            for cls, column in zip(self._estimator.classes_, self._estimator.predict_proba(df).T):
                result[f"proba_{cls}"] = column
        return pd.concat([df, result], axis=1) if with_input_cols else result


def api_client():
    return instance().client


def _dss_type(dtype) -> str:
    kind = getattr(dtype, "kind", "O")
    return {"i": "bigint", "u": "bigint", "f": "double", "b": "boolean", "M": "date"}.get(kind, "string")
