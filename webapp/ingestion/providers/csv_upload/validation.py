"""Validating the rows of one CSV file against its schema: `RowValidator`.

Clean rows have these shapes:
    data entry: {"entry_type": "plane", "data": {column: value}, "kg_co2eq": float | None}
    factor:     {"classification": {column: value}, "values": {column: number}}
Empty optional cells are left out of `data` and `classification` (unless the column has
a default), so equal identities always compare equal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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


class _CellReader(NamedTuple):
    name: str
    memo: dict[str, Any]  # raw cell -> parsed value, _LEFT_OUT or _Rejected
    read: Callable[[str], Any]


def _cell_reader(column: Column) -> _CellReader:
    """A column's parser with a memory. Cells repeat down a file (airports, dates,
    classes, units), and a cell seen before then costs one dict lookup instead of a
    strip and a parse: the largest single saving of the validation loop. Parsers are
    pure and their results immutable, which is what makes remembering them safe."""
    name, required, parse, default = column
    memo: dict[str, Any] = {}

    def read(raw: str) -> Any:
        value = raw.strip()
        if not value:  # blank reported as "", so the message reads "x is required"
            result = (_Rejected("", "is required") if required
                      else _LEFT_OUT if default is None else default)
        else:
            try:
                result = parse(value)
            except InvalidValue as error:
                result = _Rejected(raw, str(error))
        if len(memo) < _MEMO_LIMIT and len(raw) <= _MEMO_MAX_CELL:
            memo[raw] = result
        return result

    return _CellReader(name, memo, read)


def _read_columns(readers: tuple[_CellReader, ...], row: int, values: Mapping[str, str],
                  out: dict[str, Any], errors: list[RowError]) -> None:
    # The hot loop of every upload: keep it flat.
    for name, memo, read in readers:
        raw = values.get(name) or ""
        value = memo.get(raw)
        if value is None:  # not seen yet (parsers return values, never None)
            value = read(raw)
        if value is _LEFT_OUT:
            continue
        if value.__class__ is _Rejected:
            errors.append(RowError(row, name, value.value, value.reason))
            continue
        out[name] = value


class RowValidator:
    """Validates the rows of one file against its schema.

    `validate(row_number, values)` returns (clean row, []) or (None, every error found),
    with clean rows shaped as this module's docstring says. One validator per file: it
    remembers the cells it has parsed (see `_cell_reader`).
    """

    def __init__(self, schema: Schema):
        self.schema = schema
        self._row_check = schema.row_check
        if isinstance(schema, EntrySchema):
            self._entry_type = schema.entry_type
            self._readers = tuple(map(_cell_reader, schema.columns))
            self.validate = self._validate_entry
        else:
            self._readers = tuple(map(_cell_reader, schema.classification_columns))
            self._value_readers = tuple(map(_cell_reader, schema.value_columns))
            self.validate = self._validate_factor

    def _validate_entry(self, row: int, values: Mapping[str, str]
                        ) -> tuple[dict[str, Any] | None, list[RowError]]:
        data: dict[str, Any] = {}
        errors: list[RowError] = []
        _read_columns(self._readers, row, values, data, errors)
        if self._row_check is not None:
            errors += self._row_check(row, data)
        if errors:
            return None, errors
        kg_co2eq = data.pop("kg_co2eq", None)  # a travel row's own figure, kept beside data
        return {"entry_type": self._entry_type, "data": data, "kg_co2eq": kg_co2eq}, errors

    def _validate_factor(self, row: int, values: Mapping[str, str]
                         ) -> tuple[dict[str, Any] | None, list[RowError]]:
        classification: dict[str, Any] = {}
        factor_values: dict[str, Any] = {}
        errors: list[RowError] = []
        _read_columns(self._readers, row, values, classification, errors)
        _read_columns(self._value_readers, row, values, factor_values, errors)
        if self._row_check is not None:
            errors += self._row_check(row, {**classification, **factor_values})
        if errors:
            return None, errors
        return {"classification": classification, "values": factor_values}, errors
