"""Times on pages: every one goes through `timestamp`, which shows it in one named zone.

A page shows its times in the viewer's zone (chosen on their own page) or else the
site's (the TIME_ZONE setting), each with the zone's abbreviation ("2026-12-07 09:15 CET",
"2026-07-01 10:00 CEST"; "+04" for a zone that has none), and base.html names the zone
itself once ("Times in Europe/Zurich"). A schedule's times are shown in the
schedule's own zone (the zone its cron runs in, shown beside them), also named. The JSON
API keeps ISO 8601 with the offset.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_request_context
from flask_login import current_user

FORMAT = "%Y-%m-%d %H:%M %Z"


def page_zone() -> str:
    """The IANA zone this page's times are shown in: the viewer's, when they chose one
    on their page (users.time_zone), else the site's."""
    viewer = current_user if has_request_context() else None
    return (getattr(viewer, "time_zone", None) or current_app.config.get("TIME_ZONE")
            or "UTC")


def timestamp(value: datetime | str | None, zone: str | None = None) -> str:
    """`value` in `zone` (the page's when None), named: '2026-12-07 09:15 CET'.

    Takes a datetime or an ISO 8601 string (job metadata keeps times as text); a time
    without an offset is UTC, as the database stores them. None or text that is no time
    shows as '–'.
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return "–"
    if not isinstance(value, datetime):
        return "–"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(ZoneInfo(zone or page_zone())).strftime(FORMAT)
