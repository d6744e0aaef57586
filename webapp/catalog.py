"""Read side of the inventory: inventories, modules, factor types, entries, factors, and
the providers each module offers. Pages and the API read these; nothing here writes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager

from webapp import access
from webapp.errors import NotFound
from webapp.extensions import db
from webapp.ingestion.providers import registry
from webapp.jobs.queries import iso
from webapp.jobs.requests import get_module
from webapp.models import (
    DataEntry,
    EmissionFactor,
    FactorType,
    Inventory,
    Module,
    ModuleEntryCount,
    Unit,
)
from webapp.organisation.units import get_unit

__all__ = ["get_module"]  # read by pages and the API with the rest of the catalogue


def inventories() -> list[Inventory]:
    """The inventories the caller may see, newest year first."""
    return list(db.session.execute(
        select(Inventory).where(access.visible_inventories())
        .order_by(Inventory.year.desc(), Inventory.id)).scalars())



def factor_types(module_type: str | None = None) -> list[FactorType]:
    query = select(FactorType).order_by(FactorType.id)
    if module_type:
        query = query.where(FactorType.module_type == module_type)
    return list(db.session.execute(query).scalars())


def module_body(module: Module) -> dict[str, Any]:
    unit = module.inventory.unit
    return {"id": module.id, "inventory_id": module.inventory_id, "name": module.name,
            "module_type": module.module_type, "year": module.inventory.year,
            "unit_code": module.inventory.unit_code, "unit_name": unit.name if unit else None,
            "last_sync_status": module.last_sync_status or {}}


def module_page(*, unit: str | None = None, year: int | None = None,
                module_type: str | None = None, limit: int = 100,
                offset: int = 0) -> tuple[list[Module], int]:
    """Modules, newest year first, then by unit code: those of `unit` (a code) and every
    unit below it, of `year`, of `module_type`. A page and the total: one query each,
    whatever the number of units.

    Raises:
        NotFound: `unit` names no unit.
    """
    query = (select(Module).join(Inventory).outerjoin(Unit, Unit.id == Inventory.unit_id)
             .where(access.visible_inventories()))
    if unit is not None:
        query = query.where(access.in_subtree(Unit.path, get_unit(unit).path))
    if year is not None:
        query = query.where(Inventory.year == year)
    if module_type:
        query = query.where(Module.module_type == module_type)
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar()
    page = db.session.execute(
        query.options(contains_eager(Module.inventory).contains_eager(Inventory.unit))
        .order_by(Inventory.year.desc(), Inventory.unit_code, Module.id)
        .limit(limit).offset(offset)).scalars().all()
    return list(page), total


def entry_counts(module_id: int) -> list[dict[str, Any]]:
    """Entries per (entry type, source), from the stored counts (migration 0006): a few
    rows read, not the module's entries counted."""
    rows = db.session.execute(
        select(ModuleEntryCount.entry_type, ModuleEntryCount.source, ModuleEntryCount.entries)
        .where(ModuleEntryCount.module_id == module_id)
        .order_by(ModuleEntryCount.entry_type, ModuleEntryCount.source)).all()
    return [{"entry_type": t, "source": s, "count": n} for t, s, n in rows]


def factor_type_body(factor_type: FactorType) -> dict[str, Any]:
    return {"id": factor_type.id, "slug": factor_type.slug, "name": factor_type.name,
            "module_type": factor_type.module_type}


def entry_query(module_id: int, *, entry_type: str | None = None, source: str | None = None,
                job_id: int | None = None, missing: bool | None = None,
                reason: str | None = None):
    """A module's entries narrowed by the filters, in id order. `missing`: True for the
    entries without emissions, False for those with; `reason`: a missing reason as the
    module's summary words it (an entry no recalculation has seen is "not calculated
    yet"). No index serves `missing` or `reason` (migration 0003 says why): they scan
    the module."""
    from webapp.emissions.statements import NOT_CALCULATED

    get_module(module_id)
    query = select(DataEntry).where(DataEntry.module_id == module_id)
    if entry_type:
        query = query.where(DataEntry.entry_type == entry_type)
    if source:
        query = query.where(DataEntry.source == source)
    if job_id is not None:
        query = query.where(DataEntry.job_id == job_id)
    if missing is not None:
        query = query.where(DataEntry.kg_co2eq.is_(None) if missing
                            else DataEntry.kg_co2eq.is_not(None))
    if reason == NOT_CALCULATED:
        query = query.where(DataEntry.kg_co2eq.is_(None), DataEntry.emission.is_(None))
    elif reason:
        query = query.where(DataEntry.kg_co2eq.is_(None),
                            DataEntry.emission["missing_reason"].astext == reason)
    return query.order_by(DataEntry.id)


def entries(module_id: int, *, entry_type: str | None, limit: int, offset: int,
            **filters) -> tuple[list[DataEntry], int]:
    """One page of the filtered entries and how many match. Narrowed at most by entry
    type and source, the total comes from the stored counts; other filters count."""
    query = entry_query(module_id, entry_type=entry_type, **filters)
    source = filters.pop("source", None)
    if all(value is None for value in filters.values()):
        total = int(db.session.execute(
            select(func.coalesce(func.sum(ModuleEntryCount.entries), 0)).where(
                ModuleEntryCount.module_id == module_id,
                *([ModuleEntryCount.entry_type == entry_type] if entry_type else []),
                *([ModuleEntryCount.source == source] if source else []))).scalar_one())
    else:
        total = db.session.execute(select(func.count()).select_from(
            query.order_by(None).subquery())).scalar_one()
    rows = db.session.execute(query.limit(limit).offset(offset)).scalars()
    return list(rows), total


def entry_page(module_id: int, *, limit: int, offset: int, **filters
               ) -> tuple[list[DataEntry], bool]:
    """One page of entries and whether another follows, without counting them all (the
    module page must cost the same with a million entries)."""
    rows = list(db.session.execute(entry_query(module_id, **filters).limit(limit + 1)
                                   .offset(offset)).scalars())
    return rows[:limit], len(rows) > limit


def entry_body(entry: DataEntry) -> dict[str, Any]:
    return {"id": entry.id, "entry_type": entry.entry_type, "year": entry.year,
            "data": entry.data, "kg_co2eq": entry.kg_co2eq, "emission": entry.emission,
            "source": entry.source, "job_id": entry.job_id,
            "created_at": iso(entry.created_at)}


def factors(factor_type_id: int, *, year: int | None, limit: int, offset: int,
            sort_by: Sequence[str] = ()) -> tuple[list[EmissionFactor], int]:
    """One page of a factor type's factors (of one year, or all) and how many there are:
    in the order they were stored, or sorted by the classification fields `sort_by`
    (a factor without one first). Both read the factor type and year's slice of the
    identity index; a slice holds a factor per classification, hundreds, not millions."""
    if db.session.get(FactorType, factor_type_id) is None:
        raise NotFound(f"factor type {factor_type_id} does not exist")
    query = select(EmissionFactor).where(EmissionFactor.factor_type_id == factor_type_id)
    if year is not None:
        query = query.where(EmissionFactor.year == year)
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    order = [EmissionFactor.classification[name].astext.nulls_first() for name in sort_by]
    rows = db.session.execute(query.order_by(*order, EmissionFactor.id).limit(limit)
                              .offset(offset)).scalars()
    return list(rows), total


def factor_body(factor: EmissionFactor) -> dict[str, Any]:
    return {"id": factor.id, "factor_type_id": factor.factor_type_id, "year": factor.year,
            "classification": factor.classification, "values": factor.values,
            "job_id": factor.job_id, "updated_at": iso(factor.updated_at)}


def providers(module: Module) -> list[dict[str, Any]]:
    """Providers registered for a module, with availability on this server; those that
    copy stored data come after the outside sources, so no form picks them first."""
    found = []
    for (provider_type, target_type), cls in sorted(
            registry.providers_for(module.module_type).items(),
            key=lambda item: (item[1].copies_stored_data, item[0])):
        reason = cls.unavailable_reason(current_app.config)
        found.append({"provider_type": provider_type, "target_type": target_type,
                      "label": cls.label or provider_type, "needs_upload": cls.needs_upload,
                      "default_on_error": cls.default_on_error,
                      "copies_stored_data": cls.copies_stored_data,
                      "filters": [f.describe() for f in cls.filters],
                      "available": reason is None, "unavailable_reason": reason})
    return found
