"""Declarative column schemas for CSV uploads, and row validation against them.

A schema lists its columns; each column has a parser that turns the raw cell text
into a JSON-serialisable value or raises `InvalidValue` with a reason a user reads
after the column name and value ("departure_date '2025-13-45' is not a date ...").
Adding a module, an entry type or a factor type is adding one declaration to
`ENTRY_SCHEMAS` or `FACTOR_SCHEMAS`; nothing else changes.

Clean rows have these shapes:
    data entry: {"entry_type": "plane", "data": {column: value}, "kg_co2eq": float | None}
    factor:     {"classification": {column: value}, "values": {column: number}}
Empty optional cells are left out of `data` and `classification` (unless the column has
a default), so equal identities always compare equal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from webapp.errors import InvalidFile, JobFailure
from webapp.ingestion.providers.base import RowError
from webapp.ingestion.providers.csv_upload.parsers import (
    CABIN_CLASS,
    TRAIN_CLASS,
    InvalidValue,
    Parser,
    country_code,
    currency_code,
    fraction,
    iata_code,
    integer,
    iso_date,
    number,
    text,
)
from webapp.text import clip_cell

RowCheck = Callable[[int, dict[str, Any]], list[RowError]]



# -- schemas --------------------------------------------------------------------------


class Column(NamedTuple):
    """One CSV column. A tuple, so the validation loop can unpack it cheaply."""

    name: str
    required: bool = False
    parse: Parser = text()
    default: Any = None  # used when the optional cell is empty; None = leave it out


# Every data file may say which organisational unit a row belongs to.
UNIT_COLUMN = Column("unit_institutional_id", parse=text(100))


@dataclass(frozen=True)
class EntrySchema:
    """The columns of one data-entry type; `unit_institutional_id` is always added."""

    module_type: str
    entry_type: str
    columns: tuple[Column, ...]
    row_check: RowCheck | None = None

    def __post_init__(self) -> None:
        if UNIT_COLUMN not in self.columns:
            object.__setattr__(self, "columns", (*self.columns, UNIT_COLUMN))


@dataclass(frozen=True)
class FactorSchema:
    """The columns of one factor type: classification = identity, values = numbers."""

    factor_type: str
    classification_columns: tuple[Column, ...]
    value_columns: tuple[Column, ...]
    row_check: RowCheck | None = None

    @property
    def columns(self) -> tuple[Column, ...]:
        return self.classification_columns + self.value_columns


Schema = EntrySchema | FactorSchema


def _hours_fit_in_a_week(row: int, data: dict[str, Any]) -> list[RowError]:
    active = data.get("active_usage_hours_per_week")
    standby = data.get("standby_usage_hours_per_week")
    if active is None or standby is None or active + standby <= 168:
        return []
    return [RowError(row, "active_usage_hours_per_week + standby_usage_hours_per_week",
                     f"{active:g} + {standby:g}", "must add up to at most 168 hours a week")]


def _distance_band_is_ordered(row: int, data: dict[str, Any]) -> list[RowError]:
    low, high = data.get("min_distance"), data.get("max_distance")
    if low is None or high is None or low < high:
        return []
    return [RowError(row, "max_distance", f"{high:g}",
                     f"must be greater than min_distance ({low:g})")]


_ID = text(100)
_NOTE = text(2000)
_HOURS = number(0, 168)
_POSITIVE = number(0)

_TRIPS = Column("number_of_trips", parse=integer(1), default=1)
_DATE = Column("departure_date", parse=iso_date())
_KG = Column("kg_co2eq", parse=_POSITIVE)

_YES_NO = {"yes": True, "y": True, "true": True, "1": True,
           "no": False, "n": False, "false": False, "0": False}


def _yes_no(value: str) -> bool:
    try:
        return _YES_NO[value.lower()]
    except KeyError:
        raise InvalidValue("is not yes or no") from None


def _country_or_rest_of_world() -> Parser:
    """A train factor's country: an ISO code, or RoW for every other country."""
    country = country_code()

    def parse(value: str) -> str:
        if value.upper() == "ROW":
            return "RoW"
        try:
            return country(value)
        except InvalidValue:
            raise InvalidValue("is not an ISO 3166 country code or RoW (expected 2 "
                               "letters, e.g. CH)") from None
    return parse


# Emissions (SPEC §10): an empty round_trip is left out and means no; a distance_km
# replaces the computed one (planes) or is the only one (trains).
_ROUND_TRIP = Column("round_trip", parse=_yes_no)
_DISTANCE = Column("distance_km", parse=_POSITIVE)

_ENTRY_SCHEMA_LIST = (
    EntrySchema("headcount", "member", (
        Column("name", True),
        Column("position_category", True),
        Column("user_institutional_id", True, _ID),
        Column("fte", True, fraction()),
        Column("note", parse=_NOTE),
    )),
    EntrySchema("travel", "plane", (
        Column("origin_iata", True, iata_code()),
        Column("destination_iata", True, iata_code()),
        Column("user_institutional_id", True, _ID),
        _DATE,
        _TRIPS,
        Column("cabin_class", True, CABIN_CLASS),
        Column("note", parse=_NOTE),
        _KG,
        _ROUND_TRIP,
        _DISTANCE,
    )),
    EntrySchema("travel", "train", (
        Column("origin_name", True),
        Column("origin_country_code", True, country_code()),
        Column("destination_name", True),
        Column("destination_country_code", True, country_code()),
        Column("user_institutional_id", True, _ID),
        _DATE,
        _TRIPS,
        Column("cabin_class", True, TRAIN_CLASS),
        Column("note", parse=_NOTE),
        _KG,
        _ROUND_TRIP,
        _DISTANCE,
    )),
    EntrySchema("equipment", "equipment", (
        Column("equipment_id", True, _ID),
        Column("name", True),
        Column("equipment_class", True),
        Column("sub_class"),
        Column("active_usage_hours_per_week", parse=_HOURS),
        Column("standby_usage_hours_per_week", parse=_HOURS),
        Column("note", parse=_NOTE),
    ), row_check=_hours_fit_in_a_week),
    EntrySchema("purchases", "purchase", (
        Column("name", True),
        Column("supplier"),
        Column("quantity", parse=_POSITIVE),
        Column("total_spent_amount", True, _POSITIVE),
        Column("currency", parse=currency_code()),
        Column("purchase_institutional_code", True, _ID),
        Column("purchase_institutional_description"),
        Column("note", parse=_NOTE),
    )),
)

_FACTOR_SCHEMA_LIST = (
    FactorSchema("plane", (
        Column("category", True),
        Column("cabin_class", True, CABIN_CLASS),
    ), (
        Column("ef_kg_co2eq_per_km", True, _POSITIVE),
        Column("rfi_adjustment", parse=_POSITIVE),
        Column("min_distance", parse=_POSITIVE),
        Column("max_distance", parse=_POSITIVE),
    ), row_check=_distance_band_is_ordered),
    FactorSchema("train", (
        Column("country_code", True, _country_or_rest_of_world()),
    ), (
        Column("ef_kg_co2eq_per_km", True, _POSITIVE),
    )),
    FactorSchema("equipment", (
        Column("equipment_class", True),
        Column("sub_class"),
    ), (
        Column("active_power_w", parse=_POSITIVE),
        Column("standby_power_w", parse=_POSITIVE),
        Column("ef_kg_co2eq_per_kwh", True, _POSITIVE),
    )),
    FactorSchema("purchase", (
        Column("purchase_institutional_code", True, _ID),
        Column("currency", True, currency_code()),
    ), (
        Column("ef_kg_co2eq_per_currency", True, _POSITIVE),
    )),
    FactorSchema("headcount", (
        Column("headcount_category", True),
        Column("headcount_class"),
        Column("unit"),
    ), (
        Column("ef_kg_co2eq_per_unit", True, _POSITIVE),
    )),
)

ENTRY_SCHEMAS: dict[tuple[str, str], EntrySchema] = {
    (schema.module_type, schema.entry_type): schema for schema in _ENTRY_SCHEMA_LIST
}
FACTOR_SCHEMAS: dict[str, FactorSchema] = {
    schema.factor_type: schema for schema in _FACTOR_SCHEMA_LIST
}

# -- choosing a schema for a header ---------------------------------------------------


def entry_types_for(module_type: str) -> list[str]:
    """The entry types a module's data files can hold, in declaration order."""
    return [entry for module, entry in ENTRY_SCHEMAS if module == module_type]


def missing_columns(schema: Schema, header: Iterable[str]) -> list[str]:
    """Required columns of `schema` absent from a (normalised) header, in schema order."""
    present = set(header)
    return [c.name for c in schema.columns if c.required and c.name not in present]


def template_header(schema: Schema) -> list[str]:
    """Column names for a downloadable template: required first, each group in order."""
    return ([c.name for c in schema.columns if c.required]
            + [c.name for c in schema.columns if not c.required])


def _require_columns(schema: Schema, header: list[str], what: str) -> None:
    missing = missing_columns(schema, header)
    if missing:
        raise InvalidFile(f"The file is missing required columns for {what}: "
                          f"{', '.join(missing)}. {_found(header)}")


def _found(header: list[str]) -> str:
    # Naming what was found helps when the delimiter or the header row is not the expected one.
    names = [clip_cell(name) for name in header if name]
    shown = ", ".join(names[:15]) + (", ..." if len(names) > 15 else "")
    return f"Columns found: {shown}." if names else "No column names were found."


def pick_entry_schema(module_type: str, header: list[str],
                      entry_type: str | None = None) -> EntrySchema:
    """The entry schema a data file's header fits.

    A module with several entry types (travel: plane, train) is told apart by the
    columns, unless `entry_type` says which.

    Raises:
        JobFailure (422): unknown module type or entry type.
        InvalidFile: required columns are missing, or the header fits several types.
    """
    types = entry_types_for(module_type)
    if not types:
        raise JobFailure(f"Module type {module_type!r} takes no data files.", 422)
    if entry_type is not None:
        if entry_type not in types:
            raise JobFailure(f"Entry type {entry_type!r} is not one of {module_type}'s: "
                                 f"{', '.join(types)}.", 422)
        types = [entry_type]
    schemas = [ENTRY_SCHEMAS[module_type, t] for t in types]
    if len(schemas) == 1:
        _require_columns(schemas[0], header, f"{schemas[0].entry_type} entries")
        return schemas[0]
    fitting = [schema for schema in schemas if not missing_columns(schema, header)]
    if len(fitting) == 1:
        return fitting[0]
    if fitting:
        raise InvalidFile(f"The file has the columns of several {module_type} entry types "
                          f"({', '.join(s.entry_type for s in fitting)}); "
                          "choose the entry type when uploading it.")
    needs = "; ".join(f"{s.entry_type} entries need {', '.join(missing_columns(s, header))}"
                      for s in schemas)
    raise InvalidFile(f"The file's columns fit no {module_type} entry type: {needs}. "
                      f"{_found(header)}")


def pick_factor_schema(factor_type: str, header: list[str]) -> FactorSchema:
    """The schema of `factor_type`, checked against a factor file's header.

    Raises:
        JobFailure (422): unknown factor type.
        InvalidFile: required columns are missing.
    """
    schema = FACTOR_SCHEMAS.get(factor_type)
    if schema is None:
        raise JobFailure(f"Factor type {factor_type!r} has no CSV format; known types: "
                             f"{', '.join(FACTOR_SCHEMAS)}.", 422)
    _require_columns(schema, header, f"{factor_type} factors")
    return schema


# -- validating rows ------------------------------------------------------------------

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
