"""Names of labelloop's project variables (DSS project variables; ``variables.json`` standalone)."""
from __future__ import annotations


def variable_name(name: str, kind: str) -> str:
    """``LABELLOOP__<short name>__<kind>``: a queries dataset's ``session`` and ``fired``, a
    model's ``metrics``. A name of another project (``PROJ.name``) counts by its short name."""
    return f"LABELLOOP__{name.split('.')[-1]}__{kind}"
