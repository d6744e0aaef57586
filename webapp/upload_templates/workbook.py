"""A template as an .xlsx workbook (XlsxWriter):

- the data sheet, named after what its rows are ("Plane"), first, because an upload reads
  the first sheet: the header row (bold, frozen, required columns shaded and noted) and
  one example row; below it, down to the sheet's last row, each column's format (text
  for codes and names, so leading zeros survive; numbers; real dates) and its data
  validation: a dropdown for a closed list (stop), or for an open one (currency: a
  warning that lets any other code through), number bounds, dates, text lengths;
- "About these columns": every column, whether it is required, what it holds, its
  allowed values and its example;
- "Lists", hidden: the closed lists too long to be written in a validation (countries).

Allowed values come from each parser's `shape` (parsers.Shape), so a dropdown offers
what validation accepts.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from webapp.ingestion.providers.csv_upload.columns import Column
from webapp.ingestion.providers.csv_upload.parsers import Shape, shape_of
from webapp.upload_templates.choosing import Template

ABOUT_SHEET = "About these columns"
LISTS_SHEET = "Lists"
LAST_ROW = 1_048_575  # the sheet's last row (0-based): validations cover every data row
# Excel's limits on a validation: a literal list of at most 255 characters, a message
# of at most 255 and a title of at most 32.
LIST_LIMIT, MESSAGE_LIMIT, TITLE_LIMIT = 255, 255, 32
NUMBER_FORMATS = {"number": "0.00########", "integer": "0", "date": "yyyy-mm-dd"}
TEXT_FORMAT = "@"
ABOUT_HEADER = ["Column", "Required", "Description", "Allowed values", "Example"]
EARLIEST, LATEST = date(1900, 1, 1), date(9999, 12, 31)


def allowed_values(column: Column) -> str:
    """What the column accepts, in words, from its parser's shape."""
    shape = shape_of(column.parse)
    if shape.choices:
        return ", ".join(shape.choices)
    if shape.suggestions:
        return f"Any code of {shape.form}; usually {', '.join(shape.suggestions)}"
    if shape.kind == "code":
        return f"A code of {shape.form}"
    if shape.kind == "date":
        return f"A date, {shape.form}"
    if shape.kind in ("number", "integer"):
        what = "A whole number" if shape.kind == "integer" else "A number"
        return what + _bounds(shape)
    return f"Text, at most {shape.max_length:,} characters" if shape.max_length else "Text"


def _bounds(shape: Shape) -> str:
    low, high = shape.minimum, shape.maximum
    if low is not None and high is not None:
        return f" from {low:g} to {high:g}"
    if low is not None:
        return f", {low:g} or more"
    return f", {high:g} or less" if high is not None else ""


def workbook_bytes(template: Template) -> bytes:
    """The template as an .xlsx file."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    book.set_properties({
        "title": template.title, "subject": f"One row per {template.row_is}",
        "author": "Carbon Sync", "keywords": "carbon inventory, upload template",
        "comments": f"Fill in the '{template.sheet}' sheet; '{ABOUT_SHEET}' explains "
                    "every column."})
    data = _DataSheet(book, template)
    about = book.add_worksheet(ABOUT_SHEET)  # second, before Lists if a list needs it
    data.write()
    _write_about(book, about, template)
    book.close()
    return out.getvalue()


class _DataSheet:
    """The first sheet: header, example row, and each column's format and validation."""

    def __init__(self, book: Workbook, template: Template):
        self.book, self.template = book, template
        self.sheet: Worksheet = book.add_worksheet(template.sheet)
        self.lists: Worksheet | None = None  # added when a long list needs it
        bold = {"bold": True, "bottom": 1, "text_wrap": False}
        self.required_header = book.add_format({**bold, "bg_color": "#FFE699"})
        self.optional_header = book.add_format({**bold, "bg_color": "#E7E6E6"})
        self.formats = {kind: book.add_format({"num_format": code})
                        for kind, code in NUMBER_FORMATS.items()}
        self.text = book.add_format({"num_format": TEXT_FORMAT})

    def write(self) -> None:
        for index, column in enumerate(self.template.columns):
            shape = shape_of(column.parse)
            cell_format = self.formats.get(shape.kind, self.text)
            self.sheet.set_column(index, index, _width(column, shape), cell_format)
            self.sheet.write_string(0, index, column.name, self.required_header
                                    if column.required else self.optional_header)
            self.sheet.write_comment(0, index, ("Required. " if column.required
                                                else "Optional. ") + column.description,
                                     {"x_scale": 2, "y_scale": 1.2})
            if column.example:
                self._write_example(index, column, shape, cell_format)
            validation = self._validation(column, shape)
            if validation:
                self.sheet.data_validation(1, index, LAST_ROW, index, validation)
        self.sheet.freeze_panes(1, 0)
        self.sheet.activate()

    def _write_example(self, index: int, column: Column, shape: Shape, cell_format) -> None:
        value = column.parse(column.example)
        if shape.kind in ("number", "integer"):
            self.sheet.write_number(1, index, value, cell_format)
        elif shape.kind == "date":
            self.sheet.write_datetime(1, index, datetime.fromisoformat(value), cell_format)
        else:  # as typed: "yes", not the parsed True
            self.sheet.write_string(1, index, column.example, cell_format)

    def _validation(self, column: Column, shape: Shape) -> dict[str, Any] | None:
        """The data validation of a column's cells, or None for free text. Each says
        what the column holds when a cell is chosen, and why a value is refused."""
        name = column.name
        said = {"input_title": name[:TITLE_LIMIT],
                "input_message": _clip(column.description, MESSAGE_LIMIT)}
        if shape.choices or shape.suggestions:
            return {**said, **self._list_check(name, shape)}
        if shape.kind in ("number", "integer") and (shape.minimum is not None
                                                    or shape.maximum is not None):
            allowed = allowed_values(column)
            return {**said, **_number_check(shape), "error_title": "Not a valid number",
                    "error_message": f"{name} must be {allowed[0].lower()}{allowed[1:]}."}
        if shape.kind == "date":
            return {**said, "validate": "date", "criteria": "between",
                    "minimum": EARLIEST, "maximum": LATEST, "error_title": "Not a date",
                    "error_message": f"{name} must be a date (YYYY-MM-DD)."}
        if shape.kind == "code" and shape.max_length:  # a code has exactly its length
            return {**said, "validate": "length", "criteria": "==",
                    "value": shape.max_length, "error_title": "Not a valid code",
                    "error_message": f"{name} must be a code of {shape.form}."}
        if shape.max_length:
            return {**said, "validate": "length", "criteria": "<=",
                    "value": shape.max_length, "error_title": "Too long",
                    "error_message": f"{name} takes at most {shape.max_length:,} "
                                     "characters."}
        return None

    def _list_check(self, name: str, shape: Shape) -> dict[str, Any]:
        """A dropdown: a closed list refuses other values (naming the list, or where it
        is when too long to name); an open one warns, and keeps them if asked to."""
        if shape.choices:
            listed = ", ".join(shape.choices)
            message = (f"{name} must be one of: {listed}." if len(listed) < 200 else
                       f"{name} must be one of the {len(shape.choices)} values listed on "
                       f"the '{ABOUT_SHEET}' sheet ({shape.form}).")
            return {"validate": "list", "source": self._list_source(shape.choices),
                    "error_type": "stop", "error_title": f"Not a valid {name}"[:TITLE_LIMIT],
                    "error_message": _clip(message, MESSAGE_LIMIT)}
        message = (f"{name} is usually one of {', '.join(shape.suggestions)}; any other "
                   f"code of {shape.form} is accepted too: choose Yes to keep it.")
        return {"validate": "list", "source": self._list_source(shape.suggestions),
                "error_type": "warning", "error_title": f"An unusual {name}"[:TITLE_LIMIT],
                "error_message": _clip(message, MESSAGE_LIMIT)}

    def _list_source(self, values: tuple[str, ...]) -> list[str] | str:
        """A validation's list: written in it when short enough, else a range of the
        hidden Lists sheet."""
        if len(",".join(values)) <= LIST_LIMIT:
            return list(values)
        if self.lists is None:
            self.lists = self.book.add_worksheet(LISTS_SHEET)
            self.lists.hide()
            self.list_columns = 0
        column = self.list_columns
        self.list_columns += 1
        for row, value in enumerate(values):
            self.lists.write_string(row, column, value)
        letter = xl_col_to_name(column)
        return f"='{LISTS_SHEET}'!${letter}$1:${letter}${len(values)}"


def _number_check(shape: Shape) -> dict[str, Any]:
    kind = "integer" if shape.kind == "integer" else "decimal"
    if shape.minimum is not None and shape.maximum is not None:
        return {"validate": kind, "criteria": "between", "minimum": shape.minimum,
                "maximum": shape.maximum}
    if shape.minimum is not None:
        return {"validate": kind, "criteria": ">=", "value": shape.minimum}
    return {"validate": kind, "criteria": "<=", "value": shape.maximum}


def _width(column: Column, shape: Shape) -> int:
    """Wide enough for the name, the example and a short list's longest value."""
    longest = max((len(v) for v in shape.choices if len(shape.choices) <= 20), default=0)
    return min(max(len(column.name), len(column.example), longest, 8) + 3, 50)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _write_about(book: Workbook, sheet: Worksheet, template: Template) -> None:
    """The second sheet: one row per column, then how to fill the file in."""
    header = book.add_format({"bold": True, "bottom": 1, "bg_color": "#E7E6E6"})
    wrapped = book.add_format({"text_wrap": True, "valign": "top"})
    top = book.add_format({"valign": "top", "num_format": TEXT_FORMAT})
    for index, width in enumerate((30, 10, 60, 50, 24)):
        sheet.set_column(index, index, width, wrapped if index in (2, 3) else top)
    sheet.write_row(0, 0, ABOUT_HEADER, header)
    sheet.freeze_panes(1, 0)
    for row, column in enumerate(template.columns, start=1):
        sheet.write_row(row, 0, [column.name, "yes" if column.required else "no",
                                 column.description, allowed_values(column),
                                 column.example])
    notes = len(template.columns) + 2
    for offset, note in enumerate((
            f"Fill in the '{template.sheet}' sheet: one row per {template.row_is}, "
            "under the header row, which stays as it is (its order does not matter).",
            "Replace the example row (row 2) with your own; an empty optional cell is "
            "left out.",
            "Upload the workbook as it is, or save that sheet as CSV (UTF-8).")):
        sheet.write_string(notes + offset, 0, note)
