"""Choices and defaults of the ``labelloop`` command, shared with the modules that do the work.

This module imports nothing, so the argument parser offers them without loading what those modules
need (scikit-learn, Flask, the labeling service): that cost about two seconds per run, even for
``labelloop --version``.
"""
from __future__ import annotations

EXPORT_FORMATS = ("csv", "parquet", "jsonl")
DEMO_TYPES = ("tabular", "text", "image", "sound")
DEFAULT_RETRAIN_EVERY = 20  # labels in a session between retrains (serve, demo)
DEFAULT_WATCH_SECONDS = 5.0  # between looks at the pool for new items (serve, demo)
