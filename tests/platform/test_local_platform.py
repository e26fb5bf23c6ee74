"""The standalone adapter: files, folders, variables and the model registry."""
from __future__ import annotations

import os
import threading

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from labelloop.errors import LabelloopError, NotFound
from labelloop.platform.local import LocalPlatform
from labelloop.platform.registry import ModelRegistry
from labelloop.store.sessions import current_session, next_session
from labelloop.store.variables import variable_name

FRAME = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": ["x\ry", 'say "hi", then go', None, "line\nbreak", "v"],
                      "c": [0.5, np.nan, 1.5, 2.5, 3.5]})


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_reads_csv_parquet_and_jsonl_whole_in_chunks_and_by_column(tmp_path, suffix):
    platform = LocalPlatform(tmp_path, datasets={"data": f"data{suffix}"})
    platform.write_dataset("data", FRAME)
    pd.testing.assert_frame_equal(platform.read_dataset("data"), FRAME, check_dtype=False)
    chunks = list(platform.iter_dataset("data", chunksize=2))
    assert [len(c) for c in chunks] == [2, 2, 1]
    assert platform.read_dataset("data", columns=["c"]).columns.tolist() == ["c"]
    assert [c.columns.tolist() for c in platform.iter_dataset("data", 10, columns=["a"])] == [["a"]]


def test_new_datasets_are_parquet_or_csv_on_request_and_writes_leave_no_temporary_file(tmp_path):
    LocalPlatform(tmp_path).write_dataset("labels", FRAME)
    LocalPlatform(tmp_path, write_format="csv").write_dataset("metadata", FRAME)
    assert sorted(os.listdir(tmp_path / "datasets")) == ["labels.parquet", "metadata.csv"]
    assert LocalPlatform(tmp_path).dataset_exists("metadata")  # found whatever its format
    assert not LocalPlatform(tmp_path).dataset_exists("queries")
    with pytest.raises(LabelloopError):
        LocalPlatform(tmp_path, write_format="xlsx")


def test_unreadable_files_give_one_line_errors(tmp_path):
    (tmp_path / "bad.jsonl").write_text('{"a": 1}\nnot json\n')
    (tmp_path / "latin.csv").write_bytes("name\nJos\xe9\n".encode("latin-1"))
    (tmp_path / "data.xlsx").write_text("")
    platform = LocalPlatform(tmp_path, datasets={"bad": "bad.jsonl", "latin": "latin.csv", "x": "data.xlsx", "gone": "gone.csv"})
    for name, message in [("bad", "line 2 is not valid JSON"), ("latin", "is not UTF-8 text"),
                          ("x", "unsupported file type"), ("gone", "no such file")]:
        with pytest.raises(LabelloopError, match=message) as caught:
            platform.read_dataset(name)
        assert "\n" not in str(caught.value)


def test_folders_list_files_with_dss_paths_and_never_serve_outside(tmp_path):
    platform = LocalPlatform(tmp_path)
    root = platform.folder_path("images")
    (root / "sub").mkdir(parents=True)
    (root / "a.png").write_bytes(b"png")
    (root / "sub" / "b.jpg").write_bytes(b"jpg")
    (tmp_path / "secret.txt").write_text("secret")
    os.symlink(tmp_path / "secret.txt", root / "escape.png")
    os.symlink(root / "a.png", root / "alias.png")
    assert platform.list_folder("images") == ["/a.png", "/alias.png", "/sub/b.jpg"]
    with platform.open_folder_file("images", "/sub/b.jpg") as stream:
        assert stream.read() == b"jpg"
    for path in ["../secret.txt", "/../secret.txt", "escape.png", str(tmp_path / "secret.txt"), "sub", "nope.png"]:
        with pytest.raises(NotFound):
            platform.open_folder_file("images", path)
    with pytest.raises(NotFound):
        platform.list_folder("missing")


def test_session_counters_increment_atomically_across_threads(tmp_path):
    platform = LocalPlatform(tmp_path)
    assert current_session(platform, "queries") == 0
    assert current_session(platform, None) == 0
    platform.update_variables(lambda v: v.update(other="kept"))
    threads = [threading.Thread(target=lambda: [next_session(platform, "PROJ.queries") for _ in range(10)]) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert current_session(platform, "queries") == 40
    assert platform.get_variables() == {"other": "kept", variable_name("queries", "session"): 40}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".variables.json")] == []


def test_registry_versions_models_and_ignores_half_written_ones(tmp_path):
    x, y = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array(["a", "a", "b", "b"])
    registry = ModelRegistry(tmp_path / "models" / "clf")
    assert registry.versions() == [] and registry.latest() is None
    with pytest.raises(NotFound, match="No model has been trained yet"):
        registry.load()
    first = registry.save(LogisticRegression().fit(x, y), {"labels": 4})
    (registry.path / ".staging-crashed").mkdir()
    (registry.path / "v0002").mkdir()  # a crash before meta.json: not a version
    (registry.path / "v0002" / "model.joblib").write_bytes(b"partial")
    assert registry.versions() == ["v0001"]
    assert registry.save(LogisticRegression().fit(x, y), {}) == "v0003"  # never reuses a number
    assert registry.versions() == ["v0001", "v0003"]
    assert registry.meta(first) == {"labels": 4, "version": "v0001"}
    with pytest.raises(NotFound):
        registry.load("../../etc")


def test_model_probabilities_come_from_the_latest_version(tmp_path):
    platform = LocalPlatform(tmp_path)
    frame = pd.DataFrame({"f": [0.0, 1.0, 2.0, 3.0]})
    registry = platform.registry("clf")
    registry.save(LogisticRegression().fit(frame, ["a", "a", "b", "b"]), {})
    registry.save(LogisticRegression().fit(frame, ["x", "y", "z", "z"]), {})
    result = platform.model_probabilities("clf", frame)
    assert result.classes == ["x", "y", "z"] and result.model_version == "v0002"
    assert result.matrix.shape == (4, 3) and np.allclose(result.matrix.sum(axis=1), 1)
    assert platform.model_probabilities("clf", frame, version="v0001").classes == ["a", "b"]


def test_the_registry_keeps_the_last_model_it_loaded_until_another_is_asked_for(tmp_path):
    platform = LocalPlatform(tmp_path)
    registry = platform.registry("clf")
    assert platform.registry("clf") is registry
    registry.save({"weights": [1]}, {})
    first = registry.load()
    assert registry.load() is first and registry.load("v0001") is first  # not unpickled again
    registry.save({"weights": [2]}, {})
    assert registry.load()["weights"] == [2]
    assert registry.load("v0001")["weights"] == [1]
