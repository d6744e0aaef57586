"""The CSV corpus manifest, proven against the reader and schemas alone (no database).

For each manifest entry this replays what a CSV job does with the file: open it, pick
the schema, validate every row, and apply the error policy. The outcome must equal
the entry's `expect`, which the engine tests later compare with real jobs.
"""

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from webapp.errors import InvalidFile
from webapp.ingestion.providers.base import describe_row_error
from webapp.ingestion.providers.csv_upload.schemas import (
    ENTRY_SCHEMAS,
    FACTOR_SCHEMAS,
    pick_entry_schema,
    pick_factor_schema,
)
from webapp.ingestion.providers.csv_upload.spreadsheet import open_table
from webapp.ingestion.providers.csv_upload.validation import RowValidator

CORPUS = Path(__file__).resolve().parents[1] / "data" / "csv"
MANIFEST: list[dict[str, Any]] = json.loads((CORPUS / "manifest.json").read_text("utf-8"))


def replay(case: dict[str, Any]) -> tuple[dict[str, Any], str, str | None]:
    """(outcome shaped like `expect`, job message, entry type chosen)."""
    errors = []
    inserted = 0
    chosen = None
    try:
        with (CORPUS / case["file"]).open("rb") as stream:
            table = open_table(stream)  # as a job opens it: CSV or workbook, by content
            if case["target"] == "data_entries":
                schema = pick_entry_schema(case["module_type"], table.header,
                                           case["config_entry_type"])
                chosen = schema.entry_type
            else:
                schema = pick_factor_schema(case["factor_type"], table.header)
            validate = RowValidator(schema).validate
            for number, values in table.rows():
                clean, row_errors = validate(number, values)
                errors += row_errors
                if clean is not None:
                    json.dumps(clean)  # what is staged must be JSON as it is
                    inserted += 1
    except InvalidFile as error:
        return ({"status": "failed", "status_code": 400, "inserted": 0, "errors_total": 0,
                 "error_rows": [], "error_columns": []}, error.message, chosen)
    rows = sorted({error.row for error in errors})
    outcome = {"errors_total": len(errors), "error_rows": rows,
               "error_columns": sorted({error.column for error in errors})}
    if errors and case["on_error"] == "abort":
        outcome.update(status="failed", status_code=422, inserted=0)
        # The job message names the first error; the rest of its wording is base.py's.
        return outcome, describe_row_error(errors[0]), chosen
    outcome.update(status="completed", status_code=207 if errors else 200, inserted=inserted)
    return outcome, "", chosen


def case_id(case: dict[str, Any]) -> str:
    return f"{case['file']}-{case['on_error']}-{case.get('config_entry_type') or ''}"


@pytest.mark.parametrize("case", MANIFEST, ids=case_id)
def test_manifest_entry_matches_csvio_and_schemas(case):
    outcome, message, chosen = replay(case)
    expect = dict(case["expect"])
    message_contains = expect.pop("message_contains")
    assert outcome == expect
    if message_contains is not None:
        assert message_contains in message
    if case["target"] == "data_entries":
        assert chosen == case["entry_type"]


def load_generator():
    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_files_on_disk_are_what_the_generator_writes():
    generator = load_generator()
    for name, content in generator.FILES.items():
        assert (CORPUS / name).read_bytes() == content, f"{name}: run make_corpus.py"
    assert generator.MANIFEST == MANIFEST
    on_disk = {path.name for path in CORPUS.iterdir()} - {"make_corpus.py", "manifest.json"}
    assert on_disk - {"__pycache__"} == set(generator.FILES)


def test_corpus_covers_every_schema_and_outcome():
    assert len({case["file"] for case in MANIFEST}) >= 28
    loaded = {(c["module_type"], c["entry_type"]) for c in MANIFEST
              if c["target"] == "data_entries" and c["expect"]["status_code"] == 200}
    assert loaded == set(ENTRY_SCHEMAS)
    loaded_factors = {c["factor_type"] for c in MANIFEST
                      if c["target"] == "factors" and c["expect"]["inserted"] > 0}
    assert loaded_factors == set(FACTOR_SCHEMAS)
    assert {c["expect"]["status_code"] for c in MANIFEST} == {200, 207, 400, 422}


def test_every_file_is_in_the_manifest():
    assert {case["file"] for case in MANIFEST} == set(load_generator().FILES)
