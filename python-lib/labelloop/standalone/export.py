"""Write a project's labels (or its metadata) from the journal to a file."""
from __future__ import annotations

from pathlib import Path

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
    write_table(out, frame)
    return out
