"""CSV limits and formula injection through the real path: API upload → RQ worker →
failed job (400, the limit and the row named) or the row-error report as CSV."""

from __future__ import annotations

import csv
import io

import psycopg

PLANE_HEADER = "origin_iata,destination_iata,user_institutional_id,cabin_class,number_of_trips"


def upload(api, content: bytes, **config) -> dict:
    response = api.sync(2, "csv_upload", config=config, file=content)
    assert response.status_code == 202, response.get_json()
    return api.wait(response.get_json()["job_id"])


def refused(api, content: bytes) -> str:
    final = upload(api, content)
    assert (final["status"], final["status_code"]) == ("failed", 400), final
    return final["message"]


def good_rows(count: int) -> bytes:
    return "".join(f"GVA,CDG,{n},economy,1\n" for n in range(count)).encode()


def test_a_20_mb_header_of_millions_of_columns_fails_400_naming_the_limit(api, worker):
    header = b",".join(b"c%d" % i for i in range(2_500_000))
    assert len(header) > 20_000_000
    assert refused(api, header + b"\n1\n") == (
        "Row 1 has more than 500 columns; a file may have at most 500 (CSV_MAX_COLUMNS).")


def test_a_row_of_millions_of_fields_fails_400_naming_its_row(api, worker):
    data = (PLANE_HEADER + "\n").encode() + good_rows(3) + b",".join([b"x"] * 2_800_000)
    assert refused(api, data + b"\n").startswith("Row 5 has more than 500 columns")


def test_a_row_of_501_columns_fails_400(api, worker):
    data = (PLANE_HEADER + "\n").encode() + good_rows(2) + b",".join([b"1"] * 501) + b"\n"
    assert refused(api, data) == (
        "Row 4 has 501 columns; a file may have at most 500 (CSV_MAX_COLUMNS).")


def test_a_cell_over_64_kb_fails_400_naming_the_limit_and_the_row(api, worker):
    data = (PLANE_HEADER + ",note\n").encode() + good_rows(2)
    data += b"GVA,CDG,9,economy,1,\"" + b"n" * (64 * 1024 + 1) + b"\"\n"
    assert refused(api, data).startswith(
        "Row 4 has a cell longer than 64 KB, the most a cell may hold (CSV_MAX_FIELD_KB)")


def test_a_nul_byte_after_the_first_64_kb_fails_400_naming_the_row_not_500(api, worker,
                                                                          db_url):
    rows = good_rows(5000)
    assert len(rows) > 64 * 1024
    data = (PLANE_HEADER + "\n").encode() + rows + b"GVA,CDG,1\x002,economy,1\n"
    assert refused(api, data) == ("Row 5002 contains a NUL byte: binary data, not CSV "
                                  "text; save it from the spreadsheet as CSV.")
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM data_entries").fetchone()[0] == 0


def test_a_120000_character_column_name_is_not_echoed_whole(api, worker):
    message = refused(api, b"n" * 120_000 + b",other\n1,2\n")
    assert "n" * 101 not in message and len(message) < 500
    assert message.startswith("Row 1 has a cell longer than 64 KB")


def test_a_long_column_name_within_the_limits_is_clipped_in_the_message(api, worker):
    message = refused(api, b"n" * 60_000 + b",other\n1,2\n")
    assert "Columns found: " + "n" * 99 + "…, other." in message
    assert len(message) < 500


def test_the_error_report_neutralises_formulas(api, worker):
    data = (PLANE_HEADER + "\n").encode() + good_rows(1)
    data += b"=1+2,CDG,1,economy,1\n+1-1,CDG,2,economy,1\n@SUM(A1),CDG,3,economy,1\n"
    data += b"GVA,CDG,4,economy,-5\n"
    final = upload(api, data, on_error="skip")
    assert final["status"] == "completed" and final["counts"]["skipped"] == 4, final
    response = api.get(f"/sync/errors/{final['job_id']}.csv")
    assert response.status_code == 200
    report = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert report[0] == ["row", "column", "value", "reason", "cell"]
    assert [(row, column, value) for row, column, value, _, _ in report[1:]] == [
        ("3", "origin_iata", "'=1+2"), ("4", "origin_iata", "'+1-1"),
        ("5", "origin_iata", "'@SUM(A1)"), ("6", "number_of_trips", "'-5")]
    # The job's own errors keep the cells exactly as the file had them.
    assert [e["value"] for e in final["errors"]] == ["=1+2", "+1-1", "@SUM(A1)", "-5"]


def test_templates_are_written_by_the_same_writer(api):
    response = api.get("/templates/2.csv?entry_type=plane")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert text.endswith("\r\n") and text.count("\r\n") == 2  # the header, an example
    assert text.startswith('"origin_iata","destination_iata","user_institutional_id"')


def test_binary_garbage_without_nul_after_the_sample_fails_400_naming_the_row(api, worker):
    garbage = bytes(b for b in range(1, 256) if b not in b"\r\n") * 40
    data = (PLANE_HEADER + "\n").encode() + good_rows(5000) + garbage + b"\n"
    assert refused(api, data) == ("Row 5002 contains binary data, not CSV text; "
                                  "save it from the spreadsheet as CSV.")
