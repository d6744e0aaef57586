"""A workbook's cells as the text a user sees in them (what the CSV parsers read), and
cell references as Excel writes them (`Travel!C17`, `'My travel'!C17`)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any


def _float_text(value: float) -> str:
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    # Excel shows and keeps 15 significant digits: the rest is binary noise.
    return f"{value:.15g}"


def _duration_text(value: timedelta) -> str:  # [h]:mm:ss
    seconds = int(value.total_seconds())
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class _TextOf(dict):
    """value class -> its text function; a class not listed is turned into text by str."""

    def __missing__(self, kind: type) -> Any:
        return str


# By the value's exact class (bool is not int here): one dict lookup and, for the common
# ones (whole numbers, dates), a C function, per cell.
TEXT_OF = _TextOf({str: str, int: int.__repr__, float: _float_text,
                    bool: lambda value: "TRUE" if value else "FALSE", date: date.isoformat,
                    datetime: lambda value: value.date().isoformat(), time: time.isoformat,
                    timedelta: _duration_text})


def cell_text(value: Any) -> str:
    """What a user sees in a cell of this value, as the CSV parsers read it."""
    return TEXT_OF[value.__class__](value)


def shown_value(cell: Any, padded: dict[int, int]) -> Any:
    """A streamed cell's value, or, for a whole number in a zero-padded style, the text
    Excel shows ("0892")."""
    value = cell.value
    digits = padded.get(cell.style_id) if value.__class__ in (int, float) else None
    if digits is None or not float(value).is_integer():
        return value
    number = int(value)
    return ("-" if number < 0 else "") + str(abs(number)).zfill(digits)


def column_letters(index: int) -> str:
    """0 -> "A", 25 -> "Z", 26 -> "AA"."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


_PLAIN_SHEET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_LOOKS_LIKE_CELL = re.compile(r"[A-Za-z]{1,3}[0-9]+|[Rr][0-9]*[Cc][0-9]*")


def sheet_prefix(name: str) -> str:
    """The sheet part of a cell reference as Excel writes it: Travel!, 'My travel'!"""
    if _PLAIN_SHEET_NAME.fullmatch(name) and not _LOOKS_LIKE_CELL.fullmatch(name) \
            and name.upper() not in ("TRUE", "FALSE"):
        return f"{name}!"
    return "'" + name.replace("'", "''") + "'!"
