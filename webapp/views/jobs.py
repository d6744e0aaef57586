"""One job's page, its status panel, and the Retry, Cancel and Load it buttons.

While a job runs, pages poll the changing part of its panel (`jobs/_live.html`), and
get the whole panel (`jobs/_panel.html`) once it ends. Cancel answers htmx with the
panel to swap in; Retry and Load it, which make a new job, send the job's own page to
that job's page, and give the module page the new job's panel. Plain form posts get a
redirect to the job's page, so every button works without JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from urllib.parse import urlsplit

from flask import Blueprint, Response, flash, make_response, redirect, request, url_for
from flask_login import current_user

from webapp import access
from webapp.errors import Refusal
from webapp.extensions import db
from webapp.ingestion import undo
from webapp.ingestion.kinds import apply_preview
from webapp.jobs import lifecycle, queries, service
from webapp.jobs.states import FINAL, RETRYABLE, JobStatus
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

# Failures of an upload caused by the file itself: a retry of the same file ends the same.
FILE_FAULT_CODES = frozenset({400, 422})
PANEL_ERRORS = 10  # row errors a panel lists; the job page lists all it stores (100)
PAGE_ERRORS = lifecycle.MAX_STORED_ERRORS


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
            "can_edit": access.may(access.unit_of(job.module),
                                   access.role_to_change(job.target_type)),
            "undo_refusal": _undo_refusal(job), **extra}


def _undo_refusal(job: DataIngestionJob) -> str | None:
    """Why a completed load cannot be undone (shown on its panel); None when it can, and
    for jobs that are not completed loads (they show no Undo at all)."""
    if job.status != JobStatus.COMPLETED or job.info.dry_run or job.info.undo_of:
        return None
    return undo.undo_refusal(job)


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
    """The job's whole panel; the whole job page without htmx."""
    return _page(_job(job_id), "jobs/_panel.html")


@jobs_bp.get("/<id:job_id>/live")
def live(job_id: int):
    """The changing part of the panel, which polls this URL every second while the job
    is active. Once the job has ended, htmx gets the whole panel in its place (the
    buttons change too) and the page's live region the final state.

    `?seen=` is the state the polling panel shows: when the job has moved on, the
    response fires job-changed (and job-finished at the end) so the page's badges
    refresh once, at that moment.
    """
    job = _job(job_id)
    if is_htmx() and job.status in FINAL:
        response = _panel_update(job, announcement=final_state(job))
        response.headers["HX-Retarget"] = f"#job-{job.id}"
        response.headers["HX-Reswap"] = "outerHTML"
    else:
        response = _page(job, "jobs/_live.html")
    if is_htmx() and job.status != request.args.get("seen"):
        if job.status in FINAL:
            return trigger(response, JOB_CHANGED, JOB_FINISHED)
        if request.args.get("seen"):
            return trigger(response, JOB_CHANGED)
    return response


@jobs_bp.post("/<id:job_id>/retry")
def retry(job_id: int):
    """Retry; with `confirm_replace` ("Replace them"), the load a 409 stopped."""
    confirmed = bool(request.form.get("confirm_replace"))
    config = {"confirm_replace": True} if confirmed else None
    said = ", replacing the stored rows." if confirmed else "."
    return _act(job_id, "Retry", partial(service.retry_job, config=config), JOB_STARTED,
                lambda job: f"Retrying job #{job_id} as job #{job.id}{said}")


@jobs_bp.post("/<id:job_id>/cancel")
def cancel(job_id: int):
    return _act(job_id, "Cancel", service.cancel_job, JOB_FINISHED,
                lambda job: f"Job #{job.id} is cancelled.")


@jobs_bp.post("/<id:job_id>/apply")
def apply(job_id: int):
    """Load it: the previewed request and file, loaded for real by a new job."""
    return _act(job_id, "Load it", apply_preview, JOB_STARTED,
                lambda job: f"Loading preview #{job_id} as job #{job.id}.")


@jobs_bp.get("/<id:job_id>/undo")
def confirm_undo(job_id: int):
    """What an undo will restore, with the button that does it (a page, no script)."""
    job = _job(job_id)
    service.require_change(job, "undoing this load")
    return page_or_fragment("jobs/undo.html", "jobs/_undo_confirm.html",
                            **job_context(job, refusal_text=undo.undo_refusal(job)))


@jobs_bp.post("/<id:job_id>/undo")
def undo_load(job_id: int):
    return _act(job_id, "Undo", undo.request_undo, JOB_STARTED,
                lambda job: f"Undoing job #{job_id} as job #{job.id}.")


def _act(job_id: int, action: str, verb: Callable, event: str,
         done: Callable[[DataIngestionJob], str]):
    """Run the service `verb` on the job; `done` says what it did, naming the job it
    returned (for a retry, the new one), which is the job shown next:

    - a plain form post: a redirect to that job's page, with `done` as the flash;
    - htmx on the page of the old job: the same, through HX-Redirect, since that page's
      heading, facts and URL name the old job;
    - htmx elsewhere (the module page): that job's panel, saying `done`, and `event`.
    """
    try:
        job = verb(job_id, current_user)
    except Refusal as error:
        return _refused(job_id, action, error)
    message = done(job)
    new_job = job.id != job_id
    if not is_htmx():
        flash(message, "info")
        return redirect(url_for("jobs.detail", job_id=job.id), 303)
    if new_job and _on_page_of(job_id):
        flash(message, "info")  # said by the new job's page, which htmx now opens
        response = make_response("", 200)
        response.headers["HX-Redirect"] = url_for("jobs.detail", job_id=job.id)
        return response
    response = _panel_update(job, notice=message if new_job else None,
                             announcement=final_state(job) if job.status in FINAL else message)
    if new_job:
        _rename_in_url(response, job_id, job.id)
    return trigger(response, JOB_CHANGED, event)


def _panel_update(job: DataIngestionJob, **extra) -> Response:
    """The whole panel for htmx, with `announcement` for the page's live region."""
    return _page(job, "jobs/_panel_update.html", **extra)


def final_state(job: DataIngestionJob) -> str:
    """What the live region says when a job ends: "Completed: job #12. Loaded 3 rows"."""
    return f"{job.status.capitalize()}: job #{job.id}. {job.message or ''}".strip()


def _on_page_of(job_id: int) -> bool:
    """True when htmx sent the request from this job's own page (HX-Current-URL)."""
    current = urlsplit(request.headers.get("HX-Current-URL", ""))
    return current.path == url_for("jobs.detail", job_id=job_id)


def _rename_in_url(response: Response, old_id: int, new_id: int) -> None:
    """A page whose URL points at the old job's panel (`#job-<old>`, where a form sent
    the user) now shows the new job's panel there: point the URL at it instead."""
    current = urlsplit(request.headers.get("HX-Current-URL", ""))
    if current.fragment == f"job-{old_id}":
        response.headers["HX-Replace-Url"] = current._replace(
            scheme="", netloc="", fragment=f"job-{new_id}").geturl()


def retry_can_help(job: DataIngestionJob) -> bool:
    """Whether Retry may end otherwise than the job did, so the pages offer it.

    A retry reuses the stored request and file. An upload that failed because of the file
    itself (400: unreadable, wrong columns; 422: invalid rows) would fail the same way:
    the pages offer a corrected upload instead. Other failures (the source down or
    refusing, a worker lost, a cancel) may pass next time. The API's retry endpoint still
    accepts every failed or cancelled job.
    """
    if job.status not in RETRYABLE or replace_needs_confirmation(job):
        return False
    uploaded = bool(job.info.upload)
    return not (uploaded and job.status == JobStatus.FAILED
                and job.status_code in FILE_FAULT_CODES)


def replace_needs_confirmation(job: DataIngestionJob) -> bool:
    """A load stopped (409) because it would remove more than half of a slice: the way on
    is to confirm it ("Replace them"), which a plain retry does not."""
    return job.status == JobStatus.FAILED and job.status_code == 409


def corrected_upload_url(job: DataIngestionJob) -> str | None:
    """The module page's upload form the job's file came through (None without a module)."""
    if job.module_id is None:
        return None
    form = f"factors-{job.factor_type_id}" if job.factor_type_id else "upload"
    return url_for("modules.detail", module_id=job.module_id, _anchor=form)


def _refused(job_id: int, action: str, error: Refusal):
    """Show why the service said no, on the panel (htmx) or the job page, with its status."""
    db.session.rollback()
    refusal = {"action": action, "message": error.message, **error.details}
    return _page(_job(job_id), "jobs/_panel.html", error.status_code, refusal=refusal)
