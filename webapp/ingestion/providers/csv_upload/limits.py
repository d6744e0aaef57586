"""The limits on an upload's rows (CSV_MAX_COLUMNS, CSV_MAX_FIELD_KB, no NUL bytes) and
the line source that enforces them while csv.reader reads, so memory stays flat
whatever the file: `Limits` and `BoundedLines`. `reader.py` says what is accepted and why.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from webapp.ingestion.providers.csv_upload.sniffing import looks_binary

_PIECE = 64 * 1024  # characters per readline(); a longer physical line comes in pieces
# A row this long or shorter goes to csv as it is (its fields cost at most ~20 bytes per
# character); past it, delimiters are counted first, so no row becomes millions of fields.
_COUNT_PAST = 1 << 20
# A row's text is held twice while its pieces are joined, at up to 4 bytes a character:
# 16 Mi characters keeps that well under the worker's 250 MB whatever the settings.
_MAX_ROW_CHARS = 16 << 20


@dataclass(frozen=True)
class Limits:
    """How wide a file and how long a cell may be (CSV_MAX_COLUMNS, CSV_MAX_FIELD_KB)."""

    max_columns: int = 500
    max_field_kb: int = 64

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Limits:
        # Unset or below 1 (which would refuse every file): the default.
        columns = int(settings.get("CSV_MAX_COLUMNS") or 0)
        field_kb = int(settings.get("CSV_MAX_FIELD_KB") or 0)
        return cls(columns if columns >= 1 else cls.max_columns,
                   field_kb if field_kb >= 1 else cls.max_field_kb)

    @property
    def max_field_chars(self) -> int:
        return self.max_field_kb * 1024

    @property
    def max_row_chars(self) -> int:
        # Each full cell may come with its delimiter and two quotes, the row with CRLF.
        return min(self.max_columns * (self.max_field_chars + 3) + 2, _MAX_ROW_CHARS)

    def too_many_columns(self, count: int | None = None) -> str:
        what = f"{count:,} columns" if count else f"more than {self.max_columns:,} columns"
        return (f"has {what}; a file may have at most {self.max_columns:,} "
                "(CSV_MAX_COLUMNS)")

    def cell_too_long(self) -> str:
        return (f"has a cell longer than {self.max_field_kb:,} KB, the most a cell may "
                "hold (CSV_MAX_FIELD_KB); if a quote opens that cell, check that it is closed")

    def row_too_long(self) -> str:
        return (f"is longer than {_size(self.max_row_chars)}, the most a row may hold "
                f"(CSV_MAX_COLUMNS × CSV_MAX_FIELD_KB, at most {_size(_MAX_ROW_CHARS)})")


def _size(chars: int) -> str:
    return f"{round(chars / 2**20):,} MB" if chars >= 2**20 else f"{round(chars / 1024):,} KB"


class RowRefused(Exception):
    """A row broke a limit; the message follows "Row N" (the caller knows N)."""


_NUL = "contains a NUL byte: binary data, not CSV text; save it from the spreadsheet as CSV"
_BINARY = "contains binary data, not CSV text; save it from the spreadsheet as CSV"


class BoundedLines:
    """The decoded text as physical lines for csv.reader, each row's checked on the way.

    readline() is given a bound, so a line of any length arrives in pieces of at most
    `_PIECE` characters; a longer line is joined back only while its row stays within
    the limits. `row_chars` is the length of the row being read: whoever reads the
    records sets it to 0 at each new one (a quoted newline makes one row of many lines).
    """

    def __init__(self, text: io.TextIOBase, delimiter: str, limits: Limits):
        self.row_chars = 0
        self._delimiters = 0  # counted once the row is past _COUNT_PAST characters
        self._readline = text.readline
        self._delimiter = delimiter
        self.limits = limits
        # Rows up to this long need no look: short of both the row limit and the count.
        self._watch = min(_COUNT_PAST, limits.max_row_chars)
        self._binary = False

    def binary_seen(self) -> None:
        """The bytes just read look binary: from now on every line is looked at, and the
        first binary one is refused with its row number."""
        self._binary, self._watch = True, -1

    def __iter__(self) -> Iterator[str]:
        readline, piece = self._readline, _PIECE
        while True:
            line = readline(piece)
            self.row_chars += len(line)
            if self.row_chars > self._watch or "\x00" in line:
                self._check(line)
            if len(line) < piece:  # nearly every line: whole, or "" at the end
                if not line:
                    return
                yield line
            else:
                yield from self._long(line)

    def _check(self, line: str) -> None:
        if "\x00" in line:
            raise RowRefused(_NUL)
        if self._binary and looks_binary(line):
            raise RowRefused(_BINARY)
        if self.row_chars > self.limits.max_row_chars:
            raise RowRefused(self.limits.row_too_long())
        if self.row_chars <= _COUNT_PAST:
            return
        if self.row_chars - len(line) <= _COUNT_PAST:  # this row just crossed the mark
            self._delimiters = 0
        self._delimiters += line.count(self._delimiter)
        if self._delimiters > self.limits.max_columns:
            raise RowRefused(self.limits.too_many_columns())

    def _long(self, line: str) -> Iterator[str]:
        """The physical line that `line`, a full piece, begins; and, when a lone CR at a
        piece's end turns out to have ended it, the lines that follow up to a normal end."""
        parts = [line]
        while len(line) == _PIECE and line[-1] != "\n":
            more = self._readline(_PIECE)
            if line[-1] == "\r" and more != "\n":  # not CRLF: the line ended at the CR
                yield "".join(parts)
                parts = []
            if not more:
                break
            self.row_chars += len(more)
            if self.row_chars > self._watch or "\x00" in more:
                self._check(more)
            parts.append(more)
            line = more
        if parts:
            yield "".join(parts)
