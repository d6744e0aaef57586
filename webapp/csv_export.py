"""Every CSV file the product writes (row-error reports, templates, exports) goes
through here, so none can carry a formula into the spreadsheet that opens it.

A text cell starting with `=`, `+`, `-` or `@` is run as a formula by Excel, LibreOffice
and Google Sheets (`=HYPERLINK(...)`, `@SUM(...)`, `-1+1`); one starting with a tab or
CR can hide such a start. SPEC §12: those cells get a leading `'`, which spreadsheets
show as text. Numbers (int, float) are written as they are: a number is never a
formula, and exports must stay summable.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_CHUNK_CHARS = 64 * 1024  # csv_chunks() yields text in pieces of about this size


def neutralise(cell: Any) -> Any:
    """`cell` as written: a text cell a spreadsheet would run as a formula gets a `'`."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


class SafeWriter:
    """csv.writer with every cell neutralised; same format arguments."""

    def __init__(self, out: Any, **fmt: Any):
        self._writer = csv.writer(out, **fmt)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([neutralise(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_chunks(rows: Iterable[Sequence[Any]], **fmt: Any) -> Iterator[str]:
    """The rows as CSV text, in chunks of about 64 KB: for streamed responses, so a large
    file never sits in memory. The first row is usually the header."""
    buffer = io.StringIO()
    writer = SafeWriter(buffer, **fmt)
    for row in rows:
        writer.writerow(row)
        if buffer.tell() > _CHUNK_CHARS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_text(rows: Iterable[Sequence[Any]], **fmt: Any) -> str:
    """The rows as one CSV string (small files: templates)."""
    return "".join(csv_chunks(rows, **fmt))
