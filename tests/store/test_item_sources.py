"""Where items come from (store/item_sources.py): a pool read in chunks names the items its loaded
source names, for a media folder, a file of rows and a database table alike."""
from __future__ import annotations

import pandas as pd
import pytest

from labelloop.errors import LabelloopError
from labelloop.platform.local import LocalPlatform
from labelloop.platform.sql_table import SqlTable
from labelloop.store.item_sources import MediaFiles, Rows, items_at, items_for_type


def chunked_ids(items, platform, name: str, size: int) -> list:
    return [i for chunk in items.chunks(platform, name, size) for i in items.ids(chunk)]


def test_a_media_folder_read_in_chunks_names_the_files_its_source_loads(tmp_path):
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    for name in ("b.png", "a.jpg", "sub/c.webp", "notes.txt", ".hidden.png"):
        (folder / name).write_bytes(b"x")
    platform = LocalPlatform(tmp_path, folders={"pool": str(folder)})
    items = items_for_type("image")
    assert isinstance(items, MediaFiles) and isinstance(items_at(platform, "pool"), MediaFiles)
    source = items.load(platform, "pool")
    assert chunked_ids(items, platform, "pool", 2) == source.ids == ["a.jpg", "b.png", "sub/c.webp"]
    ids, frame = source.snapshot()
    assert list(frame["path"]) == ids and list(frame.columns) == list(items.columns)


def test_rows_of_a_file_read_in_chunks_name_the_rows_its_source_loads(tmp_path):
    data = tmp_path / "rows.csv"
    pd.DataFrame({"id": ["r1", "r2", "r3"], "x": [1, 2, 3]}).to_csv(data, index=False)
    platform = LocalPlatform(tmp_path, datasets={"pool": str(data)})
    items = items_for_type("tabular", "id")
    assert isinstance(items, Rows) and not items.hashed and isinstance(items_at(platform, "pool", "id"), Rows)
    source = items.load(platform, "pool")
    assert chunked_ids(items, platform, "pool", 2) == source.ids == ["r1", "r2", "r3"]
    assert items_for_type("text").hashed  # no id column: ids are hashes, numbered across chunks by the sampler


def test_rows_of_a_database_table_read_in_chunks_name_the_rows_its_source_loads(tmp_path):
    url = f"sqlite:///{tmp_path / 'pool.sqlite'}"
    pd.DataFrame({"id": [3, 1, 2], "x": [0.5, 1.5, 2.5]}).to_sql("items", url, index=False)
    table = SqlTable(url, "items", "id")
    try:
        platform = LocalPlatform(tmp_path, tables={"pool": table})
        items = Rows("id")
        assert sorted(chunked_ids(items, platform, "pool", 2)) == sorted(items.load(platform, "pool").ids) == ["1", "2", "3"]
    finally:
        table.dispose()


def test_a_pool_the_page_cannot_serve_is_refused_in_one_sentence(tmp_path):
    (tmp_path / "empty").mkdir()
    platform = LocalPlatform(tmp_path, folders={"pool": str(tmp_path / "empty")})
    with pytest.raises(LabelloopError, match="^The folder has no sound files to label.$"):
        MediaFiles("sound").check_loaded(MediaFiles("sound").load(platform, "pool"), "label")
    with pytest.raises(LabelloopError, match="^The folder 'pool' has no media files to score.$"):
        next(MediaFiles().chunks(platform, "pool", 10))
    data = tmp_path / "rows.csv"
    pd.DataFrame({"label": ["a"], "x": [1]}).to_csv(data, index=False)
    rows = LocalPlatform(tmp_path, datasets={"pool": str(data)})
    with pytest.raises(LabelloopError, match="already has a column 'label'"):
        Rows().check_loaded(Rows().load(rows, "pool"), "label")
