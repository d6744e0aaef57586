"""Cron expressions in an IANA time zone: checked and iterated by croniter, zones by
zoneinfo. Times are computed in the schedule's zone (so "03:00" stays 03:00 across
daylight-saving changes) and stored in UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from croniter import croniter

from webapp.ingestion.limits import clip_cell
from webapp.ingestion.refusals import Invalid

PRESETS = {"daily": ("0 3 * * *", "Daily at 03:00"),
           "weekly": ("0 3 * * 1", "Weekly, Monday at 03:00")}
MAX_CRON_LENGTH = 100


def check_cron(expression) -> str:
    """The expression, stripped, or Invalid naming the field. Five fields (minute hour
    day month weekday) or a croniter alias like @daily; a preset name is accepted too."""
    if not isinstance(expression, str) or not expression.strip():
        raise Invalid("cron is required: five fields (minute hour day month weekday), "
                      "or 'daily' / 'weekly'", field="cron")
    expression = " ".join(expression.split())
    if expression in PRESETS:
        return PRESETS[expression][0]
    fields = expression.split(" ")
    if (len(expression) > MAX_CRON_LENGTH or "\x00" in expression
            or (len(fields) != 5 and not expression.startswith("@"))
            or not croniter.is_valid(expression)):
        raise Invalid(f"cron {clip_cell(repr(expression))} is not a valid cron expression: "
                      "five fields (minute hour day month weekday), e.g. '0 3 * * *'",
                      field="cron")
    return expression


def check_timezone(name) -> str:
    if name in (None, ""):
        return "UTC"
    if not isinstance(name, str) or len(name) > 64 or "\x00" in name:
        raise Invalid("timezone must be an IANA time zone name, e.g. 'Europe/Zurich'",
                      field="timezone")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"timezone {clip_cell(repr(name))} is not an IANA time zone name, "
                      "e.g. 'Europe/Zurich'", field="timezone") from None
    return name


def next_after(expression: str, zone: str, moment: datetime) -> datetime:
    """The first due time strictly after `moment`, in UTC."""
    start = moment.astimezone(ZoneInfo(zone))
    return croniter(expression, start).get_next(datetime).astimezone(UTC)


def latest_due(expression: str, zone: str, moment: datetime) -> datetime:
    """The last due time at or before `moment`, in UTC: however many due times were
    missed, this is the one that runs (a missed night runs once, not once per minute)."""
    start = moment.astimezone(ZoneInfo(zone))
    iterator = croniter(expression, start)
    if croniter.match(expression, start) and start.second == 0 and start.microsecond == 0:
        return start.astimezone(UTC)
    return iterator.get_prev(datetime).astimezone(UTC)


def describe(expression: str) -> str:
    for cron, label in PRESETS.values():
        if cron == expression:
            return label
    return expression


def local(moment: datetime | None, zone: str) -> str | None:
    """`moment` as the schedule's zone shows it, e.g. '2026-03-23 03:00 CET'."""
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z") if moment else None


@cache
def zones() -> list[str]:
    return sorted(available_timezones())
