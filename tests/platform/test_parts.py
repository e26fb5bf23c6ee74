"""Datasets kept as Parquet parts: a write adds what changed, and the folder reads as one dataset."""
from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import threading

import pandas as pd
import pyarrow.dataset as ds
import pytest
from annotators import call
from polling import eventually
from servers import labelloop_server
from test_loop import wine_project

from labelloop.platform.parquet_parts import FANOUT, MAX_PART_ROWS, PartedDataset, part_numbers, read_parts


def answers(ids, label, annotator="ann"):
    return pd.DataFrame({"data_id": [str(i) for i in ids], "annotator": annotator, "label": label,
                         "label_id": range(len(ids))})


def as_dict(frame):
    return {(r.data_id, r.annotator): r.label for r in frame.itertuples()}


def test_rows_are_inserted_replaced_and_removed_and_any_reader_sees_one_dataset(tmp_path):
    folder = tmp_path / "metadata.parquet"
    parts = PartedDataset(folder, ("data_id", "annotator"))
    expected = {}
    for start in range(0, 3000, 10):  # 300 flushes of 10 labels
        parts.write(answers(range(start, start + 10), "a"))
        expected.update({(str(i), "ann"): "a" for i in range(start, start + 10)})
    parts.write(answers([5, 1234], "b"), removed=[("2999", "ann")])  # two changed answers, one withdrawn
    expected.update({("5", "ann"): "b", ("1234", "ann"): "b"})
    del expected[("2999", "ann")]
    for read in (lambda: pd.read_parquet(folder), lambda: ds.dataset(folder).to_table().to_pandas(), parts.read):
        frame = read()
        assert len(frame) == len(expected) and as_dict(frame) == expected
    # small parts were merged as they came: a handful per size class, not 300
    assert parts.parts <= 4 * FANOUT
    reopened = PartedDataset(folder, ("data_id", "annotator"))
    assert len(reopened) == len(expected) and reopened.parts == parts.parts


def test_a_reader_of_the_folder_never_fails_while_the_writer_merges_parts(tmp_path):
    folder = tmp_path / "metadata.parquet"
    parts = PartedDataset(folder, ("data_id", "annotator"))
    parts.write(answers(range(10), "a"))
    done = threading.Event()

    def write():  # 200 flushes of 5 labels: parts are merged, and removed, all along
        for start in range(10, 1010, 5):
            parts.write(answers(range(start, start + 5), "a"))
        done.set()
    writer = threading.Thread(target=write)
    writer.start()
    seen = 0
    while not done.is_set():
        keys = set(read_parts(folder)["data_id"])
        assert len(keys) >= seen  # what was written stays: a read sees every row of an earlier read, or more
        seen = len(keys)
    writer.join()
    assert len(read_parts(folder)) == 1010


def test_a_write_of_new_rows_leaves_the_parts_already_written_untouched(tmp_path):
    folder = tmp_path / "labels.parquet"
    parts = PartedDataset(folder, ("item_id",))
    parts.replace(pd.DataFrame({"item_id": [str(i) for i in range(2 * MAX_PART_ROWS)], "label": "x"}))
    written = {n: (folder / f"part-{n:010d}.parquet").stat().st_mtime_ns for n in part_numbers(folder)}
    assert len(written) == 2  # a whole write is cut into parts of MAX_PART_ROWS
    parts.write(pd.DataFrame({"item_id": ["new-1", "new-2"], "label": "y"}))
    after = {n: (folder / f"part-{n:010d}.parquet").stat().st_mtime_ns for n in part_numbers(folder)}
    assert {n: after[n] for n in written} == written and len(after) == 3
    parts.write(pd.DataFrame({"item_id": ["7"], "label": "z"}))  # a change rewrites only the part that held it
    changed = {n for n in written if (folder / f"part-{n:010d}.parquet").stat().st_mtime_ns != written[n]}
    assert changed == {min(written)}
    frame = pd.read_parquet(folder)
    assert len(frame) == 2 * MAX_PART_ROWS + 2 and frame.set_index("item_id").loc["7", "label"] == "z"


def test_a_column_that_changes_type_widens_every_part(tmp_path):
    folder = tmp_path / "labels.parquet"
    parts = PartedDataset(folder, ("item_id",))
    parts.write(pd.DataFrame({"item_id": ["1"], "comment": [None], "score": [1], "mixed": [1]}))
    parts.write(pd.DataFrame({"item_id": ["2"], "comment": ["nice"], "score": [2.5], "mixed": ["two"]}))
    parts.write(pd.DataFrame({"item_id": ["3"], "comment": [None], "score": [3], "mixed": [[3, 3]]}))
    frame = pd.read_parquet(folder).set_index("item_id")
    assert frame["comment"].tolist()[1] == "nice" and frame["score"].tolist() == [1.0, 2.5, 3.0]
    assert frame["mixed"].tolist() == ["1", "two", "[3, 3]"]  # values of several kinds meet as text
    with pytest.raises(ValueError, match="columns changed"):
        parts.write(pd.DataFrame({"item_id": ["4"], "other": [1]}))


HANG_AFTER_THE_NEW_PART = textwrap.dedent("""
    import sys, time
    import pandas as pd
    from labelloop.platform import parquet_parts as module
    folder, marker = sys.argv[1], sys.argv[2]
    parts = module.PartedDataset(folder, ("item_id",))
    def hang(self, number, values):
        open(marker, "w").close()
        time.sleep(600)
    module.PartedDataset._drop_from = hang
    parts.write(pd.DataFrame({"item_id": ["1"], "label": ["new"]}))
""")


def _kill_when_marked(script: str, folder, marker) -> None:
    """Run ``script`` on the dataset ``folder`` in a process, and SIGKILL it once it creates ``marker``."""
    process = subprocess.Popen([sys.executable, "-c", script, str(folder), str(marker)])
    try:
        assert eventually(marker.exists, timeout=60)
    finally:
        process.kill()
        process.wait()


def test_a_write_killed_between_its_new_part_and_the_old_one_loses_nothing(tmp_path):
    folder, marker = tmp_path / "labels.parquet", tmp_path / "written"
    parts = PartedDataset(folder, ("item_id",))
    parts.write(pd.DataFrame({"item_id": ["1", "2"], "label": ["old", "old"]}), marks={"seen": 2, "reviewed": 0})
    _kill_when_marked(HANG_AFTER_THE_NEW_PART, folder, marker)
    assert len(pd.read_parquet(folder)) == 3  # item 1 in two parts, for the moment
    reopened = PartedDataset(folder, ("item_id",))  # the newest copy wins; the marks are the last whole write's
    assert reopened.marks == {"seen": 2, "reviewed": 0}
    assert pd.read_parquet(folder).set_index("item_id")["label"].to_dict() == {"1": "new", "2": "old"}


HANG_IN_A_MERGE = textwrap.dedent("""
    import os, sys, time
    import pandas as pd
    from labelloop.platform.parquet_parts import PartedDataset
    folder, marker = sys.argv[1], sys.argv[2]
    parts = PartedDataset(folder, ("item_id",))
    def hang(path):  # the merged part is written; the parts it came from are still there
        open(marker, "w").close()
        time.sleep(600)
    os.remove = hang
    parts.write(pd.DataFrame({"item_id": ["7"], "label": ["seven"]}))
""")


def test_a_merge_killed_before_its_old_parts_are_gone_loses_nothing(tmp_path):
    folder, marker = tmp_path / "labels.parquet", tmp_path / "merging"
    parts = PartedDataset(folder, ("item_id",))
    for n in range(FANOUT - 1):  # one part more of this size class, and they merge
        parts.write(pd.DataFrame({"item_id": [str(n)], "label": [f"label {n}"]}))
    assert parts.parts == FANOUT - 1
    _kill_when_marked(HANG_IN_A_MERGE, folder, marker)
    assert len(pd.read_parquet(folder)) > FANOUT  # the merged rows, and most of them again in their old parts
    reopened = PartedDataset(folder, ("item_id",))
    expected = {str(n): f"label {n}" for n in range(FANOUT - 1)} | {"7": "seven"}
    assert pd.read_parquet(folder).set_index("item_id")["label"].to_dict() == expected
    assert len(pd.read_parquet(folder)) == len(reopened) == FANOUT
    reopened.write(pd.DataFrame({"item_id": ["8"], "label": ["eight"]}))  # and writing goes on
    assert pd.read_parquet(folder).set_index("item_id")["label"].to_dict() == expected | {"8": "eight"}


def test_a_served_project_keeps_its_datasets_as_parts_and_takes_over_a_single_file(tmp_path):
    project, truth = wine_project(tmp_path)
    datasets = project / "datasets"
    with labelloop_server("serve", project, "--retrain-every", "0") as url:
        batch = call(url, "batch?size=3")[1]["items"]
        for item in batch:
            assert call(url, "label", {"id": item["id"], "label": truth[item["id"]]})[0] == 200
    assert (datasets / "metadata.parquet").is_dir() and (datasets / "labels.parquet").is_dir()
    for name in ("metadata", "labels"):  # as a project written before parts had them
        frame = pd.read_parquet(datasets / f"{name}.parquet")
        shutil.rmtree(datasets / f"{name}.parquet")
        frame.to_parquet(datasets / f"{name}.parquet")

    first = batch[0]["id"]
    with labelloop_server("serve", project, "--retrain-every", "0") as url:
        wrong = next(c for c in ("c0", "c1", "c2") if c != truth[first])
        assert call(url, "label", {"id": first, "label": wrong})[0] == 200  # an answer changed
        skipped = call(url, "batch?size=1")[1]["items"][0]["id"]
        assert call(url, "skip", {"id": skipped})[0] == 200
    metadata = pd.read_parquet(datasets / "metadata.parquet")
    labels = pd.read_parquet(datasets / "labels.parquet").set_index("item_id")
    assert (datasets / "metadata.parquet").is_dir()
    assert sorted(metadata["data_id"]) == sorted([item["id"] for item in batch] + [skipped])
    assert sorted(labels.index) == sorted(item["id"] for item in batch) and labels.loc[first, "label"] == wrong
