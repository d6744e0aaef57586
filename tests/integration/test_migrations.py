"""The Alembic migrations on a fresh database: up from empty, down to base, up again,
and the result matches the plan's database contract column for column."""

from __future__ import annotations

import psycopg
import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from psycopg import sql
from sqlalchemy.engine import make_url

from webapp.config import ROOT, libpq_url, sqlalchemy_url

DB_NAME = "carbonsync_migrations"

# The plan's data_ingestion_jobs, in order:
# (column, data type, varchar length, nullable, default (None = no default))
# One departure (0009): inventory_id and year are nullable, because a units job (the
# import of the unit tree, SPEC §13) belongs to no inventory and no year.
JOB_COLUMNS = [
    ("id", "integer", None, "NO", "nextval"),
    ("inventory_id", "integer", None, "YES", None),
    ("module_id", "integer", None, "YES", None),
    ("factor_type_id", "integer", None, "YES", None),
    ("provider_type", "character varying", 50, "NO", None),
    ("target_type", "character varying", 20, "NO", None),
    ("year", "integer", None, "YES", None),
    ("status", "character varying", 20, "NO", "'pending'::character varying"),
    ("status_code", "integer", None, "YES", None),
    ("message", "text", None, "YES", None),
    ("metadata", "jsonb", None, "YES", "'{}'::jsonb"),
    ("created_by", "integer", None, "YES", None),
    ("started_at", "timestamp with time zone", None, "YES", "now()"),
    ("completed_at", "timestamp with time zone", None, "YES", None),
]
# REFERENCES without ON DELETE: PostgreSQL's "no action" ('a').
JOB_FOREIGN_KEYS = {
    ("inventory_id", "inventories", "id", "a"),
    ("module_id", "modules", "id", "a"),
    ("factor_type_id", "factor_types", "id", "a"),
    ("created_by", "users", "id", "a"),
}


@pytest.fixture
def fresh_db_url(service_urls):
    """A libpq URL of an empty database on the test server, owned by the app's role (which
    runs the migrations, as in `make run`), dropped afterwards."""
    server = make_url(sqlalchemy_url(service_urls["database_url"]))
    admin_url = libpq_url(service_urls["admin_database_url"])  # the app may not create one
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DB_NAME))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(drop)
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
            sql.Identifier(DB_NAME), sql.Identifier(server.username)))
    yield libpq_url(server.set(database=DB_NAME).render_as_string(hide_password=False))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(drop)


@pytest.fixture
def migrations_app(fresh_db_url, service_urls):
    from webapp import create_app
    from webapp.extensions import db

    app = create_app({"TESTING": True, "SECRET_KEY": "test",
                      "SQLALCHEMY_DATABASE_URI": sqlalchemy_url(fresh_db_url),
                      "REDIS_URL": service_urls["redis_url"]})
    yield app
    with app.app_context():
        db.engine.dispose()


def _tables(conn) -> set[str]:
    return {r[0] for r in conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")}


def _head() -> str:
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    return ScriptDirectory.from_config(config).get_current_head()


def test_upgrade_downgrade_upgrade_matches_the_plan(migrations_app, fresh_db_url):
    from flask_migrate import downgrade, upgrade

    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        assert _tables(conn) == set()
        with migrations_app.app_context():
            upgrade()
        created = _tables(conn)
        assert {"data_ingestion_jobs", "modules", "inventories", "factor_types", "users",
                "api_tokens", "data_entries", "emission_factors"} <= created
        with migrations_app.app_context():
            downgrade(revision="base")
        assert _tables(conn) == {"alembic_version"}
        assert conn.execute("SELECT count(*) FROM alembic_version").fetchone()[0] == 0
        with migrations_app.app_context():
            upgrade()
        assert _tables(conn) == created
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == _head()
        _check_jobs_table(conn)
        _check_modules_last_sync_status(conn)


def _check_jobs_table(conn) -> None:
    columns = conn.execute(
        "SELECT column_name, data_type, character_maximum_length, is_nullable, "
        "column_default FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name = 'data_ingestion_jobs' "
        "ORDER BY ordinal_position").fetchall()
    assert [c[0] for c in columns] == [c[0] for c in JOB_COLUMNS]
    for actual, expected in zip(columns, JOB_COLUMNS, strict=True):
        name, data_type, length, nullable, default = expected
        assert actual[1:4] == (data_type, length, nullable), (name, actual)
        if default == "nextval":  # SERIAL
            assert actual[4] and actual[4].startswith("nextval("), (name, actual)
        else:
            assert actual[4] == default, (name, actual)

    foreign_keys = set(conn.execute(
        "SELECT a.attname, ref.relname, ra.attname, c.confdeltype::text "
        "FROM pg_constraint c "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
        "JOIN pg_class ref ON ref.oid = c.confrelid "
        "JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = c.confkey[1] "
        "WHERE c.contype = 'f' AND c.conrelid = 'data_ingestion_jobs'::regclass "
        "AND array_length(c.conkey, 1) = 1").fetchall())
    assert foreign_keys == JOB_FOREIGN_KEYS
    primary = conn.execute(
        "SELECT a.attname FROM pg_index x JOIN pg_attribute a ON a.attrelid = x.indrelid "
        "AND a.attnum = ANY(x.indkey) WHERE x.indrelid = 'data_ingestion_jobs'::regclass "
        "AND x.indisprimary").fetchall()
    assert primary == [("id",)]

    indexes = {row[0]: row[1:] for row in conn.execute(
        "SELECT i.relname, x.indisunique, x.indpred IS NOT NULL, "
        "array_agg(a.attname ORDER BY k.ord) "
        "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord) "
        "JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum "
        "WHERE x.indrelid = 'data_ingestion_jobs'::regclass GROUP BY 1, 2, 3")}
    assert indexes["idx_jobs_module"] == (False, False, ["module_id"])
    assert indexes["idx_jobs_status"] == (False, False, ["status"])


def _check_modules_last_sync_status(conn) -> None:
    row = conn.execute(
        "SELECT data_type, is_nullable, column_default FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name = 'modules' "
        "AND column_name = 'last_sync_status'").fetchone()
    assert row == ("jsonb", "YES", "'{}'::jsonb")
    conn.execute("INSERT INTO inventories (name, year, unit_code) VALUES ('i', 2025, '')")
    stored = conn.execute(
        "INSERT INTO modules (inventory_id, module_type, name) "
        "SELECT id, 'travel', 'Travel' FROM inventories RETURNING last_sync_status").fetchone()
    assert stored == ({},)


def test_the_organisation_migration_keeps_the_existing_university(migrations_app, fresh_db_url):
    # A database as 0006 left it: an inventory per year of one unit code, global roles.
    from flask_migrate import upgrade

    with migrations_app.app_context():
        upgrade(revision="0006")
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO inventories (name, year, unit_code) VALUES "
                     "('Old university 2024', 2024, 'F0892'), "
                     "('Old university 2025', 2025, 'F0892')")
        conn.execute("INSERT INTO users (email, name, password_hash, role) VALUES "
                     "('v@example.org', 'v', 'x', 'viewer'), "
                     "('e@example.org', 'e', 'x', 'editor'), "
                     "('a@example.org', 'a', 'x', 'admin')")
        with migrations_app.app_context():
            upgrade()
        assert conn.execute("SELECT code, name, path = '/' || id || '/' FROM units"
                            ).fetchall() == [("F0892", "Old university", True)]
        assert conn.execute("SELECT count(*) FROM inventories i JOIN units u "
                            "ON u.id = i.unit_id").fetchone()[0] == 2
        assert conn.execute("SELECT year, open FROM inventory_years ORDER BY year"
                            ).fetchall() == [(2024, True), (2025, True)]
        assert conn.execute("SELECT u.email, m.role FROM memberships m JOIN users u "
                            "ON u.id = m.user_id ORDER BY 1").fetchall() == [
            ("e@example.org", "editor"), ("v@example.org", "viewer")]
        # Migration 0009: the global role keeps one meaning, admin, as a flag.
        assert conn.execute("SELECT email, admin FROM users ORDER BY email").fetchall() == [
            ("a@example.org", True), ("e@example.org", False), ("v@example.org", False)]
        assert conn.execute("SELECT count(*) FROM information_schema.columns WHERE "
                            "table_name = 'users' AND column_name = 'role'").fetchone()[0] == 0
