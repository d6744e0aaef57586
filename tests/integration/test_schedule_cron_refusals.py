"""Crons and time zones a schedule cannot use are refused with 422 naming the field, on
POST and PATCH /api/v1/schedules, never a 500 (SPEC §12 continued): crons that never
fire, croniter's extensions beyond standard five-field cron, and names in the tz
database's folders that are not zones. (The page form: test_schedule_form.py.)"""

from __future__ import annotations

import pytest

TRAVEL = 2
DAILY = {"module_id": TRAVEL, "provider_type": "synthetic", "year": 2025, "cron": "daily",
         "timezone": "Europe/Zurich"}

NEVER_FIRES = ["0 0 31 2 *", "0 0 30 2 *", "0 0 31 4 *", "0 0 30-31 feb *",
               "0 0 31 2,4,6,9,11 *"]
EXTENSIONS = ["0 0 L * *", "0 0 ? * *", "0 0 * * 1#2", "0 0 15W * *", "0 0 * * 5L",
              "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight",
              "@hourly", "@reboot", "0 0 3 * * *", "0 0 0 3 * * 2026", "R R * * *",
              "H H * * *", "H(0-29) 3 * * *", "0 ٣ * * *"]
NOT_ZONES = ["Europe", "America", "Etc", "US", "posixrules", "Factory", "right/UTC",
             "posix/Europe/Zurich", "localtime", "Europe/", "/etc/localtime",
             "Europe/../Europe/Zurich", "zone.tab", "tzdata.zi"]
ACCEPTED_CRONS = ["30 2 * * 1-5", "*/15 * * * *", "0 0 29 2 *", "0 3 1 jan,jul *",
                  "0 9 * * mon-fri", "5,35 8-18/2 * * *", "0 0 31 2 mon", "0 3 * * 7"]


def _refused(response, field: str, words: str) -> None:
    assert response.status_code == 422, (response.status_code, response.get_data()[:300])
    body = response.get_json()
    assert body["field"] == field and words in body["message"], body


@pytest.mark.parametrize(("expression", "words"),
                         [(e, "never fires") for e in NEVER_FIRES]
                         + [(e, "five fields") for e in EXTENSIONS])
def test_a_cron_that_never_fires_or_uses_an_extension_is_422_on_create_and_patch(
        api, expression, words):
    _refused(api.post("/schedules", json={**DAILY, "cron": expression}), "cron", words)
    created = api.post("/schedules", json=DAILY).get_json()
    _refused(api.client.patch(f"/api/v1/schedules/{created['id']}", headers=api.headers,
                              json={"cron": expression}), "cron", words)
    assert api.get(f"/schedules/{created['id']}").get_json()["cron"] == "0 3 * * *"


@pytest.mark.parametrize("zone", NOT_ZONES)
def test_a_time_zone_that_is_not_a_zone_is_422_on_create_and_patch(api, zone):
    _refused(api.post("/schedules", json={**DAILY, "timezone": zone}), "timezone", "IANA")
    created = api.post("/schedules", json=DAILY).get_json()
    _refused(api.client.patch(f"/api/v1/schedules/{created['id']}", headers=api.headers,
                              json={"timezone": zone}), "timezone", "IANA")
    assert api.get(f"/schedules/{created['id']}").get_json()["timezone"] == "Europe/Zurich"


def test_standard_cron_and_real_zones_are_accepted(api):
    for expression in ACCEPTED_CRONS:
        response = api.post("/schedules", json={**DAILY, "cron": expression})
        assert response.status_code == 201, (expression, response.get_json())
    for zone in ("UTC", "Etc/UTC", "America/New_York", "US/Eastern", "Asia/Kolkata"):
        response = api.post("/schedules", json={**DAILY, "timezone": zone})
        assert response.status_code == 201, (zone, response.get_json())
