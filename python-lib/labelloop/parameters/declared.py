"""A parameter declared once: what a value must be, the sentence that says so, and values that break it.

A ``Param`` mirrors one entry of a component's descriptor (``recipe.json``, ``webapp.json``,
``step.json``, ``trigger.json``): its DSS type, default, choices and bounds. Its ``check`` is the
only check of that parameter; ``invalid_values`` derives from the same declaration the values a
test must see refused, so a new bound is tested without writing a new test.

DSS hands a config with unset params absent (and a cleared field may arrive as ``None``): both
mean "the default". Only the value types (numbers, choices, text, booleans) are checked here; a
Flow object or column param names something the component itself looks up and reports on.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from labelloop.errors import LabelloopError
from labelloop.parameters.numbers import whole_number

VALUE_TYPES = ("INT", "DOUBLE", "SELECT", "STRING", "BOOLEAN")


@dataclass(frozen=True)
class Param:
    """One parameter: ``type`` is its DSS type; ``low``/``high`` bound an INT or DOUBLE (every one has a
    ``low``; ``high`` may be ``None``);
    ``cli`` is ``(command, flag)`` where the command line takes the same parameter; ``hint`` follows
    the name in messages."""

    name: str
    type: str
    default: object = None
    low: float | None = None
    high: float | None = None
    choices: tuple = ()
    mandatory: bool = False
    cli: tuple = ()
    hint: str = ""

    @property
    def label(self) -> str:
        return f"{self.name} ({self.hint})" if self.hint else self.name

    def check(self, value):
        """``value`` as the component uses it (the default when unset), or one sentence saying what is wrong."""
        if value is None:
            if self.mandatory and self.default is None and self.type in VALUE_TYPES:
                raise LabelloopError(f"{self.label} is required: set it in the settings.")
            return self.default
        if self.type == "INT":
            return whole_number(value, self.label, int(self.low), None if self.high is None else int(self.high))
        if self.type == "DOUBLE":
            return self._number(value)
        if self.type == "SELECT" and (not isinstance(value, str) or value not in self.choices):
            raise LabelloopError(f"Unknown {self.name} '{value}' (use {', '.join(self.choices)}).")
        if self.type == "STRING" and not isinstance(value, str):
            raise LabelloopError(f"{self.label} must be text.")
        if self.type == "BOOLEAN" and not isinstance(value, bool):
            raise LabelloopError(f"{self.label} must be true or false.")
        return value

    def _number(self, value) -> float:
        low = -math.inf if self.low is None else self.low
        high = math.inf if self.high is None else self.high
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and low <= value <= high):
            raise LabelloopError(f"{self.label} must be a number {self._range()}.")
        return float(value)

    def _range(self) -> str:
        if self.high is None:
            return f"of at least {self.low:g}"
        return f"from {self.low:g} to {self.high:g}"

    def invalid_values(self) -> list:
        """Values ``check`` must refuse, derived from the declaration."""
        values = [None] if self.mandatory and self.default is None and self.type in VALUE_TYPES else []
        if self.type in ("INT", "DOUBLE"):
            values += [self.low - 1] if self.low is not None else []
            values += [self.high + 1] if self.high is not None else []
            values += [math.nan, math.inf, True, "1"]
        if self.type == "INT":
            values += [float(self.low - 1), self.low + 0.5]
        if self.type == "SELECT":
            values += ["none of these" if "none of these" not in self.choices else "nope", 1]
        if self.type == "STRING":
            values += [5]
        if self.type == "BOOLEAN":
            values += ["yes", 1]
        return values


class Table:
    """The parameters of one component, in its descriptor's order."""

    def __init__(self, descriptor: str, *params: Param):
        self.descriptor = descriptor  # the descriptor file, from the plugin's root
        self.params = {param.name: param for param in params}

    def __getitem__(self, name: str) -> Param:
        return self.params[name]

    def __iter__(self):
        return iter(self.params.values())

    @property
    def names(self) -> tuple:
        return tuple(self.params)

    def read(self, config: dict) -> dict:
        """Every parameter's value from a component's config, checked, defaults filled in."""
        return {name: param.check(config.get(name)) for name, param in self.params.items()}
