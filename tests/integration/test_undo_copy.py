"""The rows a load replaces are copied for undo on a second connection while the load
goes on (loading/undo_copy.py): kept only when the load completes, exactly the rows it
deleted, and never twice for one job."""

from __future__ import annotations

import psycopg
import pytest

from tests.integration.test_csv_ingestion import upload
from tests.integration.test_preview_undo import TRAVEL, entries, planes
from webapp.ingestion.loading.undo_copy import UndoCopy

COLUMNS = "id, inventory_id, module_id, year, entry_type, data, kg_co2eq, emission, " \
          "source, job_id, created_at, updated_at"


def kept(db_url, job_id: int) -> list[tuple]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(f"SELECT {COLUMNS} FROM replaced_entries WHERE replaced_by = %s "
                            "ORDER BY id", (job_id,)).fetchall()


def test_a_completed_load_keeps_exactly_the_rows_it_replaced(api, db_url, wait_idle):
    upload(api, planes(1, 150))
    wait_idle(TRAVEL, recalculations=True)  # the emissions the second load replaces
    with psycopg.connect(db_url) as conn:
        before = conn.execute(f"SELECT {COLUMNS} FROM data_entries WHERE module_id = %s "
                              "ORDER BY id", (TRAVEL,)).fetchall()
    second = upload(api, planes(1000, 120, day=2))
    assert second["status"] == "completed", second
    assert second["counts"]["deleted"] == 150
    assert kept(db_url, second["job_id"]) == before


def test_a_load_that_fails_after_replacing_keeps_nothing(api, db_url, wait_idle):
    first = upload(api, planes(1, 150))
    wait_idle(TRAVEL, recalculations=True)
    before = entries(db_url)
    # Fewer than half the rows, unconfirmed: refused in finish(), after the slice was
    # deleted and its copy for undo had started.
    refused = upload(api, planes(500, 10, day=2))
    assert refused["status"] == "failed" and refused["status_code"] == 409, refused
    assert kept(db_url, refused["job_id"]) == []
    assert entries(db_url) == before
    assert first["status"] == "completed"


@pytest.fixture
def slice_of_five(db_url):
    """Five entries in a slice of their own, removed afterwards."""
    where = "module_id = %s AND source = 'undo-copy-test'"
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO data_entries (inventory_id, module_id, year, entry_type, data, "
            "source) SELECT inventory_id, id, 2025, 'plane', '{}', 'undo-copy-test' "
            "FROM modules, generate_series(1, 5) WHERE id = %s", (TRAVEL,))
    yield where
    with psycopg.connect(db_url) as conn:
        conn.execute(f"DELETE FROM data_entries WHERE {where}", (TRAVEL,))
        conn.execute("DELETE FROM replaced_entries WHERE replaced_by = -7")


def test_a_copy_that_disagrees_with_the_deletion_is_refused(db_url, slice_of_five):
    copy = UndoCopy(lambda: psycopg.connect(db_url), -7, COLUMNS)
    copy.start(slice_of_five, [TRAVEL])
    with pytest.raises(RuntimeError, match="5 rows were kept for undo, but the load "
                                           "replaced 4"):
        copy.commit(4)
    assert kept(db_url, -7) == []  # rolled back


def test_a_rerun_of_the_job_replaces_what_an_earlier_run_left(db_url, slice_of_five):
    for _ in range(2):  # as after a worker lost between the two commits, then a retry
        copy = UndoCopy(lambda: psycopg.connect(db_url), -7, COLUMNS)
        copy.start(slice_of_five, [TRAVEL])
        copy.commit(5)
    assert len(kept(db_url, -7)) == 5


def test_an_aborted_copy_keeps_nothing(db_url, slice_of_five):
    copy = UndoCopy(lambda: psycopg.connect(db_url), -7, COLUMNS)
    copy.start(slice_of_five, [TRAVEL])
    copy.abort()
    assert kept(db_url, -7) == []
