"""One job's page, its live status panel, and the Retry and Cancel buttons.

The panel (`jobs/_panel.html`) is the fragment pages poll while a job runs. Retry and
Cancel answer htmx with the panel to swap in (retry: the new job's), and plain form
posts with a redirect to the job's page, so both work without JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user

from webapp.auth import job_role, requires_role, role_for_target
from webapp.extensions import db
from webapp.ingestion.jobs import queries, service
from webapp.ingestion.jobs.states import FINAL
from webapp.ingestion.refusals import ServiceError
from webapp.models import DataIngestionJob
from webapp.views.htmx import (
    JOB_CHANGED,
    JOB_FINISHED,
    JOB_STARTED,
    is_htmx,
    page_or_fragment,
    trigger,
)

jobs_bp = Blueprint("jobs", __name__, url_prefix="/jobs")

PANEL_ERRORS = 10  # row errors a panel lists; the job page lists all it stores (100)
PAGE_ERRORS = service.MAX_STORED_ERRORS


def _job(job_id: int) -> DataIngestionJob:
    return queries.current_job(job_id)


def _error_limit() -> int:
    """How many row errors the panel lists (`?errors=`), so a polled panel keeps its size."""
    try:
        return min(max(int(request.args.get("errors", PANEL_ERRORS)), 0), PAGE_ERRORS)
    except ValueError:
        return PANEL_ERRORS


def job_context(job: DataIngestionJob, error_limit: int = PANEL_ERRORS, **extra) -> dict:
    """What `jobs/_panel.html` needs; the module page uses it for its panels too."""
    return {"job": job, "status": queries.status_body(job), "error_limit": error_limit,
            "can_edit": current_user.can(role_for_target(job.target_type)), **extra}


def _page(job: DataIngestionJob, fragment: str, http_status: int = 200, **extra):
    return page_or_fragment("jobs/detail.html", fragment, http_status,
                            **job_context(job, _error_limit() if is_htmx() else PAGE_ERRORS,
                                          **extra))


@jobs_bp.get("/<id:job_id>")
def detail(job_id: int):
    """Everything about one job; htmx gets the facts block (refreshed when the job ends)."""
    return _page(_job(job_id), "jobs/_facts.html")


@jobs_bp.get("/<id:job_id>/panel")
def panel(job_id: int):
    """The live status panel; it polls this URL every second while the job is active.

    `?seen=` is the state the polling panel shows: when the job has moved on, the
    response fires job-changed (and job-finished at the end) so the page's badges
    refresh once, at that moment.
    """
    job = _job(job_id)
    response = _page(job, "jobs/_panel.html")
    if is_htmx() and job.status != request.args.get("seen"):
        if job.status in FINAL:
            return trigger(response, JOB_CHANGED, JOB_FINISHED)
        if request.args.get("seen"):
            return trigger(response, JOB_CHANGED)
    return response


@jobs_bp.post("/<id:job_id>/retry")
@requires_role(job_role)
def retry(job_id: int):
    return _act(job_id, "Retry", service.retry_job, JOB_STARTED,
                lambda job: f"Job #{job.id} retries job #{job_id}.")


@jobs_bp.post("/<id:job_id>/cancel")
@requires_role(job_role)
def cancel(job_id: int):
    return _act(job_id, "Cancel", service.cancel_job, JOB_FINISHED,
                lambda job: f"Job #{job.id} is cancelled.")


def _act(job_id: int, action: str, verb: Callable, event: str,
         done: Callable[[DataIngestionJob], str]):
    """Run the service `verb` on the job. htmx gets the panel of the job it returns (for a
    retry, the new one) and `event`; a plain form post a redirect to that job's page."""
    try:
        job = verb(job_id, current_user)
    except ServiceError as error:
        return _refused(job_id, action, error)
    if not is_htmx():
        flash(done(job), "info")
        return redirect(url_for("jobs.detail", job_id=job.id), 303)
    return trigger(_page(job, "jobs/_panel.html"), JOB_CHANGED, event)


def _refused(job_id: int, action: str, error: ServiceError):
    """Show why the service said no, on the panel (htmx) or the job page, with its status."""
    db.session.rollback()
    refusal = {"action": action, "message": error.message, **error.details}
    return _page(_job(job_id), "jobs/_panel.html", error.status, refusal=refusal)
