"""``backend_json_call``: the call ``dataiku.Model.get_predictor`` makes to find a version's files.

DSS 9.0.5 source (core/saved_model.py, ``get_predictor``): ``backend_json_call(
"savedmodels/get-model-details", data={"projectKey", "smId", "versionId"})`` answers
``{"model_folder": ..., "saved_model": ...}``; the folder is local to DSS (a containerised job
fetches a copy first). Other calls fail here until labelloop needs them.
"""
from __future__ import annotations

from dataiku._instance import DSSError, instance


def backend_json_call(path, data=None, err_msg=None, **kwargs):
    if path != "savedmodels/get-model-details":
        raise DSSError(f"The fake DSS does not answer {path}.")
    saved = instance().saved_models.get(data["smId"])
    version = next((v for v in saved.versions if v.id == data["versionId"]), None) if saved else None
    if version is None:
        raise DSSError(err_msg or f"Saved model version not found: {data['smId']} {data['versionId']}")
    return {"model_folder": version.folder, "saved_model": {"id": data["smId"]}}
