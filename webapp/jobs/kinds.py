"""Job kinds: what differs between a load, a preview, an undo, a recalculation (and
later a unit import or an institution-wide sync), declared once per kind, like
providers in their registry.

A kind says which requests are its own (`claims`), how such a request is checked
(`check`, before anything is stored), what to do once it is known valid (`prepare`, e.g.
store an uploaded file), how it runs in a worker (`run`), and what its completion says
(`completion_message`). Each kind registers itself when its module is imported
(`register(MyKind())` at the bottom of the module); `webapp/__init__.py` imports the
modules that hold kinds. The service and the runner ask the kind: nothing in
webapp/jobs/ tells kinds apart by target type or metadata.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from webapp.errors import BadRequest
from webapp.jobs.requests import Checked, SyncRequest
from webapp.models import DataIngestionJob, User


class JobKind:
    """One kind of job. Subclasses set `name` and override what differs."""

    name: ClassVar[str]
    audit_action: ClassVar[str] = "job.created"
    # Whether a completed job of this kind changed stored data (signals.data_committed).
    changes_data: ClassVar[bool] = True

    def claims(self, request: SyncRequest) -> bool:
        """True when `request` asks for a job of this kind; exactly one kind may claim it."""
        raise NotImplementedError

    def check(self, request: SyncRequest) -> Checked:
        """Every check before anything is stored. Raises a Refusal (400, 404, 422, 503)."""
        raise NotImplementedError

    def prepare(self, request: SyncRequest, checked: Checked, user: User | None) -> Checked:
        """After the checks, before the job row exists (e.g. store the uploaded file)."""
        return checked

    def run(self, job: DataIngestionJob, attempt: str, log: logging.LoggerAdapter) -> None:
        """Run the job in a worker, to a final state, through webapp/jobs/lifecycle.py."""
        raise NotImplementedError

    def completion_message(self, job: DataIngestionJob, counts: dict[str, Any],
                           extra: dict[str, Any]) -> str:
        """What the completed job says; `extra` is the metadata its completion adds."""
        return "Completed"


_KINDS: dict[str, JobKind] = {}


def register(kind: JobKind) -> JobKind:
    _KINDS[kind.name] = kind
    return kind


def registered() -> list[JobKind]:
    return list(_KINDS.values())


def for_request(request: SyncRequest) -> JobKind:
    """The one kind that claims `request`.

    Raises:
        BadRequest: no kind does (an unknown target type).
    """
    claiming = [kind for kind in _KINDS.values() if kind.claims(request)]
    if not claiming:
        raise BadRequest(f"unknown target type {request.target_type!r}")
    if len(claiming) > 1:
        raise LookupError(f"{len(claiming)} job kinds claim {request!r}: "
                          f"{[kind.name for kind in claiming]}")
    return claiming[0]


def of_job(job: DataIngestionJob) -> JobKind:
    """The kind a job was created as (jobs stored before kinds existed: as it would be)."""
    name = job.info.kind
    if name in _KINDS:
        return _KINDS[name]
    info = job.info
    return for_request(SyncRequest(
        module_id=job.module_id, provider_type=job.provider_type,
        target_type=job.target_type, year=job.year, config=info.request.get("config"),
        undo_of=info.undo_of))
