"""Run unchanged DSS entry files (recipe.py, trigger.py, step.py, backend.py) in the fake DSS.

``FakeDSS`` is one DSS project on disk. Tests define its datasets, folders and saved models,
then run an entry file with a config and roles that are checked against the entry's descriptor
the way DSS's UI would: unknown params or roles, wrong param types, missing required roles and
KEY_VALUE_LIST values not shaped ``[{from, to}]`` are refused before the code runs.
"""
from __future__ import annotations

import copy
import importlib
import json
import runpy
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path

FAKE_PATH = str(Path(__file__).resolve().parent)
DESCRIPTORS = {"recipe": "recipe.json", "webapp": "webapp.json", "trigger": "trigger.json", "step": "step.json"}
ENTRY_FILES = {"recipe": "recipe.py", "webapp": "backend.py", "trigger": "trigger.py", "step": "step.py"}
_PARAM_TYPES = {
    "STRING": str, "TEXTAREA": str, "PASSWORD": str, "DATASET": str, "FOLDER": str, "MANAGED_FOLDER": str,
    "SAVED_MODEL": str, "SELECT": str, "COLUMN": str, "INT": int, "DOUBLE": (int, float), "BOOLEAN": bool,
    "KEY_VALUE_LIST": list, "MULTISELECT": list, "COLUMNS": list, "DATASETS": list,
}


def load_fake_dataiku():
    """Import the fake ``dataiku`` package (never a real one)."""
    if FAKE_PATH not in sys.path:
        sys.path.insert(0, FAKE_PATH)
    module = importlib.import_module("dataiku")
    if not str(Path(module.__file__)).startswith(FAKE_PATH):
        raise RuntimeError(f"'dataiku' resolves to {module.__file__}, not the fake.")
    return module


class DescriptorError(Exception):
    """The config or roles given to an entry point do not fit its descriptor."""


def check_params(descriptor: dict, config: dict) -> None:
    params = {p["name"]: p for p in descriptor.get("params", []) if p.get("type") != "SEPARATOR"}
    for name, value in config.items():
        if name not in params:
            raise DescriptorError(f"Param '{name}' is not in the descriptor.")
        kind = params[name]["type"]
        if not _fits(kind, value):
            raise DescriptorError(f"Param '{name}' ({kind}) cannot take {value!r}.")
        if kind == "KEY_VALUE_LIST" and not all(isinstance(v, dict) and set(v) <= {"from", "to"} and "from" in v for v in value):
            raise DescriptorError(f"Param '{name}' (KEY_VALUE_LIST) must be a list of {{from, to}}.")
        if kind == "SELECT":
            choices = [c["value"] for c in params[name].get("selectChoices", [])]
            if value not in choices:
                raise DescriptorError(f"Param '{name}' cannot be {value!r} (choices: {choices}).")


def _fits(kind: str, value) -> bool:
    if isinstance(value, bool) and kind in ("INT", "DOUBLE"):
        return False
    return kind not in _PARAM_TYPES or isinstance(value, _PARAM_TYPES[kind])


def check_roles(descriptor: dict, direction: str, given: dict) -> None:
    roles = {r["name"]: r for r in descriptor.get(f"{direction}Roles", [])}
    for name, names in given.items():
        if name not in roles:
            raise DescriptorError(f"{direction} role '{name}' is not in the descriptor.")
        if len(names) > 1 and not roles[name].get("arity", "UNARY") == "NARY":
            raise DescriptorError(f"{direction} role '{name}' takes one item.")
    for name, role in roles.items():
        if role.get("required", True) and not given.get(name):
            raise DescriptorError(f"{direction} role '{name}' is required.")


@dataclass
class Context:
    """What the running entry point sees through customrecipe/customwebapp/customtrigger/..."""

    kind: str
    descriptor: dict
    config: dict
    inputs: dict = field(default_factory=dict)
    outputs: dict = field(default_factory=dict)
    fired: int = 0

    def config_copy(self) -> dict:
        return copy.deepcopy(self.config)

    def names(self, direction: str, role: str) -> list:
        roles = {r["name"] for r in self.descriptor.get(f"{direction}Roles", [])}
        if role not in roles:
            raise ValueError(f"Role '{role}' is not an {direction} role of this recipe.")
        given = self.inputs if direction == "input" else self.outputs
        return [f"{INSTANCE_KEY}.{n}" for n in given.get(role, [])]

    def declared(self) -> set:
        return {n for names in (*self.inputs.values(), *self.outputs.values()) for n in names}

    def declared_outputs(self) -> set:
        return {n for names in self.outputs.values() for n in names}


INSTANCE_KEY = "PROJ"


class FakeProject:
    def __init__(self, dss: "FakeDSS"):
        self._dss = dss

    def get_variables(self):
        return {"standard": self._dss.platform.get_variables(), "local": {}}

    def get_saved_model(self, sm_id):
        return FakeSavedModel(self._dss, sm_id)

    def set_variables(self, obj):
        if set(obj) != {"standard", "local"}:
            raise ValueError("set_variables takes {'standard': {...}, 'local': {...}}.")
        self._dss.platform.update_variables(lambda v: (v.clear(), v.update(obj["standard"])))


class FakeSavedModel:
    """``dataikuapi``'s saved-model handle: versions as ``{id, active, snippet}`` dicts."""

    def __init__(self, dss: "FakeDSS", sm_id: str):
        if sm_id not in dss.models:
            raise Exception(f"Saved model {sm_id} does not exist.")
        self._registry = dss.platform.registry(sm_id)

    def list_versions(self):
        latest = self._registry.latest()
        return [{"id": v, "active": v == latest, "snippet": self._registry.meta(v)} for v in self._registry.versions()]


class FakeClient:
    def __init__(self, dss: "FakeDSS"):
        self._dss = dss

    def get_default_project(self):
        return FakeProject(self._dss)

    def get_project(self, project_key):
        if project_key != INSTANCE_KEY:
            raise Exception(f"Project {project_key} does not exist.")
        return FakeProject(self._dss)

    def get_auth_info_from_browser_headers(self, headers_dict, with_secrets=False):
        cookie = next((v for k, v in headers_dict.items() if k.lower() == "cookie"), "")
        token = dict(p.strip().split("=", 1) for p in cookie.split(";") if "=" in p).get("dss_session")
        if token not in self._dss.sessions:
            raise Exception("Failed to authenticate: no valid DSS session in the browser headers.")
        return {"authIdentifier": self._dss.sessions[token], "groups": []}


class FakeDSS:
    """One DSS project backed by labelloop's local adapter in ``root``."""

    def __init__(self, root):
        from labelloop.platform.local import LocalPlatform

        self.project_key = INSTANCE_KEY
        self.platform = LocalPlatform(root)
        self.datasets, self.folders, self.models = set(), set(), set()
        self.sessions = {}
        self.context = None
        self.client = FakeClient(self)

    # the flow
    def add_dataset(self, name: str, frame=None) -> None:
        """Define a dataset in the flow; with a frame, also build it."""
        self.datasets.add(name)
        if frame is not None:
            self.platform.write_dataset(name, frame)

    def add_folder(self, name: str) -> Path:
        """Define a managed folder and return the directory to fill."""
        self.folders.add(name)
        path = self.platform.folder_path(name)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def add_model(self, name: str, estimator, meta: dict | None = None) -> str:
        """Define a saved model (if new) and train a version of it from a fitted estimator."""
        self.models.add(name)
        return self.platform.registry(name).save(estimator, meta or {})

    def login(self, user: str) -> dict:
        """Browser headers carrying a DSS session of ``user``."""
        token = secrets.token_hex(8)
        self.sessions[token] = user
        return {"Cookie": f"dss_session={token}"}

    def context_of(self, kind: str) -> Context:
        if self.context is None or self.context.kind != kind:
            raise RuntimeError(f"Not running inside a {kind}.")
        return self.context

    # running entry files
    def run(self, entry_dir, config: dict, inputs: dict | None = None, outputs: dict | None = None,
            init_globals: dict | None = None) -> Context:
        """Run the entry file of ``entry_dir`` (kind found from its descriptor) and return its context."""
        entry_dir = Path(entry_dir)
        kind = next((k for k, d in DESCRIPTORS.items() if (entry_dir / d).is_file()), None)
        if kind is None:
            raise DescriptorError(f"{entry_dir} has no descriptor.")
        descriptor = json.loads((entry_dir / DESCRIPTORS[kind]).read_text())
        check_params(descriptor, config)
        if kind == "recipe":
            check_roles(descriptor, "input", inputs or {})
            check_roles(descriptor, "output", outputs or {})
        context = Context(kind, descriptor, copy.deepcopy(config), dict(inputs or {}), dict(outputs or {}))
        load_fake_dataiku()
        instance_module = sys.modules["dataiku._instance"]
        instance_module.INSTANCE, self.context = self, context
        try:
            runpy.run_path(str(entry_dir / ENTRY_FILES[kind]), init_globals=init_globals, run_name="__main__")
        finally:
            if kind != "webapp":
                instance_module.INSTANCE, self.context = None, None
        return context

    def stop(self) -> None:
        """End a webapp's context (its backend ran inside it while serving)."""
        sys.modules["dataiku._instance"].INSTANCE, self.context = None, None
