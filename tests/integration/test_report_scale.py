"""A university of 2,000 units: its report (workbook and page) is built from a handful of
queries over the stored summaries, never one per unit."""

from __future__ import annotations

import io
import time

import psycopg
import pytest
from openpyxl import load_workbook
from sqlalchemy import event

from tests.support.web import logged_in_client
from webapp.views.formatting import tonnes

SCHOOLS, LABS = 40, 1959  # with the root: 2,000 units
YEAR, BEFORE = 2027, 2026
QUERIES_AT_MOST = 15  # login and access included; one per unit would be thousands


@pytest.fixture
def big_university(app, db_url, admin_api):
    """ROOT › 40 schools › 1,959 labs, written in SQL; both years created for every unit
    as an admin would, and a stored summary for every module (what recalculations
    write): travel with planes, headcount with members."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO units (code, name) VALUES ('ROOT', 'The university')")
        conn.execute("INSERT INTO units (code, name, parent_id) SELECT 'S' || lpad(n::text, "
                     "2, '0'), 'School ' || n, (SELECT id FROM units WHERE code = 'ROOT') "
                     "FROM generate_series(1, %s) n", (SCHOOLS,))
        conn.execute("INSERT INTO units (code, name, parent_id) SELECT 'L' || lpad(n::text, "
                     "4, '0'), 'Lab ' || n, s.id FROM generate_series(1, %s) n "
                     "JOIN units s ON s.code = 'S' || lpad((n %% %s + 1)::text, 2, '0')",
                     (LABS, SCHOOLS))
    with app.app_context():
        from webapp.extensions import db
        from webapp.organisation.units import store_paths

        store_paths()
        db.session.commit()
    for year in (BEFORE, YEAR):
        assert admin_api.post(f"/years/{year}").status_code == 201
        assert admin_api.post(f"/years/{year}/open").status_code == 200
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("""
            INSERT INTO module_emission_summaries (module_id, total_kg_co2eq, entries,
                entries_with_emissions, by_entry_type)
            SELECT m.id, (m.id % 97) * 10.5 + i.year - 2026, 2, 2, jsonb_build_array(
                jsonb_build_object('entry_type', CASE m.module_type WHEN 'travel'
                    THEN 'plane' ELSE 'member' END, 'entries', 2,
                    'entries_with_emissions', 2,
                    'kg_co2eq', (m.id % 97) * 10.5 + i.year - 2026))
            FROM modules m JOIN inventories i ON i.id = m.inventory_id
            JOIN units u ON u.id = i.unit_id
            WHERE m.module_type IN ('travel', 'headcount') AND u.code <> 'F0892'""")
        return conn.execute(
            "SELECT i.year, sum(s.total_kg_co2eq) FROM module_emission_summaries s "
            "JOIN modules m ON m.id = s.module_id JOIN inventories i ON i.id = m.inventory_id "
            "GROUP BY i.year").fetchall()


@pytest.fixture
def queries(app):
    """The statements sent to PostgreSQL while the test runs, counted."""
    from webapp.extensions import db

    with app.app_context():
        engine = db.engine
    sent: list[str] = []

    def count(conn, cursor, statement, *args):
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    yield sent
    event.remove(engine, "before_cursor_execute", count)


def test_a_report_of_two_thousand_units_costs_a_few_queries(app, admin_api, create_user,
                                                            big_university, queries):
    totals = dict(big_university)
    started = time.perf_counter()
    response = admin_api.get(f"/reports/{YEAR}.xlsx?unit=ROOT")
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    assert len(queries) <= QUERIES_AT_MOST, len(queries)
    assert elapsed < 20, elapsed
    book = load_workbook(io.BytesIO(response.get_data()), read_only=True)
    rows = list(book["Totals"].iter_rows(values_only=True))
    assert len(rows) == 1 + SCHOOLS + LABS + 1 + 1  # header, units, the total row
    header = rows[0]
    total = rows[-1][header.index(f"Total {YEAR} kg CO2eq")]
    assert total == pytest.approx(totals[YEAR], abs=0.01)
    assert rows[-1][header.index(f"Total {BEFORE} t CO2eq")] * 1000 == pytest.approx(
        totals[BEFORE], abs=0.01)
    assert book.sheetnames == ["Totals", "About", "Member", "Plane"]

    queries.clear()
    admin = logged_in_client(app, create_user("admin"))
    queries.clear()
    started = time.perf_counter()
    page = admin.get(f"/units/ROOT/report/{YEAR}")
    elapsed = time.perf_counter() - started
    assert page.status_code == 200
    assert len(queries) <= QUERIES_AT_MOST, len(queries)
    assert elapsed < 10, elapsed
    html = page.get_data(as_text=True)
    assert f'id="report-total">{tonnes(totals[YEAR])}</span>' in html
    assert "and the 1,999 units below it" in html
    assert 'id="more-children">and 15 more' in html  # 25 of the 40 schools shown
