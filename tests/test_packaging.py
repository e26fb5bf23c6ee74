"""Packaging: dependencies, versions, descriptors and the plugin archive DSS installs."""
from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib

import labelloop
from labelloop.standalone.plugin_archive import PLUGIN_FOLDERS, build_plugin

ROOT = Path(__file__).resolve().parents[1]
DESCRIPTORS = {"recipe.json": "recipe.py", "webapp.json": "backend.py", "trigger.json": "trigger.py", "step.json": "step.py"}
CONFIG_CALLS = {"get_recipe_config", "get_webapp_config", "get_trigger_config", "get_step_config"}
ROLE_CALLS = {"get_input_names_for_role": "inputRoles", "get_output_names_for_role": "outputRoles"}


def _requirements(lines) -> list:
    return [Requirement(line.split("#")[0]) for line in lines if line.split("#")[0].strip()]


CODE_ENV = ROOT / "code-env/python"
PROVIDED_BY_DSS = {"pandas", "numpy", "dataiku-api-client"}  # core packages, and dataikuapi comes with DSS
STANDALONE_ONLY = {"waitress"}  # labelloop serve's HTTP server: DSS serves webapps itself


def test_the_code_env_pins_scikit_learn_and_scipy_for_each_python_and_leaves_core_packages_to_dss():
    """A saved model loads only next to a scikit-learn close to the one that trained it."""
    env = json.loads((CODE_ENV / "desc.json").read_text())
    assert env["corePackagesSet"] == "AUTO" and env["installCorePackages"] is True
    requirements = _requirements((CODE_ENV / "spec/requirements.txt").read_text().splitlines())
    assert not {"pandas", "dataiku-api-client"} & {r.name.lower() for r in requirements}
    numpy = [r for r in requirements if r.name.lower() == "numpy"]  # only bounded, DSS installs it
    assert all(s.operator == "<" for r in numpy for s in r.specifier)
    for interpreter in env["acceptedPythonInterpreters"]:
        python = f"3.{interpreter[len('PYTHON3'):]}"
        active = [r for r in requirements if r.marker is None or r.marker.evaluate({"python_version": python})]
        for name in ("scikit-learn", "scipy"):
            pins = [r for r in active if r.name.lower() == name]
            assert len(pins) == 1, f"{name} on Python {python}"
            assert any(spec.operator in ("<", "<=", "==") for spec in pins[0].specifier), f"{name} on Python {python}"


def test_the_package_needs_the_code_env_s_packages_and_those_dss_provides():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    standalone = {r.name.lower() for r in _requirements(pyproject["project"]["dependencies"])}
    plugin = {r.name.lower() for r in _requirements((CODE_ENV / "spec/requirements.txt").read_text().splitlines())}
    assert standalone == plugin | PROVIDED_BY_DSS | STANDALONE_ONLY


def test_the_webapps_keep_secrets_and_created_datasets_as_dss_expects():
    """As Dataiku's own labeling webapps (dss-plugin-ml-assisted-labeling, webapps/*/webapp.json)."""
    for path in ROOT.glob("webapps/*/webapp.json"):
        descriptor = json.loads(path.read_text())
        assert descriptor["noJSSecurity"] == "true", path  # the page reads no dataset from JavaScript
        params = {p["name"]: p for p in descriptor["params"]}
        # the journal's URL may hold a password: a plugin-level preset, never the webapp's own settings
        assert params["journal"]["type"] == "PRESET" and params["journal"]["parameterSetId"] == "shared-journal", path
        assert not [p for p in params.values() if p["type"] == "PASSWORD"], path
        created = [p for p in params.values() if p.get("canCreateDataset")]
        assert created and all(p.get("markCreatedAsBuilt") for p in created), path


def test_versions_agree_and_the_plugin_descriptor_is_complete():
    plugin = json.loads((ROOT / "plugin.json").read_text())
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert plugin["id"] == "labelloop"
    assert re.fullmatch(r"\d+\.\d+\.\d+", plugin["version"])
    assert plugin["version"] == pyproject["project"]["version"] == labelloop.__version__
    assert all(plugin["meta"].get(k) for k in ("label", "description", "icon", "tags"))
    env = json.loads((ROOT / "code-env/python/desc.json").read_text())
    assert env["acceptedPythonInterpreters"] == ["PYTHON39", "PYTHON310", "PYTHON311", "PYTHON312"]
    assert "Apache License" in (ROOT / "LICENSE.md").read_text() and "Version 2.0" in (ROOT / "LICENSE.md").read_text()


def descriptor_problems(descriptor: dict, code: str) -> list:
    """What an entry file reads that its descriptor does not declare.

    Entry files read their params explicitly (``config["x"]``, ``config.get("x")``, ``"x" in
    config``) from the dict that ``get_*_config()`` returns, and their roles by literal name, so
    this reading of the code sees everything they use.
    """
    params = {p["name"] for p in descriptor.get("params", [])}
    tree = ast.parse(code)
    configs = {
        target.id
        for node in ast.walk(tree) if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
        and getattr(node.value.func, "id", getattr(node.value.func, "attr", None)) in CONFIG_CALLS
        for target in node.targets if isinstance(target, ast.Name)
    }
    problems = []
    for node in ast.walk(tree):
        name = None
        if isinstance(node, ast.Subscript) and getattr(node.value, "id", None) in configs:
            name = getattr(node.slice, "value", None)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr == "get" and getattr(node.func.value, "id", None) in configs and node.args:
                name = getattr(node.args[0], "value", None)
        elif isinstance(node, ast.Compare) and any(getattr(c, "id", None) in configs for c in node.comparators):
            name = getattr(node.left, "value", None)
        if isinstance(name, str) and name not in params:
            problems.append(f"param '{name}'")
        if isinstance(node, ast.Call):
            func = getattr(node.func, "id", getattr(node.func, "attr", None))
            if func in ROLE_CALLS:
                roles = {r["name"] for r in descriptor.get(ROLE_CALLS[func], [])}
                role = getattr(node.args[0], "value", None) if node.args else None
                if role not in roles:
                    problems.append(f"role '{role}'")
    return problems


def entry_code(code: str, read) -> str:
    """An entry file's code and that of the ``labelloop.dss`` modules it calls, where it reads its
    params and roles (``read`` gives a file of the plugin by its path in the archive)."""
    called = [node.module for node in ast.walk(ast.parse(code))
              if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("labelloop.dss.")]
    return "\n".join([code, *(read("python-lib/" + module.replace(".", "/") + ".py") for module in called)])


def test_the_descriptor_check_finds_params_and_roles_the_code_reads_but_does_not_declare():
    descriptor = {"params": [{"name": "n", "type": "INT"}], "inputRoles": [{"name": "input"}], "outputRoles": []}
    code = (
        "from dataiku.customrecipe import *\n"
        "config = get_recipe_config()\n"
        "n = config['n']\nm = config.get('m', 3)\nif 'k' in config: pass\n"
        "get_input_names_for_role('input')\nget_output_names_for_role('queries')\n"
    )
    assert sorted(descriptor_problems(descriptor, code)) == ["param 'k'", "param 'm'", "role 'queries'"]
    good = "config = get_recipe_config()\nconfig['n']\nget_input_names_for_role('input')\n"
    assert descriptor_problems(descriptor, good) == []


def test_the_plugin_archive_holds_exactly_the_plugin_and_every_descriptor_fits_its_code(tmp_path):
    labelloop_script = Path(sys.executable).parent / "labelloop"
    out = subprocess.run([str(labelloop_script), "plugin", "--out", str(tmp_path)], capture_output=True, text=True, check=True)
    archive = Path(out.stdout.strip())
    assert archive == tmp_path / f"labelloop-{labelloop.__version__}.zip"
    with zipfile.ZipFile(archive) as zf:
        files = set(zf.namelist())  # at the root, as Dataiku's plugin Makefiles build theirs
        assert {"plugin.json", "LICENSE.md", "code-env/python/desc.json", "code-env/python/spec/requirements.txt",
                "python-lib/labelloop/__init__.py", "python-lib/labelloop/dss/platform.py",
                "parameter-sets/shared-journal/parameter-set.json"} <= files
        assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc") or ".egg-info" in f]
        assert all(f.split("/")[0] in PLUGIN_FOLDERS or f in ("plugin.json", "LICENSE.md") for f in files)
        assert not [f for f in files if f.startswith(("tests/", "bench/", ".ci/"))]
        descriptors = [f for f in files if f.rsplit("/", 1)[-1] in DESCRIPTORS]
        expected = {str(p.relative_to(ROOT)) for name in DESCRIPTORS for p in ROOT.glob(f"*/*/{name}")}
        assert set(descriptors) == expected
        for descriptor_path in descriptors:
            descriptor = json.loads(zf.read(descriptor_path))
            assert descriptor.get("meta", {}).get("label"), descriptor_path
            entry = descriptor_path.rsplit("/", 1)[0] + "/" + DESCRIPTORS[descriptor_path.rsplit("/", 1)[-1]]
            assert entry in files, f"{descriptor_path} has no {entry}"
            code = entry_code(zf.read(entry).decode(), lambda path: zf.read(path).decode())
            assert descriptor_problems(descriptor, code) == [], entry
        json.loads(zf.read("plugin.json"))


def test_building_the_archive_twice_gives_the_same_files(tmp_path):
    first = build_plugin(out_dir=tmp_path / "a")
    second = build_plugin(out_dir=tmp_path / "b")
    with zipfile.ZipFile(first) as a, zipfile.ZipFile(second) as b:
        assert sorted(a.namelist()) == sorted(b.namelist())
        assert all(a.read(n) == b.read(n) for n in a.namelist())


CORE_MODULES = ["labelloop.store.items", "labelloop.store.journal", "labelloop.standalone.project",
                "labelloop.standalone.cli", "labelloop.dss.platform", "labelloop.dss.webapp_backend",
                "labelloop.dss.sampler_recipe", "labelloop.dss.spark_sampler_recipe",
                "labelloop.dss.rules_recipe", "labelloop.dss.trigger", "labelloop.dss.metrics_step"]


@pytest.fixture(scope="module")
def imported_dataiku(tmp_path_factory) -> dict:
    """For each core module, whether ``dataiku`` was imported once it was, in one fresh Python that
    imports them in turn: what an earlier module imported is itself free of ``dataiku``, so each
    answer is the one a process of its own would give. It stops at the first that imports it."""
    code = ("import importlib, sys\n"
            f"for name in {CORE_MODULES!r}:\n"
            "    importlib.import_module(name)\n"
            "    print('imported', name, 'dataiku' in sys.modules, flush=True)\n"
            "    if 'dataiku' in sys.modules: break\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path_factory.mktemp("core"))
    assert run.returncode == 0, run.stderr
    lines = [line.split() for line in run.stdout.splitlines() if line.startswith("imported ")]
    return {name: loaded == "True" for _, name, loaded in lines}


@pytest.mark.parametrize("module", CORE_MODULES)
def test_the_core_imports_without_dss(module, imported_dataiku):
    assert module in imported_dataiku, f"not imported: a module before it imported dataiku ({imported_dataiku})"
    assert imported_dataiku[module] is False
