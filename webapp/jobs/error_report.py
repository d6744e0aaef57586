"""The full row-error report of a job: stored with COPY, read back as CSV."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain
from typing import Any

from sqlalchemy import Connection, Engine, text

from webapp.csv_export import csv_chunks

# A file where every row is bad would otherwise store millions of identical complaints.
MAX_REPORTED_ERRORS = 100_000


def store(conn: Connection, job_id: int, errors: list[dict[str, Any]]) -> int:
    """Append errors (up to the cap) and return the job's running total of errors."""
    total_before = conn.execute(text(
        "SELECT COALESCE((metadata->>'errors_total')::int, 0) FROM data_ingestion_jobs "
        "WHERE id = :i"), {"i": job_id}).scalar_one()
    room = max(0, MAX_REPORTED_ERRORS - total_before)
    if room and errors:
        raw = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(
                "COPY ingestion_row_errors (job_id, seq, row, \"column\", value, reason, "
                "cell) FROM STDIN") as copy:
            for seq, error in enumerate(errors[:room], start=total_before + 1):
                cell = error.get("cell")
                copy.write_row((job_id, seq, error["row"], error["column"],
                                error["value"][:1000], error["reason"],
                                cell[:100] if cell else None))
    return total_before + len(errors)


def report_lines(engine: Engine, job_id: int) -> Iterator[str]:
    """The report as CSV text, streamed on its own connection so a large report never
    sits in memory and outlives the request's session."""
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=2000).execute(text(
            'SELECT row, "column", value, reason, COALESCE(cell, \'\') '
            "FROM ingestion_row_errors WHERE job_id = :i ORDER BY seq"), {"i": job_id})
        # The cells are the user's own (e.g. "=1+2"): csv_chunks neutralises formulas.
        # `cell` (a workbook's, e.g. Travel!C17) comes last: readers of the first four
        # columns are unaffected.
        yield from csv_chunks(chain([("row", "column", "value", "reason", "cell")], result))
