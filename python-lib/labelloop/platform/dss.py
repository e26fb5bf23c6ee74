"""The DSS adapter: the only module of labelloop that imports ``dataiku``.

``dataiku`` is imported when the adapter is built, never at module import, so the rest of the
package (and this module) can be imported on a machine without DSS.
"""
from __future__ import annotations

from labelloop.errors import LabelloopError, NotFound, Unauthorized
from labelloop.platform.base import Platform, Probabilities

_PROBA_PREFIX = "proba_"


class DSSPlatform(Platform):
    """Datasets, folders, variables and saved models of the current DSS project."""

    def __init__(self):
        import dataiku  # only here: the core must import without DSS

        self._dataiku = dataiku

    def read_dataset(self, name, columns=None):
        return self._dataiku.Dataset(name).get_dataframe(columns=columns)

    def iter_dataset(self, name, chunksize, columns=None):
        return self._dataiku.Dataset(name).iter_dataframes(chunksize=chunksize, columns=columns)

    def write_dataset(self, name, frame):
        self._dataiku.Dataset(name).write_with_schema(frame)

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
        saved = self._dataiku.Model(model)
        version = version or _active_version(saved)
        predictions = saved.get_predictor(version).predict(frame, with_probas=True)
        columns = [c for c in predictions.columns if str(c).startswith(_PROBA_PREFIX)]
        if not columns:
            raise LabelloopError(f"The saved model '{model}' gives no class probabilities: use a classification model.")
        return Probabilities(
            classes=[str(c)[len(_PROBA_PREFIX):] for c in columns],
            matrix=predictions[columns].to_numpy(dtype=float),
            model_version=str(version),
        )

    def model_versions(self, model):
        """Through the public API client (the stopping step's rule): oldest first, by training date."""
        saved = self._dataiku.api_client().get_default_project().get_saved_model(model.split(".")[-1])
        versions = saved.list_versions()
        versions = sorted(versions, key=lambda v: (v.get("snippet") or {}).get("trainDate", 0))
        return [str(v["id"]) for v in versions]

    def user(self, headers=None):
        if headers is None:
            raise Unauthorized("No browser headers: the DSS user cannot be identified.")
        try:
            info = self._dataiku.api_client().get_auth_info_from_browser_headers(dict(headers))
        except Exception as error:  # noqa: BLE001 - DSS raises its own error for a missing session
            raise Unauthorized("Sign in to DSS to label.") from error
        return info["authIdentifier"]


def _active_version(saved_model) -> str:
    versions = saved_model.list_versions()
    if not versions:
        raise NotFound("The saved model has no trained version yet.")
    active = [v for v in versions if v.get("active")] or versions[-1:]
    return str(active[0]["versionId"])
