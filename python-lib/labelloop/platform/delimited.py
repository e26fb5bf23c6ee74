"""How a delimited text file is written: its delimiter and its decimal mark.

Spreadsheets in much of Europe save "CSV" with semicolons and decimal commas. Read with a comma
delimiter such a file is one column of garbage, and every row's id is a hash of that garbage. So
the first lines are looked at before a file is read: the delimiter is the candidate that splits
the header and every sampled line into the same number of columns (two or more), and the decimal
mark is the one the numbers use. When the sample allows two readings, the file is refused in one
sentence that names the flag (``--delimiter`` or ``--decimal``) to settle it.
"""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import NamedTuple

from labelloop.errors import LabelloopError

DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
DECIMALS = {".": "point", ",": "comma"}
SAMPLE_BYTES = 64 * 1024  # a thousand lines or so: enough to see the numbers, read in milliseconds
SAMPLE_LINES = 5  # read on past SAMPLE_BYTES for these (very wide rows), up to MAX_SAMPLE_BYTES
MAX_SAMPLE_BYTES = 16 * 1024 * 1024
_POINT_NUMBER = re.compile(r"[+-]?\d*\.\d+(?:[eE][+-]?\d+)?")
_COMMA_NUMBER = re.compile(r"[+-]?\d*,\d+(?:[eE][+-]?\d+)?")
_THOUSANDS_POINT = re.compile(r"[+-]?\d{1,3}(?:\.\d{3})+")  # 1.234: a thousand, or one and a bit


class Dialect(NamedTuple):
    """What pandas needs to read the file right."""

    delimiter: str = ","
    decimal: str = "."

    def read_options(self) -> dict:
        return {"sep": self.delimiter, "decimal": self.decimal}


def delimiter_flag(text: str) -> str:
    """``--delimiter``: one character, or a name (comma, semicolon, tab, pipe)."""
    return _flag(text, DELIMITERS, "--delimiter")


def decimal_flag(text: str) -> str:
    """``--decimal``: ``.`` or ``,`` (or point, comma)."""
    return _flag(text, DECIMALS, "--decimal")


def _flag(text: str, names: dict, flag: str) -> str:
    by_name = {name: mark for mark, name in names.items()}
    mark = by_name.get(text.strip().lower(), text.replace("\\t", "\t"))
    if mark not in names:
        choices = ", ".join(f"{name} ({mark!r})" for mark, name in names.items())
        raise LabelloopError(f"{flag} '{text}' is not one of {choices}.")
    return mark


def detect(path, delimiter: str | None = None, decimal: str | None = None) -> Dialect:
    """The dialect of the file at ``path``; a given ``delimiter`` or ``decimal`` is taken as is."""
    if delimiter is not None and delimiter == decimal:
        raise LabelloopError(f"--delimiter and --decimal cannot both be '{delimiter}'.")
    lines, cut = _sample_lines(Path(path))
    if delimiter is None:
        delimiter = _delimiter(lines, cut, path)
    if decimal is None:
        decimal = _decimal(_cells(lines, delimiter), delimiter, path)
    return Dialect(delimiter, decimal)


def _sample_lines(path: Path) -> tuple:
    """``(the file's first lines, whether the sample stops before the file's end)``."""
    try:
        with open(path, "rb") as stream:
            head = stream.read(SAMPLE_BYTES)
            while head.count(b"\n") < SAMPLE_LINES and len(head) < MAX_SAMPLE_BYTES:
                block = stream.read(SAMPLE_BYTES)
                if not block:
                    break
                head += block
            cut = bool(stream.read(1))
    except OSError:
        return [], False  # the reader says what is wrong with the file
    text = head.decode("utf-8-sig", errors="replace")
    return [line for line in text.splitlines() if line.strip()], cut


def _rows(lines: list, delimiter: str) -> list:
    """The sample's rows as ``csv`` splits them (quotes respected); none when a field is beyond the
    ``csv`` module's size limit (a wide line the candidate does not split)."""
    try:
        return list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter))
    except csv.Error:
        return []


def _delimiter(lines: list, cut: bool, path) -> str:
    """The candidate that splits every sampled row into as many columns as the header (two or more);
    the last row of a sample that stops inside the file may be cut short, so it does not count."""
    splits = {}
    for candidate in DELIMITERS:
        rows = _rows(lines, candidate)
        rows = rows[:-1] if cut and len(rows) > 2 else rows
        if rows and len(rows[0]) > 1 and all(len(row) == len(rows[0]) for row in rows):
            splits[candidate] = len(rows[0])
    if len(splits) > 1:
        readings = " or ".join(f"{DELIMITERS[d]}s ({n} columns)" for d, n in splits.items())
        raise LabelloopError(f"{Path(path).name}: its columns could be separated by {readings}: "
                             "give --delimiter to say which.")
    return next(iter(splits), ",")  # one column, or rows of unequal length: the reader reports those


def _cells(lines: list, delimiter: str) -> list:
    rows = _rows(lines, delimiter)
    return [cell.strip() for row in rows[1:] for cell in row]


def _decimal(cells: list, delimiter: str, path) -> str:
    """``,`` when numbers are written ``1,5`` and none ``1.5``; refused when both are seen."""
    commas = next((c for c in cells if _COMMA_NUMBER.fullmatch(c)), None) if delimiter != "," else None
    points = next((c for c in cells if _POINT_NUMBER.fullmatch(c) and not _THOUSANDS_POINT.fullmatch(c)), None)
    if commas is None:
        return "."
    if points is not None:
        raise LabelloopError(f"{Path(path).name}: some numbers are written '{commas}' and others '{points}': "
                             "give --decimal to say which mark separates the decimals.")
    return ","
