"""Run unchanged DSS entry files (recipe.py, trigger.py, step.py, backend.py) in the fake DSS.

``FakeDSS`` is one DSS project on disk. Tests define its datasets, folders and saved models,
then run an entry file with a config and roles that are checked against the entry's descriptor
the way DSS's UI would: unknown params or roles, wrong param types, missing required roles and
KEY_VALUE_LIST values not shaped ``[{from, to}]`` are refused before the code runs.
"""
from __future__ import annotations

import atexit
import contextlib
import copy
import hashlib
import importlib
import json
import os
import runpy
import secrets
import signal
import sys
import sysconfig
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FAKE_PATH = str(Path(__file__).resolve().parent)
DESCRIPTORS = {"recipe": "recipe.json", "webapp": "webapp.json", "trigger": "trigger.json", "step": "step.json"}
ENTRY_FILES = {"recipe": "recipe.py", "webapp": "backend.py", "trigger": "trigger.py", "step": "step.py"}
_PARAM_TYPES = {
    "STRING": str, "TEXTAREA": str, "PASSWORD": str, "DATASET": str, "FOLDER": str, "MANAGED_FOLDER": str,
    "SAVED_MODEL": str, "SELECT": str, "COLUMN": str, "DATASET_COLUMN": str, "INT": (int, float),
    "DOUBLE": (int, float), "BOOLEAN": bool, "KEY_VALUE_LIST": list, "MULTISELECT": list, "COLUMNS": list,
    "DATASET_COLUMNS": list, "DATASETS": list,
    # docs source, plugins/reference/params.rst: "LLM: An LLM, part of the LLM Mesh. Selection can be
    # restricted with llmUsagePurpose" (TEXT_EMBEDDING_EXTRACTION among its values); "These objects
    # return either the id or the name": Dataiku's guardrail tutorial and dss-plugin-typesafe-ai pass
    # config["llm"] straight to get_llm(), so the value is the LLM id, a string.
    "LLM": str,
    "PRESET": dict,  # the choice of a preset, resolved to its values for the code (see ``resolve_presets``)
}
# docs source, plugins/reference/params.rst: "canSelectForeign (boolean, default false): For
# DATASET(S), SAVED_MODEL and MANAGED_FOLDER only. Should this parameter show elements from other projects?"
_FLOW_OBJECT_PARAMS = {"DATASET", "SAVED_MODEL", "MANAGED_FOLDER", "FOLDER"}
# Column params are of two families (docs source, plugins/reference/params.rst): "COLUMN: For
# recipes only" with ``columnRole`` ("You will need to give the name of the role from which you
# want to select a column using columnRole"); "DATASET_COLUMN: A column from a specified dataset.
# This type requires a datasetParamName" ("probably not what you want for recipes"). Which other
# kinds take which is not written down: the stricter reading refuses the other family everywhere.
_COLUMN_PARAMS = {"recipe": {"COLUMN", "COLUMNS"}, "other": {"DATASET_COLUMN", "DATASET_COLUMNS"}}
# An LLM param's llmUsagePurpose: dataikuapi dss/project.py, list_llms(purpose="GENERIC_COMPLETION"):
# "Usage purpose of the LLM. Main values are GENERIC_COMPLETION, TEXT_EMBEDDING_EXTRACTION and
# IMAGE_GENERATION"; Dataiku's own dss-plugin-typesafe-ai declares its chat model param
# (python-guardrails/jev-guardrail/guardrail.json) as "type": "LLM", "llmUsagePurpose": "GENERIC_COMPLETION".
# Versions: both sources are current (13.x); neither says when each value arrived, so the fake holds the
# stricter reading on every version it knows (12.6 to 13.5): only these three values are accepted.
_LLM_PURPOSES = {"GENERIC_COMPLETION", "TEXT_EMBEDDING_EXTRACTION", "IMAGE_GENERATION"}


def load_fake_dataiku():
    """Import the fake ``dataiku`` package (never a real one)."""
    if FAKE_PATH not in sys.path:
        sys.path.insert(0, FAKE_PATH)
    module = importlib.import_module("dataiku")
    if not str(Path(module.__file__)).startswith(FAKE_PATH):
        raise RuntimeError(f"'dataiku' resolves to {module.__file__}, not the fake.")
    return module


@contextlib.contextmanager
def spark_recipe(descriptor: dict):
    """A recipe of kind PYSPARK runs with Spark set up, here a local Spark, ended with the recipe as
    DSS ends the recipe's process. Its executors run ``executor_python()``: the code env's packages,
    not the plugin's ``python-lib``.

    Docs source, plugins/reference/recipes.rst (a writers' comment): "Different kinds of code
    recipes but for now nothing is documented ... R, PYSPARK, SPARK_SCALA, JAVA". Docs source,
    troubleshooting/errors/ERR_SPARK_PYSPARK_CODE_FAILED_UNSPECIFIED.rst: it happens "Running a
    plugin recipe that uses Pyspark". A public copy of DSS's custom-code recipe page template (the
    search tool's index holds it without naming its repository) shows a Spark configuration for
    ``desc.kind == 'PYSPARK'``. How DSS starts Spark is not public: a local master is the stand-in.
    What the executors can import follows issue 34's reading of DSS's docs on Spark UDFs: DSS ships
    the code env to them, and nothing says it ships a plugin's python-lib (the stricter reading).
    """
    running = _active_spark_context()
    saved = {name: os.environ.get(name) for name in ("PYSPARK_SUBMIT_ARGS", "PYSPARK_PYTHON")}
    if descriptor.get("kind") == "PYSPARK":
        os.environ.update(PYSPARK_SUBMIT_ARGS="--master local[2] --conf spark.ui.enabled=false pyspark-shell",
                          PYSPARK_PYTHON=executor_python())
    try:
        yield
    finally:  # a Spark the recipe started (any recipe: its code may start one itself) ends with it
        started = _active_spark_context()
        if started is not None and started is not running:
            started.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _active_spark_context():
    return sys.modules["pyspark"].SparkContext._active_spark_context if "pyspark" in sys.modules else None


def executor_python() -> str:
    """A Python for Spark executors with this interpreter's installed packages and no labelloop.

    ``-S`` skips the site module, so no ``.pth`` file runs (an editable install of labelloop is
    one); the packages come from the site-packages folder put on PYTHONPATH by hand, and the
    PYTHONPATH Spark passes on loses every folder that holds a ``labelloop`` package.
    """
    packages = sysconfig.get_paths()["purelib"]
    script = Path(tempfile.gettempdir()) / f"labelloop-executor-python-{hashlib.sha256(sys.executable.encode()).hexdigest()[:12]}"
    text = (f'#!/bin/sh\nkept="{packages}"\nIFS=:\nfor entry in $PYTHONPATH; do\n'
            f'  [ -d "$entry/labelloop" ] || kept="$kept:$entry"\ndone\n'
            f'PYTHONPATH="$kept" exec "{sys.executable}" -S "$@"\n')
    if not script.is_file() or script.read_text() != text:
        partial = script.with_suffix(f".{os.getpid()}")
        partial.write_text(text)
        partial.chmod(0o755)
        partial.replace(script)
    return str(script)


class DescriptorError(Exception):
    """The config or roles given to an entry point do not fit its descriptor."""


def check_descriptor(kind: str, descriptor: dict) -> None:
    """Params a component kind cannot have: column params of the other family, or unlinked ones."""
    allowed = _COLUMN_PARAMS["recipe" if kind == "recipe" else "other"]
    refused = set().union(*_COLUMN_PARAMS.values()) - allowed
    for param in descriptor.get("params", []):
        if param.get("type") in refused:
            raise DescriptorError(f"Param '{param['name']}': a {kind} cannot take a {param['type']} param "
                                  f"(use {' or '.join(sorted(allowed))}).")
        if param.get("type") == "PRESET" and not (PLUGIN_ROOT / "parameter-sets" / str(param.get("parameterSetId"))
                                                  / "parameter-set.json").is_file():
            raise DescriptorError(f"Param '{param['name']}' (PRESET) names no parameter set of the plugin "
                                  "(parameter-sets/<parameterSetId>/parameter-set.json).")
        if param.get("type") == "LLM" and param.get("llmUsagePurpose", "GENERIC_COMPLETION") not in _LLM_PURPOSES:
            raise DescriptorError(f"Param '{param['name']}' (LLM) has an unknown llmUsagePurpose "
                                  f"{param['llmUsagePurpose']!r} (one of {sorted(_LLM_PURPOSES)}).")
        link = "columnRole" if kind == "recipe" else "datasetParamName"
        if param.get("type") in allowed and not param.get(link):
            raise DescriptorError(f"Param '{param['name']}' ({param['type']}) needs '{link}'.")


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
        if kind in _FLOW_OBJECT_PARAMS and "." in value and not value.startswith(f"{INSTANCE_KEY}.") \
                and not params[name].get("canSelectForeign"):
            raise DescriptorError(f"Param '{name}' cannot name {value!r} of another project (no canSelectForeign).")
        # docs, doc.dataiku.com/dss/12/plugins/reference/params.html: a SELECT's "selectChoices" are the
        # values the form offers; a value outside them is refused here (the stricter reading)
        if kind == "SELECT":
            choices = [c["value"] for c in params[name].get("selectChoices", [])]
            if value not in choices:
                raise DescriptorError(f"Param '{name}' cannot be {value!r} (choices: {choices}).")


def _fits(kind: str, value) -> bool:
    if isinstance(value, bool) and kind in ("INT", "DOUBLE"):
        return False
    if kind == "INT" and isinstance(value, float) and not value.is_integer():
        return False
    return kind not in _PARAM_TYPES or isinstance(value, _PARAM_TYPES[kind])


PLUGIN_ROOT = Path(__file__).resolve().parents[2]


def preset_choice(name: str) -> dict:
    """What a component's settings keep when a preset is chosen in its form: the preset's name,
    never its values. (DSS's stored form of the choice is not public; a name is the least it holds.)"""
    return {"mode": "PRESET", "name": name}


def resolve_presets(descriptor: dict, config: dict, presets: dict) -> dict:
    """The config as the component's code gets it: each PRESET param as its preset's values.

    docs source, plugins/reference/params.rst, "Preset parameters": a PRESET param names a
    ``parameterSetId``; the values are input "At the instance level" by admins in the plugin's
    settings or "At the project level", and inline in the component only "If the settings of the
    preset allow it" (the parameter set's ``defaultDefinableInline``, as in Dataiku's
    dss-plugin-amazon-comprehend-nlp-medical, parameter-sets/api-configuration/parameter-set.json).
    The code reads the values as a dict: Dataiku's plugins do
    ``get_recipe_config().get("api_configuration_preset").get("aws_secret_key")``. A choice of a
    preset the set does not have is refused, as DSS's form offers only existing ones.
    """
    resolved = dict(config)
    for param in descriptor.get("params", []):
        if param.get("type") != "PRESET" or param["name"] not in config:
            continue
        chosen = config[param["name"]]
        known = presets.get(param["parameterSetId"], {})
        if chosen.get("mode") != "PRESET" or chosen.get("name") not in known:
            raise DescriptorError(f"Param '{param['name']}': no preset {chosen!r} in parameter set "
                                  f"'{param['parameterSetId']}'.")
        resolved[param["name"]] = copy.deepcopy(known[chosen["name"]])
    return resolved


def as_delivered(descriptor: dict, config: dict) -> dict:
    """The config as the entry file receives it: numbers of INT params are floats.

    doc.dataiku.com/dss/4.1/plugins/reference/params.html: "a INT parameter is received as a
    float in Python". DSS 14's page lists "float, int": a plugin must take both, and the fake
    gives the float, the case that breaks code expecting an ``int``.
    """
    kinds = {p["name"]: p.get("type") for p in descriptor.get("params", [])}
    return {name: float(value) if kinds.get(name) == "INT" else copy.deepcopy(value) for name, value in config.items()}


def read_descriptor(entry_dir) -> tuple:
    """``(kind, descriptor)`` of an entry folder: the kind from which descriptor file it holds."""
    entry_dir = Path(entry_dir)
    kind = next((k for k, d in DESCRIPTORS.items() if (entry_dir / d).is_file()), None)
    if kind is None:
        raise DescriptorError(f"{entry_dir} has no descriptor.")
    return kind, json.loads((entry_dir / DESCRIPTORS[kind]).read_text())


def config_as_created(entry_dir, **values) -> dict:
    """The config of a component just created in DSS's UI: each param's ``defaultValue``, then ``values``.

    docs, doc.dataiku.com/dss/12/plugins/reference/params.html: "defaultValue: The pre-filled value of
    the parameter"; a param without one is absent, hence its advice ``config.get(param_name, default_value)``.
    """
    _, descriptor = read_descriptor(entry_dir)
    defaults = {p["name"]: p["defaultValue"] for p in descriptor.get("params", []) if "defaultValue" in p}
    return {**defaults, **values}


def check_roles(descriptor: dict, direction: str, given: dict) -> None:
    roles = {r["name"]: r for r in descriptor.get(f"{direction}Roles", [])}
    for name, names in given.items():
        if name not in roles:
            raise DescriptorError(f"{direction} role '{name}' is not in the descriptor.")
        if len(names) > 1 and not roles[name].get("arity", "UNARY") == "NARY":
            raise DescriptorError(f"{direction} role '{name}' takes one item.")
    for name, role in roles.items():
        # docs source, plugins/reference/recipes.rst: "required (boolean, default false)"; undated
        # there: it holds on every version the fake knows (12.6.4, 13.5.6)
        if role.get("required", False) and not given.get(name):
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
    stored: dict = field(default_factory=dict)  # the settings as kept, presets chosen by name

    def config_copy(self) -> dict:
        return copy.deepcopy(self.config)

    def page_config(self) -> dict:
        """What a webapp's page reads with ``dataiku.getWebAppConfig()``: its settings as kept.

        DSS's standard library ``dataiku`` gives the page its params (reference notes of this
        project, dss-api.md: "``dataiku.getWebAppConfig()`` returns the params"); a PASSWORD
        param is one of them, a preset's values are not (they are plugin settings)."""
        return copy.deepcopy(self.stored)

    def names(self, direction: str, role: str) -> list:
        roles = {r["name"] for r in self.descriptor.get(f"{direction}Roles", [])}
        if role not in roles:
            raise ValueError(f"Role '{role}' is not an {direction} role of this recipe.")
        given = self.inputs if direction == "input" else self.outputs
        # A role left empty gives an empty list: Dataiku's dss-plugin-timeseries-preparation,
        # python-lib/io_utils.py, tests `len(get_input_names_for_role('input_dataset')) == 0`.
        # Undated there: it holds on every version the fake knows (12.6.4, 13.5.6).
        return [full_name(n) for n in given.get(role, [])]

    def declared(self) -> set:
        return self.declared_inputs() | self.declared_outputs()

    def declared_inputs(self) -> set:
        return {full_name(n) for names in self.inputs.values() for n in names}

    def declared_outputs(self) -> set:
        return {full_name(n) for names in self.outputs.values() for n in names}


def full_name(name: str) -> str:
    """``PROJECT.name``: a bare name is of the current project."""
    return name if "." in name else f"{INSTANCE_KEY}.{name}"


INSTANCE_KEY = "PROJ"

# The DSS versions the plugin supports, oldest first: every DSS-facing test runs on the oldest, and
# the ``dss_any`` fixture (tests/conftest.py) runs a test on each. FAKE_DSS_VERSION picks another.
# The LLM Mesh arrives in dataikuapi 12.3.2 (dataikuapi/dss/llm.py first appears there); 13.5.6 is
# the newest 13.x release of dataikuapi.
DSS_VERSIONS = ("12.6.4", "13.5.6")
# The Python versions a DSS offers for code envs, by major version. DSS 12: "v11.4 added support for
# Python v3.11 for code environments" and its builtin env is 3.9 (community.dataiku.com, "Split
# built-in Python code environment in two"); no public source has 3.12 before DSS 14's "DSS is
# compatible with Python versions 3.9 to 3.14" (doc.dataiku.com/dss/14/code-envs/operations-python.html),
# so 12 and 13 offer up to 3.11 here (the stricter reading for 13).
CODE_ENV_PYTHONS = {12: ("PYTHON36", "PYTHON37", "PYTHON38", "PYTHON39", "PYTHON310", "PYTHON311"),
                    13: ("PYTHON36", "PYTHON37", "PYTHON38", "PYTHON39", "PYTHON310", "PYTHON311"),
                    14: ("PYTHON39", "PYTHON310", "PYTHON311", "PYTHON312", "PYTHON313", "PYTHON314")}


def dss_version(text: str | None = None) -> tuple:
    """``(12, 6, 4)`` from ``"12.6.4"``; without text, FAKE_DSS_VERSION's or the oldest supported."""
    text = text or os.environ.get("FAKE_DSS_VERSION") or DSS_VERSIONS[0]
    return tuple(int(part) for part in text.split("."))


def code_env_pythons(desc: dict, version: tuple) -> list:
    """The interpreters a plugin's code env (code-env/python/desc.json) can be built with on this DSS."""
    offered = CODE_ENV_PYTHONS[version[0]]
    return [p for p in desc.get("acceptedPythonInterpreters", []) if p in offered]


class FakeProject:
    def __init__(self, dss: FakeDSS):
        self._dss = dss

    def get_saved_model(self, sm_id):
        # dataikuapi/dss/project.py: a handle, not checked until used
        return FakeSavedModelHandle(self._dss, sm_id)

    def get_analysis(self, analysis_id):
        return FakeAnalysis(self._dss, analysis_id)

    def get_llm(self, llm_id):
        # dataikuapi/dss/project.py: get_llm returns a handle (DSSLLM) without checking the id; a
        # request with an unknown id fails when it is executed.
        return (FakeLLM if self._dss.version >= (13, 0, 0) else FakeLLMBefore13)(self._dss, llm_id)

    def get_variables(self):
        return {"standard": self._dss.platform.get_variables(), "local": {}}

    def set_variables(self, obj):
        if set(obj) != {"standard", "local"}:
            raise ValueError("set_variables takes {'standard': {...}, 'local': {...}}.")
        self._dss.platform.update_variables(lambda v: (v.clear(), v.update(obj["standard"])))


class FakeLLM:
    """An LLM Mesh model's handle, for embeddings (dataikuapi/dss/llm.py, DSSLLM.new_embeddings) and
    completions (DSSLLM.new_completion, there since dataikuapi 12.3.2, commit defda98 "Prepare 12.3.2")."""

    def __init__(self, dss: FakeDSS, llm_id: str):
        self._dss, self.llm_id = dss, llm_id

    def new_completion(self):
        return (FakeCompletionQuery if self._dss.version >= (13, 2, 0) else FakeCompletionQueryBefore13_2)(
            self._dss, self.llm_id)

    def new_embeddings(self, text_overflow_mode="FAIL"):
        # "text_overflow_mode: How to handle longer texts than what the model supports. Either
        # 'TRUNCATE' or 'FAIL'." (dataikuapi/dss/llm.py, DSS 13.0 and later)
        if text_overflow_mode not in ("TRUNCATE", "FAIL"):
            raise ValueError(f"text_overflow_mode must be TRUNCATE or FAIL, not {text_overflow_mode!r}.")
        return FakeEmbeddingsQuery(self._dss, self.llm_id)


class FakeLLMBefore13(FakeLLM):
    """DSS 12.3 to 12.6: ``def new_embeddings(self):`` takes no argument (dataikuapi 12.3.2 to 12.6.4,
    dataikuapi/dss/llm.py; ``text_overflow_mode`` arrives in 13.0.0, github.com/dataiku/dataiku-api-client-python
    commit 5943433 "Task/dss 13.0.0 publish on pypi")."""

    def new_embeddings(self):
        return FakeEmbeddingsQuery(self._dss, self.llm_id)


class FakeEmbeddingsQuery:
    def __init__(self, dss: FakeDSS, llm_id: str):
        self._dss, self._llm_id, self._texts = dss, llm_id, []

    def add_text(self, text):
        # DSSLLMEmbeddingsQuery.add_text appends {"text": text} and returns the query
        self._texts.append(text)
        return self

    def execute(self):
        # DSSLLMEmbeddingsQuery.execute: one POST for every text added; an unknown LLM fails here
        if self._llm_id not in self._dss.embedding_llms:
            raise Exception(f"LLM not found: {self._llm_id}")
        return FakeEmbeddingsResponse(self._dss.embed(self._llm_id, self._texts))


class FakeEmbeddingsResponse:
    def __init__(self, vectors):
        self._vectors = vectors

    def get_embeddings(self):
        # "A list of lists containing all embedding vectors", one per text added, in order
        # (dataikuapi/dss/llm.py, DSSLLMEmbeddingsResponse.get_embeddings): plain floats, not arrays
        return [[float(x) for x in vector] for vector in self._vectors]


# Completion settings dataikuapi names: "maxOutputTokens, temperature, topK, topP, frequencyPenalty,
# presencePenalty, logitBias, logProbs and topLogProbs" (13.5.6, dataikuapi/dss/langchain/llm.py,
# DKUChatModel.completion_settings), plus "responseFormat" (with_json_output). 12.x documents no key:
# the same list is taken there, and any other key is refused (the stricter reading).
_COMPLETION_SETTINGS = {"maxOutputTokens", "temperature", "topK", "topP", "frequencyPenalty", "presencePenalty",
                        "logitBias", "logProbs", "topLogProbs", "responseFormat"}


class FakeCompletionQueryBefore13_2:
    """dataikuapi 12.3.2 to 13.1 (dataikuapi/dss/llm.py, DSSLLMCompletionQuery): ``with_message(message,
    role="user")`` appends ``{content, role}``, ``settings`` is a dict sent as is, ``execute()`` POSTs the
    one query and answers ``DSSLLMCompletionResponse(ret["responses"][0])``. No ``with_json_output``."""

    def __init__(self, dss: FakeDSS, llm_id: str):
        self._dss, self._llm_id = dss, llm_id
        self._messages, self._settings = [], {}

    @property
    def settings(self):
        return self._settings

    def with_message(self, message, role="user"):
        # the docstring's roles: "Use system to set the LLM behavior, assistant to store predefined
        # responses, user to provide requests" (another is refused here: the stricter reading)
        if role not in ("system", "user", "assistant"):
            raise ValueError(f"Unknown message role {role!r}.")
        if not isinstance(message, str):
            raise TypeError("with_message takes the message's text.")
        self._messages.append({"content": message, "role": role})
        return self

    def execute(self):
        unknown = set(self._settings) - _COMPLETION_SETTINGS
        if unknown:
            raise Exception(f"Unknown completion settings: {sorted(unknown)}")
        # an unknown LLM id fails the request itself (DSSClient._perform_json raises on the HTTP error)
        if self._llm_id not in self._dss.completion_llms:
            raise Exception(f"LLM not found: {self._llm_id}")
        return self._response(self._dss.complete(self._llm_id, self._messages, self._settings))

    def _response(self, raw: dict):
        return FakeCompletionResponseBefore13_3(raw)


class FakeCompletionQuery(FakeCompletionQueryBefore13_2):
    """dataikuapi 13.2 and later: ``with_json_output`` sets ``settings["responseFormat"]`` (13.2.0, commit
    6fc3831 "Prepare 13.2.0 release", no argument; ``schema``, ``strict``, ``compatible`` from 13.3.1,
    commit a18a106, which the fake takes from 13.2 on: its versions are 12.6.4 and 13.5.6)."""

    def with_json_output(self, schema=None, strict=None, compatible=None):
        self._settings["responseFormat"] = {"type": "json", "schema": schema, "strict": strict, "compatible": compatible}
        return self

    def _response(self, raw: dict):
        return FakeCompletionResponse(raw) if self._dss.version >= (13, 3, 1) else FakeCompletionResponseBefore13_3(raw)


class FakeCompletionResponseBefore13_3:
    """``success`` is ``raw["ok"]``; ``text`` is ``raw["text"]`` (dataikuapi 12.3.2 to 13.2). A failed
    completion carries ``errorMessage`` and, here, no text: reading ``text`` then fails with a KeyError
    (nothing public shows a failed reply's keys before 13.3: the stricter reading)."""

    def __init__(self, raw: dict):
        self._raw = raw

    @property
    def success(self):
        return self._raw["ok"]

    @property
    def text(self):
        return self._raw["text"]


class FakeCompletionResponse(FakeCompletionResponseBefore13_3):
    """dataikuapi 13.3.1 and later (commit a18a106): ``text`` and ``json`` of a failed completion raise
    ``Exception(errorMessage)`` ("An unknown error occurred" without one); ``json`` is ``json.loads(text)``."""

    @property
    def text(self):
        self._fail_unless_success()
        return self._raw.get("text")

    @property
    def json(self):
        self._fail_unless_success()
        return json.loads(self.text) if self.text is not None else None

    def _fail_unless_success(self):
        if not self.success:
            raise Exception(self._raw.get("errorMessage", "An unknown error occurred"))


@dataclass
class CompletionLLM:
    """A completion model of the fake Mesh: it knows each item's true category (``truth``, text ->
    key) and names it with the probability ``accuracy[key]`` (else another category, or non-JSON text
    when ``garbled``), deterministically per text. ``fail_first`` completions fail (``ok: false``),
    then every ``fail_every``-th one, and every one after the ``fail_after``-th; each takes ``latency`` seconds."""

    truth: dict
    accuracy: dict
    latency: float = 0.0
    fail_first: int = 0
    fail_every: int = 0
    fail_after: int = 0
    garbled: float = 0.0
    calls: int = 0
    requests: list = field(default_factory=list)  # {messages, settings} of each call, for the tests


@dataclass
class ModelVersion:
    """A trained version: its model folder (``clf.pkl``, as DSS's predictor reads it) and its details.

    The details are what dataikuapi answers for the version (``DSSSavedModel.get_version_details``):
    ``get_modeling_settings()["algorithm"]`` (DSS's algorithm names, dataikuapi dss/ml.py),
    partitioning as the model folder's ``core_params.json`` has it (``partitionedModel.enabled``,
    DSS 9.0.5 source, core/saved_model.py, ModelPartitioningInfo) and the steps of the preparation
    script of the analysis it was deployed from (``get_origin_ml_task``, then the analysis
    definition's ``get_raw_script_steps``: dataikuapi dss/savedmodel.py and dss/analysis.py).
    """

    id: str
    train_date: int  # milliseconds since the epoch, as in the versions' ``snippet``
    folder: str  # the version's model folder
    algorithm: str = "RANDOM_FOREST_CLASSIFICATION"
    partitioned: bool = False
    script_steps: list = field(default_factory=list)


class FakeSavedModelHandle:
    """dataikuapi's DSSSavedModel: version details and the ML task it was deployed from."""

    def __init__(self, dss: FakeDSS, sm_id: str):
        self._dss, self.sm_id = dss, sm_id

    def _version(self, version_id):
        saved = self._dss.saved_models.get(self.sm_id)
        version = next((v for v in saved.versions if v.id == version_id), None) if saved else None
        if version is None:
            raise Exception(f"Saved model version not found: {self.sm_id} {version_id}")
        return version

    def get_version_details(self, version_id):
        version = self._version(version_id)
        return FakeVersionDetails({"modeling": {"algorithm": version.algorithm},
                                   "coreParams": {"partitionedModel": {"enabled": version.partitioned}},
                                   "trainInfo": {"state": "DONE"}})

    def get_origin_ml_task(self):
        # "origin ML task or None if the saved model does not have an origin ml task": the fake's
        # models come from an analysis named after the model (its script is the last version's)
        return FakeMLTask(self.sm_id) if self._dss.saved_models.get(self.sm_id) else None


class FakeVersionDetails:
    """dataikuapi's DSSTrainedPredictionModelDetails (``get_raw``, ``get_modeling_settings``)."""

    def __init__(self, details: dict):
        self.details = details

    def get_raw(self):
        return self.details

    def get_modeling_settings(self):
        return self.details["modeling"]


class FakeMLTask:
    def __init__(self, analysis_id: str):
        self.analysis_id = analysis_id


class FakeAnalysis:
    def __init__(self, dss: FakeDSS, analysis_id: str):
        self._dss, self.analysis_id = dss, analysis_id

    def get_definition(self):
        return self

    def get_raw_script_steps(self):
        return list(self._dss.saved_models[self.analysis_id].versions[-1].script_steps)


@dataclass
class SavedModel:
    versions: list = field(default_factory=list)
    active: str | None = None


class FakeClient:
    def __init__(self, dss: FakeDSS):
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
        # "authIdentifier: login for a user ... groups: list of group names (if context is an user)"
        # (DSS API reference, dkuGetAuthInfoFromBrowserHeaders, doc.dataiku.com/dss/api/14/R/dataiku/reference/).
        user, groups = self._dss.sessions[token]
        return {"authIdentifier": user, "groups": list(groups)}


class FakeDSS:
    """One DSS project backed by labelloop's local adapter in ``root``, on DSS ``version`` ("12.6.4";
    by default FAKE_DSS_VERSION or the oldest supported): the fake's API follows that version."""

    def __init__(self, root, version: str | None = None):
        from labelloop.platform.local import LocalPlatform

        self.version = dss_version(version)
        self.project_key = INSTANCE_KEY
        self.root = Path(root)
        self.platform = LocalPlatform(root)
        self.projects = {INSTANCE_KEY: self.platform}
        self.datasets, self.folders, self.models = set(), set(), set()
        self.saved_models = {}
        self.predictors_built = 0
        self.sessions = {}
        self.context = None
        self.client = FakeClient(self)
        self.embedding_llms = {}  # LLM Mesh embedding models: id -> a sentence-transformers model folder
        self.completion_llms = {}  # LLM Mesh completion models: id -> CompletionLLM
        self._completing = threading.Lock()
        self.presets = {}  # parameter set id -> {preset name -> values}, set by an admin in the plugin's settings
        self._encoders = {}
        self._apps = []  # the Flask apps of the webapp backends run here (closed by ``stop``)
        self._sigterm = signal.getsignal(signal.SIGTERM)  # a backend sets its own (``stop`` puts this one back)

    # the flow
    def platform_of(self, project_key: str):
        """The storage of a project of the instance (``OTHER`` for datasets named ``OTHER.x``)."""
        if project_key not in self.projects:
            from labelloop.platform.local import LocalPlatform

            self.projects[project_key] = LocalPlatform(self.root / "projects" / project_key)
        return self.projects[project_key]

    def add_dataset(self, name: str, frame=None) -> None:
        """Define a dataset in the flow (``OTHER.name``: in project OTHER); with a frame, also build it."""
        project, short = full_name(name).split(".", 1)
        self.datasets.add(f"{project}.{short}")
        if frame is not None:
            self.platform_of(project).write_dataset(short, frame)

    def add_folder(self, name: str) -> Path:
        """Define a managed folder and return the directory to fill."""
        self.folders.add(full_name(name))
        path = self.platform.folder_path(name)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def add_model(self, name: str, estimator, activate: bool = True, **details) -> str:
        """Define a saved model (if new), train a version from a fitted estimator; returns its id.

        Ids are opaque in DSS (nothing public says their form): the first version here is
        ``initial`` and later ones are their train time in milliseconds, so sorting ids as text
        puts the first version last. ``activate=False`` keeps the active version, as a retrain
        whose new version is not activated does. ``details``: ``ModelVersion``'s algorithm,
        partitioned, script_steps.
        """
        import pickle

        return self.add_pickled_model(name, pickle.dumps(estimator), activate, **details)

    def add_pickled_model(self, name: str, pickled: bytes, activate: bool = True, **details) -> str:
        """A version from a model pickled elsewhere (another scikit-learn, another process)."""
        self.models.add(full_name(name))
        saved = self.saved_models.setdefault(name, SavedModel())
        train_date = 1_700_000_000_000 + 3_600_000 * len(saved.versions)
        version_id = str(train_date) if saved.versions else "initial"
        folder = self.root / "saved_models" / name / "versions" / version_id
        folder.mkdir(parents=True)
        (folder / "clf.pkl").write_bytes(pickled)
        saved.versions.append(ModelVersion(version_id, train_date, str(folder), **details))
        if activate or saved.active is None:
            saved.active = version_id
        return version_id

    def add_preset(self, parameter_set: str, name: str, **values) -> dict:
        """An admin's preset of one of the plugin's parameter sets; returns the choice of it for a config."""
        path = PLUGIN_ROOT / "parameter-sets" / parameter_set / "parameter-set.json"
        declared = {p["name"] for p in json.loads(path.read_text())["params"] if p.get("type") != "SEPARATOR"}
        if not set(values) <= declared:
            raise DescriptorError(f"Parameter set '{parameter_set}' has no params {sorted(set(values) - declared)}.")
        self.presets.setdefault(parameter_set, {})[name] = values
        return preset_choice(name)

    def shared_journal(self, url: str) -> dict:
        """The choice, for a webapp's ``journal`` param, of an admin's preset holding ``url``."""
        return self.add_preset("shared-journal", "team", url=url)

    def add_embedding_llm(self, llm_id: str, model_folder: str) -> None:
        """An LLM Mesh embedding model, answered by a local sentence-transformers model."""
        self.embedding_llms[llm_id] = str(model_folder)

    def add_completion_llm(self, llm_id: str, truth: dict, accuracy: dict, **behaviour) -> CompletionLLM:
        """An LLM Mesh completion model answering with a known accuracy per category (``CompletionLLM``)."""
        self.completion_llms[llm_id] = CompletionLLM(dict(truth), dict(accuracy), **behaviour)
        return self.completion_llms[llm_id]

    def complete(self, llm_id: str, messages: list, settings: dict) -> dict:
        """The raw reply DSS sends for one completion: ``{ok, text}`` or ``{ok: false, errorMessage}``."""
        llm = self.completion_llms[llm_id]
        with self._completing:
            llm.calls += 1
            llm.requests.append({"messages": [dict(m) for m in messages], "settings": copy.deepcopy(settings)})
            call = llm.calls
        time.sleep(llm.latency)
        if call <= llm.fail_first or (llm.fail_every and call % llm.fail_every == 0) or 0 < llm.fail_after < call:
            return {"ok": False, "errorMessage": "The LLM provider answered: rate limit reached, retry later"}
        text = messages[-1]["content"]
        truth = llm.truth.get(text)
        draw = np.random.default_rng(zlib.crc32(text.encode("utf-8"))).random(2)
        if truth is None or draw[0] < llm.garbled:
            return {"ok": True, "text": "I think it is probably the first one."}
        others = [key for key in llm.accuracy if key != truth]
        answer = truth if draw[1] < llm.accuracy.get(truth, 0.0) or not others else others[int(draw[0] * len(others))]
        return {"ok": True, "text": json.dumps({"category": answer})}

    def embed(self, llm_id: str, texts: list):
        from labelloop.learning.embedding_model import Encoder

        if llm_id not in self._encoders:
            self._encoders[llm_id] = Encoder(self.embedding_llms[llm_id])
        return self._encoders[llm_id].encode(texts)

    def snapshot(self) -> dict:
        """What another process needs to open the same instance (``FakeDSS.restore``)."""
        return {"root": str(self.root), "version": ".".join(map(str, self.version)),
                "datasets": sorted(self.datasets), "folders": sorted(self.folders),
                "models": sorted(self.models), "sessions": self.sessions, "embedding_llms": self.embedding_llms,
                "completion_llms": {name: {**vars(llm), "requests": []} for name, llm in self.completion_llms.items()},
                "presets": self.presets,
                "saved_models": {name: {"active": saved.active, "versions": [vars(v) for v in saved.versions]}
                                 for name, saved in self.saved_models.items()}}

    @classmethod
    def restore(cls, state: dict) -> FakeDSS:
        dss = cls(state["root"], state["version"])
        dss.datasets, dss.folders, dss.models = set(state["datasets"]), set(state["folders"]), set(state["models"])
        dss.sessions = dict(state["sessions"])
        dss.embedding_llms = dict(state.get("embedding_llms", {}))
        dss.completion_llms = {name: CompletionLLM(**llm) for name, llm in state.get("completion_llms", {}).items()}
        dss.presets = dict(state.get("presets", {}))
        dss.saved_models = {name: SavedModel([ModelVersion(**v) for v in saved["versions"]], saved["active"])
                            for name, saved in state["saved_models"].items()}
        for name in dss.datasets:
            dss.platform_of(name.split(".", 1)[0])
        return dss

    def read_as_dss(self, name: str):
        """A dataset as the plugin's code reads it in DSS (a TSV dump parsed with the schema's types).

        Ids of hashed rows come from this: with pandas 2's float parser a value can come back one
        unit in the last place off, so ids computed from the original frame may differ.
        """
        load_fake_dataiku()
        from labelloop.dss.platform import DSSPlatform

        instance_module = sys.modules["dataiku._instance"]
        previous, instance_module.INSTANCE = instance_module.INSTANCE, self
        try:
            return DSSPlatform().read_dataset(name)
        finally:
            instance_module.INSTANCE = previous

    def login(self, user: str, groups=()) -> dict:
        """Browser headers carrying a DSS session of ``user``, a member of ``groups``."""
        token = secrets.token_hex(8)
        self.sessions[token] = [user, list(groups)]
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
        kind, descriptor = read_descriptor(entry_dir)
        check_descriptor(kind, descriptor)
        check_params(descriptor, config)
        if kind == "recipe":
            check_roles(descriptor, "input", inputs or {})
            check_roles(descriptor, "output", outputs or {})
            self._check_columns(descriptor, config, inputs or {})
        delivered = as_delivered(descriptor, resolve_presets(descriptor, config, self.presets))
        context = Context(kind, descriptor, delivered, dict(inputs or {}), dict(outputs or {}), stored=copy.deepcopy(config))
        if kind == "webapp" and init_globals and "app" in init_globals:
            self._apps.append(init_globals["app"])
        load_fake_dataiku()
        instance_module = sys.modules["dataiku._instance"]
        instance_module.INSTANCE, self.context = self, context
        try:
            # A webapp backend's code runs as the main module too. DSS's launcher,
            # dataiku.webapps.backend, exec's it in its own globals (``exec(command["code"], globals(),
            # globals())``) and is run as the program (its server starts under ``if __name__ ==
            # "__main__"``): DSS 9.0.5 source, badribaindla/dataiku-soft,
            # dataiku-dss-9.0.5/python/dataiku/webapps/backend.py. A child spawned by multiprocessing
            # re-imports the launcher, which starts nothing then; what the child runs must come from
            # python-lib, never from backend.py (BackendProcess runs backends that way: ``-m``).
            with spark_recipe(descriptor):
                runpy.run_path(str(entry_dir / ENTRY_FILES[kind]), init_globals=init_globals, run_name="__main__")
        finally:
            if kind != "webapp":
                instance_module.INSTANCE, self.context = None, None
        return context

    def _check_columns(self, descriptor: dict, config: dict, inputs: dict) -> None:
        """A recipe's COLUMN param holds a column of its ``columnRole``'s first dataset, as DSS's form
        offers (docs source, plugins/reference/params.rst: "if the given role is multi-dataset, only
        the columns from the first dataset will be displayed"); a folder has none to offer."""
        for param in descriptor.get("params", []):
            value = config.get(param["name"])
            if param.get("type") != "COLUMN" or value in (None, ""):
                continue
            names = inputs.get(param["columnRole"]) or []
            project, short = full_name(names[0]).split(".", 1) if names else (None, None)
            storage = self.platform_of(project) if project else None
            columns = [str(c) for c in storage.read_dataset(short).columns] \
                if storage is not None and storage.dataset_exists(short) else []
            if value not in columns:
                raise DescriptorError(f"Param '{param['name']}' (COLUMN) cannot be {value!r}: the "
                                      f"'{param['columnRole']}' input offers {columns}.")

    def stop(self) -> None:
        """End a webapp's context (its backend ran inside it while serving).

        The backends are stopped first (their datasets flushed), while this instance is still
        current: a writer left running would write its datasets into the next test's instance.
        What a backend's process takes with it when it ends goes too: its exit hook and its
        SIGTERM handler, which would otherwise hold every test's webapp, and its data, to the
        end of the run."""
        for app in self._apps:
            if "labelloop" in app.extensions:
                app.extensions["labelloop"].stop()
                atexit.unregister(app.extensions["labelloop"].stop)
        self._apps.clear()
        if self._sigterm is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._sigterm)
        if "dataiku._instance" in sys.modules:
            sys.modules["dataiku._instance"].INSTANCE = None
        self.context = None
