"""Batch validation reads a column at a time, through a parser's bulk path or its memory;
whatever the cells, it must give exactly what checking each cell on its own gives: the
same clean rows, the same errors in the same order."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webapp.ingestion.providers.base import RowError
from webapp.ingestion.providers.csv_upload import parsers
from webapp.ingestion.providers.csv_upload.columns import EntrySchema, FactorSchema
from webapp.ingestion.providers.csv_upload.parsers import InvalidValue
from webapp.ingestion.providers.csv_upload.schemas import ENTRY_SCHEMAS, FACTOR_SCHEMAS
from webapp.ingestion.providers.csv_upload.validation import RowValidator

BOUNDED = settings(max_examples=120, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.too_slow])

# Cells that are valid for some columns and not others, blank, padded, or near a rule's edge.
TRICKY = ["", " ", "GVA", " lhr ", "Geneva", "1", "0", "-1", "1.5", "0,5", "1,234", "1_000",
          "nan", "inf", "1e400", "١٢", "2025-03-01", "2025-02-30", "20250301", "economy",
          "Business Class", "cattle", "yes", "n", "x" * 101, "168", "100", "CH", "RoW",
          "trip 7, conference", "F0001", "12.50"]
cells = st.one_of(st.sampled_from(TRICKY), st.text(max_size=6),
                  st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str))


def one_by_one(schema: EntrySchema | FactorSchema, number: int,
               values: dict[str, str]) -> tuple[dict[str, Any] | None, list[RowError]]:
    """The specification, cell by cell, as simply as it can be written."""
    parts: list[dict[str, Any]] = [{}, {}]
    errors: list[RowError] = []
    groups = ((schema.columns,) if isinstance(schema, EntrySchema)
              else (schema.classification_columns, schema.value_columns))
    for part, columns in zip(parts, groups):  # noqa: B905
        for name, required, parse, default, *_ in columns:
            raw = values.get(name, "")
            if not raw.strip():
                if required:
                    errors.append(RowError(number, name, "", "is required"))
                elif default is not None:
                    part[name] = default
                continue
            try:
                part[name] = parse(raw.strip())
            except InvalidValue as error:
                errors.append(RowError(number, name, raw, str(error)))
    if schema.row_check is not None:
        errors += schema.row_check(number, {**parts[0], **parts[1]})
    if errors:
        return None, errors
    if isinstance(schema, EntrySchema):
        kg = parts[0].pop("kg_co2eq", None)
        return {"entry_type": schema.entry_type, "data": parts[0], "kg_co2eq": kg}, []
    return {"classification": parts[0], "values": parts[1]}, []


SCHEMAS = [*ENTRY_SCHEMAS.values(), *FACTOR_SCHEMAS.values()]


@BOUNDED
@given(schema=st.sampled_from(SCHEMAS), data=st.data())
def test_a_batch_gives_what_each_cell_alone_gives(schema, data):
    names = [column.name for column in schema.columns]
    # Some files lack optional columns, and carry columns of their own.
    header = data.draw(st.permutations(names + ["extra"]).flatmap(
        lambda order: st.lists(st.sampled_from(order), unique=True, min_size=1)))
    rows = data.draw(st.lists(st.lists(cells, min_size=len(header), max_size=len(header)),
                              min_size=1, max_size=30))
    numbers = list(range(2, 2 + len(rows)))
    clean, errors = RowValidator(schema, header).validate_batch(numbers, rows)
    expected_clean, expected_errors = [], []
    for number, row in zip(numbers, rows):  # noqa: B905
        row_clean, row_errors = one_by_one(schema, number, dict(zip(header, row)))  # noqa: B905
        expected_errors += row_errors
        if row_clean is not None:
            expected_clean.append(row_clean)
    assert errors == expected_errors
    assert clean == expected_clean


def test_a_column_of_unique_valid_values_takes_the_bulk_path():
    schema = ENTRY_SCHEMAS["travel", "plane"]
    header = ["origin_iata", "destination_iata", "user_institutional_id", "cabin_class",
              "note", "kg_co2eq"]
    rows = [["GVA", "LHR", str(n), "eco", f"trip {n}", f"{n}.5"] for n in range(5000)]
    validator = RowValidator(schema, header)
    clean, errors = validator.validate_batch(list(range(2, 5002)), rows)
    assert errors == []
    assert [row["kg_co2eq"] for row in clean[:2]] == [0.5, 1.5]
    assert clean[4999]["data"]["note"] == "trip 4999"
    # Read in bulk, so never remembered one by one: the memory stays empty.
    memories = {field.name: len(field.memo) for field in validator._fields}
    assert memories["note"] == memories["kg_co2eq"] == memories["user_institutional_id"] == 0
    assert memories["origin_iata"] == 1


@BOUNDED
@given(values=st.lists(st.one_of(st.sampled_from(TRICKY), st.text(max_size=8)).map(str.strip)
                       .filter(bool), min_size=1, max_size=20))
def test_a_bulk_parser_agrees_with_its_parser(values):
    for parse in (parsers.number(), parsers.number(0, 168), parsers.integer(1),
                  parsers.text(5), parsers.fraction()):
        many = parse.many(values)
        outcomes = []
        for value in values:
            try:
                outcomes.append(parse(value))
            except InvalidValue:
                outcomes.append(InvalidValue)
        if many is None:  # it gave up only where a cell is wrong or has a decimal comma
            assert InvalidValue in outcomes or any("," in value for value in values)
        else:
            assert many == outcomes
