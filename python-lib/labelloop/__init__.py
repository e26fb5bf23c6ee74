"""labelloop: ML-assisted labeling for Dataiku DSS and standalone."""
__version__ = "0.1.0"
