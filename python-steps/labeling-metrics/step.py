"""Labeling-metrics step: read the params, run the stopping metrics, then the team's quality."""
from dataiku.customstep import get_step_config

from labelloop.learning.quality_step import quality_step
from labelloop.learning.stopping import DEFAULT_SAMPLE, metrics_step
from labelloop.platform.dss import DSSPlatform

config = get_step_config()
platform = DSSPlatform()
label_column = config.get("label_col_name") or "label"
metrics_step(
    platform, config["saved_model"], unlabeled=config.get("unlabeled"),
    unlabeled_folder=config.get("unlabeled_folder"), metadata=config["metadata_ds"],
    label_column=label_column, id_column=config.get("id_column") or None,
    sample_size=config.get("sample_size", DEFAULT_SAMPLE),
)
quality_step(
    platform, config["metadata_ds"], label_column, labels=config.get("labels_ds") or None,
    suspects=config.get("suspects_ds") or None, text_column=config.get("text_column") or None,
    id_column=config.get("id_column") or None,
)
