"""A page of stored entries as a table people read (SPEC §15): each entry's own fields in
columns taken from its entry type's declared CSV schema (a trip's route, date, class,
person, trips...), numbers right-aligned with thousands separators. The emission, source
and job columns around them are the template's.

Several entry types do not share columns, so a table holds one type; a page of every
type (a module with several, no type chosen) gets one "Entry" cell per row instead, the
same fields in a line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from webapp.ingestion.providers.csv_upload.columns import ROUTING_COLUMN, UNIT_COLUMN
from webapp.ingestion.providers.csv_upload.schemas import ENTRY_SCHEMAS
from webapp.models import DataEntry
from webapp.text import clip
from webapp.views.preview import json_text

# What a column is called on a page, where its CSV name does not say it well.
LABELS = {
    "user_institutional_id": "Person", "departure_date": "Date", "number_of_trips": "Trips",
    "cabin_class": "Class", "kg_co2eq": "Declared kg CO2eq", "round_trip": "Round trip",
    "distance_km": "Distance km", "fte": "FTE", "position_category": "Position",
    "total_spent_amount": "Amount", "purchase_institutional_code": "Purchase code",
    "purchase_institutional_description": "Description", "equipment_id": "Equipment",
    "equipment_class": "Class", "sub_class": "Sub-class",
    "active_usage_hours_per_week": "Active h / week",
    "standby_usage_hours_per_week": "Standby h / week",
}
# Fields shown together as one "Route" column: (origin, destination), each a name and
# an optional code in brackets ("Genève (CH)"), or a code alone ("GVA").
ROUTES = (("origin_iata", None, "destination_iata", None),
          ("origin_name", "origin_country_code", "destination_name", "destination_country_code"))
# The unit columns say which unit's module the entry went to: this page is that module's.
NOT_SHOWN = {UNIT_COLUMN.name, ROUTING_COLUMN.name}
NOTE_CHARS = 60


@dataclass(frozen=True)
class Field:
    label: str
    text: str
    numeric: bool = False


@dataclass(frozen=True)
class Header:
    label: str
    numeric: bool


@dataclass(frozen=True)
class EntryTable:
    headers: list[Header]  # empty for a page of several entry types
    rows: list[tuple[DataEntry, list[Field]]]


# A column: the data fields it shows, one, or a route's (origin, its code, destination,
# its code) with None where it has no code.
Column = tuple[str | None, ...]


def entry_table(module_type: str, entry_type: str | None, entries: Sequence[DataEntry]
                ) -> EntryTable:
    """The fields of `entries` (a page of one `entry_type`, or of any when None) in the
    order of that type's CSV template, a route as one field, then fields the schema does
    not declare; columns no entry of the page fills are left out."""
    if entry_type is None:  # one line of fields per entry, each in its own type's order
        return EntryTable([], [
            (entry, [f for f in _fields(entry.data or {}, _columns(
                module_type, entry.entry_type, [entry])) if f.text]) for entry in entries])
    columns = _columns(module_type, entry_type, entries)
    rows = [(entry, _fields(entry.data or {}, columns)) for entry in entries]
    headers = [Header(_label(column), any(fields[i].numeric for _, fields in rows))
               for i, column in enumerate(columns)]
    return EntryTable(headers, rows)


def figure(value: Any) -> str:
    """A stored number with thousands separators, as many decimals as it was given:
    1234 -> '1,234', 6719951.4 -> '6,719,951.4'."""
    if isinstance(value, int):
        return f"{value:,}"
    return f"{Decimal(repr(value)):,}"


def _columns(module_type: str, entry_type: str, entries: Sequence[DataEntry]
             ) -> list[Column]:
    """The schema's fields in template order (a route's as one column, where the origin
    is), then those the schema does not declare; only those some entry fills."""
    schema = ENTRY_SCHEMAS.get((module_type, entry_type))
    names = [c.name for c in schema.columns] if schema else []
    filled: dict[str, None] = {}
    for entry in entries:
        filled.update((k, None) for k, v in (entry.data or {}).items() if v not in (None, ""))
    names += [name for name in filled if name not in names]
    columns: list[Column] = [(name,) for name in names if name not in NOT_SHOWN]
    for route in ROUTES:
        parts = [name for name in route if name]
        if all((name,) in columns for name in parts):
            columns = [route if column == (parts[0],) else column for column in columns
                       if column[0] not in parts[1:]]
    return [column for column in columns if any(name in filled for name in column if name)]


def _label(column: Column) -> str:
    if len(column) > 1:
        return "Route"
    return LABELS.get(column[0]) or column[0].replace("_", " ").capitalize()


def _fields(data: Mapping[str, Any], columns: Iterable[Column]) -> list[Field]:
    return [_route(data, column) if len(column) > 1 else _field(column[0], data.get(column[0]))
            for column in columns]


def _field(name: str, value: Any) -> Field:
    label = _label((name,))
    if value is None:
        return Field(label, "")
    if isinstance(value, bool):
        return Field(label, "yes" if value else "no")
    if isinstance(value, int | float):
        return Field(label, figure(value), numeric=True)
    if isinstance(value, str):
        return Field(label, clip(value, NOTE_CHARS) if name == "note" else value)
    return Field(label, json_text(value))


def _route(data: Mapping[str, Any], route: Column) -> Field:
    origin, origin_code, destination, destination_code = route

    def place(name: str, code: str | None) -> str:
        where = str(data.get(name) or "?")
        return f"{where} ({data[code]})" if code and data.get(code) else where

    if not data.get(origin) and not data.get(destination):
        return Field("Route", "")
    return Field("Route", f"{place(origin, origin_code)} → {place(destination, destination_code)}")
