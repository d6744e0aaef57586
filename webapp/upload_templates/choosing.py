"""Which template a request asks for: a `Template` (its columns in order, its names) for
a module's entries, every unit's entries, a factor type's factors, or the unit tree."""

from __future__ import annotations

from dataclasses import dataclass

from webapp.errors import NotFound
from webapp.ingestion.providers.csv_upload import schemas
from webapp.ingestion.providers.csv_upload.columns import Column, Schema
from webapp.models.inventory import MODULE_TYPES
from webapp.organisation.units import UNIT_COLUMNS, UNIT_SCHEMA
from webapp.text import clip_cell


@dataclass(frozen=True)
class Template:
    """One downloadable template: `columns` in the order the file has them (required
    first), validated by `schema`."""

    title: str  # the workbook's title: "Carbon Sync template: travel, plane entries"
    sheet: str  # the data sheet's name: "Plane"
    file_stem: str  # "travel-plane-template" (+ .csv or .xlsx)
    row_is: str  # what one row is, for the explanation: "plane entry"
    columns: tuple[Column, ...]
    schema: Schema

    @property
    def header(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def example_row(self) -> list[str]:
        return [column.example for column in self.columns]


def _entry_schema(module_type: str, entry_type: str | None) -> schemas.EntrySchema:
    """A module type's entry schema: `entry_type`'s, or its first type's when None.

    Raises:
        NotFound: the module type takes no file, or has no such entry type.
    """
    types = schemas.entry_types_for(module_type)
    chosen = entry_type or (types[0] if types else None)
    schema = schemas.ENTRY_SCHEMAS.get((module_type, chosen))
    if schema is None:
        if not types:
            known = [t for t in MODULE_TYPES if schemas.entry_types_for(t)]
            raise NotFound(f"module type {clip_cell(repr(module_type))} has no template; "
                           f"known: {', '.join(known)}")
        raise NotFound(f"no template for entry type {clip_cell(repr(chosen))} of "
                       f"{module_type}; known: {', '.join(types)}")
    return schema


def entry_template(module_type: str, entry_type: str | None = None) -> Template:
    """A unit's file of `entry_type` entries (the module type's first when None).

    Raises:
        NotFound: no such module type or entry type.
    """
    schema = _entry_schema(module_type, entry_type)
    chosen = schema.entry_type
    return Template(f"Carbon Sync template: {module_type}, {chosen} entries",
                    chosen.capitalize(), f"{module_type}-{chosen}-template",
                    f"{chosen} entry", schemas.template_columns(schema.columns), schema)


def every_unit_template(module_type: str, entry_type: str | None = None) -> Template:
    """As entry_template, for an institution-wide file: each row names its unit_code.

    Raises:
        NotFound: no such module type or entry type.
    """
    schema = _entry_schema(module_type, entry_type).routed()
    chosen = schema.entry_type
    return Template(f"Carbon Sync template: every unit's {module_type}, {chosen} entries",
                    chosen.capitalize(), f"every-unit-{module_type}-{chosen}-template",
                    f"{chosen} entry, of the unit its unit_code names",
                    schemas.template_columns(schema.columns), schema)


def factor_template(factor_type: str) -> Template:
    """A file of `factor_type` factors (a FactorType's slug).

    Raises:
        NotFound: the factor type has no file format.
    """
    schema = schemas.FACTOR_SCHEMAS.get(factor_type)
    if schema is None:
        raise NotFound(f"factor type {clip_cell(repr(factor_type))} has no template")
    return Template(f"Carbon Sync template: {factor_type} emission factors",
                    f"{factor_type.capitalize()} factors", f"factors-{factor_type}-template",
                    f"{factor_type} factor", schemas.template_columns(schema.columns), schema)


def units_template() -> Template:
    """A file of the unit tree (its own columns: no unit_institutional_id)."""
    return Template("Carbon Sync template: units", "Units", "units-template", "unit",
                    schemas.template_columns(UNIT_COLUMNS), UNIT_SCHEMA)
