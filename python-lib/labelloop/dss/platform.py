"""The DSS adapter of the platform port (``platform/base.py``) on the ``dataiku`` package.

``dataiku`` is imported when the adapter is built, never at module import, so the rest of the
package (and this module) can be imported on a machine without DSS.
"""
from __future__ import annotations

import inspect
import logging
import os

import numpy as np

from labelloop.dss.saved_model_check import ModelNeeds, pickled_sklearn_version, refusal
from labelloop.errors import LabelloopError, NotFound, Unauthorized
from labelloop.platform.base import Platform, Probabilities

log = logging.getLogger(__name__)

_PROBA_PREFIX = "proba_"
_PREDICTORS_KEPT = 4  # the stopping step compares two versions of a model at a time
MESH_BATCH = 1000  # texts per LLM Mesh embeddings request
_WHOLE = 100_000  # rows per chunk of a whole read (the chunks are put together)
_READ_TYPES = {"tinyint": "Int8", "smallint": "Int16", "int": "Int32", "bigint": "Int64", "boolean": "boolean",
               "float": "float32", "double": "float64"}


class DSSPlatform(Platform):
    """Datasets, folders, variables and saved models of the current DSS project."""

    def __init__(self):
        import dataiku  # only here: the core must import without DSS

        self._dataiku = dataiku
        self._predictors = {}
        self._refused = {}  # (model, version) -> why this env cannot score with it: asked of DSS once

    # Reads use the dataset's schema types: by default pandas guesses types, and chunk by chunk in
    # ``iter_dataframes``, so a code "007" is 7 in one chunk and "007" in the next and hashed ids
    # differ between the sampler and the webapp. With the schema's numpy types an int or boolean
    # column with one empty cell fails the read before DSS 13.1 (``use_nullable_integers`` arrives
    # there, and for ``get_dataframe`` only), so both reads go through ``iter_dataframes_forced_types``
    # (every DSS version has it) with pandas' nullable types for those columns.
    def read_dataset(self, name, columns=None):
        import pandas as pd

        dataset = self._dataiku.Dataset(name)
        names, dtypes, dates = _read_types(name, dataset.read_schema(), columns)
        chunks = list(dataset.iter_dataframes_forced_types(names, dtypes, dates, chunksize=_WHOLE))
        if not chunks:  # a schema without rows yields no chunk at all
            return pd.DataFrame({column: pd.Series(dtype=dtypes.get(column, object)) for column in names})
        return pd.concat(chunks, ignore_index=True)

    def iter_dataset(self, name, chunksize, columns=None):
        dataset = self._dataiku.Dataset(name)
        names, dtypes, dates = _read_types(name, dataset.read_schema(), columns)
        return dataset.iter_dataframes_forced_types(names, dtypes, dates, chunksize=chunksize)

    def write_dataset(self, name, frame):
        self._dataiku.Dataset(name).write_with_schema(frame)

    def spark_dataframe(self, sql_context, name):
        """A dataset as a Spark DataFrame, in a PySpark recipe: DSS reads it where it lives."""
        from dataiku import spark as dkuspark  # only in a PySpark recipe: it imports pyspark

        return dkuspark.get_dataframe(sql_context, self._dataiku.Dataset(name))

    def dataset_exists(self, name):
        return bool(self._dataiku.Dataset(name).read_schema(raise_if_empty=False))

    def is_folder(self, name):
        try:
            self._dataiku.Folder(name).get_info()
        except Exception:  # noqa: BLE001 - DSS raises its own errors for "not a folder"
            return False
        return True

    def list_folder(self, name):
        return list(self._dataiku.Folder(name).list_paths_in_partition())

    def open_folder_file(self, name, path):
        # Callers ask for paths from the folder's listing (MediaStore checks ids against it), so
        # the folder is not listed again for every file: a relative segment is refused here, and
        # DSS's own error for a missing path becomes NotFound.
        wanted = "/" + path.lstrip("/")
        if ".." in wanted.split("/") or "\\" in wanted:
            raise NotFound(f"No file '{path}' in folder '{name}'.")
        try:
            return self._dataiku.Folder(name).get_download_stream(wanted)
        except Exception as error:  # noqa: BLE001 - DSS raises its own error for a missing path
            raise NotFound(f"No file '{path}' in folder '{name}'.") from error

    def _project(self):
        return self._dataiku.api_client().get_default_project()

    def project_key(self) -> str:
        return self._dataiku.default_project_key()

    def runs_in_container(self) -> bool:
        """Whether this process runs in a container, whose files go with it.

        DSS decides it the same way before fetching a saved model's files into a container
        (DSS 9.0.5 source, core/saved_model.py: ``remoterun._is_running_remotely()``, which reads
        ``runsRemotely`` from ``remote-run-env-def.json`` in the working directory).
        """
        try:
            from dataiku.base import remoterun
        except ImportError:
            return False
        return bool(remoterun._is_running_remotely())

    def llm(self, llm_id: str):
        """The LLM Mesh model ``llm_id`` of the project (dataikuapi's DSSLLM: a handle, checked when used)."""
        return self._project().get_llm(llm_id)

    def embed_texts(self, llm_id: str, texts: list) -> np.ndarray:
        """The texts' embeddings from an LLM Mesh embedding model, unit length, a row per text.

        Dataiku's developer guide (concepts-and-examples/llm-mesh, "Embeddings"):
        ``project.get_llm(id).new_embeddings()``, ``add_text`` per text, ``execute()``, then
        ``get_embeddings()``, "a list of lists containing all embedding vectors" in the order added
        (dataikuapi/dss/llm.py, DSSLLMEmbeddingsResponse). Sent ``MESH_BATCH`` texts at a time, as
        Dataiku's own LangChain wrapper does (dataikuapi/dss/langchain/embeddings.py, CHUNK_SIZE).
        Too long a text is truncated rather than failing the batch where DSS can (``text_overflow_mode``,
        dataikuapi 13.0.0 and later; 12.x's ``new_embeddings(self)`` takes no argument).
        """
        llm = self.llm(llm_id)
        overflow = _accepts(llm.new_embeddings, "text_overflow_mode", "TRUNCATE")
        found = []
        for start in range(0, len(texts), MESH_BATCH):
            query = llm.new_embeddings(**overflow)
            for text in texts[start:start + MESH_BATCH]:
                query.add_text(text)
            found.extend(query.execute().get_embeddings())
        vectors = np.asarray(found, dtype=np.float32).reshape(len(texts), -1)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    def get_variables(self):
        return self._project().get_variables()["standard"]

    def update_variables(self, change):
        # DSS has no compare-and-set: re-read right before writing keeps the window small, and
        # only the keys ``change`` touches are modified.
        project = self._project()
        variables = project.get_variables()
        change(variables["standard"])
        project.set_variables(variables)
        return variables["standard"]

    def model_probabilities(self, model, frame, version=None):
        version = version or self.active_version(model)
        frame = frame.reset_index(drop=True)  # the predictor's output is indexed by the input rows it kept
        predictions = self._predictor(model, version).predict(frame, with_probas=True)
        columns = [c for c in predictions.columns if str(c).startswith(_PROBA_PREFIX)]
        if not columns and len(frame) and predictions["prediction"].isna().all():
            # every row dropped: DSS answers one NaN prediction per row and no probability column
            return Probabilities(classes=[], matrix=np.empty((len(frame), 0)), model_version=str(version),
                                 scored=np.zeros(len(frame), dtype=bool))
        if not columns:
            raise LabelloopError(f"The saved model '{model}' gives no class probabilities: use a classification model.")
        kept = frame.index.get_indexer(predictions.index)
        if (kept < 0).any():
            raise LabelloopError(f"The saved model '{model}' answered for rows it was not given.")
        matrix = np.full((len(frame), len(columns)), np.nan)
        matrix[kept] = predictions[columns].to_numpy(dtype=float)
        scored = np.zeros(len(frame), dtype=bool)
        scored[kept] = True
        return Probabilities(classes=[str(c)[len(_PROBA_PREFIX):] for c in columns], matrix=matrix,
                             model_version=str(version), scored=scored)

    def _predictor(self, model, version):
        """One predictor per (model, version): building one loads the model (seconds for a big one)."""
        key = (model, version)
        if key not in self._predictors:
            if key not in self._refused:
                self._refused[key] = refusal(model, self.model_needs(model, version))
            if self._refused[key]:
                raise LabelloopError(self._refused[key])
            if len(self._predictors) >= _PREDICTORS_KEPT:  # retrains add versions: keep the newest few
                del self._predictors[next(iter(self._predictors))]
            self._predictors[key] = self._dataiku.Model(model).get_predictor(version)
        return self._predictors[key]

    def model_needs(self, model, version) -> ModelNeeds:
        """What the saved model's version needs to score here, asked of DSS without unpickling it.

        From dataikuapi: the version's details (``DSSSavedModel.get_version_details``), whose
        ``get_modeling_settings()["algorithm"]`` names the algorithm (the developer guide's ML
        example reads it so); partitioning as ``core_params.json`` has it, ``partitionedModel.enabled``
        (DSS 9.0.5 source, core/saved_model.py, ModelPartitioningInfo), looked up under the details'
        ``coreParams`` (that key is inferred from the file's name, not documented: absent, the
        model counts as not partitioned); the preparation script's steps of the analysis it was deployed
        from (``get_origin_ml_task()``, then ``get_analysis(...).get_definition().get_raw_script_steps()``).
        The scikit-learn that pickled it is read from ``clf.pkl`` in the version's model folder,
        found the way ``Model.get_predictor`` finds it (DSS 9.0.5 source: ``backend_json_call(
        "savedmodels/get-model-details")``); a folder this process cannot see is not read.
        What DSS does not answer is left unknown rather than guessed.
        """
        project_key, _, sm_id = model.rpartition(".")
        project = self._dataiku.api_client().get_project(project_key) if project_key else self._project()
        handle = project.get_saved_model(sm_id)
        found = {}
        try:
            details = handle.get_version_details(version)
            found["algorithm"] = details.get_modeling_settings().get("algorithm")
            core = details.get_raw().get("coreParams") or {}
            found["partitioned"] = bool((core.get("partitionedModel") or {}).get("enabled"))
            task = handle.get_origin_ml_task()
            if task is not None:
                found["script_steps"] = len(project.get_analysis(task.analysis_id).get_definition().get_raw_script_steps())
        except Exception:  # noqa: BLE001 - details DSS refuses (rights, old versions) stay unknown
            log.warning("Could not read the details of saved model '%s' version %s.", model, version, exc_info=True)
        found["sklearn_version"] = self._pickled_sklearn(project_key or self._dataiku.default_project_key(), sm_id, version)
        return ModelNeeds(**found)

    def _pickled_sklearn(self, project_key, sm_id, version):
        from dataiku.core.intercom import backend_json_call

        try:
            folder = backend_json_call("savedmodels/get-model-details", data={
                "projectKey": project_key, "smId": sm_id, "versionId": version})["model_folder"]
            with open(os.path.join(folder, "clf.pkl"), "rb") as stream:
                return pickled_sklearn_version(stream.read())
        except Exception:  # noqa: BLE001 - not a local pickled model: the predictor will say
            return None

    def active_version(self, model):
        versions = self._dataiku.Model(model).list_versions()
        if not versions:
            raise NotFound(f"The saved model '{model}' has no trained version yet.")
        active = [v for v in versions if v.get("active")] or _by_train_date(versions)[-1:]
        return str(active[0]["versionId"])

    def model_versions(self, model):
        """Oldest first, by training date."""
        return [str(v["versionId"]) for v in _by_train_date(self._dataiku.Model(model).list_versions())]

    def user(self, headers=None):
        return self.identity(headers)[0]

    def identity(self, headers=None) -> tuple:
        """``(login, groups)`` of the DSS user whose browser sent ``headers``."""
        if headers is None:
            raise Unauthorized("No browser headers: the DSS user cannot be identified.")
        try:
            info = self._dataiku.api_client().get_auth_info_from_browser_headers(dict(headers))
        except Exception as error:  # noqa: BLE001 - DSS raises its own error for a missing session
            raise Unauthorized("Sign in to DSS to label.") from error
        return info["authIdentifier"], [str(g) for g in info.get("groups") or []]



def _by_train_date(versions: list) -> list:
    """Versions oldest first. Ids are not ordered names in DSS: order by ``snippet.trainDate``, as
    Dataiku's labeling plugin does (dss-plugin-ml-assisted-labeling, python-steps/stopping-metric)."""
    return sorted(versions, key=lambda v: int((v.get("snippet") or {}).get("trainDate") or 0))


def _accepts(method, keyword: str, value) -> dict:
    """``{keyword: value}`` when this DSS's ``method`` takes ``keyword``, else nothing."""
    try:
        return {keyword: value} if keyword in inspect.signature(method).parameters else {}
    except (TypeError, ValueError):  # a signature Python cannot read: do not guess
        return {}


def _read_types(name: str, schema: list, columns) -> tuple:
    """``(names, dtypes, date columns)`` for ``iter_dataframes_forced_types``: DSS's own types for
    the schema's storage types (DKU_PANDAS_TYPES_MAP: float32, float64, object; dates parsed), except
    integers and booleans, read as pandas' nullable types so that an empty cell is a missing value.
    Integers keep their size, as ``use_nullable_integers`` gives them on DSS 13.1 and later."""
    types = {c["name"]: c["type"] for c in schema}
    names = list(columns) if columns is not None else list(types)
    unknown = [c for c in names if c not in types]
    if unknown:
        raise LabelloopError(f"The dataset '{name}' has no column '{unknown[0]}'.")
    dtypes = {c: _READ_TYPES.get(types[c], object) for c in names}
    return names, dtypes, [c for c in names if types[c] == "date"] or False
