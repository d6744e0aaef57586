"""Cron expressions in an IANA time zone: checked and iterated by croniter, zones by
zoneinfo. Times are computed in the schedule's zone (so "03:00" stays 03:00 across
daylight-saving changes) and stored in UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from croniter import CroniterBadDateError, croniter

from webapp.errors import Invalid
from webapp.text import clip_cell

PRESETS = {"daily": ("0 3 * * *", "Daily at 03:00"),
           "weekly": ("0 3 * * 1", "Weekly, Monday at 03:00")}
MAX_CRON_LENGTH = 100
# A cron that does not fire within this many years never fires (31 February) or as good
# as never. Eight: the longest gap between two 29 Februarys (2096 to 2104), so "0 0 29 2 *"
# always passes. It also bounds croniter's search, which would otherwise go on for 50.
MAX_YEARS_BETWEEN_RUNS = 8

# Standard five-field cron, nothing else: in each field `*`, numbers, ranges, steps and
# lists; month and weekday names (jan, mon) in their fields. croniter's extensions (L, W,
# #, ?, R, H, @yearly..., a seconds or year field) are refused rather than documented.
_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
_DAYS = "sun|mon|tue|wed|thu|fri|sat"


def _field_pattern(value: str) -> re.Pattern[str]:
    """A list of `*`, values or ranges of values, each with an optional /step."""
    item = rf"(?:\*|{value}(?:-{value})?)(?:/\d{{1,2}})?"
    return re.compile(rf"{item}(?:,{item})*", re.IGNORECASE | re.ASCII)


FIELDS = (("minute", _field_pattern(r"\d{1,2}")), ("hour", _field_pattern(r"\d{1,2}")),
          ("day of month", _field_pattern(r"\d{1,2}")),
          ("month", _field_pattern(rf"(?:\d{{1,2}}|{_MONTHS})")),
          ("day of week", _field_pattern(rf"(?:\d|{_DAYS})")))
SYNTAX = ("five fields (minute hour day-of-month month day-of-week) of numbers, *, "
          "ranges, steps, lists and month or day names, e.g. '30 2 * * mon-fri'; or "
          "'daily' / 'weekly'")


def check_cron(expression) -> str:
    """The expression, with its spaces normalised; a preset name gives its expression.

    Raises:
        Invalid (field cron): not five standard fields, a value out of range, or a
            cron that never fires (31 February) within MAX_YEARS_BETWEEN_RUNS.
    """
    if not isinstance(expression, str) or not expression.strip():
        raise Invalid(f"cron is required: {SYNTAX}", field="cron")
    expression = " ".join(expression.split())
    if expression in PRESETS:
        return PRESETS[expression][0]
    shown = clip_cell(repr(expression))
    fields = expression.split(" ")
    if len(expression) > MAX_CRON_LENGTH or len(fields) != len(FIELDS):
        raise Invalid(f"cron {shown} is not a valid cron expression: {SYNTAX}", field="cron")
    for (name, pattern), field in zip(FIELDS, fields, strict=True):
        if not pattern.fullmatch(field):
            raise Invalid(f"cron {shown} is not a valid cron expression: its {name} field "
                          f"{clip_cell(repr(field))} is not standard cron; {SYNTAX}",
                          field="cron")
    if not croniter.is_valid(expression):
        raise Invalid(f"cron {shown} is not a valid cron expression (a value is out of "
                      f"range): {SYNTAX}", field="cron")
    try:
        next_after(expression, "UTC", datetime.now(UTC))
    except CroniterBadDateError:
        raise Invalid(f"cron {shown} never fires: it names no date in the next "
                      f"{MAX_YEARS_BETWEEN_RUNS} years (like 31 February)", field="cron") from None
    return expression


def next_after(expression: str, zone: str, moment: datetime) -> datetime:
    """The first due time strictly after `moment`, in UTC.

    Raises:
        CroniterBadDateError: none within MAX_YEARS_BETWEEN_RUNS (refused at request).
    """
    start = moment.astimezone(ZoneInfo(zone))
    return croniter(expression, start, max_years_between_matches=MAX_YEARS_BETWEEN_RUNS
                    ).get_next(datetime).astimezone(UTC)


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
