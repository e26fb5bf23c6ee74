"""Existing labels imported and the team's agreement reported, through the ``labelloop`` command."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from polling import eventually
from sklearn.datasets import load_digits, load_wine
from test_agreement import alpha_by_hand, kappa_by_hand
from test_cli import run
from test_webapp_api import as_user, make_client

import labelloop.labeling.team_agreement as team_agreement
from labelloop.labeling.app import create_app, webapp_of
from labelloop.standalone.project import Project
from labelloop.standalone.server import serve_settings

CLASSES = ["a", "b", "c"]


@pytest.fixture
def wine_project(tmp_path, wine_csv):
    run("init", tmp_path / "proj", "--data", wine_csv, "--type", "tabular", "--categories", ",".join(CLASSES),
        "--id-column", "wine_id")
    return tmp_path / "proj"


def team_files(folder, overlap=0.3, seed=0) -> dict:
    """Three annotators' label files over wine: ada and bob are right 95% of the time, eve answers at
    random. Each item goes to one of them, and 30% of the items to all three."""
    rng = np.random.default_rng(seed)
    truth = np.asarray(CLASSES)[load_wine().target]
    ids = np.arange(1000, 1000 + len(truth))
    shared = rng.random(len(truth)) < overlap
    owner = rng.integers(0, 3, len(truth))
    paths = {}
    for n, name in enumerate(["ada", "bob", "eve"]):
        mine = shared | (owner == n)
        if name == "eve":
            labels = rng.choice(CLASSES, mine.sum())
        else:
            labels = np.where(rng.random(mine.sum()) < 0.95, truth[mine], rng.choice(CLASSES, mine.sum()))
        paths[name] = folder / f"{name}.csv"
        pd.DataFrame({"wine_id": ids[mine], "label": labels}).to_csv(paths[name], index=False)
    return paths


def test_imported_labels_of_three_annotators_single_out_the_one_answering_at_random(wine_project, tmp_path):
    files = team_files(tmp_path)
    for name, path in files.items():
        result = json.loads(run("import", wine_project, "--labels", path, "--annotator", name, "--json").stdout)
        assert result == {"imported": len(pd.read_csv(path)), "skipped": []}
    found = json.loads(run("quality", wine_project, "--json").stdout)["agreement"]

    answers = pd.concat([pd.read_csv(p).assign(annotator=n) for n, p in files.items()])
    answers["item_id"] = answers["wine_id"].astype(str)
    assert found["items"] == answers["item_id"].duplicated(keep=False).groupby(answers["item_id"]).any().sum()
    assert found["alpha"] == pytest.approx(alpha_by_hand(answers), abs=1e-9)
    table = answers.pivot(index="item_id", columns="annotator", values="label")
    kappas = {}
    for pair in found["pairs"]:
        both = table[[pair["a"], pair["b"]]].dropna()
        assert pair["kappa"] == pytest.approx(kappa_by_hand(both[pair["a"]].tolist(), both[pair["b"]].tolist()))
        kappas[pair["a"], pair["b"]] = pair["kappa"]
    assert kappas["ada", "bob"] > 0.7 > 0.3 > max(kappas["ada", "eve"], kappas["bob", "eve"])
    shares = {name: value["agreement"] for name, value in found["annotators"].items()}
    assert min(shares["ada"], shares["bob"]) > 0.8 > 0.5 > shares["eve"]

    text = run("quality", wine_project).stdout
    assert "Krippendorff's alpha" in text and "eve" in text and "agrees with the others" in text
    labels = pd.read_parquet(wine_project / "datasets" / "labels.parquet")  # the datasets follow the import
    assert set(labels["wine_id"]) == {int(i) for i in answers["item_id"]}


def test_bad_rows_are_listed_and_nothing_is_written_unless_skip_invalid(wine_project, tmp_path):
    path = tmp_path / "labels.csv"
    pd.DataFrame({"wine_id": [1000, 1001, 99999, 1003], "label": ["a", "zebra", "b", None]}).to_csv(path, index=False)
    refused = run("import", wine_project, "--labels", path, "--annotator", "ada", ok=False)
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert "3 of 4 rows cannot be imported, so none was" in refused.stderr
    assert "row 2: unknown label 'zebra'; row 3: unknown item; row 4: no label" in refused.stderr
    assert Project.open(wine_project).journal.event_count() == 0

    result = json.loads(run("import", wine_project, "--labels", path, "--annotator", "ada", "--skip-invalid",
                            "--json").stdout)
    assert result["imported"] == 1 and [s["row"] for s in result["skipped"]] == [2, 3, 4]
    current = Project.open(wine_project).journal.current_frame()
    assert current[["item_id", "annotator", "label", "strategy"]].values.tolist() == [["1000", "ada", "a", "import"]]


@pytest.mark.parametrize("content, message", [
    ("wine_id,verdict\n1000,a\n", "no label column 'label'"),
    ("id,label\n1000,a\n", "no column 'wine_id'"),
    ("wine_id,label\n1000,a\n1000,b\n", "duplicate values"),
    (b"wine_id,label\n1000,caf\xe9\n", "not UTF-8"),
])
def test_a_file_that_cannot_be_read_as_labels_gets_one_sentence(wine_project, tmp_path, content, message):
    path = tmp_path / "labels.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    refused = run("import", wine_project, "--labels", path, ok=False)
    assert refused.returncode == 2 and message in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert Project.open(wine_project).journal.event_count() == 0


def test_an_empty_annotator_name_is_refused(wine_project, tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("wine_id,label\n1000,a\n")
    refused = run("import", wine_project, "--labels", path, "--annotator", " ", ok=False)
    assert refused.returncode == 2 and "--annotator must be a name" in refused.stderr
    assert Project.open(wine_project).journal.event_count() == 0


def test_rows_of_a_project_without_ids_are_found_by_their_values(tmp_path):
    frame = load_wine(as_frame=True).frame.drop(columns="target")
    frame.to_csv(tmp_path / "wine.csv", index=False)
    run("init", tmp_path / "proj", "--data", tmp_path / "wine.csv", "--type", "tabular", "--categories", "a,b,c")
    labeled = frame.head(5).assign(label=["a", "b", "c", "a", "b"]).sample(frac=1, random_state=0)
    labeled[list(reversed(labeled.columns))].to_json(tmp_path / "old.jsonl", orient="records", lines=True, double_precision=15)
    assert "Imported 5 labels." in run("import", tmp_path / "proj", "--labels", tmp_path / "old.jsonl").stdout
    project = Project.open(tmp_path / "proj")
    ids = project.source.ids
    assert dict(project.journal.current_frame()[["item_id", "label"]].values) == dict(zip(ids[:5], "abcab"))


def test_flipped_labels_are_the_top_suspects(tmp_path):
    digits = load_digits(as_frame=True)
    frame = digits.data.assign(digit_id=range(len(digits.target)))
    frame.to_csv(tmp_path / "digits.csv", index=False)
    run("init", tmp_path / "proj", "--data", tmp_path / "digits.csv", "--type", "tabular", "--categories",
        ",".join(map(str, range(10))), "--id-column", "digit_id")
    rng = np.random.default_rng(0)
    labels = digits.target.to_numpy().copy()
    flipped = rng.random(len(labels)) < 0.1
    labels[flipped] = (labels[flipped] + rng.integers(1, 10, flipped.sum())) % 10  # another digit
    pd.DataFrame({"digit_id": frame["digit_id"], "label": labels}).to_csv(tmp_path / "old.csv", index=False)
    run("import", tmp_path / "proj", "--labels", tmp_path / "old.csv", "--annotator", "old")

    found = json.loads(run("quality", tmp_path / "proj", "--json").stdout)
    top = found["suspects"][:len(labels) // 10]  # the top 10% of the items, or every suspect when fewer
    assert len(top) >= 0.8 * (len(labels) // 10)
    precision = np.mean([flipped[int(s["item_id"])] for s in top])
    assert precision >= 0.6, precision
    scores = [s["score"] for s in found["suspects"]]
    assert scores == sorted(scores, reverse=True)
    assert all(s["suggested"] != s["label"] for s in found["suspects"])
    assert "Suspected label errors" in run("quality", tmp_path / "proj").stdout


def test_too_few_labels_for_suspects_say_why_and_agreement_is_still_reported(wine_project, tmp_path):
    path = tmp_path / "few.csv"
    pd.DataFrame({"wine_id": [1000, 1001], "label": ["a", "b"]}).to_csv(path, index=False)
    run("import", wine_project, "--labels", path)
    found = json.loads(run("quality", wine_project, "--json").stdout)
    assert found["suspects"] is None and "two labels or more" in found["suspectsUnavailable"]
    assert found["agreement"]["items"] == 0


def test_three_annotators_served_with_30_percent_overlap_single_out_the_one_answering_at_random(tmp_path, monkeypatch):
    """Through the API, as a team would: each asks for batches; 30% of the items go to all three."""
    monkeypatch.setattr(team_agreement, "AGREEMENT_CPU_SHARE", float("inf"))  # fresh after every label
    wine = load_wine()
    truth = dict(zip(map(str, range(len(wine.target))), np.asarray(CLASSES)[wine.target]))
    frame = pd.DataFrame(wine.data, columns=wine.feature_names).assign(n=range(len(wine.target)))
    client, service = make_client(tmp_path, frame, categories=[{"key": k} for k in CLASSES], overlap_share=0.3,
                                  overlap_annotators=3)
    rng = np.random.default_rng(0)
    sent = []
    while True:
        served = 0
        for name in ("ada", "bob", "eve"):
            for item in client.get("/batch?size=5", headers=as_user(name)).get_json()["items"]:
                right = truth[item["id"]] if rng.random() < 0.95 else rng.choice(CLASSES)
                given = rng.choice(CLASSES) if name == "eve" else right
                assert client.post("/label", json={"id": item["id"], "label": given},
                                   headers=as_user(name)).status_code == 200
                sent.append({"item_id": item["id"], "annotator": name, "label": given})
                served += 1
        if not served:
            break
    answers = pd.DataFrame(sent)
    per_item = answers.groupby("item_id").size()
    assert set(per_item) == {1, 3} and 0.2 < (per_item == 3).mean() < 0.4  # the overlap, each to all three
    assert not answers.duplicated(["item_id", "annotator"]).any()

    found = client.get("/stats").get_json()["agreement"]
    assert found["items"] == (per_item == 3).sum()
    assert found["alpha"] == pytest.approx(alpha_by_hand(answers), abs=1e-9)
    table = answers.pivot(index="item_id", columns="annotator", values="label")
    kappas = {}
    for pair in found["pairs"]:
        both = table[[pair["a"], pair["b"]]].dropna()
        assert pair["items"] == len(both)
        assert pair["kappa"] == pytest.approx(kappa_by_hand(both[pair["a"]].tolist(), both[pair["b"]].tolist()))
        kappas[pair["a"], pair["b"]] = pair["kappa"]
    assert kappas["ada", "bob"] > 0.7 > 0.3 > max(kappas["ada", "eve"], kappas["bob", "eve"])
    shares = {name: value["agreement"] for name, value in found["annotators"].items()}
    assert min(shares["ada"], shares["bob"]) > 0.7 > 0.5 > shares["eve"]  # on the items where the others agree
    single = per_item[per_item == 1].index[0]
    client.post("/label", json={"id": single, "label": "a"}, headers=as_user("zoe"))  # one more shared item
    assert client.get("/stats").get_json()["agreement"]["items"] == found["items"] + 1
    service.journal.close()


@pytest.mark.parametrize("flag, value, message", [
    ("--overlap-share", "1.5", "overlap_share must be a number from 0 to 1"),
    ("--overlap-annotators", "9", "overlap_annotators must be a whole number between 2 and 5"),
])
def test_overlap_settings_are_checked_at_init(tmp_path, wine_csv, flag, value, message):
    refused = run("init", tmp_path / "proj", "--data", wine_csv, "--type", "tabular", "--categories", "a,b,c", flag, value,
                  ok=False)
    assert refused.returncode == 2 and message in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "proj" / "labelloop.json").exists()


def test_agreement_is_computed_again_only_after_an_answer_on_a_shared_item(tmp_path, monkeypatch):
    """A busy team labels mostly items nobody else answers: those labels leave agreement as it was."""
    monkeypatch.setattr(team_agreement, "AGREEMENT_CPU_SHARE", float("inf"))  # no pause: only the answers count
    computed = []
    real = team_agreement.agreement
    monkeypatch.setattr(team_agreement, "agreement", lambda frame: computed.append(len(frame)) or real(frame))
    frame = pd.DataFrame({"x": range(40)}).assign(n=range(40))
    client, service = make_client(tmp_path, frame, categories=[{"key": "a"}, {"key": "b"}])
    items = [item["id"] for item in client.get("/batch?size=6", headers=as_user("ada")).get_json()["items"]]
    for item in items:
        assert client.post("/label", json={"id": item, "label": "a"}, headers=as_user("ada")).status_code == 200
    calls = len(computed)
    for item in items[:3]:  # more labels on items only ada answered
        client.post("/label", json={"id": item, "label": "b"}, headers=as_user("ada"))
    assert len(computed) == calls and client.get("/stats").get_json()["agreement"]["items"] == 0
    client.post("/label", json={"id": items[0], "label": "a"}, headers=as_user("bob"))  # now shared
    assert client.get("/stats").get_json()["agreement"]["items"] == 1 and len(computed) == calls + 1
    client.post("/label", json={"id": items[0], "label": "b"}, headers=as_user("bob"))  # a shared answer changed
    found = client.get("/stats").get_json()["agreement"]
    assert len(computed) == calls + 2 and found["items"] == 1
    service.journal.close()


def test_stats_list_the_suspected_errors_with_the_item_in_a_few_words(wine_project):
    """What ``labelloop quality`` finds, a served project's ``/stats`` shows too (the Team panel's list)."""
    truth = np.array(CLASSES)[load_wine().target]
    labels = truth.copy()
    labels[[0, 60, 140]] = ["b", "c", "a"]  # three wrong labels
    pd.DataFrame({"wine_id": range(1000, 1000 + len(labels)), "label": labels}).to_csv(
        wine_project / "old.csv", index=False)
    run("import", wine_project, "--labels", wine_project / "old.csv", "--annotator", "old")
    listed = json.loads(run("quality", wine_project, "--json").stdout)["suspects"]
    project = Project.open(wine_project)
    app = create_app(serve_settings(project))
    try:
        client = app.test_client()
        assert eventually(lambda: client.get("/stats").get_json()["suspects"] is not None, timeout=60)
        shown = client.get("/stats").get_json()["suspects"]
    finally:
        webapp_of(app).stop()
        project.close()
    assert shown["count"] == len(listed) >= 3
    assert shown["items"] == [{"itemId": s["item_id"], "preview": s["preview"], "label": s["label"],
                               "suggested": s["suggested"]} for s in listed[:10]]
    assert {"1000", "1060", "1140"} <= {s["itemId"] for s in shown["items"]}
    assert all(s["preview"].startswith("alcohol ") for s in shown["items"])  # the row's first columns, not the id
