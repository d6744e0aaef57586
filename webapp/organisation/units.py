"""Units: importing the tree from a directory file, and keeping each unit's path.

An import is an idempotent upsert by code: units the file names are created or updated
(name, parent, active), units it does not name are left as they are. Parents may come
after their children in the file. A repeated code, an unknown parent, a unit that would
be its own ancestor, or a bad cell is a row error naming the row; a file with any error
changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from sqlalchemy import case, func, select, text
from sqlalchemy.orm import aliased

from webapp import access
from webapp.errors import InvalidFile, NotFound
from webapp.extensions import db
from webapp.ingestion.providers.base import RowError
from webapp.ingestion.providers.csv_upload.columns import Column, EntrySchema
from webapp.ingestion.providers.csv_upload.parsers import text as text_cell
from webapp.ingestion.providers.csv_upload.parsers import yes_no
from webapp.ingestion.providers.csv_upload.schemas import missing_columns
from webapp.ingestion.providers.csv_upload.spreadsheet import open_table, with_cells
from webapp.ingestion.providers.csv_upload.validation import RowValidator
from webapp.models import Unit

UNIT_COLUMNS = (
    Column("code", True, text_cell(50), description="The unit's code, unique in the "
           "university (kept as text)", example="ENAC"),
    Column("name", True, text_cell(200), description="The unit's name",
           example="School of Architecture, Civil and Environmental Engineering"),
    # Empty in the example, so the template's example row imports into any tree.
    Column("parent_code", parse=text_cell(50), description="The code of the unit above "
           "it, in this file or already imported; empty for a top unit"),
    Column("active", parse=yes_no, default=True, description="Whether the unit is in use "
           "(an inactive unit's rows are not loaded); empty = yes", example="yes"),
)
UNIT_SCHEMA = EntrySchema("organisation", "unit", UNIT_COLUMNS)


@dataclass
class UnitImport:
    """What an import did, or would have done had it no errors."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {"inserted": self.inserted, "updated": self.updated,
                "unchanged": self.unchanged}


def validate_rows(numbers: list[int], cells: list[list[str]],
                  header: list[str]) -> tuple[list[tuple[int, dict[str, Any]]], list[RowError]]:
    """The file's rows as (row number, {code, name, parent_code?, active}), and the
    errors of the rows that are not usable."""
    clean, errors = RowValidator(UNIT_SCHEMA, header).validate_batch(numbers, cells)
    refused = {error.row for error in errors}
    valid_numbers = [n for n in numbers if n not in refused]
    return [(n, row["data"]) for n, row in zip(valid_numbers, clean, strict=True)], errors


def import_units(rows: Iterable[tuple[int, dict[str, Any]]],
                 errors: list[RowError] | None = None) -> UnitImport:
    """Upsert the units of `rows` (validated, with their row numbers) in the caller's
    transaction, unless the file has errors (those given, and those found here): then
    nothing is written and the result lists them all, by row."""
    result = UnitImport(errors=list(errors or []))
    # Other imports (the CLI, a units job) wait until this one commits, so the tree the
    # checks below read is the tree this import writes over; readers are not held up.
    db.session.execute(text("LOCK TABLE units IN SHARE ROW EXCLUSIVE MODE"))
    existing = {code: (unit_id, parent_id, name, active) for unit_id, code, parent_id, name, active
                in db.session.execute(text(
                    "SELECT id, code, parent_id, name, active FROM units"))}
    code_of = {unit_id: code for code, (unit_id, *_) in existing.items()}
    wanted: dict[str, tuple[int, dict[str, Any]]] = {}
    for number, row in rows:
        code = row["code"]
        if code in wanted:
            result.errors.append(RowError(number, "code", code,
                                          f"repeats row {wanted[code][0]}"))
            continue
        wanted[code] = (number, row)
    # Each unit's parent once the file is applied: the stored tree, then the file's rows.
    parents = {code: code_of.get(parent_id) for code, (_, parent_id, *_) in existing.items()}
    for code, (number, row) in list(wanted.items()):
        parent = row.get("parent_code")
        if parent is not None and parent not in wanted and parent not in existing:
            result.errors.append(RowError(number, "parent_code", parent,
                                          "is not a unit of this file or of the tree"))
            del wanted[code]
            continue
        parents[code] = parent
    for code, (number, row) in wanted.items():
        cycle = _cycle_from(code, parents)
        if cycle:
            result.errors.append(RowError(number, "parent_code", row.get("parent_code") or "",
                                          f"would make {code} its own ancestor: "
                                          f"{' → '.join(cycle)}"))
    if result.errors:
        result.errors.sort(key=lambda error: error.row)  # stable: column order kept
        return result
    _write(wanted, existing, result)
    store_paths()
    return result


def _cycle_from(code: str, parents: dict[str, str | None]) -> list[str]:
    """The codes from `code` up to where it comes back to itself, or []."""
    seen, chain, current = set(), [code], parents.get(code)
    while current is not None:
        chain.append(current)
        if current == code:
            return chain
        if current in seen:
            return []  # a cycle above `code`, reported on its own rows
        seen.add(current)
        current = parents.get(current)
    return []


def _write(wanted: dict[str, tuple[int, dict[str, Any]]],
           existing: dict[str, tuple], result: UnitImport) -> None:
    """Insert the new units, then set every named unit's name, parent and active: two
    set-based statements whatever the file's size."""
    new = [code for code in wanted if code not in existing]
    if new:
        db.session.execute(text(
            "INSERT INTO units (code, name, active) "
            "SELECT code, name, active FROM unnest(CAST(:codes AS text[]), "
            "CAST(:names AS text[]), CAST(:actives AS boolean[])) "
            "AS n(code, name, active)"),
            {"codes": new, "names": [wanted[c][1]["name"] for c in new],
             "actives": [wanted[c][1]["active"] for c in new]})
    result.inserted = len(new)
    codes = list(wanted)
    changed = db.session.execute(text(
        "UPDATE units u SET name = w.name, active = w.active, parent_id = p.id, "
        "updated_at = now() "
        "FROM unnest(CAST(:codes AS text[]), CAST(:names AS text[]), "
        "CAST(:actives AS boolean[]), CAST(:parents AS text[])) AS w(code, name, active, parent) "
        "LEFT JOIN units p ON p.code = w.parent "
        "WHERE u.code = w.code AND (u.name, u.active, u.parent_id) "
        "IS DISTINCT FROM (w.name, w.active, p.id) RETURNING u.code"),
        {"codes": codes, "names": [wanted[c][1]["name"] for c in codes],
         "actives": [wanted[c][1]["active"] for c in codes],
         "parents": [wanted[c][1].get("parent_code") for c in codes]}).scalars().all()
    result.updated = len(set(changed) - set(new))
    result.unchanged = len(codes) - result.inserted - result.updated


def store_paths() -> None:
    """Set every unit's path ("/root id/…/own id/") from the parents, in one statement;
    only the paths that changed are written."""
    db.session.execute(text("""
        WITH RECURSIVE tree AS (
            SELECT id, '/' || id || '/' AS path FROM units WHERE parent_id IS NULL
            UNION ALL
            SELECT u.id, t.path || u.id || '/' FROM units u JOIN tree t ON u.parent_id = t.id)
        UPDATE units u SET path = tree.path FROM tree
        WHERE u.id = tree.id AND u.path IS DISTINCT FROM tree.path"""))


def import_units_file(stream: BinaryIO, sheet: str | None = None) -> UnitImport:
    """Read a units file, CSV or workbook (code, name, parent_code, active), and import
    it in the caller's transaction (see import_units).

    Raises:
        InvalidFile: the file cannot be read, or lacks the code or name column.
    """
    table = open_table(stream, sheet=sheet)
    missing = missing_columns(UNIT_SCHEMA, table.header)
    if missing:
        raise InvalidFile(f"A units file needs the columns {', '.join(missing)} "
                          "(code, name, parent_code, active).")
    rows: list[tuple[int, dict[str, Any]]] = []
    errors: list[RowError] = []
    for numbers, cells in table.batches(5000, 8 << 20):
        clean, found = validate_rows(numbers, cells, table.header)
        rows += clean
        errors += found + table.take_cell_errors()
    result = import_units(rows, errors)
    result.errors = with_cells(table, result.errors)
    return result


def get_unit(code: str) -> Unit:
    """The unit with this code, if the caller may see it.

    Raises:
        NotFound (404): no unit has it, or the caller may not see it (the same sentence).
    """
    missing = f"no unit has the code {code!r}"
    unit = db.session.execute(select(Unit).filter_by(code=code)).scalar()
    if unit is None:
        raise NotFound(missing)
    access.check_unit(unit, missing)
    return unit


def unit_page(*, parent: str | None = None, query: str | None = None, limit: int = 100,
              offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """The units the caller may see (code order), with their parent's code and how many
    children they have: the children of `parent` (a code; "" for the top: the roots, or
    for a member the highest units they see) and/or those whose code or name holds
    `query`. (The page of units and its total.)

    Raises:
        NotFound: `parent` names no unit the caller sees.
    """
    above, child = aliased(Unit), aliased(Unit)
    where = [access.visible_units()]
    if parent == "":
        where.append(Unit.parent_id.is_(None) if access.sees_everything()
                     else Unit.parent_id.is_(None) | ~access.visible_units(unit=above))
    elif parent is not None:
        where.append(Unit.parent_id == get_unit(parent).id)
    if query:
        where.append(Unit.code.icontains(query, autoescape=True)
                     | Unit.name.icontains(query, autoescape=True))
    children = select(func.count()).where(child.parent_id == Unit.id).scalar_subquery()
    # A member's highest units have a parent out of their sight: its code is not shown.
    parent_code = case((access.visible_units(unit=above), above.code), else_=None)
    rows = db.session.execute(
        select(Unit.code, Unit.name, parent_code.label("parent_code"), Unit.active,
               children.label("children"), func.count().over().label("total"))
        .outerjoin(above, above.id == Unit.parent_id).where(*where)
        .order_by(Unit.code).limit(limit).offset(offset)).mappings().all()
    total = rows[0]["total"] if rows else db.session.execute(
        select(func.count()).select_from(Unit).outerjoin(above, above.id == Unit.parent_id)
        .where(*where)).scalar()  # past the end, no row carries the total
    return [{key: row[key] for key in ("code", "name", "parent_code", "active", "children")}
            for row in rows], total
