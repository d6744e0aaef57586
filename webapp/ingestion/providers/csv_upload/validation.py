"""Validating the rows of one file against its schema: `RowValidator`.

Clean rows have these shapes:
    data entry: {"entry_type": "plane", "data": {column: value}, "kg_co2eq": float | None}
    factor:     {"classification": {column: value}, "values": {column: number}}
Empty optional cells are left out of `data` and `classification` (unless the column has
a default), so equal identities always compare equal.

A batch is validated column by column, not row by row: each column's cells go through
its parser's bulk path or its memory in one C-level `map`, and the rows are then
assembled with `dict(zip(...))`. Only the columns that hold a blank optional or an
unusable cell in this batch are walked cell by cell. This is the hot loop of every upload
(a million rows of travel are eleven million cells).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any, NamedTuple

from webapp.ingestion.providers.base import RowError
from webapp.ingestion.providers.csv_upload.columns import Column, EntrySchema, Schema
from webapp.ingestion.providers.csv_upload.parsers import InvalidValue

_LEFT_OUT = object()  # an empty optional cell without a default: not part of the row
# Cells remembered per column and file, and the longest one remembered: memory stays
# under a few MB whatever the file, and long free text (notes) rarely repeats anyway.
_MEMO_LIMIT = 4096
_MEMO_MAX_CELL = 100


class _Rejected(NamedTuple):
    """What a cell becomes when it is unusable: the error without its row number."""

    value: str  # as reported: the raw cell, or "" for a blank required one
    reason: str


class _Memo(dict):
    """One column's parser with a memory: raw cell -> parsed value, _LEFT_OUT or _Rejected.

    Cells repeat down a file (airports, dates, classes, units), and a cell seen before
    costs one dict lookup instead of a strip and a parse. A miss parses the cell in
    `__missing__`, so `map(memo.__getitem__, cells)` reads a whole column in one call.
    Parsers are pure and their results immutable, which is what makes remembering safe.
    `special` holds the remembered cells that are not plain values (blank optional,
    unusable), so a column without any in a batch is known at C speed.
    """

    def __init__(self, column: Column):
        super().__init__()
        self.column = column
        # Unpacked once here: `read` runs for every new cell of a file.
        self._check = (column.required, column.parse, column.default)
        self.many = getattr(column.parse, "many", None)  # see parsers.ManyParser
        self.special: set[str] = set()
        self.seen_special = False  # a special cell was parsed since the flag was cleared

    def read(self, raw: str) -> Any:
        required, parse, default = self._check
        value = raw.strip()
        if not value:  # blank reported as "", so the message reads "x is required"
            return (_Rejected("", "is required") if required
                    else _LEFT_OUT if default is None else default)
        try:
            return parse(value)
        except InvalidValue as error:
            return _Rejected(raw, str(error))

    def __missing__(self, raw: str) -> Any:
        result = self.read(raw)
        special = result is _LEFT_OUT or result.__class__ is _Rejected
        self.seen_special = self.seen_special or special
        if len(self) < _MEMO_LIMIT and len(raw) <= _MEMO_MAX_CELL:
            self[raw] = result
            if special:
                self.special.add(raw)
        return result

    def read_column(self, cells: list[str]) -> tuple[list[Any], bool]:
        """Every cell's value, and whether any is special (blank optional, unusable)."""
        if self.many is not None:  # unique values (notes, amounts): the parser's bulk path
            stripped = list(map(str.strip, cells))
            if "" not in stripped and (values := self.many(stripped)) is not None:
                return values, False
        self.seen_special = False
        values = list(map(self.__getitem__, cells))
        return values, self.seen_special or not self.special.isdisjoint(cells)


class _Field(NamedTuple):
    name: str
    index: int | None  # the column's position in a record; None: not in the file
    memo: _Memo


def _fields(columns: Sequence[Column], header: Sequence[str]) -> tuple[_Field, ...]:
    """The columns to read, by position. An optional column the file lacks and that has
    no default is left out of every row, so it is not read at all."""
    positions = {name: index for index, name in enumerate(header)}
    fields = []
    for column in columns:
        memo = _Memo(column)
        index = positions.get(column.name)
        if index is None and memo.read("") is _LEFT_OUT:
            continue
        fields.append(_Field(column.name, index, memo))
    return tuple(fields)


def _read_batch(fields: tuple[_Field, ...], numbers: Sequence[int],
                records: Sequence[Sequence[str]]) -> tuple[list[dict[str, Any]],
                                                          dict[int, list[RowError]]]:
    """Each record's {column: value} for `fields`, and the errors by position in the
    batch (in column order). A record with errors keeps only its usable values."""
    size = len(records)
    columns = []
    for _, index, memo in fields:
        cells = [""] * size if index is None else list(map(itemgetter(index), records))
        columns.append(memo.read_column(cells))
    names = [field.name for field in fields]
    rows = ([dict(zip(names, values)) for values in zip(*(v for v, _ in columns))]  # noqa: B905
            if fields else [{} for _ in range(size)])
    errors: dict[int, list[RowError]] = {}
    for field, (values, special) in zip(fields, columns):  # noqa: B905
        if not special:
            continue  # nothing blank or unusable in this column: the common case
        name = field.name
        for position, value in enumerate(values):
            if value is _LEFT_OUT:
                del rows[position][name]
            elif value.__class__ is _Rejected:
                del rows[position][name]
                errors.setdefault(position, []).append(
                    RowError(numbers[position], name, value.value, value.reason))
    return rows, errors


class RowValidator:
    """Validates the rows of one file against its schema.

    `validate_batch(numbers, records)` takes records (lists of raw cells, in the order of
    `header`) with their row numbers and returns (clean rows, every error found), clean
    rows shaped as this module's docstring says; `validate(row_number, {column: cell})`
    does the same for one row given by name. One validator per file: it remembers the
    cells it has parsed (see `_Memo`).
    """

    def __init__(self, schema: Schema, header: Sequence[str] | None = None):
        self.schema = schema
        self.header = tuple(header if header is not None
                            else (column.name for column in schema.columns))
        self._row_check = schema.row_check
        if isinstance(schema, EntrySchema):
            self._entry_type = schema.entry_type
            self._fields = _fields(schema.columns, self.header)
            self.validate_batch = self._validate_entries
        else:
            self._fields = _fields(schema.classification_columns, self.header)
            self._value_fields = _fields(schema.value_columns, self.header)
            self.validate_batch = self._validate_factors

    def validate(self, row: int, values: Mapping[str, str]
                 ) -> tuple[dict[str, Any] | None, list[RowError]]:
        clean, errors = self.validate_batch(
            [row], [[values.get(name) or "" for name in self.header]])
        return (clean[0] if clean else None), errors

    def _checked(self, numbers: Sequence[int], rows: list[dict[str, Any]],
                 errors: dict[int, list[RowError]],
                 make: Callable[[int], dict[str, Any]]) -> tuple[list[dict[str, Any]],
                                                                 list[RowError]]:
        """The clean rows made by `make(position)`; the row check's errors join each
        row's column errors."""
        check = self._row_check
        if check is None and not errors:
            return [make(position) for position in range(len(rows))], []
        clean, found = [], []
        for position, row in enumerate(rows):
            row_errors = errors.get(position, [])
            if check is not None:
                row_errors = row_errors + check(numbers[position], row)
            if row_errors:
                found += row_errors
            else:
                clean.append(make(position))
        return clean, found

    def _validate_entries(self, numbers: Sequence[int], records: Sequence[Sequence[str]]
                          ) -> tuple[list[dict[str, Any]], list[RowError]]:
        rows, errors = _read_batch(self._fields, numbers, records)
        entry_type = self._entry_type

        def entry(position: int) -> dict[str, Any]:
            data = rows[position]
            # A travel row's own figure is kept beside data.
            return {"entry_type": entry_type, "data": data,
                    "kg_co2eq": data.pop("kg_co2eq", None)}

        return self._checked(numbers, rows, errors, entry)

    def _validate_factors(self, numbers: Sequence[int], records: Sequence[Sequence[str]]
                          ) -> tuple[list[dict[str, Any]], list[RowError]]:
        classifications, errors = _read_batch(self._fields, numbers, records)
        values, value_errors = _read_batch(self._value_fields, numbers, records)
        for position, found in value_errors.items():
            errors[position] = errors.get(position, []) + found
        # The row check sees the whole row; the clean row keeps the two parts apart.
        rows = ([{**c, **v} for c, v in zip(classifications, values)]  # noqa: B905
                if self._row_check is not None else classifications)

        def factor(position: int) -> dict[str, Any]:
            return {"classification": classifications[position], "values": values[position]}

        return self._checked(numbers, rows, errors, factor)
