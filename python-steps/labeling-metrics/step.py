"""Labeling-metrics step: ``labelloop.dss.metrics_step`` runs the stopping metrics, then the team's quality."""
from labelloop.dss.metrics_step import run_step

run_step()
