"""Figures people read on the pages (SPEC §15): totals in t CO2eq, every time in the
site's TIME_ZONE and named, the entries table with each entry's own fields, stored
factors as a sorted table with units, JSON with its characters, not escapes."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from tests.support.web import PageClient

TRAVEL = 2  # demo seed: the travel module of inventory 1 (2025)
PLANE_FACTORS, TRAIN_FACTORS = 1, 2
HX = {"HX-Request": "true"}


def _add(app, *rows) -> None:
    from webapp.extensions import db

    with app.app_context():
        db.session.add_all(rows)
        db.session.commit()


def _entry(entry_type: str, data: dict, kg: float | None = None, **emission):
    from webapp.models import DataEntry

    return DataEntry(inventory_id=1, module_id=TRAVEL, year=2025, entry_type=entry_type,
                     data=data, kg_co2eq=kg, emission=emission or None, source="csv_upload")


PLANE = {"origin_iata": "GVA", "destination_iata": "LHR", "user_institutional_id": "100001",
         "departure_date": "2025-03-01", "number_of_trips": 1200, "cabin_class": "economy",
         "distance_km": 1234.5}
TRAIN = {"origin_name": "Genève", "origin_country_code": "CH", "destination_name": "Zürich",
         "destination_country_code": "CH", "user_institutional_id": "100002",
         "departure_date": "2025-04-02", "number_of_trips": 2, "cabin_class": "second"}


def _cells(row_html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row_html, re.S)]


def _table(html: str, table_class: str) -> list[list[str]]:
    table = re.search(rf'<table class="{table_class}">(.*?)</table>', html, re.S)[1]
    return [_cells(row) for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)]


@pytest.fixture
def viewer(app, pages) -> PageClient:
    return pages("viewer")


def test_the_plane_tab_shows_each_entrys_own_fields(app, viewer):
    _add(app, _entry("plane", PLANE, 6_719_951.4, method="distance"),
         _entry("train", TRAIN, None, missing_reason="no factor for CH"))
    html = viewer.get(f"/modules/{TRAVEL}/entry-list?entry_type=plane", headers=HX).text
    header, row = _table(html, "entries")
    assert header == ["#", "Route", "Person", "Date", "Trips", "Class", "Distance km",
                      "Source", "Job", "kg CO2eq", "How"]
    assert row[1:7] == ["GVA → LHR", "100001", "2025-03-01", "1,200", "economy", "1,234.5"]
    assert row[9] == "6,719,951.4"  # an entry's emission is a detail: in kg
    assert 'class="num">1,200</td>' in html  # numbers right-aligned
    assert 'aria-current="page">Plane</a>' in html


def test_the_train_tab_names_places_and_says_why_an_emission_is_missing(app, viewer):
    _add(app, _entry("plane", PLANE, 10.0, method="distance"),
         _entry("train", TRAIN, None, missing_reason="no factor for CH"))
    html = viewer.get(f"/modules/{TRAVEL}/entry-list?entry_type=train", headers=HX).text
    header, row = _table(html, "entries")
    assert header[1:6] == ["Route", "Person", "Date", "Trips", "Class"]
    assert row[1] == "Genève (CH) → Zürich (CH)"
    assert row[-2:] == ["–", "no factor for CH"]
    assert "GVA" not in html  # one entry type per table


def test_all_types_show_each_entrys_fields_in_one_cell(app, viewer):
    _add(app, _entry("plane", PLANE, 10.0, method="distance"),
         _entry("train", TRAIN, None, missing_reason="no factor for CH"))
    html = viewer.get(f"/modules/{TRAVEL}/entry-list", headers=HX).text
    header, plane, train = _table(html, "entries")
    assert header == ["#", "Type", "Entry", "Source", "Job", "kg CO2eq", "How"]
    assert plane[1] == "plane" and "GVA → LHR" in plane[2] and "Trips 1,200" in plane[2]
    assert train[1] == "train" and "Genève (CH) → Zürich (CH)" in train[2]
    assert 'aria-current="page">All types</a>' in html
    assert html.count('href="/modules/2/entry-list?entry_type=train#entry-list"') == 1


def test_the_module_total_is_in_tonnes_rounded_and_its_entry_in_kg(app, viewer):
    from webapp.extensions import db
    from webapp.models.entries import ModuleEmissionSummary

    with app.app_context():
        db.session.add(ModuleEmissionSummary(module_id=TRAVEL, entries=1,
                                             entries_with_emissions=1,
                                             total_kg_co2eq=6_719_951.4,
                                             by_entry_type=[{"entry_type": "plane",
                                                             "kg_co2eq": 6_719_951.4}],
                                             recalculated_at=datetime.now(UTC)))
        db.session.commit()
    html = viewer.get(f"/modules/{TRAVEL}").text
    assert re.search(r'id="module-total">6,719\.95</span> t CO2eq', html)
    assert "6,719.95 t</text>" in html  # the bar of the entry type too
    card = html.split('id="emissions"')[1].split("</section>")[0]
    assert "6,719,951.4" not in re.sub(r"<[^>]+>", "", card)  # kg only as the total's title
    assert 'title="6,719,951.4 kg CO2eq"' in card


def test_stored_factors_are_a_sorted_table_with_units(app, viewer):
    from webapp.models import EmissionFactor

    def plane(category, cabin, ef, low, high):
        return EmissionFactor(factor_type_id=PLANE_FACTORS, year=2025,
                              classification={"category": category, "cabin_class": cabin},
                              values={"ef_kg_co2eq_per_km": ef, "min_distance": low,
                                      "max_distance": high})

    _add(app, plane("short_haul", "first", 0.4, 0, 1500),
         plane("long_haul", "economy", 0.15, 3500, 20000),
         plane("short_haul", "economy", 0.151, 0, 1500))
    html = viewer.get(f"/modules/{TRAVEL}/factors", headers=HX).text
    header, *rows = _table(html, "factors-table")
    assert header == ["Category", "Class", "Factor kg CO2eq / passenger-km", "From km",
                      "Up to km"]
    assert rows == [["long_haul", "economy", "0.15", "3,500", "20,000"],
                    ["short_haul", "economy", "0.151", "0", "1,500"],
                    ["short_haul", "first", "0.4", "0", "1,500"]]
    assert "ef_kg_co2eq_per_km:" not in html  # no key: value blobs


def test_stored_factors_come_a_page_at_a_time(app, viewer, monkeypatch):
    from webapp.models import EmissionFactor
    from webapp.views import modules

    monkeypatch.setattr(modules, "FACTOR_PAGE_SIZE", 2)
    _add(app, *(EmissionFactor(factor_type_id=TRAIN_FACTORS, year=2025,
                               classification={"country_code": code},
                               values={"ef_kg_co2eq_per_km": 0.01})
                for code in ("FR", "CH", "DE")))
    first = viewer.get(f"/modules/{TRAVEL}/factors", headers=HX).text
    assert [row[0] for row in _table(first, "factors-table")[1:]] == ["CH", "DE"]
    second = viewer.get(f"/modules/{TRAVEL}/factors?factor_type={TRAIN_FACTORS}"
                        "&factor_page=2", headers=HX).text
    assert [row[0] for row in _table(second, "factors-table")[1:]] == ["FR"]
    assert "Page 2 of 2" in second


def test_every_time_on_a_page_is_in_the_site_zone_and_named(app, pages, monkeypatch):
    from webapp.extensions import db
    from webapp.models import DataIngestionJob

    monkeypatch.setitem(app.config, "TIME_ZONE", "Europe/Zurich")
    client = pages("admin")
    with app.app_context():
        job = DataIngestionJob(module_id=TRAVEL, year=2025, provider_type="csv_upload",
                               target_type="data_entries", status="completed", status_code=200,
                               message="Loaded", started_at=datetime(2025, 7, 1, 8, 0, tzinfo=UTC),
                               completed_at=datetime(2025, 7, 1, 8, 2, tzinfo=UTC),
                               meta={"processing_started_at": "2025-07-01T08:01:00+00:00",
                                     "request": {"config": {"note": "Zürich \"HQ\"",
                                                            "on_error": "abort"}}})
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    html = client.get(f"/jobs/{job_id}").text
    assert "2025-07-01 10:00 CEST" in html and "2025-07-01 10:02 CEST" in html
    assert html.count("Times in Europe/Zurich.") == 1
    assert "UTC" not in html and "+00:00" not in html
    # JSON shown as people read it: the characters, not \u escapes.
    assert "Zürich" in html and "\\u00fc" not in html
    history = client.get(f"/modules/{TRAVEL}").text
    assert "2025-07-01 10:00 CEST" in history and "Times in Europe/Zurich." in history


def test_a_user_reads_times_in_the_zone_they_choose(app, create_user, monkeypatch):
    from webapp.extensions import db
    from webapp.models import DataIngestionJob

    monkeypatch.setitem(app.config, "TIME_ZONE", "Europe/Zurich")
    user = create_user("viewer")
    client = PageClient(app, user)
    with app.app_context():
        job = DataIngestionJob(inventory_id=1, module_id=TRAVEL, year=2025,
                               provider_type="csv_upload", target_type="data_entries",
                               status="completed",
                               started_at=datetime(2025, 1, 15, 12, 0, tzinfo=UTC))
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    own_page = f"/users/{user['email']}/tokens"
    assert 'placeholder="Europe/Zurich"' in client.get(own_page).text

    answer = client.post(f"/users/{user['email']}/time-zone",
                         {"time_zone": "America/New_York"})
    assert answer.status_code == 303 and answer.location.endswith(own_page + "#time-zone")
    html = client.get(f"/jobs/{job_id}").text
    assert "2025-01-15 07:00 EST" in html and "Times in America/New_York." in html
    # Others still read the site's zone.
    assert "2025-01-15 13:00 CET" in PageClient(app, create_user("viewer")).get(
        f"/jobs/{job_id}").text

    refused = client.post(f"/users/{user['email']}/time-zone", {"time_zone": "Europe"})
    assert refused.status_code == 422
    assert "timezone &#39;Europe&#39; is not an IANA time zone name" in refused.text
    assert 'value="Europe"' in refused.text and 'aria-invalid="true"' in refused.text
    assert "Times in America/New_York." in client.get(f"/jobs/{job_id}").text  # unchanged

    assert client.post(f"/users/{user['email']}/time-zone", {"time_zone": " "}
                       ).status_code == 303
    assert "Times in Europe/Zurich." in client.get(f"/jobs/{job_id}").text


def test_only_the_user_or_an_admin_sets_their_time_zone(app, create_user, pages):
    from webapp.extensions import db
    from webapp.models import User

    owner = create_user("viewer")
    other = pages("editor")
    path = f"/users/{owner['email']}/time-zone"
    assert other.post(path, {"time_zone": "Asia/Tokyo"}).status_code == 403
    assert pages("admin").post(path, {"time_zone": "Asia/Tokyo"}).status_code == 303
    with app.app_context():
        assert db.session.get(User, owner["id"]).time_zone == "Asia/Tokyo"
