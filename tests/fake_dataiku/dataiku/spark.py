"""DSS's ``dataiku.spark``: datasets as Spark DataFrames, in a PySpark recipe.

DSS 9.0.5 source (``python/dataiku/spark/__init__.py``, see the package docstring), followed here:

- ``get_dataframe(sqlContext, dataset)``: "Opens a DSS dataset as a SparkSQL dataframe. The
  'dataset' argument must be a dataiku.Dataset object" (it reads ``dataset.full_name``);
  ``sqlContext`` is a ``SQLContext`` or a ``SparkSession`` (it tests
  ``type(sqlContext).__name__ == "SparkSession"``). DSS's JVM reads the dataset where it lives,
  with its schema's types; here the stored frame goes to Spark through pandas, in its order.
- It imports pyspark at module level: ``import dataiku.spark`` fails where Spark is not set up.
- A recipe reads only its declared inputs (``_instance.check_readable``, DSS's rule for datasets).
- DSS sets Spark up for a recipe of kind PYSPARK only (the harness's ``spark_recipe``): in any
  other recipe this refuses, where a local pyspark would happily start its own Spark.
"""
from __future__ import annotations

from dataiku import Dataset
from dataiku._instance import check_readable, instance
from pyspark.sql import SparkSession, SQLContext


def get_dataframe(sqlContext, dataset):
    context = instance().context
    if context is None or context.descriptor.get("kind") != "PYSPARK":
        raise RuntimeError("No Spark here: DSS sets up Spark for PySpark recipes (recipe kind PYSPARK).")
    if not isinstance(dataset, Dataset):
        raise TypeError("get_dataframe takes a dataiku.Dataset object.")
    if not isinstance(sqlContext, (SQLContext, SparkSession)):
        raise TypeError("get_dataframe takes a SQLContext or a SparkSession.")
    check_readable(dataset.full_name)
    session = sqlContext if isinstance(sqlContext, SparkSession) else sqlContext.sparkSession
    frame = instance().platform_of(dataset.project_key).read_dataset(dataset.short_name)
    return session.createDataFrame(frame)
