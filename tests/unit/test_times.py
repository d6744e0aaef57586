"""Every time on a page is shown in one named zone (SPEC §15): the TIME_ZONE setting,
checked at start-up, and the `timestamp` filter that converts and names."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from flask import Flask

from webapp import config as config_module
from webapp.config import ConfigError, load_config
from webapp.times import timestamp
from webapp.views.entry_table import figure


@pytest.fixture
def site():
    """An app context whose site zone a test sets."""
    app = Flask(__name__)
    with app.app_context():
        yield app.config


@pytest.fixture(autouse=True)
def isolated_instance(tmp_path, monkeypatch):
    monkeypatch.setattr(config_module, "INSTANCE", tmp_path)
    monkeypatch.setattr(config_module, "SERVICES_FILE", tmp_path / "services.json")


@pytest.mark.parametrize(("moment", "shown"), [
    (datetime(2026, 12, 7, 8, 15, tzinfo=UTC), "2026-12-07 09:15 CET"),
    (datetime(2026, 7, 1, 8, 15, tzinfo=UTC), "2026-07-01 10:15 CEST"),
    # Daylight saving starts 2026-03-29 at 01:00 UTC: 02:00 CET becomes 03:00 CEST.
    (datetime(2026, 3, 29, 0, 59, tzinfo=UTC), "2026-03-29 01:59 CET"),
    (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), "2026-03-29 03:00 CEST"),
    # ...and ends 2026-10-25 at 01:00 UTC: 02:30 happens twice, named apart.
    (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "2026-10-25 02:30 CEST"),
    (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), "2026-10-25 02:30 CET"),
    # Another offset converts too; a time without one is UTC, as the database keeps them.
    (datetime(2026, 12, 7, 3, 15, tzinfo=timezone(timedelta(hours=-5))), "2026-12-07 09:15 CET"),
    (datetime(2026, 12, 7, 8, 15), "2026-12-07 09:15 CET"),
    # Job metadata keeps times as ISO text (undo_until).
    ("2026-12-07T08:15:00+00:00", "2026-12-07 09:15 CET"),
    ("not a time", "–"),
    (None, "–"),
    ("", "–"),
])
def test_timestamp_shows_the_site_zone_named(site, moment, shown):
    site["TIME_ZONE"] = "Europe/Zurich"
    assert timestamp(moment) == shown


def test_timestamp_defaults_to_utc_and_takes_a_zone_of_its_own(site):
    moment = datetime(2026, 12, 7, 8, 15, tzinfo=UTC)
    assert timestamp(moment) == "2026-12-07 08:15 UTC"
    # A schedule's times are shown in the schedule's zone.
    assert timestamp(moment, "America/New_York") == "2026-12-07 03:15 EST"
    assert timestamp(moment, "Asia/Kolkata") == "2026-12-07 13:45 IST"


def test_time_zone_defaults_to_utc_and_takes_an_iana_name():
    assert load_config({})["TIME_ZONE"] == "UTC"
    assert load_config({"TIME_ZONE": " Europe/Zurich "})["TIME_ZONE"] == "Europe/Zurich"


@pytest.mark.parametrize("name", ["Europe", "CET+1", "Europe/Zürich", "posixrules",
                                  "localtime", "../etc/passwd", "europe/zurich"])
def test_a_time_zone_that_is_not_a_zone_is_refused_by_name(name):
    with pytest.raises(ConfigError, match=re.escape(f"TIME_ZONE={name!r} is not an IANA "
                                                    "time zone name: use one such as")):
        load_config({"TIME_ZONE": name})


def test_a_bad_time_zone_stops_create_app(monkeypatch):
    from webapp import create_app

    monkeypatch.setenv("TIME_ZONE", "Mars/Olympus")
    with pytest.raises(ConfigError, match="TIME_ZONE='Mars/Olympus'"):
        create_app()


@pytest.mark.parametrize(("value", "shown"), [
    (1234, "1,234"), (6_719_951.4, "6,719,951.4"), (0.151, "0.151"), (20000.0, "20,000.0"),
    (-1500, "-1,500"), (1e-05, "0.00001"),
])
def test_figures_get_thousands_separators_and_keep_their_decimals(value, shown):
    assert figure(value) == shown
