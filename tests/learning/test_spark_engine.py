"""The Spark engine of the sampler (``labelloop sample --engine spark``) writes the pandas engine's queries.

It runs on local Spark (pyspark from PyPI, Debian's Java 17), with the pool cut into many
partitions, so that each partition ranks its own rows and the driver merges them, as on a cluster.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from labelloop.errors import LabelloopError
from labelloop.learning.query_sampler import Pool, SamplerSettings, run_sampler
from labelloop.learning.spark_sampler import ModelScorer, local_session, parquet_pool, run_spark_sampler
from labelloop.platform.local import LocalPlatform
from labelloop.sampling import DEFAULT_DIVERSITY
from labelloop.standalone.project import Project
from labelloop.store.item_sources import Rows
from labelloop.store.items import row_ids
from labelloop.store.journal import LABELED, SKIPPED, Annotation

# Each test starts local Spark (a JVM, about 25 s before any work): `make test-slow` runs them.
pytestmark = pytest.mark.slow

LABELLOOP = str(Path(sys.executable).parent / "labelloop")
SMALL_PARTITIONS = "--conf spark.sql.files.maxPartitionBytes=4096 --conf spark.sql.files.openCostInBytes=0 pyspark-shell"


def _wine(duplicates: int = 6) -> pd.DataFrame:
    """Wine with exact duplicate rows (numbered ``#2``, ``#3``... by position) and a text column."""
    frame = load_wine(as_frame=True).frame
    frame.insert(0, "region", [f"region {n % 7}" for n in range(len(frame))])
    copies = pd.concat([frame.iloc[:duplicates], frame.iloc[:2]], ignore_index=True)
    return pd.concat([frame, copies], ignore_index=True)


def _labelloop(*args, env=None):
    result = subprocess.run([LABELLOOP, *map(str, args)], capture_output=True, text=True, timeout=300,
                            env={**os.environ, **(env or {})})
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.fixture
def project(tmp_path):
    """A project on a Parquet pool of wine in many row groups, with 40 answers, duplicates among them."""
    data = _wine()
    truth = data.pop("target")
    data.to_parquet(tmp_path / "wine.parquet", row_group_size=16)
    _labelloop("init", tmp_path / "proj", "--data", tmp_path / "wine.parquet", "--type", "tabular",
               "--categories", "0,1,2")
    project = Project.open(tmp_path / "proj")
    ids = row_ids(data)
    answered = list(range(0, 180, 5)) + [184]  # 184: the third copy of row 0 (178 is the second)
    for n in answered:
        project.journal.record(Annotation(ids[n], "alice", LABELED, str(truth[n]), session=1))
    project.journal.record(Annotation(ids[3], "bob", SKIPPED, session=1))
    yield project, ids, answered
    project.close()


def _queries(project) -> pd.DataFrame:
    return project.platform.read_dataset("queries").drop(columns=["session"])


def test_the_spark_engine_writes_the_queries_the_pandas_engine_writes(project):
    project, ids, answered = project
    _labelloop("train", project.root)
    common = ["--max-queries", 30, "--seed", 11, "--chunk-size", 7]
    pandas_run = json.loads(_labelloop("sample", project.root, *common, "--json"))
    by_pandas = _queries(project)
    spark_run = json.loads(_labelloop("sample", project.root, *common, "--engine", "spark", "--json",
                                      env={"PYSPARK_SUBMIT_ARGS": SMALL_PARTITIONS}))
    by_spark = _queries(project)
    pd.testing.assert_frame_equal(by_spark, by_pandas)
    assert spark_run["session"] == pandas_run["session"] + 1
    assert {k: v for k, v in spark_run.items() if k != "session"} == {k: v for k, v in pandas_run.items() if k != "session"}
    assert (spark_run["queries"], spark_run["random"], spark_run["diversity"]) == (30, 3, DEFAULT_DIVERSITY)
    assert spark_run["answered"] == len(answered) + 1  # the skip too: it is held back for three rounds
    assert not set(by_spark["item_id"]) & {ids[n] for n in answered}
    assert (ids[178], ids[184]) == (f"{ids[0]}#2", f"{ids[0]}#3")


@pytest.fixture(scope="module")
def spark():
    session = local_session()
    session.conf.set("spark.sql.files.maxPartitionBytes", "4096")
    session.conf.set("spark.sql.files.openCostInBytes", "0")
    yield session
    session.stop()


def _pool_platform(tmp_path, data: pd.DataFrame) -> LocalPlatform:
    platform = LocalPlatform(tmp_path / "platform")
    platform.dataset_path("pool").parent.mkdir(parents=True)
    data.to_parquet(platform.dataset_path("pool"), row_group_size=16)
    return platform


def _both_engines(spark, platform, pool, scorer, answered, settings) -> tuple:
    """Each engine's queries and summary, on the same pool, model and seed."""
    frame, model = parquet_pool(spark, str(platform.dataset_path(pool.name))), None if scorer is None else "clf"
    by_spark_summary = run_spark_sampler(spark, platform, pool, frame, "spark_queries", answered, settings, scorer, model)
    by_pandas_summary = run_sampler(platform, model, pool, "pandas_queries", answered, settings)
    return (platform.read_dataset("spark_queries"), platform.read_dataset("pandas_queries"), by_spark_summary,
            by_pandas_summary)


@pytest.mark.parametrize("strategy, diversity, id_column", [
    ("margin", "none", "wine_id"), ("entropy", "cluster", "wine_id"), ("random", "none", None),
    ("confidence", "cluster", None)], ids=["margin-ids", "entropy-cluster-ids", "random-hashed", "confidence-cluster-hashed"])
def test_the_engines_agree_for_every_strategy_with_ids_or_hashes(spark, tmp_path, strategy, diversity, id_column):
    data = _wine()
    truth = data.pop("target")
    data.insert(0, "wine_id", range(5000, 5000 + len(data)))
    if id_column is None:
        data = data.drop(columns="wine_id")
    platform = _pool_platform(tmp_path, data)
    version = platform.registry("clf").save(_model(data, truth), {})
    scorer = ModelScorer(platform.registry("clf").load(version), version)
    ids = row_ids(data, id_column)
    answered = {ids[n] for n in range(0, len(ids), 4)}
    settings = SamplerSettings(strategy=strategy, max_queries=25, seed=5, chunk_size=9, diversity=diversity)
    by_spark, by_pandas, spark_summary, pandas_summary = _both_engines(
        spark, platform, Pool("pool", Rows(id_column)), scorer, answered, settings)
    pd.testing.assert_frame_equal(by_spark, by_pandas)
    assert spark_summary == pandas_summary
    assert len(by_spark) == 25 and (by_spark["strategy"] == "random").sum() == 2 + 23 * (strategy == "random")
    assert not set(by_spark["item_id"]) & answered and by_spark["model_version"].eq(version).all()


def _numeric(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["region", "wine_id"], errors="ignore")


def _model(data: pd.DataFrame, truth: pd.Series):
    """A model of the numeric columns (the pool also has a text column), as the executors unpickle it."""
    numeric = list(_numeric(data).columns)
    keep = ColumnTransformer([("numeric", StandardScaler(), numeric)])
    return make_pipeline(keep, LogisticRegression(max_iter=2000)).fit(data[::3], truth[::3])


def test_a_scored_pool_ranks_on_spark_as_with_pandas_and_unscored_rows_come_last(spark, tmp_path):
    data = _wine().drop(columns="target")
    probabilities = pd.DataFrame({"proba_x": (data["alcohol"] - 11) / 4}).clip(0, 1)
    probabilities["proba_y"] = 1 - probabilities["proba_x"]
    probabilities.loc[[7, 90], "proba_x"] = None  # rows the Score recipe's preprocessing dropped
    platform = _pool_platform(tmp_path, pd.concat([data, probabilities, pd.Series("x", name="prediction",
                                                                                    index=data.index)], axis=1))
    settings = SamplerSettings(max_queries=20, seed=2, chunk_size=11, diversity="cluster")
    by_spark, by_pandas, spark_summary, pandas_summary = _both_engines(
        spark, platform, Pool("pool", scored=True), None, set(), settings)
    pd.testing.assert_frame_equal(by_spark, by_pandas)
    assert spark_summary == pandas_summary and spark_summary["unscored"] == 2
    assert by_spark["strategy"].tolist()[-2:] == ["unscored", "unscored"]
    assert not {"proba_x", "proba_y", "prediction"} & set(by_spark.columns)


def test_the_spark_engine_refuses_what_it_cannot_do_in_one_sentence(spark, tmp_path):
    platform = _pool_platform(tmp_path, _wine())
    frame = parquet_pool(spark, str(platform.dataset_path("pool")))
    scorer = ModelScorer(LogisticRegression(), "v1")
    with pytest.raises(LabelloopError, match="needs max_queries"):
        run_spark_sampler(spark, platform, Pool("pool"), frame, "q", set(), SamplerSettings(), scorer)
    with pytest.raises(LabelloopError, match="could not read the pool"):
        parquet_pool(spark, str(tmp_path / "missing.parquet"))
