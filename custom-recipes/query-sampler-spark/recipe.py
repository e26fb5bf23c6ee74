"""Query sampler (Spark) recipe: read the roles and params, rank the scored rows as a Spark job
(``labelloop.learning.spark_sampler``). DSS runs this file with Spark set up (kind PYSPARK)."""
from dataiku.customrecipe import get_input_names_for_role, get_output_names_for_role, get_recipe_config
from pyspark import SparkContext
from pyspark.sql import SQLContext

from labelloop.learning.query_sampler import answered_in_metadata, recipe_settings
from labelloop.learning.spark_sampler import ordered_pool, run_spark_sampler, scored_dataset_pool
from labelloop.platform.dss import DSSPlatform

config = get_recipe_config()
platform = DSSPlatform()
sql_context = SQLContext(SparkContext.getOrCreate())  # as dataiku.spark's sample use (DSS 9.0.5 source)
unlabeled = get_input_names_for_role("unlabeled_samples")[0]
metadata = get_input_names_for_role("labeling_metadata")
rules = get_input_names_for_role("labeling_rules")
queries = get_output_names_for_role("queries")[0]
pool = scored_dataset_pool(unlabeled, config.get("id_column"))
run_spark_sampler(
    sql_context.sparkSession,
    platform,
    pool,
    ordered_pool(platform.spark_dataframe(sql_context, unlabeled)),
    queries,
    answered=answered_in_metadata(platform, metadata[0] if metadata else None, queries),
    settings=recipe_settings(platform, config, pool, rules[0] if rules else None),
    scorer=None,
)
