"""The declared column schemas of CSV uploads, one per data-entry type and factor type,
and choosing the one a file's header fits.

A schema lists its columns (`columns.py`); each column has a parser that turns the raw
cell text into a JSON-serialisable value or raises `InvalidValue` with a reason a user
reads after the column name and value ("departure_date '2025-13-45' is not a date ...").
Adding a module, an entry type or a factor type is adding one declaration to
`ENTRY_SCHEMAS` or `FACTOR_SCHEMAS`; nothing else changes. Rows are validated against
a schema by `validation.py`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from webapp.errors import InvalidFile, JobFailure
from webapp.ingestion.providers.base import RowError
from webapp.ingestion.providers.csv_upload.columns import (
    ROUTING_COLUMN,
    Column,
    EntrySchema,
    FactorSchema,
    Schema,
)
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
    yes_no,
)
from webapp.text import clip_cell

# -- the declarations -----------------------------------------------------------------


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
_ROUND_TRIP = Column("round_trip", parse=yes_no)
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


def pick_routed_entry_schema(module_type: str, header: list[str],
                             entry_type: str | None = None) -> EntrySchema:
    """As pick_entry_schema, for a file of every unit's entries: its rows also name their
    unit in a `unit_code` column.

    Raises:
        InvalidFile: no unit_code column, or what pick_entry_schema raises.
    """
    if ROUTING_COLUMN.name not in header:
        raise InvalidFile(f"A file for every unit needs a {ROUTING_COLUMN.name} column "
                          "naming each row's unit (its code, as Units lists it); "
                          f"a unit's own file goes to its module's page. {_found(header)}")
    return pick_entry_schema(module_type, header, entry_type).routed()


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
