"""The real every-n-labelings trigger.py and labeling-metrics step.py, run in the fake DSS."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from fake_dataiku.harness import config_as_created
from paths import ROOT
from sampler_models import pool, tabular_classifier, three_classes
from sklearn.metrics import cohen_kappa_score

from labelloop.errors import LabelloopError
from labelloop.store.items import row_ids

TRIGGER = ROOT / "python-triggers" / "every-n-labelings"
STEP = ROOT / "python-steps" / "labeling-metrics"
SESSION = "LABELLOOP__queries__session"
FIRED = "LABELLOOP__queries__fired"


def metadata(rows: list) -> pd.DataFrame:
    """Metadata rows from (session, status) pairs, with the other columns a real one has."""
    return pd.DataFrame({
        "date": pd.Timestamp("2026-11-01"), "data_id": [f"item{n}" for n in range(len(rows))], "comment": "",
        "session": [s for s, _ in rows], "status": [st for _, st in rows], "annotator": "ada",
        "label": ["a" if st == "LABELED" else None for _, st in rows], "label_id": range(1, len(rows) + 1),
    })


def fires(dss, rows, **params) -> bool:
    dss.add_dataset("meta", metadata(rows))
    config = {"n": 3, "metadata_ds": "meta", "queries_ds": "queries", **params}
    return dss.run(TRIGGER, config).fired == 1


def test_the_trigger_fires_at_n_labels_of_the_session_once_per_refire_delay(dss):
    dss.add_dataset("queries")
    dss.platform.update_variables(lambda v: v.update({SESSION: 2}))
    older = [(1, "LABELED")] * 5
    assert not fires(dss, older + [(2, "LABELED")] * 2 + [(2, "SKIPPED")] * 4)  # n-1 labels; skips do not count
    assert fires(dss, older + [(2, "LABELED")] * 3)  # exactly n
    assert not fires(dss, older + [(2, "LABELED")] * 4)  # fired for this session: quiet within the delay
    fired = dss.platform.get_variables()[FIRED]
    assert fired["session"] == 2
    earlier = dt.datetime.fromisoformat(fired["at"]) - dt.timedelta(minutes=31)
    dss.platform.update_variables(lambda v: v.update({FIRED: {"session": 2, "at": earlier.isoformat()}}))
    assert fires(dss, older + [(2, "LABELED")] * 4)  # the delay has passed: the scenario is retried
    assert not fires(dss, older + [(2, "LABELED")] * 5, refire_after_minutes=30.0)

    dss.platform.update_variables(lambda v: v.update({SESSION: 3}))  # the scenario moved on
    assert not fires(dss, older + [(2, "LABELED")] * 5 + [(3, "LABELED")] * 2)
    assert fires(dss, older + [(2, "LABELED")] * 5 + [(3, "LABELED")] * 3)  # a new session fires at once


def test_the_trigger_fires_on_the_first_session_and_waits_for_a_metadata_dataset(dss):
    dss.add_dataset("queries")
    dss.add_dataset("meta")
    assert dss.run(TRIGGER, {"n": 2, "metadata_ds": "meta", "queries_ds": "queries"}).fired == 0  # not built yet
    assert fires(dss, [(0, "LABELED")] * 2, n=2)
    with pytest.raises(LabelloopError, match="at least 1"):
        fires(dss, [(0, "LABELED")], n=0)


def test_the_step_computes_the_metrics_by_hand(dss):
    frame = pool(300)
    frame.insert(0, "row_id", [f"r{i}" for i in range(len(frame))])
    dss.add_dataset("rows", frame)
    first = tabular_classifier(frame.iloc[:12])  # a model trained on few rows...
    second = tabular_classifier(frame)  # ...and one trained on all of them
    v1, v2 = dss.add_model("clf", first), dss.add_model("clf", second)
    truth = three_classes(frame)
    answers = metadata([(1, "LABELED")] * 40 + [(1, "SKIPPED")] * 5)
    answers["data_id"] = frame["row_id"].iloc[:45].to_numpy()
    answers["label"] = np.where(answers["status"] == "LABELED", truth[:45], None)
    answers["strategy"] = ["random"] * 10 + ["margin"] * 35
    answers["model_version"] = [v1] * 10 + [v2] * 35
    answers = answers.rename(columns={"label": "cultivar"})
    dss.add_dataset("meta", answers)

    dss.run(STEP, {"saved_model": "clf", "unlabeled": "rows", "metadata_ds": "meta", "label_col_name": "cultivar",
                   "id_column": "row_id", "sample_size": 1000})
    stored = dss.platform.get_variables()["LABELLOOP__clf__metrics"]

    unanswered = frame.iloc[45:]  # the sample is the whole pool here, less the 45 answered items
    before, after = first.predict(unanswered), second.predict(unanswered)
    assert stored[v2]["previous"] == v1
    assert stored[v2]["compared"] == 255
    assert stored[v2]["contradictionRate"] == pytest.approx((before != after).sum() / 255, abs=1e-6)
    assert stored[v2]["kappa"] == pytest.approx(cohen_kappa_score(before, after), abs=1e-6)
    assert stored[v2]["labels"] == 40
    random_rows = frame.iloc[:10]
    assert stored[v1]["randomLabels"] == 10
    assert stored[v1]["randomAccuracy"] == pytest.approx((first.predict(random_rows) == truth[:10]).mean())
    assert stored[v2]["randomLabels"] == 0


def test_the_step_refuses_bad_params_in_one_sentence(dss):
    frame = pool(50)
    dss.add_dataset("rows", frame)
    dss.add_model("clf", tabular_classifier(frame))
    dss.add_dataset("meta", metadata([(0, "LABELED")]))
    with pytest.raises(LabelloopError, match="either the unlabeled dataset or the unlabeled folder"):
        dss.run(STEP, {"saved_model": "clf", "metadata_ds": "meta"})
    with pytest.raises(LabelloopError, match="no column 'cultivar'"):
        dss.run(STEP, {"saved_model": "clf", "unlabeled": "rows", "metadata_ds": "meta", "label_col_name": "cultivar"})
    with pytest.raises(LabelloopError, match="sample_size"):
        dss.run(STEP, {"saved_model": "clf", "unlabeled": "rows", "metadata_ds": "meta", "sample_size": 0})


def test_row_ids_of_the_step_match_the_webapp(dss):
    """The step finds items by the same ids as the webapp (here: hashes, no id column)."""
    frame = pool(30)
    dss.add_dataset("rows", frame)
    version = dss.add_model("clf", tabular_classifier(frame))
    answers = metadata([(0, "LABELED")] * 3)
    answers["data_id"] = row_ids(dss.read_as_dss("rows"))[:3]
    answers["strategy"], answers["model_version"] = "random", version
    answers["label"] = three_classes(frame)[:3]
    dss.add_dataset("meta", answers)
    dss.run(STEP, {"saved_model": "clf", "unlabeled": "rows", "metadata_ds": "meta"})
    assert dss.platform.get_variables()["LABELLOOP__clf__metrics"][version]["randomLabels"] == 3


def test_the_trigger_and_the_step_run_at_the_params_of_a_new_dss_scenario(dss):
    """Defaults filled in as DSS's UI does, INT params (n, sample_size) delivered as floats."""
    frame = pool(60)
    dss.add_dataset("rows", frame)
    dss.add_dataset("queries")
    first = dss.add_model("clf", tabular_classifier(frame.iloc[:20]))
    second = dss.add_model("clf", tabular_classifier(frame))
    answers = metadata([(0, "LABELED")] * 20)
    answers["data_id"] = row_ids(dss.read_as_dss("rows"))[:20]
    answers["label"] = three_classes(frame)[:20]
    answers["strategy"], answers["model_version"] = "random", first
    dss.add_dataset("meta", answers.iloc[:19])
    trigger = config_as_created(TRIGGER, metadata_ds="meta", queries_ds="queries")
    assert trigger["n"] == 20 and dss.run(TRIGGER, trigger).fired == 0
    dss.add_dataset("meta", answers)
    assert dss.run(TRIGGER, trigger).fired == 1
    dss.run(STEP, config_as_created(STEP, saved_model="clf", unlabeled="rows", metadata_ds="meta"))
    stored = dss.platform.get_variables()["LABELLOOP__clf__metrics"][second]
    assert stored["compared"] == 40 and stored["labels"] == 20


def test_the_step_works_once_every_item_of_the_fixed_sample_is_answered(dss):
    frame = pool(30)
    dss.add_dataset("rows", frame)
    first = dss.add_model("clf", tabular_classifier(frame.iloc[:15]))
    second = dss.add_model("clf", tabular_classifier(frame))
    answers = metadata([(0, "LABELED")] * 30)
    answers["data_id"] = row_ids(dss.read_as_dss("rows"))
    answers["label"] = three_classes(frame)
    answers["strategy"], answers["model_version"] = "margin", first
    dss.add_dataset("meta", answers)
    dss.run(STEP, {"saved_model": "clf", "unlabeled": "rows", "metadata_ds": "meta"})
    stored = dss.platform.get_variables()["LABELLOOP__clf__metrics"][second]
    assert stored["compared"] == 0 and stored["contradictionRate"] is None and stored["labels"] == 30
