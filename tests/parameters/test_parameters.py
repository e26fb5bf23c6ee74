"""The parameter tables (labelloop.parameters.tables) against the descriptors and the CLI, and the
invalid values each declared parameter must refuse, generated from the tables.

Each invalid value is refused with one sentence, no traceback: by the table itself (any caller),
by the real entry file run in the fake DSS (the values DSS can deliver: numbers out of bounds),
and by ``labelloop`` on the command line (the values argparse lets through).
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pandas as pd
import pytest
from flask import Flask
from paths import ROOT

from labelloop.errors import LabelloopError
from labelloop.parameters.declared import VALUE_TYPES
from labelloop.parameters.tables import TABLES
from labelloop.standalone.cli import main, parser

BOUND_KEYS = {"INT": ("minI", "maxI"), "DOUBLE": ("minD", "maxD")}  # DSS params reference (shared/reference/dss-api.md)


def declared(table) -> dict:
    return {param["name"]: param for param in json.loads((ROOT / table.descriptor).read_text())["params"]
            if param["type"] != "SEPARATOR"}


def cases(kind: str) -> list:
    """(table, param, value) for every invalid value of every param, as pytest params."""
    return list(_cases(kind))


def _cases(kind: str):
    tried = set()  # tables share CLI options (the four webapps, both samplers): each once
    for table in TABLES:
        for param in table:
            for value in param.invalid_values():
                if kind == "dss" and not dss_delivers(param, value):
                    continue
                if kind == "cli" and (not (param.cli and cli_delivers(param, value)) or (param.cli, repr(value)) in tried):
                    continue
                tried.add((param.cli, repr(value)))
                yield pytest.param(table, param, value, id=f"{table.descriptor.split('/')[1]}-{param.name}-{value!r}")


def dss_delivers(param, value) -> bool:
    """DSS's form sends a number for INT and DOUBLE params (an INT as a float, maybe): the fake DSS
    refuses the rest before the code runs, as DSS's form would."""
    if param.type not in ("INT", "DOUBLE") or isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value):
        return False
    return param.type == "DOUBLE" or float(value).is_integer()


def cli_delivers(param, value) -> bool:
    """argparse's ``type=int`` takes digits only; ``type=float`` takes any float, nan and inf too."""
    if param.type not in ("INT", "DOUBLE") or isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return param.type == "DOUBLE" or isinstance(value, int)


def one_sentence(text: str, name: str) -> None:
    assert "Traceback" not in text and "\n" not in text.strip(), text
    assert text.strip().endswith(".") and name in text, text


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.descriptor)
def test_each_table_declares_what_its_descriptor_declares(table):
    params = declared(table)
    assert sorted(params) == sorted(table.names)
    for param in table:
        given = params[param.name]
        assert given["type"] == param.type, param.name
        assert given.get("defaultValue") == param.default, param.name
        assert bool(given.get("mandatory")) == param.mandatory, param.name
        assert {c["value"] for c in given.get("selectChoices", [])} == set(param.choices), param.name
        low, high = BOUND_KEYS.get(param.type, (None, None))
        if param.type == "DOUBLE":  # minD/maxD are documented: the form shows the table's bounds
            assert (given.get(low), given.get(high)) == (param.low, param.high), param.name
        elif param.type == "INT":  # minI/maxI are not confirmed in DSS's docs: if given, they agree
            assert given.get(low, param.low) == param.low and given.get(high, param.high) == param.high, param.name
        if param.type in ("INT", "DOUBLE"):
            assert param.low is not None, param.name


def cli_options() -> dict:
    """``{(command, flag): argparse action}`` of every subcommand."""
    found = {}
    for action in parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command, sub in action.choices.items():
                found.update({(command, flag): option for option in sub._actions for flag in option.option_strings})
    return found


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.descriptor)
def test_the_cli_takes_a_tables_parameter_with_the_same_default_choices_and_type(table):
    options = cli_options()
    for param in (p for p in table if p.cli):
        option = options[param.cli]
        assert option.default == param.default, param.name
        assert set(option.choices or ()) == set(param.choices), param.name
        if param.type == "BOOLEAN":
            assert isinstance(option, argparse._StoreTrueAction), param.name
        else:
            assert option.type == {"INT": int, "DOUBLE": float}.get(param.type), param.name


def test_every_cli_option_named_in_a_table_exists_and_a_table_covers_the_sampler_and_init():
    named = {param.cli for table in TABLES for param in table if param.cli}
    assert named <= set(cli_options())
    assert {"--max-queries", "--random-share", "--chunk-size", "--rules-bonus", "--overlap-share",
            "--overlap-annotators"} <= {flag for _, flag in named}


@pytest.mark.parametrize("table, param, value", cases("table"))
def test_a_table_refuses_an_invalid_value_in_one_sentence(table, param, value):
    with pytest.raises(LabelloopError) as refused:
        table.read({param.name: value})
    one_sentence(str(refused.value), param.name)


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.descriptor)
def test_a_table_fills_the_defaults_and_takes_an_int_param_given_as_a_whole_float(table):
    values = table.read({})
    assert {name: values[name] for name in table.names} == {p.name: p.default for p in table}
    for param in (p for p in table if p.type == "INT"):
        given = float(param.low + 1)
        checked = table.read({param.name: given})[param.name]
        assert checked == param.low + 1 and type(checked) is int


def test_only_value_params_are_checked_here():
    checked = {param.type for table in TABLES for param in table if param.invalid_values()}
    assert checked <= set(VALUE_TYPES)


def entry_run(dss, table, config: dict):
    """Run the table's component in the fake DSS with ``config`` over a minimal valid one."""
    folder = ROOT / Path(table.descriptor).parent
    kind = Path(table.descriptor).stem
    if kind == "recipe" and folder.name == "llm-prelabel":
        return dss.run(folder, {"llm": "x", "categories": [{"from": "a"}, {"from": "b"}], **config},
                       inputs={"data": ["pool"]}, outputs={"answers": ["answers"]})
    if kind == "recipe":
        base = {"id_column": "id"} if "spark" in folder.name else {}
        return dss.run(folder, {**base, **config}, inputs={"unlabeled_samples": ["pool"]},
                       outputs={"queries": ["queries"]})
    if kind == "trigger":
        return dss.run(folder, {"metadata_ds": "meta", "queries_ds": "queries", **config})
    if kind == "step":
        return dss.run(folder, {"saved_model": "clf", "metadata_ds": "meta", **config})
    base = {"unlabeled": "pool", "categories": [{"from": "a", "to": "A"}], "labels_ds": "labels",
            "metadata_ds": "metadata"}
    base.update({"text_column": "text"} if folder.name == "text-labeling" else {})
    return dss.run(folder, {**base, **config}, init_globals={"app": Flask(__name__)})


@pytest.mark.parametrize("table, param, value", cases("dss"))
def test_the_dss_component_refuses_an_invalid_value_in_one_sentence(dss, table, param, value):
    dss.add_dataset("pool", pd.DataFrame({"id": ["1", "2"], "text": ["x", "y"]}))
    with pytest.raises(LabelloopError) as refused:
        entry_run(dss, table, {param.name: value})
    one_sentence(str(refused.value), param.name)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    data = folder / "rows.csv"
    pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [3.0, 1.0, 2.0]}).to_csv(data, index=False)
    assert main(["init", str(folder / "project"), "--data", str(data), "--type", "tabular", "--categories", "a,b"]) == 0
    return folder


@pytest.mark.parametrize("table, param, value", cases("cli"))
def test_the_cli_refuses_an_invalid_value_in_one_sentence(project, capsys, table, param, value):
    command, flag = param.cli
    text = repr(value) if isinstance(value, float) and math.isfinite(value) else str(value)
    if command == "init":
        target = project / f"refused-{param.name}"
        argv = ["init", str(target), "--data", str(project / "rows.csv"), "--type", "tabular", "--categories", "a,b"]
    else:
        target, argv = None, [command, str(project / "project")]
    capsys.readouterr()
    assert main([*argv, flag, text]) == 2
    error = capsys.readouterr().err
    assert error.startswith("labelloop: error: ")
    one_sentence(error, param.name)
    assert target is None or not target.exists()  # nothing half-written
