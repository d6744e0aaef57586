"""The figures of a report (SPEC §15): what a unit's subtree, or every unit the caller
sees, emitted in a year and the year before, from the stored module summaries.

Totals are sums of `module_emission_summaries` (one row per module, written by each
recalculation), as the emissions API and the dashboard read them: a report costs a few
queries over those rows whatever the number of entries, and the same few whatever the
number of units. Only the entry sheets of the workbook read entries (`entry_rows`,
through a server-side cursor).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    column,
    func,
    select,
    true,
    union,
)
from sqlalchemy.dialects.postgresql import JSONB

from webapp import access
from webapp.errors import NotFound
from webapp.extensions import db
from webapp.models import (
    DataEntry,
    EmissionFactor,
    FactorType,
    Inventory,
    InventoryYear,
    Module,
    ModuleEntryCount,
    Unit,
)
from webapp.models.entries import ModuleEmissionSummary
from webapp.models.inventory import MODULE_TYPES
from webapp.organisation.units import get_unit

CHILDREN_SHOWN = 25  # a unit's largest children on its report page; the rest are counted
REASONS_SHOWN = 10
ENTRY_BATCH = 2000  # entries fetched from the server-side cursor at a time


@dataclass(frozen=True)
class Scope:
    """What a report covers: `top`'s subtree (None: every unit the caller sees) in
    `year`, compared with `previous` (None: the year before is not the caller's to see)."""

    top: Unit | None
    year: int
    previous: int | None

    @property
    def years(self) -> list[int]:
        return [self.year] + ([self.previous] if self.previous else [])

    def condition(self, unit=Unit) -> ColumnElement[bool]:
        """A condition on `unit`: in the scope. Whoever sees a unit sees every unit below
        it (memberships hold downwards), so a subtree needs no further check."""
        if self.top is None:
            return access.visible_units(unit=unit)
        return access.in_subtree(unit.path, self.top.path)


def report_scope(year: int, unit_code: str | None) -> Scope:
    """The scope of the caller's report of `year` for `unit_code` (None: all they see).

    Raises:
        NotFound: a year or a unit that does not exist or the caller may not see (the
        same sentence either way).
    """
    if db.session.get(InventoryYear, year) is None or not access.year_visible(year):
        raise NotFound(f"no year {year}")
    top = get_unit(unit_code) if unit_code else None
    previous = year - 1 if db.session.get(InventoryYear, year - 1) is not None \
        and access.year_visible(year - 1) else None
    return Scope(top=top, year=year, previous=previous)


# -- the totals sheet: every unit of the scope, with its own inventory's modules ---------

@dataclass
class UnitTotals:
    """One unit's own figures (not its subtree's): kg per (year, module type), None
    where it has no such module."""

    code: str
    name: str
    parent_code: str | None
    path_codes: list[str]  # from the highest unit of the scope down to this one
    kg: dict[tuple[int, str], float] = field(default_factory=dict)

    def total(self, year: int | None) -> float | None:
        found = [kg for (y, _), kg in self.kg.items() if y == year]
        return sum(found) if found else None


def unit_totals(scope: Scope) -> Iterator[UnitTotals]:
    """Every unit of the scope, parents before their children, with its own modules'
    totals in the scope's years: one query, read in slices."""
    rows = db.session.execute(
        select(Unit.id, Unit.code, Unit.name, Unit.parent_id, Unit.path, Inventory.year,
               Module.module_type, Module.id.label("module_id"),
               func.coalesce(ModuleEmissionSummary.total_kg_co2eq, 0).label("kg"))
        .select_from(Unit)
        .outerjoin(Inventory, (Inventory.unit_id == Unit.id) & Inventory.year.in_(scope.years))
        .outerjoin(Module, Module.inventory_id == Inventory.id)
        .outerjoin(ModuleEmissionSummary, ModuleEmissionSummary.module_id == Module.id)
        .where(scope.condition())
        # Paths sort parents before their children (byte order: "/" before digits).
        .order_by(Unit.path.collate("C"), Unit.id)
        .execution_options(yield_per=ENTRY_BATCH))
    codes: dict[int, str] = {}  # the scope's units seen so far: their ancestors come first
    current: UnitTotals | None = None
    current_id = None
    for row in rows:
        if row.id != current_id:
            if current is not None:
                yield current
            codes[row.id] = row.code
            ancestors = [int(part) for part in row.path.strip("/").split("/") if part]
            current_id = row.id
            current = UnitTotals(code=row.code, name=row.name,
                                 parent_code=codes.get(row.parent_id),
                                 path_codes=[codes[a] for a in ancestors if a in codes])
        if row.module_id is not None:
            key = (row.year, row.module_type)
            current.kg[key] = current.kg.get(key, 0.0) + float(row.kg)
    if current is not None:
        yield current


def module_types() -> list[str]:
    return list(MODULE_TYPES)


# -- the entry sheets ---------------------------------------------------------------------

def _scoped_modules(scope: Scope) -> Select:
    """The ids of the scope's modules in its year."""
    return (select(Module.id).join(Inventory, Inventory.id == Module.inventory_id)
            .join(Unit, Unit.id == Inventory.unit_id)
            .where(Inventory.year == scope.year, scope.condition()))


def entry_types(scope: Scope) -> list[str]:
    """The entry types the scope's modules hold in its year: as the entry sink counts
    them, and as the last recalculations found them."""
    modules = _scoped_modules(scope)
    counted = select(ModuleEntryCount.entry_type).where(
        ModuleEntryCount.module_id.in_(modules), ModuleEntryCount.entries > 0)
    item = func.jsonb_array_elements(ModuleEmissionSummary.by_entry_type).table_valued(
        column("value", JSONB)).alias("item")
    recalculated = (select(item.c.value["entry_type"].astext)
                    .select_from(ModuleEmissionSummary).join(item, true())
                    .where(ModuleEmissionSummary.module_id.in_(modules),
                           item.c.value["entries"].astext.cast(BigInteger) > 0))
    return sorted(set(db.session.execute(union(counted, recalculated)).scalars()))


def entry_rows(scope: Scope, entry_type: str) -> Iterator[Any]:
    """Every entry of `entry_type` of the scope's units in its year, unit by unit, with
    the factor its emission used: read through a server-side cursor, a slice at a time."""
    factor_id = DataEntry.emission["factor_id"].astext.cast(BigInteger)
    return db.session.execute(
        select(Unit.code.label("unit_code"), DataEntry.id, DataEntry.data,
               DataEntry.kg_co2eq, DataEntry.emission, DataEntry.source,
               EmissionFactor.id.label("factor_id"), FactorType.slug.label("factor_type"),
               EmissionFactor.classification.label("factor_classification"),
               EmissionFactor.values.label("factor_values"))
        .select_from(Unit)
        .join(Inventory, (Inventory.unit_id == Unit.id) & (Inventory.year == scope.year))
        .join(Module, Module.inventory_id == Inventory.id)
        .join(DataEntry, (DataEntry.module_id == Module.id) & (DataEntry.year == scope.year)
              & (DataEntry.entry_type == entry_type))
        .outerjoin(EmissionFactor, EmissionFactor.id == factor_id)
        .outerjoin(FactorType, FactorType.id == EmissionFactor.factor_type_id)
        .where(scope.condition())
        .order_by(Unit.path.collate("C"), DataEntry.id)
        .execution_options(yield_per=ENTRY_BATCH))


def unit_count(scope: Scope) -> int:
    return db.session.execute(select(func.count()).select_from(Unit)
                              .where(scope.condition())).scalar()
