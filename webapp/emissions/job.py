"""A recalculation as a job kind (`target_type` emissions, `provider_type` recalculation),
and the recalculations that follow every load that changed data.

The job engine creates, cancels, retries and finishes it like any job; its run is one
set-based transaction (`recalculate_module`) in which the job's completion commits.
One active recalculation per module: the one-active index covers it (its own target
type). A request while one is pending needs nothing (it has not read the data yet);
while one is processing, the request is a flag on that job, and its completion creates
the one follow-up run in the same transaction: a change during a run leads to exactly
one more run, and `stale` never drops in between.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import current_app
from sqlalchemy import select

from webapp import access, audit
from webapp.emissions.recalculation import recalculate_module
from webapp.errors import Conflict, Invalid, JobCancelled, JobFailure
from webapp.extensions import db
from webapp.jobs import kinds, lifecycle, service, signals
from webapp.jobs.requests import Checked, SyncRequest, check_year, get_module
from webapp.jobs.states import ACTIVE, JobStatus
from webapp.models import DataIngestionJob, Inventory, Module, TargetType, User
from webapp.text import tonnes

log = logging.getLogger("webapp.emissions")
PROVIDER = "recalculation"
RERUN_FLAG = "rerun_requested"


class RecalculationKind(kinds.JobKind):
    """Recomputes a module's emissions from its entries and the year's factors."""

    name = "recalculation"
    changes_data = False  # figures only: nothing to recalculate after it

    def claims(self, request: SyncRequest) -> bool:
        return request.target_type == TargetType.EMISSIONS

    def check(self, request: SyncRequest) -> Checked:
        module = get_module(request.module_id)
        year = check_year(module, request.year)
        if request.provider_type != PROVIDER:
            raise Invalid(f"provider {request.provider_type!r} cannot recalculate emissions; "
                          f"valid providers: {PROVIDER}", valid_providers=[PROVIDER])
        return Checked(module, None, year, {"provider_type": PROVIDER, "filters": {},
                                            "config": request.config or {}})

    def run(self, job: DataIngestionJob, attempt: str, log: logging.LoggerAdapter) -> None:
        run_recalculation(job.id, log, attempt)

    def completion_message(self, job: DataIngestionJob, counts: dict[str, Any],
                           extra: dict[str, Any]) -> str:
        total, done = counts["entries"], counts["entries_with_emissions"]
        return (f"Recalculated {total:,} entr{'y' if total == 1 else 'ies'}: {done:,} with "
                f"emissions, {tonnes(extra['emissions']['total_kg_co2eq'])} t CO2eq")


def run_recalculation(job_id: int, job_log: logging.LoggerAdapter,
                      attempt: str | None = None) -> None:
    """Recalculate the job's module and complete the job in the same transaction.

    Cancelled or lost (checked before each statement) or failed, everything rolls back: the
    module keeps its previous figures. A follow-up run asked for while this one ran is
    created by the completion and queued once it is committed.
    """
    module_id = db.session.get(DataIngestionJob, job_id).module_id
    started = time.monotonic()

    def progress(step: str, done: int, steps: int) -> None:
        lifecycle.ensure_owned(job_id, attempt)  # cancelled, or failed as lost: stop
        lifecycle.record_progress(job_id, {
            "phase": "recalculating", "step": step, "processed": done, "total": steps,
            "percent": int(100 * done / steps), "message": f"Recalculating: {step} "
            f"(step {done + 1} of {steps})",
            "elapsed_s": round(time.monotonic() - started, 1)}, attempt=attempt)

    try:
        conn = db.session.connection().connection.driver_connection
        result = recalculate_module(conn, module_id, job_id=job_id, progress=progress)
        follow_up = complete_recalculation(job_id, result.as_metadata(), attempt)
        db.session.commit()
    except Exception as error:  # noqa: BLE001 - every failure must end the job
        lifecycle.rollback()
        if not isinstance(error, JobCancelled | JobFailure):
            job_log.exception("recalculation crashed")
        lifecycle.end_with(job_id, error, attempt, job_log)
        return
    job_log.info("recalculation completed: %s", result.as_metadata())
    if follow_up is not None:
        service.enqueue(follow_up)


def complete_recalculation(job_id: int, result: dict[str, Any],
                           attempt: str | None = None) -> int | None:
    """processing → completed in the recalculation's open transaction (committed by the
    caller). Returns the follow-up job to enqueue after the commit, when one was asked
    for during the run.

    Raises:
        JobCancelled: when the job was cancelled meanwhile; the caller rolls back.
        JobLost: when `attempt` no longer owns the job.
    """
    counts = {"updated": sum(result["changed"].values()), "entries": result["entries"],
              "entries_with_emissions": result["entries_with_emissions"]}
    job = lifecycle.complete_job(job_id, counts, attempt=attempt,
                                 extra={"emissions": result})
    if not job.info.rerun_requested:
        return None
    db.session.flush()  # this job leaves the one-active index before the follow-up enters
    kind = kinds.for_request(request := _request(job.module, triggered_by=job.id))
    # No conflict is possible: while this job was active the index kept any other out.
    follow_up = service.insert_job(kind, request, kind.check(request), None)
    audit.record("job.created", target_type="job", target_id=follow_up.id, user=None,
                 details={"provider_type": follow_up.provider_type,
                          "target_type": follow_up.target_type,
                          "module_id": follow_up.module_id, "rerun_of": job.id})
    return follow_up.id


def request_recalculation(module_id: int, user: User | None, *,
                          triggered_by: int | None = None) -> DataIngestionJob:
    """Make sure the module's figures will be recalculated from the data as it is now.

    Returns the job that will do it: a new pending one, the one already pending, or the
    processing one, flagged to run once more when it ends.

    Raises:
        NotFound, Forbidden, Unavailable (the queue is unreachable).
    """
    module = get_module(module_id)
    access.require(module.inventory.unit, access.role_to_change(TargetType.EMISSIONS),
                   "recalculating its emissions")
    for _ in range(5):  # each lap loses a race to another request; one more always wins
        active = db.session.execute(
            select(DataIngestionJob).where(
                DataIngestionJob.module_id == module_id,
                DataIngestionJob.target_type == TargetType.EMISSIONS,
                DataIngestionJob.status.in_(list(ACTIVE)))
            .with_for_update().execution_options(populate_existing=True)).scalar_one_or_none()
        if active is not None:
            if active.status == JobStatus.PROCESSING and not active.info.rerun_requested:
                active.meta = {**active.meta, RERUN_FLAG: True}
                db.session.commit()
            else:
                db.session.rollback()
            return active
        db.session.rollback()
        try:
            return service.create_job(_request(module, triggered_by=triggered_by), user)
        except Conflict:
            continue  # another request, or a finishing run's follow-up, got there first
    raise Conflict(f"module {module_id}'s recalculation is changing hands; try again")


def _request(module: Module, triggered_by: int | None = None) -> SyncRequest:
    return SyncRequest(module_id=module.id, provider_type=PROVIDER,
                       target_type=TargetType.EMISSIONS, year=module.inventory.year,
                       config={"triggered_by": triggered_by} if triggered_by else None)


def recalculating(module_ids: list[int]) -> dict[int, int]:
    """{module id: its recalculation job} for the modules among `module_ids` with a
    recalculation pending or running (one at most each)."""
    return dict(db.session.execute(
        select(DataIngestionJob.module_id, DataIngestionJob.id).where(
            DataIngestionJob.module_id.in_(module_ids),
            DataIngestionJob.target_type == TargetType.EMISSIONS,
            DataIngestionJob.status.in_(list(ACTIVE)))).all())


@signals.data_committed.connect
def recalculate_after(job_id: int, **_: Any) -> None:
    """A load (or undo) committed: recalculate what it changed. Entries: their module.
    Factors: every module of the factor type's module type and the job's year. A failure
    to queue is logged; the Recalculate button is the way back."""
    if not current_app.config["RECALCULATE_AFTER_LOADS"]:
        return
    job = db.session.get(DataIngestionJob, job_id, populate_existing=True)
    if job.target_type == TargetType.DATA_ENTRIES and job.module_id is None:
        # An institution-wide load (webapp/feeds/): every module it changed.
        module_ids = sorted(unit["module_id"] for unit in
                            (job.info.counts.get("by_unit") or {}).values())
    elif job.target_type == TargetType.DATA_ENTRIES:
        module_ids = [job.module_id]
    elif job.target_type == TargetType.FACTORS and job.factor_type is not None:
        module_ids = list(db.session.execute(
            select(Module.id).join(Inventory, Inventory.id == Module.inventory_id)
            .where(Module.module_type == job.factor_type.module_type,
                   Inventory.year == job.year).order_by(Module.id)).scalars())
    else:
        return
    if len(module_ids) > 1:
        try:
            request_recalculations(module_ids, triggered_by=job_id)
            return
        except Exception:  # noqa: BLE001 - one module at a time below, then
            db.session.rollback()
            log.warning("could not queue the recalculations after job %s at once",
                        job_id, exc_info=True, extra={"job_id": job_id})
    for module_id in module_ids:
        try:
            request_recalculation(module_id, None, triggered_by=job_id)
        except Exception:  # noqa: BLE001 - the load stays completed whatever happens here
            db.session.rollback()
            log.warning("could not queue the recalculation of module %s after job %s",
                        module_id, job_id, exc_info=True, extra={"job_id": job_id})


def request_recalculations(module_ids: list[int], *, triggered_by: int) -> list[int]:
    """request_recalculation for many modules (after an institution-wide or a factor
    load): one transaction for every new job and the queue calls after its commit,
    instead of a transaction and a round of checks per module. A module with a pending
    recalculation keeps it; a running one is asked to run once more. Returns the new
    jobs' ids.

    Raises:
        Unavailable (the queue is unreachable), or what the database raises: nothing is
        created then.
    """
    service.ensure_queue_reachable()
    active = db.session.execute(
        select(DataIngestionJob).where(
            DataIngestionJob.module_id.in_(module_ids),
            DataIngestionJob.target_type == TargetType.EMISSIONS,
            DataIngestionJob.status.in_(list(ACTIVE)))
        .with_for_update().execution_options(populate_existing=True)).scalars().all()
    for job in active:
        if job.status == JobStatus.PROCESSING and not job.info.rerun_requested:
            job.meta = {**job.meta, RERUN_FLAG: True}
    busy = {job.module_id for job in active}
    created = []
    for module in db.session.execute(
            select(Module).where(Module.id.in_(sorted(set(module_ids) - busy)))
            .order_by(Module.id)).scalars():
        request = _request(module, triggered_by=triggered_by)
        job = service.insert_job(RECALCULATION, request, RECALCULATION.check(request), None)
        audit.record(RECALCULATION.audit_action, target_type="job", target_id=job.id,
                     details={"provider_type": PROVIDER, "target_type": job.target_type,
                              "module_id": job.module_id, "triggered_by": triggered_by})
        created.append(job.id)
    db.session.commit()
    for job_id in created:
        service.enqueue(job_id)
    return created


RECALCULATION = kinds.register(RecalculationKind())
