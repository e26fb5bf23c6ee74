"""Team quality in DSS: the real backend.py with overlap and reviewers by login or group, and the
real labeling-metrics step writing the agreement variable and the suspected errors dataset."""
from __future__ import annotations

import pytest
from polling import eventually
from sampler_models import pool, tabular_classifier, three_classes
from test_dss_loop import STEP, metadata
from test_dss_webapps import start

import labelloop.dss.webapp_backend as dss_backend
from labelloop.errors import LabelloopError

TEAM = {"overlap_share": 1.0, "overlap_annotators": 2.0, "reviewers": "carol, leads"}  # an INT param is a float


@pytest.fixture
def team_flow(dss):
    frame = pool(40)
    dss.add_dataset("rows", frame)
    for name in ("labels", "metadata", "suspects"):
        dss.add_dataset(name)
    dss.add_model("clf", tabular_classifier(frame))
    return dss


def label_all(client, headers, answer) -> dict:
    """Label every item the webapp serves ``headers``' user with ``answer(item)``; returns what was sent."""
    sent = {}
    while True:
        items = client.get("/batch?size=10", headers=headers).get_json()["items"]
        if not items:
            return sent
        for item in items:
            sent[item["id"]] = answer(item)
            assert client.post("/label", json={"id": item["id"], "label": sent[item["id"]]},
                               headers=headers).status_code == 200


def test_two_annotators_overlap_a_group_member_reviews_and_the_step_reports_the_team(team_flow, tmp_path, monkeypatch):
    client = start(team_flow, tmp_path, "tabular", **TEAM)
    truth = dict(zip(map(str, range(40)), three_classes(pool(40))))
    alice, bob = team_flow.login("alice"), team_flow.login("bob")
    by_alice = label_all(client, alice, lambda item: truth[str(item["data"]["name"]).split()[1]])
    flips = {}
    by_bob = label_all(client, bob, lambda item: flips.setdefault(item["id"], "mid") if len(flips) < 6 else
                       truth[str(item["data"]["name"]).split()[1]])
    assert set(by_alice) == set(by_bob) and len(by_alice) == 40  # overlap 1: every item to both

    eve, dave, carol = team_flow.login("eve"), team_flow.login("dave", groups=["leads"]), team_flow.login("carol")
    assert client.get("/review", headers=eve).status_code == 403
    assert client.get("/config", headers=eve).get_json()["reviewer"] is False
    assert client.get("/config", headers=carol).get_json()["reviewer"] is True  # by login
    waiting = client.get("/review?size=100", headers=dave).get_json()  # by group
    disagreeing = {i for i in by_alice if by_alice[i] != by_bob[i]}
    assert {item["id"] for item in waiting["items"]} == disagreeing and waiting["remaining"] == len(disagreeing)
    settled = sorted(disagreeing)[0]
    assert client.post("/review", json={"id": settled, "label": by_alice[settled]}, headers=dave).status_code == 200

    def reviewed():
        if not team_flow.platform.dataset_exists("labels"):
            return False
        labels = team_flow.platform.read_dataset("labels").set_index("item_id")
        return len(labels) == 40 and bool(labels.loc[settled, "reviewed"]) and labels["reviewed"].sum() == 1
    assert eventually(reviewed)
    assert team_flow.platform.read_dataset("labels").set_index("item_id").loc[settled, "label"] == by_alice[settled]

    team_flow.run(STEP, {"saved_model": "clf", "unlabeled": "rows", "metadata_ds": "metadata", "labels_ds": "labels",
                         "suspects_ds": "suspects"})
    found = team_flow.platform.get_variables()["LABELLOOP__metadata__agreement"]
    assert found["items"] == 40 and [(p["a"], p["b"], p["items"]) for p in found["pairs"]] == [("alice", "bob", 40)]
    suspects = team_flow.platform.read_dataset("suspects")
    assert suspects.columns.tolist() == ["item_id", "label", "suggested", "score"]
    assert (suspects["label"] != suspects["suggested"]).all() and suspects["score"].is_monotonic_decreasing

    monkeypatch.setattr(dss_backend.DatasetSuspects, "REFRESH_SECONDS", 0)
    reviewing = start(team_flow, tmp_path, "tabular", **TEAM, suspects_ds="suspects")
    served = reviewing.get("/review?size=100", headers=carol).get_json()["items"]
    reasons = {item["id"]: item["reason"] for item in served}
    assert settled not in reasons and all(reasons[i] == "disagreement" for i in disagreeing - {settled})
    expected = [i for i in suspects["item_id"] if i not in disagreeing]
    assert [i for i, reason in reasons.items() if reason == "suspect"] == expected


def test_bad_team_settings_are_refused(team_flow, tmp_path):
    with pytest.raises(LabelloopError, match="overlap_share must be a number from 0 to 1"):
        start(team_flow, tmp_path, "tabular", overlap_share=2.0)
    with pytest.raises(LabelloopError, match="overlap_annotators must be a whole number between 2 and 5"):
        start(team_flow, tmp_path, "tabular", overlap_annotators=9.0)  # no bounds in the form: checked here
    team_flow.add_dataset("metadata", metadata([(0, "LABELED")]).assign(strategy=None, model_version=None))
    with pytest.raises(LabelloopError, match="needs the labels dataset"):
        team_flow.run(STEP, {"saved_model": "clf", "unlabeled": "rows", "metadata_ds": "metadata", "suspects_ds": "suspects"})


def test_without_reviewers_nobody_reviews_in_dss(team_flow, tmp_path):
    client = start(team_flow, tmp_path, "tabular")
    assert client.get("/review", headers=team_flow.login("alice")).status_code == 403
