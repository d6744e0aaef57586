"""Who may change a schedule: the role its target needs (SPEC §8: data entries editors,
factors admins), as for the syncs it starts."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask_login import current_user

from webapp.auth import forbidden, requires_role, role_for_target
from webapp.extensions import db
from webapp.models import SyncSchedule

MAX_ID = 2**31 - 1


def requires_schedule_role(view: Callable) -> Callable:
    """Decorate a view on one schedule (`schedule_id`). A missing schedule needs editor,
    so viewers get 403 and editors the view's own 404."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        schedule_id = kwargs["schedule_id"]
        schedule = db.session.get(SyncSchedule, schedule_id) if schedule_id <= MAX_ID else None
        role = role_for_target(schedule.target_type) if schedule else "editor"
        if not current_user.can(role):
            return forbidden(role)
        return view(*args, **kwargs)

    return requires_role("editor")(wrapped)
