"""Query sampler (Spark) recipe: ``labelloop.dss.spark_sampler_recipe`` reads the roles and params and
ranks the scored rows as a Spark job. DSS runs this file with Spark set up (kind PYSPARK)."""
from labelloop.dss.spark_sampler_recipe import run_recipe

run_recipe()
