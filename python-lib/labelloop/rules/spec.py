"""What a labeling rule is, and the checks that refuse a bad one (DESIGN.md section 9).

A rule is data, never code: a category, and a condition that makes it vote for that category;
elsewhere it abstains. Kinds: ``keywords`` (any of some words or phrases, whole words, any case)
and ``regex`` on a text column; a ``condition`` on any column (``op`` and ``value``); ``all``, an
AND of conditions. Every problem is refused with one sentence naming the rule, before anything
is saved: rules are checked as a whole, against the pool's columns and the project's categories.

Regular expressions run on RE2 (through pyarrow): it has no backtracking, so a pattern such as
``(a+)+$`` takes linear time on any row instead of hanging. It has no back-references or
look-arounds either; a pattern using them is refused as invalid.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from labelloop.errors import LabelloopError

OPS = ("==", "!=", "<", "<=", ">", ">=", "in", "not in", "contains", "is null", "not null")
ORDERED = ("<", "<=", ">", ">=")
NO_VALUE = ("is null", "not null")
MAX_RULES = 200
MAX_NAME = 64
MAX_PATTERN = 1000  # characters of a regex, or of all of a rule's keywords together
MAX_LIST = 1000  # values of an ``in``
MAX_KEYWORDS = 200
MAX_CONDITIONS = 20  # of an ``all``: each is a pass over the pool
MAX_RULE_CHARS = 32_000  # one rule, as JSON
_NAME = re.compile(r"[\w .:@'()-]{1,64}", re.UNICODE)
_KINDS = ("keywords", "regex", "all", "op")
# Whole words in any script: RE2's \b knows ASCII letters only, so "caf" would match in "café".
_OUTSIDE_WORD_BEFORE, _OUTSIDE_WORD_AFTER = r"(?:^|[^\p{L}\p{N}_])", r"(?:$|[^\p{L}\p{N}_])"


@dataclass(frozen=True)
class Condition:
    column: str
    op: str
    value: object = None


@dataclass(frozen=True)
class Rule:
    """One rule, checked: ``kind`` is keywords, regex, condition or all."""

    name: str
    label: str
    kind: str
    column: str | None = None
    pattern: str | None = None  # keywords become a whole-word, any-case pattern
    conditions: tuple = field(default_factory=tuple)
    enabled: bool = True
    source: dict = field(default_factory=dict, compare=False)  # the rule as given, to save it back

    def as_json(self) -> dict:
        return dict(self.source)

    @property
    def passes(self) -> int:
        """How many passes over the pool it takes (a keyword list or a regex is one)."""
        return max(len(self.conditions), 1)


def parse_rules(data, columns, categories) -> list:
    """The rules in ``data`` (a JSON list, or its text), checked against the pool's ``columns``
    and dtypes (a frame's ``dtypes``) and the project's ``categories``."""
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except ValueError as error:
            raise LabelloopError(f"The rules are not valid JSON ({error}).") from error
    if not isinstance(data, list):
        raise LabelloopError("The rules must be a JSON list of rule objects.")
    if len(data) > MAX_RULES:
        raise LabelloopError(f"At most {MAX_RULES} rules can be kept; there are {len(data):,}.")
    dtypes = dict(columns.items()) if isinstance(columns, pd.Series) else {str(c): None for c in columns}
    rules, names = [], set()
    for number, given in enumerate(data, start=1):
        rule = _rule(given, number, dtypes, [str(c) for c in categories])
        if rule.name in names:
            raise LabelloopError(f"Two rules are named '{rule.name}': give each rule its own name.")
        names.add(rule.name)
        rules.append(rule)
    return rules


def _rule(given, number: int, dtypes: dict, categories: list) -> Rule:
    if not isinstance(given, dict):
        raise LabelloopError(f"Rule {number} is not a JSON object.")
    name = given.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name.strip()):
        raise LabelloopError(f"Rule {number} needs a name of 1 to {MAX_NAME} letters, digits, spaces or . : @ ' ( ) -.")
    name = name.strip()

    def refuse(problem: str):
        raise LabelloopError(f"Rule '{name}': {problem}")

    if len(json.dumps(given)) > MAX_RULE_CHARS:
        refuse(f"the rule is longer than {MAX_RULE_CHARS:,} characters of JSON.")

    unknown = sorted(set(given) - {"name", "label", "enabled", "column", "keywords", "regex", "all", "op", "value"})
    if unknown:
        refuse(f"unknown field(s) {', '.join(map(repr, unknown))}.")
    label = given.get("label")
    if not isinstance(label, str) or label not in categories:
        refuse(f"label must be one of the categories ({', '.join(categories)}).")
    enabled = given.get("enabled", True)
    if not isinstance(enabled, bool):
        refuse("enabled must be true or false.")
    kinds = [k for k in _KINDS if k in given]
    if len(kinds) != 1:
        refuse("give exactly one of keywords, regex, all, or op (with column and value).")
    kind = kinds[0]
    common = {"name": name, "label": label, "enabled": enabled, "source": given}
    try:
        if kind == "keywords":
            return Rule(kind="keywords", column=_column(given, dtypes), pattern=_keywords(given["keywords"]), **common)
        if kind == "regex":
            return Rule(kind="regex", column=_column(given, dtypes), pattern=_regex(given["regex"]), **common)
        if kind == "all":
            return Rule(kind="all", conditions=_conditions(given["all"], dtypes), **common)
        return Rule(kind="condition", conditions=(_condition(given, dtypes),), **common)
    except LabelloopError as error:
        refuse(str(error))


def _column(given: dict, dtypes: dict) -> str:
    column = given.get("column")
    if not isinstance(column, str) or column not in dtypes:
        shown = ", ".join(list(dtypes)[:12]) + (", ..." if len(dtypes) > 12 else "")
        raise LabelloopError(f"column {column!r} is not a column of the data ({shown}).")
    return column


def _keywords(keywords) -> str:
    if not isinstance(keywords, list) or not keywords or len(keywords) > MAX_KEYWORDS:
        raise LabelloopError(f"keywords must be a list of 1 to {MAX_KEYWORDS:,} words or phrases.")
    if not all(isinstance(k, str) and k.strip() for k in keywords):
        raise LabelloopError("each keyword must be a non-empty text.")
    if sum(len(k) for k in keywords) > MAX_PATTERN:
        raise LabelloopError(f"the keywords are longer than {MAX_PATTERN:,} characters together.")
    words = sorted({re.escape(k.strip()) for k in keywords}, key=len, reverse=True)  # the longest phrase first
    return _OUTSIDE_WORD_BEFORE + "(?:" + "|".join(words) + ")" + _OUTSIDE_WORD_AFTER


def _regex(pattern) -> str:
    if not isinstance(pattern, str) or not pattern:
        raise LabelloopError("regex must be a non-empty text.")
    if len(pattern) > MAX_PATTERN:
        raise LabelloopError(f"regex is longer than {MAX_PATTERN:,} characters.")
    try:
        pc.match_substring_regex(pa.array([""]), pattern)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise LabelloopError(f"regex is not a valid RE2 regular expression ({str(error).splitlines()[0]}).") from error
    return pattern


def _conditions(conditions, dtypes: dict) -> tuple:
    if not isinstance(conditions, list) or not conditions or len(conditions) > MAX_CONDITIONS:
        raise LabelloopError(f"all must be a list of 1 to {MAX_CONDITIONS} conditions ({{column, op, value}}).")
    found = []
    for given in conditions:
        if not isinstance(given, dict) or set(given) - {"column", "op", "value"}:
            raise LabelloopError("each condition of all is an object with column, op and value.")
        found.append(_condition(given, dtypes))
    return tuple(found)


def _condition(given: dict, dtypes: dict) -> Condition:
    column = _column(given, dtypes)
    op = given.get("op")
    if op not in OPS:
        raise LabelloopError(f"op must be one of {', '.join(OPS)}.")
    value = given.get("value")
    if op in NO_VALUE:
        return Condition(column, op)
    if op in ("in", "not in"):
        if not isinstance(value, list) or not value or len(value) > MAX_LIST or not all(map(_scalar, value)):
            raise LabelloopError(f"'{op}' takes a list of 1 to {MAX_LIST:,} numbers or texts.")
        return Condition(column, op, tuple(value))
    if op == "contains":
        if not isinstance(value, str) or not value or len(value) > MAX_PATTERN:
            raise LabelloopError(f"'contains' takes a text of 1 to {MAX_PATTERN:,} characters.")
        return Condition(column, op, value)
    if not _scalar(value):
        raise LabelloopError(f"'{op}' takes a number or a text as value.")
    if op in ORDERED:
        if not _number(value):
            raise LabelloopError(f"'{op}' compares with a number.")
        dtype = dtypes.get(column)
        if dtype is not None and not pd.api.types.is_numeric_dtype(dtype):
            raise LabelloopError(f"column '{column}' holds no numbers, so '{op}' cannot compare it.")
    return Condition(column, op, value)


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _scalar(value) -> bool:
    return _number(value) or (isinstance(value, str) and len(value) <= MAX_PATTERN) or isinstance(value, bool)
