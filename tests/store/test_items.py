"""Item ids survive what real data goes through (DESIGN.md section 3)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelloop.errors import LabelloopError, NotFound
from labelloop.platform.local import read_table, write_table
from labelloop.store.items import FolderSource, TableSource, canonical_value, row_ids

texts = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12).filter(
    lambda s: s.strip() == s and not _looks_numeric(s))
ints = st.integers(min_value=-10**9, max_value=10**9)
floats = st.floats(allow_nan=False, allow_infinity=False, width=64, min_value=-1e12, max_value=1e12)


def _looks_numeric(text: str) -> bool:
    """CSV readers turn such strings into numbers or missing values: not a fair text cell."""
    try:
        float(text)
        return True
    except ValueError:
        return text.lower() in {"nan", "na", "n/a", "null", "none", "true", "false", "inf", "-inf", "#n/a", "<na>"}


@st.composite
def frames(draw, min_rows=1):
    rows = draw(st.integers(min_value=min_rows, max_value=25))
    data = {
        "count": draw(st.lists(ints, min_size=rows, max_size=rows)),
        "score": draw(st.lists(floats, min_size=rows, max_size=rows)),
        "name": draw(st.lists(texts, min_size=rows, max_size=rows)),
    }
    frame = pd.DataFrame(data)
    frame["key"] = [f"k{i}" for i in range(rows)]
    return frame


@settings(max_examples=60, deadline=None)
@given(frames(), st.randoms())
def test_ids_follow_their_rows_when_rows_are_reordered(frame, random):
    order = list(range(len(frame)))
    random.shuffle(order)
    ids = dict(zip(frame["key"], row_ids(frame)))
    shuffled = frame.iloc[order].reset_index(drop=True)
    assert dict(zip(shuffled["key"], row_ids(shuffled))) == ids


@settings(max_examples=60, deadline=None)
@given(frames())
def test_ids_do_not_change_when_integers_become_floats_or_columns_move(frame):
    reshaped = frame.astype({"count": "float64"})[list(reversed(frame.columns))]
    assert row_ids(reshaped) == row_ids(frame)
    as_objects = frame.astype(object)
    assert row_ids(as_objects) == row_ids(frame)


@settings(max_examples=40, deadline=None)
@given(frames(), st.sampled_from(["csv", "parquet", "jsonl"]))
def test_ids_survive_a_file_round_trip(tmp_path_factory, frame, fmt):
    path = tmp_path_factory.mktemp("roundtrip") / f"data.{fmt}"
    write_table(path, frame)
    assert row_ids(read_table(path)) == row_ids(frame)


@settings(max_examples=40, deadline=None)
@given(frames(), st.lists(ints, min_size=25, max_size=25))
def test_with_an_id_column_adding_or_changing_other_columns_keeps_ids(frame, extra):
    before = row_ids(frame, "key")
    changed = frame.assign(added=extra[: len(frame)], score=frame["score"] + 1)
    assert row_ids(changed, "key") == before


def test_duplicate_rows_get_numbered_suffixes_in_order():
    frame = pd.DataFrame({"a": [1, 2, 1, 1], "b": ["x", "y", "x", "x"]})
    ids = row_ids(frame)
    assert ids[1] != ids[0]
    assert ids[2] == ids[0] + "#2" and ids[3] == ids[0] + "#3"


def test_missing_values_and_empty_strings_are_the_same_cell():
    assert canonical_value(None) == canonical_value(np.nan) == canonical_value("") == canonical_value(pd.NA)
    assert canonical_value(1) == canonical_value(1.0) == canonical_value(np.int64(1)) == "1"
    assert canonical_value(0.1 + 0.2) == canonical_value(0.3) == "0.3"  # 15 significant digits


def test_an_id_column_must_exist_be_complete_and_unique():
    with pytest.raises(LabelloopError, match="not in the data"):
        row_ids(pd.DataFrame({"a": [1]}), "id")
    with pytest.raises(LabelloopError, match="duplicate values"):
        row_ids(pd.DataFrame({"id": [1, 1.0]}), "id")
    with pytest.raises(LabelloopError, match="empty values"):
        row_ids(pd.DataFrame({"id": ["a", None]}), "id")


def test_table_source_returns_rows_by_id_and_refuses_unknown_ids():
    source = TableSource(pd.DataFrame({"id": [3, 1, 2], "v": ["c", "a", "b"]}), id_column="id")
    assert source.ids == ["3", "1", "2"]
    assert source.rows(["2", "3"])["v"].tolist() == ["b", "c"]
    assert "1" in source and "9" not in source and 1 not in source
    with pytest.raises(NotFound):
        source.rows(["9"])


def test_folder_source_keeps_media_of_its_type_only():
    paths = ["/a.PNG", "/sub/b.jpg", "/.hidden.png", "/notes.txt", "/c.wav", "/.DS_Store", "/d.webp"]
    images = FolderSource(paths, "image")
    assert images.ids == ["a.PNG", "d.webp", "sub/b.jpg"]
    assert FolderSource(paths, "sound").ids == ["c.wav"]
    assert images.rows(["sub/b.jpg"])["path"].tolist() == ["sub/b.jpg"]
    with pytest.raises(NotFound):
        images.rows(["../etc/passwd"])
