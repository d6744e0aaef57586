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
    country_code,
    country_or_rest_of_world,
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

# Descriptions and examples are what templates show (SPEC §15): one line saying what the
# column holds, its unit and its form; an example a person would type, which passes the
# parser (tests/unit/test_column_docs.py checks both for every column).
_PERSON_ID = "The person's institutional id (staff or student number), kept as text"
_NOTE_COLUMN = Column("note", parse=_NOTE, description="A free note, up to 2,000 characters",
                      example="Checked in the March review")
_TRIPS = Column("number_of_trips", parse=integer(1), default=1,
                description="How many times this trip was made (a whole number; empty = 1)",
                example="1")
_DATE = Column("departure_date", parse=iso_date(),
               description="Day of departure, YYYY-MM-DD", example="2025-03-14")
_KG = Column("kg_co2eq", parse=_POSITIVE,
             description="The trip's emissions in kg CO2eq if your source gives them; "
                         "empty = computed from the factors", example="212.5")

# Emissions (SPEC §10): an empty round_trip is left out and means no; a distance_km
# replaces the computed one (planes) or is the only one (trains).
_ROUND_TRIP = Column("round_trip", parse=yes_no,
                     description="Whether the trip was there and back (counted twice); "
                                 "empty = no", example="yes")
_CABIN_CLASS = Column("cabin_class", True, CABIN_CLASS,
                      description="Cabin class of the flight (IATA letters F, J, W, Y "
                                  "are taken too)", example="economy")

_ENTRY_SCHEMA_LIST = (
    EntrySchema("headcount", "member", (
        Column("name", True, description="The person's full name", example="Ada Lovelace"),
        Column("position_category", True,
               description="The person's position, as the headcount factors name it "
                           "(their headcount_category)", example="professor"),
        Column("user_institutional_id", True, _ID, description=_PERSON_ID,
               example="012345"),
        Column("fte", True, fraction(),
               description="Full-time equivalent, from 0 to 1 (0.5 = half time)",
               example="0.8"),
        _NOTE_COLUMN,
    )),
    EntrySchema("travel", "plane", (
        Column("origin_iata", True, iata_code(),
               description="Departure airport, IATA code", example="GVA"),
        Column("destination_iata", True, iata_code(),
               description="Arrival airport, IATA code", example="LHR"),
        Column("user_institutional_id", True, _ID, description=_PERSON_ID,
               example="012345"),
        _DATE,
        _TRIPS,
        _CABIN_CLASS,
        _NOTE_COLUMN,
        _KG,
        _ROUND_TRIP,
        Column("distance_km", parse=_POSITIVE,
               description="One-way distance in km, if known; empty = the great-circle "
                           "distance between the airports + 95 km", example="751"),
    )),
    EntrySchema("travel", "train", (
        Column("origin_name", True, description="Departure station or city",
               example="Lausanne"),
        Column("origin_country_code", True, country_code(),
               description="Country of departure, ISO 3166 code", example="CH"),
        Column("destination_name", True, description="Arrival station or city",
               example="Milano Centrale"),
        Column("destination_country_code", True, country_code(),
               description="Country of arrival, ISO 3166 code", example="IT"),
        Column("user_institutional_id", True, _ID, description=_PERSON_ID,
               example="012345"),
        _DATE,
        _TRIPS,
        Column("cabin_class", True, TRAIN_CLASS,
               description="Class travelled (1 and 2 are taken too)", example="second"),
        _NOTE_COLUMN,
        _KG,
        _ROUND_TRIP,
        Column("distance_km", parse=_POSITIVE,
               description="One-way distance in km; without it no emission is computed",
               example="330"),
    )),
    EntrySchema("equipment", "equipment", (
        Column("equipment_id", True, _ID,
               description="The equipment's inventory number, kept as text",
               example="EQ-00417"),
        Column("name", True, description="What the equipment is", example="Dell Latitude 7440"),
        Column("equipment_class", True,
               description="Class of equipment, as the equipment factors name it",
               example="laptop"),
        Column("sub_class", description="Sub-class, as the equipment factors name it; "
                                        "empty = the class's general factor",
               example="14 inch"),
        Column("active_usage_hours_per_week", parse=_HOURS,
               description="Hours a week in use, from 0 to 168", example="40"),
        Column("standby_usage_hours_per_week", parse=_HOURS,
               description="Hours a week on standby, from 0 to 168 (with the active hours, "
                           "at most 168)", example="128"),
        _NOTE_COLUMN,
    ), row_check=_hours_fit_in_a_week),
    EntrySchema("purchases", "purchase", (
        Column("name", True, description="What was bought", example="Pipettes"),
        Column("supplier", description="Who sold it", example="Labtech AG"),
        Column("quantity", parse=_POSITIVE, description="How many were bought",
               example="10"),
        Column("total_spent_amount", True, _POSITIVE,
               description="The amount spent, in the currency of the currency column",
               example="250.50"),
        Column("currency", parse=currency_code(),
               description="Currency of the amount, ISO 4217 code", example="CHF"),
        Column("purchase_institutional_code", True, _ID,
               description="The purchase category's code in your accounts, as the "
                           "purchase factors name it (kept as text)", example="P-1001"),
        Column("purchase_institutional_description",
               description="What the purchase category is", example="Laboratory supplies"),
        _NOTE_COLUMN,
    )),
)

_FACTOR_SCHEMA_LIST = (
    FactorSchema("plane", (
        Column("category", True, description="The factor's name, e.g. its distance band",
               example="short_haul"),
        _CABIN_CLASS,
    ), (
        Column("ef_kg_co2eq_per_km", True, _POSITIVE,
               description="kg CO2eq per passenger-km", example="0.151"),
        Column("rfi_adjustment", parse=_POSITIVE,
               description="Multiplier for the effects of flying beyond CO2 (radiative "
                           "forcing); empty = 1", example="1.9"),
        Column("min_distance", parse=_POSITIVE,
               description="Shortest flight, in km, the factor is for; empty = no minimum",
               example="0"),
        Column("max_distance", parse=_POSITIVE,
               description="Distance in km from which the factor no longer applies "
                           "(above min_distance); empty = no maximum", example="1500"),
    ), row_check=_distance_band_is_ordered),
    FactorSchema("train", (
        Column("country_code", True, country_or_rest_of_world(),
               description="Country whose trains the factor is for, ISO 3166 code; RoW "
                           "for every other country", example="CH"),
    ), (
        Column("ef_kg_co2eq_per_km", True, _POSITIVE,
               description="kg CO2eq per passenger-km", example="0.009"),
    )),
    FactorSchema("equipment", (
        Column("equipment_class", True, description="Class of equipment, as entries name it",
               example="laptop"),
        Column("sub_class", description="Sub-class, as entries name it; empty = the "
                                        "class's general factor", example="14 inch"),
    ), (
        Column("active_power_w", parse=_POSITIVE, description="Power in use, in watts",
               example="45"),
        Column("standby_power_w", parse=_POSITIVE, description="Power on standby, in watts",
               example="2"),
        Column("ef_kg_co2eq_per_kwh", True, _POSITIVE,
               description="kg CO2eq per kWh of electricity", example="0.125"),
    )),
    FactorSchema("purchase", (
        Column("purchase_institutional_code", True, _ID,
               description="The purchase category's code in your accounts, as entries "
                           "name it (kept as text)", example="P-1001"),
        Column("currency", True, currency_code(),
               description="Currency the factor is for, ISO 4217 code", example="CHF"),
    ), (
        Column("ef_kg_co2eq_per_currency", True, _POSITIVE,
               description="kg CO2eq per unit of the currency spent", example="0.25"),
    )),
    FactorSchema("headcount", (
        Column("headcount_category", True,
               description="Position category, as members' position_category names it",
               example="professor"),
        Column("headcount_class", description="A part of the category's footprint (e.g. "
                                              "lab, office); the classes are summed",
               example="office"),
        Column("unit", description="What the factor is per", example="fte"),
    ), (
        Column("ef_kg_co2eq_per_unit", True, _POSITIVE,
               description="kg CO2eq a year per unit (per full-time equivalent)",
               example="1200"),
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


def template_columns(columns: tuple[Column, ...]) -> tuple[Column, ...]:
    """The columns as a downloadable template has them: required first, each group in
    declaration order."""
    return (tuple(c for c in columns if c.required)
            + tuple(c for c in columns if not c.required))


def template_header(schema: Schema) -> list[str]:
    """Column names for a downloadable template (template_columns)."""
    return [column.name for column in template_columns(schema.columns)]


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
