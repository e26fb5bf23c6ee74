"""The state of the fake DSS instance: projects backed by labelloop's local adapter.

The harness sets ``INSTANCE`` and the running entry point's ``context``; every public class of
the fake reads them. Flow objects are known by their full name ``PROJECT.name``. Rules are
DSS's (DSS 9.0.5 source, ``core/dataset.py`` and ``core/base.py``; see the package docstring):
in a recipe, only declared datasets, folders and models may be used ("cannot be used : declare
it as input or output of your recipe"), only inputs may be read ("You cannot read dataset %s, it
is not declared as an input") and only outputs written; unknown calls fail.
"""
from __future__ import annotations

INSTANCE = None


class DSSError(Exception):
    """What DSS raises for a misuse: the message mirrors DSS's wording."""


def instance():
    if INSTANCE is None:
        raise DSSError("No DSS instance: run this code through tests/fake_dataiku/harness.py.")
    return INSTANCE


def since(release: str) -> bool:
    """True when the running DSS is ``release`` or newer (``FakeDSS.version``; see ``harness.DSS_VERSIONS``)."""
    return instance().version >= tuple(int(part) for part in release.split("."))


def split_name(lookup: str) -> str:
    """``PROJECT.name`` from a name that may leave out the current project."""
    project, _, name = lookup.rpartition(".")
    if project and project not in instance().projects:
        raise DSSError(f"Project '{project}' does not exist on this instance.")
    return f"{project or instance().project_key}.{name}"


def _recipe():
    context = instance().context
    return context if context is not None and context.kind == "recipe" else None


def check_declared(kind: str, name: str, ignore_flow: bool) -> None:
    """In a recipe, a dataset/folder/model must be an input or output of the recipe."""
    recipe = _recipe()
    if recipe is None or ignore_flow:
        return
    if name not in recipe.declared():
        raise DSSError(f"{kind} {name} cannot be used : declare it as input or output of your recipe.")


def check_readable(name: str) -> None:
    recipe = _recipe()
    if recipe is not None and name not in recipe.declared_inputs():
        raise DSSError(f"You cannot read dataset {name}, it is not declared as an input")


def check_writable(name: str) -> None:
    """A recipe writes only its declared outputs. A webapp backend has no roles: it writes the
    datasets its params name with ``write_with_schema``, as Dataiku's ML-assisted Labeling does
    with its labels and metadata datasets (dataiku/dss-plugin-ml-assisted-labeling,
    python-lib/lal/handlers/dataiku_lal_handler.py); labelloop's ``rules_ds`` is written the same way."""
    recipe = _recipe()
    if recipe is not None and name not in recipe.declared_outputs():
        raise DSSError(f"You cannot write dataset {name}, it is not declared as an output")
