"""Read side: what pages and the API show about modules, jobs, entries and factors."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from webapp.errors import NotFound
from webapp.extensions import db
from webapp.ingestion.providers import registry
from webapp.jobs.states import ACTIVE, JobStatus
from webapp.models import (
    DataEntry,
    DataIngestionJob,
    EmissionFactor,
    FactorType,
    Inventory,
    Module,
    ModuleEntryCount,
)
from webapp.models.jobs import TargetType


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def get_job(job_id: int) -> DataIngestionJob:
    job = db.session.get(DataIngestionJob, job_id)
    if job is None:
        raise NotFound(f"job {job_id} does not exist")
    return job


def current_job(job_id: int) -> DataIngestionJob:
    """The job as it is now: failed first if its worker was lost, so a page or poll
    watching a job on a dead worker sees it end even when no worker is left to reap it;
    put back on the queue if its entry was lost (Redis restarted empty), so the next
    worker to start finds it."""
    from webapp.jobs.reaper import reap_lost_workers, requeue_orphans

    job = get_job(job_id)
    if _may_be_lost(job) and reap_lost_workers(only_job_id=job_id):
        db.session.expire_all()
        job = get_job(job_id)
    elif _waited_long(job):
        with contextlib.suppress(Exception):  # Redis away: the reapers try again later
            requeue_orphans(only_job_id=job_id)
    return job


def _waited_long(job: DataIngestionJob) -> bool:
    """A pending job old enough that its queue entry may have been lost: only then is
    Redis asked (see reaper.requeue_orphans, whose query decides)."""
    from webapp.jobs.reaper import ORPHAN_AFTER_S

    created = job.started_at  # the plan's column: when the job was created
    return (job.status == JobStatus.PENDING and created is not None
            and datetime.now(UTC) - created > timedelta(seconds=ORPHAN_AFTER_S - 1))


def _may_be_lost(job: DataIngestionJob) -> bool:
    """Whether the heartbeat the row already carries is old enough to ask the reaper, whose
    query (on the database's clock) decides. Saves a query on nearly every poll."""
    if job.status != JobStatus.PROCESSING:
        return False
    heartbeat = (job.meta or {}).get("heartbeat_at")
    try:
        beat = datetime.fromisoformat(heartbeat) if heartbeat else job.started_at
    except (TypeError, ValueError):
        return True
    if beat is None:
        return True
    slack = timedelta(seconds=current_app.config["WORKER_LOST_AFTER_S"] - 2)  # clock skew
    return datetime.now(UTC) - beat > slack


def get_module(module_id: int) -> Module:
    module = db.session.get(Module, module_id)
    if module is None:
        raise NotFound(f"module {module_id} does not exist")
    return module


def status_body(job: DataIngestionJob) -> dict[str, Any]:
    """The plan's status body plus the fields SPEC §7 adds."""
    meta = job.meta or {}
    return {
        "job_id": job.id, "status": job.status, "status_code": job.status_code,
        "message": job.message, "progress": meta.get("progress", {}),
        "module_id": job.module_id, "provider_type": job.provider_type,
        "target_type": job.target_type, "factor_type_id": job.factor_type_id,
        "year": job.year, "counts": meta.get("counts", {}), "errors": meta.get("errors", []),
        "errors_total": meta.get("errors_total", 0), "retry_of": meta.get("retry_of"),
        "retried_by": meta.get("retried_by"), "created_by": job.created_by,
        "schedule_id": meta.get("schedule_id"),
        # Preview and undo (SPEC §11): the links both ways, a preview's rows, and until
        # when a load can be undone (null: never, e.g. a preview).
        "dry_run": bool(meta.get("dry_run")), "preview": meta.get("preview"),
        "preview_of": meta.get("preview_of"), "applied_by": meta.get("applied_by"),
        "undo_of": meta.get("undo_of"), "undone_by": meta.get("undone_by"),
        "undo_until": meta.get("undo_until"),
        "started_at": _iso(job.started_at), "completed_at": _iso(job.completed_at),
        # started_at is the plan's column, set when the job is created; the worker's start
        # is in the metadata, so the queue wait and the processing time can be told apart.
        "created_at": _iso(job.started_at),
        "processing_started_at": _iso(job.processing_started_at),
        "request": meta.get("request", {}),
    }


def history(module_id: int, *, provider_type: str | None = None, status: str | None = None,
            limit: int = 20, offset: int = 0, loads_only: bool = False
            ) -> tuple[list[DataIngestionJob], int]:
    """A module's jobs, newest first, with the total matching the filters (`loads_only`:
    no recalculations)."""
    get_module(module_id)
    query = select(DataIngestionJob).where(DataIngestionJob.module_id == module_id)
    if loads_only:
        query = query.where(DataIngestionJob.target_type != TargetType.EMISSIONS)
    if provider_type:
        query = query.where(DataIngestionJob.provider_type == provider_type)
    if status:
        query = query.where(DataIngestionJob.status == status)
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    jobs = db.session.execute(query.order_by(DataIngestionJob.id.desc())
                              .limit(limit).offset(offset)).scalars().all()
    return list(jobs), total


def inventories() -> list[Inventory]:
    return list(db.session.execute(select(Inventory).order_by(Inventory.year.desc(),
                                                              Inventory.id)).scalars())


def active_jobs(module_id: int | None = None) -> list[DataIngestionJob]:
    query = select(DataIngestionJob).where(DataIngestionJob.status.in_(list(ACTIVE)))
    if module_id is not None:
        query = query.where(DataIngestionJob.module_id == module_id)
    return list(db.session.execute(query.order_by(DataIngestionJob.id)).scalars())


def factor_types(module_type: str | None = None) -> list[FactorType]:
    query = select(FactorType).order_by(FactorType.id)
    if module_type:
        query = query.where(FactorType.module_type == module_type)
    return list(db.session.execute(query).scalars())


def module_body(module: Module) -> dict[str, Any]:
    return {"id": module.id, "inventory_id": module.inventory_id, "name": module.name,
            "module_type": module.module_type, "year": module.inventory.year,
            "last_sync_status": module.last_sync_status or {}}


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
            "created_at": _iso(entry.created_at)}




def factors(factor_type_id: int, *, year: int | None, limit: int, offset: int
            ) -> tuple[list[EmissionFactor], int]:
    if db.session.get(FactorType, factor_type_id) is None:
        raise NotFound(f"factor type {factor_type_id} does not exist")
    query = select(EmissionFactor).where(EmissionFactor.factor_type_id == factor_type_id)
    if year is not None:
        query = query.where(EmissionFactor.year == year)
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = db.session.execute(query.order_by(EmissionFactor.id).limit(limit)
                              .offset(offset)).scalars()
    return list(rows), total


def factor_body(factor: EmissionFactor) -> dict[str, Any]:
    return {"id": factor.id, "factor_type_id": factor.factor_type_id, "year": factor.year,
            "classification": factor.classification, "values": factor.values,
            "job_id": factor.job_id, "updated_at": _iso(factor.updated_at)}


def providers(module: Module) -> list[dict[str, Any]]:
    """Providers registered for a module, with availability on this server."""
    found = []
    for (provider_type, target_type), cls in sorted(
            registry.providers_for(module.module_type).items()):
        reason = cls.unavailable_reason(current_app.config)
        found.append({"provider_type": provider_type, "target_type": target_type,
                      "label": cls.label or provider_type, "needs_upload": cls.needs_upload,
                      "default_on_error": cls.default_on_error,
                      "filters": [f.describe() for f in cls.filters],
                      "available": reason is None, "unavailable_reason": reason})
    return found
