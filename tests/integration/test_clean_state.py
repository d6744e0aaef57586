"""The harness's clean slate (tests/support/app.py): every table the migrations create is
emptied before each test or named as kept, so a migration that adds a table without a
model fails here rather than leak rows from one test into the next."""

from __future__ import annotations

import psycopg
from psycopg import sql

from tests.support.app import KEPT_TABLES, truncated_tables

SEEDED = {"factor_types", "inventories", "modules", "units", "inventory_years"}  # seed_demo's


def _migrated_tables(conn) -> set[str]:
    return {name for (name,) in conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")} - {"alembic_version"}


def test_clean_state_empties_every_migrated_table_but_the_kept_ones(app, db_url):
    truncated = set(truncated_tables())
    with psycopg.connect(db_url) as conn:
        migrated = _migrated_tables(conn)
    assert not truncated & KEPT_TABLES
    gone = KEPT_TABLES - migrated
    assert not gone, f"kept tables the migrations no longer create: {sorted(gone)}"
    unaccounted = migrated - truncated - KEPT_TABLES
    assert not unaccounted, (
        f"tables without a model, never emptied between tests: {sorted(unaccounted)}; give "
        "each a model, or list it in KEPT_TABLES (tests/support/app.py) if it must survive")
    assert truncated <= migrated, f"models without a table: {sorted(truncated - migrated)}"


def test_each_test_starts_with_only_the_demo_seed(app, db_url):
    # Run after other tests, this sees what the clean slate left of theirs.
    with psycopg.connect(db_url) as conn:
        rows = {table: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
            sql.Identifier(table))).fetchone()[0] for table in truncated_tables()}
        alembic = conn.execute("SELECT count(*) FROM alembic_version").fetchone()[0]
    assert {table for table, count in rows.items() if count} == SEEDED, rows
    assert alembic == 1  # never emptied: it records which migrations have run
