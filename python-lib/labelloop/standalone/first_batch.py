"""The first batch, before any model: the items nearest k-means centres of the pool.

Until two categories have labels there is no model to rank by, and the queue serves the pool in
a random order: twenty random labels can all fall in the largest region of the data. Instead,
``labelloop sample`` without a model writes this batch as the next session's queries (``strategy
= kmeans``): the unanswered items nearest the centres of ``size`` clusters of the pool's
features (``learning/diversity.first_batch``), features of the built-in model fitted on the pool
without labels. Pools above ``SUBSAMPLE`` rows are clustered on a uniform sample of that many.
Tabular projects only: on tweets (TF-IDF) this start left the model below random order's at 40
labels (bench/peers.py, RESULTS.md), and a folder's media features would read every file first.
"""
from __future__ import annotations

import numpy as np

from labelloop.errors import LabelloopError
from labelloop.learning.diversity import SUBSAMPLE, first_batch
from labelloop.learning.features import build_pipeline
from labelloop.learning.query_sampler import QUERY_COLUMNS
from labelloop.standalone.project import Project
from labelloop.store.sessions import current_session, next_session

STRATEGY = "kmeans"


def write_first_batch(project: Project, size: int, seed: int | None = None) -> dict:
    """Write the first batch of ``size`` queries and move to the next session; a summary like the sampler's."""
    if project.settings.type != "tabular":
        raise LabelloopError(f"No model has been trained yet in {project.root}: label some items, then run "
                             "'labelloop train' (a first batch without a model is for tabular projects).")
    queries = project.settings.outputs["queries"]
    session = current_session(project.platform, queries) + 1
    held = project.journal.unavailable_items(session)
    source = project.source
    ids = np.asarray(source.ids, dtype=object)
    open_rows = np.flatnonzero([item not in held for item in ids])
    answered = len(ids) - len(open_rows)
    if not len(open_rows):
        raise LabelloopError("Every item is answered: there is nothing left to query.")
    rng = np.random.default_rng(seed)
    if len(open_rows) > SUBSAMPLE:
        open_rows = np.sort(rng.choice(open_rows, size=SUBSAMPLE, replace=False))
    rows = source.frame.iloc[open_rows].reset_index(drop=True)
    pipeline = build_pipeline(project.settings.type, rows, text_column=project.settings.text_column)
    features = pipeline.named_steps["features"].fit_transform(rows)
    picked = first_batch(features, min(size, len(rows)), seed)
    clash = [c for c in QUERY_COLUMNS if c in rows.columns]
    if clash:
        raise LabelloopError(f"The input already has a column '{clash[0]}', which the queries dataset adds.")
    output = rows.iloc[picked].reset_index(drop=True).assign(
        uncertainty=0.0, strategy=STRATEGY, session=session, model_version=None, item_id=ids[open_rows[picked]])
    project.platform.write_dataset(queries, output)
    next_session(project.platform, queries)
    return {"scored": 0, "unscored": 0, "answered": int(answered),
            "queries": int(len(output)), "random": 0, "session": session, "modelVersion": None,
            "diversity": STRATEGY}
