"""Every CSV file the product writes (row-error reports, templates, exports) goes
through here, so none can carry a formula into the spreadsheet that opens it.

A text cell starting with `=`, `+`, `-` or `@` is run as a formula by Excel, LibreOffice
and Google Sheets (`=HYPERLINK(...)`, `@SUM(...)`, `-1+1`); one starting with a tab or
CR can hide such a start, and the full-width `＝＋－＠` count as formula starts in some
locales' spreadsheets. SPEC §12: those cells get a leading `'`, which spreadsheets show
as text. Numbers (int, float) are written as they are: a number is never a formula, and
exports must stay summable.

A spreadsheet that splits on `;` or a tab instead of `,` cuts `x;=1+1` into `x` and a
formula `=1+1` (SPEC §12, continued). Every text cell is quoted (csv.QUOTE_NONNUMERIC
quotes exactly the text cells; 3.12's QUOTE_STRINGS would leave empty ones bare, but we
support 3.11), which holds the cell together for a reader honouring quotes. A reader
splitting on `;` does not honour quotes that open mid-field (`3,"x;=1+1"` splits into
`3,"x` and `=1+1"`, as Excel and LibreOffice do), so a formula start right after a `;`,
tab or line break inside a cell gets its `'` too: `x;'=1+1`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

FORMULA_SIGNS = "=+-@\uff1d\uff0b\uff0d\uff20"  # and their full-width forms ＝＋－＠
FORMULA_STARTS = (*FORMULA_SIGNS, "\t", "\r")
# A place inside a cell where a reader splitting on `;`, a tab or a line may start a new
# cell that opens with a formula (after blanks or a quote that it would drop).
_INNER_FORMULA = re.compile(f'([;\\t\\r\\n][ "]*)(?=[{re.escape(FORMULA_SIGNS)}])')
_CHUNK_CHARS = 64 * 1024  # csv_chunks() yields text in pieces of about this size


def neutralise(cell: Any) -> Any:
    """`cell` as written: a text cell a spreadsheet would run as a formula gets a `'`."""
    if not isinstance(cell, str):
        return cell
    cell = _INNER_FORMULA.sub(r"\1'", cell)
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


class SafeWriter:
    """csv.writer with every cell neutralised and every text cell quoted; same format
    arguments."""

    def __init__(self, out: Any, **fmt: Any):
        self._writer = csv.writer(out, **{"quoting": csv.QUOTE_NONNUMERIC, **fmt})

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow(["" if cell is None else neutralise(cell) for cell in row])

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
