"""The model in the loop: features, the built-in trainer, the query sampler, stopping metrics,
the retrain rule and the offline simulation."""
