"""The DSS adapter, run inside the fake DSS through unchanged entry files.

The entry files here are small but real DSS entry points (descriptor + code); the plugin's own
recipe, webapps, trigger and step are run the same way by their own tests.
"""
from __future__ import annotations

import json
import textwrap

import flask
import pandas as pd
import pytest
from fake_dataiku.harness import DescriptorError
from sklearn.linear_model import LinearRegression, LogisticRegression

from labelloop.errors import LabelloopError, Unauthorized
from labelloop.store.sessions import current_session

RECIPE_JSON = {
    "meta": {"label": "copy"},
    "kind": "PYTHON",
    "inputRoles": [
        {"name": "input", "arity": "UNARY", "required": True, "acceptsDataset": True},
        {"name": "extra", "arity": "NARY", "required": False, "acceptsDataset": True},
        {"name": "images", "arity": "UNARY", "required": False, "acceptsManagedFolder": True, "acceptsDataset": False},
        {"name": "model", "arity": "UNARY", "required": False, "acceptsSavedModel": True, "acceptsDataset": False},
    ],
    "outputRoles": [{"name": "output", "arity": "UNARY", "required": True, "acceptsDataset": True}],
    "params": [
        {"name": "suffix", "type": "STRING"},
        {"name": "mapping", "type": "KEY_VALUE_LIST"},
        {"name": "strategy", "type": "SELECT", "selectChoices": [{"value": "margin"}, {"value": "entropy"}]},
        {"name": "touch", "type": "STRING"},
    ],
}

RECIPE_PY = """
import dataiku
from dataiku.customrecipe import get_input_names_for_role, get_output_names_for_role, get_recipe_config
from labelloop.dss.platform import DSSPlatform
from labelloop.store.sessions import next_session

config = get_recipe_config()
platform = DSSPlatform()
frame = platform.read_dataset(get_input_names_for_role("input")[0])
frame["suffix"] = config.get("suffix", "unset")
frame["extras"] = len(get_input_names_for_role("extra"))
frame["mapped"] = json.dumps(config.get("mapping", []))
folders = get_input_names_for_role("images")
frame["files"] = ",".join(platform.list_folder(folders[0])) if folders else ""
if folders:
    with platform.open_folder_file(folders[0], "/a.png") as stream:
        frame["first_bytes"] = stream.read().decode()
models = get_input_names_for_role("model")
if models:
    probabilities = platform.model_probabilities(models[0], frame[["f"]])
    frame["top"] = [probabilities.classes[i] for i in probabilities.matrix.argmax(axis=1)]
    frame["model_version"] = probabilities.model_version
if "touch" in config:
    dataiku.Dataset(config["touch"]).get_dataframe()
output = get_output_names_for_role("output")[0]
platform.write_dataset(output, frame)
next_session(platform, output)
"""


def make_entry(path, descriptor_name, descriptor, code_name, code):
    path.mkdir(parents=True)
    (path / descriptor_name).write_text(json.dumps(descriptor))
    (path / code_name).write_text("import json\n" + textwrap.dedent(code))
    return path


@pytest.fixture
def recipe(tmp_path):
    return make_entry(tmp_path / "copy-recipe", "recipe.json", RECIPE_JSON, "recipe.py", RECIPE_PY)


@pytest.fixture
def flow(dss):
    dss.add_dataset("rows", pd.DataFrame({"f": [0.0, 1.0, 2.0, 3.0]}))
    dss.add_dataset("out")
    dss.add_dataset("secret", pd.DataFrame({"x": [1]}))
    return dss


def test_a_recipe_reads_its_input_writes_its_output_and_moves_the_session(flow, recipe):
    flow.run(recipe, {"suffix": "s", "mapping": [{"from": "a", "to": "A"}]}, inputs={"input": ["rows"]},
             outputs={"output": ["out"]})
    out = flow.platform.read_dataset("out")
    assert out["suffix"].tolist() == ["s"] * 4
    assert out["extras"].tolist() == [0] * 4  # optional role not set: []
    assert json.loads(out["mapped"][0]) == [{"from": "a", "to": "A"}]
    assert current_session(flow.platform, "out") == 1
    flow.run(recipe, {}, inputs={"input": ["rows"]}, outputs={"output": ["out"]})
    assert flow.platform.read_dataset("out")["suffix"].tolist() == ["unset"] * 4  # unset params are absent
    assert current_session(flow.platform, "out") == 2


def test_a_recipe_cannot_use_a_dataset_it_did_not_declare(flow, recipe):
    with pytest.raises(Exception, match="declare it as input or output"):
        flow.run(recipe, {"touch": "secret"}, inputs={"input": ["rows"]}, outputs={"output": ["out"]})


def test_a_recipe_cannot_read_its_output(flow, recipe):
    flow.platform.write_dataset("out", pd.DataFrame({"f": [1.0]}))
    with pytest.raises(Exception, match="You cannot read dataset PROJ.out, it is not declared as an input"):
        flow.run(recipe, {"touch": "out"}, inputs={"input": ["rows"]}, outputs={"output": ["out"]})


def test_configs_and_roles_that_dss_would_refuse_are_refused(flow, recipe):
    cases = [
        ({"nope": 1}, {"input": ["rows"]}, {"output": ["out"]}, "not in the descriptor"),
        ({"mapping": {"a": "A"}}, {"input": ["rows"]}, {"output": ["out"]}, "KEY_VALUE_LIST"),
        ({"mapping": [{"key": "a"}]}, {"input": ["rows"]}, {"output": ["out"]}, "KEY_VALUE_LIST"),
        ({"strategy": "chaos"}, {"input": ["rows"]}, {"output": ["out"]}, "choices"),
        ({}, {}, {"output": ["out"]}, "'input' is required"),
        ({}, {"input": ["rows", "secret"]}, {"output": ["out"]}, "takes one item"),
        ({}, {"input": ["rows"], "bogus": ["x"]}, {"output": ["out"]}, "not in the descriptor"),
    ]
    for config, inputs, outputs, message in cases:
        with pytest.raises(DescriptorError, match=message):
            flow.run(recipe, config, inputs=inputs, outputs=outputs)


def test_folders_list_dss_paths_and_models_give_probabilities(flow, recipe):
    folder = flow.add_folder("pics")
    (folder / "a.png").write_bytes(b"PNG!")
    (folder / "sub").mkdir()
    (folder / "sub" / "b.png").write_bytes(b"b")
    features = pd.DataFrame({"f": [0.0, 1.0, 2.0, 3.0]})
    version = flow.add_model("clf", LogisticRegression().fit(features, ["low", "low", "high", "high"]))
    flow.run(recipe, {}, inputs={"input": ["rows"], "images": ["pics"], "model": ["clf"]}, outputs={"output": ["out"]})
    out = flow.platform.read_dataset("out")
    assert out["files"][0] == "/a.png,/sub/b.png"
    assert out["first_bytes"][0] == "PNG!"
    assert out["top"].tolist() == ["low", "low", "high", "high"]
    assert out["model_version"].tolist() == [version] * 4


def test_a_regression_model_is_refused_with_a_clear_error(flow, recipe):
    flow.add_model("reg", LinearRegression().fit(pd.DataFrame({"f": [0.0, 1.0]}), [0.0, 1.0]))
    with pytest.raises(LabelloopError, match="no class probabilities"):
        flow.run(recipe, {}, inputs={"input": ["rows"], "model": ["reg"]}, outputs={"output": ["out"]})


WEBAPP_PY = """
from flask import jsonify, request
from dataiku.customwebapp import get_webapp_config
from labelloop.dss.platform import DSSPlatform

config = get_webapp_config()
platform = DSSPlatform()

@app.route("/whoami")
def whoami():
    return jsonify(user=platform.user(request.headers), rows=len(platform.read_dataset(config["unlabeled"])))
"""


def test_a_webapp_backend_runs_with_the_prebound_app_and_identifies_dss_users(flow, tmp_path):
    webapp = make_entry(tmp_path / "webapp", "webapp.json",
                        {"meta": {"label": "w"}, "baseType": "STANDARD", "hasBackend": "true",
                         "params": [{"name": "unlabeled", "type": "DATASET"}]},
                        "backend.py", WEBAPP_PY)
    app = flask.Flask("backend")
    app.testing = True  # let the fake's authentication failure surface as the exception DSS raises
    flow.run(webapp, {"unlabeled": "rows"}, init_globals={"app": app})
    client = app.test_client(use_cookies=False)  # send the browser's Cookie header as is
    answer = client.get("/whoami", headers=flow.login("alice"))
    assert answer.get_json() == {"user": "alice", "rows": 4}
    with pytest.raises(Unauthorized, match="Sign in to DSS"):
        client.get("/whoami", headers={"Cookie": "dss_session=forged"})


TRIGGER_PY = """
from dataiku.customtrigger import get_trigger_config
from dataiku.scenario import Trigger
from labelloop.dss.platform import DSSPlatform

config = get_trigger_config()
if len(DSSPlatform().read_dataset(config["metadata"])) >= config.get("n", 10):
    Trigger().fire()
"""


def test_a_trigger_fires_through_the_scenario_api(flow, tmp_path):
    trigger = make_entry(tmp_path / "trigger", "trigger.json",
                         {"meta": {"label": "t"}, "params": [{"name": "metadata", "type": "DATASET"},
                                                             {"name": "n", "type": "INT"}]},
                         "trigger.py", TRIGGER_PY)
    assert flow.run(trigger, {"metadata": "rows", "n": 4}).fired == 1
    assert flow.run(trigger, {"metadata": "rows", "n": 5}).fired == 0
    with pytest.raises(DescriptorError, match="INT"):
        flow.run(trigger, {"metadata": "rows", "n": "4"})


STEP_PY = """
from dataiku.customstep import get_step_config
from labelloop.dss.platform import DSSPlatform

config = get_step_config()
platform = DSSPlatform()
platform.update_variables(lambda v: v.update(step_saw=platform.get_variables().get("seed", 0) + 1))
"""


def test_a_step_updates_project_variables_keeping_the_others(flow, tmp_path):
    step = make_entry(tmp_path / "step", "step.json", {"meta": {"label": "s"}, "params": []}, "step.py", STEP_PY)
    flow.platform.update_variables(lambda v: v.update(seed=41))
    flow.run(step, {})
    assert flow.platform.get_variables() == {"seed": 41, "step_saw": 42}


def test_the_fake_delivers_params_and_checks_descriptors_as_dss_does(flow, tmp_path):
    trigger = make_entry(tmp_path / "trigger", "trigger.json",
                         {"meta": {"label": "t"}, "params": [{"name": "metadata", "type": "DATASET"},
                                                             {"name": "n", "type": "INT"}]},
                         "trigger.py", "from dataiku.customtrigger import get_trigger_config\n"
                                       "assert get_trigger_config()['n'] == 4.0\n"
                                       "assert isinstance(get_trigger_config()['n'], float)\n")
    flow.run(trigger, {"metadata": "rows", "n": 4})  # an INT param arrives as a float
    column = {"name": "c", "type": "COLUMN", "columnRole": "input"}
    dataset_column = {"name": "c", "type": "DATASET_COLUMN", "datasetParamName": "d"}
    webapp = {"meta": {"label": "w"}, "baseType": "STANDARD", "hasBackend": "true",
              "params": [{"name": "d", "type": "DATASET"}, column]}
    with pytest.raises(DescriptorError, match="a webapp cannot take a COLUMN param"):
        flow.run(make_entry(tmp_path / "webapp", "webapp.json", webapp, "backend.py", ""), {})
    recipe = {**RECIPE_JSON, "params": [dataset_column]}
    with pytest.raises(DescriptorError, match="a recipe cannot take a DATASET_COLUMN param"):
        flow.run(make_entry(tmp_path / "recipe", "recipe.json", recipe, "recipe.py", ""), {},
                 inputs={"input": ["rows"]}, outputs={"output": ["out"]})
    unlinked = {**webapp, "params": [{"name": "c", "type": "DATASET_COLUMN"}]}
    with pytest.raises(DescriptorError, match="needs 'datasetParamName'"):
        flow.run(make_entry(tmp_path / "unlinked", "webapp.json", unlinked, "backend.py", ""), {})
    chat = {**webapp, "params": [{"name": "llm", "type": "LLM", "llmUsagePurpose": "CHAT_COMPLETION"}]}
    with pytest.raises(DescriptorError, match="unknown llmUsagePurpose 'CHAT_COMPLETION'"):
        flow.run(make_entry(tmp_path / "chat", "webapp.json", chat, "backend.py", ""), {})
    optional = {**RECIPE_JSON, "inputRoles": [{"name": "input", "arity": "UNARY", "acceptsDataset": True}],
                "params": []}
    flow.run(make_entry(tmp_path / "optional", "recipe.json", optional, "recipe.py", ""), {},
             outputs={"output": ["out"]})  # a role without "required" is optional


def test_outside_an_entry_point_the_fake_refuses_to_work(dss):
    from fake_dataiku.harness import load_fake_dataiku

    dataiku = load_fake_dataiku()
    with pytest.raises(Exception, match="No DSS instance"):
        dataiku.Dataset("rows")


def test_mesh_completions_follow_dataikuapi_of_each_version(dss_any):
    dss_any.add_completion_llm("openai:gpt", {"refund now": "complaint"}, {"complaint": 1.0, "praise": 1.0}, fail_every=2)
    project = dss_any.client.get_default_project()

    def ask(llm_id="openai:gpt"):
        return project.get_llm(llm_id).new_completion().with_message("Sort it.", role="system").with_message("refund now")

    query = ask()
    assert hasattr(query, "with_json_output") == (dss_any.version >= (13, 2, 0))  # dataikuapi 13.2.0
    answered = query.execute()
    assert answered.success and json.loads(answered.text) == {"category": "complaint"}
    failed = ask().execute()  # the second completion fails
    assert not failed.success
    if dss_any.version >= (13, 3, 1):  # a failed reply's text raises its errorMessage
        with pytest.raises(Exception, match="rate limit"):
            failed.text  # noqa: B018 - reading the property is the call
    else:
        with pytest.raises(KeyError):
            failed.text  # noqa: B018
    with pytest.raises(Exception, match="LLM not found: nope"):
        ask("nope").execute()
    with pytest.raises(ValueError):
        ask().with_message("x", role="tool")
