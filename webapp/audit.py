"""Write and read the audit log.

`record()` only adds the row to the session: it commits (or rolls back) with the action
it describes, so a refused action leaves no trace and a recorded one cannot go missing.
"""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from flask_login import current_user

from webapp.errors import BadRequest
from webapp.extensions import db
from webapp.models import AuditEntry, User
from webapp.security import INT4_MAX

FILTERS = ("user", "action", "target_type", "target_id")


def record(action: str, *, target_type: str | None, target_id: int | None,
           details: dict[str, Any] | None = None, user: User | None = None) -> AuditEntry:
    """Add an audit row for `action` to the current transaction.

    `user` defaults to the logged-in user of the request (none from the CLI or a worker).
    `details` must hold no secrets: callers pass only the facts worth keeping.
    """
    address = None
    if has_request_context():
        address = request.remote_addr
        if user is None and current_user.is_authenticated:
            user = current_user
    entry = AuditEntry(actor_id=user.id if user else None,
                       actor_email=user.email if user else None, action=action,
                       target_type=target_type, target_id=target_id,
                       details=details or {}, client_address=address)
    db.session.add(entry)
    return entry


def parse_filters(args) -> dict[str, Any]:
    """The filters of a request's query string, checked (BadRequest names the bad one)."""
    found: dict[str, Any] = {}
    for name in FILTERS:
        value = (args.get(name) or "").strip()
        if not value:
            continue
        if len(value) > 255 or "\x00" in value:
            raise BadRequest(f"{name} must be at most 255 characters, without NUL")
        if name == "target_id" or (name == "user" and _is_number(value)):
            if not _is_number(value) or int(value) > INT4_MAX:
                raise BadRequest(f"{name} must be an id between 0 and {INT4_MAX}")
            value = int(value) if name == "target_id" else value
        found[name] = value
    return found


def _is_number(value: str) -> bool:
    return value.isascii() and value.isdigit()


def search(*, user: str | None = None, action: str | None = None,
           target_type: str | None = None, target_id: int | None = None,
           limit: int = 50, offset: int = 0) -> tuple[list[AuditEntry], int]:
    """Newest first. `user` is an email (any case) or a user id."""
    query = db.select(AuditEntry)
    if user:
        if _is_number(user):
            query = query.where(AuditEntry.actor_id == int(user))
        else:
            query = query.where(db.func.lower(AuditEntry.actor_email) == user.strip().lower())
    if action:
        query = query.where(AuditEntry.action == action)
    if target_type:
        query = query.where(AuditEntry.target_type == target_type)
    if target_id is not None:
        query = query.where(AuditEntry.target_id == target_id)
    total = db.session.execute(
        db.select(db.func.count()).select_from(query.subquery())).scalar_one()
    rows = db.session.execute(query.order_by(AuditEntry.id.desc()).limit(limit)
                              .offset(offset)).scalars().all()
    return list(rows), total


def actions() -> list[str]:
    """The actions recorded so far, for the page's filter."""
    return list(db.session.execute(
        db.select(AuditEntry.action).distinct().order_by(AuditEntry.action)).scalars())
