"""Labeling-metrics step: read the params, run ``labelloop.stopping.metrics_step``."""
from dataiku.customstep import get_step_config

from labelloop.learning.stopping import DEFAULT_SAMPLE, metrics_step
from labelloop.platform.dss import DSSPlatform

config = get_step_config()
metrics_step(
    DSSPlatform(), config["saved_model"], unlabeled=config.get("unlabeled"),
    unlabeled_folder=config.get("unlabeled_folder"), metadata=config["metadata_ds"],
    label_column=config.get("label_col_name") or "label", id_column=config.get("id_column") or None,
    sample_size=config.get("sample_size", DEFAULT_SAMPLE),
)
