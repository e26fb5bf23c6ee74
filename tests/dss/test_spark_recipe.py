"""The Query sampler (Spark) recipe: the real recipe.py (kind PYSPARK) run through the fake DSS on
local Spark, against the pandas Query sampler recipe on the same scored dataset."""
from __future__ import annotations

import ast
import json
import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from fake_dataiku.harness import executor_python, load_fake_dataiku
from paths import ROOT
from sampler_models import pool, tabular_classifier

from labelloop.errors import LabelloopError

# Local Spark (a JVM, about 25 s before any work) runs these recipes: `make test-slow` runs them.
pytestmark = pytest.mark.slow

RECIPES = ROOT / "custom-recipes"
QUERIES = {"queries": ["queries"]}


@pytest.fixture
def flow(dss):
    """A Score recipe's output (rows with ids, plus prediction and proba_<class> columns) and 12 answers."""
    predictor = load_fake_dataiku().Predictor  # the Score recipe writes the input rows plus what it returns
    frame = pool(300)
    frame.insert(0, "row_id", range(1000, 1300))
    dss.add_dataset("scored", predictor(tabular_classifier(frame)).predict(frame, with_input_cols=True))
    dss.add_dataset("metadata", pd.DataFrame({"data_id": [str(n) for n in range(1000, 1300, 25)], "status": "LABELED",
                                              "session": 1, "annotator": "alice"}))
    dss.add_dataset("queries")
    return dss


def _run(flow, recipe: str, config: dict) -> pd.DataFrame:
    inputs = {"unlabeled_samples": ["scored"], "labeling_metadata": ["metadata"]}
    flow.run(RECIPES / recipe, {"id_column": "row_id", **config}, inputs=inputs, outputs=QUERIES)
    return flow.platform.read_dataset("queries")


def test_the_spark_recipe_ranks_a_scored_dataset_into_the_pandas_recipe_s_queries(flow):
    settings = {"max_queries": 40, "random_share": 0.0, "diversity": "none", "chunk_size": 16}
    by_pandas = _run(flow, "query-sampler", settings)
    by_spark = _run(flow, "query-sampler-spark", settings)
    # The same values; the pandas recipe reads row_id as a nullable integer, Spark as int64 (in DSS
    # both are written as the schema's bigint).
    pd.testing.assert_frame_equal(by_spark.drop(columns="session"), by_pandas.drop(columns="session"),
                                  check_dtype=False)
    assert by_pandas["session"].eq(1).all() and by_spark["session"].eq(2).all()
    assert len(by_spark) == 40 and not set(by_spark["item_id"]) & {str(n) for n in range(1000, 1300, 25)}
    assert not [c for c in by_spark.columns if c == "prediction" or c.startswith("proba_")]

    diverse = _run(flow, "query-sampler-spark", {**settings, "diversity": "cluster", "random_share": 0.1})
    assert len(diverse) == 40 and (diverse["strategy"] == "random").sum() == 4


def test_the_spark_recipe_refuses_what_it_cannot_do_in_one_sentence(flow):
    with pytest.raises(LabelloopError, match="needs an id column"):
        _run(flow, "query-sampler-spark", {"id_column": "", "max_queries": 10})
    flow.add_dataset("raw", pool(50))
    with pytest.raises(LabelloopError, match="no 'proba_<class>' columns"):
        flow.run(RECIPES / "query-sampler-spark", {"id_column": "name", "max_queries": 10},
                 inputs={"unlabeled_samples": ["raw"]}, outputs=QUERIES)


def test_the_executors_python_has_the_code_env_but_cannot_import_labelloop():
    """What the Spark recipe test above runs its executors on (harness.spark_recipe): it passes only
    because the sampler ships labelloop with the job."""
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "python-lib"), os.environ.get("PYTHONPATH", "")])}

    def runs(code: str) -> subprocess.CompletedProcess:  # Spark passes the JVM's PYTHONPATH on to its workers
        return subprocess.run([executor_python(), "-c", code], env=environment, capture_output=True, text=True)

    assert runs("import numpy, pandas, pyarrow, sklearn, pyspark").returncode == 0
    refused = runs("import labelloop")
    assert refused.returncode != 0 and "No module named 'labelloop'" in refused.stderr


def test_no_code_of_the_plugin_imports_pyspark_errors():
    """``pyspark.errors`` arrives in Spark 3.4 (SPARK-41586); DSS runs the cluster's Spark 3, from 3.0."""
    found = []
    for path in [*(ROOT / "python-lib").rglob("*.py"), *RECIPES.glob("*/recipe.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            found += [f"{path.name}: {n}" for n in names if n == "pyspark.errors" or n.startswith("pyspark.errors.")]
    assert found == []


def test_only_a_pyspark_recipe_opens_a_dataset_in_spark_and_it_reads_only_its_inputs(dss, tmp_path):
    """The fake's rules for ``dataiku.spark`` (tests/fake_dataiku/dataiku/spark.py)."""
    dss.add_dataset("rows", pd.DataFrame({"f": [0.0, 1.0, 2.0, 3.0]}))
    dss.add_dataset("out")
    code = """
from dataiku.customrecipe import get_output_names_for_role, get_recipe_config
from labelloop.dss.platform import DSSPlatform
from pyspark import SparkContext
from pyspark.sql import SQLContext

platform = DSSPlatform()
frame = platform.spark_dataframe(SQLContext(SparkContext.getOrCreate()), get_recipe_config().get("touch", "rows"))
platform.write_dataset(get_output_names_for_role("output")[0], frame.toPandas())
"""
    roles = {"inputs": {"input": ["rows"]}, "outputs": {"output": ["out"]}}
    python_recipe, spark_recipe = (_entry(tmp_path / kind, kind, code) for kind in ("PYTHON", "PYSPARK"))
    with pytest.raises(RuntimeError, match="DSS sets up Spark for PySpark recipes"):
        dss.run(python_recipe, {}, **roles)
    dss.run(spark_recipe, {}, **roles)
    assert dss.platform.read_dataset("out")["f"].tolist() == [0.0, 1.0, 2.0, 3.0]
    with pytest.raises(Exception, match="You cannot read dataset PROJ.out, it is not declared as an input"):
        dss.run(spark_recipe, {"touch": "out"}, **roles)


def _entry(folder: Path, kind: str, code: str) -> Path:
    """A recipe of ``kind`` with one input, one output and a ``touch`` param."""
    folder.mkdir()
    (folder / "recipe.json").write_text(json.dumps({
        "kind": kind, "params": [{"name": "touch", "type": "STRING"}],
        "inputRoles": [{"name": "input", "arity": "UNARY", "required": True, "acceptsDataset": True}],
        "outputRoles": [{"name": "output", "arity": "UNARY", "required": True, "acceptsDataset": True}]}))
    (folder / "recipe.py").write_text(code)
    return folder
