"""Upload templates (SPEC §15) without a server: every column says what it holds and
gives an example its parser takes; closed lists come from the parsers; each template's
example row, as CSV text and as the .xlsx cells read back with openpyxl, passes the
validation an upload runs; the workbook has its header, formats, dropdowns and the
sheet explaining every column."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import openpyxl
import pytest

from webapp.ingestion.providers.csv_upload import schemas
from webapp.ingestion.providers.csv_upload.parsers import (
    CABIN_CLASS,
    COUNTRY_CODES,
    TRAIN_CLASS,
    USUAL_CURRENCIES,
    InvalidValue,
    shape_of,
    yes_no,
)
from webapp.ingestion.providers.csv_upload.validation import RowValidator
from webapp.organisation.units import UNIT_COLUMNS
from webapp.upload_templates import choosing
from webapp.upload_templates.files import XLSX_TYPE, template_file
from webapp.upload_templates.workbook import ABOUT_HEADER, ABOUT_SHEET, LAST_ROW, LISTS_SHEET

TEMPLATES = (
    [choosing.entry_template(module, entry) for module, entry in schemas.ENTRY_SCHEMAS]
    + [choosing.every_unit_template(module, entry) for module, entry in schemas.ENTRY_SCHEMAS]
    + [choosing.factor_template(slug) for slug in schemas.FACTOR_SCHEMAS]
    + [choosing.units_template()])
IDS = [t.file_stem for t in TEMPLATES]
# Optional columns whose example is empty, and why: the example row of the units
# template must import into any tree, so its unit has no parent.
EMPTY_EXAMPLES = {"parent_code"}


def _columns():
    seen = {}
    for template in TEMPLATES:
        for column in template.columns:
            seen[(template.file_stem, column.name)] = column
    return seen


@pytest.mark.parametrize("key", list(_columns()), ids=lambda key: f"{key[0]}:{key[1]}")
def test_every_column_says_what_it_holds_and_gives_an_example_its_parser_takes(key):
    column = _columns()[key]
    assert len(column.description) >= 10 and "\n" not in column.description, key
    if column.name in EMPTY_EXAMPLES:
        assert not column.required and column.example == "" and "empty" in column.description
        return
    assert column.example, key
    column.parse(column.example)  # raises InvalidValue if the example were refused
    choices = shape_of(column.parse).choices
    if choices:
        assert column.example in choices, key


@pytest.mark.parametrize("parse,expected", [
    (CABIN_CLASS, ("economy", "premium_economy", "business", "first")),
    (TRAIN_CLASS, ("first", "second")),
    (yes_no, ("yes", "no")),
])
def test_a_closed_list_is_the_parsers_own_and_every_value_of_it_is_accepted(parse, expected):
    shape = shape_of(parse)
    assert shape.choices == expected
    for value in shape.choices:
        parse(value)
    with pytest.raises(InvalidValue) as refused:
        parse("cattle")
    if parse is not yes_no:  # the refusal names the list the template offers
        assert all(value in str(refused.value) for value in shape.choices)


def test_country_codes_are_a_closed_list_and_a_train_factor_adds_rest_of_world():
    plain = shape_of(schemas.ENTRY_SCHEMAS["travel", "train"].columns[1].parse)
    assert set(plain.choices) == COUNTRY_CODES and list(plain.choices) == sorted(plain.choices)
    factor = shape_of(schemas.FACTOR_SCHEMAS["train"].columns[0].parse)
    assert factor.choices == (*plain.choices, "RoW")
    for code in factor.choices:
        assert schemas.FACTOR_SCHEMAS["train"].columns[0].parse(code) == code


def test_currency_is_an_open_list_its_usual_codes_suggested():
    currency = next(c for c in schemas.FACTOR_SCHEMAS["purchase"].columns
                    if c.name == "currency")
    shape = shape_of(currency.parse)
    assert shape.choices == () and shape.suggestions == USUAL_CURRENCIES
    assert currency.parse("XAF") == "XAF"  # any ISO 4217 shape is accepted


def _validates(template: choosing.Template, header: list[str], cells: list[str]) -> dict:
    clean, errors = RowValidator(template.schema, header).validate_batch([2], [cells])
    assert errors == [], (template.file_stem, errors)
    assert len(clean) == 1
    return clean[0]


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_the_csv_templates_example_row_passes_validation(template):
    content, mimetype, filename = template_file(template, "csv")
    assert (mimetype, filename) == ("text/csv", f"{template.file_stem}.csv")
    text = content.decode()
    assert text.count("\r\n") == 2
    header, example = list(csv.reader(io.StringIO(text)))
    assert header == template.header and example == template.example_row
    missing = schemas.missing_columns(template.schema, header)
    assert missing == []
    _validates(template, header, example)


def test_csv_templates_are_quoted_by_the_product_s_writer():
    content, _, _ = template_file(choosing.units_template(), "csv")
    first, second = content.decode().splitlines()
    assert first == '"code","name","parent_code","active"'
    # The comma in the example name is held in its quotes (csv_export.SafeWriter).
    assert second == ('"ENAC","School of Architecture, Civil and Environmental Engineering",'
                      '"","yes"')


def _workbook(template: choosing.Template):
    content, mimetype, filename = template_file(template, "xlsx")
    assert (mimetype, filename) == (XLSX_TYPE, f"{template.file_stem}.xlsx")
    assert content[:2] == b"PK"
    return openpyxl.load_workbook(io.BytesIO(content))


def _as_text(value) -> str:
    """A cell as an upload would read it: what a person typed."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_the_xlsx_templates_example_row_passes_validation(template):
    sheet = _workbook(template).worksheets[0]
    header = [cell.value for cell in sheet[1]]
    assert header == template.header
    example = [_as_text(cell.value) for cell in sheet[2]]
    clean = _validates(template, header, example)
    csv_content, _, _ = template_file(template, "csv")
    _, csv_example = list(csv.reader(io.StringIO(csv_content.decode())))
    assert clean == _validates(template, header, csv_example)  # the same row either way
    assert sheet.max_row == 2


def _validations(sheet) -> dict[str, object]:
    """Each column's data validation, by column letter, with the cells it covers."""
    found = {}
    for validation in sheet.data_validations.dataValidation:
        for cells in validation.sqref.ranges:
            letter = openpyxl.utils.get_column_letter(cells.min_col)
            found[letter] = (validation, cells.coord)
    return found


def _list_values(book, formula: str) -> list[str]:
    """The values a list validation offers: written in it, or a range of another sheet."""
    if formula.startswith('"'):
        return formula.strip('"').split(",")
    sheet_name, cells = formula.lstrip("=").split("!")
    assert sheet_name.strip("'") == LISTS_SHEET
    return [cell.value for row in book[LISTS_SHEET][cells.replace("$", "")] for cell in row]


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_each_closed_list_is_a_dropdown_over_every_row_offering_the_parsers_values(template):
    book = _workbook(template)
    sheet = book.worksheets[0]
    validations = _validations(sheet)
    for index, column in enumerate(template.columns):
        letter = openpyxl.utils.get_column_letter(index + 1)
        shape = shape_of(column.parse)
        listed = shape.choices or shape.suggestions
        validation, cells = validations.get(letter, (None, None))
        if validation is not None:  # every row a file can have, below the header
            assert cells == f"{letter}2:{letter}{LAST_ROW + 1}", column.name
        if not listed:
            assert validation is None or validation.type != "list", column.name
            continue
        assert validation is not None and validation.type == "list", column.name
        assert _list_values(book, validation.formula1) == list(listed), column.name
        assert validation.showDropDown in (None, False)  # False shows the arrow
        if shape.choices:  # closed: refused, naming the values or where they are
            assert validation.errorStyle in (None, "stop")
            assert (", ".join(shape.choices) in validation.error
                    or ABOUT_SHEET in validation.error), validation.error
        else:  # open (currency): a warning, which lets another code through
            assert validation.errorStyle == "warning"
            assert ", ".join(shape.suggestions) in validation.error
    assert book[LISTS_SHEET].sheet_state == "hidden" if LISTS_SHEET in book else True


def test_the_plane_workbook_its_header_formats_and_numbers():
    template = choosing.entry_template("travel", "plane")
    book = _workbook(template)
    assert book.sheetnames == ["Plane", ABOUT_SHEET]
    assert book.properties.title == "Carbon Sync template: travel, plane entries"
    sheet = book["Plane"]
    assert sheet.freeze_panes == "A2"
    columns = {cell.value: cell.column_letter for cell in sheet[1]}
    for column in template.columns:
        head = sheet[f"{columns[column.name]}1"]
        assert head.font.b, column.name
        assert head.comment.text.startswith("Required." if column.required else "Optional.")
        assert column.description in head.comment.text
    required_fill = sheet[f"{columns['origin_iata']}1"].fill.fgColor.rgb
    optional_fill = sheet[f"{columns['note']}1"].fill.fgColor.rgb
    assert required_fill != optional_fill
    example = {name: sheet[f"{letter}2"] for name, letter in columns.items()}
    assert example["departure_date"].value == datetime(2025, 3, 14)  # a real date
    assert example["departure_date"].number_format == "yyyy-mm-dd"
    assert example["number_of_trips"].value == 1
    assert example["number_of_trips"].number_format == "0"
    assert example["distance_km"].value == 751 and example["distance_km"].data_type == "n"
    assert example["user_institutional_id"].value == "012345"  # its leading zero kept
    assert example["user_institutional_id"].number_format == "@"
    assert example["cabin_class"].value == "economy"
    # The format holds for the rows people add, and each column fits its contents.
    for name, letter in columns.items():
        dimension = sheet.column_dimensions[letter]
        assert dimension.width >= len(name), name
    kinds = {"departure_date": "date", "number_of_trips": "whole", "distance_km": "decimal",
             "origin_iata": "textLength"}
    found = _validations(sheet)
    for name, kind in kinds.items():
        assert found[columns[name]][0].type == kind, name
    iata, _ = found[columns["origin_iata"]]
    assert (iata.operator, iata.formula1) == ("equal", "3")  # a code has its one length
    assert iata.prompt == "Departure airport, IATA code"  # shown when a cell is chosen


def test_a_bounded_number_is_checked_and_its_message_says_the_bounds():
    sheet = _workbook(choosing.entry_template("equipment")).worksheets[0]
    columns = {cell.value: cell.column_letter for cell in sheet[1]}
    hours, _ = _validations(sheet)[columns["active_usage_hours_per_week"]]
    assert (hours.type, hours.formula1, hours.formula2) == ("decimal", "0", "168")
    assert hours.operator in (None, "between")  # the file format's default operator
    assert hours.error == "active_usage_hours_per_week must be a number from 0 to 168."


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_the_about_sheet_explains_every_column(template):
    book = _workbook(template)
    assert book.sheetnames[:2] == [template.sheet, ABOUT_SHEET]
    rows = list(book[ABOUT_SHEET].iter_rows(values_only=True))
    assert list(rows[0]) == ABOUT_HEADER
    explained = {row[0]: row for row in rows[1:len(template.columns) + 1]}
    assert list(explained) == template.header
    for column in template.columns:
        name, required, description, allowed, example = explained[column.name]
        assert required == ("yes" if column.required else "no")
        assert description == column.description
        assert (example or "") == column.example
        for value in shape_of(column.parse).choices:
            assert value in allowed.split(", "), (column.name, value)
    notes = " ".join(row[0] for row in rows[len(template.columns) + 1:] if row[0])
    assert f"'{template.sheet}' sheet" in notes


def test_every_unit_templates_add_unit_code_and_units_templates_keep_their_own_columns():
    routed = choosing.every_unit_template("travel", "train")
    assert "unit_code" in routed.header
    assert schemas.pick_routed_entry_schema("travel", routed.header) == routed.schema
    units = choosing.units_template()
    assert units.header == [column.name for column in UNIT_COLUMNS]


@pytest.mark.parametrize("ask", [
    lambda: choosing.entry_template("travel", "bus"),
    lambda: choosing.entry_template("organisation"),
    lambda: choosing.every_unit_template("nothing\x00"),
    lambda: choosing.factor_template("rockets"),
])
def test_an_unknown_template_is_not_found_naming_the_known_ones(ask):
    from webapp.errors import NotFound

    with pytest.raises(NotFound) as refused:
        ask()
    assert "known" in refused.value.message or "no template" in refused.value.message
