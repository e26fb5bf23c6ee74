"""``labelloop simulate``: the oracle loop, active learning against random sampling."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from PIL import Image
from sklearn.datasets import load_digits
from test_cli import run

SPOKEN_DIGITS = Path(__file__).resolve().parents[1] / "demo" / "spoken-digits"


def test_on_digits_margin_needs_at_most_half_the_labels_of_random(tmp_path):
    load_digits(as_frame=True).frame.to_csv(tmp_path / "digits.csv", index=False)
    out = tmp_path / "curves"
    result = run("simulate", "--data", tmp_path / "digits.csv", "--label-column", "target", "--seeds", "5",
                 "--seed-labels", "20", "--batch", "20", "--out", out, "--json")
    report = json.loads(result.stdout)
    assert report["dataset"] == "digits.csv" and 0.9 < report["full_accuracy"] <= 1
    margin, random = report["strategies"]["margin"], report["strategies"]["random"]
    assert margin["labels_to_99"] is not None and random["labels_to_99"] is not None
    assert margin["labels_to_99"] <= random["labels_to_99"] / 2
    assert margin["aulc"] > random["aulc"]
    assert set(report["strategies"]) == {"confidence", "margin", "entropy", "random"}
    assert margin["curve"][0][0] == 20 and margin["curve"][1][0] == 40  # 20 seed labels, batches of 20
    curves = pd.read_csv(out / "curves.csv")
    assert set(curves["seed"]) == set(range(5)) and curves["accuracy"].between(0, 1).all()
    with Image.open(out / "curves.png") as png:
        assert png.format == "PNG" and png.size[0] > 400


def test_a_sound_folder_with_labels_in_a_csv(tmp_path):
    result = run("simulate", "--data", SPOKEN_DIGITS, "--labels", SPOKEN_DIGITS / "labels.csv", "--label-column", "label",
                 "--seeds", "2", "--strategy", "margin,random", "--out", tmp_path / "out")
    assert "spoken-digits: 300 items" in result.stdout
    assert "margin" in result.stdout and "random" in result.stdout and "entropy" not in result.stdout
    assert (tmp_path / "out" / "curves.png").is_file()


def test_diverse_batches_run_beside_plain_ones_and_random_stays_plain(tmp_path):
    load_digits(as_frame=True).frame.to_csv(tmp_path / "digits.csv", index=False)
    report = json.loads(run("simulate", "--data", tmp_path / "digits.csv", "--label-column", "target", "--seeds", "2",
                            "--strategy", "margin,random", "--diversity", "none,cluster", "--batch", "50",
                            "--max-labels", "220", "--out", tmp_path / "out", "--json").stdout)
    assert list(report["strategies"]) == ["margin", "margin+cluster", "random"]
    diverse, plain = report["strategies"]["margin+cluster"], report["strategies"]["margin"]
    assert [n for n, _ in diverse["curve"]] == [20, 70, 120, 170, 220] == [n for n, _ in plain["curve"]]
    assert diverse["aulc"] > report["strategies"]["random"]["aulc"]


def test_bad_input_is_one_line(tmp_path):
    load_digits(as_frame=True).frame.to_csv(tmp_path / "digits.csv", index=False)
    result = run("simulate", "--data", tmp_path / "digits.csv", "--label-column", "digit", ok=False)
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0 and "no column 'digit'" in result.stderr
    result = run("simulate", "--data", tmp_path / "digits.csv", "--label-column", "target", "--strategy", "smart", ok=False)
    assert result.returncode == 2 and "Unknown strategy 'smart'" in result.stderr
    result = run("simulate", "--data", tmp_path / "digits.csv", "--label-column", "target", "--diversity", "kmeans", ok=False)
    assert result.returncode == 2 and "Unknown diversity 'kmeans' (use none, cluster, clue, badge)." in result.stderr
    result = run("simulate", "--data", SPOKEN_DIGITS, "--label-column", "label", ok=False)
    assert result.returncode == 2 and "--labels" in result.stderr


def test_rules_add_a_run_per_strategy_that_learns_from_weak_labels_too(tmp_path):
    from sklearn.datasets import load_wine

    load_wine(as_frame=True).frame.to_csv(tmp_path / "wine.csv", index=False)
    rules = [{"name": "rich", "label": "0", "column": "proline", "op": ">", "value": 1000},
             {"name": "pale", "label": "1", "column": "color_intensity", "op": "<", "value": 3.5},
             {"name": "flat", "label": "2", "column": "flavanoids", "op": "<", "value": 1.0}]
    (tmp_path / "rules.json").write_text(json.dumps(rules))
    report = json.loads(run("simulate", "--data", tmp_path / "wine.csv", "--label-column", "target", "--seeds", "3",
                            "--strategy", "margin,random", "--rules", tmp_path / "rules.json", "--seed-labels", "6",
                            "--batch", "10", "--max-labels", "46", "--out", tmp_path / "out", "--json").stdout)
    assert list(report["strategies"]) == ["margin", "random", "margin+rules", "random+rules"]
    plain, ruled = report["strategies"]["random"], report["strategies"]["random+rules"]
    assert [n for n, _ in plain["curve"]] == [6, 16, 26, 36, 46] == [n for n, _ in ruled["curve"]]
    assert ruled["curve"][0][1] > plain["curve"][0][1]  # with 6 labels, good rules help
    refused = run("simulate", "--data", tmp_path / "wine.csv", "--label-column", "target", "--rules", tmp_path / "nope.json",
                  ok=False)
    assert refused.returncode == 2 and "no such file" in refused.stderr
    (tmp_path / "bad.json").write_text(json.dumps([{**rules[0], "label": "7"}]))
    refused = run("simulate", "--data", tmp_path / "wine.csv", "--label-column", "target", "--rules", tmp_path / "bad.json",
                  ok=False)
    assert refused.returncode == 2 and "Rule 'rich': label must be one of the categories" in refused.stderr
