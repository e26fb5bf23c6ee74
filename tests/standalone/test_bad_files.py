"""Bad files and second servers, as a user meets them on the command line: each is read right or
refused in one sentence, never a traceback (issue 35, part 5)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess

import numpy as np
import pandas as pd
import pytest
from servers import LABELLOOP, labelloop_server, start_server
from test_cli import run


def penguins(rows: int = 344) -> pd.DataFrame:
    """A table shaped like palmerpenguins: text, measurements with decimals, whole grams, and gaps."""
    generator = np.random.default_rng(7)
    frame = pd.DataFrame({
        "species": generator.choice(["Adelie", "Chinstrap", "Gentoo"], rows),
        "island": generator.choice(["Torgersen", "Biscoe", "Dream"], rows),
        "bill_length_mm": np.round(generator.normal(44, 5, rows), 1),
        "flipper_length_mm": generator.integers(172, 231, rows).astype(float),
        "body_mass_g": generator.integers(2700, 6300, rows).astype(float),
        "year": generator.integers(2007, 2010, rows),
    })
    for column in ("bill_length_mm", "flipper_length_mm", "body_mass_g"):
        frame.loc[[3, 271], column] = np.nan  # two birds were not measured, as in the real table
    return frame


def european_csv(frame: pd.DataFrame, path) -> None:
    """As a spreadsheet in much of Europe saves CSV: semicolons between columns, decimal commas."""
    frame.to_csv(path, sep=";", decimal=",", index=False)


def one_line_error(result) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_semicolon_file_with_decimal_commas_is_read_right_and_exports_whole_numbers(tmp_path):
    frame = penguins()
    data = tmp_path / "penguins.csv"
    european_csv(frame, data)
    header, first = data.read_text().splitlines()[:2]
    assert header.startswith("species;island;") and f"{frame['bill_length_mm'][0]}".replace(".", ",") in first
    result = run("init", tmp_path / "proj", "--data", data, "--type", "tabular", "--categories", "male,female")
    assert "344 items" in result.stdout
    recorded = json.loads((tmp_path / "proj" / "labelloop.json").read_text())
    assert (recorded["delimiter"], recorded["decimal"]) == (";", ",")

    labels = frame.assign(label=np.where(np.arange(len(frame)) % 2, "female", "male"))
    european_csv(labels, tmp_path / "labels.csv")  # the import reads the same kind of file, to the same ids
    assert "Imported 344 labels" in run("import", tmp_path / "proj", "--labels", tmp_path / "labels.csv").stdout

    out = tmp_path / "labels-out.csv"
    run("export", tmp_path / "proj", "--format", "csv", "--out", out)
    exported = pd.read_csv(out)
    assert list(exported.columns[:6]) == list(frame.columns)
    assert exported["bill_length_mm"].dtype == float
    assert exported["bill_length_mm"].round(1).tolist()[:3] == frame["bill_length_mm"].tolist()[:3]
    text = out.read_text().splitlines()
    mass = str(int(frame["body_mass_g"][0]))
    assert f",{mass}," in text[1] and f",{mass}.0," not in text[1]  # whole grams stay whole despite the gaps
    assert pd.read_csv(out, dtype={"body_mass_g": "Int64"})["body_mass_g"].isna().sum() == 2


def test_rows_wider_than_the_sample_are_read_right(tmp_path):
    wide = pd.DataFrame(np.random.default_rng(3).random((12, 3000)), columns=[f"m{n}" for n in range(3000)])
    european_csv(wide, tmp_path / "wide.csv")  # a row is about 60 KB: the sample reads on to see whole lines
    run("init", tmp_path / "proj", "--data", tmp_path / "wide.csv", "--type", "tabular", "--categories", "x,y")
    recorded = json.loads((tmp_path / "proj" / "labelloop.json").read_text())
    assert (recorded["delimiter"], recorded["decimal"]) == (";", ",")


def test_the_flags_settle_what_detection_cannot(tmp_path):
    both = tmp_path / "both.csv"
    both.write_text("a,b;c\n1,2;3\n4,5;6\n")
    message = one_line_error(run("init", tmp_path / "p1", "--data", both, "--type", "tabular", "--categories", "x,y",
                                 ok=False))
    assert message == ("labelloop: error: both.csv: its columns could be separated by commas (2 columns) or "
                       "semicolons (2 columns): give --delimiter to say which.")
    assert not (tmp_path / "p1" / "labelloop.json").exists()
    run("init", tmp_path / "p1", "--data", both, "--type", "tabular", "--categories", "x,y", "--delimiter", "semicolon")
    assert json.loads((tmp_path / "p1" / "labelloop.json").read_text())["delimiter"] == ";"

    mixed = tmp_path / "mixed.csv"
    mixed.write_text("a;b\n1,5;2.5\n3,5;4.5\n")
    message = one_line_error(run("init", tmp_path / "p2", "--data", mixed, "--type", "tabular", "--categories", "x,y",
                                 ok=False))
    assert message == ("labelloop: error: mixed.csv: some numbers are written '1,5' and others '2.5': give --decimal "
                       "to say which mark separates the decimals.")
    run("init", tmp_path / "p2", "--data", mixed, "--type", "tabular", "--categories", "x,y", "--decimal", ",")
    status = json.loads(run("status", tmp_path / "p2", "--json").stdout)
    assert status["total"] == 2


def test_a_plain_csv_is_read_as_before(tmp_path, wine_csv):
    run("init", tmp_path / "proj", "--data", wine_csv, "--type", "tabular", "--categories", "a,b", "--id-column", "wine_id")
    recorded = json.loads((tmp_path / "proj" / "labelloop.json").read_text())
    assert (recorded["delimiter"], recorded["decimal"]) == (",", ".")
    assert json.loads(run("status", tmp_path / "proj", "--json").stdout)["total"] == 178


@pytest.fixture
def project_dir(tmp_path, wine_csv):
    run("init", tmp_path / "proj", "--data", wine_csv, "--type", "tabular", "--categories", "a,b,c", "--id-column", "wine_id")
    return tmp_path / "proj"


def test_a_second_server_is_refused_naming_the_first(project_dir):
    with labelloop_server("serve", project_dir, "--retrain-every", "0") as url:
        first = json.loads((project_dir / "serving.json").read_text())
        second = run("serve", project_dir, "--retrain-every", "0", "--port", "0", ok=False)
        message = one_line_error(second)
        assert message == (f"labelloop: error: {project_dir} is already being served by labelloop process "
                           f"{first['pid']} at {url}: stop that server first, or open it in the browser.")
    assert not (project_dir / "serving.json").exists()  # a clean stop says nobody serves it


def test_a_killed_server_does_not_lock_the_project_out(project_dir):
    process, url = start_server("serve", project_dir, "--retrain-every", "0")
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    process.stdout.close()
    assert json.loads((project_dir / "serving.json").read_text())["url"] == url  # left behind by the killed one
    with labelloop_server("serve", project_dir, "--retrain-every", "0") as again:
        assert json.loads((project_dir / "serving.json").read_text())["url"] == again


def test_a_stop_as_soon_as_the_server_says_where_it_listens_flushes_and_frees_the_project(project_dir):
    process, _ = start_server("serve", project_dir, "--retrain-every", "0")
    process.send_signal(signal.SIGTERM)  # at once: it may land before the server runs, or during its banner
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0 and "Traceback" not in output, output
    assert "datasets are written" in output
    assert not (project_dir / "serving.json").exists()


def test_a_moved_data_file_says_where_its_path_is_kept(project_dir, wine_csv, tmp_path):
    moved = tmp_path / "elsewhere.csv"
    shutil.move(str(wine_csv), moved)
    for command in (["status"], ["export", "--format", "csv"], ["serve", "--port", "0"]):
        message = one_line_error(run(command[0], project_dir, *command[1:], ok=False))
        assert message == (f"labelloop: error: The data {wine_csv} is gone (moved or deleted?): put it back, or give its "
                           f"new path as \"data\" in {project_dir / 'labelloop.json'}.")
    config = json.loads((project_dir / "labelloop.json").read_text())
    (project_dir / "labelloop.json").write_text(json.dumps({**config, "data": str(moved)}))
    assert json.loads(run("status", project_dir, "--json").stdout)["total"] == 178


def test_output_closed_early_ends_in_one_sentence(project_dir):
    reading, writing = os.pipe()
    os.close(reading)  # as `| head` does once it has its lines
    try:
        result = subprocess.run([LABELLOOP, "status", str(project_dir)], stdout=writing, stderr=subprocess.PIPE,
                                text=True, timeout=120)
    finally:
        os.close(writing)
    assert result.stderr.count("\n") == 1 and "output was closed" in result.stderr and "Traceback" not in result.stderr
    assert result.returncode == 128 + signal.SIGPIPE
