"""The report workbook (SPEC §15): a Totals sheet (t CO2eq per unit and module, the year
before and the change), an About sheet, and a sheet per entry type with every entry, its
kg CO2eq and the factor used.

Written by XlsxWriter in constant_memory mode: each row goes to the sheet's temporary
file as it is written, entries come from a server-side cursor a slice at a time, so
memory stays flat whatever the size of the report. Cells are written by type (numbers
as numbers with a number format, text as text: a cell starting with "=" stays text).
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import IO, Any

import xlsxwriter

from webapp.ingestion.providers.csv_upload.schemas import ENTRY_SCHEMAS
from webapp.models.inventory import MODULE_TYPES
from webapp.reports.figures import (
    Scope,
    UnitTotals,
    entry_rows,
    entry_types,
    module_types,
    unit_count,
    unit_totals,
)
from webapp.times import timestamp

# Excel's limit is 1,048,576 rows a sheet: one for the header, the rest for entries; an
# entry type with more continues on "Plane (2)", "Plane (3)"...
ENTRIES_PER_SHEET = 1_048_575
TONNES = "#,##0.00"
KG = "#,##0.00"
PERCENT = '0.0"%"'
EMISSION_COLUMNS = ("kg CO2eq", "Method", "Distance km", "Factor id", "Factor type",
                    "Factor", "Factor values", "Missing reason", "Source")


def filename(scope: Scope) -> str:
    return f"report-{scope.year}-{scope.top.code if scope.top else 'all'}.xlsx"


def write_report(target: IO[bytes], scope: Scope, generated_by: str) -> None:
    """Write the report of `scope` into `target` (a binary file)."""
    workbook = xlsxwriter.Workbook(target, {
        "constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
        "strings_to_numbers": False})
    formats = {"bold": workbook.add_format({"bold": True}),
               "head": workbook.add_format({"bold": True, "bottom": 1, "text_wrap": True}),
               "t": workbook.add_format({"num_format": TONNES}),
               "t_bold": workbook.add_format({"num_format": TONNES, "bold": True}),
               "kg": workbook.add_format({"num_format": KG}),
               "pct": workbook.add_format({"num_format": PERCENT}),
               "pct_bold": workbook.add_format({"num_format": PERCENT, "bold": True})}
    _totals_sheet(workbook, formats, scope)
    _about_sheet(workbook, formats, scope, generated_by)
    for entry_type in entry_types(scope):
        _entry_sheets(workbook, formats, scope, entry_type)
    workbook.close()


# -- Totals ---------------------------------------------------------------------------------

def _totals_header(scope: Scope) -> list[str]:
    header = ["Unit code", "Unit name", "Parent code", "Path"]
    for label in [MODULE_TYPES[m] for m in module_types()] + ["Total"]:
        header += [f"{label} {scope.year} t CO2eq"]
        if scope.previous:
            header += [f"{label} {scope.previous} t CO2eq", f"{label} change t CO2eq",
                       f"{label} change %"]
    return header + [f"Total {scope.year} kg CO2eq"]


def _figures(scope: Scope, now: float | None, before: float | None) -> list[tuple]:
    """The cells of one module (or the total): this year, the year before, the change
    in t and in %, as (value or None, format name)."""
    cells = [(_t(now), "t")]
    if scope.previous:
        changed = now - before if now is not None and before is not None else None
        percent = changed / before * 100 if changed is not None and before else None
        cells += [(_t(before), "t"), (_t(changed), "t"), (percent, "pct")]
    return cells


def _t(kg: float | None) -> float | None:
    return kg / 1000 if kg is not None else None


def _totals_sheet(workbook, formats, scope: Scope) -> None:
    sheet = workbook.add_worksheet("Totals")
    header = _totals_header(scope)
    sheet.set_column(0, 0, 14)
    sheet.set_column(1, 1, 32)
    sheet.set_column(2, 3, 18)
    sheet.set_column(4, len(header) - 1, 14)
    sheet.freeze_panes(1, 2)
    sheet.write_row(0, 0, header, formats["head"])
    sums: dict[tuple[int, str], float] = {}
    row = 0
    for unit in unit_totals(scope):
        row += 1
        _totals_row(sheet, formats, scope, row, unit)
        for key, kg in unit.kg.items():
            sums[key] = sums.get(key, 0.0) + kg
    everything = UnitTotals(code="Total", name=f"{row:,} units", parent_code=None,
                            path_codes=[], kg=sums)
    _totals_row(sheet, formats, scope, row + 1, everything, bold=True)
    sheet.autofilter(0, 0, max(row, 1), len(header) - 1)


def _totals_row(sheet, formats, scope: Scope, row: int, unit: UnitTotals,
                bold: bool = False) -> None:
    sheet.write_string(row, 0, unit.code, formats["bold"] if bold else None)
    sheet.write_string(row, 1, unit.name)
    if unit.parent_code:
        sheet.write_string(row, 2, unit.parent_code)
    if unit.path_codes:
        sheet.write_string(row, 3, " › ".join(unit.path_codes))
    cells = []
    for module_type in module_types():
        cells += _figures(scope, unit.kg.get((scope.year, module_type)),
                          unit.kg.get((scope.previous, module_type)))
    cells += _figures(scope, unit.total(scope.year), unit.total(scope.previous))
    for column, (value, kind) in enumerate(cells, start=4):
        if value is not None:
            sheet.write_number(row, column, value, formats[f"{kind}_bold" if bold else kind])
    total = unit.total(scope.year)
    if total is not None:
        sheet.write_number(row, 4 + len(cells), total, formats["kg"])


# -- About ----------------------------------------------------------------------------------

def _about_sheet(workbook, formats, scope: Scope, generated_by: str) -> None:
    sheet = workbook.add_worksheet("About")
    sheet.set_column(0, 0, 22)
    sheet.set_column(1, 1, 100)
    units = unit_count(scope)
    where = (f"{scope.top.code} ({scope.top.name}) and the units below it: {units:,} units"
             if scope.top else f"every unit you may see: {units:,} units")
    before = (f"compared with {scope.previous}" if scope.previous
              else f"no comparison: {scope.year - 1} is not open to you or does not exist")
    lines = [
        ("Carbon Sync report", ""),
        ("Year", f"{scope.year} ({before})"),
        ("Scope", where),
        ("Generated by", generated_by),
        ("Generated at", timestamp(datetime.now(UTC))),
        ("Totals", "The Totals sheet has one row per unit, parents before their children, "
                   "with the unit's own inventory (not the units below it) in tonnes of "
                   "CO2 equivalent (t CO2eq = kg / 1,000) per module, the year before, and "
                   "the change; an empty cell: the unit has no such module that year. The "
                   "last row adds up every unit of the report; the last column is the "
                   "unit's total in kg."),
        ("Figures", "Totals are as of each module's last recalculation, as the emissions "
                    "API and the dashboard show them."),
        ("Entry sheets", "One sheet per entry type with every entry of the year: its own "
                         "fields, its kg CO2eq, how it was found (computed from a stored "
                         "factor, or given by the source) and the factor used, or why it "
                         "has no emission. A type with more rows than a sheet holds "
                         "continues on the next sheet, e.g. Plane (2)."),
    ]
    for row, (label, value) in enumerate(lines):
        sheet.write_string(row, 0, label, formats["bold"])
        if value:
            sheet.write_string(row, 1, value)


# -- Entry sheets ---------------------------------------------------------------------------

def sheet_name(entry_type: str, taken: set[str] | None = None) -> str:
    """'plane' -> 'Plane': at most 27 characters (a part number may follow), none of
    those Excel refuses, and none of the `taken` names (Excel compares them ignoring
    case: 'plane' and 'Plane' would be one sheet, so the second is 'Plane #2')."""
    base = re.sub(r"[\[\]:*?/\\]", " ", entry_type.replace("_", " ")).strip()
    base = base.lstrip("'").capitalize()[:27] or "Entries"  # no leading apostrophe
    name, other = base, 1
    lowered = {n.lower() for n in taken or ()}
    while name.lower() in lowered:
        other += 1
        name = f"{base[:27 - len(str(other)) - 2]} #{other}"
    return name


def part_name(name: str, part: int) -> str:
    """The sheet of an entry type's `part`: 'Plane', 'Plane (2)', 'Plane (3)'..."""
    return name if part == 1 else f"{name[:31 - len(str(part)) - 3]} ({part})"


def _fields(entry_type: str) -> list[str]:
    """The entry type's declared columns but `kg_co2eq`: a figure the source gives is
    the entry's own kg CO2eq (method "source"), in the emission columns, not its data."""
    for (_module, declared), schema in ENTRY_SCHEMAS.items():
        if declared == entry_type:
            return [column.name for column in schema.columns if column.name != "kg_co2eq"]
    return []


def _entry_sheets(workbook, formats, scope: Scope, entry_type: str) -> None:
    fields = _fields(entry_type)
    header = ["Unit code", "Entry id", *fields, "Other fields", *EMISSION_COLUMNS]
    kg_column = header.index("kg CO2eq")
    name = sheet_name(entry_type, set(workbook.sheetnames))

    def new_sheet(part: int):
        sheet = workbook.add_worksheet(part_name(name, part))
        sheet.set_column(0, len(header) - 1, 16)
        sheet.freeze_panes(1, 1)
        sheet.write_row(0, 0, header, formats["head"])
        return sheet

    part, row, sheet = 1, 0, new_sheet(1)
    for entry in entry_rows(scope, entry_type):
        if row >= ENTRIES_PER_SHEET:
            part, row = part + 1, 0
            sheet = new_sheet(part)
        row += 1
        for column, value in enumerate(_entry_cells(entry, fields)):
            _write(sheet, row, column, value, formats["kg"] if column == kg_column else None)


def _entry_cells(entry, fields: list[str]) -> list[Any]:
    data = entry.data or {}
    emission = entry.emission or {}
    others = {key: value for key, value in data.items() if key not in fields}
    return [entry.unit_code, entry.id, *(data.get(name) for name in fields),
            json.dumps(others, ensure_ascii=False, sort_keys=True) if others else None,
            entry.kg_co2eq, emission.get("method"), emission.get("distance_km"),
            entry.factor_id, entry.factor_type, _pairs(entry.factor_classification),
            _pairs(entry.factor_values), emission.get("missing_reason"), entry.source]


def _pairs(mapping: dict | None) -> str | None:
    """{"cabin_class": "eco", "category": "short"} -> 'cabin_class=eco; category=short'."""
    if not mapping:
        return None
    return "; ".join(f"{key}={value}" for key, value in sorted(mapping.items()))


def _write(sheet, row: int, column: int, value: Any, number_format=None) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        sheet.write_string(row, column, "yes" if value else "no")
    elif isinstance(value, int | float) and math.isfinite(value):
        sheet.write_number(row, column, value, number_format)
    elif isinstance(value, dict | list):
        sheet.write_string(row, column, json.dumps(value, ensure_ascii=False))
    else:
        sheet.write_string(row, column, str(value))
