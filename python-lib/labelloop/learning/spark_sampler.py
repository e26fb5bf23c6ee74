"""The query sampler on Spark (``labelloop sample --engine spark``): pools beyond one machine.

Spark reads the pool: Parquet files (``parquet_pool``), or a DataFrame DSS opened
(``ordered_pool``, the Query sampler (Spark) recipe). Each partition is scored on an executor by the model broadcast
to it, through ``mapInPandas`` (Arrow batches of ``chunk_size`` rows), and keeps only its own best
candidates (``query_sampler.Ranking``, the pandas engine's code). The driver merges them and
picks the queries with the pandas engine's code too. Both engines write the same queries for the
same pool and seed, because nothing depends on how the pool is cut:

- a row's random key hashes its item id (``Salts``);
- a row's position in the pool is its file's rank by name and its row index in the file
  (Spark's ``_metadata.row_index``), so ties and duplicate numbers follow the pool's order. A
  DataFrame opened another way has no files: its rows' order is its partitions' order.

Rows identified by hash (no id column) cost two more passes, which only look at rows whose hash
is one of a few: the duplicates of answered rows (which copy was answered) and the duplicates of
the chosen rows (their ``#n`` ids). pyspark is imported here only: the core never needs it.
"""
from __future__ import annotations

import functools
import os
import re
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pandas as pd

from labelloop.errors import LabelloopError
from labelloop.learning.query_sampler import (
    QUERY_COLUMNS,
    RANK_ID,
    RANK_KEY,
    RANK_POSITION,
    RANK_RULES,
    RANK_SCORE,
    Pool,
    Ranking,
    Salts,
    SamplerSettings,
    is_score_column,
    split_scores,
    write_queries,
)
from labelloop.platform.base import Platform, Probabilities, estimator_probabilities
from labelloop.store.items import row_hashes, row_ids

_FILE_BITS = 40  # a position is (file rank << 40) + row index: files of up to a trillion rows
_KIND = "__kind"  # what a row sent back to the driver is: a candidate or an unscored row


def local_session(master: str = "local[2]"):
    """A Spark session; its Python workers run this interpreter, which has labelloop and the model's packages."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    return (SparkSession.builder.master(master).appName("labelloop-sampler")
            .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "8").getOrCreate())


class ModelScorer:
    """A scikit-learn classifier as the executors call it: picklable, so Spark broadcasts it once per executor."""

    def __init__(self, estimator, version: str):
        if not hasattr(estimator, "predict_proba"):  # refused before Spark starts, not on the executors
            raise LabelloopError("The model gives no class probabilities: use a classification model.")
        self.estimator, self.version = estimator, version

    def __call__(self, frame: pd.DataFrame) -> Probabilities:
        return estimator_probabilities(self.estimator, frame, self.version)


def run_spark_sampler(spark, platform: Platform, pool: Pool, frame, queries: str, answered: set,
                      settings: SamplerSettings, scorer: ModelScorer | None, model: str | None = None) -> dict:
    """The pandas engine's ``run_sampler`` on Spark, for the pool's rows in ``frame`` (a DataFrame
    from ``parquet_pool`` or ``ordered_pool``: the rows with their positions)."""
    if settings.max_queries is None:
        raise LabelloopError("The Spark engine needs max_queries: keeping every row would bring the whole pool to "
                             "the driver.")
    if not pool.items.has_columns:
        raise LabelloopError("The Spark engine ranks datasets; a folder of media is ranked by the pandas engine.")
    if (scorer is None) != pool.scored:
        raise LabelloopError("Give the Spark engine a model, or a scored pool, not both.")
    ship_labelloop(spark.sparkContext)
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(settings.chunk_size))
    spark.conf.set("spark.sql.execution.arrow.pyspark.enabled", "true")  # toPandas through Arrow, as pyarrow reads
    columns = [c for c in frame.columns if c != RANK_POSITION]
    clash = [c for c in QUERY_COLUMNS + (RANK_POSITION,) if c in columns]
    if clash:
        raise LabelloopError(f"The input already has a column '{clash[0]}', which the queries dataset adds.")
    hashed = pool.id_column is None
    answered_positions = _answered_positions(frame, pool, answered) if hashed and answered else set()
    broadcast = spark.sparkContext.broadcast((scorer, settings, Salts(settings.seed), answered, answered_positions))
    counts = spark.sparkContext.accumulator(0), spark.sparkContext.accumulator(0), spark.sparkContext.accumulator(0)
    rank = _partition_ranker(broadcast, pool, counts)
    kept = _collected(frame.mapInPandas(rank, _kept_schema(frame, pool)))
    ranking = Ranking(settings, broadcast.value[2])
    ranking.merge(_part(kept, "candidate"), _part(kept, "unscored"))
    ranking.scored, ranking.dropped = counts[0].value, counts[1].value
    ranking.version = scorer.version if scorer is not None else None
    hashes = _SparkDuplicates(frame, pool) if hashed else None
    return write_queries(platform, model, pool, queries, ranking, hashes, counts[2].value)


_SHIPPED = set()  # ids of the Spark applications whose executors have labelloop


def ship_labelloop(context) -> None:
    """Give the executors this labelloop, as a zip on their Python path, once per Spark application.

    The executors unpickle the ranking function and the broadcast settings, which import labelloop;
    DSS ships the code env to them, not the plugin's ``python-lib``. ``SparkContext.addPyFile``:
    "Add a .py or .zip dependency for all tasks to be executed on this SparkContext in the future"
    (pyspark API reference, in every Spark 3 and 4). The zip is made once per process.
    """
    if context.applicationId not in _SHIPPED:
        context.addPyFile(str(_package_zip()))
        _SHIPPED.add(context.applicationId)


@functools.cache
def _package_zip() -> Path:
    """labelloop's Python files in ``labelloop.zip``, in a folder of its own in the temporary folder."""
    package = Path(__file__).resolve().parents[1]
    target = Path(tempfile.mkdtemp(prefix="labelloop-spark-")) / "labelloop.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(package.rglob("*.py")):
            archive.write(path, path.relative_to(package.parent).as_posix())
    return target


def parquet_pool(spark, path: str):
    """The pool with each row's position: its file's rank by name, then its row index in the file."""
    from pyspark.sql import functions as F

    try:
        frame = spark.read.parquet(str(path))
    except Exception as error:  # noqa: BLE001 - Spark's analysis errors have no common public base
        raise LabelloopError(f"Spark could not read the pool '{path}' as Parquet ({str(error).splitlines()[0]}).") from error
    # Spark spells a file "file:///p" in one place and "file:/p" in another: ranks are keyed by the path alone.
    files = sorted(urlparse(name).path for name in frame.inputFiles())
    ranks = F.create_map(*[F.lit(v) for n, name in enumerate(files) for v in (name, n)])
    rank = ranks[F.regexp_extract(F.col("_metadata.file_path"), r"^[A-Za-z][\w+.-]*:(//[^/]*)?(/.*)$", 2)]
    rank = F.coalesce(rank, F.raise_error(F.concat(F.lit("labelloop: a file of the pool is not among its files: "),
                                                  F.col("_metadata.file_path"))))
    position = rank.cast("long") * (1 << _FILE_BITS) + F.col("_metadata.row_index")
    return frame.select("*", position.alias(RANK_POSITION))


def ordered_pool(frame):
    """A pool DataFrame read by other means than ``parquet_pool`` (DSS's), with each row's position:
    its partition's index, then its rank in the partition (``monotonically_increasing_id``)."""
    from pyspark.sql import functions as F

    return frame.select("*", F.monotonically_increasing_id().alias(RANK_POSITION))


def _collected(frame) -> pd.DataFrame:
    """``frame.toPandas()``. A labelloop error raised on an executor (a pool without probabilities,
    say) comes back as its one sentence, not as Spark's Python traceback.

    Spark's ``PythonException`` lives in ``pyspark.sql.utils`` up to 3.3 and in ``pyspark.errors``
    from 3.4 (SPARK-41586): the error is recognised by its text, which names labelloop's error."""
    try:
        return frame.toPandas()
    except Exception as error:  # noqa: BLE001 - re-raised unless it carries a labelloop error
        found = re.search(r"labelloop\.errors\.\w+: (.+)", str(error))
        if found is None:
            raise
        raise LabelloopError(found.group(1)) from None


def _kept_schema(frame, pool: Pool):
    """The rows the partitions send back: the items' columns (a scored pool's probabilities are
    not among them), their position, and what the ranking adds."""
    from pyspark.sql.types import BooleanType, DoubleType, StringType, StructField, StructType

    fields = [f for f in frame.schema.fields if not (pool.scored and is_score_column(f.name))]
    extra = [StructField(RANK_SCORE, DoubleType()), StructField(RANK_RULES, BooleanType()), StructField(RANK_KEY, DoubleType()),
             StructField(RANK_ID, StringType()), StructField(_KIND, StringType())]
    return StructType(fields + extra)


def _inputs(batch: pd.DataFrame, pool: Pool) -> pd.DataFrame:
    """The items' own columns of a batch, which their hashed ids are made of."""
    return batch.drop(columns=[c for c in batch.columns if is_score_column(c)]) if pool.scored else batch


def _partition_ranker(broadcast, pool: Pool, counts) -> Callable:
    """What each executor runs on its partition: ids, unanswered rows, scores, its own ``Ranking``."""

    def rank(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        scorer, settings, salts, answered, answered_positions = broadcast.value
        ranking, rows = Ranking(settings, salts), 0
        for batch in batches:
            rows += len(batch)
            positions = batch.pop(RANK_POSITION).to_numpy(dtype=np.int64)
            chunk, given = split_scores(batch, pool.name) if pool.scored else (batch, None)
            if pool.id_column is None:
                ids = np.asarray(row_hashes(chunk), dtype=object)
                fresh = ~pd.Series(positions).isin(answered_positions).to_numpy() if answered_positions else \
                    np.ones(len(chunk), dtype=bool)
            else:
                ids = np.asarray(row_ids(chunk, pool.id_column), dtype=object)
                fresh = ~pd.Series(ids).isin(answered).to_numpy()
            chunk, ids, positions = chunk[fresh], ids[fresh], positions[fresh]
            if not chunk.empty:
                ranking.add(chunk, ids, positions, scorer(chunk) if given is None else given.rows(fresh))
        counts[0].add(ranking.scored)
        counts[1].add(ranking.dropped)
        counts[2].add(rows)
        for part, kind in ((ranking.candidates, "candidate"), (ranking.unscored, "unscored")):
            if part is not None and len(part):
                yield _as_kept(part, kind)

    return rank


def _as_kept(part: pd.DataFrame, kind: str) -> pd.DataFrame:
    """A ranking's rows in the schema sent back to the driver (unscored rows have no score or key)."""
    # pandas 3 keeps text in Arrow-backed columns, which pyspark 4.3 cannot send back: plain objects it can.
    out = part.astype({c: object for c, kind in part.dtypes.items()
                       if pd.api.types.is_string_dtype(kind) and not pd.api.types.is_object_dtype(kind)})
    for column in (RANK_SCORE, RANK_KEY):
        if column not in out:
            out[column] = np.nan
    if RANK_RULES not in out:
        out[RANK_RULES] = False
    out[_KIND] = kind
    return out


def _part(kept: pd.DataFrame, kind: str) -> pd.DataFrame | None:
    """The candidates or the unscored rows the partitions sent back, as the pandas engine holds them."""
    rows = kept[kept[_KIND] == kind].drop(columns=[_KIND])
    if kind == "unscored":
        rows = rows.drop(columns=[RANK_SCORE, RANK_KEY, RANK_RULES])
    return rows.reset_index(drop=True) if len(rows) else None


def _hash_positions(frame, pool: Pool, bases: set) -> pd.DataFrame:
    """``(base, position)`` of the pool's rows whose hash is one of ``bases``: a narrow pass."""
    def matching(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            positions = batch.pop(RANK_POSITION)
            found = pd.DataFrame({"base": pd.Series(row_hashes(_inputs(batch, pool)), dtype=object),
                                  RANK_POSITION: positions.to_numpy(dtype=np.int64)})
            yield found[found["base"].isin(bases)]

    return _collected(frame.mapInPandas(matching, f"base string, {RANK_POSITION} long")).sort_values(RANK_POSITION)


def _answered_positions(frame, pool: Pool, answered: set) -> set:
    """Positions of the pool's answered rows: the n-th copy of a row is answered when ``<hash>#n`` is."""
    found = _hash_positions(frame, pool, {i.split("#")[0] for i in answered})
    copy = found.groupby("base", sort=False).cumcount().to_numpy() + 1
    ids = [b if n == 1 else f"{b}#{n}" for b, n in zip(found["base"], copy)]
    return {p for p, i in zip(found[RANK_POSITION].tolist(), ids) if i in answered}


class _SparkDuplicates:
    """``final_ids`` for hashed rows, as ``query_sampler._HashIds`` gives them: a row's suffix is
    the number of identical rows before it in the pool."""

    def __init__(self, frame, pool: Pool):
        self.frame, self.pool = frame, pool

    def final_ids(self, bases: pd.Series, positions: np.ndarray) -> list:
        found = _hash_positions(self.frame, self.pool, set(bases))
        before = {base: group[RANK_POSITION].to_numpy() for base, group in found.groupby("base")}
        copies = [int(np.searchsorted(before[b], p)) for b, p in zip(bases, positions)]
        return [b if n == 0 else f"{b}#{n + 1}" for b, n in zip(bases, copies)]
