"""The demo university of `make run` and `make demo` (webapp/organisation/
demo_university.py) and `make demo`'s accounts (webapp/standalone/demo_accounts.py): built
on the minimal seed without disturbing it, its labs the Tableau stand-in's centres, and
idempotent (the launcher runs it at every start)."""

from __future__ import annotations

import psycopg

from webapp.organisation.demo_university import LABS, seed_demo_university
from webapp.standalone.demo_accounts import DEMO_ACCOUNTS, seed_demo_accounts
from webapp.standalone.tableau_standin.dataset import CENTRES

# Everything the seed may write, each table read in a fixed order.
SNAPSHOT = {
    "units": "SELECT u.code, u.name, p.code, u.active, u.path, u.updated_at FROM units u "
             "LEFT JOIN units p ON p.id = u.parent_id ORDER BY u.code",
    "inventory_years": "SELECT year, open FROM inventory_years ORDER BY year",
    "inventories": "SELECT id, name, year, unit_code, unit_id FROM inventories ORDER BY id",
    "modules": "SELECT id, inventory_id, module_type, name FROM modules ORDER BY id",
    "users": "SELECT id, email, password_hash, admin FROM users ORDER BY id",
    "memberships": "SELECT user_id, unit_id, role, source FROM memberships ORDER BY 1, 2",
    "audit": "SELECT id, action FROM audit_log ORDER BY id",
}


def snapshot(db_url: str) -> dict[str, list[tuple]]:
    with psycopg.connect(db_url) as conn:
        return {table: conn.execute(query).fetchall() for table, query in SNAPSHOT.items()}


def test_the_university_is_a_school_three_institutes_and_twelve_labs(ctx, db_url):
    seed_demo_university()
    with psycopg.connect(db_url) as conn:
        parents = dict(conn.execute("SELECT u.code, p.code FROM units u "
                                    "LEFT JOIN units p ON p.id = u.parent_id").fetchall())
        years = conn.execute("SELECT year, open FROM inventory_years ORDER BY year").fetchall()
        per_year = conn.execute(
            "SELECT i.year, count(DISTINCT i.id), count(m.id) FROM inventories i "
            "JOIN modules m ON m.inventory_id = i.id GROUP BY i.year ORDER BY i.year"
        ).fetchall()
        seed_modules = conn.execute(
            "SELECT m.id, i.unit_code, i.year, i.name FROM modules m "
            "JOIN inventories i ON i.id = m.inventory_id WHERE m.id <= 4 ORDER BY m.id"
        ).fetchall()
    institutes = sorted(code for code, parent in parents.items() if parent == "SCI")
    labs = sorted(code for code, parent in parents.items() if parent in institutes)
    assert parents["SCI"] is None and len(parents) == 16
    assert institutes == ["SCI-CHEM", "SCI-ENV", "SCI-PHYS"]
    # An institution-wide sync from the stand-in reaches real labs.
    assert labs == sorted(LABS) == sorted(CENTRES[:12])
    assert parents["F0892"] == "SCI-ENV"  # the minimal seed's unit became a lab
    assert years == [(2024, True), (2025, True)]
    assert per_year == [(2024, 16, 64), (2025, 16, 64)]  # every unit, four modules each
    # The tests' module ids 1-4 are still F0892's 2025 modules, renamed after the lab.
    assert seed_modules == [(n, "F0892", 2025, "Atmospheric Chemistry Lab 2025")
                            for n in range(1, 5)]


def test_seeding_twice_changes_nothing(ctx, db_url):
    seed_demo_university()
    seed_demo_accounts()
    first = snapshot(db_url)
    seed_demo_university()
    seed_demo_accounts()
    assert snapshot(db_url) == first
    assert len(first["users"]) == len(DEMO_ACCOUNTS)
    assert len(first["audit"]) > 0  # the first run was audited; the second added nothing


def test_flask_seed_demo_university(app, db_url):
    runner = app.test_cli_runner()
    for _ in range(2):  # the second run finds everything made
        result = runner.invoke(args=["seed-demo", "--university"])
        assert result.exit_code == 0, result.output
        assert "demo university: 16 units, open years 2024, 2025" in result.output
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM inventories").fetchone() == (32,)


def test_the_demo_accounts_see_their_units_only(app, api_token):
    from tests.conftest import ApiClient
    from webapp.extensions import db
    from webapp.models import User

    with app.app_context():  # left before the requests: they must not share its `g`
        seed_demo_university()
        seed_demo_accounts()
        users = {account: db.session.execute(db.select(User).filter_by(
            email=account.email)).scalar_one() for account in DEMO_ACCOUNTS}
        assert all(user.check_password(account.password)  # the banner's passwords work
                   for account, user in users.items())
        tokens = {account.role: api_token({"id": user.id}) for account, user in users.items()}
    seen = {}
    for role, token in tokens.items():
        client = ApiClient(app.test_client(), token)
        units = client.get("/units?limit=100").get_json()
        modules = client.get("/modules?year=2024").get_json()
        seen[role] = (sorted(unit["code"] for unit in units["items"]), modules["total"])
    env_labs = sorted(CENTRES[:4])
    assert seen["manager"] == (sorted(["SCI-ENV", *env_labs]), 5 * 4)  # institute + labs
    assert seen["editor"] == (["F0892"], 4)


def test_make_demo_queues_each_labs_flights_once(app, db_url, idle_queue):
    """Real jobs of the job service (left pending here; the launcher test runs them), one
    per lab but F0892, which stays empty for the visitor's own "Sync now"."""
    from webapp.standalone.demo_data import start_demo_syncs

    with app.app_context():
        seed_demo_university()
        queued = start_demo_syncs()
        assert start_demo_syncs() == []  # a second start queues nothing
    with psycopg.connect(db_url) as conn:
        jobs = conn.execute(
            "SELECT j.id, j.provider_type, j.status, j.year, i.unit_code, "
            "j.metadata -> 'request' -> 'filters' -> 'centre_financier' ->> 0 "
            "FROM data_ingestion_jobs j JOIN modules m ON m.id = j.module_id "
            "JOIN inventories i ON i.id = m.inventory_id WHERE m.module_type = 'travel' "
            "ORDER BY j.id").fetchall()
    assert [job[0] for job in jobs] == queued
    assert [job[1:] for job in jobs] == [("tableau_api", "pending", 2025, lab, lab)
                                         for lab in sorted(set(LABS) - {"F0892"})]


def test_units_of_ones_own_are_told_apart_from_the_demos(ctx):
    """The launcher adds the demo university only where other_units() is empty: a fresh
    database (the minimal seed's F0892 is a demo lab) or one it seeded itself."""
    from webapp.extensions import db
    from webapp.models import Unit
    from webapp.organisation.demo_university import other_units

    assert other_units() == []
    seed_demo_university()
    assert other_units() == []
    db.session.add_all(Unit(code=code, name=code) for code in ("Z-1", "A-1", "M-1", "B-1"))
    db.session.commit()
    assert other_units() == ["A-1", "B-1", "M-1"]  # a few, to name in a sentence
