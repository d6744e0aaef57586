"""The module page's fragments through the Flask test client: each one's poll reads only
what its own part shows (counted as SQL statements), and the stored factors have a
fragment URL of their own, also a full page without htmx."""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from tests.support.emissions import wait_recalculated
from tests.support.web import PageClient

TRAVEL = 2  # demo seed module id
PLANE_FACTORS = 1  # demo seed factor type id (travel: plane)
HX = {"HX-Request": "true"}
FACTORS = (b"category,cabin_class,ef_kg_co2eq_per_km,rfi_adjustment,min_distance,max_distance\n"
           b"short_haul,economy,0.151,1.9,0,1500\n")

# Tables only some parts of the module page read.
PART_TABLES = {"data_ingestion_jobs", "module_entry_counts", "module_emission_summaries",
               "data_entries", "emission_factors", "sync_schedules"}
# Each fragment: (a marker of its HTML, the tables among PART_TABLES it may read).
FRAGMENTS = {
    "badges": ("badge badge-completed", set()),
    "history": ('id="sync-history"', {"data_ingestion_jobs"}),
    "entries": ('id="stored-entries"', {"module_entry_counts"}),
    "emissions": ('id="emissions"', {"module_emission_summaries", "data_ingestion_jobs"}),
    "entry-list": ('id="entry-list"', {"data_entries", "module_entry_counts"}),
    "factors": ('id="stored-factors"', {"emission_factors"}),
}


pytestmark = pytest.mark.usefixtures("settled")


@pytest.fixture
def loaded_module(admin_api):
    """The travel module with a factor, a completed load and its recalculation."""
    factors = admin_api.sync(TRAVEL, "csv_upload", factor_type_id=PLANE_FACTORS,
                             file=FACTORS, filename="plane.csv").get_json()["job_id"]
    assert admin_api.wait(factors)["status"] == "completed"
    load = admin_api.sync(TRAVEL, config={"rows": 5, "batch": 5}).get_json()["job_id"]
    wait_recalculated(admin_api, TRAVEL, admin_api.wait(load))
    return TRAVEL


@contextmanager
def recorded_statements(app):
    """The SQL statements the app sends while the block runs (the test client serves
    requests in this thread, through the app's engine)."""
    from webapp.extensions import db

    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def tables_read(statements: list[str]) -> set[str]:
    return {table for table in PART_TABLES
            if any(re.search(rf"\b{table}\b", statement) for statement in statements)}


def test_a_fragment_poll_runs_only_its_own_queries(app, create_user, loaded_module):
    client = PageClient(app, create_user("admin"))  # admins see every part of the page
    with recorded_statements(app) as page_statements:
        page = client.get(f"/modules/{loaded_module}")
    assert page.status_code == 200
    assert tables_read(page_statements) == PART_TABLES

    for name, (marker, own_tables) in FRAGMENTS.items():
        with recorded_statements(app) as statements:
            fragment = client.get(f"/modules/{loaded_module}/{name}", headers=HX)
        assert fragment.status_code == 200 and marker in fragment.text, name
        assert "<html" not in fragment.text, name
        assert len(statements) < len(page_statements), (name, statements)
        assert tables_read(statements) <= own_tables, (name, statements)


def test_the_stored_factors_are_a_fragment_and_a_page(app, create_user, loaded_module):
    client = PageClient(app, create_user("viewer"))
    url = f"/modules/{loaded_module}/factors"
    fragment = client.get(url, headers=HX)
    page = client.get(url)
    assert fragment.status_code == page.status_code == 200
    assert fragment.text.lstrip().startswith('<section class="card stored-factors" '
                                             'id="stored-factors"')
    assert '<td class="num">0.151</td>' in fragment.text and "<html" not in fragment.text
    assert "<html" in page.text and 'id="stored-factors"' in page.text
    assert 'id="sync-history"' in page.text  # the whole module page
    assert "HX-Request" in fragment.headers["Vary"]
    # The card refreshes itself from its own URL, not by picking it out of the page.
    card = re.search(r'<section class="card stored-factors".*?>', page.text, re.S)[0]
    assert f'hx-get="{url}"' in card and "hx-select" not in card
    assert client.get("/modules/999/factors", headers=HX).status_code == 404
