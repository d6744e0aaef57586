"""IANA time zone names: the one list the schedules, a user's own zone and the site's
TIME_ZONE setting are checked against."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

from webapp.errors import Invalid
from webapp.text import clip_cell

# Names in the zone folders that are not zones people mean (or not zones at all).
NOT_ZONES = {"Factory", "localtime", "posixrules"}


@cache
def _zone_set() -> frozenset[str]:
    # available_timezones() skips the posix/ and right/ folders but lists what a system
    # folder holds besides zones (Debian's "localtime" link, tzdata's "Factory").
    return frozenset(available_timezones() - NOT_ZONES)


def is_zone(name: object) -> bool:
    return isinstance(name, str) and name in _zone_set()


@cache
def zones() -> list[str]:
    """Every zone, sorted: the forms' suggestions."""
    return sorted(_zone_set())


def check_timezone(name) -> str:
    """The zone name, "UTC" when none is given.

    Raises:
        Invalid (field timezone): not one of the IANA zones `zones()` lists (a folder
            such as "Europe", "posixrules", "right/UTC" and the like are not zones).
    """
    if name in (None, ""):
        return "UTC"
    if not isinstance(name, str):
        raise Invalid("timezone must be an IANA time zone name (a string), e.g. "
                      "'Europe/Zurich'", field="timezone")
    if not is_zone(name):
        raise Invalid(f"timezone {clip_cell(repr(name))} is not an IANA time zone name, "
                      "e.g. 'Europe/Zurich' or 'UTC'", field="timezone")
    return name
