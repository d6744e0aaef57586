"""Stored emission factors as a table people read (SPEC §15): the classification columns
of the factor type's CSV schema (what a factor applies to), then its value columns, each
headed by its unit ("kg CO2eq / passenger-km"), numbers right-aligned with thousands
separators. The page sorts the factors by the classification columns, in this order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from webapp.ingestion.providers.csv_upload.schemas import FACTOR_SCHEMAS
from webapp.models import EmissionFactor
from webapp.views.entry_table import Field, figure
from webapp.views.preview import json_text

# Each value column's unit; a factor in kg CO2eq per km is per passenger-km (one person
# travelling one km), as the emission rules multiply it by distance and trips.
UNITS = {
    "ef_kg_co2eq_per_km": "kg CO2eq / passenger-km",
    "rfi_adjustment": "× (radiative forcing)",
    "min_distance": "km", "max_distance": "km",
    "active_power_w": "W", "standby_power_w": "W",
    "ef_kg_co2eq_per_kwh": "kg CO2eq / kWh",
    "ef_kg_co2eq_per_currency": "kg CO2eq / unit of currency",
    "ef_kg_co2eq_per_unit": "kg CO2eq / unit",
}
LABELS = {
    "ef_kg_co2eq_per_km": "Factor", "ef_kg_co2eq_per_kwh": "Factor",
    "ef_kg_co2eq_per_currency": "Factor", "ef_kg_co2eq_per_unit": "Factor",
    "rfi_adjustment": "RFI multiplier", "min_distance": "From", "max_distance": "Up to",
    "cabin_class": "Class", "sub_class": "Sub-class", "country_code": "Country",
    "purchase_institutional_code": "Purchase code", "active_power_w": "Active power",
    "standby_power_w": "Standby power",
}


@dataclass(frozen=True)
class FactorHeader:
    label: str
    unit: str
    numeric: bool


@dataclass(frozen=True)
class FactorTable:
    headers: list[FactorHeader]
    rows: list[list[Field]]


def sort_columns(factor_type: str) -> list[str]:
    """The classification fields factors of this type are sorted by, in schema order."""
    schema = FACTOR_SCHEMAS.get(factor_type)
    return [c.name for c in schema.classification_columns] if schema else []


def factor_table(factor_type: str, factors: Sequence[EmissionFactor]) -> FactorTable:
    """Classification columns, then value columns (the schema's, then any other a stored
    factor holds); optional columns no factor of the page fills are left out."""
    schema = FACTOR_SCHEMAS.get(factor_type)
    declared = ([("classification", c.name, c.required) for c in schema.classification_columns]
                + [("values", c.name, c.required) for c in schema.value_columns]
                if schema else [])
    known = {(part, name) for part, name, _ in declared}
    columns = [(part, name) for part, name, required in declared
               if required or any(_get(f, part, name) is not None for f in factors)]
    for part in ("classification", "values"):
        columns += [(part, name) for name in dict.fromkeys(
            key for f in factors for key in (getattr(f, part) or {})) if (part, name) not in known]
    columns.sort(key=lambda column: column[0] != "classification")  # stable
    headers = [FactorHeader(_label(name), UNITS.get(name, ""), part == "values")
               for part, name in columns]
    return FactorTable(headers, [[_cell(_get(f, part, name)) for part, name in columns]
                                 for f in factors])


def _get(factor: EmissionFactor, part: str, name: str) -> Any:
    stored: Mapping[str, Any] = getattr(factor, part) or {}
    return stored.get(name)


def _label(name: str) -> str:
    return LABELS.get(name) or name.replace("_", " ").capitalize()


def _cell(value: Any) -> Field:
    if value is None:
        return Field("", "")
    if isinstance(value, bool):
        return Field("", "yes" if value else "no")
    if isinstance(value, int | float):
        return Field("", figure(value), numeric=True)
    return Field("", json_text(value))
