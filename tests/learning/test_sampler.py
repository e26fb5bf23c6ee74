"""The sampler over a whole pool, on the local platform."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sampler_models import pool, tabular_classifier, tabular_regressor

from labelloop.errors import LabelloopError
from labelloop.learning.query_sampler import Pool, SamplerSettings, run_sampler
from labelloop.platform.local import LocalPlatform
from labelloop.sampling import scores
from labelloop.store.items import row_ids
from labelloop.store.sessions import current_session


@pytest.fixture
def platform(tmp_path):
    platform = LocalPlatform(tmp_path)
    frame = pool()
    frame = pd.concat([frame, frame.iloc[[5, 5, 9]]], ignore_index=True)  # exact duplicate rows
    platform.write_dataset("pool", frame)
    platform.registry("clf").save(tabular_classifier(frame), {})
    return platform


def sample(platform, answered=(), **settings):
    """Plain ranking unless told otherwise (diverse batches have tests of their own, test_diversity.py)."""
    settings = {"diversity": "none", **settings}
    summary = run_sampler(platform, "clf", Pool("pool"), "queries", set(answered), SamplerSettings(seed=3, **settings))
    return summary, platform.read_dataset("queries")


def test_queries_are_the_most_uncertain_rows_sorted_and_stamped(platform):
    summary, queries = sample(platform, max_queries=30, random_share=0.0, strategy="entropy")
    frame = platform.read_dataset("pool")
    probabilities = platform.model_probabilities("clf", frame).matrix
    expected = np.sort(scores(probabilities, "entropy"))[::-1][:30]
    assert np.allclose(queries["uncertainty"], expected)
    assert queries.columns.tolist() == ["f1", "f2", "name", "uncertainty", "strategy", "session", "model_version", "item_id"]
    assert (queries["strategy"] == "entropy").all() and (queries["session"] == 1).all()
    assert (queries["model_version"] == "v0001").all()
    assert summary == {"scored": 403, "unscored": 0, "answered": 0, "queries": 30, "random": 0, "session": 1,
                       "modelVersion": "v0001", "diversity": "none"}
    assert current_session(platform, "queries") == 1


def test_item_ids_match_the_whole_pool_including_duplicates(platform):
    _, queries = sample(platform, chunk_size=7)
    frame = platform.read_dataset("pool")
    ids = dict(zip(row_ids(frame), frame.to_dict("records")))
    assert len(queries) == 403 and queries["item_id"].is_unique
    for record in queries.to_dict("records"):
        assert {k: record[k] for k in ("f1", "f2", "name")} == ids[record["item_id"]]
    assert {i for i in queries["item_id"] if "#" in i} == {f"{row_ids(frame)[5]}#2", f"{row_ids(frame)[5]}#3",
                                                           f"{row_ids(frame)[9]}#2"}


def test_chunking_does_not_change_the_result(platform):
    _, whole = sample(platform, max_queries=25, chunk_size=10_000)
    _, chunked = sample(platform, max_queries=25, chunk_size=7)
    pd.testing.assert_frame_equal(whole.drop(columns=["session", "strategy"]), chunked.drop(columns=["session", "strategy"]))


def test_answered_items_are_left_out_even_among_duplicates(platform):
    frame = platform.read_dataset("pool")
    ids = row_ids(frame)
    answered = {ids[0], ids[5], f"{ids[5]}#3"}
    summary, queries = sample(platform, answered=answered, chunk_size=50)
    assert summary["answered"] == 3 and summary["scored"] == 400
    assert answered.isdisjoint(queries["item_id"]) and f"{ids[5]}#2" in set(queries["item_id"])


def test_a_random_share_is_drawn_from_outside_the_top_and_marked(platform):
    _, ranked = sample(platform, max_queries=40, random_share=0.0)
    _, mixed = sample(platform, max_queries=40, random_share=0.25)
    assert (mixed["strategy"] == "random").sum() == 10 and len(mixed) == 40
    top30 = set(ranked["item_id"][:30])
    assert set(mixed.loc[mixed["strategy"] == "margin", "item_id"]) == top30
    assert top30.isdisjoint(mixed.loc[mixed["strategy"] == "random", "item_id"])
    assert mixed["uncertainty"].is_monotonic_decreasing


def test_with_everything_answered_the_queries_are_empty_but_well_formed(platform):
    ids = row_ids(platform.read_dataset("pool"))
    summary, queries = sample(platform, answered=set(ids))
    assert summary["queries"] == 0 and summary["scored"] == 0
    assert "uncertainty" in queries.columns and "item_id" in queries.columns


@pytest.mark.parametrize("settings, message", [
    ({"strategy": "smallest"}, "Unknown strategy"),
    ({"max_queries": 0}, "max_queries"),
    ({"random_share": 1.5}, "random_share"),
    ({"chunk_size": 0}, "chunk_size"),
])
def test_bad_settings_are_refused(settings, message):
    with pytest.raises(LabelloopError, match=message):
        SamplerSettings(**settings)


def test_models_that_cannot_rank_are_refused_with_a_clear_error(platform):
    platform.registry("reg").save(tabular_regressor(platform.read_dataset("pool")), {})
    with pytest.raises(LabelloopError, match="no class probabilities"):
        run_sampler(platform, "reg", Pool("pool"), "queries", set(), SamplerSettings())
    platform.write_dataset("other", pd.DataFrame({"f1": [0.1], "g": [1.0]}))
    with pytest.raises(LabelloopError, match="model's features"):
        run_sampler(platform, "clf", Pool("other"), "queries", set(), SamplerSettings())
    platform.write_dataset("clash", pool().assign(uncertainty=1.0))
    with pytest.raises(LabelloopError, match="already has a column 'uncertainty'"):
        run_sampler(platform, "clf", Pool("clash"), "queries", set(), SamplerSettings())


def test_a_page_refreshing_while_the_sampler_runs_gets_the_new_session_s_queries(platform, tmp_path, monkeypatch):
    """The queries are written before the session moves: a refresh in between sees both or neither."""
    import labelloop.labeling.project_state as project_state
    import labelloop.labeling.service as labeling
    from labelloop.labeling.app import Settings, create_app, webapp_of
    from labelloop.store.items import TableSource
    from labelloop.store.journal import Journal

    class RefreshingPlatform(LocalPlatform):
        refresh = None

        def update_variables(self, change):
            variables = super().update_variables(change)
            if self.refresh:
                self.refresh()  # a page asks for a batch right as the session changes
            return variables

    served = RefreshingPlatform(platform.root)
    monkeypatch.setattr(project_state, "SESSION_CHECK_SECONDS", 0.0)
    config = labeling.LabelingConfig(type="tabular", categories=[{"key": k} for k in ("low", "mid", "high")],
                                     queries="queries")
    service = webapp_of(create_app(Settings(served, Journal(f"sqlite:///{tmp_path / 'j.sqlite'}"),
                                            TableSource(served.read_dataset("pool")), config,
                                            identify=lambda request: "ada"))).service
    served.refresh = lambda: service.batch("ada", 1)
    run_sampler(served, "clf", Pool("pool"), "queries", set(), SamplerSettings(seed=3, max_queries=10))
    served.refresh = None
    item = service.batch("bob", 1)["items"][0]
    assert item["query"]["session"] == 1 == current_session(served, "queries")
