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
from dataiku._instance import DSSError, check_declared, check_readable, check_writable, instance, since, split_name


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


# Pandas types of DSS storage types when reading with the schema's types (DSS 9.0.5 source,
# core/schema_handling.py, DKU_PANDAS_TYPES_MAP: int, bigint, float, double, boolean; other types,
# tinyint and smallint included, are read as object).
_SCHEMA_DTYPES = {"int": np.int32, "bigint": np.int64, "float": np.float32, "double": np.float64, "boolean": bool}
# ``use_nullable_integers``: "Using nullable integers also causes DSS to use the exact type size (8
# bits for tinyint, 16 bits for smallint, ...)" (developer guide, "Nullable integers"). Booleans are
# not among them: a boolean with a missing cell fails on every version (see ``_through_dss_stream``).
_NULLABLE_DTYPES = {"tinyint": "Int8", "smallint": "Int16", "int": "Int32", "bigint": "Int64"}


class Dataset:
    """A dataset as DSS 12.6 reads it; ``Dataset(...)`` gives the newer API on DSS 13.1 and later.

    DSS 12's own ``dataiku`` package is not public: its read methods here have the DSS 9.0.5
    signatures (the stricter choice: what 9.0.5 has, DSS 12 has too), without
    ``use_nullable_integers``, which arrives in DSS 13.1.0 (its release notes, as issue 34 reads
    them; the stored copies of Dataiku's docs here do not hold that page, and the developer
    guide's "Nullable integers" section, checked on DSS 13.2, documents the option). Dataiku's
    timeseries-preparation plugin checks for it at run time
    (``"use_nullable_integers" in inspect.signature(input_dataset.get_dataframe).parameters``).
    """

    def __new__(cls, *args, **kwargs):
        if cls is Dataset and since("13.1.0"):
            cls = _DatasetSince13_1
        return super().__new__(cls)

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
                      na_values=None, keep_default_na=True):
        """DSS 9.0.5 source (core/dataset.py): the whole dataset through one ``pd.read_table``."""
        return self._read_whole(columns, limit, self._dtypes(columns, infer_with_pandas, bool_as_str, False))

    def _read_whole(self, columns, limit, dtypes):
        check_readable(self.name)
        frame = self._platform().read_dataset(self.short_name, columns=columns)
        frame = frame.head(limit) if limit is not None else frame
        return _through_dss_stream(frame, dtypes)

    def iter_dataframes(self, chunksize=10000, infer_with_pandas=True, sampling="head", sampling_column=None,
                        parse_dates=True, limit=None, ratio=None, columns=None, bool_as_str=False,
                        float_precision=None, na_values=None, keep_default_na=True):
        """Chunks typed one by one: with ``infer_with_pandas`` pandas guesses each chunk's types.

        DSS 9.0.5 source (``core/dataset.py``): ``pd.read_table(dku_output, dtype=dtypes, ...,
        chunksize=chunksize, iterator=True)`` with ``dtypes = None`` when ``infer_with_pandas``.
        ``use_nullable_integers`` is documented for ``get_dataframe`` only (developer guide,
        "Nullable integers"; release notes 13.1.0): it is taken here on no version (the stricter reading).
        """
        return self.iter_dataframes_forced_types(self._names(columns), self._dtypes(columns, infer_with_pandas,
                                                                                    bool_as_str, False),
                                                 False, chunksize=chunksize)

    def iter_dataframes_forced_types(self, names, dtypes, parse_date_columns, chunksize=10000, sampling="head",
                                     sampling_column=None, limit=None, ratio=None, float_precision=None,
                                     na_values=None, keep_default_na=True):
        """Chunks read with the caller's pandas types: ``pd.read_table(dku_output, dtype=dtypes,
        names=names, ..., chunksize=chunksize, iterator=True)`` (DSS 9.0.5 source, core/dataset.py;
        DSS's own scoring recipes read this way, and the developer guide's API reference lists it
        on current versions: Dataiku's dss-visual-edit plugin, python-lib/commons.py, cites
        developer.dataiku.com/latest/api-reference/python/datasets.html#dataiku.Dataset.iter_dataframes_forced_types).
        """
        check_readable(self.name)
        for chunk in self._platform().iter_dataset(self.short_name, chunksize, columns=list(names)):
            yield _through_dss_stream(chunk, dtypes)

    def _names(self, columns):
        return [c["name"] for c in self.read_schema() if columns is None or c["name"] in columns]

    def _dtypes(self, columns, infer_with_pandas: bool, bool_as_str: bool, nullable: bool):
        """What DSS passes to pandas (DSS 9.0.5 source, ``get_dataframe_schema_st``): nothing when
        inferring (booleans as ``str`` with ``bool_as_str``), else the schema's types. Without
        inference ``bool_as_str`` changes nothing there: the boolean's ``"str"`` is overwritten by
        DKU_PANDAS_TYPES_MAP's ``bool`` a line later."""
        schema = [c for c in self.read_schema() if columns is None or c["name"] in columns]
        if infer_with_pandas:
            return {c["name"]: "str" for c in schema if c["type"] == "boolean"} if bool_as_str else None
        mapping = {**_SCHEMA_DTYPES, **(_NULLABLE_DTYPES if nullable else {})}
        return {c["name"]: mapping.get(c["type"], object) for c in schema}

    def write_with_schema(self, df, drop_and_create=False):
        check_writable(self.name)
        if not isinstance(df, pd.DataFrame):
            raise TypeError("write_with_schema takes a pandas DataFrame.")
        self._platform().write_dataset(self.short_name, df)


class _DatasetSince13_1(Dataset):
    """DSS 13.1.0 and later: ``get_dataframe`` takes ``use_nullable_integers`` (see ``Dataset``; the
    other arguments as this fake had them for DSS 13 before it took versions)."""

    def get_dataframe(self, columns=None, sampling="head", sampling_column=None, limit=None, ratio=None,
                      infer_with_pandas=True, parse_dates=True, bool_as_str=False, float_precision=None,
                      na_values=None, keep_default_na=True, date_parser=None, use_nullable_integers=False):
        return self._read_whole(columns, limit, self._dtypes(columns, infer_with_pandas, bool_as_str,
                                                             use_nullable_integers))


def _through_dss_stream(frame: pd.DataFrame, dtypes) -> pd.DataFrame:
    """A frame as DSS hands it over: dumped as TSV by DSS, parsed by ``pd.read_table``.

    DSS 9.0.5 source: ``args = ["dataset-dump", "-d", "\\t", "--style", "excel"]`` then
    ``pd.read_table(dku_output, names=names, dtype=dtypes, header=None, sep='\\t', ...)``. With the
    schema's types, an integer column holding a missing value fails (developer guide, "Nullable
    integers": "if a column contains a single missing value, reading will fail"), and so does a
    boolean one (numpy's ``bool`` has no missing value either). Booleans travel as ``true`` and
    ``false``: DSS's own reader of the stream parses them with ``s.lower() == "true"``
    (schema_handling.py, ``str_to_bool``).
    """
    dates = [c for c, t in frame.dtypes.items() if t.kind == "M"]
    booleans = [c for c, t in frame.dtypes.items() if pd.api.types.is_bool_dtype(t)]
    frame = frame.astype({c: object for c in booleans})
    for column in booleans:
        frame[column] = frame[column].map({True: "true", False: "false"})
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
