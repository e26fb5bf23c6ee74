"""Write a project's labels (or its metadata) from the journal to a file."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from labelloop.errors import LabelloopError
from labelloop.platform.local import write_table
from labelloop.standalone.project import Project
from labelloop.store.materialize import journal_labels, metadata_frame


def export(project: Project, fmt: str, out=None, metadata: bool = False) -> Path:
    """Write the current labels (``metadata=True``: one row per answer) and return the path.

    The default path is ``DIR/exports/labels.<fmt>`` (or ``metadata.<fmt>``).
    """
    name = "metadata" if metadata else "labels"
    out = Path(out) if out else project.root / "exports" / f"{name}.{fmt}"
    if out.suffix.lower() != f".{fmt}":
        raise LabelloopError(f"--out must end in .{fmt} for --format {fmt}.")
    if metadata:
        frame = metadata_frame(project.journal.current_frame(), project.settings.label_column)
    else:
        frame = journal_labels(project.journal, project.source, project.settings.label_column)
    write_table(out, whole_numbers_as_integers(frame))
    return out


def whole_numbers_as_integers(frame: pd.DataFrame) -> pd.DataFrame:
    """Float columns that hold whole numbers and gaps as nullable integers.

    pandas reads an integer column with a missing value as floats, and would write 218 back as
    218.0; a column with gaps whose every value is whole was integers in the file."""
    frame = frame.copy()
    for name in frame.columns:
        column = frame[name]
        if column.dtype.kind == "f" and column.isna().any() and column.notna().any():
            present = column.dropna()
            if (present == present.round()).all() and present.abs().max() < 2**53:
                frame[name] = column.astype("Int64")
    return frame
