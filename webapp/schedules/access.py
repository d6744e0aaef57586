"""Who may act on a schedule: the role its target needs (SPEC §8: data entries editors,
factors admins), as for the syncs it starts."""

from __future__ import annotations

from webapp.auth import role_for_target
from webapp.extensions import db
from webapp.models import SyncSchedule


def schedule_role(schedule_id: int, **_) -> str:
    """The resolver for `requires_role`: a missing schedule needs editor, so viewers get
    403 and editors the view's own 404."""
    schedule = db.session.get(SyncSchedule, schedule_id)
    return role_for_target(schedule.target_type) if schedule else "editor"


def may_change(schedule: SyncSchedule, user) -> bool:
    """True when `user` has the role changing `schedule` needs: only they see its full
    webhook URL (SPEC §12 continued)."""
    return bool(user and user.is_authenticated and user.can(role_for_target(schedule.target_type)))
