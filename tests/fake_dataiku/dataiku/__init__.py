"""A strict, small implementation of the parts of DSS's ``dataiku`` package that labelloop uses.

Signatures follow DSS's. A method DSS has but labelloop does not use is absent, so code that
starts using it fails here first and the fake grows deliberately. Each rule names the public
source it follows. "DSS 9.0.5 source" is the copy of DSS's own ``python/dataiku`` package in
github.com/badribaindla/dataiku-soft (``dataiku-dss-9.0.5/python/dataiku/...``); "docs source"
is github.com/hangtime79/dataiku-docs, the Sphinx sources of doc.dataiku.com and
developer.dataiku.com (DSS 14), which also holds a copy of ``dataiku/core/dataset.py``.
"""
from __future__ import annotations

import io
import pickle
import socket
from pathlib import Path

import numpy as np
import pandas as pd
from dataiku._instance import DSSError, check_declared, check_readable, check_writable, instance, split_name


def default_project_key() -> str:
    return instance().project_key


def _resolve(kind: str, lookup: str, project_key, known: set, ignore_flow: bool) -> str:
    """The full name ``PROJECT.name`` of a flow object: it must exist, and in a recipe be declared.

    "PROJ.name" names an object of another project (DSS 9.0.5 source, ``core/dataset.py``:
    ``(self.project_key, self.short_name) = self.name.split(".", 1)``).
    """
    full = split_name(lookup if project_key is None or "." in lookup else f"{project_key}.{lookup}")
    if full not in known:
        raise DSSError(f"{kind} {lookup} does not exist.")
    check_declared(kind, full, ignore_flow)
    return full


# Pandas types of DSS storage types when reading with the schema's types (docs source,
# py/dataiku/core/dataset.py, DKU_PANDAS_TYPES_MAP; other types are read as object).
_SCHEMA_DTYPES = {"int": np.int32, "bigint": np.int64, "float": np.float32, "double": np.float64, "boolean": bool}
_NULLABLE_DTYPES = {"int": "Int32", "bigint": "Int64"}


class Dataset:
    def __init__(self, name, project_key=None, ignore_flow=False):
        self.name = _resolve("Dataset", name, project_key, instance().datasets, ignore_flow)
        self.project_key, self.short_name = self.name.split(".", 1)

    @property
    def full_name(self):
        return self.name

    def _platform(self):
        return instance().platform_of(self.project_key)

    def read_schema(self, raise_if_empty=True):
        if not self._platform().dataset_exists(self.short_name):
            if raise_if_empty:
                raise DSSError(f"No column in schema of {self.name}. Have you set up the schema for this dataset?")
            return []
        frame = self._platform().read_dataset(self.short_name).head(0)
        return [{"name": str(c), "type": _dss_type(t)} for c, t in frame.dtypes.items()]

    def get_dataframe(self, columns=None, sampling="head", sampling_column=None, limit=None, ratio=None,
                      infer_with_pandas=True, parse_dates=True, bool_as_str=False, float_precision=None,
                      na_values=None, keep_default_na=True, date_parser=None, use_nullable_integers=False):
        check_readable(self.name)
        frame = self._platform().read_dataset(self.short_name, columns=columns)
        frame = frame.head(limit) if limit is not None else frame
        return _through_dss_stream(frame, self._dtypes(columns, infer_with_pandas, use_nullable_integers))

    def iter_dataframes(self, chunksize=10000, infer_with_pandas=True, sampling="head", sampling_column=None,
                        limit=None, ratio=None, log_every=-1, timeout=30, columns=None, parse_dates=True):
        """Chunks typed one by one: with ``infer_with_pandas`` pandas guesses each chunk's types.

        DSS 9.0.5 source (``core/dataset.py``): ``pd.read_table(dku_output, dtype=dtypes, ...,
        chunksize=chunksize, iterator=True)`` with ``dtypes = None`` when ``infer_with_pandas``.
        ``use_nullable_integers`` is documented for ``get_dataframe`` only (developer guide,
        "Nullable integers"; DSS 13 release notes): it is not accepted here.
        """
        check_readable(self.name)
        dtypes = self._dtypes(columns, infer_with_pandas, False)
        for chunk in self._platform().iter_dataset(self.short_name, chunksize, columns=columns):
            yield _through_dss_stream(chunk, dtypes)

    def _dtypes(self, columns, infer_with_pandas: bool, nullable: bool):
        """What DSS passes to pandas: nothing when inferring, else the schema's types."""
        if infer_with_pandas:
            return None
        schema = [c for c in self.read_schema() if columns is None or c["name"] in columns]
        mapping = {**_SCHEMA_DTYPES, **(_NULLABLE_DTYPES if nullable else {})}
        return {c["name"]: mapping.get(c["type"], object) for c in schema}

    def write_with_schema(self, df, drop_and_create=False):
        check_writable(self.name)
        if not isinstance(df, pd.DataFrame):
            raise TypeError("write_with_schema takes a pandas DataFrame.")
        self._platform().write_dataset(self.short_name, df)


def _through_dss_stream(frame: pd.DataFrame, dtypes) -> pd.DataFrame:
    """A frame as DSS hands it over: dumped as TSV by DSS, parsed by ``pd.read_table``.

    DSS 9.0.5 source: ``args = ["dataset-dump", "-d", "\\t", "--style", "excel"]`` then
    ``pd.read_table(dku_output, names=names, dtype=dtypes, header=None, sep='\\t', ...)``. With the
    schema's types, an integer column holding a missing value fails (developer guide, "Nullable
    integers": "if a column contains a single missing value, reading will fail").
    """
    dates = [c for c, t in frame.dtypes.items() if t.kind == "M"]
    text = frame.to_csv(sep="\t", header=False, index=False, date_format="%Y-%m-%dT%H:%M:%S.%fZ")
    try:
        return pd.read_table(io.StringIO(text), names=[str(c) for c in frame.columns], dtype=dtypes, header=None,
                             sep="\t", doublequote=True, quotechar='"', parse_dates=dates or False,
                             keep_default_na=True)
    except (ValueError, TypeError) as error:
        raise DSSError(f"Reading the dataset with its schema's types failed: {error}") from error


class Folder:
    def __init__(self, lookup, project_key=None, ignore_flow=False):
        self.id = _resolve("Managed folder", lookup, project_key, instance().folders, ignore_flow).split(".", 1)[1]

    def get_info(self, sensitive_info=False):
        return {"id": self.id, "projectKey": instance().project_key, "name": self.id, "type": "Filesystem"}

    def list_paths_in_partition(self, partition=""):
        return instance().platform.list_folder(self.id)

    def get_download_stream(self, path):
        if not path.startswith("/"):
            path = "/" + path
        if path not in set(self.list_paths_in_partition()):
            raise DSSError(f"Path {path} does not exist in folder {self.id}.")
        with instance().platform.open_folder_file(self.id, path) as stream:
            return _HTTPStream(stream.read())


class _HTTPStream(io.RawIOBase):
    """What ``get_download_stream`` returns: the raw body of an HTTP response, not a file.

    DSS 9.0.5 source (``core/intercom.py``): the stream is ``resp.raw`` of a ``requests`` call
    with ``stream=True``, a urllib3 ``HTTPResponse``. It reads and works in ``with``, is not
    seekable, and its ``fileno()`` is the connection's socket: ``os.fstat`` on it says nothing
    about the file.
    """

    def __init__(self, data: bytes):
        self._body = io.BytesIO(data)
        self._socket, self._peer = socket.socketpair()

    def readable(self):
        return True

    def readinto(self, buffer):
        return self._body.readinto(buffer)

    def fileno(self):
        return self._socket.fileno()

    def close(self):
        if not self.closed:
            self._socket.close()
            self._peer.close()
        super().close()


class Model:
    """A saved model. ``list_versions`` items are ``{versionId, active, snippet: {trainDate}}``.

    DSS 9.0.5 source (``core/saved_model.py``): ``get_predictor`` without a version uses
    ``[x for x in self.list_versions() if x["active"]][0]["versionId"]``; Dataiku's labeling plugin
    orders versions itself (dss-plugin-ml-assisted-labeling, python-steps/stopping-metric/step.py:
    ``sorted(model.list_versions(), key=lambda x: int(x['snippet']['trainDate']), reverse=True)``).
    The active version need not be the newest (docs source, machine-learning/partitioned.rst:
    "Version 2: A newer but not active version"). Version ids are opaque: nothing public says
    their form, so the fake's are ordered neither by text nor by number (see ``FakeDSS.add_model``).
    """

    def __init__(self, lookup, project_key=None, ignore_flow=False):
        self.id = _resolve("Saved model", lookup, project_key, instance().models, ignore_flow).split(".", 1)[1]
        self._saved = instance().saved_models[self.id]

    def list_versions(self):
        return [{"versionId": v.id, "active": v.id == self._saved.active, "snippet": {"trainDate": v.train_date}}
                for v in self._saved.versions]

    def get_predictor(self, version_id=None):
        version_id = version_id or self._saved.active
        version = next((v for v in self._saved.versions if v.id == version_id), None)
        if version is None:
            raise DSSError(f"Saved model {self.id} has no version {version_id}.")
        instance().predictors_built += 1
        # DSS 9.0.5 source (core/saved_model.py, build_predictor): ``pickle.load`` of the model
        # folder's ``clf.pkl``, in the calling process, whichever scikit-learn pickled it
        with open(Path(version.folder) / "clf.pkl", "rb") as stream:
            return Predictor(pickle.load(stream))


class Predictor:
    def __init__(self, estimator):
        self._estimator = estimator

    def predict(self, df, with_input_cols=False, with_prediction=True, with_probas=True,
                with_conditional_outputs=False, with_proba_percentile=False, with_explanations=False):
        """Predictions of the rows the model's preprocessing keeps, indexed by those rows.

        DSS 9.0.5 source (``core/saved_model.py``, ``_predict_preprocessed``): "put back the
        original index (ie account for dropped rows)", ``pred_df.index = input_mf_index``; when
        every row is dropped, ``pd.DataFrame(columns=["prediction"], index=input_df.index)``.
        Probabilities are ``proba_<class>`` columns. Here a row is dropped when one of the
        features the model was fitted on is missing (the "drop rows" handling of missing values;
        the strictest choice: a real model may impute instead).
        """
        features = list(getattr(self._estimator, "feature_names_in_", df.columns))
        kept = df[~df[[c for c in features if c in df.columns]].isna().any(axis=1)]
        if kept.empty:
            result = pd.DataFrame(columns=["prediction"], index=df.index)
        else:
            result = pd.DataFrame({"prediction": self._estimator.predict(kept)}, index=kept.index)
            if with_probas and hasattr(self._estimator, "predict_proba"):
                for cls, column in zip(self._estimator.classes_, self._estimator.predict_proba(kept).T):
                    result[f"proba_{cls}"] = column
        return pd.concat([df, result], axis=1) if with_input_cols else result


def api_client():
    return instance().client


def _dss_type(dtype) -> str:
    kind = getattr(dtype, "kind", "O")
    return {"i": "bigint", "u": "bigint", "f": "double", "b": "boolean", "M": "date"}.get(kind, "string")
