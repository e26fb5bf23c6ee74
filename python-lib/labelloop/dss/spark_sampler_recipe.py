"""The DSS half of the Query sampler (Spark) recipe (custom-recipes/query-sampler-spark/): its
roles and params read, then the scored rows ranked as a Spark job (``labelloop.learning.spark_sampler``).
DSS runs the recipe with Spark set up (kind PYSPARK)."""
from __future__ import annotations

from labelloop.dss.platform import DSSPlatform
from labelloop.dss.sampler_recipe import recipe_settings
from labelloop.errors import LabelloopError
from labelloop.learning.query_sampler import Pool, answered_in_metadata
from labelloop.learning.spark_sampler import ordered_pool, run_spark_sampler
from labelloop.parameters.tables import SPARK_QUERY_SAMPLER
from labelloop.store.item_sources import Rows


def scored_dataset_pool(name: str, id_column: str | None) -> Pool:
    """The pool of DSS's Query sampler (Spark) recipe: a Score recipe's output with an id column.

    Ids hashed from the rows would come from Spark's values here and from DSS's text stream in
    the webapp, which can differ in a float's last digit: the recipe asks for the id column.
    """
    if not id_column:
        raise LabelloopError("The Query sampler (Spark) needs an id column: set the labeling webapp's id column.")
    return Pool(name, Rows(id_column), scored=True)


def run_recipe() -> dict:
    """What the recipe's ``recipe.py`` does; returns the sampler's summary."""
    from dataiku.customrecipe import get_input_names_for_role, get_output_names_for_role, get_recipe_config
    from pyspark import SparkContext
    from pyspark.sql import SQLContext

    config = SPARK_QUERY_SAMPLER.read(get_recipe_config())
    platform = DSSPlatform()
    sql_context = SQLContext(SparkContext.getOrCreate())  # as dataiku.spark's sample use (DSS 9.0.5 source)
    unlabeled = get_input_names_for_role("unlabeled_samples")[0]
    metadata = get_input_names_for_role("labeling_metadata")
    rules = get_input_names_for_role("labeling_rules")
    answers = get_input_names_for_role("llm_answers")
    queries = get_output_names_for_role("queries")[0]
    pool = scored_dataset_pool(unlabeled, config["id_column"])
    return run_spark_sampler(
        sql_context.sparkSession,
        platform,
        pool,
        ordered_pool(platform.spark_dataframe(sql_context, unlabeled)),
        queries,
        answered=answered_in_metadata(platform, metadata[0] if metadata else None, queries),
        settings=recipe_settings(platform, config, pool, rules[0] if rules else None, answers[0] if answers else None),
        scorer=None,
    )
