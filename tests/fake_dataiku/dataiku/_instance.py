"""The state of the fake DSS instance: one project, backed by labelloop's local adapter.

The harness sets ``INSTANCE`` and the running entry point's ``context``; every public class of
the fake reads them. Rules are DSS's: in a recipe, only declared datasets, folders and models may
be used; datasets must exist in the flow; unknown calls fail.
"""
from __future__ import annotations

INSTANCE = None


class DSSError(Exception):
    """What DSS raises for a misuse: the message mirrors DSS's wording."""


def instance():
    if INSTANCE is None:
        raise DSSError("No DSS instance: run this code through tests/fake_dataiku/harness.py.")
    return INSTANCE


def short_name(lookup: str) -> str:
    project, _, name = lookup.rpartition(".")
    if project and project != instance().project_key:
        raise DSSError(f"Project '{project}' does not exist on this instance.")
    return name


def check_declared(kind: str, name: str, ignore_flow: bool) -> None:
    """In a recipe, a dataset/folder/model must be an input or output of the recipe."""
    context = instance().context
    if context is None or context.kind != "recipe" or ignore_flow:
        return
    if name not in context.declared():
        raise DSSError(f"{kind} {name} cannot be used: declare it as input or output of your recipe.")


def check_writable(name: str) -> None:
    context = instance().context
    if context is not None and context.kind == "recipe" and name not in context.declared_outputs():
        raise DSSError(f"Dataset {name} is not an output of the recipe: it cannot be written.")
