"""Image labeling webapp backend: read the params, serve ``labelloop.labeling.dss_backend`` over a folder."""
from dataiku.customwebapp import get_webapp_config

from labelloop.labeling.dss_backend import serve_labeling
from labelloop.platform.dss import DSSPlatform

config = get_webapp_config()
serve_labeling(
    app, DSSPlatform(), "image",  # noqa: F821 - DSS binds `app` before running this file
    unlabeled=config["unlabeled"], categories=config["categories"], labels=config["labels_ds"],
    metadata=config["metadata_ds"], label_column=config.get("label_col_name", "label"),
    queries=config.get("queries_ds"), model=config.get("saved_model"), multi_label=config.get("multi_label", False),
    journal_url=config.get("journal_url"),
)
